//! Image providers: one interface, the built-in engines, and (later) one
//! file per vendor.
//!
//! A provider turns a photo, the three parameters and the prompt into a
//! render. Calls are async so that network providers can run concurrently;
//! the built-in engines do their CPU work on blocking threads.

mod builtin;
pub mod http;
pub mod sdwebui;

pub use builtin::BuiltinEngine;

use image::{ImageFormat, RgbImage};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use crate::config::ProviderConfig;
use crate::domain::Params;
use crate::error::Result;
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
}

impl SourcePhoto {
    /// Wraps a decoded photo.
    pub fn new(rgb: RgbImage, grayscale: bool, bytes: Vec<u8>, format: ImageFormat) -> Self {
        SourcePhoto {
            rgb,
            grayscale,
            bytes,
            format,
            analysis: OnceLock::new(),
        }
    }

    /// The built-in engines' analysis, computed on first use and shared.
    pub fn analysis(&self) -> &Analysis {
        self.analysis.get_or_init(|| Analysis::of(&self.rgb))
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
}

/// A finished render.
pub struct RenderOutput {
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// File extension of `bytes`, e.g. `jpg`.
    pub extension: &'static str,
    /// The decoded pixels, when the provider has them at hand.
    pub pixels: Option<RgbImage>,
}

/// Where a render is, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Analysing the photo (shared by all variants).
    Analysing,
    /// Producing the render.
    Generating,
    /// Encoding or downloading the result.
    Encoding,
}

/// Receives progress of one render; must be cheap and thread-safe.
pub type ProgressFn = Arc<dyn Fn(Stage) + Send + Sync>;

/// Anything that can render a variant.
pub trait ImageProvider: Send + Sync {
    /// The configured arm name.
    fn name(&self) -> &str;

    /// Renders one variant.
    ///
    /// # Errors
    /// [`crate::Error::Provider`] naming the provider, without secrets.
    fn render(
        self: Arc<Self>,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> BoxFuture<Result<RenderOutput>>;
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
    configs
        .iter()
        .map(|c| -> Result<Arc<dyn ImageProvider>> {
            Ok(match c {
                ProviderConfig::BuiltinTone { name } => {
                    Arc::new(BuiltinEngine::new(name.clone(), Engine::Tone))
                }
                ProviderConfig::BuiltinDetail { name } => {
                    Arc::new(BuiltinEngine::new(name.clone(), Engine::Detail))
                }
                ProviderConfig::SdWebui {
                    name,
                    base_url,
                    controlnet_model,
                    controlnet_module,
                    checkpoint,
                    steps,
                    sampler,
                    max_side,
                    timeout_secs,
                    auth_env,
                } => {
                    let basic_auth = match auth_env {
                        None => None,
                        Some(var) => {
                            let value = env(var).ok_or_else(|| crate::Error::Provider {
                                provider: name.clone(),
                                message: format!(
                                    "environment variable {var} (named by auth_env) is not set"
                                ),
                            })?;
                            let (user, pass) =
                                value
                                    .split_once(':')
                                    .ok_or_else(|| crate::Error::Provider {
                                        provider: name.clone(),
                                        message: format!(
                                            "environment variable {var} must hold user:password"
                                        ),
                                    })?;
                            Some((user.to_string(), pass.to_string()))
                        }
                    };
                    let settings = sdwebui::SdWebUiSettings {
                        base_url: base_url.clone(),
                        basic_auth,
                        steps: *steps,
                        sampler: sampler.clone(),
                        checkpoint: checkpoint.clone(),
                        controlnet_module: controlnet_module.clone(),
                        controlnet_model: controlnet_model.clone(),
                        max_side: *max_side,
                    };
                    let policy = http::HttpPolicy {
                        request_timeout: std::time::Duration::from_secs(*timeout_secs),
                        ..http::HttpPolicy::default()
                    };
                    Arc::new(sdwebui::SdWebUi::new(name.clone(), settings, policy)?)
                }
            })
        })
        .collect()
}
