//! Network providers through the binary, against a local fake SD WebUI.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, one_line_failure, sample_room};

const SECRET: &str = "pw-4f9c2a7e1b";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn write_config(env: &Env, server: &MockServer, with_builtin: bool) {
    let mut text = format!(
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
    for stream in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains(SECRET));
    }
    let mut stack = vec![env.data()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "{p:?}"
                );
            }
        }
    }
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
