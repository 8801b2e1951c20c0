//! `latina doctor` through the binary: what it reports, its exit code, and
//! that it never shows a secret.

use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::Env;

const SECRET: &str = "doctor-pw-93e1c7";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn webui_config(env: &Env, base_url: &str) {
    let text = format!(
        "[[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n\n[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"{base_url}\"\ncontrolnet_model = \"control_v11p_sd15_mlsd [aca30ff0]\"\nauth_env = \"WEBUI_AUTH\"\n"
    );
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

async fn healthy_webui(models: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sdapi/v1/samplers"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([{"name": "Euler a"}, {"name": "DPM++ 2M"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/controlnet/model_list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"model_list": models})),
        )
        .mount(&server)
        .await;
    server
}

#[test]
fn with_defaults_everything_is_fine_and_the_database_is_not_created() {
    let env = Env::new();
    let report = env.json(&["doctor"]);
    assert!(report["config_file"].is_null());
    assert_eq!(report["data_dir"]["ok"], true);
    assert_eq!(report["database"]["ok"], true);
    assert!(report["database"]["health"].is_null());
    let kinds: Vec<&str> = report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["builtin-tone", "builtin-detail"]);
    assert!(
        !env.db_path().exists(),
        "doctor must not create the database"
    );
}

#[test]
fn a_reachable_webui_with_its_model_passes_and_the_secret_is_never_shown() {
    let rt = runtime();
    let server = rt.block_on(healthy_webui(&["control_v11p_sd15_mlsd [aca30ff0]"]));
    let env = Env::new();
    env.enhance("images/coffee.jpg");
    webui_config(&env, &server.uri());
    let out = env
        .latina()
        .env("WEBUI_AUTH", format!("ana:{SECRET}"))
        .args(["-vv", "doctor"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("key from WEBUI_AUTH: set"), "{stdout}");
    // One schema version per shipped migration file.
    let schema = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/sql"))
        .unwrap()
        .count();
    assert!(
        stdout.contains(&format!("schema {schema}, 2 experiments, 0 ratings")),
        "{stdout}"
    );
    assert!(stdout.contains("All checks passed."), "{stdout}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    // Both checks were authenticated calls.
    let requests = rt.block_on(server.received_requests()).unwrap();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| r.headers.contains_key("authorization"))
    );
}

#[test]
fn a_missing_model_a_missing_key_or_an_unreachable_host_fail_with_exit_1() {
    let rt = runtime();
    let server = rt.block_on(healthy_webui(&["control_v11p_sd15_canny [d14c016b]"]));
    let env = Env::new();
    webui_config(&env, &server.uri());
    let out = env
        .latina()
        .env("WEBUI_AUTH", format!("ana:{SECRET}"))
        .args(["--json", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["providers"][1]["checks"].as_array().unwrap();
    assert_eq!(checks[0]["ok"], true, "{checks:?}");
    assert_eq!(checks[1]["ok"], false);
    assert!(
        checks[1]["detail"]
            .as_str()
            .unwrap()
            .contains("not installed")
    );

    // No key: reported as such, nothing sent.
    let before = rt.block_on(server.received_requests()).unwrap().len();
    let out = env.latina().args(["--json", "doctor"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gpu = &report["providers"][1];
    assert_eq!(gpu["secret_present"], false);
    assert!(
        gpu["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("WEBUI_AUTH is not set")
    );
    assert_eq!(
        rt.block_on(server.received_requests()).unwrap().len(),
        before
    );

    // Nothing listening: a quick, readable failure.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    webui_config(&env, &format!("http://127.0.0.1:{port}"));
    let started = std::time::Instant::now();
    let out = env
        .latina()
        .env("WEBUI_AUTH", format!("ana:{SECRET}"))
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL GET /sdapi/v1/samplers"), "{stdout}");
    assert!(stdout.contains("cannot connect"), "{stdout}");
    assert!(started.elapsed().as_secs() < 15);
}

#[test]
fn a_corrupt_database_is_reported() {
    let env = Env::new();
    std::fs::write(
        env.db_path(),
        b"this is not sqlite, just text long enough to matter",
    )
    .unwrap();
    let out = env.latina().args(["--json", "doctor"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["database"]["ok"], false);
    assert!(
        report["database"]["detail"]
            .as_str()
            .unwrap()
            .contains("corrupt or not a latina database")
    );
}
