//! The Black Forest Labs FLUX provider against local fakes: an API that
//! checks what BFL checks (`x-key`, the schema of each endpoint, with no
//! unknown fields), a polling host on another port and path (so the client
//! must follow `polling_url` as given), and a blob host whose signed URLs
//! expire.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use latina::config::BflConfig;
use latina::domain::Params;
use latina::http::HttpPolicy;
use latina::provider::bfl::{Bfl, CREDITS_PATH};
use latina::provider::{ImageProvider, RenderRequest, Secret};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod support;
use support::{no_progress, params, png_bytes, quick_policy, render_request, requests_to};

const KEY: &str = "bfl-fakeKeyThatMustNotLeak-5c2e";
const POLL_PATH: &str = "/regional/v1/results/task-1";

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn config(api: &MockServer, overrides: Value) -> BflConfig {
    let mut value = json!({
        "name": "flux",
        "base_url": api.uri(),
        "max_side": 512,
        "poll_interval_secs": 0.02,
        "timeout_secs": 5
    });
    for (k, v) in overrides.as_object().unwrap() {
        value[k] = v.clone();
    }
    serde_json::from_value(value).unwrap()
}

fn provider(config: BflConfig, policy: HttpPolicy) -> Arc<Bfl> {
    Arc::new(Bfl::new(config, Secret::new(KEY.into()), policy).unwrap())
}

fn request_with(params: Params) -> RenderRequest {
    render_request("warm japandi bedroom, linen", "clutter, people", params)
}

fn has_key(r: &Request) -> bool {
    r.headers.get("x-key").and_then(|v| v.to_str().ok()) == Some(KEY)
}

fn fastapi_error(field: &str, msg: &str, kind: &str) -> ResponseTemplate {
    ResponseTemplate::new(422)
        .set_body_json(json!({"detail": [{"loc": ["body", field], "msg": msg, "type": kind}]}))
}

/// The fake submit endpoint: validates the body against the endpoint's
/// schema and answers `{id, polling_url, cost}` with a polling URL on the
/// poll host.
struct FakeSubmit {
    flex: bool,
    polling_url: String,
}

impl Respond for FakeSubmit {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if !has_key(request) {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"detail": "Not authenticated"}));
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return fastapi_error("body", "JSON decode error", "json_invalid");
        };
        let mut allowed = vec![
            "prompt",
            "input_image",
            "seed",
            "aspect_ratio",
            "output_format",
            "prompt_upsampling",
            "safety_tolerance",
            "webhook_url",
            "webhook_secret",
        ];
        if self.flex {
            allowed.extend(["guidance", "steps"]);
        }
        let object = body.as_object().unwrap();
        if let Some(extra) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
            return fastapi_error(extra, "Extra inputs are not permitted", "extra_forbidden");
        }
        if body["prompt"].as_str().is_none_or(|p| p.trim().is_empty()) {
            return fastapi_error("prompt", "Field required", "missing");
        }
        let image_ok = body["input_image"].as_str().is_some_and(|i| {
            BASE64
                .decode(i)
                .ok()
                .is_some_and(|b| image::load_from_memory(&b).is_ok())
        });
        if !image_ok {
            return fastapi_error("input_image", "not a base64 image", "value_error");
        }
        let most = if self.flex { 5 } else { 6 };
        if body["safety_tolerance"].as_u64().is_none_or(|s| s > most) {
            return fastapi_error("safety_tolerance", "out of range", "less_than_equal");
        }
        if !["jpeg", "png", "webp"].contains(&body["output_format"].as_str().unwrap_or("png")) {
            return fastapi_error(
                "output_format",
                "Input should be 'jpeg', 'png' or 'webp'",
                "enum",
            );
        }
        if self.flex
            && !body["guidance"]
                .as_f64()
                .is_some_and(|g| (1.5..=10.0).contains(&g))
        {
            return fastapi_error("guidance", "out of range", "less_than_equal");
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "task-1",
            "polling_url": self.polling_url,
            "cost": 4.0
        }))
    }
}

/// The fake polling endpoint: `pending` answers of `Pending`, then `last`;
/// a `Ready` carries a sample URL on the blob host that expires `expiry_ms`
/// after it was handed out (negative: already expired).
struct FakePoll {
    pending: usize,
    last: &'static str,
    blob: String,
    expiry_ms: i64,
    polls: AtomicUsize,
}

impl Respond for FakePoll {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if !has_key(request) {
            return ResponseTemplate::new(403)
                .set_body_json(json!({"detail": "Not authenticated"}));
        }
        let n = self.polls.fetch_add(1, Ordering::SeqCst);
        let status = if n < self.pending {
            "Pending"
        } else {
            self.last
        };
        let mut answer = json!({"id": "task-1", "status": status, "result": null, "progress": null, "details": null});
        match status {
            "Ready" => {
                let expires = now_ms() as i64 + self.expiry_ms;
                answer["result"] = json!({
                    "sample": format!("{}/results/task-1/sample.png?se={expires}&sig=abc", self.blob),
                    "prompt": "x",
                    "seed": 7
                });
            }
            "Content Moderated" | "Request Moderated" => {
                answer["details"] = json!({"moderation_reasons": ["Derivative Works Filter"]});
            }
            "Error" => answer["details"] = json!({"message": "internal error in worker"}),
            _ => {}
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// The blob host: serves the render until the `se` in its URL passes.
struct FakeBlob;

impl Respond for FakeBlob {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let expires: i64 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "se")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if (now_ms() as i64) > expires {
            return ResponseTemplate::new(403).set_body_raw(
                "<Error><Code>AuthenticationFailed</Code><Message>Signed expiry time has passed</Message></Error>",
                "application/xml",
            );
        }
        ResponseTemplate::new(200).set_body_raw(png_bytes(64, 48), "image/png")
    }
}

/// The three fakes: API, poll host (another port), blob host.
struct Fakes {
    api: MockServer,
    poll: MockServer,
    blob: MockServer,
}

async fn fakes(
    model_path: &str,
    flex: bool,
    pending: usize,
    last: &'static str,
    expiry_ms: i64,
) -> Fakes {
    let api = MockServer::start().await;
    let poll = MockServer::start().await;
    let blob = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(model_path))
        .respond_with(FakeSubmit {
            flex,
            polling_url: format!("{}{POLL_PATH}?id=task-1", poll.uri()),
        })
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path(POLL_PATH))
        .respond_with(FakePoll {
            pending,
            last,
            blob: blob.uri(),
            expiry_ms,
            polls: AtomicUsize::new(0),
        })
        .mount(&poll)
        .await;
    Mock::given(method("GET"))
        .and(path("/results/task-1/sample.png"))
        .respond_with(FakeBlob)
        .mount(&blob)
        .await;
    Fakes { api, poll, blob }
}

async fn render_err(p: Arc<Bfl>, req: RenderRequest) -> String {
    let err = p.render(req, no_progress()).await.err().expect("an error");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(!text.contains(KEY), "key leaked: {text}");
    text
}

#[tokio::test]
async fn kontext_sends_prompt_and_photo_only_follows_the_polling_url_and_downloads_without_the_key()
{
    let f = fakes("/v1/flux-kontext-pro", false, 2, "Ready", 2_000).await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    let out = p
        .render(request_with(params()), no_progress())
        .await
        .unwrap();
    assert_eq!(out.bytes, png_bytes(64, 48));
    // 4 credits × $0.01.
    assert!((out.cost_usd.unwrap() - 0.04).abs() < 1e-12);

    let submits = requests_to(&f.api, "POST", "/v1/flux-kontext-pro").await;
    assert_eq!(submits.len(), 1);
    let body: Value = serde_json::from_slice(&submits[0].body).unwrap();
    assert_eq!(
        body["prompt"],
        "warm japandi bedroom, linen. Avoid: clutter, people."
    );
    let photo = image::load_from_memory(
        &BASE64
            .decode(body["input_image"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(photo.width().max(photo.height()), 512);
    assert_eq!(body["safety_tolerance"], 2);
    assert_eq!(body["output_format"], "png");
    // No knob goes to Kontext (the fake would refuse it with a 422 anyway).
    for knob in ["guidance", "steps", "strength", "negative_prompt"] {
        assert!(body.get(knob).is_none(), "{knob}");
    }
    // Polled on the host and path given, with the key; never at /v1/get_result.
    let polls = requests_to(&f.poll, "GET", POLL_PATH).await;
    assert_eq!(polls.len(), 3);
    assert!(
        polls
            .iter()
            .all(|r| has_key(r) && r.url.query() == Some("id=task-1"))
    );
    let api_gets = f
        .api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(api_gets, 0);
    // The signed URL is fetched once, without the key.
    let blobs = f.blob.received_requests().await.unwrap();
    assert_eq!(blobs.len(), 1);
    assert!(blobs[0].headers.get("x-key").is_none());
}

#[tokio::test]
async fn flux2_flex_gets_guidance_clamped_and_steps() {
    let f = fakes("/v1/flux-2-flex", true, 0, "Ready", 2_000).await;
    let p = provider(
        config(&f.api, json!({"model": "flux-2-flex", "steps": 28})),
        quick_policy(),
    );
    let mut req = request_with(Params {
        init_strength: 0.3,
        guidance_scale: 12.0,
        controlnet_weight: 0.9,
    });
    req.negative_prompt = String::new();
    p.render(req, no_progress()).await.unwrap();
    let submits = requests_to(&f.api, "POST", "/v1/flux-2-flex").await;
    let body: Value = serde_json::from_slice(&submits[0].body).unwrap();
    assert_eq!(body["guidance"], 10.0);
    assert_eq!(body["steps"], 28);
    assert_eq!(body["prompt"], "warm japandi bedroom, linen");
}

#[tokio::test]
async fn moderated_errored_and_unknown_tasks_fail_with_what_bfl_said_after_one_submit() {
    for (last, expected) in [
        (
            "Request Moderated",
            "the request was refused by BFL's moderation ({\"moderation_reasons\":[\"Derivative Works Filter\"]})",
        ),
        (
            "Content Moderated",
            "the render was withheld by BFL's moderation",
        ),
        (
            "Error",
            "BFL reports an error ({\"message\":\"internal error in worker\"})",
        ),
        (
            "Task not found",
            "BFL does not know the task (Task not found)",
        ),
    ] {
        let f = fakes("/v1/flux-kontext-pro", false, 1, last, 2_000).await;
        let p = provider(config(&f.api, json!({})), quick_policy());
        let e = render_err(p, request_with(params())).await;
        assert!(e.contains(expected), "{last}: {e}");
        assert_eq!(
            requests_to(&f.api, "POST", "/v1/flux-kontext-pro")
                .await
                .len(),
            1
        );
        assert!(f.blob.received_requests().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_result_is_fetched_before_its_signed_url_expires_and_an_expired_one_is_a_clear_error() {
    // 300 ms of validity: enough only if the download follows Ready at once.
    let f = fakes("/v1/flux-kontext-pro", false, 0, "Ready", 300).await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    p.render(request_with(params()), no_progress())
        .await
        .unwrap();

    let f = fakes("/v1/flux-kontext-pro", false, 0, "Ready", -1_000).await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    let e = render_err(p, request_with(params())).await;
    assert!(e.contains("download the render: HTTP 403 Forbidden"), "{e}");
    assert!(e.contains("AuthenticationFailed"), "{e}");
}

#[tokio::test]
async fn a_polling_url_on_a_foreign_host_is_not_followed() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/flux-kontext-pro"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "task-1",
            "polling_url": "https://results.example.net/v1/get_result?id=task-1"
        })))
        .mount(&api)
        .await;
    let p = provider(config(&api, json!({})), quick_policy());
    let e = render_err(p, request_with(params())).await;
    assert!(e.contains("points at results.example.net"), "{e}");
    assert!(e.contains("not followed"), "{e}");
}

/// Answers the listed responses in turn, repeating the last.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    next: AtomicUsize,
    seen: Mutex<Vec<Instant>>,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.seen.lock().unwrap().push(Instant::now());
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.answers[i.min(self.answers.len() - 1)].clone()
    }
}

/// An API whose submit answers `answers` in turn (then polls and blob as
/// the happy path).
async fn submit_sequence(answers: Vec<ResponseTemplate>) -> Fakes {
    let f = fakes("/v1/unused", false, 0, "Ready", 2_000).await;
    let ok = ResponseTemplate::new(200).set_body_json(json!({
        "id": "task-1",
        "polling_url": format!("{}{POLL_PATH}?id=task-1", f.poll.uri()),
        "cost": 4.0
    }));
    let answers = answers.into_iter().chain(std::iter::once(ok)).collect();
    Mock::given(method("POST"))
        .and(path("/v1/flux-kontext-pro"))
        .respond_with(Sequence {
            answers,
            next: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        })
        .mount(&f.api)
        .await;
    f
}

#[tokio::test]
async fn a_429_is_retried_with_or_without_retry_after_and_402_500_are_not() {
    let limited = ResponseTemplate::new(429).set_body_json(json!({
        "error": "rate_limit_exceeded", "message": "Too many concurrent requests", "retry_after": 1
    }));
    let f = submit_sequence(vec![limited.clone().insert_header("retry-after", "1")]).await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    let started = Instant::now();
    p.render(request_with(params()), no_progress())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(
        requests_to(&f.api, "POST", "/v1/flux-kontext-pro")
            .await
            .len(),
        2
    );

    let f = submit_sequence(vec![limited]).await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    p.render(request_with(params()), no_progress())
        .await
        .unwrap();
    assert_eq!(
        requests_to(&f.api, "POST", "/v1/flux-kontext-pro")
            .await
            .len(),
        2
    );

    let f = submit_sequence(vec![
        ResponseTemplate::new(402).set_body_json(json!({"detail": "Insufficient credits"})),
    ])
    .await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    let e = render_err(p, request_with(params())).await;
    assert!(
        e.contains("HTTP 402 Payment Required: out of credits: Insufficient credits"),
        "{e}"
    );
    assert_eq!(
        requests_to(&f.api, "POST", "/v1/flux-kontext-pro")
            .await
            .len(),
        1
    );

    let f = submit_sequence(vec![ResponseTemplate::new(500)]).await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    let e = render_err(p, request_with(params())).await;
    assert!(e.contains("may have been created"), "{e}");
    assert_eq!(
        requests_to(&f.api, "POST", "/v1/flux-kontext-pro")
            .await
            .len(),
        1
    );
}

/// BFL's rate-limit body carries `retry_after` (seconds): without a
/// `Retry-After` header that is the wait (the quick policy's own backoff is
/// about 20 ms), with one the header wins, and a wait past the deadline
/// ends the render at once with one submit.
#[tokio::test]
async fn a_429_waits_for_the_bodys_retry_after_unless_a_header_says_otherwise() {
    let limited = |seconds: u64| {
        ResponseTemplate::new(429).set_body_json(json!({
            "error": "rate_limit_exceeded", "message": "Too many concurrent requests", "retry_after": seconds
        }))
    };
    let f = submit_sequence(vec![limited(1)]).await;
    let started = Instant::now();
    provider(config(&f.api, json!({})), quick_policy())
        .render(request_with(params()), no_progress())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(950), "waited {took:?}");
    assert_eq!(
        requests_to(&f.api, "POST", "/v1/flux-kontext-pro")
            .await
            .len(),
        2
    );

    let f = submit_sequence(vec![limited(60).insert_header("retry-after", "1")]).await;
    let started = Instant::now();
    provider(config(&f.api, json!({})), quick_policy())
        .render(request_with(params()), no_progress())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(4),
        "waited {took:?}"
    );

    let f = submit_sequence(vec![limited(120)]).await;
    let started = Instant::now();
    let e = render_err(
        provider(config(&f.api, json!({})), quick_policy()),
        request_with(params()),
    )
    .await;
    assert!(
        e.contains("the server asks to wait 120 s, past the 5 s deadline"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        requests_to(&f.api, "POST", "/v1/flux-kontext-pro")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_knob_sent_where_the_schema_has_none_would_be_a_422_read_as_field_and_message() {
    // Kontext config pointed at the flex fake's path would not send guidance;
    // here the fake is Kontext and the arm flex, so guidance is sent and refused.
    let f = fakes("/v1/flux-2-flex", false, 0, "Ready", 2_000).await;
    let p = provider(
        config(&f.api, json!({"model": "flux-2-flex"})),
        quick_policy(),
    );
    let e = render_err(p, request_with(params())).await;
    assert!(
        e.contains("HTTP 422 Unprocessable Entity: guidance: Extra inputs are not permitted"),
        "{e}"
    );
}

#[tokio::test]
async fn the_deadline_bounds_a_task_that_stays_pending_and_ctrl_c_stops_polling() {
    let f = fakes("/v1/flux-kontext-pro", false, usize::MAX, "Ready", 2_000).await;
    let p = provider(config(&f.api, json!({"timeout_secs": 1})), quick_policy());
    let started = Instant::now();
    let e = render_err(p, request_with(params())).await;
    assert!(
        started.elapsed() < Duration::from_millis(1_800),
        "{:?}",
        started.elapsed()
    );
    assert!(
        e.contains("timed out after 1 s waiting for task task-1"),
        "{e}"
    );
    assert!(e.contains("may still run and be billed"), "{e}");

    let f = fakes("/v1/flux-kontext-pro", false, usize::MAX, "Ready", 2_000).await;
    let p = provider(config(&f.api, json!({})), quick_policy());
    let req = request_with(params());
    let cancel = req.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let e = render_err(p, req).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(e.contains("cancelled waiting for task task-1"), "{e}");
}

#[tokio::test]
async fn check_reads_the_credits_with_the_key_and_reports_a_wrong_key() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(CREDITS_PATH))
        .and(wiremock::matchers::header("x-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"credits": 96.5})))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path(CREDITS_PATH))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"detail": "Not authenticated"})),
        )
        .mount(&api)
        .await;
    let checks = provider(config(&api, json!({})), quick_policy())
        .check()
        .await;
    assert!(checks[0].ok, "{:?}", checks[0]);
    assert_eq!(
        checks[0].detail,
        "key accepted; 96.5 credits left; model flux-kontext-pro"
    );
    let wrong = Arc::new(
        Bfl::new(
            config(&api, json!({})),
            Secret::new("bfl-wrong-4417".into()),
            quick_policy(),
        )
        .unwrap(),
    );
    let checks = wrong.check().await;
    assert!(!checks[0].ok);
    assert_eq!(
        checks[0].detail,
        "HTTP 401 Unauthorized: key rejected: Not authenticated"
    );
}
