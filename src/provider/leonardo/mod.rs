//! Leonardo.Ai REST v1: the photo goes up as an init image through a
//! presigned S3 upload, an image-to-image generation (optionally with one
//! Edge/Depth ControlNet on the same image) is started, polled until it is
//! done, and its image fetched from Leonardo's CDN.
//!
//! Parameter mapping (the optimizer's meaning is the same everywhere):
//!
//! | optimizer | Leonardo field | mapping |
//! |---|---|---|
//! | `init_strength` (how far from the photo) | `init_strength` | **inverted**: `1 − value`, clamped to 0.1–0.9 (Leonardo's higher = closer to the photo) |
//! | `guidance_scale` | `guidance_scale` | same value, clamped to 1–20 |
//! | `controlnet_weight` | `controlnets[0].weight` | same value, clamped to 0–2, a JSON number |
//!
//! Always sent: `modelId`, `width`/`height` (the uploaded photo's size:
//! longest side `max_side`, multiples of 8), `num_images: 1` (the API's
//! default is 4, billed), `num_inference_steps`, `alchemy` (the API's
//! default is on, billed). `structure` picks `init_image_id` +
//! `init_strength`, the ControlNet (`initImageType: "UPLOADED"`,
//! `preprocessorId`), or both; whether SDXL models accept both is
//! unconfirmed, hence the setting.
//!
//! Calls and safety:
//! * The API key goes only to the API (`Authorization: Bearer`); the S3
//!   upload and the CDN download get no credentials. The upload's form
//!   fields hold a signed policy: they are never logged or put in errors.
//! * `POST /generations` starts billed work: after a timeout it is not sent
//!   again. Leonardo has no cancel call, so a render abandoned by Ctrl-C or
//!   the deadline may still finish and be billed; errors say so.
//! * Leonardo reports errors as `{"error","path","code"}`, sometimes with a
//!   2xx status: any answer with a top-level `error` is an error.
//! * The photo is uploaded once per photo, not once per variant: the
//!   variants of one photo share the init image id
//!   ([`super::SourcePhoto::remote_id`]).
//! * Cost: `sdGenerationJob.cost` when its unit is `DOLLARS`, else the
//!   configured `price_per_image`, else unknown.

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::error_detail as provider_message;
use super::{Check, ProgressFn, RenderOutput, RenderRequest, Secret, Stage, UploadImage};
use crate::config::{LeonardoConfig, LeonardoStructure};
use crate::domain::{Knobs, Mapping, Params};
use crate::error::{Error, Result};
use crate::http::one_line;
use crate::http::{HttpClient, HttpPolicy, PollSchedule, RequestKind, StatusVerdict, WaitEnd};

mod answers;

use answers::{
    CreateAnswer, Generation, InitImageAnswer, KEY_REJECTED, PollAnswer, UploadTarget, api_error,
    decode_fields, dollars, host_of, s3_error_detail,
};

/// The Leonardo.Ai provider.
pub struct Leonardo {
    config: LeonardoConfig,
    key: Secret,
    http: HttpClient,
}

impl Leonardo {
    /// Builds the client. `policy` applies per request (the whole render is
    /// bounded by the config's `timeout_secs`).
    ///
    /// # Errors
    /// [`Error::Provider`] if the HTTP client cannot start.
    pub fn new(config: LeonardoConfig, key: Secret, policy: HttpPolicy) -> Result<Self> {
        let http = HttpClient::new(&config.name, policy)?;
        Ok(Leonardo { config, key, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// The `POST /generations` body for a photo uploaded as `init_image_id`
    /// at `width × height`.
    pub fn generation_body(
        &self,
        request: &RenderRequest,
        init_image_id: &str,
        width: u32,
        height: u32,
    ) -> serde_json::Value {
        let p: Params = request.params;
        let c = &self.config;
        let mut body = serde_json::json!({
            "prompt": request.prompt,
            "modelId": c.model_id,
            "width": width,
            "height": height,
            "num_images": 1,
            "guidance_scale": GUIDANCE.apply(p.guidance_scale),
            "num_inference_steps": c.steps,
            "alchemy": c.alchemy,
        });
        if !request.negative_prompt.trim().is_empty() {
            body["negative_prompt"] = request.negative_prompt.clone().into();
        }
        let init = matches!(
            c.structure,
            LeonardoStructure::InitAndControlnet | LeonardoStructure::InitOnly
        );
        let controlnet = matches!(
            c.structure,
            LeonardoStructure::InitAndControlnet | LeonardoStructure::ControlnetOnly
        );
        if init {
            body["init_image_id"] = init_image_id.into();
            body["init_strength"] = leonardo_init_strength(p.init_strength).into();
        }
        if controlnet {
            body["controlnets"] = serde_json::json!([{
                "initImageId": init_image_id,
                "initImageType": "UPLOADED",
                "preprocessorId": c.preprocessor_id,
                "weight": CONTROLNET_WEIGHT.apply(p.controlnet_weight),
            }]);
        }
        body
    }

    async fn render_async(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> Result<RenderOutput> {
        // The deadline covers the whole render, upload to download: every
        // call below, retries included, ends by it.
        let timeout = Duration::from_secs(self.config.timeout_secs);
        let mut schedule = PollSchedule::new(
            Duration::from_secs_f64(self.config.poll_interval_secs),
            timeout,
        );
        let http = self.http.until(tokio::time::Instant::now() + timeout);
        let cancel = request.cancel.clone();
        progress(Stage::Uploading);
        let source = Arc::clone(&request.source);
        let max_side = self.config.max_side;
        let image = tokio::task::spawn_blocking(move || source.upload_image(max_side))
            .await
            .map_err(|e| self.http.error("prepare the photo", e))?;
        let not_started = || {
            self.http
                .error("render", "cancelled before the generation was started")
        };
        // Once per photo: the variants share the uploaded init image (the
        // first to get here uploads, the others wait for its id).
        let slot = request.source.remote_id(&self.config.name);
        let upload_once = slot.get_or_try_init(|| async {
            let target = self.init_image(&http).await?;
            self.upload(&http, &target, &image).await?;
            Ok::<_, Error>(target.id)
        });
        let init_id = until_cancelled(&cancel, upload_once, not_started)
            .await?
            .clone();

        progress(Stage::Queued);
        let (generation_id, cost) = until_cancelled(
            &cancel,
            self.create(&http, &request, &init_id, &image),
            || {
                self.http.error(
                    "POST /generations",
                    "cancelled while the generation was being created; it may still run and be billed",
                )
            },
        )
        .await?;
        tracing::info!(provider = %self.config.name, generation = %generation_id, "generation started");

        let what = format!("GET /generations/{generation_id}");
        let cancelled = || {
            self.http.error(
                &what,
                format!(
                    "cancelled; Leonardo has no cancel call, so generation {generation_id} may still finish and be billed"
                ),
            )
        };
        let mut generating = false;
        loop {
            // A wait that ends at the deadline leaves no time for a poll.
            let waited = match schedule.wait(&cancel).await {
                Ok(()) if schedule.expired() => Err(WaitEnd::TimedOut),
                other => other,
            };
            match waited {
                Ok(()) => {}
                Err(WaitEnd::Cancelled) => return Err(cancelled()),
                Err(WaitEnd::TimedOut) => {
                    return Err(self.http.error(
                        &what,
                        format!(
                            "generation {generation_id} not finished after {} s (timeout_secs); it may still finish and be billed",
                            self.config.timeout_secs
                        ),
                    ));
                }
            }
            let generation =
                until_cancelled(&cancel, self.poll(&http, &generation_id, &what), cancelled)
                    .await?;
            match generation.status.as_str() {
                "COMPLETE" => {
                    let url = generation
                        .generated_images
                        .into_iter()
                        .find_map(|i| i.url.filter(|u| !u.trim().is_empty()))
                        .ok_or_else(|| {
                            self.http.error(
                                &what,
                                format!(
                                    "generation {generation_id} is COMPLETE but lists no image"
                                ),
                            )
                        })?;
                    if !matches!(reqwest::Url::parse(&url), Ok(u) if matches!(u.scheme(), "http" | "https"))
                    {
                        return Err(self.http.error(
                            &what,
                            format!("generation {generation_id}'s image URL is not an http(s) URL"),
                        ));
                    }
                    progress(Stage::Downloading);
                    // The CDN gets no key.
                    return until_cancelled(
                        &cancel,
                        super::download::download_image(&http, &url, None, cost),
                        || self.http.error("download the render", "cancelled"),
                    )
                    .await;
                }
                "FAILED" => {
                    return Err(self.http.error(
                        &what,
                        format!("generation {generation_id} failed (Leonardo gives no reason)"),
                    ));
                }
                "PENDING" => {
                    if !generating {
                        progress(Stage::Generating);
                        generating = true;
                    }
                }
                other => {
                    tracing::debug!(provider = %self.config.name, generation = %generation_id, status = other, "unknown status; still waiting");
                }
            }
        }
    }

    /// `POST /init-image`: where to upload the photo.
    async fn init_image(&self, http: &HttpClient) -> Result<UploadTarget> {
        let what = "POST /init-image";
        let url = self.url("/init-image");
        let body = serde_json::json!({ "extension": "jpg" });
        let response = http
            .send(what, RequestKind::Idempotent, || {
                http.request(Method::POST, &url)
                    .bearer_auth(self.key.expose())
                    .json(&body)
            })
            .await?;
        let answer: InitImageAnswer = self.read_api_json(what, response).await?;
        let upload = answer
            .upload
            .ok_or_else(|| self.http.error(what, "the answer has no uploadInitImage"))?;
        let fields = decode_fields(&upload.fields).ok_or_else(|| {
            self.http.error(
                what,
                "uploadInitImage.fields is not a JSON object (or a JSON string holding one)",
            )
        })?;
        if upload.id.trim().is_empty() || reqwest::Url::parse(&upload.url).is_err() {
            return Err(self
                .http
                .error(what, "uploadInitImage has no id or no valid upload URL"));
        }
        Ok(UploadTarget {
            id: upload.id,
            url: upload.url,
            fields,
        })
    }

    /// The presigned S3 upload: `multipart/form-data` with every field as a
    /// text part and the JPEG as `file`, last; no credentials of ours.
    /// Posting the same object again is harmless, so failures that may be
    /// passing (429, 5xx, connection, timeout) are retried.
    async fn upload(
        &self,
        http: &HttpClient,
        target: &UploadTarget,
        image: &UploadImage,
    ) -> Result<()> {
        let what = format!("upload the photo to {}", host_of(&target.url));
        let file = || {
            reqwest::multipart::Part::bytes(image.jpeg.clone())
                .file_name("photo.jpg")
                .mime_str("image/jpeg")
        };
        // Checked once so that the builder below cannot fail.
        file().map_err(|e| http.error(&what, e))?;
        let read_status = |status: StatusCode, body: &[u8]| StatusVerdict {
            message: format!(
                "HTTP {status}{}",
                s3_error_detail(&String::from_utf8_lossy(body), target)
            ),
            permanent: false,
        };
        http.send_reading(
            &what,
            RequestKind::Idempotent,
            || {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in &target.fields {
                    form = form.text(name.clone(), value.clone());
                }
                if let Ok(part) = file() {
                    form = form.part("file", part);
                }
                http.request(Method::POST, &target.url).multipart(form)
            },
            &read_status,
        )
        .await
        .map(drop)
    }

    /// `POST /generations`: the job id and its cost in dollars, if known.
    async fn create(
        &self,
        http: &HttpClient,
        request: &RenderRequest,
        init_image_id: &str,
        image: &UploadImage,
    ) -> Result<(String, Option<f64>)> {
        let what = "POST /generations";
        let url = self.url("/generations");
        let body = self.generation_body(request, init_image_id, image.width, image.height);
        let response = http
            .send(what, RequestKind::CreatesJob, || {
                http.request(Method::POST, &url)
                    .bearer_auth(self.key.expose())
                    .json(&body)
            })
            .await?;
        let answer: CreateAnswer = self.read_api_json(what, response).await?;
        let job = answer
            .job
            .ok_or_else(|| self.http.error(what, "the answer has no sdGenerationJob"))?;
        // It goes into a URL path: a UUID in practice.
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if job.id.is_empty() || job.id.len() > 100 || !job.id.chars().all(plain) {
            return Err(self
                .http
                .error(what, "sdGenerationJob.generationId is missing or not an id"));
        }
        let cost = job
            .cost
            .as_ref()
            .and_then(dollars)
            .or(self.config.price_per_image);
        Ok((job.id, cost))
    }

    /// One `GET /generations/{id}`; `what` names it in errors.
    async fn poll(&self, http: &HttpClient, id: &str, what: &str) -> Result<Generation> {
        let url = self.url(&format!("/generations/{id}"));
        let response = http
            .send(what, RequestKind::Idempotent, || {
                http.request(Method::GET, &url)
                    .bearer_auth(self.key.expose())
            })
            .await?;
        let answer: PollAnswer = self.read_api_json(what, response).await?;
        answer.generations_by_pk.ok_or_else(|| {
            self.http.error(
                what,
                "Leonardo does not know this generation (generations_by_pk is null)",
            )
        })
    }

    /// Reads a bounded JSON answer, turning a top-level `error` (which
    /// Leonardo may send with a 2xx status) into an error.
    async fn read_api_json<T: DeserializeOwned>(
        &self,
        what: &str,
        response: reqwest::Response,
    ) -> Result<T> {
        let bytes = self.http.read_limited(what, response).await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            self.http
                .error(what, format!("malformed JSON answer ({e})"))
        })?;
        if let Some(message) = api_error(&value) {
            return Err(self.http.error(what, message));
        }
        serde_json::from_value(value).map_err(|e| {
            self.http
                .error(what, format!("unexpected JSON answer ({e})"))
        })
    }

    async fn check_async(&self) -> Vec<Check> {
        let what = "GET /me";
        let url = self.url("/me");
        let outcome = self
            .http
            .request(Method::GET, &url)
            .bearer_auth(self.key.expose())
            .send()
            .await;
        let result: std::result::Result<(), String> = match outcome {
            Err(e) if e.is_timeout() => Err("timed out".into()),
            Err(e) if e.is_connect() => Err("cannot connect".into()),
            Err(_) => Err("the connection failed".into()),
            Ok(response) => {
                let status = response.status();
                if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                    Err(format!(
                        "key rejected (HTTP {status}); check {}",
                        self.config.api_key_env
                    ))
                } else if !status.is_success() {
                    let body = self
                        .http
                        .read_limited(what, response)
                        .await
                        .unwrap_or_default();
                    let message = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| api_error(&v))
                        .unwrap_or_else(|| one_line(&String::from_utf8_lossy(&body), 200));
                    Err(format!("HTTP {status}: {message}"))
                } else {
                    match self.http.read_limited(what, response).await {
                        Err(e) => Err(provider_message(e)),
                        Ok(body) => match serde_json::from_slice::<serde_json::Value>(&body) {
                            Err(_) => Err("the answer is not JSON".into()),
                            Ok(value) => match api_error(&value) {
                                None => Ok(()),
                                Some(message) => match message.strip_suffix(KEY_REJECTED) {
                                    Some(reason) => Err(format!(
                                        "key rejected ({reason}); check {}",
                                        self.config.api_key_env
                                    )),
                                    None => Err(message),
                                },
                            },
                        },
                    }
                }
            }
        };
        vec![match result {
            Ok(()) => Check {
                what: what.into(),
                ok: true,
                detail: "key accepted".into(),
            },
            Err(detail) => Check {
                what: what.into(),
                ok: false,
                detail,
            },
        }]
    }
}

/// Leonardo's `init_strength` for the optimizer's: Leonardo's points the
/// other way (higher = closer to the photo) and allows 0.1–0.9.
pub fn leonardo_init_strength(optimizer_init_strength: f64) -> f64 {
    INIT_STRENGTH.apply(optimizer_init_strength)
}

/// `init_strength`: `1 − value` (rounded to six decimals, so 0.35 sends
/// 0.65, not 0.6500000000000001), clamped to 0.1–0.9.
const INIT_STRENGTH: Mapping = Mapping::Affine {
    from: 0.0,
    to: 1.0,
    scale: -1.0,
    min: 0.1,
    max: 0.9,
};
/// `guidance_scale`, 1–20.
const GUIDANCE: Mapping = Mapping::Clamp {
    min: 1.0,
    max: 20.0,
};
/// `controlnets[0].weight`, 0–2.
const CONTROLNET_WEIGHT: Mapping = Mapping::Clamp { min: 0.0, max: 2.0 };

/// The knobs a Leonardo arm honours: `guidance_scale` always,
/// `init_strength` when the init image is sent, `controlnet_weight` when
/// the ControlNet is.
pub fn knobs(structure: LeonardoStructure) -> Knobs {
    let init = !matches!(structure, LeonardoStructure::ControlnetOnly);
    let controlnet = !matches!(structure, LeonardoStructure::InitOnly);
    Knobs {
        init_strength: init.then_some(INIT_STRENGTH),
        guidance_scale: Some(GUIDANCE),
        controlnet_weight: controlnet.then_some(CONTROLNET_WEIGHT),
    }
}

/// Runs `work` unless `cancel` fires first.
async fn until_cancelled<T>(
    cancel: &CancellationToken,
    work: impl Future<Output = Result<T>>,
    on_cancel: impl FnOnce() -> Error,
) -> Result<T> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(on_cancel()),
        result = work => result,
    }
}

remote_image_provider!(
    Leonardo,
    |arm| name: &arm.config.name,
    max_side: arm.config.max_side,
    knobs: knobs(arm.config.structure),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_strength_is_inverted_and_clamped() {
        assert_eq!(leonardo_init_strength(0.35), 0.65);
        assert_eq!(leonardo_init_strength(0.5), 0.5);
        assert_eq!(leonardo_init_strength(0.0), 0.9);
        assert_eq!(leonardo_init_strength(0.95), 0.1);
    }
}
