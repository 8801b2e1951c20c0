//! Leonardo.Ai through the binary, against a local fake API that also plays
//! the S3 upload and the CDN.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, one_line_failure, runtime, sample_room, stderr_of};

const KEY: &str = "leo-cli-key-5e1d8c3a9f";

fn write_config(env: &Env, server: &MockServer) {
    let text = format!(
        "[[providers]]\nname = \"leo\"\ntype = \"leonardo\"\nbase_url = \"{}\"\npoll_interval_secs = 0.02\ntimeout_secs = 20\nmax_side = 512\n",
        server.uri()
    );
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

fn render_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(96, 64, image::Rgb([210, 190, 170]));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    bytes
}

/// A whole Leonardo: init image, S3, generations (one PENDING per job,
/// then COMPLETE), CDN.
async fn mount_leonardo(server: &MockServer) {
    let fields = serde_json::json!({"key": "u/init.jpg", "Policy": "cG9saWN5", "X-Amz-Signature": "abc123def456"});
    Mock::given(method("POST"))
        .and(path("/init-image"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "uploadInitImage": {
                "id": "init-1",
                "url": format!("{}/s3-upload", server.uri()),
                "fields": fields.to_string(),
            }
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/s3-upload"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/generations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "sdGenerationJob": {"generationId": "gen-1", "cost": {"amount": "0.0147", "unit": "DOLLARS"}}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "generations_by_pk": {"id": "gen-1", "status": "PENDING", "generated_images": []}
        })))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "generations_by_pk": {"id": "gen-1", "status": "COMPLETE", "generated_images": [
                {"id": "img-1", "url": format!("{}/cdn/render.jpg", server.uri())}
            ]}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cdn/render.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(render_jpeg(), "image/jpeg"))
        .mount(server)
        .await;
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn leonardo_renders_are_stored_with_their_cost_and_the_key_appears_nowhere() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(mount_leonardo(&server));
    let env = Env::new();
    write_config(&env, &server);
    let out = env
        .latina()
        .env("LEONARDO_API_KEY", KEY)
        .args(["-vv", "--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let variants = report["variants"].as_array().unwrap();
    assert!(!variants.is_empty());
    for v in variants {
        assert_eq!(v["provider"], "leo", "{v}");
        assert_eq!(v["status"], "done", "{v}");
        let output = v["output"].as_str().unwrap();
        assert!(output.ends_with(".jpg"), "{output}");
        assert_eq!(std::fs::read(output).unwrap(), render_jpeg());
    }

    // The API was driven as expected, with the key: the photo uploaded
    // once for the batch, a generation and a download per variant.
    let received = rt.block_on(server.received_requests()).unwrap();
    let count = |m: &str, p: &str| {
        received
            .iter()
            .filter(|r| r.method.as_str() == m && r.url.path() == p)
            .count()
    };
    assert_eq!(count("POST", "/generations"), variants.len());
    assert!(variants.len() > 1);
    assert_eq!(count("POST", "/init-image"), 1);
    assert_eq!(count("POST", "/s3-upload"), 1);
    assert_eq!(count("GET", "/cdn/render.jpg"), variants.len());
    for r in &received {
        let auth = r.headers.get("authorization").map(|v| v.to_str().unwrap());
        match r.url.path() {
            "/s3-upload" | "/cdn/render.jpg" => assert_eq!(auth, None),
            _ => assert_eq!(auth, Some(format!("Bearer {KEY}").as_str())),
        }
    }

    // Each experiment row has the dollars the API reported.
    let costs: Vec<Option<f64>> =
        env.column("SELECT cost_usd FROM experiments WHERE provider = 'leo'");
    assert_eq!(costs.len(), variants.len());
    assert!(costs.iter().all(|c| *c == Some(0.0147)), "{costs:?}");

    let status = env.json(&["status"]);
    assert_eq!(
        status["performance_by_api"]["leo"]["renders"],
        variants.len() as u64,
        "{status}"
    );

    // The key is in no output, no log line, no file under the data dir.
    let searched = crate::harness::assert_secret_nowhere(&env, &out, KEY);
    assert!(
        searched.database && searched.places() > variants.len(),
        "the database and the renders were searched"
    );
}

#[test]
fn a_failed_leonardo_generation_is_recorded_with_its_reason() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("GET"))
            .and(path("/generations/gen-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "generations_by_pk": {"id": "gen-1", "status": "FAILED", "generated_images": []}
            })))
            .mount(&server)
            .await;
        mount_leonardo(&server).await;
    });
    let env = Env::new();
    write_config(&env, &server);
    let out = env
        .latina()
        .env("LEONARDO_API_KEY", KEY)
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!contains(&out.stdout, KEY) && !contains(&out.stderr, KEY));
    // Every variant failed: the command fails, and the rows say why.
    assert!(!out.status.success());
    let errors: Vec<String> = env
        .column("SELECT error FROM experiments WHERE status = 'failed'")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert!(!errors.is_empty());
    for e in &errors {
        assert!(
            e.contains("generation gen-1 failed") && !e.contains(KEY),
            "{e}"
        );
    }
}

#[test]
fn a_missing_leonardo_key_fails_with_one_line_naming_the_variable() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let env = Env::new();
    write_config(&env, &server);
    let out = env
        .latina()
        .args(["enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("LEONARDO_API_KEY"), "{line}");
    assert_eq!(env.count("experiments"), 0);
    assert!(rt.block_on(server.received_requests()).unwrap().is_empty());
}
