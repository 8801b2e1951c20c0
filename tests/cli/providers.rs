//! Network providers through the binary, against a local fake SD WebUI.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, one_line_failure, runtime, sample_room};

const SECRET: &str = "pw-4f9c2a7e1b";

fn write_config(env: &Env, server: &MockServer, with_builtin: bool) {
    write_config_with(env, server, with_builtin, "");
}

/// The fake webui as an arm (plus the built-in tone arm if asked), after
/// `enhance_section` lines of `[enhance]` settings.
fn write_config_with(env: &Env, server: &MockServer, with_builtin: bool, enhance_section: &str) {
    let mut text = format!("[enhance]\n{enhance_section}\n\n");
    text += &format!(
        "[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"{}\"\ncontrolnet_model = \"m\"\ntimeout_secs = 5\nauth_env = \"WEBUI_AUTH\"\n",
        server.uri()
    );
    if with_builtin {
        text.push_str("\n[[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n");
    }
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

fn png_answer() -> ResponseTemplate {
    let img = image::RgbImage::from_pixel(96, 72, image::Rgb([200, 180, 160]));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    ResponseTemplate::new(200)
        .set_body_json(serde_json::json!({"images": [BASE64.encode(bytes)], "info": "{}"}))
}

#[test]
fn a_webui_render_is_stored_and_rateable_and_the_secret_appears_nowhere() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/sdapi/v1/img2img"))
            .respond_with(png_answer())
            .mount(&server),
    );
    let env = Env::new();
    write_config(&env, &server, false);
    let out = env
        .latina()
        .env("WEBUI_AUTH", format!("ana:{SECRET}"))
        .args(["-vv", "--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for v in report["variants"].as_array().unwrap() {
        assert_eq!(v["provider"], "gpu");
        assert_eq!(v["status"], "done");
        assert!(v["output"].as_str().unwrap().ends_with(".png"));
    }
    let id = report["variants"][0]["experiment_id"].as_str().unwrap();
    env.latina().args(["rate", id, "4"]).assert().success();

    // The secret is in no output, no log line, no file under the data dir.
    crate::harness::assert_secret_nowhere(&env, &out, SECRET);
}

#[test]
fn a_failing_provider_is_recorded_and_the_other_variant_still_arrives() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_string("CUDA out of memory"))
            .mount(&server),
    );
    let env = Env::new();
    write_config(&env, &server, true);
    let out = env
        .latina()
        .env("WEBUI_AUTH", format!("ana:{SECRET}"))
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "one variant rendered: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut statuses: Vec<(String, String)> = report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["provider"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            ("gpu".into(), "failed".into()),
            ("tone".into(), "done".into())
        ]
    );
    let failed = report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["status"] == "failed")
        .unwrap();
    assert!(
        failed["error"].as_str().unwrap().contains("HTTP 500"),
        "{failed}"
    );
    // A 500 on a render that starts work is not blindly resent.
    assert_eq!(rt.block_on(server.received_requests()).unwrap().len(), 1);
}

#[test]
fn with_a_fallback_the_failed_variant_is_rendered_by_a_builtin_engine_and_says_so() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_string("CUDA out of memory"))
            .mount(&server),
    );
    let env = Env::new();
    write_config_with(&env, &server, true, "fallback = \"tone\"");
    let report = env
        .latina()
        .env("WEBUI_AUTH", format!("ana:{SECRET}"))
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(report.status.success());
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let variants = report["variants"].as_array().unwrap();
    assert!(
        variants
            .iter()
            .all(|v| v["status"] == "done" && v["provider"] == "tone")
    );
    let fell_back: Vec<&serde_json::Value> = variants
        .iter()
        .filter(|v| !v["fallback_from"].is_null())
        .collect();
    assert_eq!(fell_back.len(), 1);
    assert!(
        fell_back[0]["fallback_from"]
            .as_str()
            .unwrap()
            .starts_with("gpu: ")
    );
    // The database records who really rendered it, and who failed.
    let row = env.rows(
        "SELECT provider, fallback_from, error FROM experiments WHERE fallback_from IS NOT NULL",
    );
    assert_eq!(row.len(), 1, "{row:?}");
    let [provider, from, error] = [0, 1, 2].map(|i| row[0][i].clone().unwrap());
    assert_eq!((provider.as_str(), from.as_str()), ("tone", "gpu"));
    assert!(error.contains("HTTP 500"), "{error}");
}

#[test]
fn the_concurrency_limit_serialises_renders() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(png_answer().set_delay(std::time::Duration::from_millis(400)))
            .mount(&server),
    );
    let env = Env::new();
    write_config_with(&env, &server, false, "concurrency = 1");
    let started = std::time::Instant::now();
    env.latina()
        .env("WEBUI_AUTH", "ana:x")
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .assert()
        .success();
    // Two 400 ms renders one after the other cannot take less than 800 ms.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(rt.block_on(server.received_requests()).unwrap().len(), 2);
}

#[test]
fn a_missing_auth_variable_fails_before_anything_is_written() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let env = Env::new();
    write_config(&env, &server, false);
    let out = env
        .latina()
        .args(["enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("WEBUI_AUTH"), "{line}");
    assert_eq!(env.count("experiments"), 0);
}
