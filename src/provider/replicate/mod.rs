//! Replicate: Stable Diffusion img2img + ControlNet models run as
//! predictions (`adirik/interior-design` by default, or
//! `fofr/sdxl-multi-controlnet-lora`).
//!
//! One render:
//!
//! 1. The photo is scaled to `max_side` and encoded as JPEG on a blocking
//!    thread. When its data URI is at most `inline_max_kib` KiB it is sent inline as a
//!    `data:image/jpeg;base64,…` URI; a larger one goes to `POST /files`
//!    (multipart part `content`) and the file's `urls.get` is the input.
//! 2. `POST /predictions` with `version`, or
//!    `POST /models/{owner}/{name}/predictions` for an official model, with
//!    `Prefer: wait=N` (short renders finish within the call) and
//!    `Cancel-After: <timeout_secs>s` (an abandoned prediction stops on
//!    Replicate's side). The create call starts paid work: it is repeated
//!    only when Replicate said it did not take it (429, a 503 with the
//!    API's own `Retry-After`, a refused connection), never after another
//!    5xx, a gateway's 502/504, a timeout or a dropped connection.
//! 3. Unless the answer is already terminal, the prediction is polled at
//!    `urls.get` (only when that is on the API's origin, else at
//!    `/predictions/{id}`) until `succeeded`, `failed`, `canceled` or
//!    `aborted`: a file output may appear while the status is still
//!    `processing`.
//! 4. The first output URL is downloaded at once (Replicate deletes outputs
//!    after an hour), with the token only when the URL is on the API's
//!    origin.
//!
//! On the overall timeout, on Ctrl-C, or when polling gives up, the
//! prediction is cancelled with `POST /predictions/{id}/cancel` (best
//! effort; `Cancel-After` is the backstop). Ctrl-C while the create call is
//! still open abandons it: its id is not known yet, so only `Cancel-After`
//! can stop it.
//!
//! Parameter mapping (the optimizer's meaning is the same everywhere):
//!
//! | optimizer | `interior-design` input | `sdxl-multi-controlnet` input | mapping |
//! |---|---|---|---|
//! | `init_strength` (how far from the photo) | `prompt_strength` | `prompt_strength` | same direction, clamped to 0–1 |
//! | `guidance_scale` | `guidance_scale` | `guidance_scale` | same value, clamped to 1–50 |
//! | `controlnet_weight` | not sent: the model's segmentation/MLSD scales are fixed inside it | `controlnet_1_conditioning_scale` | same value, clamped to 0–4 |
//! | config `steps` | `num_inference_steps` | `num_inference_steps` | as configured |
//!
//! Both schemas also get `image`, `prompt` and `negative_prompt` (omitted
//! when empty, so the model's own default applies). The SDXL schema adds
//! `num_outputs: 1`, `sizing_strategy: "input_image"`,
//! `controlnet_1: "edge_canny"` and `controlnet_1_image` (the same photo).
//! `extra_input` entries are merged last and override those fixed choices
//! (e.g. `controlnet_1 = "depth_midas"`, `scheduler`, `seed`); the config
//! refuses the keys latina derives from the photo, prompts, optimizer or
//! `steps` ([`crate::config::REPLICATE_RESERVED_INPUTS`]).
//!
//! The FLUX schemas (official `black-forest-labs/*` models) map the
//! parameters differently: see [`flux`].
//!
//! Cost: `price_per_second × metrics.predict_time` plus `price_per_image`,
//! whichever are configured; unknown (`None`) when neither is, or when
//! `price_per_second` is set but Replicate reported no `predict_time`.
//!
//! Errors are one line naming the call, e.g. `POST /predictions: HTTP 422
//! Unprocessable Entity: Invalid version or not permitted`; the token and
//! any data URI are scrubbed from them.

mod flux;
/// How an inline photo starts.
mod prediction;

use prediction::{
    FileObject, Prediction, Status, is_http_url, output_url, reason, scrub, valid_id,
};

const DATA_URI_PREFIX: &str = "data:image/jpeg;base64,";

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Method;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    Check, ProgressFn, RenderOutput, RenderRequest, Secret, Stage, UploadImage, decoded_output,
};
use crate::config::{ReplicateConfig, ReplicateSchema};
use crate::domain::{Knobs, Mapping};
use crate::error::{Error, Result};
use crate::http::{
    HttpClient, HttpPolicy, PollSchedule, RequestKind, WaitEnd, excerpt, one_line, same_origin,
};

/// Added to `Prefer: wait=N` for the create call's timeout (or the policy's
/// request timeout, if shorter).
const CREATE_MARGIN: Duration = Duration::from_secs(10);
/// How long the best-effort cancel call may take.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// SD `prompt_strength`, 0–1.
const PROMPT_STRENGTH: Mapping = Mapping::Clamp { min: 0.0, max: 1.0 };
/// SD `guidance_scale`, 1–50.
const GUIDANCE_SCALE: Mapping = Mapping::Clamp {
    min: 1.0,
    max: 50.0,
};
/// SDXL `controlnet_1_conditioning_scale`, 0–4.
const CONDITIONING_SCALE: Mapping = Mapping::Clamp { min: 0.0, max: 4.0 };

/// The knobs a schema honours: `interior-design` has no ControlNet scale
/// input, the SDXL schema all three, the FLUX ones as [`flux::knobs`].
pub fn knobs(schema: ReplicateSchema) -> Knobs {
    match schema {
        ReplicateSchema::InteriorDesign => Knobs {
            init_strength: Some(PROMPT_STRENGTH),
            guidance_scale: Some(GUIDANCE_SCALE),
            controlnet_weight: None,
        },
        ReplicateSchema::SdxlMultiControlnet => Knobs {
            init_strength: Some(PROMPT_STRENGTH),
            guidance_scale: Some(GUIDANCE_SCALE),
            controlnet_weight: Some(CONDITIONING_SCALE),
        },
        flux_schema => flux::knobs(flux_schema),
    }
}

/// The Replicate provider.
pub struct Replicate {
    name: String,
    config: ReplicateConfig,
    token: Secret,
    /// Uploads, polls, cancels, downloads: the policy as given.
    api: HttpClient,
    /// The create call: the policy with a timeout of `Prefer: wait` + margin.
    create: HttpClient,
}

/// Why waiting for a prediction stopped early.
enum Stop {
    Cancelled,
    TimedOut,
    Failed(Error),
}

impl From<WaitEnd> for Stop {
    fn from(end: WaitEnd) -> Self {
        match end {
            WaitEnd::Cancelled => Stop::Cancelled,
            WaitEnd::TimedOut => Stop::TimedOut,
        }
    }
}

impl Replicate {
    /// Builds the client for one configured arm.
    ///
    /// # Errors
    /// [`Error::Provider`] if the HTTP client cannot start.
    pub fn new(config: ReplicateConfig, token: Secret, policy: HttpPolicy) -> Result<Self> {
        let name = config.name.clone();
        let wait = Duration::from_secs(prefer_wait(&config));
        let create_policy = HttpPolicy {
            request_timeout: wait + CREATE_MARGIN.min(policy.request_timeout),
            ..policy.clone()
        };
        Ok(Replicate {
            api: HttpClient::new(&name, policy)?,
            create: HttpClient::new(&name, create_policy)?,
            name,
            config,
            token,
        })
    }

    /// The model inputs for one render whose photo is at `image` (a data
    /// URI or a file URL). See the module docs for the mapping.
    pub fn input(&self, request: &RenderRequest, image: &str) -> Map<String, Value> {
        if self.config.schema.is_flux() {
            let mut input = flux::input(self.config.schema, self.config.steps, request, image);
            for (key, value) in &self.config.extra_input {
                input.insert(key.clone(), value.clone());
            }
            return input;
        }
        let p = request.params;
        let mut input = Map::new();
        input.insert("image".into(), image.into());
        input.insert("prompt".into(), request.prompt.clone().into());
        if !request.negative_prompt.trim().is_empty() {
            input.insert(
                "negative_prompt".into(),
                request.negative_prompt.clone().into(),
            );
        }
        input.insert(
            "prompt_strength".into(),
            PROMPT_STRENGTH.apply(p.init_strength).into(),
        );
        input.insert(
            "guidance_scale".into(),
            GUIDANCE_SCALE.apply(p.guidance_scale).into(),
        );
        input.insert("num_inference_steps".into(), self.config.steps.into());
        match self.config.schema {
            ReplicateSchema::InteriorDesign
            | ReplicateSchema::FluxKontextPro
            | ReplicateSchema::FluxDepthPro
            | ReplicateSchema::FluxCannyPro
            | ReplicateSchema::FluxDev => {}
            ReplicateSchema::SdxlMultiControlnet => {
                input.insert("num_outputs".into(), 1.into());
                input.insert("sizing_strategy".into(), "input_image".into());
                input.insert("controlnet_1".into(), "edge_canny".into());
                input.insert("controlnet_1_image".into(), image.into());
                input.insert(
                    "controlnet_1_conditioning_scale".into(),
                    CONDITIONING_SCALE.apply(p.controlnet_weight).into(),
                );
            }
        }
        for (key, value) in &self.config.extra_input {
            input.insert(key.clone(), value.clone());
        }
        input
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn authed(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder.bearer_auth(self.token.expose())
    }

    /// The photo as the model's `image` input: inline or uploaded.
    async fn image_input(&self, request: &RenderRequest) -> Result<String> {
        let source = Arc::clone(&request.source);
        let max_side = self.config.max_side;
        let upload = tokio::task::spawn_blocking(move || source.upload_image(max_side))
            .await
            .map_err(|e| {
                self.api
                    .error("prepare the photo", format!("the encoder stopped: {e}"))
            })?;
        // The limit applies to what is sent: base64 makes the URI a third larger.
        let uri_len = DATA_URI_PREFIX.len() as u64 + (upload.jpeg.len() as u64).div_ceil(3) * 4;
        if uri_len <= u64::from(self.config.inline_max_kib) * 1024 {
            Ok(format!("{DATA_URI_PREFIX}{}", BASE64.encode(&upload.jpeg)))
        } else {
            self.upload_file(&upload).await
        }
    }

    /// `POST /files`: a duplicate upload after a retry costs nothing, so the
    /// call is safe to repeat.
    async fn upload_file(&self, upload: &UploadImage) -> Result<String> {
        let what = "POST /files";
        let url = self.url("/files");
        let response = self
            .api
            .send(what, RequestKind::Idempotent, || {
                let part = reqwest::multipart::Part::bytes(upload.jpeg.clone())
                    .file_name("photo.jpg")
                    .mime_str("image/jpeg")
                    .expect("image/jpeg is a valid MIME type");
                let form = reqwest::multipart::Form::new().part("content", part);
                self.authed(self.api.request(Method::POST, &url))
                    .multipart(form)
            })
            .await?;
        let file: FileObject = self.api.read_json(what, response).await?;
        file.urls
            .and_then(|u| u.get)
            .filter(|u| is_http_url(u))
            .ok_or_else(|| {
                self.api
                    .error(what, "the answer has no file URL (urls.get)")
            })
    }

    /// Creates the prediction, waiting up to `Prefer: wait` for it.
    async fn create(&self, input: Map<String, Value>) -> Result<Prediction> {
        let (path, version) = self.config.create_target();
        let what = format!("POST {path}");
        let url = self.url(&path);
        let mut body = Map::new();
        if let Some(version) = version {
            body.insert("version".into(), version.into());
        }
        body.insert("input".into(), Value::Object(input));
        let body = Value::Object(body);
        let prefer = format!("wait={}", prefer_wait(&self.config));
        let cancel_after = format!("{}s", self.config.timeout_secs);
        let response = self
            .create
            .send(&what, RequestKind::CreatesJob, || {
                self.authed(self.create.request(Method::POST, &url))
                    .header("Prefer", &prefer)
                    .header("Cancel-After", &cancel_after)
                    .json(&body)
            })
            .await?;
        let prediction: Prediction = self.create.read_json(&what, response).await?;
        if !valid_id(&prediction.id) {
            return Err(self
                .create
                .error(&what, "the answer has no usable prediction id"));
        }
        tracing::info!(provider = %self.name, prediction = %prediction.id, status = %prediction.status, "prediction created");
        Ok(prediction)
    }

    async fn get_prediction(&self, what: &str, url: &str) -> Result<Prediction> {
        let response = self
            .api
            .send(what, RequestKind::Idempotent, || {
                self.authed(self.api.request(Method::GET, url))
            })
            .await?;
        self.api.read_json(what, response).await
    }

    /// Polls until the prediction is terminal; cancels it when the wait
    /// ends early.
    async fn wait_for(
        &self,
        mut prediction: Prediction,
        cancel: &CancellationToken,
        deadline: Instant,
        progress: &ProgressFn,
    ) -> Result<Prediction> {
        let id = prediction.id.clone();
        let what = format!("GET /predictions/{id}");
        let poll_url = match prediction.urls.as_ref().and_then(|u| u.get.as_deref()) {
            Some(get) if same_origin(get, &self.config.base_url) => get.to_string(),
            _ => self.url(&format!("/predictions/{id}")),
        };
        let mut schedule = PollSchedule::new(
            Duration::from_secs_f64(self.config.poll_interval_secs),
            deadline.saturating_duration_since(Instant::now()),
        );
        let mut generating = false;
        loop {
            let status = Status::of(&prediction.status);
            if status.is_terminal() {
                return Ok(prediction);
            }
            if status == Status::Processing && !generating {
                generating = true;
                progress(Stage::Generating);
            }
            if status == Status::Other {
                tracing::debug!(provider = %self.name, prediction = %id, status = %prediction.status, "unknown status; still waiting");
            }
            let polled = match schedule.wait(cancel).await {
                Err(end) => Err(Stop::from(end)),
                // A wait that ends at the deadline leaves no time for a poll.
                Ok(()) if schedule.expired() => Err(Stop::TimedOut),
                Ok(()) => tokio::select! {
                    polled = self.get_prediction(&what, &poll_url) => polled.map_err(Stop::Failed),
                    () = cancel.cancelled() => Err(Stop::Cancelled),
                    () = tokio::time::sleep_until(deadline) => Err(Stop::TimedOut),
                },
            };
            match polled {
                Ok(next) => prediction = next,
                Err(stop) => {
                    let cancelled = self.cancel_prediction(&id).await;
                    let note = if cancelled {
                        "asked Replicate to cancel it".to_string()
                    } else {
                        format!(
                            "could not cancel it; Replicate stops it {} s after it was created",
                            self.config.timeout_secs
                        )
                    };
                    let subject = format!("prediction {id}");
                    return Err(match stop {
                        Stop::Cancelled => self.api.error(&subject, format!("cancelled; {note}")),
                        Stop::TimedOut => self.api.error(
                            &subject,
                            format!(
                                "no result after {} s (last status {}); {note}",
                                self.config.timeout_secs,
                                one_line(&prediction.status, 40)
                            ),
                        ),
                        Stop::Failed(Error::Provider { provider, message }) => Error::Provider {
                            provider,
                            message: format!("{message}; {note}"),
                        },
                        Stop::Failed(other) => other,
                    });
                }
            }
        }
    }

    /// Best effort: returns whether Replicate accepted the cancel.
    async fn cancel_prediction(&self, id: &str) -> bool {
        let url = self.url(&format!("/predictions/{id}/cancel"));
        let sent = self
            .authed(self.api.request(Method::POST, &url))
            .timeout(CANCEL_TIMEOUT)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(provider = %self.name, prediction = id, status = %response.status(), "cancel refused");
                false
            }
            Err(e) => {
                tracing::warn!(provider = %self.name, prediction = id, error = %e.without_url(), "cancel not delivered");
                false
            }
        }
    }

    /// Dollars for a finished prediction, per the configured prices.
    fn cost(&self, prediction: &Prediction) -> Option<f64> {
        let timed = match self.config.price_per_second {
            None => None,
            Some(rate) => {
                let seconds = prediction
                    .metrics
                    .get("predict_time")
                    .and_then(Value::as_f64)
                    .filter(|s| s.is_finite() && *s >= 0.0);
                match seconds {
                    Some(s) => Some(rate * s),
                    None => {
                        tracing::warn!(provider = %self.name, prediction = %prediction.id, "no metrics.predict_time: cost unknown");
                        return None;
                    }
                }
            }
        };
        match (timed, self.config.price_per_image) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        }
    }

    /// Renders one variant; a message that quotes the token (a server
    /// echoing the request) has it scrubbed.
    async fn render_async(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> Result<RenderOutput> {
        self.render_unscrubbed(request, progress)
            .await
            .map_err(|e| match e {
                Error::Provider { provider, message } => Error::Provider {
                    provider,
                    message: scrub(&message, self.token.expose()),
                },
                other => other,
            })
    }

    async fn render_unscrubbed(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> Result<RenderOutput> {
        // `timeout_secs` bounds the whole render: every call below, retries
        // and waits included, ends by it.
        let deadline = Instant::now() + Duration::from_secs(self.config.timeout_secs);
        let bound = Replicate {
            name: self.name.clone(),
            config: self.config.clone(),
            token: self.token.clone(),
            api: self.api.until(deadline),
            create: self.create.until(deadline),
        };
        bound.render_by(request, progress, deadline).await
    }

    async fn render_by(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
        deadline: Instant,
    ) -> Result<RenderOutput> {
        let cancel = request.cancel.clone();
        progress(Stage::Uploading);
        let image = tokio::select! {
            image = self.image_input(&request) => image?,
            () = cancel.cancelled() => {
                return Err(self.api.error("upload the photo", "cancelled"));
            }
        };
        let input = self.input(&request, &image);
        drop(image);
        progress(Stage::Queued);
        let created = tokio::select! {
            created = self.create(input) => created?,
            () = cancel.cancelled() => {
                let (path, _) = self.config.create_target();
                return Err(self.api.error(
                    &format!("POST {path}"),
                    format!(
                        "cancelled before Replicate answered; if the prediction started, \
                         Replicate stops it {} s after it was created",
                        self.config.timeout_secs
                    ),
                ));
            }
        };
        let done = self.wait_for(created, &cancel, deadline, &progress).await?;
        let subject = format!("prediction {}", done.id);
        match Status::of(&done.status) {
            Status::Succeeded => {}
            Status::Failed => {
                return Err(self
                    .api
                    .error(&subject, format!("failed: {}", reason(&done.error))));
            }
            Status::Aborted => {
                return Err(self.api.error(
                    &subject,
                    "aborted before it started (its Cancel-After deadline passed)",
                ));
            }
            _ => {
                return Err(self.api.error(&subject, "was canceled on Replicate's side"));
            }
        }
        let cost = self.cost(&done);
        let url = output_url(&done.output).map_err(|m| self.api.error(&subject, m))?;
        progress(Stage::Downloading);
        tokio::select! {
            output = self.fetch(url, cost) => output,
            () = cancel.cancelled() => Err(self.api.error("download the render", "cancelled")),
        }
    }

    /// Downloads (or, for a data URI, decodes) the render.
    async fn fetch(&self, url: &str, cost: Option<f64>) -> Result<RenderOutput> {
        if let Some(data) = url.strip_prefix("data:") {
            let what = "the output";
            let encoded = data
                .split_once(";base64,")
                .map(|(_, b)| b)
                .ok_or_else(|| self.api.error(what, "a data URI that is not base64"))?;
            let bytes = BASE64
                .decode(encoded.trim())
                .map_err(|_| self.api.error(what, "a data URI that is not valid base64"))?;
            return decoded_output(&self.name, what, bytes, cost);
        }
        let auth = same_origin(url, &self.config.base_url).then_some(&self.token);
        super::download::download_image(&self.api, url, auth, cost).await
    }

    /// `owner/name` of the configured model, when the config names it.
    fn model_name(&self) -> Option<String> {
        match self.config.create_target() {
            (_, Some(version)) => version
                .split_once(':')
                .map(|(model, _)| model.to_string())
                .filter(|m| m.split('/').count() == 2),
            (_, None) => self.config.model.clone(),
        }
    }

    async fn check_async(&self) -> Vec<Check> {
        let (path, model) = match self.model_name() {
            Some(model) => (format!("/models/{model}"), Some(model)),
            None => ("/account".to_string(), None),
        };
        let what = format!("GET {path}");
        let url = self.url(&path);
        let answer = self
            .authed(self.api.request(Method::GET, &url))
            .send()
            .await;
        let (ok, detail) = match answer {
            Err(e) => (
                false,
                if e.is_timeout() {
                    format!("timed out after {:?}", self.api.policy().request_timeout)
                } else if e.is_connect() {
                    "cannot connect".to_string()
                } else {
                    "the connection failed".to_string()
                },
            ),
            Ok(response) => {
                let status = response.status();
                match (status.as_u16(), &model) {
                    (200..=299, Some(model)) => {
                        (true, format!("token accepted; model {model} found"))
                    }
                    (200..=299, None) => (
                        true,
                        "token accepted (the version is a bare id, so the model was not looked up)"
                            .to_string(),
                    ),
                    (401, _) => (false, "token rejected (HTTP 401)".to_string()),
                    (404, Some(model)) => (false, format!("model {model} not found")),
                    _ => {
                        let body = self
                            .api
                            .read_limited(&what, response)
                            .await
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        (false, format!("HTTP {status}{}", excerpt(&body)))
                    }
                }
            }
        };
        vec![Check {
            what,
            ok,
            detail: scrub(&detail, self.token.expose()),
        }]
    }
}

/// Seconds for `Prefer: wait`: the configured wait, never beyond the
/// render's whole timeout.
fn prefer_wait(config: &ReplicateConfig) -> u64 {
    u64::from(config.wait_secs).min(config.timeout_secs).max(1)
}

remote_image_provider!(
    Replicate,
    |arm| name: &arm.name,
    max_side: arm.config.max_side,
    knobs: knobs(arm.config.schema),
);
