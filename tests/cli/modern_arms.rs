//! Issue 18's arms through the binary: a `stability` and a `bfl` arm in
//! the config, `enhance` against local fakes (renders stored with their
//! cost, keys nowhere), and `doctor` with the right and a wrong key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, assert_secret_nowhere, runtime, sample_room, solid_png};

const STABILITY_KEY: &str = "sk-cliStabKey-77a1c0";
const BFL_KEY: &str = "bfl-cliKey-2f9e41";

fn png() -> Vec<u8> {
    solid_png(96, 72, [190, 170, 150])
}

fn write_config(env: &Env, stability: &MockServer, bfl: &MockServer) {
    let text = format!(
        "[[providers]]\nname = \"stab\"\ntype = \"stability\"\nbase_url = \"{}\"\n\
         timeout_secs = 20\nprice_per_image = 0.05\n\n\
         [[providers]]\nname = \"flux\"\ntype = \"bfl\"\nbase_url = \"{}\"\n\
         poll_interval_secs = 0.02\ntimeout_secs = 20\n",
        stability.uri(),
        bfl.uri()
    );
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

/// A Stability fake that renders for the right key and a multipart body,
/// and reads the balance.
async fn stability_fake() -> MockServer {
    let server = MockServer::start().await;
    let bearer = format!("Bearer {STABILITY_KEY}");
    Mock::given(method("POST"))
        .and(path("/v2beta/stable-image/control/structure"))
        .and(header("authorization", bearer.as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "image": BASE64.encode(png()), "finish_reason": "SUCCESS", "seed": 3
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/user/balance"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"credits": 250})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/user/balance"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "id": "e1", "name": "unauthorized", "errors": ["authorization: invalid API key"]
        })))
        .mount(&server)
        .await;
    server
}

/// A BFL fake: submit answers a polling URL on another path, polling
/// answers Ready with a sample on the same fake (no key needed there).
async fn bfl_fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/flux-kontext-pro"))
        .and(header("x-key", BFL_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "t1",
            "polling_url": format!("{}/eu/poll?id=t1", server.uri()),
            "cost": 4
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/eu/poll"))
        .and(header("x-key", BFL_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "t1", "status": "Ready",
            "result": {"sample": format!("{}/blob/t1.png?sig=x", server.uri())}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/t1.png"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(png(), "image/png"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/credits"))
        .and(header("x-key", BFL_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"credits": 80})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/credits"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"detail": "Not authenticated"})),
        )
        .mount(&server)
        .await;
    server
}

#[test]
fn stability_and_bfl_arms_render_through_enhance_with_their_costs_and_no_key_anywhere() {
    let rt = runtime();
    let stability = rt.block_on(stability_fake());
    let bfl = rt.block_on(bfl_fake());
    let env = Env::new();
    write_config(&env, &stability, &bfl);
    let out = env
        .latina()
        .env("STABILITY_API_KEY", STABILITY_KEY)
        .env("BFL_API_KEY", BFL_KEY)
        .args(["-vv", "--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let variants = report["variants"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for v in variants {
        assert_eq!(v["status"], "done", "{v}");
        assert_eq!(std::fs::read(v["output"].as_str().unwrap()).unwrap(), png());
        let cost = v["cost_usd"].as_f64().unwrap();
        match v["provider"].as_str().unwrap() {
            // The configured price; BFL's 4 credits × $0.01.
            "stab" => assert!((cost - 0.05).abs() < 1e-12, "{cost}"),
            "flux" => assert!((cost - 0.04).abs() < 1e-12, "{cost}"),
            other => panic!("unexpected arm {other}"),
        }
        seen.insert(v["provider"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 2, "both arms rendered: {seen:?}");
    assert_secret_nowhere(&env, &out, STABILITY_KEY);
    assert_secret_nowhere(&env, &out, BFL_KEY);
}

#[test]
fn doctor_checks_both_arms_and_reports_a_wrong_key_without_showing_it() {
    let rt = runtime();
    let stability = rt.block_on(stability_fake());
    let bfl = rt.block_on(bfl_fake());
    let env = Env::new();
    write_config(&env, &stability, &bfl);
    let doctor = |stab: &str, flux: &str| {
        let out = env
            .latina()
            .env("STABILITY_API_KEY", stab)
            .env("BFL_API_KEY", flux)
            .args(["--json", "doctor"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(!stdout.contains(stab) && !stdout.contains(flux), "{stdout}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), report)
    };
    let (code, report) = doctor(STABILITY_KEY, BFL_KEY);
    assert_eq!(code, Some(0), "{report}");
    let providers = report["providers"].as_array().unwrap();
    assert_eq!(providers[0]["kind"], "stability");
    assert_eq!(providers[1]["kind"], "bfl");
    assert_eq!(
        providers[0]["checks"][0]["detail"],
        "key accepted; 250 credits left"
    );
    assert_eq!(
        providers[1]["checks"][0]["detail"],
        "key accepted; 80 credits left; model flux-kontext-pro"
    );

    let (code, report) = doctor("sk-wrong-stab-0001", "bfl-wrong-0002");
    assert_eq!(code, Some(1), "{report}");
    let providers = report["providers"].as_array().unwrap();
    for (i, expected) in [
        "HTTP 401 Unauthorized: key rejected: unauthorized: authorization: invalid API key",
        "HTTP 401 Unauthorized: key rejected: Not authenticated",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(providers[i]["checks"][0]["ok"], false);
        assert_eq!(providers[i]["checks"][0]["detail"], *expected);
    }
}
