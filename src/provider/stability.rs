//! Stability AI structure control: `POST /v2beta/stable-image/control/structure`,
//! one synchronous multipart call per render (no job id, no polling).
//!
//! The render is regenerated from the photo's structure and the prompt, so of
//! the optimizer's three parameters only one has a field:
//!
//! | optimizer | Stability field | mapping |
//! |---|---|---|
//! | `init_strength` | none (no init latent on this endpoint) | not sent |
//! | `guidance_scale` | none (no cfg field) | not sent |
//! | `controlnet_weight` | `control_strength` | same value, clamped to 0–1 |
//!
//! The prompt goes as `prompt` (1–10000 characters), the negative prompt as
//! `negative_prompt` (omitted when empty). The photo is the `image` part
//! (scaled to `max_side`, JPEG). `Accept: application/json` asks for
//! `{image (base64), finish_reason, seed}`: a 200 whose `finish_reason` is
//! `CONTENT_FILTERED` is a failure (the image is blurred or blocked), not a
//! render.
//!
//! Errors come as `{id, name, errors: [...]}`; the message quotes the name
//! and the errors on one line (402: out of credits; 403: content
//! moderation). The call starts paid work, so it is repeated only on
//! answers that prove nothing was made (429, a 503 with `Retry-After`, a
//! refused connection); Stability documents no `Retry-After`, so the
//! client's first backoff is 10 s (set where the arm is built). There is
//! no cancel call: Ctrl-C abandons the request, which may still be billed.
//!
//! Cost: the API reports none; `price_per_image` when configured.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::sync::Arc;

use super::{Check, ProgressFn, RenderOutput, RenderRequest, Secret, Stage, decoded_output};
use crate::config::StabilityConfig;
use crate::domain::{Knobs, Mapping};
use crate::error::Result;
use crate::http::{HttpClient, HttpPolicy, RequestKind, StatusVerdict, excerpt, one_line};

/// The endpoint, below the base URL.
pub const STRUCTURE_PATH: &str = "/v2beta/stable-image/control/structure";
/// The balance endpoint `doctor` reads (Stability's v1 user API).
pub const BALANCE_PATH: &str = "/v1/user/balance";
/// The longest prompt the API takes, characters.
const MAX_PROMPT_CHARS: usize = 10_000;

/// `control_strength`, 0–1.
const CONTROL_STRENGTH: Mapping = Mapping::Clamp { min: 0.0, max: 1.0 };

/// Structure control honours `controlnet_weight` only.
pub const KNOBS: Knobs = Knobs {
    init_strength: None,
    guidance_scale: None,
    controlnet_weight: Some(CONTROL_STRENGTH),
};

/// The Stability provider.
pub struct Stability {
    name: String,
    config: StabilityConfig,
    key: Secret,
    http: HttpClient,
}

/// The JSON answer of a render.
#[derive(Deserialize)]
struct RenderAnswer {
    image: Option<String>,
    finish_reason: Option<String>,
}

/// Stability's error body: `{id, name, errors}`.
#[derive(Deserialize)]
struct ErrorBody {
    name: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct Balance {
    credits: f64,
}

/// Words a failed Stability answer: the status, then the `name` and the
/// `errors` of its `{id, name, errors}` body (one line), or an excerpt of
/// a body of another shape.
pub fn read_status(status: StatusCode, body: &[u8]) -> StatusVerdict {
    let what = match status.as_u16() {
        401 => "key rejected: ",
        402 => "out of credits: ",
        403 => "refused by content moderation: ",
        413 => "the photo is too large: ",
        _ => "",
    };
    let detail = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if e.name.is_some() || !e.errors.is_empty() => {
            let name = e.name.unwrap_or_default();
            let errors = e.errors.join("; ");
            let text = match (name.is_empty(), errors.is_empty()) {
                (false, false) => format!("{name}: {errors}"),
                (false, true) => name,
                _ => errors,
            };
            format!(": {}", one_line(&crate::http::redact::scrub(&text), 240))
        }
        _ => excerpt(&String::from_utf8_lossy(body)),
    };
    let detail = if what.is_empty() {
        detail
    } else {
        format!(": {what}{}", detail.trim_start_matches(": "))
    };
    StatusVerdict {
        message: format!("HTTP {status}{}", detail.trim_end_matches(": ")),
        // An empty account does not refill by waiting.
        permanent: status == StatusCode::PAYMENT_REQUIRED,
    }
}

impl Stability {
    /// Builds the client for one configured arm.
    ///
    /// # Errors
    /// [`crate::Error::Provider`] if the HTTP client cannot start.
    pub fn new(config: StabilityConfig, key: Secret, policy: HttpPolicy) -> Result<Self> {
        let name = config.name.clone();
        Ok(Stability {
            http: HttpClient::new(&name, policy)?,
            name,
            config,
            key,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// The text fields of the multipart form, in order (the `image` part
    /// is added before them).
    pub fn fields(&self, request: &RenderRequest) -> Vec<(&'static str, String)> {
        let mut fields = vec![("prompt", request.prompt.clone())];
        if !request.negative_prompt.trim().is_empty() {
            fields.push(("negative_prompt", request.negative_prompt.clone()));
        }
        let strength = CONTROL_STRENGTH.apply(request.params.controlnet_weight);
        fields.push(("control_strength", format!("{strength}")));
        fields.push(("output_format", self.config.output_format.clone()));
        if let Some(preset) = &self.config.style_preset {
            fields.push(("style_preset", preset.clone()));
        }
        fields
    }

    async fn render_async(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> Result<RenderOutput> {
        let what = format!("POST {STRUCTURE_PATH}");
        let prompt_chars = request.prompt.chars().count();
        if request.prompt.trim().is_empty() || prompt_chars > MAX_PROMPT_CHARS {
            return Err(self.http.error(
                &what,
                format!("the prompt must be 1-{MAX_PROMPT_CHARS} characters (it has {prompt_chars}); not sent"),
            ));
        }
        progress(Stage::Uploading);
        let source = Arc::clone(&request.source);
        let max_side = self.config.max_side;
        let upload = tokio::task::spawn_blocking(move || source.upload_image(max_side))
            .await
            .map_err(|e| {
                self.http
                    .error("prepare the photo", format!("the encoder stopped: {e}"))
            })?;
        let fields = self.fields(&request);
        let url = self.url(STRUCTURE_PATH);
        progress(Stage::Generating);
        let sent = self.http.send_reading(
            &what,
            RequestKind::CreatesJob,
            || {
                let part = reqwest::multipart::Part::bytes(upload.jpeg.clone())
                    .file_name("photo.jpg")
                    .mime_str("image/jpeg")
                    .expect("image/jpeg is a valid MIME type");
                let form = fields.iter().fold(
                    reqwest::multipart::Form::new().part("image", part),
                    |form, (k, v)| form.text(*k, v.clone()),
                );
                self.http
                    .request(Method::POST, &url)
                    .bearer_auth(self.key.expose())
                    .header(reqwest::header::ACCEPT, "application/json")
                    .multipart(form)
            },
            &read_status,
        );
        let response = tokio::select! {
            response = sent => response?,
            () = request.cancel.cancelled() => {
                return Err(self.http.error(&what, "cancelled; Stability has no cancel call, so the render may still be billed"));
            }
        };
        progress(Stage::Downloading);
        let answer: RenderAnswer = self.http.read_json(&what, response).await?;
        match answer.finish_reason.as_deref() {
            Some("SUCCESS") | None => {}
            Some("CONTENT_FILTERED") => {
                return Err(self.http.error(
                    &what,
                    "the render was blocked by content moderation (finish_reason CONTENT_FILTERED)",
                ));
            }
            Some(other) => {
                return Err(self.http.error(
                    &what,
                    format!(
                        "the render did not finish (finish_reason {})",
                        one_line(other, 40)
                    ),
                ));
            }
        }
        let encoded = answer
            .image
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| self.http.error(&what, "the answer has no image"))?;
        let bytes = BASE64
            .decode(encoded.trim())
            .map_err(|_| self.http.error(&what, "the image is not valid base64"))?;
        decoded_output(&self.name, &what, bytes, self.config.price_per_image)
    }

    async fn check_async(&self) -> Vec<Check> {
        let http = self.http.for_checks();
        let what = format!("GET {BALANCE_PATH}");
        let url = self.url(BALANCE_PATH);
        let answer = http
            .send_reading(
                &what,
                RequestKind::Idempotent,
                || {
                    http.request(Method::GET, &url)
                        .bearer_auth(self.key.expose())
                },
                &read_status,
            )
            .await;
        let check = match answer {
            Ok(response) => match http.read_json::<Balance>(&what, response).await {
                Ok(balance) => Check {
                    what: what.clone(),
                    ok: true,
                    detail: format!("key accepted; {} credits left", balance.credits),
                },
                Err(e) => Check::failed(&what, e),
            },
            Err(e) => Check::failed(&what, e),
        };
        vec![check]
    }
}

remote_image_provider!(
    Stability,
    |arm| name: &arm.name,
    max_side: arm.config.max_side,
    knobs: KNOBS,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_read_as_their_name_and_errors_on_one_line() {
        let body = br#"{"errors":["content-type: must be multipart/form-data"],"id":"21c6b4","name":"bad_request"}"#;
        let v = read_status(StatusCode::BAD_REQUEST, body);
        assert_eq!(
            v.message,
            "HTTP 400 Bad Request: bad_request: content-type: must be multipart/form-data"
        );
        assert!(!v.permanent);
        let v = read_status(
            StatusCode::PAYMENT_REQUIRED,
            br#"{"id":"a","name":"payment_required","errors":["lacking credits"]}"#,
        );
        assert_eq!(
            v.message,
            "HTTP 402 Payment Required: out of credits: payment_required: lacking credits"
        );
        assert!(v.permanent);
        let v = read_status(
            StatusCode::FORBIDDEN,
            br#"{"name":"content_moderation","errors":["Your request was flagged"]}"#,
        );
        assert!(
            v.message
                .contains("content moderation: content_moderation: Your request was flagged"),
            "{}",
            v.message
        );
        let v = read_status(StatusCode::INTERNAL_SERVER_ERROR, b"");
        assert_eq!(v.message, "HTTP 500 Internal Server Error");
        let v = read_status(StatusCode::UNAUTHORIZED, b"not json");
        assert_eq!(v.message, "HTTP 401 Unauthorized: key rejected: not json");
    }
}
