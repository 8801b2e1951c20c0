//! The SD WebUI provider against a local fake server that checks the
//! requests and answers like the real API, including its faults.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use latina::http::HttpPolicy;
use latina::provider::sdwebui::{SdWebUi, SdWebUiSettings};
use latina::provider::{ImageProvider, RenderRequest, Secret, SourcePhoto};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod support;
use support::{no_progress, params, photo, quick_policy, render_request};

fn request() -> RenderRequest {
    render_request("photorealistic living room", "cartoon", params())
}

fn png_base64() -> String {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([120, 90, 60]));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    BASE64.encode(bytes)
}

fn provider(server: &MockServer, policy: HttpPolicy, auth: Option<(&str, &str)>) -> Arc<SdWebUi> {
    provider_at(server.uri(), policy, auth)
}

fn provider_at(base_url: String, policy: HttpPolicy, auth: Option<(&str, &str)>) -> Arc<SdWebUi> {
    Arc::new(
        SdWebUi::new(
            "gpu".into(),
            SdWebUiSettings {
                base_url,
                basic_auth: auth.map(|(u, p)| (u.to_string(), Secret::new(p.to_string()))),
                steps: 25,
                sampler: "Euler a".into(),
                checkpoint: Some("realisticVision".into()),
                controlnet_module: "mlsd".into(),
                controlnet_model: "control_v11p_sd15_mlsd [aca30ff0]".into(),
                max_side: 768,
                price_per_image: Some(0.004),
            },
            policy,
        )
        .unwrap(),
    )
}

fn ok_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "images": [png_base64()],
        "parameters": {},
        "info": "{\"seed\": 123}"
    }))
}

#[tokio::test]
async fn img2img_request_carries_the_photo_prompt_and_mapped_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sdapi/v1/img2img"))
        .and(header_exists("authorization"))
        .respond_with(ok_answer())
        .expect(1)
        .mount(&server)
        .await;
    let out = provider(&server, quick_policy(), Some(("ana", "s3cret-pass")))
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(out.extension, "png");
    assert_eq!(out.pixels.unwrap().dimensions(), (64, 48));

    let received: Vec<Request> = server.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    let sent = BASE64
        .decode(body["init_images"][0].as_str().unwrap())
        .unwrap();
    assert_eq!(
        sent,
        photo().bytes,
        "the original photo, base64, no data-URI prefix"
    );
    assert_eq!(body["prompt"], "photorealistic living room");
    assert_eq!(body["negative_prompt"], "cartoon");
    assert_eq!(
        body["denoising_strength"], 0.35,
        "same direction: further from the photo"
    );
    assert_eq!(body["cfg_scale"], 8.5);
    assert_eq!(body["steps"], 25);
    assert_eq!(body["sampler_name"], "Euler a");
    // 600x400 photo, longest side 768, multiples of 8.
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(768), Some(512))
    );
    assert_eq!(
        body["override_settings"]["sd_model_checkpoint"],
        "realisticVision"
    );
    let unit = &body["alwayson_scripts"]["controlnet"]["args"][0];
    assert_eq!(unit["enabled"], true);
    assert_eq!(unit["module"], "mlsd");
    assert_eq!(unit["model"], "control_v11p_sd15_mlsd [aca30ff0]");
    assert_eq!(unit["weight"], 0.9);
    assert_eq!(unit["save_detected_map"], false);
    let auth = received[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(auth, format!("Basic {}", BASE64.encode("ana:s3cret-pass")));
}

#[tokio::test]
async fn rate_limited_then_served_honours_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_answer())
        .mount(&server)
        .await;
    let started = Instant::now();
    provider(&server, quick_policy(), None)
        .render(request(), no_progress())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_burst_of_503_is_retried_with_backoff() {
    // A render starts work: only a 503 that says when to come back
    // (`Retry-After`) proves the webui did not take it (issue 13).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_answer())
        .mount(&server)
        .await;
    provider(&server, quick_policy(), None)
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn too_many_503s_give_up_with_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "0")
                .set_body_string("Service Unavailable"),
        )
        .mount(&server)
        .await;
    let policy = HttpPolicy {
        max_retries: 2,
        ..quick_policy()
    };
    let err = provider(&server, policy, None)
        .render(request(), no_progress())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_503_without_retry_after_is_not_resent() {
    // A gateway's bare 503 does not prove the render was not started.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = provider(&server, quick_policy(), None)
        .render(request(), no_progress())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("may have been created"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_hang_past_the_timeout_fails_once_and_is_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_answer().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let policy = HttpPolicy {
        request_timeout: Duration::from_millis(500),
        ..quick_policy()
    };
    let err = provider(&server, policy, None)
        .render(request(), no_progress())
        .await
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("timed out") && text.contains("not retried"),
        "{text}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(serde_json::json!({"detail": [{"msg": "field required"}]})),
        )
        .mount(&server)
        .await;
    let err = provider(&server, quick_policy(), Some(("ana", "s3cret-pass")))
        .render(request(), no_progress())
        .await
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("HTTP 422") && text.contains("field required"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "no secret in errors: {text}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_answers_are_clear_errors() {
    let cases = [
        (
            ResponseTemplate::new(200).set_body_string("<html>oops</html>"),
            "malformed JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"images": []})),
            "no image",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"images": [BASE64.encode("just text")]})),
            "not a PNG",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"images": ["***"]})),
            "base64",
        ),
    ];
    for (answer, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = provider(&server, quick_policy(), None)
            .render(request(), no_progress())
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains(expected), "{err}");
        assert!(
            err.to_string()
                .starts_with("provider gpu: POST /sdapi/v1/img2img"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn an_oversized_answer_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_answer())
        .mount(&server)
        .await;
    let policy = HttpPolicy {
        max_body_bytes: 100,
        ..quick_policy()
    };
    let err = provider(&server, policy, None)
        .render(request(), no_progress())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("limit"), "{err}");
}

#[tokio::test]
async fn nobody_listening_is_a_connect_error() {
    // A port that was just free: nothing listens there.
    let uri = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let p = provider_at(
        uri,
        HttpPolicy {
            max_retries: 1,
            ..quick_policy()
        },
        None,
    );
    let err = p.render(request(), no_progress()).await.err().unwrap();
    assert!(err.to_string().contains("cannot connect"), "{err}");
}

#[tokio::test]
async fn a_photo_larger_than_the_render_is_sent_scaled_down_with_its_aspect() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sdapi/v1/img2img"))
        .respond_with(ok_answer())
        .mount(&server)
        .await;
    let big = image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([(x / 8) as u8, (y / 6) as u8, 128])
    });
    let mut request = request();
    request.source = Arc::new(SourcePhoto::new(
        big,
        false,
        b"original bytes, not what should be sent".to_vec(),
        image::ImageFormat::Jpeg,
    ));
    provider(&server, quick_policy(), None)
        .render(request, no_progress())
        .await
        .unwrap();
    let received: Vec<Request> = server.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    let sent = BASE64
        .decode(body["init_images"][0].as_str().unwrap())
        .unwrap();
    let decoded = image::load_from_memory(&sent).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (768, 576));
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(768), Some(576))
    );
}
