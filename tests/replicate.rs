//! The Replicate provider against a local fake API that checks the requests
//! and answers like the real one (predictions, files, the lifecycle and its
//! faults). The fake API lives under `/v1`, as Replicate's does.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use latina::config::{REPLICATE_DEFAULT_VERSION, ReplicateConfig};
use latina::domain::Params;
use latina::http::HttpPolicy;
use latina::provider::replicate::Replicate;
use latina::provider::{ImageProvider, ProgressFn, RenderRequest, Secret, Stage};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod support;
use support::{no_progress, params, quick_policy, render_request, requests_to};

const TOKEN: &str = "r8_Zq7fakeTokenThatMustNotLeak41";
/// A made-up version id in the right shape (the real one is read from
/// `GET /models/fofr/sdxl-multi-controlnet-lora`).
const SDXL_VERSION: &str = "fofr/sdxl-multi-controlnet-lora:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn request_with(params: Params) -> RenderRequest {
    render_request(
        "japandi bedroom, linen, warm light",
        "cartoon, blurry",
        params,
    )
}

fn request() -> RenderRequest {
    request_with(params())
}

/// The API base on the fake server, with Replicate's `/v1` prefix.
fn api(server: &MockServer) -> String {
    format!("{}/v1", server.uri())
}

/// A config for the fake server: fast polls, short timeout, `overrides` on top.
fn config(server: &MockServer, overrides: Value) -> ReplicateConfig {
    let mut value = json!({
        "name": "rep",
        "base_url": api(server),
        "wait_secs": 3,
        "timeout_secs": 5,
        "poll_interval_secs": 0.02,
        "price_per_second": 0.001,
        "extra_input": {"seed": 42}
    });
    for (k, v) in overrides.as_object().unwrap() {
        value[k] = v.clone();
    }
    serde_json::from_value(value).unwrap()
}

fn provider(config: ReplicateConfig, policy: HttpPolicy) -> Arc<Replicate> {
    Arc::new(Replicate::new(config, Secret::new(TOKEN.into()), policy).unwrap())
}

fn recorder() -> (ProgressFn, Arc<Mutex<Vec<Stage>>>) {
    let stages = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&stages);
    (Arc::new(move |s| sink.lock().unwrap().push(s)), stages)
}

fn png_bytes() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([120, 90, 60]));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    bytes
}

fn png_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(png_bytes(), "image/png")
}

/// A prediction object as the API returns it.
fn prediction(server: &MockServer, id: &str, status: &str, output: Value) -> Value {
    let base = api(server);
    let mut p = json!({
        "id": id,
        "model": "adirik/interior-design",
        "status": status,
        "output": output,
        "error": null,
        "logs": "",
        "urls": {
            "get": format!("{base}/predictions/{id}"),
            "cancel": format!("{base}/predictions/{id}/cancel"),
            "web": format!("https://replicate.com/p/{id}")
        }
    });
    if status == "succeeded" {
        p["metrics"] = json!({"predict_time": 7.9, "total_time": 8.4});
    }
    p
}

/// Where the fake serves renders (on the API's origin).
fn output_url(server: &MockServer) -> String {
    format!("{}/delivery/out.png", server.uri())
}

/// Create answers `succeeded` at once (as with `Prefer: wait`), the render
/// downloads from the fake.
async fn succeed_at_once(server: &MockServer, create_path: &str, output: Value) {
    Mock::given(method("POST"))
        .and(path(create_path))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            server,
            "p1",
            "succeeded",
            output,
        )))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/delivery/out.png"))
        .respond_with(png_answer())
        .mount(server)
        .await;
}

/// Answers the listed responses in turn, repeating the last.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Sequence {
    fn new(answers: Vec<ResponseTemplate>) -> Self {
        Sequence {
            answers,
            next: AtomicUsize::new(0),
        }
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.answers[i.min(self.answers.len() - 1)].clone()
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

fn body_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// One line, no token, no inline photo.
fn assert_clean(message: &str) {
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(!message.contains(TOKEN), "token leaked: {message}");
    assert!(!message.contains("base64,"), "photo leaked: {message}");
}

async fn render_err(p: Arc<Replicate>, req: RenderRequest) -> String {
    let err = p.render(req, no_progress()).await.err().expect("an error");
    let text = err.to_string();
    assert_clean(&text);
    text
}

// ---- requests ---------------------------------------------------------------

#[tokio::test]
async fn interior_design_create_carries_headers_version_and_mapped_inputs() {
    let server = MockServer::start().await;
    succeed_at_once(&server, "/v1/predictions", json!(output_url(&server))).await;
    let (progress, stages) = recorder();
    let out = provider(config(&server, json!({})), quick_policy())
        .render(request(), progress)
        .await
        .unwrap();
    assert_eq!(out.extension, "png");
    assert_eq!(out.bytes, png_bytes());
    assert_eq!(out.pixels.unwrap().dimensions(), (64, 48));
    assert!((out.cost_usd.unwrap() - 0.001 * 7.9).abs() < 1e-12);
    assert_eq!(
        *stages.lock().unwrap(),
        vec![Stage::Uploading, Stage::Queued, Stage::Downloading],
        "finished within Prefer: wait, so never polled"
    );

    let creates = requests_to(&server, "POST", "/v1/predictions").await;
    assert_eq!(creates.len(), 1);
    let create = &creates[0];
    assert_eq!(
        header(create, "authorization").as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(header(create, "prefer").as_deref(), Some("wait=3"));
    assert_eq!(header(create, "cancel-after").as_deref(), Some("5s"));
    assert!(
        header(create, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let body = body_json(create);
    assert_eq!(body["version"], REPLICATE_DEFAULT_VERSION);
    let input = body["input"].as_object().unwrap();
    let image = input["image"].as_str().unwrap();
    let encoded = image
        .strip_prefix("data:image/jpeg;base64,")
        .expect("a small photo goes inline as a JPEG data URI");
    let sent = image::load_from_memory(&BASE64.decode(encoded).unwrap()).unwrap();
    assert_eq!(
        (sent.width(), sent.height()),
        (600, 400),
        "never enlarged to max_side"
    );
    assert_eq!(input["prompt"], "japandi bedroom, linen, warm light");
    assert_eq!(input["negative_prompt"], "cartoon, blurry");
    assert_eq!(
        input["prompt_strength"], 0.35,
        "same direction as init_strength: further from the photo"
    );
    assert_eq!(input["guidance_scale"], 8.5);
    assert!(input["num_inference_steps"].is_u64());
    assert_eq!(input["num_inference_steps"], 25);
    assert_eq!(input["seed"], 42, "extra_input merged");
    for absent in [
        "controlnet_1",
        "controlnet_1_conditioning_scale",
        "num_outputs",
        "sizing_strategy",
    ] {
        assert!(
            !input.contains_key(absent),
            "interior-design fixes its ControlNets: {absent}"
        );
    }
    // The render came from the API's origin: the token went with it.
    let downloads = requests_to(&server, "GET", "/delivery/out.png").await;
    assert_eq!(
        header(&downloads[0], "authorization").as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn sdxl_schema_on_an_official_model_sends_controlnet_fields_and_no_version() {
    let server = MockServer::start().await;
    let create_path = "/v1/models/fofr/sdxl-multi-controlnet-lora/predictions";
    // The SDXL model answers with an array of URLs.
    succeed_at_once(
        &server,
        create_path,
        json!([output_url(&server), "https://elsewhere.invalid/2.png"]),
    )
    .await;
    let cfg = config(
        &server,
        json!({
            "model": "fofr/sdxl-multi-controlnet-lora",
            "schema": "sdxl-multi-controlnet",
            "steps": 30,
            "max_side": 512,
            "extra_input": {"controlnet_1": "depth_midas", "scheduler": "K_EULER"}
        }),
    );
    let out = provider(cfg, quick_policy())
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(out.bytes, png_bytes(), "the first URL of the array");

    let creates = requests_to(&server, "POST", create_path).await;
    assert_eq!(creates.len(), 1);
    assert_eq!(
        requests_to(&server, "POST", "/v1/predictions").await.len(),
        0
    );
    let body = body_json(&creates[0]);
    assert!(body.get("version").is_none(), "{body}");
    let input = &body["input"];
    assert_eq!(input["prompt_strength"], 0.35);
    assert_eq!(input["guidance_scale"], 8.5);
    assert_eq!(input["num_inference_steps"], 30);
    assert!(input["num_outputs"].is_u64());
    assert_eq!(input["num_outputs"], 1);
    assert_eq!(input["sizing_strategy"], "input_image");
    assert_eq!(input["controlnet_1_image"], input["image"]);
    assert_eq!(input["controlnet_1_conditioning_scale"], 0.9);
    assert_eq!(
        input["controlnet_1"], "depth_midas",
        "extra_input overrides latina's fixed choices"
    );
    assert_eq!(input["scheduler"], "K_EULER");
    let encoded = input["image"]
        .as_str()
        .unwrap()
        .strip_prefix("data:image/jpeg;base64,")
        .unwrap();
    let sent = image::load_from_memory(&BASE64.decode(encoded).unwrap()).unwrap();
    assert_eq!(
        (sent.width(), sent.height()),
        (512, 344),
        "fitted to max_side"
    );
    // Only the first output is fetched.
    assert_eq!(
        requests_to(&server, "GET", "/delivery/out.png").await.len(),
        1
    );
}

#[tokio::test]
async fn parameters_are_clamped_to_each_model_range() {
    let server = MockServer::start().await;
    succeed_at_once(&server, "/v1/predictions", json!(output_url(&server))).await;
    let cfg = config(
        &server,
        json!({"version": SDXL_VERSION, "schema": "sdxl-multi-controlnet"}),
    );
    let p = provider(cfg, quick_policy());
    let high = Params {
        init_strength: 1.7,
        guidance_scale: 80.0,
        controlnet_weight: 9.0,
    };
    let low = Params {
        init_strength: -0.2,
        guidance_scale: 0.5,
        controlnet_weight: -1.0,
    };
    let mut empty_negative = request_with(low);
    empty_negative.negative_prompt = "  ".into();
    Arc::clone(&p)
        .render(request_with(high), no_progress())
        .await
        .unwrap();
    p.render(empty_negative, no_progress()).await.unwrap();

    let creates = requests_to(&server, "POST", "/v1/predictions").await;
    let (a, b) = (body_json(&creates[0]), body_json(&creates[1]));
    assert_eq!(a["version"], SDXL_VERSION);
    assert_eq!(a["input"]["prompt_strength"], 1.0);
    assert_eq!(a["input"]["guidance_scale"], 50.0);
    assert_eq!(a["input"]["controlnet_1_conditioning_scale"], 4.0);
    assert_eq!(b["input"]["prompt_strength"], 0.0);
    assert_eq!(b["input"]["guidance_scale"], 1.0);
    assert_eq!(b["input"]["controlnet_1_conditioning_scale"], 0.0);
    assert!(
        b["input"].get("negative_prompt").is_none(),
        "an empty negative prompt keeps the model's default"
    );
}

#[tokio::test]
async fn a_photo_over_the_inline_limit_goes_through_the_files_api() {
    let server = MockServer::start().await;
    let file_url = format!("{}/files/f-123", api(&server));
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "f-123",
            "name": "photo.jpg",
            "content_type": "image/jpeg",
            "size": 1234,
            "checksums": {"sha256": "00"},
            "urls": {"get": file_url},
            "expires_at": "2099-01-01T00:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    succeed_at_once(&server, "/v1/predictions", json!(output_url(&server))).await;
    let cfg = config(&server, json!({"inline_max_kib": 1}));
    provider(cfg, quick_policy())
        .render(request(), no_progress())
        .await
        .unwrap();

    let uploads = requests_to(&server, "POST", "/v1/files").await;
    let upload = &uploads[0];
    assert_eq!(
        header(upload, "authorization").as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let content_type = header(upload, "content-type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("multipart");
    let body = &upload.body;
    let find = |needle: &[u8], from: usize| {
        body[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let part = find(b"name=\"content\"", 0).expect("a part named content");
    let part_head_end = find(b"\r\n\r\n", part).unwrap();
    let head = String::from_utf8_lossy(&body[part..part_head_end]).to_ascii_lowercase();
    assert!(head.contains("filename=\"photo.jpg\""), "{head}");
    assert!(head.contains("content-type: image/jpeg"), "{head}");
    let start = part_head_end + 4;
    let end = find(format!("\r\n--{boundary}").as_bytes(), start).unwrap();
    let jpeg = &body[start..end];
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "JPEG bytes");
    let decoded = image::load_from_memory(jpeg).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (600, 400));

    let create = body_json(&requests_to(&server, "POST", "/v1/predictions").await[0]);
    assert_eq!(create["input"]["image"], file_url.as_str());
    assert!(!create.to_string().contains("data:"), "no inline copy");
}

// ---- lifecycle ------------------------------------------------------------

#[tokio::test]
async fn an_unfinished_prediction_is_polled_to_a_terminal_status_then_downloaded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p2",
            "starting",
            Value::Null,
        )))
        .mount(&server)
        .await;
    let out = json!(output_url(&server));
    Mock::given(method("GET"))
        .and(path("/v1/predictions/p2"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(prediction(
                &server,
                "p2",
                "processing",
                Value::Null,
            )),
            // File outputs can appear before the prediction is finished.
            ResponseTemplate::new(200).set_body_json(prediction(
                &server,
                "p2",
                "processing",
                out.clone(),
            )),
            ResponseTemplate::new(200).set_body_json(prediction(&server, "p2", "succeeded", out)),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/delivery/out.png"))
        .respond_with(png_answer())
        .expect(1)
        .mount(&server)
        .await;
    let (progress, stages) = recorder();
    let rendered = provider(config(&server, json!({})), quick_policy())
        .render(request(), progress)
        .await
        .unwrap();
    assert_eq!(rendered.bytes, png_bytes());
    let polls = requests_to(&server, "GET", "/v1/predictions/p2").await;
    assert_eq!(polls.len(), 3, "kept polling while output was set");
    assert!(
        polls
            .iter()
            .all(|r| header(r, "authorization").as_deref()
                == Some(format!("Bearer {TOKEN}").as_str()))
    );
    assert_eq!(
        *stages.lock().unwrap(),
        vec![
            Stage::Uploading,
            Stage::Queued,
            Stage::Generating,
            Stage::Downloading
        ]
    );
    assert!(
        requests_to(&server, "POST", "/v1/predictions/p2/cancel")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_poll_url_on_another_origin_is_not_followed() {
    let server = MockServer::start().await;
    let mut created = prediction(&server, "p3", "processing", Value::Null);
    created["urls"]["get"] = json!("https://attacker.invalid/v1/predictions/p3");
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/predictions/p3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(prediction(
            &server,
            "p3",
            "succeeded",
            json!(output_url(&server)),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/delivery/out.png"))
        .respond_with(png_answer())
        .mount(&server)
        .await;
    provider(config(&server, json!({})), quick_policy())
        .render(request(), no_progress())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_render_on_another_origin_is_downloaded_without_the_token() {
    let server = MockServer::start().await;
    let delivery = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/pbxt/out.png"))
        .respond_with(png_answer())
        .expect(1)
        .mount(&delivery)
        .await;
    succeed_at_once(
        &server,
        "/v1/predictions",
        json!(format!("{}/pbxt/out.png", delivery.uri())),
    )
    .await;
    provider(config(&server, json!({})), quick_policy())
        .render(request(), no_progress())
        .await
        .unwrap();
    let got = delivery.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        header(&got[0], "authorization").is_none(),
        "the token never leaves the API's origin"
    );
}

#[tokio::test]
async fn cost_sums_the_configured_prices() {
    let server = MockServer::start().await;
    succeed_at_once(&server, "/v1/predictions", json!(output_url(&server))).await;
    let cases = [
        (json!({}), Some(0.001 * 7.9)),
        (json!({"price_per_image": 0.01}), Some(0.001 * 7.9 + 0.01)),
        (
            json!({"price_per_second": null, "price_per_image": 0.02}),
            Some(0.02),
        ),
        (json!({"price_per_second": null}), None),
    ];
    for (overrides, expected) in cases {
        let out = provider(config(&server, overrides.clone()), quick_policy())
            .render(request(), no_progress())
            .await
            .unwrap();
        match (out.cost_usd, expected) {
            (Some(got), Some(want)) => assert!((got - want).abs() < 1e-12, "{overrides}: {got}"),
            (got, want) => assert_eq!(got, want, "{overrides}"),
        }
    }
}

#[tokio::test]
async fn a_per_second_price_without_predict_time_leaves_the_cost_unknown() {
    let server = MockServer::start().await;
    let mut done = prediction(&server, "p4", "succeeded", json!(output_url(&server)));
    done["metrics"] = json!({});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(done))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/delivery/out.png"))
        .respond_with(png_answer())
        .mount(&server)
        .await;
    let out = provider(
        config(&server, json!({"price_per_image": 0.01})),
        quick_policy(),
    )
    .render(request(), no_progress())
    .await
    .unwrap();
    assert_eq!(out.cost_usd, None, "an underestimate would be worse");
}

// ---- faults -----------------------------------------------------------------

#[tokio::test]
async fn a_rate_limited_create_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(
                    json!({"detail": "Request was throttled. Your rate limit resets in ~1s."}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    succeed_at_once(&server, "/v1/predictions", json!(output_url(&server))).await;
    let started = Instant::now();
    provider(config(&server, json!({})), quick_policy())
        .render(request(), no_progress())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        requests_to(&server, "POST", "/v1/predictions").await.len(),
        2
    );
}

#[tokio::test]
async fn a_503_burst_while_polling_is_ridden_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p5",
            "processing",
            Value::Null,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/predictions/p5"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(503),
            ResponseTemplate::new(503),
            ResponseTemplate::new(200).set_body_json(prediction(
                &server,
                "p5",
                "succeeded",
                json!(output_url(&server)),
            )),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/delivery/out.png"))
        .respond_with(png_answer())
        .mount(&server)
        .await;
    provider(config(&server, json!({})), quick_policy())
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(
        requests_to(&server, "GET", "/v1/predictions/p5")
            .await
            .len(),
        4
    );
    assert_eq!(
        requests_to(&server, "POST", "/v1/predictions").await.len(),
        1
    );
}

#[tokio::test]
async fn a_create_hanging_past_its_timeout_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(prediction(&server, "p6", "starting", Value::Null))
                .set_delay(Duration::from_secs(4)),
        )
        .mount(&server)
        .await;
    // Prefer: wait=1 plus a margin capped by the 300 ms request timeout.
    let policy = HttpPolicy {
        request_timeout: Duration::from_millis(300),
        ..quick_policy()
    };
    let started = Instant::now();
    let text = render_err(
        provider(config(&server, json!({"wait_secs": 1})), policy),
        request(),
    )
    .await;
    assert!(
        text.starts_with("provider rep: POST /predictions: timed out")
            && text.contains("not retried"),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        requests_to(&server, "POST", "/v1/predictions").await.len(),
        1,
        "a create that may have started is never re-sent"
    );
}

#[tokio::test]
async fn client_errors_are_one_line_with_the_problem_detail_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "type": "https://replicate.com/docs/errors",
            "title": "Input validation failed",
            "status": 422,
            "detail": "Invalid version or not permitted"
        })))
        .mount(&server)
        .await;
    let text = render_err(
        provider(config(&server, json!({})), quick_policy()),
        request(),
    )
    .await;
    assert_eq!(
        text,
        "provider rep: POST /predictions: HTTP 422 Unprocessable Entity: Invalid version or not permitted"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_error_body_echoing_the_request_is_scrubbed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "detail": format!("bad input.image data:image/jpeg;base64,/9j/4AAQSkZJRg for token {TOKEN}")
        })))
        .mount(&server)
        .await;
    let text = render_err(
        provider(config(&server, json!({})), quick_policy()),
        request(),
    )
    .await;
    assert!(text.contains("HTTP 400"), "{text}");
    assert!(!text.contains("/9j/"), "{text}");
}

#[tokio::test]
async fn malformed_answers_are_clear_errors() {
    // On create.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;
    let text = render_err(
        provider(config(&server, json!({})), quick_policy()),
        request(),
    )
    .await;
    assert!(
        text.starts_with("provider rep: POST /predictions: malformed JSON"),
        "{text}"
    );

    // While polling: give up and cancel the prediction.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p7",
            "starting",
            Value::Null,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": \"p7\", "))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions/p7/cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(prediction(
            &server,
            "p7",
            "canceled",
            Value::Null,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let text = render_err(
        provider(config(&server, json!({})), quick_policy()),
        request(),
    )
    .await;
    assert!(
        text.contains("GET /predictions/p7: malformed JSON")
            && text.contains("asked Replicate to cancel it"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_prediction_reports_its_error_on_one_line() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p8",
            "starting",
            Value::Null,
        )))
        .mount(&server)
        .await;
    let mut failed = prediction(&server, "p8", "failed", Value::Null);
    failed["error"] = json!(
        "CUDA out of memory.\n  Tried to allocate 2.00 GiB\n\nTraceback (most recent call last): ...\n"
    );
    Mock::given(method("GET"))
        .and(path("/v1/predictions/p8"))
        .respond_with(ResponseTemplate::new(200).set_body_json(failed))
        .mount(&server)
        .await;
    let text = render_err(
        provider(config(&server, json!({})), quick_policy()),
        request(),
    )
    .await;
    assert_eq!(
        text,
        "provider rep: prediction p8: failed: CUDA out of memory. Tried to allocate 2.00 GiB Traceback (most recent call last): ..."
    );
    assert!(
        requests_to(&server, "POST", "/v1/predictions/p8/cancel")
            .await
            .is_empty(),
        "a finished prediction is not cancelled"
    );
}

#[tokio::test]
async fn canceled_and_aborted_predictions_are_errors() {
    for (status, expected) in [
        ("canceled", "canceled on Replicate's side"),
        ("aborted", "aborted before it started"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
                &server,
                "p9",
                status,
                Value::Null,
            )))
            .mount(&server)
            .await;
        let text = render_err(
            provider(config(&server, json!({})), quick_policy()),
            request(),
        )
        .await;
        assert!(
            text.starts_with("provider rep: prediction p9: ") && text.contains(expected),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_output_that_is_not_an_image_url_is_a_clear_error() {
    for output in [
        json!({"image": "https://x.invalid/1.png"}),
        json!(42),
        json!("a cosy bedroom with linen sheets"),
        json!([]),
        json!(null),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
                &server,
                "p10",
                "succeeded",
                output.clone(),
            )))
            .mount(&server)
            .await;
        let text = render_err(
            provider(config(&server, json!({})), quick_policy()),
            request(),
        )
        .await;
        assert!(
            text.starts_with("provider rep: prediction p10: ")
                && (text.contains("not an image URL") || text.contains("output")),
            "{output}: {text}"
        );
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "nothing fetched"
        );
    }
}

#[tokio::test]
async fn oversized_and_non_image_downloads_are_refused() {
    let cases = [
        (
            ResponseTemplate::new(200).set_body_raw(vec![0x89u8; 20_000], "image/png"),
            "limit",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_raw(b"<html>Not found</html>".to_vec(), "text/html"),
            "expected an image",
        ),
        (
            ResponseTemplate::new(200).set_body_raw(b"not really a png".to_vec(), "image/png"),
            "not a PNG",
        ),
    ];
    for (answer, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
                &server,
                "p11",
                "succeeded",
                json!(output_url(&server)),
            )))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/delivery/out.png"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let policy = HttpPolicy {
            max_body_bytes: 4096,
            ..quick_policy()
        };
        let text = render_err(provider(config(&server, json!({})), policy), request()).await;
        assert!(
            text.starts_with("provider rep: download the render: ") && text.contains(expected),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_overall_timeout_cancels_the_prediction() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p12",
            "starting",
            Value::Null,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/predictions/p12"))
        .respond_with(ResponseTemplate::new(200).set_body_json(prediction(
            &server,
            "p12",
            "processing",
            Value::Null,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions/p12/cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(prediction(
            &server,
            "p12",
            "canceled",
            Value::Null,
        )))
        .mount(&server)
        .await;
    let started = Instant::now();
    let text = render_err(
        provider(config(&server, json!({"timeout_secs": 1})), quick_policy()),
        request(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        text,
        "provider rep: prediction p12: no result after 1 s (last status processing); asked Replicate to cancel it"
    );
    let create = &requests_to(&server, "POST", "/v1/predictions").await[0];
    assert_eq!(
        header(create, "prefer").as_deref(),
        Some("wait=1"),
        "never waits longer than the whole render may take"
    );
    assert_eq!(header(create, "cancel-after").as_deref(), Some("1s"));
    let cancels = requests_to(&server, "POST", "/v1/predictions/p12/cancel").await;
    assert_eq!(cancels.len(), 1);
    assert_eq!(
        header(&cancels[0], "authorization").as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn ctrl_c_while_polling_cancels_the_prediction_promptly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p13",
            "processing",
            Value::Null,
        )))
        .mount(&server)
        .await;
    // Polls are slow to answer: the cancel must not wait for them.
    Mock::given(method("GET"))
        .and(path("/v1/predictions/p13"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(prediction(&server, "p13", "processing", Value::Null))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions/p13/cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let req = request();
    let cancel = req.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let text = render_err(
        provider(config(&server, json!({"timeout_secs": 60})), quick_policy()),
        req,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        text,
        "provider rep: prediction p13: cancelled; asked Replicate to cancel it"
    );
}

#[tokio::test]
async fn ctrl_c_during_the_create_call_returns_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(prediction(&server, "p14", "processing", Value::Null))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let req = request();
    let cancel = req.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let text = render_err(provider(config(&server, json!({})), quick_policy()), req).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        text.starts_with("provider rep: POST /predictions: cancelled")
            && text.contains("5 s after it was created"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_cancel_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p15",
            "starting",
            Value::Null,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions/p15/cancel"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let text = render_err(
        provider(config(&server, json!({})), quick_policy()),
        request(),
    )
    .await;
    assert_eq!(
        text,
        "provider rep: GET /predictions/p15: HTTP 404 Not Found: Not found.; could not cancel it; Replicate stops it 5 s after it was created"
    );
}

// ---- doctor -----------------------------------------------------------------

#[tokio::test]
async fn check_looks_up_the_model_with_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models/adirik/interior-design"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "owner": "adirik", "name": "interior-design",
            "latest_version": {"id": "76604baddc85b1b4616e1c6475eca080da339c8875bd4996705440484a6eac38"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let checks = provider(config(&server, json!({})), quick_policy())
        .check()
        .await;
    assert_eq!(checks.len(), 1);
    assert!(checks[0].ok, "{checks:?}");
    assert_eq!(checks[0].what, "GET /models/adirik/interior-design");
    assert_eq!(
        checks[0].detail,
        "token accepted; model adirik/interior-design found"
    );
    let got = server.received_requests().await.unwrap();
    assert_eq!(
        header(&got[0], "authorization").as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn check_reports_a_rejected_token_a_missing_model_and_other_failures() {
    let cases = [
        (
            ResponseTemplate::new(401).set_body_json(
                json!({"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401}),
            ),
            "token rejected",
        ),
        (
            ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})),
            "model fofr/sdxl-multi-controlnet-lora not found",
        ),
        (
            ResponseTemplate::new(500).set_body_string(format!("boom {TOKEN}")),
            "HTTP 500 Internal Server Error: boom ***",
        ),
    ];
    for (answer, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models/fofr/sdxl-multi-controlnet-lora"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let cfg = config(
            &server,
            json!({"version": SDXL_VERSION, "schema": "sdxl-multi-controlnet"}),
        );
        let checks = provider(cfg, quick_policy()).check().await;
        assert!(!checks[0].ok, "{checks:?}");
        assert!(checks[0].detail.contains(expected), "{checks:?}");
        assert!(!checks[0].detail.contains(TOKEN));
    }
}

#[tokio::test]
async fn check_with_a_bare_version_id_checks_the_token_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/account"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"type": "user", "username": "ana"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let bare = SDXL_VERSION.split_once(':').unwrap().1;
    let checks = provider(config(&server, json!({"version": bare})), quick_policy())
        .check()
        .await;
    assert!(checks[0].ok, "{checks:?}");
    assert!(checks[0].detail.starts_with("token accepted"), "{checks:?}");
}

#[tokio::test]
async fn nobody_listening_is_a_connect_error_for_render_and_check() {
    let uri = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", listener.local_addr().unwrap())
    };
    let server = MockServer::start().await;
    let mut cfg = config(&server, json!({}));
    cfg.base_url = uri;
    let p = provider(
        cfg,
        HttpPolicy {
            max_retries: 1,
            ..quick_policy()
        },
    );
    let text = render_err(Arc::clone(&p), request()).await;
    assert!(text.contains("cannot connect"), "{text}");
    let checks = p.check().await;
    assert!(
        !checks[0].ok && checks[0].detail == "cannot connect",
        "{checks:?}"
    );
}

#[tokio::test]
async fn flux_schemas_on_official_models_send_only_their_own_fields() {
    // (schema, model, expected input keys, mapped values)
    let cases: [(&str, &str, &[&str], Value); 4] = [
        (
            "flux-kontext-pro",
            "black-forest-labs/flux-kontext-pro",
            &[
                "aspect_ratio",
                "input_image",
                "prompt",
                "safety_tolerance",
                "seed",
            ],
            json!({"safety_tolerance": 2, "aspect_ratio": "match_input_image"}),
        ),
        (
            "flux-depth-pro",
            "black-forest-labs/flux-depth-pro",
            &["control_image", "guidance", "prompt", "seed", "steps"],
            // guidance_scale 8.5 → 10 + 3.5 × 20/7 = 20; steps 25.
            json!({"guidance": 20.0, "steps": 25}),
        ),
        (
            "flux-canny-pro",
            "black-forest-labs/flux-canny-pro",
            &["control_image", "guidance", "prompt", "seed", "steps"],
            json!({"guidance": 20.0, "steps": 25}),
        ),
        (
            "flux-dev",
            "black-forest-labs/flux-dev",
            &[
                "guidance",
                "image",
                "num_inference_steps",
                "prompt",
                "prompt_strength",
                "seed",
            ],
            // guidance_scale 8.5 is within flux-dev's 0–10.
            json!({"prompt_strength": 0.35, "guidance": 8.5, "num_inference_steps": 25}),
        ),
    ];
    for (schema, model, keys, values) in cases {
        let server = MockServer::start().await;
        let create_path = format!("/v1/models/{model}/predictions");
        succeed_at_once(&server, &create_path, json!(output_url(&server))).await;
        let cfg = config(&server, json!({"model": model, "schema": schema}));
        provider(cfg, quick_policy())
            .render(request(), no_progress())
            .await
            .unwrap();
        let creates = requests_to(&server, "POST", &create_path).await;
        assert_eq!(creates.len(), 1, "{schema}");
        let body = body_json(&creates[0]);
        assert!(body.get("version").is_none(), "{schema}: {body}");
        let input = body["input"].as_object().unwrap();
        let mut sent: Vec<&str> = input.keys().map(String::as_str).collect();
        sent.sort_unstable();
        assert_eq!(sent, keys, "{schema}");
        assert_eq!(
            input["prompt"], "japandi bedroom, linen, warm light. Avoid: cartoon, blurry.",
            "{schema}: no negative_prompt field, folded in"
        );
        for (k, v) in values.as_object().unwrap() {
            assert_eq!(&input[k], v, "{schema}.{k}");
        }
        let image_key = keys.iter().find(|k| k.ends_with("image")).unwrap();
        assert!(
            input[*image_key]
                .as_str()
                .unwrap()
                .starts_with("data:image/jpeg;base64,"),
            "{schema}"
        );
    }
}

#[tokio::test]
async fn canny_guidance_is_clamped_to_its_narrower_range() {
    let server = MockServer::start().await;
    let create_path = "/v1/models/black-forest-labs/flux-canny-pro/predictions";
    succeed_at_once(&server, create_path, json!(output_url(&server))).await;
    let cfg = config(
        &server,
        json!({"model": "black-forest-labs/flux-canny-pro", "schema": "flux-canny-pro", "steps": 80}),
    );
    let p = Params {
        init_strength: 0.3,
        guidance_scale: 30.0,
        controlnet_weight: 0.9,
    };
    provider(cfg, quick_policy())
        .render(request_with(p), no_progress())
        .await
        .unwrap();
    let input = &body_json(&requests_to(&server, "POST", create_path).await[0])["input"];
    assert_eq!(input["guidance"], 50.0);
    assert_eq!(input["steps"], 50);
}
