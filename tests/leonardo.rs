//! The Leonardo.Ai provider against a local fake server that checks the
//! requests (API calls, the presigned S3 upload and the CDN download all
//! live on it under different paths) and answers like the real API,
//! including its faults.

use latina::config::{LeonardoConfig, LeonardoStructure};
use latina::domain::Params;
use latina::http::HttpPolicy;
use latina::provider::leonardo::Leonardo;
use latina::provider::{ImageProvider, ProgressFn, RenderRequest, Secret, Stage};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod support;
use support::{no_progress, params, quick_policy, render_request, requests_to};

const KEY: &str = "leo-key-7d3f9b21c4e8";
const SIGNATURE: &str = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
const POLICY: &str = "eyJleHBpcmF0aW9uIjoiMjAyNi0wMS0wMVQwMDowMjowMFoifQ==";

fn request_with(params: Params) -> RenderRequest {
    render_request("photorealistic living room", "cartoon", params)
}

fn request() -> RenderRequest {
    request_with(params())
}

fn config(server: &MockServer) -> LeonardoConfig {
    LeonardoConfig {
        name: "leo".into(),
        base_url: server.uri(),
        api_key_env: "LEONARDO_API_KEY".into(),
        model_id: "aa77f04e-3eec-4034-9c07-d0f619684628".into(),
        preprocessor_id: 19,
        structure: LeonardoStructure::InitAndControlnet,
        max_side: 512,
        steps: 30,
        alchemy: false,
        poll_interval_secs: 0.02,
        timeout_secs: 10,
        price_per_image: None,
    }
}

fn provider_with(config: LeonardoConfig, policy: HttpPolicy) -> Arc<Leonardo> {
    Arc::new(Leonardo::new(config, Secret::new(KEY.into()), policy).unwrap())
}

fn provider(server: &MockServer) -> Arc<Leonardo> {
    provider_with(config(server), quick_policy())
}

/// The presigned fields as Leonardo sends them: a JSON object encoded as a string.
fn fields() -> serde_json::Value {
    serde_json::json!({
        "Content-Type": "image/jpeg",
        "bucket": "leonardo-init-images",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": "AKIAEXAMPLE/20260101/us-east-1/s3/aws4_request",
        "X-Amz-Date": "20260101T000000Z",
        "key": "uploads/init-1.jpg",
        "Policy": POLICY,
        "X-Amz-Signature": SIGNATURE
    })
}

fn init_image_answer(server: &MockServer) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "uploadInitImage": {
            "id": "init-1",
            "url": format!("{}/s3-upload", server.uri()),
            "key": "uploads/init-1.jpg",
            "fields": fields().to_string(),
        }
    }))
}

fn created(unit: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "sdGenerationJob": {
            "generationId": "gen-1",
            "apiCreditCost": 12,
            "cost": {"amount": "0.0147", "unit": unit}
        }
    }))
}

fn generation(status: &str, server: &MockServer) -> ResponseTemplate {
    let images = if status == "COMPLETE" {
        serde_json::json!([{"id": "img-1", "url": format!("{}/cdn/render.jpg", server.uri()), "nsfw": false}])
    } else {
        serde_json::json!([])
    };
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "generations_by_pk": {
            "id": "gen-1",
            "status": status,
            "imageWidth": 512,
            "imageHeight": 344,
            "generated_images": images
        }
    }))
}

fn render_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(80, 56, image::Rgb([200, 180, 160]));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    bytes
}

fn jpeg_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(render_jpeg(), "image/jpeg")
}

async fn mount_upload(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/init-image"))
        .respond_with(init_image_answer(server))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/s3-upload"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
}

async fn mount_create(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/generations"))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// `pending` PENDING answers, then COMPLETE.
async fn mount_polls(server: &MockServer, pending: u64) {
    if pending > 0 {
        Mock::given(method("GET"))
            .and(path("/generations/gen-1"))
            .respond_with(generation("PENDING", server))
            .up_to_n_times(pending)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(generation("COMPLETE", server))
        .mount(server)
        .await;
}

async fn mount_download(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/cdn/render.jpg"))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// The whole happy path: upload, create (dollars), two PENDING, COMPLETE, download.
async fn mount_happy(server: &MockServer) {
    mount_upload(server).await;
    mount_create(server, created("DOLLARS")).await;
    mount_polls(server, 2).await;
    mount_download(server, jpeg_answer()).await;
}

async fn generation_body(server: &MockServer) -> serde_json::Value {
    let posts = requests_to(server, "POST", "/generations").await;
    assert_eq!(posts.len(), 1);
    serde_json::from_slice(&posts[0].body).unwrap()
}

/// The error's text, after checking it is one line and carries no secret.
fn message(err: latina::Error) -> String {
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(!text.contains(KEY), "no key in errors: {text}");
    assert!(
        !text.contains(SIGNATURE) && !text.contains(POLICY),
        "no upload fields in errors: {text}"
    );
    assert!(text.starts_with("provider leo: "), "{text}");
    text
}

fn bearer(request: &Request) -> Option<String> {
    request
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string())
}

/// One part of a `multipart/form-data` body.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A strict little multipart parser: every part must be well formed.
fn multipart_parts(request: &Request) -> Vec<Part> {
    let content_type = request
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("multipart/form-data;"),
        "{content_type}"
    );
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut rest: &[u8] = &request.body;
    let start = find(rest, &delimiter).expect("opening boundary");
    rest = &rest[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            break; // the closing delimiter
        }
        assert!(rest.starts_with(b"\r\n"), "CRLF after a boundary");
        rest = &rest[2..];
        let head_end = find(rest, b"\r\n\r\n").expect("part headers end");
        let head = String::from_utf8(rest[..head_end].to_vec()).unwrap();
        rest = &rest[head_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let body_end = find(rest, &closing).expect("part body end");
        let body = rest[..body_end].to_vec();
        rest = &rest[body_end + closing.len()..];
        let mut name = None;
        let mut filename = None;
        let mut part_type = None;
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for item in line.split(';').map(str::trim) {
                    if let Some(v) = item.strip_prefix("name=") {
                        name = Some(v.trim_matches('"').to_string());
                    }
                    if let Some(v) = item.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_string());
                    }
                }
            } else if lower.starts_with("content-type:") {
                part_type = Some(line["content-type:".len()..].trim().to_string());
            }
        }
        parts.push(Part {
            name: name.expect("every part is named"),
            filename,
            content_type: part_type,
            body,
        });
    }
    parts
}

#[tokio::test]
async fn a_render_uploads_the_photo_creates_polls_downloads_and_reports_dollars() {
    let server = MockServer::start().await;
    mount_happy(&server).await;
    let stages = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&stages);
    let progress: ProgressFn = Arc::new(move |s| seen.lock().unwrap().push(s));
    let out = provider(&server).render(request(), progress).await.unwrap();

    // The render is the CDN's image, decoded, and the cost is the API's dollars.
    assert_eq!(out.extension, "jpg");
    assert_eq!(out.bytes, render_jpeg());
    assert_eq!(out.pixels.unwrap().dimensions(), (80, 56));
    assert_eq!(out.cost_usd, Some(0.0147));
    assert_eq!(
        *stages.lock().unwrap(),
        vec![
            Stage::Uploading,
            Stage::Queued,
            Stage::Generating,
            Stage::Downloading
        ]
    );

    // Every call, in order.
    let received = server.received_requests().await.unwrap();
    let calls: Vec<String> = received
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        calls,
        vec![
            "POST /init-image",
            "POST /s3-upload",
            "POST /generations",
            "GET /generations/gen-1",
            "GET /generations/gen-1",
            "GET /generations/gen-1",
            "GET /cdn/render.jpg",
        ]
    );
    // The key goes to the API only: not to S3, not to the CDN.
    let expected = format!("Bearer {KEY}");
    for r in &received {
        let path = r.url.path();
        if path == "/s3-upload" || path.starts_with("/cdn/") {
            assert_eq!(bearer(r), None, "no Authorization on {path}");
        } else {
            assert_eq!(bearer(r).as_deref(), Some(expected.as_str()), "{path}");
        }
    }

    // POST /init-image asks for a jpg slot.
    let init: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(init, serde_json::json!({"extension": "jpg"}));

    // The upload: each decoded field as a text part, then `file` last with the JPEG.
    let parts = multipart_parts(&received[1]);
    let expected_fields = fields();
    let expected_fields = expected_fields.as_object().unwrap();
    assert_eq!(parts.len(), expected_fields.len() + 1);
    for part in &parts[..parts.len() - 1] {
        assert_eq!(part.filename, None, "{} is a text part", part.name);
        let value = String::from_utf8(part.body.clone()).unwrap();
        assert_eq!(
            Some(value.as_str()),
            expected_fields[&part.name].as_str(),
            "{}",
            part.name
        );
    }
    let mut names: Vec<&str> = parts[..parts.len() - 1]
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    names.sort_unstable();
    let mut wanted: Vec<&str> = expected_fields.keys().map(String::as_str).collect();
    wanted.sort_unstable();
    assert_eq!(names, wanted, "every field exactly once");
    let file = parts.last().unwrap();
    assert_eq!(file.name, "file", "the file part comes last");
    assert!(file.filename.is_some());
    assert_eq!(file.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(
        image::guess_format(&file.body).unwrap(),
        image::ImageFormat::Jpeg
    );
    let uploaded = image::load_from_memory(&file.body).unwrap();
    // coffee.jpg is 600x400: longest side 512, sides multiples of 8.
    assert_eq!((uploaded.width(), uploaded.height()), (512, 344));

    // The generation: field names, values and JSON types.
    let body: serde_json::Value = serde_json::from_slice(&received[2].body).unwrap();
    assert_eq!(body["prompt"], "photorealistic living room");
    assert_eq!(body["negative_prompt"], "cartoon");
    assert_eq!(body["modelId"], "aa77f04e-3eec-4034-9c07-d0f619684628");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(512), Some(344)),
        "the uploaded photo's size"
    );
    assert!(body["num_images"].is_u64(), "an integer: {body}");
    assert_eq!(body["num_images"], 1);
    assert_eq!(body["guidance_scale"], 8.5);
    assert!(body["num_inference_steps"].is_u64());
    assert_eq!(body["num_inference_steps"], 30);
    assert_eq!(body["alchemy"], serde_json::Value::Bool(false));
    assert_eq!(body["init_image_id"], "init-1");
    assert_eq!(
        body["init_strength"], 0.65,
        "inverted: 0.35 away from the photo is 0.65 towards it"
    );
    let controlnets = body["controlnets"].as_array().unwrap();
    assert_eq!(controlnets.len(), 1);
    let unit = &controlnets[0];
    assert_eq!(unit["initImageId"], "init-1");
    assert_eq!(unit["initImageType"], "UPLOADED");
    assert!(unit["preprocessorId"].is_u64());
    assert_eq!(unit["preprocessorId"], 19);
    assert!(unit["weight"].is_f64(), "a number, not a string: {unit}");
    assert_eq!(unit["weight"], 0.9);
    assert!(unit.get("strengthType").is_none());
}

#[tokio::test]
async fn each_structure_mode_sends_only_its_fields_and_values_are_clamped() {
    let extreme = Params {
        init_strength: 0.02,
        guidance_scale: 35.0,
        controlnet_weight: 2.7,
    };
    for (structure, init, controlnet) in [
        (LeonardoStructure::InitAndControlnet, true, true),
        (LeonardoStructure::InitOnly, true, false),
        (LeonardoStructure::ControlnetOnly, false, true),
    ] {
        let server = MockServer::start().await;
        mount_happy(&server).await;
        let p = provider_with(
            LeonardoConfig {
                structure,
                alchemy: true,
                ..config(&server)
            },
            quick_policy(),
        );
        p.render(request_with(extreme), no_progress())
            .await
            .unwrap();
        let body = generation_body(&server).await;
        assert_eq!(body["alchemy"], true, "{structure:?}");
        assert_eq!(body["guidance_scale"], 20.0, "clamped to 20: {body}");
        assert_eq!(body.get("init_image_id").is_some(), init, "{structure:?}");
        assert_eq!(body.get("init_strength").is_some(), init, "{structure:?}");
        assert_eq!(
            body.get("controlnets").is_some(),
            controlnet,
            "{structure:?}"
        );
        if init {
            assert_eq!(body["init_strength"], 0.9, "1 - 0.02 clamped to 0.9");
        }
        if controlnet {
            assert_eq!(body["controlnets"][0]["weight"], 2.0, "clamped to 2");
        }
    }
    // The other ends of the ranges.
    let server = MockServer::start().await;
    mount_happy(&server).await;
    let low = Params {
        init_strength: 0.97,
        guidance_scale: 0.2,
        controlnet_weight: -0.5,
    };
    provider(&server)
        .render(request_with(low), no_progress())
        .await
        .unwrap();
    let body = generation_body(&server).await;
    assert_eq!(body["init_strength"], 0.1);
    assert_eq!(body["guidance_scale"], 1.0);
    assert_eq!(body["controlnets"][0]["weight"], 0.0);
}

#[tokio::test]
async fn credits_fall_back_to_the_configured_price_or_to_unknown() {
    for (price, expected) in [(Some(0.02), Some(0.02)), (None, None)] {
        let server = MockServer::start().await;
        mount_upload(&server).await;
        mount_create(&server, created("CREDITS")).await;
        mount_polls(&server, 0).await;
        mount_download(&server, jpeg_answer()).await;
        let p = provider_with(
            LeonardoConfig {
                price_per_image: price,
                ..config(&server)
            },
            quick_policy(),
        );
        let out = p.render(request(), no_progress()).await.unwrap();
        assert_eq!(out.cost_usd, expected);
    }
}

#[tokio::test]
async fn a_rate_limited_create_is_retried_once_after_retry_after() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    Mock::given(method("POST"))
        .and(path("/generations"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(serde_json::json!({"error": "rate limit", "code": "too-many"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_create(&server, created("DOLLARS")).await;
    mount_polls(&server, 0).await;
    mount_download(&server, jpeg_answer()).await;
    let started = Instant::now();
    provider(&server)
        .render(request(), no_progress())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(requests_to(&server, "POST", "/generations").await.len(), 2);
}

#[tokio::test]
async fn a_burst_of_503_while_polling_is_retried() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    mount_polls(&server, 1).await;
    mount_download(&server, jpeg_answer()).await;
    let out = provider(&server)
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(out.cost_usd, Some(0.0147));
    assert_eq!(
        requests_to(&server, "GET", "/generations/gen-1")
            .await
            .len(),
        5,
        "3 × 503, PENDING, COMPLETE"
    );
}

#[tokio::test]
async fn a_hang_on_create_fails_once_and_is_not_resent() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(
        &server,
        created("DOLLARS").set_delay(Duration::from_secs(3)),
    )
    .await;
    let policy = HttpPolicy {
        request_timeout: Duration::from_millis(500),
        ..quick_policy()
    };
    let err = provider_with(config(&server), policy)
        .render(request(), no_progress())
        .await
        .err()
        .unwrap();
    let text = message(err);
    assert!(
        text.contains("POST /generations")
            && text.contains("timed out")
            && text.contains("not retried"),
        "{text}"
    );
    assert_eq!(requests_to(&server, "POST", "/generations").await.len(), 1);
    assert!(
        requests_to(&server, "GET", "/generations/gen-1")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn malformed_and_unexpected_answers_are_clear_errors() {
    let cases = [
        (
            ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
            "POST /generations: malformed JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"sdGenerationJob": null})),
            "POST /generations: the answer has no sdGenerationJob",
        ),
        (
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"sdGenerationJob": {"generationId": "../me?x=1"}}),
            ),
            "generationId is missing or not an id",
        ),
        (
            ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": "Expected a boolean for type 'Boolean' but found a string",
                "path": "$.alchemy", "code": "validation-failed"
            })),
            "POST /generations: HTTP 400",
        ),
    ];
    for (answer, expected) in cases {
        let server = MockServer::start().await;
        mount_upload(&server).await;
        mount_create(&server, answer).await;
        let text = message(
            provider(&server)
                .render(request(), no_progress())
                .await
                .err()
                .unwrap(),
        );
        assert!(text.contains(expected), "{text}");
        assert_eq!(
            requests_to(&server, "POST", "/generations").await.len(),
            1,
            "4xx and bad answers are not retried"
        );
    }
}

#[tokio::test]
async fn an_error_body_with_status_200_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/init-image"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "error": "Invalid response from authorization hook",
            "path": "$",
            "code": "unexpected"
        })))
        .mount(&server)
        .await;
    let text = message(
        provider(&server)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(
        text.contains("POST /init-image: Invalid response from authorization hook"),
        "{text}"
    );
    assert!(text.contains("key was rejected"), "{text}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "nothing after the error"
    );

    // The same on the create call.
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(
        &server,
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "error": "invalid init image", "path": "$", "code": "unexpected"
        })),
    )
    .await;
    let text = message(
        provider(&server)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(
        text.contains("POST /generations: invalid init image (code unexpected)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_generation_names_its_id() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(generation("PENDING", &server))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(generation("FAILED", &server))
        .mount(&server)
        .await;
    let text = message(
        provider(&server)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(
        text.contains("gen-1") && text.contains("failed") && text.contains("no reason"),
        "{text}"
    );
    assert!(
        requests_to(&server, "GET", "/cdn/render.jpg")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_unknown_generation_is_an_error() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"generations_by_pk": null})),
        )
        .mount(&server)
        .await;
    let text = message(
        provider(&server)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(
        text.contains("GET /generations/gen-1") && text.contains("generations_by_pk is null"),
        "{text}"
    );
    assert_eq!(
        requests_to(&server, "GET", "/generations/gen-1")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_complete_generation_without_an_image_is_an_error() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "generations_by_pk": {"id": "gen-1", "status": "COMPLETE", "generated_images": []}
        })))
        .mount(&server)
        .await;
    let text = message(
        provider(&server)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(text.contains("COMPLETE but lists no image"), "{text}");
}

#[tokio::test]
async fn bad_downloads_are_refused() {
    // Too big for the policy (the API's answers are far smaller).
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    mount_polls(&server, 0).await;
    let mut huge = render_jpeg();
    huge.resize(200_000, 0);
    mount_download(
        &server,
        ResponseTemplate::new(200).set_body_raw(huge, "image/jpeg"),
    )
    .await;
    let policy = HttpPolicy {
        max_body_bytes: 16 * 1024,
        ..quick_policy()
    };
    let text = message(
        provider_with(config(&server), policy)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(
        text.contains("download the render") && text.contains("limit"),
        "{text}"
    );

    // An HTML page instead of an image.
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    mount_polls(&server, 0).await;
    mount_download(
        &server,
        ResponseTemplate::new(200).set_body_raw("<html>Access denied</html>", "text/html"),
    )
    .await;
    let text = message(
        provider(&server)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(text.contains("content type \"text/html"), "{text}");
}

#[tokio::test]
async fn a_refused_upload_reports_s3s_code_but_none_of_the_signed_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/init-image"))
        .respond_with(init_image_answer(&server))
        .mount(&server)
        .await;
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId><StringToSign>{POLICY}</StringToSign><SignatureProvided>{SIGNATURE}</SignatureProvided></Error>"
    );
    Mock::given(method("POST"))
        .and(path("/s3-upload"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(xml, "application/xml"))
        .mount(&server)
        .await;
    let text = message(
        provider(&server)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap(),
    );
    assert!(
        text.contains("upload the photo")
            && text.contains("HTTP 403")
            && text.contains("SignatureDoesNotMatch"),
        "{text}"
    );
    assert!(!text.contains("AKIAEXAMPLE"), "{text}");
    assert_eq!(requests_to(&server, "POST", "/s3-upload").await.len(), 1);
    assert!(
        requests_to(&server, "POST", "/generations")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_503_on_the_upload_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/s3-upload"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<Error><Code>SlowDown</Code></Error>"),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    mount_happy(&server).await;
    provider(&server)
        .render(request(), no_progress())
        .await
        .unwrap();
    let uploads = requests_to(&server, "POST", "/s3-upload").await;
    assert_eq!(uploads.len(), 3);
    // Each attempt is a complete form, file last.
    for upload in &uploads {
        assert_eq!(multipart_parts(upload).last().unwrap().name, "file");
    }
}

#[tokio::test]
async fn the_render_gives_up_at_the_timeout_naming_the_generation() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(generation("PENDING", &server))
        .mount(&server)
        .await;
    let p = provider_with(
        LeonardoConfig {
            timeout_secs: 1,
            ..config(&server)
        },
        quick_policy(),
    );
    let started = Instant::now();
    let text = message(p.render(request(), no_progress()).await.err().unwrap());
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert!(
        text.contains("gen-1") && text.contains("not finished after 1 s"),
        "{text}"
    );
    assert!(text.contains("billed"), "{text}");
    assert!(
        requests_to(&server, "GET", "/generations/gen-1")
            .await
            .len()
            >= 3
    );
}

#[tokio::test]
async fn cancelling_while_polling_returns_promptly() {
    let server = MockServer::start().await;
    mount_upload(&server).await;
    mount_create(&server, created("DOLLARS")).await;
    Mock::given(method("GET"))
        .and(path("/generations/gen-1"))
        .respond_with(generation("PENDING", &server))
        .mount(&server)
        .await;
    let p = provider_with(
        LeonardoConfig {
            timeout_secs: 60,
            ..config(&server)
        },
        quick_policy(),
    );
    let req = request();
    let cancel = req.cancel.clone();
    let stages = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&stages);
    let progress: ProgressFn = Arc::new(move |s| seen.lock().unwrap().push(s));
    let render = tokio::spawn(p.render(req, progress));
    // Cancel once the job is being polled.
    let waited = Instant::now();
    while !stages.lock().unwrap().contains(&Stage::Generating) {
        assert!(waited.elapsed() < Duration::from_secs(5), "never polled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancelled_at = Instant::now();
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(2), render)
        .await
        .expect("returns promptly")
        .unwrap();
    assert!(cancelled_at.elapsed() < Duration::from_millis(500));
    let text = message(result.err().unwrap());
    assert!(
        text.contains("cancelled") && text.contains("gen-1") && text.contains("billed"),
        "{text}"
    );
    assert!(
        requests_to(&server, "GET", "/cdn/render.jpg")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn check_accepts_a_good_key_and_reports_a_rejected_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "user_details": [{"user": {"id": "u-1", "username": "ana-designs"}, "apiCredit": 3500}]
        })))
        .mount(&server)
        .await;
    let checks = provider(&server).check().await;
    assert_eq!(checks.len(), 1);
    assert!(checks[0].ok, "{checks:?}");
    assert_eq!(checks[0].what, "GET /me");
    assert_eq!(checks[0].detail, "key accepted");
    let me = requests_to(&server, "GET", "/me").await;
    assert_eq!(bearer(&me[0]), Some(format!("Bearer {KEY}")));

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "Authentication hook unauthorized this request", "code": "access-denied"
        })))
        .mount(&server)
        .await;
    let checks = provider(&server).check().await;
    assert!(!checks[0].ok);
    assert!(
        checks[0].detail.contains("key rejected") && checks[0].detail.contains("LEONARDO_API_KEY"),
        "{checks:?}"
    );
    assert!(!checks[0].detail.contains(KEY));

    // Leonardo may also refuse a key with a 200 and an error body.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "error": "Invalid response from authorization hook", "path": "$", "code": "unexpected"
        })))
        .mount(&server)
        .await;
    let checks = provider(&server).check().await;
    assert!(!checks[0].ok);
    assert!(checks[0].detail.starts_with("key rejected"), "{checks:?}");

    // Nobody listening.
    let uri = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let p = provider_with(
        LeonardoConfig {
            base_url: uri,
            ..config(&server)
        },
        quick_policy(),
    );
    let checks = p.check().await;
    assert!(!checks[0].ok);
    assert_eq!(checks[0].detail, "cannot connect");
}

#[tokio::test]
async fn the_variants_of_one_photo_share_one_upload_and_a_failed_upload_is_tried_again() {
    let server = MockServer::start().await;
    mount_happy(&server).await;
    let p = provider(&server);
    let first = request();
    // Clones share the photo (`source` is an Arc), as enhance's variants do.
    let renders = (0..3).map(|_| tokio::spawn(Arc::clone(&p).render(first.clone(), no_progress())));
    let handles: Vec<_> = renders.collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(requests_to(&server, "POST", "/init-image").await.len(), 1);
    assert_eq!(requests_to(&server, "POST", "/s3-upload").await.len(), 1);
    let posts = requests_to(&server, "POST", "/generations").await;
    assert_eq!(posts.len(), 3);
    for post in &posts {
        let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
        assert_eq!(body["init_image_id"], "init-1", "{body}");
    }
    // Another photo is uploaded for itself.
    p.render(request(), no_progress()).await.unwrap();
    assert_eq!(requests_to(&server, "POST", "/s3-upload").await.len(), 2);

    // A refused upload leaves nothing behind: the next variant uploads again.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/init-image"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "bad", "code": "x"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_happy(&server).await;
    let p = provider(&server);
    let shared = request();
    let again = shared.clone();
    assert!(Arc::clone(&p).render(shared, no_progress()).await.is_err());
    p.render(again, no_progress()).await.unwrap();
    assert_eq!(requests_to(&server, "POST", "/init-image").await.len(), 2);
    assert_eq!(requests_to(&server, "POST", "/s3-upload").await.len(), 1);
}
