//! `latina doctor` through the binary: what it reports, its exit code, and
//! that it never shows a secret.

use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, runtime};

const SECRET: &str = "doctor-pw-93e1c7";

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
    let env = Env::on_sqlite();
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
    // One schema version per shipped migration file (the server's own
    // migrations in the studio pass).
    let schema = crate::harness::migration_count(match env.studio() {
        Some(_) => "pg",
        None => "sql",
    });
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
    let env = Env::on_sqlite();
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

const LLM_KEY: &str = "sk-doctor-llm-5d21a9";

fn llm_config(env: &Env, base_url: &str, embeddings: bool) {
    let mut text = format!(
        "[evolution]\nevolver = \"llm\"\n\n[evolution.llm]\nbase_url = \"{base_url}/v1\"\nmodel = \"gpt-4o-mini\"\napi_key_env = \"DOCTOR_LLM_KEY\"\n"
    );
    if embeddings {
        text.push_str(&format!(
            "\n[evolution.embeddings]\nbase_url = \"{base_url}/v1\"\nmodel = \"text-embedding-3-small\"\napi_key_env = \"DOCTOR_LLM_KEY\"\n"
        ));
    }
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

/// An OpenAI-style `/v1/models` that wants the key and lists `models`.
async fn models_server(models: &[&str]) -> MockServer {
    use wiremock::matchers::header;
    let server = MockServer::start().await;
    let data: Vec<serde_json::Value> = models
        .iter()
        .map(|m| serde_json::json!({"id": m, "object": "model", "owned_by": "openai"}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header(
            "authorization",
            format!("Bearer {LLM_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"object": "list", "data": data})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": {"message": "Incorrect API key provided: sk-wro***", "type": "invalid_request_error", "code": "invalid_api_key"}
        })))
        .mount(&server)
        .await;
    server
}

fn endpoint_checks(report: &serde_json::Value, role: &str) -> Vec<(bool, String, String)> {
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["role"] == role)
        .unwrap_or_else(|| panic!("no {role} in {report}"))["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ok"].as_bool().unwrap(),
                c["what"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Issue 5: with `evolver = "llm"` (and an embeddings endpoint) doctor makes
/// one authenticated `GET /models` per endpoint and checks the model is
/// listed; the key is never shown.
#[test]
fn the_llm_and_embeddings_endpoints_are_checked_with_the_key_never_shown() {
    let rt = runtime();
    let server = rt.block_on(models_server(&["gpt-4o-mini", "text-embedding-3-small"]));
    let env = Env::new();
    llm_config(&env, &server.uri(), true);
    let out = env
        .latina()
        .env("DOCTOR_LLM_KEY", LLM_KEY)
        .args(["-vv", "doctor"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("gpt-4o-mini at ") && stdout.contains("key from DOCTOR_LLM_KEY: set"),
        "{stdout}"
    );
    assert!(stdout.contains("model gpt-4o-mini"), "{stdout}");
    assert!(stdout.contains("model text-embedding-3-small"), "{stdout}");
    assert!(stdout.contains("All checks passed."), "{stdout}");
    assert!(!stdout.contains(LLM_KEY) && !stderr.contains(LLM_KEY));
    let requests = rt.block_on(server.received_requests()).unwrap();
    assert_eq!(requests.len(), 2, "one GET /models per endpoint");

    let report = env
        .latina()
        .env("DOCTOR_LLM_KEY", LLM_KEY)
        .args(["--json", "doctor"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let llm = endpoint_checks(&report, "llm");
    assert_eq!(llm.len(), 2);
    assert!(llm.iter().all(|c| c.0), "{llm:?}");
    assert_eq!(llm[1].2, "listed by the server");
    assert_eq!(report["endpoints"][0]["key_present"], true);
}

#[test]
fn a_rejected_key_a_missing_model_an_unset_key_or_nothing_listening_fail_with_exit_1() {
    let rt = runtime();
    let server = rt.block_on(models_server(&["gpt-4o", "o3-mini"]));
    let env = Env::new();
    llm_config(&env, &server.uri(), false);
    let doctor = |key: Option<&str>| {
        let mut cmd = env.latina();
        if let Some(key) = key {
            cmd.env("DOCTOR_LLM_KEY", key);
        }
        let out = cmd.args(["--json", "doctor"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("sk-wrong-key"));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("sk-wrong-key"));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        endpoint_checks(&report, "llm")
    };

    // The model is not listed.
    let checks = doctor(Some(LLM_KEY));
    assert!(checks[0].0, "{checks:?}");
    assert!(!checks[1].0);
    assert!(
        checks[1]
            .2
            .contains("not among the 2 models the server lists (e.g. gpt-4o, o3-mini)"),
        "{checks:?}"
    );

    // A wrong key: 401, said in words, the key not quoted.
    let checks = doctor(Some("sk-wrong-key"));
    assert_eq!(checks.len(), 1);
    assert!(!checks[0].0);
    assert_eq!(checks[0].1, "GET /models");
    assert!(checks[0].2.contains("key rejected (HTTP 401"), "{checks:?}");

    // No key: nothing sent.
    let before = rt.block_on(server.received_requests()).unwrap().len();
    let checks = doctor(None);
    assert!(
        checks[0].2.contains("DOCTOR_LLM_KEY is not set"),
        "{checks:?}"
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
    llm_config(&env, &format!("http://127.0.0.1:{port}"), false);
    let started = std::time::Instant::now();
    let checks = doctor(Some(LLM_KEY));
    assert!(checks[0].2.contains("cannot connect"), "{checks:?}");
    assert!(started.elapsed().as_secs() < 15);
}
