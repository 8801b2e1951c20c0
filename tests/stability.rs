//! The Stability AI structure-control provider against a local fake API
//! that checks what the real one checks (multipart form, key, field
//! ranges) and answers in its shapes (`{image, finish_reason, seed}`,
//! `{id, name, errors}`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use latina::config::StabilityConfig;
use latina::domain::Params;
use latina::http::HttpPolicy;
use latina::provider::stability::{BALANCE_PATH, STRUCTURE_PATH, Stability};
use latina::provider::{ImageProvider, RenderRequest, Secret};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod support;
use support::{no_progress, params, png_bytes, quick_policy, render_request, requests_to};

const KEY: &str = "sk-stabFakeKeyThatMustNotLeak93";

fn config(server: &MockServer, overrides: Value) -> StabilityConfig {
    let mut value = json!({
        "name": "stab",
        "base_url": server.uri(),
        "max_side": 512,
        "timeout_secs": 5,
        "price_per_image": 0.04
    });
    for (k, v) in overrides.as_object().unwrap() {
        value[k] = v.clone();
    }
    serde_json::from_value(value).unwrap()
}

fn provider(config: StabilityConfig, policy: HttpPolicy) -> Arc<Stability> {
    Arc::new(Stability::new(config, Secret::new(KEY.into()), policy).unwrap())
}

fn request_with(params: Params) -> RenderRequest {
    render_request(
        "scandinavian living room, oak floor",
        "cartoon, blurry",
        params,
    )
}

/// One part of a multipart body.
#[derive(Debug)]
struct Part {
    filename: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Splits a `multipart/form-data` body by the boundary its content type
/// names; `None` when the content type is not multipart.
fn parse_multipart(request: &Request) -> Option<HashMap<String, Part>> {
    let content_type = request.headers.get("content-type")?.to_str().ok()?;
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &request.body;
    let mut parts = HashMap::new();
    let positions: Vec<usize> = body
        .windows(delimiter.len())
        .enumerate()
        .filter(|(_, w)| *w == delimiter.as_bytes())
        .map(|(i, _)| i)
        .collect();
    for pair in positions.windows(2) {
        let chunk = &body[pair[0] + delimiter.len()..pair[1]];
        let chunk = chunk.strip_prefix(b"\r\n")?;
        let head_end = chunk.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&chunk[..head_end]).to_string();
        let content = chunk[head_end + 4..].strip_suffix(b"\r\n")?.to_vec();
        let mut name = None;
        let mut filename = None;
        let mut part_type = None;
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for item in line.split(';').skip(1) {
                    let (k, v) = item.trim().split_once('=')?;
                    let v = v.trim_matches('"').to_string();
                    match k {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            } else if lower.starts_with("content-type:") {
                part_type = Some(line["content-type:".len()..].trim().to_string());
            }
        }
        parts.insert(
            name?,
            Part {
                filename,
                content_type: part_type,
                body: content,
            },
        );
    }
    Some(parts)
}

fn text(parts: &HashMap<String, Part>, name: &str) -> Option<String> {
    parts
        .get(name)
        .map(|p| String::from_utf8_lossy(&p.body).to_string())
}

fn stability_error(status: u16, name: &str, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"id": "9f2c4e", "name": name, "errors": [error]}))
}

/// The fake structure endpoint: validates like the real service, then
/// answers with `finish_reason` (a PNG either way, as Stability blurs a
/// filtered image rather than leaving it out).
struct FakeStructure {
    finish_reason: &'static str,
}

impl Respond for FakeStructure {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if auth != Some(format!("Bearer {KEY}").as_str()) {
            return stability_error(401, "unauthorized", "authorization: invalid API key");
        }
        let Some(parts) = parse_multipart(request) else {
            return stability_error(
                400,
                "bad_request",
                "content-type: must be multipart/form-data",
            );
        };
        let image_ok = parts.get("image").is_some_and(|p| {
            p.filename.is_some()
                && p.content_type.is_some()
                && image::load_from_memory(&p.body).is_ok()
        });
        let prompt_ok =
            text(&parts, "prompt").is_some_and(|p| (1..=10_000).contains(&p.chars().count()));
        let strength_ok = text(&parts, "control_strength")
            .is_none_or(|s| s.parse::<f64>().is_ok_and(|v| (0.0..=1.0).contains(&v)));
        let format_ok = text(&parts, "output_format")
            .is_none_or(|f| ["png", "jpeg", "webp"].contains(&f.as_str()));
        if !(image_ok && prompt_ok && strength_ok && format_ok) {
            return stability_error(400, "invalid_parameters", "one or more fields are invalid");
        }
        let accept = request.headers.get("accept").and_then(|v| v.to_str().ok());
        if accept != Some("application/json") {
            return ResponseTemplate::new(200).set_body_raw(png_bytes(64, 48), "image/png");
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "image": BASE64.encode(png_bytes(64, 48)),
            "finish_reason": self.finish_reason,
            "seed": 1234
        }))
    }
}

async fn fake(finish_reason: &'static str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(STRUCTURE_PATH))
        .respond_with(FakeStructure { finish_reason })
        .mount(&server)
        .await;
    server
}

/// Answers the listed responses in turn, repeating the last.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.answers[i.min(self.answers.len() - 1)].clone()
    }
}

async fn sequence(answers: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(STRUCTURE_PATH))
        .respond_with(Sequence {
            answers,
            next: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    server
}

async fn render_err(p: Arc<Stability>, req: RenderRequest) -> String {
    let err = p.render(req, no_progress()).await.err().expect("an error");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(!text.contains(KEY), "key leaked: {text}");
    text
}

#[tokio::test]
async fn the_structure_call_is_multipart_with_the_key_accept_and_only_control_strength() {
    let server = fake("SUCCESS").await;
    let p = provider(
        config(&server, json!({"style_preset": "photographic"})),
        quick_policy(),
    );
    let out = p
        .render(request_with(params()), no_progress())
        .await
        .unwrap();
    assert_eq!(out.extension, "png");
    assert_eq!(out.bytes, png_bytes(64, 48));
    assert_eq!(out.cost_usd, Some(0.04));

    let sent = requests_to(&server, "POST", STRUCTURE_PATH).await;
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(
        r.headers["authorization"].to_str().unwrap(),
        format!("Bearer {KEY}")
    );
    assert_eq!(r.headers["accept"].to_str().unwrap(), "application/json");
    let parts = parse_multipart(r).expect("a multipart body");
    let image = &parts["image"];
    assert_eq!(image.filename.as_deref(), Some("photo.jpg"));
    assert_eq!(image.content_type.as_deref(), Some("image/jpeg"));
    let sent_photo = image::load_from_memory(&image.body).unwrap();
    // The photo fitted to max_side = 512, aspect kept.
    assert_eq!(sent_photo.width().max(sent_photo.height()), 512);
    assert_eq!(
        text(&parts, "prompt").unwrap(),
        "scandinavian living room, oak floor"
    );
    assert_eq!(text(&parts, "negative_prompt").unwrap(), "cartoon, blurry");
    assert_eq!(text(&parts, "control_strength").unwrap(), "0.9");
    assert_eq!(text(&parts, "output_format").unwrap(), "png");
    assert_eq!(text(&parts, "style_preset").unwrap(), "photographic");
    // init_strength and guidance_scale have no field here: nothing else is sent.
    let mut names: Vec<&str> = parts.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "control_strength",
            "image",
            "negative_prompt",
            "output_format",
            "prompt",
            "style_preset"
        ]
    );
}

#[tokio::test]
async fn control_strength_is_clamped_and_an_empty_negative_prompt_is_left_out() {
    let server = fake("SUCCESS").await;
    let p = provider(config(&server, json!({})), quick_policy());
    let mut req = request_with(Params {
        init_strength: 0.3,
        guidance_scale: 9.0,
        controlnet_weight: 1.4,
    });
    req.negative_prompt = "  ".into();
    p.render(req, no_progress()).await.unwrap();
    let sent = requests_to(&server, "POST", STRUCTURE_PATH).await;
    let parts = parse_multipart(&sent[0]).unwrap();
    assert_eq!(text(&parts, "control_strength").unwrap(), "1");
    assert!(!parts.contains_key("negative_prompt"));
    assert!(!parts.contains_key("style_preset"));
}

#[tokio::test]
async fn content_filtered_on_a_200_is_a_failure_not_a_render() {
    let server = fake("CONTENT_FILTERED").await;
    let p = provider(config(&server, json!({})), quick_policy());
    let e = render_err(p, request_with(params())).await;
    assert!(
        e.contains("blocked by content moderation (finish_reason CONTENT_FILTERED)"),
        "{e}"
    );
    assert!(
        e.starts_with("provider stab: POST /v2beta/stable-image/control/structure"),
        "{e}"
    );
}

#[tokio::test]
async fn out_of_credits_and_moderation_are_read_from_the_error_shape_and_sent_once() {
    for (status, name, error, expected) in [
        (
            402,
            "payment_required",
            "You lack sufficient credits",
            "HTTP 402 Payment Required: out of credits: payment_required: You lack sufficient credits",
        ),
        (
            403,
            "content_moderation",
            "Your request was flagged by our content moderation system",
            "HTTP 403 Forbidden: refused by content moderation: content_moderation: Your request was flagged",
        ),
        (
            413,
            "payload_too_large",
            "body exceeds 10 MiB",
            "HTTP 413 Payload Too Large: the photo is too large: payload_too_large",
        ),
    ] {
        let server = sequence(vec![stability_error(status, name, error)]).await;
        let p = provider(config(&server, json!({})), quick_policy());
        let e = render_err(p, request_with(params())).await;
        assert!(e.contains(expected), "{e}");
        assert_eq!(
            requests_to(&server, "POST", STRUCTURE_PATH).await.len(),
            1,
            "{e}"
        );
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_fake_and_reported_without_the_key() {
    let server = fake("SUCCESS").await;
    let p = Arc::new(
        Stability::new(
            config(&server, json!({})),
            Secret::new("sk-wrong-123456".into()),
            quick_policy(),
        )
        .unwrap(),
    );
    let err = p
        .render(request_with(params()), no_progress())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("HTTP 401 Unauthorized: key rejected: unauthorized"),
        "{err}"
    );
    assert!(!err.contains("sk-wrong-123456"), "{err}");
}

#[tokio::test]
async fn an_error_body_echoing_the_key_is_scrubbed() {
    let server = sequence(vec![stability_error(
        400,
        "bad_request",
        &format!("bad header Bearer {KEY}"),
    )])
    .await;
    let p = provider(config(&server, json!({})), quick_policy());
    let e = render_err(p, request_with(params())).await;
    assert!(e.contains("bad header Bearer ***"), "{e}");
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_or_after_a_backoff_without_it() {
    let ok = ResponseTemplate::new(200).set_body_json(json!({
        "image": BASE64.encode(png_bytes(64, 48)), "finish_reason": "SUCCESS", "seed": 1
    }));
    let with_header = stability_error(429, "rate_limited", "150 requests per 10 s")
        .insert_header("retry-after", "1");
    let server = sequence(vec![with_header, ok.clone()]).await;
    let p = provider(config(&server, json!({})), quick_policy());
    let started = Instant::now();
    p.render(request_with(params()), no_progress())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests_to(&server, "POST", STRUCTURE_PATH).await.len(), 2);

    // No Retry-After (Stability documents none): the client's own backoff.
    let server = sequence(vec![stability_error(429, "rate_limited", "slow down"), ok]).await;
    let policy = HttpPolicy {
        base_backoff: Duration::from_millis(300),
        ..quick_policy()
    };
    let p = provider(config(&server, json!({})), policy);
    let started = Instant::now();
    p.render(request_with(params()), no_progress())
        .await
        .unwrap();
    // Jitter is ±50% of the first backoff.
    assert!(
        started.elapsed() >= Duration::from_millis(140),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests_to(&server, "POST", STRUCTURE_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_500_or_a_timeout_is_not_sent_again_and_says_a_render_may_be_billed() {
    let server = sequence(vec![stability_error(500, "internal_error", "oops")]).await;
    let p = provider(config(&server, json!({})), quick_policy());
    let e = render_err(p, request_with(params())).await;
    assert!(e.contains("may have been created"), "{e}");
    assert_eq!(requests_to(&server, "POST", STRUCTURE_PATH).await.len(), 1);

    // The deadline bounds a render that hangs.
    let server = sequence(vec![
        ResponseTemplate::new(200).set_delay(Duration::from_secs(4)),
    ])
    .await;
    let policy = HttpPolicy {
        request_timeout: Duration::from_millis(800),
        ..quick_policy()
    };
    let p = provider(config(&server, json!({})), policy);
    let started = Instant::now();
    let e = render_err(p, request_with(params())).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        e.contains("timed out") && e.contains("may have been created"),
        "{e}"
    );
    assert_eq!(requests_to(&server, "POST", STRUCTURE_PATH).await.len(), 1);
}

#[tokio::test]
async fn ctrl_c_abandons_the_call_at_once() {
    let server = sequence(vec![
        ResponseTemplate::new(200).set_delay(Duration::from_secs(4)),
    ])
    .await;
    let p = provider(config(&server, json!({})), quick_policy());
    let req = request_with(params());
    let cancel = req.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let e = render_err(p, req).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(e.contains("cancelled; Stability has no cancel call"), "{e}");
}

#[tokio::test]
async fn check_reads_the_balance_with_the_key_and_reports_a_rejected_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BALANCE_PATH))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"credits": 412.5})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(BALANCE_PATH))
        .respond_with(stability_error(
            401,
            "unauthorized",
            "missing or invalid key",
        ))
        .mount(&server)
        .await;
    let checks = provider(config(&server, json!({})), quick_policy())
        .check()
        .await;
    assert_eq!(checks.len(), 1);
    assert!(checks[0].ok, "{:?}", checks[0]);
    assert_eq!(checks[0].detail, "key accepted; 412.5 credits left");

    let wrong = Arc::new(
        Stability::new(
            config(&server, json!({})),
            Secret::new("sk-wrong-98765".into()),
            quick_policy(),
        )
        .unwrap(),
    );
    let checks = wrong.check().await;
    assert!(!checks[0].ok);
    assert!(checks[0].detail.contains("key rejected"), "{:?}", checks[0]);
    assert!(!checks[0].detail.contains("sk-wrong-98765"));
}
