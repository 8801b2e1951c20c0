//! FLUX by Black Forest Labs (`api.bfl.ai`): Kontext [pro]/[max] and
//! FLUX.2 [pro]/[flex] image editing, submitted then polled.
//!
//! One render:
//!
//! 1. The photo is scaled to `max_side`, encoded as JPEG and sent as bare
//!    base64 in `input_image` (BFL takes JSON, no multipart), with
//!    `POST /v1/<model>` and the key in `x-key`. The submit starts paid
//!    work: it is repeated only when BFL said it did not take it (429, a
//!    503 with `Retry-After`, a refused connection).
//! 2. The answer's `polling_url` is followed exactly as given (it may name
//!    a regional host), with the key only when its host is the configured
//!    API's host or a `bfl.ai` host; any other host is refused, not
//!    polled. Every status of the API is handled: `Pending` (and any
//!    unknown status) waits, `Ready` downloads, `Request Moderated`,
//!    `Content Moderated`, `Error` and `Task not found` fail the variant
//!    with what BFL said.
//! 3. `result.sample` (a signed URL that expires after 10 minutes) is
//!    downloaded at once, without the key.
//!
//! There is no cancel call: on Ctrl-C or at `timeout_secs` latina stops
//! polling, and the task may still run and be billed.
//!
//! Parameter mapping: Kontext and FLUX.2 [pro] take none of the three
//! knobs (only the prompt and the photo); FLUX.2 [flex] takes
//! `guidance_scale` as `guidance`, clamped to 1.5–10, and `steps`. There is
//! no negative-prompt field: a negative prompt is folded into the prompt as
//! `Avoid: …`.
//!
//! Cost: the submit answer's `cost` (credits) × `usd_per_credit`, else
//! `price_per_image`.
//!
//! A 429 waits as long as its `Retry-After` header asks, else as long as
//! the body's `retry_after` (BFL's rate-limit answer) asks, else backs off.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::{Check, ProgressFn, RenderOutput, RenderRequest, Secret, Stage, download_image};
use crate::config::{BflConfig, BflModel};
use crate::domain::{Knobs, Mapping};
use crate::error::Result;
use crate::http::{
    HttpClient, HttpPolicy, PollSchedule, RequestKind, StatusVerdict, WaitEnd, excerpt, one_line,
};

/// The credits endpoint `doctor` reads.
pub const CREDITS_PATH: &str = "/v1/credits";

/// FLUX.2 [flex] `guidance`, 1.5–10 (the optimizer's 5–12 lies mostly inside).
const FLEX_GUIDANCE: Mapping = Mapping::Clamp {
    min: 1.5,
    max: 10.0,
};

/// The knobs an endpoint honours: FLUX.2 [flex] `guidance_scale` only; the
/// others none (their schemas have no strength, guidance or control field).
pub fn knobs(model: BflModel) -> Knobs {
    match model {
        BflModel::Flux2Flex => Knobs {
            guidance_scale: Some(FLEX_GUIDANCE),
            ..Knobs::NONE
        },
        BflModel::KontextPro | BflModel::KontextMax | BflModel::Flux2Pro => Knobs::NONE,
    }
}

/// The BFL provider.
pub struct Bfl {
    name: String,
    config: BflConfig,
    key: Secret,
    http: HttpClient,
}

#[derive(Deserialize)]
struct Submitted {
    id: String,
    polling_url: String,
    cost: Option<f64>,
}

#[derive(Deserialize)]
struct Polled {
    status: String,
    result: Option<Value>,
    details: Option<Value>,
}

#[derive(Deserialize)]
struct Credits {
    credits: f64,
}

/// Words a failed BFL answer: FastAPI's `{"detail": [{loc, msg}]}` as the
/// messages, `{"detail": "..."}` or `{"message": "..."}` as the text.
pub fn read_status(status: StatusCode, body: &[u8]) -> StatusVerdict {
    let what = match status.as_u16() {
        401 | 403 => "key rejected: ",
        402 => "out of credits: ",
        _ => "",
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let text = parsed.as_ref().and_then(|v| {
        if let Some(list) = v.get("detail").and_then(Value::as_array) {
            let msgs: Vec<String> = list
                .iter()
                .filter_map(|d| {
                    let msg = d.get("msg")?.as_str()?;
                    let field = d
                        .get("loc")
                        .and_then(Value::as_array)
                        .and_then(|l| l.last())
                        .map(|f| f.to_string().trim_matches('"').to_string());
                    Some(match field {
                        Some(f) => format!("{f}: {msg}"),
                        None => msg.to_string(),
                    })
                })
                .collect();
            (!msgs.is_empty()).then(|| msgs.join("; "))
        } else {
            ["detail", "message", "error"]
                .iter()
                .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_string))
        }
    });
    let detail = match text {
        Some(t) => format!(": {}", one_line(&crate::http::redact::scrub(&t), 240)),
        None => excerpt(&String::from_utf8_lossy(body)),
    };
    let detail = if what.is_empty() {
        detail
    } else {
        format!(": {what}{}", detail.trim_start_matches(": "))
    };
    StatusVerdict {
        message: format!("HTTP {status}{}", detail.trim_end_matches(": ")),
        permanent: status == StatusCode::PAYMENT_REQUIRED,
    }
}

/// The wait a 429 (or 503) body asks for: BFL's rate-limit answer
/// `{"error": "rate_limit_exceeded", …, "retry_after": 5}`, in seconds.
/// Read only when the answer has no `Retry-After` header (which wins).
pub fn retry_hint(status: StatusCode, body: &[u8]) -> Option<Duration> {
    if !matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    let seconds = value.get("retry_after")?.as_f64()?;
    (seconds.is_finite() && (0.0..1e6).contains(&seconds)).then(|| Duration::from_secs_f64(seconds))
}

/// What a polled status means.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ready,
    Waiting,
    Failed(&'static str),
}

fn outcome(status: &str) -> Outcome {
    match status {
        "Ready" => Outcome::Ready,
        "Request Moderated" => Outcome::Failed("the request was refused by BFL's moderation"),
        "Content Moderated" => Outcome::Failed("the render was withheld by BFL's moderation"),
        "Error" => Outcome::Failed("BFL reports an error"),
        "Task not found" => Outcome::Failed("BFL does not know the task (Task not found)"),
        // "Pending", and statuses newer than this client: wait, up to the deadline.
        _ => Outcome::Waiting,
    }
}

impl Bfl {
    /// Builds the client for one configured arm.
    ///
    /// # Errors
    /// [`crate::Error::Provider`] if the HTTP client cannot start.
    pub fn new(config: BflConfig, key: Secret, policy: HttpPolicy) -> Result<Self> {
        let name = config.name.clone();
        Ok(Bfl {
            http: HttpClient::new(&name, policy)?,
            name,
            config,
            key,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// The prompt as sent: the negative prompt folded in (no field for it).
    pub fn prompt(request: &RenderRequest) -> String {
        super::folded_prompt(&request.prompt, &request.negative_prompt)
    }

    /// The JSON body of the submit; `image` is the photo as bare base64.
    pub fn body(&self, request: &RenderRequest, image: String) -> Value {
        let mut body = Map::new();
        body.insert("prompt".into(), Self::prompt(request).into());
        body.insert("input_image".into(), image.into());
        body.insert(
            "output_format".into(),
            self.config.output_format.clone().into(),
        );
        body.insert(
            "safety_tolerance".into(),
            self.config.safety_tolerance.into(),
        );
        if self.config.model == BflModel::Flux2Flex {
            body.insert(
                "guidance".into(),
                FLEX_GUIDANCE.apply(request.params.guidance_scale).into(),
            );
            body.insert("steps".into(), self.config.steps.into());
        }
        Value::Object(body)
    }

    /// Whether the key may go to `url`: the configured API's host (any
    /// port) or a `bfl.ai` / `bfl.ml` host over https.
    pub fn trusted_poll_url(&self, url: &str) -> bool {
        let (Ok(poll), Ok(base)) = (
            reqwest::Url::parse(url),
            reqwest::Url::parse(&self.config.base_url),
        ) else {
            return false;
        };
        let Some(host) = poll.host_str() else {
            return false;
        };
        let bfl = poll.scheme() == "https"
            && ["bfl.ai", "bfl.ml"]
                .iter()
                .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        bfl || (poll.scheme() == base.scheme() && Some(host) == base.host_str())
    }

    async fn render_async(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> Result<RenderOutput> {
        let deadline = Instant::now() + Duration::from_secs(self.config.timeout_secs);
        let http = self.http.until(deadline);
        progress(Stage::Uploading);
        let source = Arc::clone(&request.source);
        let max_side = self.config.max_side;
        let upload = tokio::task::spawn_blocking(move || source.upload_image(max_side))
            .await
            .map_err(|e| http.error("prepare the photo", format!("the encoder stopped: {e}")))?;
        let body = self.body(&request, BASE64.encode(&upload.jpeg));
        let path = format!("/v1/{}", self.config.model.endpoint());
        let what = format!("POST {path}");
        let url = self.url(&path);
        let sent = http.send_hinted(
            &what,
            RequestKind::CreatesJob,
            || {
                http.request(Method::POST, &url)
                    .header("x-key", self.key.expose())
                    .json(&body)
            },
            &read_status,
            &retry_hint,
        );
        let response = tokio::select! {
            response = sent => response?,
            () = request.cancel.cancelled() => {
                return Err(http.error(&what, "cancelled while submitting; BFL has no cancel call, so a task may still run and be billed"));
            }
        };
        let task: Submitted = http.read_json(&what, response).await?;
        if task.id.trim().is_empty() {
            return Err(http.error(&what, "the answer has no task id"));
        }
        if !self.trusted_poll_url(&task.polling_url) {
            let host = reqwest::Url::parse(&task.polling_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "an unreadable URL".into());
            return Err(http.error(
                &what,
                format!(
                    "the polling_url points at {}, neither the API's host nor a bfl.ai host; not followed (the key would go there)",
                    one_line(&host, 80)
                ),
            ));
        }
        tracing::info!(provider = %self.name, task = %task.id, "BFL task submitted");
        let cost = match task.cost {
            Some(credits) if credits.is_finite() && credits >= 0.0 => {
                Some(credits * self.config.usd_per_credit)
            }
            _ => self.config.price_per_image,
        };
        progress(Stage::Queued);
        let sample = self
            .poll(&http, &task, &request, deadline, &progress)
            .await?;
        progress(Stage::Downloading);
        // Signed and short-lived: fetched now, and without the key.
        download_image(&http, &sample, None, cost).await
    }

    /// Polls `polling_url` until `Ready` (returning `result.sample`) or a
    /// failed status, the deadline or Ctrl-C.
    async fn poll(
        &self,
        http: &HttpClient,
        task: &Submitted,
        request: &RenderRequest,
        deadline: Instant,
        progress: &ProgressFn,
    ) -> Result<String> {
        let what = "GET polling_url";
        let mut schedule = PollSchedule::new(
            Duration::from_secs_f64(self.config.poll_interval_secs),
            deadline.saturating_duration_since(Instant::now()),
        );
        let mut generating = false;
        loop {
            // A wait that ends at the deadline leaves no time for a poll.
            let waited = match schedule.wait(&request.cancel).await {
                Ok(()) if schedule.expired() => Err(WaitEnd::TimedOut),
                other => other,
            };
            if let Err(end) = waited {
                let why = match end {
                    WaitEnd::Cancelled => "cancelled".to_string(),
                    WaitEnd::TimedOut => format!("timed out after {} s", self.config.timeout_secs),
                };
                return Err(http.error(
                    what,
                    format!("{why} waiting for task {}; BFL has no cancel call, so it may still run and be billed", one_line(&task.id, 60)),
                ));
            }
            let response = http
                .send_hinted(
                    what,
                    RequestKind::Idempotent,
                    || {
                        http.request(Method::GET, &task.polling_url)
                            .header("x-key", self.key.expose())
                    },
                    &read_status,
                    &retry_hint,
                )
                .await?;
            let polled: Polled = http.read_json(what, response).await?;
            match outcome(&polled.status) {
                Outcome::Waiting => {
                    if polled.status != "Pending" && !generating {
                        generating = true;
                        progress(Stage::Generating);
                    }
                }
                Outcome::Failed(why) => {
                    let details = polled
                        .details
                        .filter(|d| !d.is_null())
                        .map(|d| format!(" ({})", one_line(&d.to_string(), 160)))
                        .unwrap_or_default();
                    return Err(http.error(what, format!("{why}{details}")));
                }
                Outcome::Ready => {
                    return polled
                        .result
                        .as_ref()
                        .and_then(|r| r.get("sample"))
                        .and_then(Value::as_str)
                        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                        .map(str::to_string)
                        .ok_or_else(|| {
                            http.error(what, "Ready, but the answer has no result.sample URL")
                        });
                }
            }
        }
    }

    async fn check_async(&self) -> Vec<Check> {
        let http = self.http.for_checks();
        let what = format!("GET {CREDITS_PATH}");
        let url = self.url(CREDITS_PATH);
        let answer = http
            .send_reading(
                &what,
                RequestKind::Idempotent,
                || {
                    http.request(Method::GET, &url)
                        .header("x-key", self.key.expose())
                },
                &read_status,
            )
            .await;
        let check = match answer {
            Ok(response) => match http.read_json::<Credits>(&what, response).await {
                Ok(c) => Check {
                    what: what.clone(),
                    ok: true,
                    detail: format!(
                        "key accepted; {} credits left; model {}",
                        c.credits,
                        self.config.model.endpoint()
                    ),
                },
                Err(e) => Check::failed(&what, e),
            },
            Err(e) => Check::failed(&what, e),
        };
        vec![check]
    }
}

remote_image_provider!(
    Bfl,
    |arm| name: &arm.name,
    max_side: arm.config.max_side,
    knobs: knobs(arm.config.model),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_has_a_meaning_and_unknown_ones_wait() {
        assert_eq!(outcome("Ready"), Outcome::Ready);
        assert_eq!(outcome("Pending"), Outcome::Waiting);
        assert_eq!(outcome("Generating"), Outcome::Waiting);
        for failed in [
            "Request Moderated",
            "Content Moderated",
            "Error",
            "Task not found",
        ] {
            assert!(matches!(outcome(failed), Outcome::Failed(_)), "{failed}");
        }
    }

    #[test]
    fn a_rate_limit_bodys_retry_after_is_read_in_seconds_on_429_and_503_only() {
        let body = br#"{"error":"rate_limit_exceeded","message":"Too many concurrent requests","retry_after":5}"#;
        let limited = StatusCode::TOO_MANY_REQUESTS;
        assert_eq!(retry_hint(limited, body), Some(Duration::from_secs(5)));
        assert_eq!(
            retry_hint(StatusCode::SERVICE_UNAVAILABLE, br#"{"retry_after":0.5}"#),
            Some(Duration::from_millis(500))
        );
        assert_eq!(retry_hint(StatusCode::BAD_REQUEST, body), None);
        assert_eq!(retry_hint(limited, br#"{"retry_after":-1}"#), None);
        assert_eq!(retry_hint(limited, br#"{"retry_after":"soon"}"#), None);
        assert_eq!(retry_hint(limited, b"Too Many Requests"), None);
    }

    #[test]
    fn fastapi_validation_errors_read_as_field_and_message() {
        let body = br#"{"detail":[{"loc":["body","guidance"],"msg":"Extra inputs are not permitted","type":"extra_forbidden"}]}"#;
        let v = read_status(StatusCode::UNPROCESSABLE_ENTITY, body);
        assert_eq!(
            v.message,
            "HTTP 422 Unprocessable Entity: guidance: Extra inputs are not permitted"
        );
        let v = read_status(
            StatusCode::PAYMENT_REQUIRED,
            br#"{"detail":"Insufficient credits"}"#,
        );
        assert_eq!(
            v.message,
            "HTTP 402 Payment Required: out of credits: Insufficient credits"
        );
        assert!(v.permanent);
        let v = read_status(
            StatusCode::UNAUTHORIZED,
            br#"{"detail":"Not authenticated"}"#,
        );
        assert_eq!(
            v.message,
            "HTTP 401 Unauthorized: key rejected: Not authenticated"
        );
    }
}
