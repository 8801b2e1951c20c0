//! Image providers: one interface, the built-in engines, and one file per
//! vendor (SD WebUI, Leonardo.Ai, Replicate, Stability AI, Black Forest Labs,
//! ComfyUI).
//!
//! A provider turns a photo, the three parameters and the prompt into a
//! render. Calls are async so that network providers can run concurrently;
//! the built-in engines do their CPU work on blocking threads.

/// The [`ImageProvider`] of a remote arm, from its inherent
/// `async fn render_async(&self, RenderRequest, ProgressFn)` and
/// `async fn check_async(&self)`: the futures boxed, doctor's checks
/// redacted ([`Check::redacted`]) and the photo scaled to the arm's
/// `max_side` before the variants start. Every HTTP arm is the same here;
/// only its name, size and knobs differ, read from the arm bound to `$arm`.
macro_rules! remote_image_provider {
    ($type:ty, |$arm:ident| name: $name:expr, max_side: $side:expr, knobs: $knobs:expr $(,)?) => {
        impl $crate::provider::ImageProvider for $type {
            fn name(&self) -> &str {
                let $arm = self;
                $name
            }

            fn upload_side(&self) -> Option<u32> {
                let $arm = self;
                Some($side)
            }

            fn knobs(&self) -> $crate::domain::Knobs {
                // Some arms declare a constant.
                #[allow(unused_variables)]
                let $arm = self;
                $knobs
            }

            fn render(
                self: std::sync::Arc<Self>,
                request: $crate::provider::RenderRequest,
                progress: $crate::provider::ProgressFn,
            ) -> $crate::provider::BoxFuture<$crate::error::Result<$crate::provider::RenderOutput>>
            {
                Box::pin(async move { self.render_async(request, progress).await })
            }

            fn check(
                self: std::sync::Arc<Self>,
            ) -> $crate::provider::BoxFuture<Vec<$crate::provider::Check>> {
                Box::pin(async move { $crate::provider::Check::redacted(self.check_async().await) })
            }
        }
    };
}

pub mod bfl;
mod builtin;
pub mod comfyui;
mod download;
mod knobs;
pub mod leonardo;
pub mod replicate;
pub mod sdwebui;
pub mod stability;
mod upload;

/// Re-exported: providers hold their keys as [`crate::http::Secret`].
pub use crate::http::Secret;
pub use builtin::BuiltinEngine;
pub use download::download_image;
pub use knobs::knobs_of;
pub use upload::UploadImage;

use image::{ImageFormat, RgbImage};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use tokio_util::sync::CancellationToken;

use crate::config::ProviderConfig;
use crate::domain::{Knobs, Params};
use crate::error::{Error, Result};
use crate::http;
use crate::imaging::{Analysis, Engine};

/// A boxed future, as returned by [`ImageProvider::render`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The photo being enhanced, shared by every variant.
pub struct SourcePhoto {
    /// Upright 8-bit RGB pixels.
    pub rgb: RgbImage,
    /// True when the photo has no colour; renders stay grey.
    pub grayscale: bool,
    /// The original file's bytes (what network providers upload).
    pub bytes: Vec<u8>,
    /// The original file's format.
    pub format: ImageFormat,
    analysis: OnceLock<Analysis>,
    uploads: Mutex<HashMap<u32, Arc<UploadImage>>>,
    remote_ids: Mutex<HashMap<String, RemoteId>>,
}

/// Where an arm keeps the id its service gave this photo once uploaded
/// (see [`SourcePhoto::remote_id`]).
pub type RemoteId = Arc<tokio::sync::OnceCell<String>>;

impl SourcePhoto {
    /// Wraps a decoded photo.
    pub fn new(rgb: RgbImage, grayscale: bool, bytes: Vec<u8>, format: ImageFormat) -> Self {
        SourcePhoto {
            rgb,
            grayscale,
            bytes,
            format,
            analysis: OnceLock::new(),
            uploads: Mutex::new(HashMap::new()),
            remote_ids: Mutex::new(HashMap::new()),
        }
    }

    /// The slot where the arm `arm` keeps the id its service gave this
    /// photo (Leonardo's init image), shared by the photo's variants so
    /// that the photo goes up once per batch, not once per variant. It
    /// stays empty until an upload succeeds: a failed or cancelled upload
    /// leaves it for the next variant to try again.
    pub fn remote_id(&self, arm: &str) -> RemoteId {
        let mut ids = self.remote_ids.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(ids.entry(arm.to_string()).or_default())
    }

    /// The built-in engines' analysis, computed on first use and shared.
    pub fn analysis(&self) -> &Analysis {
        self.analysis.get_or_init(|| Analysis::of(&self.rgb))
    }

    /// The photo scaled to fit `max_side` (never enlarged) with sides in
    /// multiples of 8, as a JPEG: what hosted providers are sent. Computed
    /// once per size and shared by the variants; CPU-bound, so call it on a
    /// blocking thread.
    pub fn upload_image(&self, max_side: u32) -> Arc<UploadImage> {
        let mut cache = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            cache
                .entry(max_side)
                .or_insert_with(|| Arc::new(UploadImage::of(&self.rgb, max_side))),
        )
    }
}

/// One render to make.
#[derive(Clone)]
pub struct RenderRequest {
    /// The photo.
    pub source: Arc<SourcePhoto>,
    /// The optimizer's parameters (provider-neutral meaning, see [`Params`]).
    pub params: Params,
    /// The positive prompt.
    pub prompt: String,
    /// The negative prompt.
    pub negative_prompt: String,
    /// JPEG quality for locally encoded renders.
    pub jpeg_quality: u8,
    /// Cancelled when the designer presses Ctrl-C: network providers stop
    /// waiting, cancel the remote job where the API can, and return an error.
    pub cancel: CancellationToken,
}

/// A finished render.
pub struct RenderOutput {
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// File extension of `bytes`, e.g. `jpg`.
    pub extension: &'static str,
    /// The decoded pixels, when the provider has them at hand.
    pub pixels: Option<RgbImage>,
    /// What the render cost in US dollars: as the API reported it, else
    /// estimated from the config's prices; `None` when unknown.
    pub cost_usd: Option<f64>,
}

/// Where a render is, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Analysing the photo (shared by all variants).
    Analysing,
    /// Sending the photo to the provider.
    Uploading,
    /// The job is accepted and waiting for a worker.
    Queued,
    /// Producing the render.
    Generating,
    /// Fetching the result.
    Downloading,
    /// Encoding the result.
    Encoding,
}

impl Stage {
    /// A short label for progress lines.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Analysing => "analysing photo",
            Stage::Uploading => "uploading",
            Stage::Queued => "queued",
            Stage::Generating => "generating",
            Stage::Downloading => "downloading",
            Stage::Encoding => "encoding",
        }
    }
}

pub use crate::domain::Check;

/// Reads the secret for `provider` from the variable `var` (registered for
/// redaction, as every [`Secret`]).
///
/// # Errors
/// [`Error::Provider`] naming the variable (never its value) when it is
/// unset or empty.
pub fn read_secret(
    provider: &str,
    var: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret> {
    match env(var) {
        Some(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim().to_string())),
        _ => Err(Error::Provider {
            provider: provider.to_string(),
            message: format!("environment variable {var} is not set (the key is read from it)"),
        }),
    }
}

/// Receives progress of one render; must be cheap and thread-safe.
pub type ProgressFn = Arc<dyn Fn(Stage) + Send + Sync>;

/// Anything that can render a variant.
pub trait ImageProvider: Send + Sync {
    /// The configured arm name.
    fn name(&self) -> &str;

    /// The longest side of the photo this provider is sent
    /// ([`SourcePhoto::upload_image`]), so that the scaling, done once per
    /// photo, can happen before the variants start; `None` for providers
    /// that use the pixels directly.
    fn upload_side(&self) -> Option<u32> {
        None
    }

    /// The knobs this arm honours and how each reaches its API (see
    /// [`Knobs`]); all three, sent as is, unless the provider says otherwise.
    fn knobs(&self) -> Knobs {
        Knobs::ALL
    }

    /// Renders one variant.
    ///
    /// # Errors
    /// [`crate::Error::Provider`] naming the provider, without secrets.
    fn render(
        self: Arc<Self>,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> BoxFuture<Result<RenderOutput>>;

    /// Cheap checks for `latina doctor`: the service is reachable and the key
    /// accepted. Built-in engines have nothing to check.
    fn check(self: Arc<Self>) -> BoxFuture<Vec<Check>> {
        Box::pin(async { Vec::new() })
    }
}

/// Builds the configured provider arms, in order. `env` looks up
/// environment variables named by the config (secrets never live in it).
///
/// # Errors
/// [`crate::Error::Provider`] when a named variable is missing or malformed,
/// or an HTTP client cannot start.
pub fn from_config(
    configs: &[ProviderConfig],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<dyn ImageProvider>>> {
    configs.iter().map(|c| build(c, env)).collect()
}

/// The configured provider arms, in order.
pub type Arms = Vec<Arc<dyn ImageProvider>>;

/// The configured arms, as [`from_config`], except that when a `fallback`
/// arm is configured, an arm that cannot be built (its key variable unset,
/// a malformed secret) does not fail the command: it becomes an arm whose
/// renders fail at once with that reason, so that the fallback renders its
/// variants. Returns the arms and the reasons of the unavailable ones.
///
/// # Errors
/// As [`from_config`] when there is no fallback, or when the fallback arm
/// itself cannot be built.
pub fn from_config_with_fallback(
    configs: &[ProviderConfig],
    env: &dyn Fn(&str) -> Option<String>,
    fallback: Option<&str>,
) -> Result<(Arms, Vec<Error>)> {
    let mut arms = Vec::with_capacity(configs.len());
    let mut unavailable = Vec::new();
    for config in configs {
        match build(config, env) {
            Ok(arm) => arms.push(arm),
            Err(e) if fallback.is_some_and(|f| f != config.name()) => {
                arms.push(Arc::new(Unavailable {
                    name: config.name().to_string(),
                    reason: error_detail(redact_error(&e)),
                }) as Arc<dyn ImageProvider>);
                unavailable.push(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok((arms, unavailable))
}

fn redact_error(e: &Error) -> Error {
    match e {
        Error::Provider { provider, message } => Error::Provider {
            provider: provider.clone(),
            message: http::redact::scrub(message),
        },
        other => Error::Provider {
            provider: String::new(),
            message: http::redact::scrub(&other.to_string()),
        },
    }
}

/// An arm that cannot render in this run (see
/// [`from_config_with_fallback`]): each render fails at once with why.
struct Unavailable {
    name: String,
    reason: String,
}

impl ImageProvider for Unavailable {
    fn name(&self) -> &str {
        &self.name
    }

    fn render(
        self: Arc<Self>,
        _request: RenderRequest,
        _progress: ProgressFn,
    ) -> BoxFuture<Result<RenderOutput>> {
        Box::pin(async move {
            Err(Error::Provider {
                provider: self.name.clone(),
                message: self.reason.clone(),
            })
        })
    }
}

/// Builds one provider arm.
///
/// # Errors
/// As [`from_config`].
pub fn build(
    config: &ProviderConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn ImageProvider>> {
    Ok(match config {
        ProviderConfig::BuiltinTone(c) => {
            Arc::new(BuiltinEngine::new(c.name.clone(), Engine::Tone))
        }
        ProviderConfig::BuiltinDetail(c) => {
            Arc::new(BuiltinEngine::new(c.name.clone(), Engine::Detail))
        }
        ProviderConfig::SdWebui(c) => {
            let basic_auth = match &c.auth_env {
                None => None,
                Some(var) => {
                    let value = read_secret(&c.name, var, env)?;
                    let (user, pass) =
                        value
                            .expose()
                            .split_once(':')
                            .ok_or_else(|| Error::Provider {
                                provider: c.name.clone(),
                                message: format!(
                                    "environment variable {var} must hold user:password"
                                ),
                            })?;
                    Some((user.to_string(), Secret::new(pass.to_string())))
                }
            };
            let settings = sdwebui::SdWebUiSettings {
                base_url: c.base_url.clone(),
                basic_auth,
                steps: c.steps,
                sampler: c.sampler.clone(),
                checkpoint: c.checkpoint.clone(),
                controlnet_module: c.controlnet_module.clone(),
                controlnet_model: c.controlnet_model.clone(),
                max_side: c.max_side,
                price_per_image: c.price_per_image,
            };
            let policy = http::HttpPolicy {
                request_timeout: std::time::Duration::from_secs(c.timeout_secs),
                ..http::HttpPolicy::default()
            };
            Arc::new(sdwebui::SdWebUi::new(c.name.clone(), settings, policy)?)
        }
        ProviderConfig::Leonardo(c) => {
            let key = read_secret(&c.name, &c.api_key_env, env)?;
            // Per request: the API answers quickly; the render as a whole is
            // bounded by `timeout_secs` while polling.
            let policy = http::HttpPolicy {
                request_timeout: std::time::Duration::from_secs(c.timeout_secs.clamp(1, 60)),
                ..http::HttpPolicy::default()
            };
            Arc::new(leonardo::Leonardo::new(c.clone(), key, policy)?)
        }
        ProviderConfig::Replicate(c) => {
            let token = read_secret(&c.name, &c.token_env, env)?;
            Arc::new(replicate::Replicate::new(
                c.clone(),
                token,
                http::HttpPolicy::default(),
            )?)
        }
        ProviderConfig::Stability(c) => {
            let key = read_secret(&c.name, &c.api_key_env, env)?;
            // Synchronous: the one call is the render, bounded by
            // `timeout_secs`. No Retry-After is documented, and a 429 locks
            // the key out for a while: wait at least 10 s before a retry.
            let policy = http::HttpPolicy {
                request_timeout: std::time::Duration::from_secs(c.timeout_secs),
                base_backoff: std::time::Duration::from_secs(10),
                max_backoff: std::time::Duration::from_secs(60),
                ..http::HttpPolicy::default()
            };
            Arc::new(stability::Stability::new(c.clone(), key, policy)?)
        }
        ProviderConfig::Bfl(c) => {
            let key = read_secret(&c.name, &c.api_key_env, env)?;
            // Per request: the API answers quickly; the render as a whole is
            // bounded by `timeout_secs` (submit, polls, download).
            let policy = http::HttpPolicy {
                request_timeout: std::time::Duration::from_secs(c.timeout_secs.clamp(1, 60)),
                ..http::HttpPolicy::default()
            };
            Arc::new(bfl::Bfl::new(c.clone(), key, policy)?)
        }
        ProviderConfig::Comfyui(c) => {
            let auth = match &c.auth_env {
                Some(var) => Some(read_secret(&c.name, var, env)?),
                None => None,
            };
            // Per request: every call answers quickly (the render is
            // followed over the websocket or by polling); the render as a
            // whole is bounded by `timeout_secs`.
            let policy = http::HttpPolicy {
                request_timeout: std::time::Duration::from_secs(c.timeout_secs.clamp(1, 60)),
                ..http::HttpPolicy::default()
            };
            Arc::new(comfyui::Comfyui::new(c.clone(), auth, policy)?)
        }
    })
}

/// The message of a provider error without the provider's name (the doctor
/// prints that once per block).
pub fn error_detail(e: Error) -> String {
    match e {
        Error::Provider { message, .. } => message,
        other => other.to_string(),
    }
}

impl Check {
    /// The checks with every secret value redacted from what they say (a
    /// provider may echo a key in the answer a check quotes).
    pub fn redacted(checks: Vec<Check>) -> Vec<Check> {
        checks
            .into_iter()
            .map(|c| Check {
                what: http::redact::scrub(&c.what),
                detail: http::redact::scrub(&c.detail),
                ok: c.ok,
            })
            .collect()
    }

    /// A failed check from the error of the call `what` (its name is not
    /// repeated in the detail).
    pub fn failed(what: &str, e: Error) -> Check {
        let detail = error_detail(e);
        let detail = detail
            .strip_prefix(what)
            .and_then(|rest| rest.strip_prefix(": "))
            .map_or(detail.clone(), str::to_string);
        Check {
            what: what.to_string(),
            ok: false,
            detail,
        }
    }
}

/// The prompt for a model with no negative-prompt field: the negative
/// prompt folded in as `… Avoid: ….` (unchanged when it is empty).
pub fn folded_prompt(prompt: &str, negative: &str) -> String {
    let negative = negative.trim();
    if negative.is_empty() {
        prompt.to_string()
    } else {
        format!(
            "{}. Avoid: {negative}.",
            prompt.trim_end().trim_end_matches('.')
        )
    }
}

/// Checks that `bytes` are an image latina can read and wraps them.
///
/// # Errors
/// [`Error::Provider`] when they are not a PNG, JPEG or WebP that decodes.
pub fn decoded_output(
    provider: &str,
    what: &str,
    bytes: Vec<u8>,
    cost_usd: Option<f64>,
) -> Result<RenderOutput> {
    let format = image::guess_format(&bytes).ok();
    let extension = match format {
        Some(ImageFormat::Png) => "png",
        Some(ImageFormat::Jpeg) => "jpg",
        Some(ImageFormat::WebP) => "webp",
        _ => {
            return Err(Error::Provider {
                provider: provider.to_string(),
                message: format!("{what}: the answer is not a PNG, JPEG or WebP image"),
            });
        }
    };
    let pixels = image::load_from_memory(&bytes)
        .map_err(|e| Error::Provider {
            provider: provider.to_string(),
            message: format!("{what}: the image cannot be decoded ({e})"),
        })?
        .into_rgb8();
    Ok(RenderOutput {
        bytes,
        extension,
        pixels: Some(pixels),
        cost_usd,
    })
}
