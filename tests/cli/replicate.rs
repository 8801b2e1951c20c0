//! The Replicate provider through the binary, against a local fake API
//! (under `/v1`, like Replicate's) and a separate fake file host.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, runtime, sample_room, solid_png};

const TOKEN: &str = "r8_cliTokenZ93kq0Lw7";

/// A Replicate arm on the fake (plus the built-in tone arm if asked).
fn write_config(env: &Env, api: &MockServer, with_builtin: bool) {
    let mut text = format!(
        "[[providers]]\nname = \"rep\"\ntype = \"replicate\"\nbase_url = \"{}/v1\"\n\
         wait_secs = 1\ntimeout_secs = 20\npoll_interval_secs = 0.02\nprice_per_second = 0.00115\n",
        api.uri()
    );
    if with_builtin {
        text.push_str("\n[[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n");
    }
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

fn prediction(api: &MockServer, status: &str, output: serde_json::Value) -> serde_json::Value {
    let get = format!("{}/v1/predictions/cli1", api.uri());
    serde_json::json!({
        "id": "cli1",
        "status": status,
        "output": output,
        "error": null,
        "urls": {"get": get, "cancel": format!("{get}/cancel")},
        "metrics": if status == "succeeded" { serde_json::json!({"predict_time": 4.0}) } else { serde_json::json!({}) }
    })
}

fn png() -> Vec<u8> {
    solid_png(96, 72, [200, 180, 160])
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn replicate_renders_are_stored_with_their_cost_and_the_token_appears_nowhere() {
    let rt = runtime();
    let api = rt.block_on(MockServer::start());
    let files = rt.block_on(MockServer::start());
    let output = serde_json::json!(format!("{}/pbxt/out.png", files.uri()));
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path("/v1/predictions"))
            .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
                &api,
                "processing",
                serde_json::Value::Null,
            )))
            .mount(&api)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/predictions/cli1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(prediction(
                &api,
                "succeeded",
                output,
            )))
            .mount(&api)
            .await;
        Mock::given(method("GET"))
            .and(path("/pbxt/out.png"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(png(), "image/png"))
            .mount(&files)
            .await;
    });
    let env = Env::new();
    write_config(&env, &api, false);
    let out = env
        .latina()
        .env("REPLICATE_API_TOKEN", TOKEN)
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
    assert!(!variants.is_empty());
    for v in variants {
        assert_eq!(v["provider"], "rep");
        assert_eq!(v["status"], "done");
        let output = v["output"].as_str().unwrap();
        assert!(output.ends_with(".png"), "{output}");
        assert_eq!(env.stored_file(output).unwrap(), png());
        let cost = v["cost_usd"].as_f64().unwrap();
        assert!((cost - 0.00115 * 4.0).abs() < 1e-12, "{cost}");
    }
    let costs: Vec<Option<f64>> =
        env.column("SELECT cost_usd FROM experiments WHERE provider = 'rep'");
    assert_eq!(costs.len(), variants.len());
    assert!(
        costs
            .iter()
            .all(|c| c.is_some_and(|c| (c - 0.0046).abs() < 1e-12)),
        "{costs:?}"
    );

    // The token reached the API, and only the API.
    let to_api = rt.block_on(api.received_requests()).unwrap();
    assert!(to_api.iter().all(|r| {
        r.headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(format!("Bearer {TOKEN}").as_str())
    }));
    let to_files = rt.block_on(files.received_requests()).unwrap();
    assert_eq!(to_files.len(), variants.len());
    assert!(
        to_files
            .iter()
            .all(|r| r.headers.get("authorization").is_none())
    );

    // ... and nowhere else: no output, no log line, no file under the data dir.
    let searched = crate::harness::assert_secret_nowhere(&env, &out, TOKEN);
    assert!(searched.database, "the database was searched too");
}

#[test]
fn a_failed_prediction_is_recorded_and_the_builtin_variant_still_arrives() {
    let rt = runtime();
    let api = rt.block_on(MockServer::start());
    let mut failed = prediction(&api, "failed", serde_json::Value::Null);
    failed["error"] = serde_json::json!("CUDA out of memory.\nTried to allocate 2.00 GiB");
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/v1/predictions"))
            .respond_with(ResponseTemplate::new(201).set_body_json(failed))
            .mount(&api),
    );
    let env = Env::new();
    write_config(&env, &api, true);
    let out = env
        .latina()
        .env("REPLICATE_API_TOKEN", TOKEN)
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
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
            ("rep".into(), "failed".into()),
            ("tone".into(), "done".into())
        ]
    );
    let failed = report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["status"] == "failed")
        .unwrap();
    assert_eq!(
        failed["error"],
        "provider rep: prediction cli1: failed: CUDA out of memory. Tried to allocate 2.00 GiB"
    );
    let row = env.rows("SELECT status, error FROM experiments WHERE provider = 'rep'");
    assert_eq!(row.len(), 1, "{row:?}");
    let [status, error] = [0, 1].map(|i| row[0][i].clone().unwrap());
    assert_eq!(status, "failed");
    assert!(error.contains("CUDA out of memory"), "{error}");
    assert!(!contains(&out.stdout, TOKEN) && !contains(&out.stderr, TOKEN));
    // A finished (failed) prediction is neither polled nor cancelled.
    assert_eq!(rt.block_on(api.received_requests()).unwrap().len(), 1);
}
