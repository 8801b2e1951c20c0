//! `[enhance]`: how variants are produced and shown.

use serde::{Deserialize, Serialize};

/// `[enhance]`: how variants are produced and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnhanceConfig {
    /// Variants the designer is shown per photo (A, B, …), 1–8; `show` in
    /// the config (`variants` is its first name, still read).
    #[serde(alias = "show")]
    pub variants: u32,
    /// Candidates rendered per photo, of which the best `show` are shown
    /// (2–32; unset: as many as are shown, plain A/B).
    pub candidates: Option<u32>,
    /// The most a photo's candidates may cost on paid providers, US dollars:
    /// caps `candidates` by the dearest arm's price per render.
    pub budget_usd: Option<f64>,
    /// JPEG quality of the renders, 50–100.
    pub jpeg_quality: u8,
    /// Height in pixels of each panel in the side-by-side preview.
    pub preview_height: u32,
    /// Largest input accepted, in megapixels (checked before decoding).
    pub max_megapixels: f64,
    /// Smallest accepted width or height, in pixels.
    pub min_side: u32,
    /// Largest input file accepted, in megabytes.
    pub max_file_mb: u64,
    /// Variants rendered at the same time, 1–16.
    pub concurrency: u32,
    /// A built-in arm that renders a variant whose provider failed; unset: no fallback.
    pub fallback: Option<String>,
}

impl Default for EnhanceConfig {
    fn default() -> Self {
        EnhanceConfig {
            variants: 2,
            candidates: None,
            budget_usd: None,
            jpeg_quality: 90,
            preview_height: 480,
            max_megapixels: 64.0,
            min_side: 32,
            max_file_mb: 100,
            concurrency: 4,
            fallback: None,
        }
    }
}
