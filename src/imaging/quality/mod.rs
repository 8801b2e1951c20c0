//! The features of a render against its original photo ([`RenderFeatures`]):
//! tones, detail, noise, halos, colour, and whether the room's structure
//! survived.
//!
//! The original is reduced once ([`QualityReference::new`]); each render is
//! then measured against it ([`QualityReference::features`]), so the
//! candidates of one photo share the photo's work. Everything is measured on
//! reduced copies ([`working`]): tones, detail, noise and halos on a copy
//! with long side at most 512, structure and edges on one at most 256 (the
//! layout of walls and furniture, not the textures an AI provider redraws).
//! Luma is Rec. 709 on the gamma-encoded values, as in `context`; the SSIM
//! structure term is `metrics::structural_correlation` (Rec. 601, Wang et
//! al.'s Gaussian window). Scales are documented on each field of
//! [`RenderFeatures`]; the formulas are in [`measures`].

pub mod measures;
pub mod working;

use image::RgbImage;

use super::blur::Plane;
use super::metrics;
use crate::domain::RenderFeatures;

/// A channel at or above this is blown out (of 255).
pub const HIGHLIGHT_LEVEL: u8 = 250;
/// A channel at or below this is crushed (of 255).
pub const SHADOW_LEVEL: u8 = 5;
/// Hasler–Süsstrunk M is divided by this (as in `context`).
pub const COLOURFULNESS_DIVISOR: f64 = 110.0;
/// Immerkær σ (luma 0–255) is divided by this.
pub const NOISE_DIVISOR: f64 = 25.0;
/// Opponent chroma distances (0–255 values) are divided by this.
pub const CAST_DIVISOR: f64 = 64.0;
/// σ, in working-copy pixels, of the blur whose residual is the detail
/// layer the halo feature measures (ringing within a few pixels of an edge).
pub const HALO_DETAIL_SIGMA: f32 = 2.0;
/// The band around the original's strong edges where halos are looked for,
/// in working-copy pixels.
pub const HALO_BAND: usize = 2;
/// σ, in layout-copy pixels, of the blur before edges are found.
pub const EDGE_BLUR: f32 = 1.0;
/// Tiles per side of the grid whose weakest tile is `structure_local`.
pub const STRUCTURE_TILES: usize = 4;
/// How far, in layout-copy pixels, an edge may move and still match.
pub const EDGE_TOLERANCE: usize = 1;

/// What one photo contributes to the features of each of its renders,
/// computed once.
#[derive(Debug, Clone)]
pub struct QualityReference {
    original_size: (u32, u32),
    work_size: (u32, u32),
    layout: RgbImage,
    layout_luma: Plane,
    edges: Vec<bool>,
    halo_band: Vec<bool>,
    tone: ToneSummary,
}

/// The numbers of a working copy that renders are compared on.
#[derive(Debug, Clone, Copy)]
struct ToneSummary {
    luma_sd: f64,
    laplacian_sd: f64,
    band_detail: f64,
    chroma: (f64, f64),
}

impl QualityReference {
    /// Reduces `original` (any size from 1×1) to its working and layout copies.
    pub fn new(original: &RgbImage) -> Self {
        let work = working::reduce_original(original);
        let luma = working::luma_plane(&work);
        let layout = working::layout_copy(&work);
        let layout_luma = working::luma_plane(&layout);
        let edges = measures::edge_map(&layout_luma, EDGE_BLUR);
        let strong = strong_edges(&luma);
        let halo_band = measures::dilate(&strong, luma.width, luma.height, HALO_BAND);
        let tone = ToneSummary {
            luma_sd: measures::mean_sd(&luma).1,
            laplacian_sd: measures::laplacian_variance(&luma).sqrt(),
            band_detail: measures::detail_rms(&luma, HALO_DETAIL_SIGMA, &halo_band),
            chroma: measures::mean_opponent_chroma(&work),
        };
        QualityReference {
            original_size: original.dimensions(),
            work_size: work.dimensions(),
            layout,
            layout_luma,
            edges,
            halo_band,
            tone,
        }
    }

    /// The features of `render` (any size; see [`working`] for how another
    /// size or aspect is brought to the original's).
    pub fn features(&self, render: &RgbImage) -> RenderFeatures {
        let work = working::reduce_render(render, self.original_size, self.work_size);
        let luma = working::luma_plane(&work);
        let (mean, luma_sd) = measures::mean_sd(&luma);
        let (highlight, shadow) = measures::clipping_shares(&work, HIGHLIGHT_LEVEL, SHADOW_LEVEL);
        let laplacian_var = measures::laplacian_variance(&luma);
        let chroma = measures::mean_opponent_chroma(&work);
        let layout = working::layout_copy(&work);
        let layout_luma = working::luma_plane(&layout);
        let edges = measures::edge_map(&layout_luma, EDGE_BLUR);
        let band_detail = measures::detail_rms(&luma, HALO_DETAIL_SIGMA, &self.halo_band);
        let (structure, structure_local) = self.structure(&layout, &layout_luma);
        RenderFeatures {
            exposure: unit(mean / 255.0),
            highlight_clipping: highlight,
            shadow_clipping: shadow,
            contrast: unit(luma_sd / 255.0 / 0.5),
            colourfulness: unit(metrics::colourfulness(&work) / COLOURFULNESS_DIVISOR),
            sharpness: unit((1.0 + laplacian_var).log10() / 4.0),
            blur: self.blur(laplacian_var.sqrt(), luma_sd),
            noise: unit(measures::immerkaer_sigma(&luma) / NOISE_DIVISOR),
            halo: self.halo(band_detail, luma_sd),
            colour_cast: unit(chroma.0.hypot(chroma.1) / CAST_DIVISOR),
            colour_shift: unit(
                (chroma.0 - self.tone.chroma.0).hypot(chroma.1 - self.tone.chroma.1) / CAST_DIVISOR,
            ),
            structure: unit(structure),
            structure_local: unit(structure_local),
            edge_agreement: measures::edge_f1(
                &self.edges,
                &edges,
                layout_luma.width,
                layout_luma.height,
                EDGE_TOLERANCE,
            ),
        }
    }

    /// One minus the render's detail-to-contrast ratio over the original's.
    fn blur(&self, laplacian_sd: f64, luma_sd: f64) -> f64 {
        let original = ratio(self.tone.laplacian_sd, self.tone.luma_sd);
        let render = ratio(laplacian_sd, luma_sd);
        match (original, render) {
            (Some(o), Some(r)) if o > 0.0 => unit(1.0 - r / o),
            // A render with no contrast at all has lost all detail, unless
            // the original had none either.
            (Some(o), None) if o > 0.0 => 1.0,
            _ => 0.0,
        }
    }

    /// `log2` of the growth of detail near edges over the growth of global
    /// contrast, halved.
    fn halo(&self, band_detail: f64, luma_sd: f64) -> f64 {
        let detail_growth = ratio(band_detail, self.tone.band_detail);
        let contrast_growth = ratio(luma_sd, self.tone.luma_sd);
        match (detail_growth, contrast_growth) {
            (Some(d), Some(c)) if d > 0.0 && c > 0.0 => unit((d / c).log2() / 2.0),
            _ => 0.0,
        }
    }

    /// The SSIM structure term at layout scale, (mean, lowest tile mean);
    /// the whole-plane term for both when the copy is too small for SSIM's
    /// windows.
    fn structure(&self, layout: &RgbImage, layout_luma: &Plane) -> (f64, f64) {
        match metrics::structural_correlation_map(&self.layout, layout) {
            Some((width, height, map)) => {
                let mean = map.iter().sum::<f64>() / map.len().max(1) as f64;
                (
                    mean,
                    measures::lowest_tile_mean(&map, width, height, STRUCTURE_TILES),
                )
            }
            None => {
                let whole = measures::global_structure(&self.layout_luma, layout_luma);
                (whole, whole)
            }
        }
    }
}

/// The features of `render` against `original`. For several renders of one
/// photo, build one [`QualityReference`] and call
/// [`features`](QualityReference::features) on each.
pub fn render_features(original: &RgbImage, render: &RgbImage) -> RenderFeatures {
    QualityReference::new(original).features(render)
}

/// The share of pixels that are the photo's strongest edges: where halos
/// from sharpening and local contrast show.
const STRONG_EDGE_SHARE: f64 = 0.05;

/// The strongest [`STRONG_EDGE_SHARE`] of Sobel gradients of the working
/// luma (never a gradient below [`measures::EDGE_FLOOR`]).
fn strong_edges(luma: &Plane) -> Vec<bool> {
    let magnitude = measures::sobel_magnitude(luma);
    let threshold =
        measures::quantile(&magnitude.data, 1.0 - STRONG_EDGE_SHARE).max(measures::EDGE_FLOOR);
    magnitude.data.iter().map(|&m| m >= threshold).collect()
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 1e-9).then(|| numerator / denominator)
}

fn unit(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests;
