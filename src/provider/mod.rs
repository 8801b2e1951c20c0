//! Image providers: one interface, the built-in engines, and (later) one
//! file per vendor.
//!
//! A provider turns a photo, the three parameters and the prompt into a
//! render. Calls are async so that network providers can run concurrently;
//! the built-in engines do their CPU work on blocking threads.

mod builtin;

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

/// Builds the configured provider arms, in order.
pub fn from_config(configs: &[ProviderConfig]) -> Vec<Arc<dyn ImageProvider>> {
    configs
        .iter()
        .map(|c| -> Arc<dyn ImageProvider> {
            match c {
                ProviderConfig::BuiltinTone { name } => {
                    Arc::new(BuiltinEngine::new(name.clone(), Engine::Tone))
                }
                ProviderConfig::BuiltinDetail { name } => {
                    Arc::new(BuiltinEngine::new(name.clone(), Engine::Detail))
                }
            }
        })
        .collect()
}
