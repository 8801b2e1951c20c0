//! Applies a [`RenderPlan`] to a photo in one parallel pass over its rows.
//!
//! Per pixel, with `Y` the luma, `F` the fine blur and `C` the coarse blur
//! of the luma (see [`Analysis`]):
//!
//! ```text
//! Y_local = base_curve(C) + boost(F − C, mid_gain) + boost(Y − F, fine_gain)
//!                                                     (local tone mapping; see [`boost`])
//! Y_out   = tone_curve(Y_local)                                     (global tone)
//! RGB     = white_balance ⊙ RGB, scaled to Y_out (additively in deep shadows)
//! RGB     = Y_out + (saturation + vibrance·(1 − chroma))·(RGB − Y_out)
//! RGB     = RGB · (1 − vignette·r⁴)                                 (r: normalised radius)
//! out     = photo + mix·(RGB − photo)                               (how far from the photo)
//! ```
//!
//! With gains 1, identity curves, unit white balance, saturation 1 and no
//! vignette the output equals the input (tested).

use image::RgbImage;
use rayon::prelude::*;

use super::analysis::{Analysis, Upsampler};
use super::{LUMA, luma};

/// A monotone-ish tone curve sampled on 0..=255 at 1024 points.
#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    table: Vec<f32>,
}

const LUT_SIZE: usize = 1024;
const LUT_SCALE: f32 = (LUT_SIZE - 1) as f32 / 255.0;

impl Lut {
    /// Samples `curve` (0..=1 → 0..=1) into a table over 0..=255.
    pub fn from_fn(curve: impl Fn(f32) -> f32) -> Self {
        Lut {
            table: (0..LUT_SIZE)
                .map(|i| curve(i as f32 / (LUT_SIZE - 1) as f32).clamp(0.0, 1.0) * 255.0)
                .collect(),
        }
    }

    /// The identity curve.
    pub fn identity() -> Self {
        Lut::from_fn(|u| u)
    }

    /// The curve at `y` (0..=255, clamped), linearly interpolated.
    #[inline]
    pub fn apply(&self, y: f32) -> f32 {
        let pos = y.clamp(0.0, 255.0) * LUT_SCALE;
        let i = (pos as usize).min(LUT_SIZE - 2);
        let t = pos - i as f32;
        self.table[i] + t * (self.table[i + 1] - self.table[i])
    }
}

/// Everything one render needs, decided by an engine from the parameters,
/// the prompt's intents and the photo's statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderPlan {
    /// Per-channel gains (white balance and warmth), luma-neutral.
    pub white_balance: [f32; 3],
    /// Tone curve applied to the coarse (local average) luma: shadow lift, highlight recovery.
    pub base_curve: Lut,
    /// Gain on mid-frequency detail `F − C` (1 keeps it; >1 is "clarity").
    pub mid_gain: f32,
    /// Gain on fine detail `Y − F` (1 keeps it; >1 sharpens; <1 smooths).
    pub fine_gain: f32,
    /// Global tone curve: levels, exposure, contrast.
    pub tone_curve: Lut,
    /// Chroma multiplier (1 keeps colour).
    pub saturation: f32,
    /// Extra chroma for muted pixels.
    pub vibrance: f32,
    /// Darkening at the corners, 0..=0.5.
    pub vignette: f32,
    /// 0 returns the photo, 1 the full render.
    pub mix: f32,
}

impl RenderPlan {
    /// The plan that returns the photo unchanged.
    pub fn identity() -> Self {
        RenderPlan {
            white_balance: [1.0; 3],
            base_curve: Lut::identity(),
            mid_gain: 1.0,
            fine_gain: 1.0,
            tone_curve: Lut::identity(),
            saturation: 1.0,
            vibrance: 0.0,
            vignette: 0.0,
            mix: 1.0,
        }
    }
}

/// Renders `plan` over `photo` (whose analysis is `analysis`).
pub fn render(photo: &RgbImage, analysis: &Analysis, plan: &RenderPlan) -> RgbImage {
    let (w, h) = (analysis.width, analysis.height);
    assert_eq!((photo.width() as usize, photo.height() as usize), (w, h));
    let upsampler = Upsampler::new(&analysis.coarse, analysis.coarse_factor, w, h);
    // Normalised squared distance from the centre, per column and per row.
    let half = |n: usize| (n as f32 - 1.0).max(1.0) / 2.0;
    let (cx, cy) = (half(w), half(h));
    let col_d2: Vec<f32> = (0..w)
        .map(|x| ((x as f32 - cx) / cx).powi(2) / 2.0)
        .collect();

    let mut out = RgbImage::new(w as u32, h as u32);
    out.par_chunks_mut(w * 3)
        .zip(photo.as_raw().par_chunks(w * 3))
        .enumerate()
        .for_each_init(
            || vec![0.0f32; w],
            |coarse_row, (y, (out_row, in_row))| {
                upsampler.row(&analysis.coarse, y, coarse_row);
                let fine_row = &analysis.fine.data[y * w..(y + 1) * w];
                let row_d2 = ((y as f32 - cy) / cy).powi(2) / 2.0;
                for x in 0..w {
                    let px = [in_row[3 * x], in_row[3 * x + 1], in_row[3 * x + 2]];
                    let result =
                        render_pixel(px, fine_row[x], coarse_row[x], col_d2[x] + row_d2, plan);
                    out_row[3 * x..3 * x + 3].copy_from_slice(&result);
                }
            },
        );
    out
}

/// Detail amplitude (grey levels) above which boosting flattens out.
const MID_KNEE: f32 = 24.0;
/// The same for fine detail.
const FINE_KNEE: f32 = 16.0;

/// Scales a detail band by `gain`. Below 1 it is linear (smoothing); above 1
/// the extra gain is `(gain − 1)·d·knee/(knee + |d|)`, so texture and small
/// local contrast are lifted fully while the large steps at strong edges
/// gain at most `(gain − 1)·knee`: no bright halos around a dark TV.
#[inline]
fn boost(d: f32, gain: f32, knee: f32) -> f32 {
    if gain <= 1.0 {
        gain * d
    } else {
        d + (gain - 1.0) * d * knee / (knee + d.abs())
    }
}

#[inline]
fn render_pixel(px: [u8; 3], fine: f32, coarse: f32, radius2: f32, plan: &RenderPlan) -> [u8; 3] {
    let y = luma(px);
    let local = plan.base_curve.apply(coarse)
        + boost(fine - coarse, plan.mid_gain, MID_KNEE)
        + boost(y - fine, plan.fine_gain, FINE_KNEE);
    let y_out = plan.tone_curve.apply(local);

    let wb = plan.white_balance;
    let rgb = [
        px[0] as f32 * wb[0],
        px[1] as f32 * wb[1],
        px[2] as f32 * wb[2],
    ];
    let y_wb = LUMA[0] * rgb[0] + LUMA[1] * rgb[1] + LUMA[2] * rgb[2];
    // Scale chroma with the tone change, but add instead of multiplying in
    // deep shadows, where a ratio would amplify noise.
    let t = (y_wb / 16.0).min(1.0);
    let gain = y_out / y_wb.max(1e-3);
    let shift = y_out - y_wb;
    let mut toned = [0.0f32; 3];
    for c in 0..3 {
        toned[c] = t * rgb[c] * gain + (1.0 - t) * (rgb[c] + shift);
    }

    let max = toned[0].max(toned[1]).max(toned[2]);
    let min = toned[0].min(toned[1]).min(toned[2]);
    let chroma = ((max - min) / 255.0).clamp(0.0, 1.0);
    let k = plan.saturation + plan.vibrance * (1.0 - (2.0 * chroma).min(1.0));
    let vignette = 1.0 - plan.vignette * radius2 * radius2;

    let mut out = [0u8; 3];
    for c in 0..3 {
        let rendered = (y_out + k * (toned[c] - y_out)) * vignette;
        let original = px[c] as f32;
        let v = original + plan.mix * (rendered - original);
        out[c] = (v.clamp(0.0, 255.0) + 0.5) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> RgbImage {
        RgbImage::from_fn(97, 61, |x, y| {
            image::Rgb([(x * 2 + y) as u8, (200 - x) as u8, ((x * y) % 256) as u8])
        })
    }

    #[test]
    fn identity_plan_returns_the_photo() {
        let img = photo();
        let a = Analysis::of(&img);
        assert_eq!(render(&img, &a, &RenderPlan::identity()), img);
    }

    #[test]
    fn zero_mix_returns_the_photo_whatever_the_plan() {
        let img = photo();
        let a = Analysis::of(&img);
        let plan = RenderPlan {
            saturation: 2.0,
            fine_gain: 3.0,
            mix: 0.0,
            tone_curve: Lut::from_fn(|u| u * u),
            ..RenderPlan::identity()
        };
        assert_eq!(render(&img, &a, &plan), img);
    }

    #[test]
    fn saturation_leaves_grey_pixels_grey() {
        let img = RgbImage::from_fn(40, 40, |x, _| image::Rgb([x as u8 * 5; 3]));
        let a = Analysis::of(&img);
        let plan = RenderPlan {
            saturation: 1.6,
            vibrance: 0.5,
            ..RenderPlan::identity()
        };
        let out = render(&img, &a, &plan);
        assert!(out.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
    }

    #[test]
    fn boost_is_linear_below_one_and_saturates_above() {
        assert_eq!(boost(10.0, 0.5, 16.0), 5.0);
        assert_eq!(boost(-10.0, 1.0, 16.0), -10.0);
        // Small detail gets nearly the full gain, a big edge at most (gain-1)*knee.
        assert!((boost(1.0, 2.0, 16.0) - (1.0 + 16.0 / 17.0)).abs() < 1e-6);
        assert!(boost(200.0, 3.0, 16.0) < 200.0 + 2.0 * 16.0);
        assert_eq!(boost(-7.0, 2.5, 16.0), -boost(7.0, 2.5, 16.0));
    }

    #[test]
    fn lut_interpolates_and_clamps() {
        let lut = Lut::from_fn(|u| u * 0.5);
        assert!((lut.apply(100.0) - 50.0).abs() < 0.01);
        assert!((lut.apply(-5.0)).abs() < 1e-6);
        assert!((lut.apply(300.0) - 127.5).abs() < 0.01);
    }
}
