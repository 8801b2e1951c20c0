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

use super::LUMA;
use super::analysis::{Analysis, Upsampler};

/// A tone curve sampled on 0..=255 at 4096 points (steps of 0.06 grey
/// levels, far below what 8-bit output can show), read by nearest sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    table: Vec<f32>,
    identity: bool,
}

const LUT_SIZE: usize = 4096;
const LUT_SCALE: f32 = (LUT_SIZE - 1) as f32 / 255.0;

impl Lut {
    /// Samples `curve` (0..=1 → 0..=1) into a table over 0..=255.
    pub fn from_fn(curve: impl Fn(f32) -> f32) -> Self {
        let table: Vec<f32> = (0..LUT_SIZE)
            .map(|i| curve(i as f32 / (LUT_SIZE - 1) as f32).clamp(0.0, 1.0) * 255.0)
            .collect();
        let identity = table
            .iter()
            .enumerate()
            .all(|(i, v)| (v - i as f32 / LUT_SCALE).abs() < 1e-3);
        Lut { table, identity }
    }

    /// The identity curve.
    pub fn identity() -> Self {
        Lut::from_fn(|u| u)
    }

    /// True when the curve maps every value to itself (within 0.001).
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// The curve at `y` (0..=255, clamped), nearest sample.
    #[inline]
    pub fn apply(&self, y: f32) -> f32 {
        let i = (y.clamp(0.0, 255.0) * LUT_SCALE + 0.5) as usize;
        self.table[i.min(LUT_SIZE - 1)]
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
///
/// Rows run in parallel; within a row the work is split into simple passes
/// over planar `f32` buffers so the compiler can vectorise them.
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
            || RowBuffers::new(w),
            |buffers, (y, (out_row, in_row))| {
                upsampler.row(&analysis.coarse, y, &mut buffers.coarse);
                let fine = &analysis.fine.data[y * w..(y + 1) * w];
                let row_d2 = ((y as f32 - cy) / cy).powi(2) / 2.0;
                render_row(in_row, fine, &col_d2, row_d2, plan, buffers, out_row);
            },
        );
    out
}

/// Per-thread scratch rows.
struct RowBuffers {
    coarse: Vec<f32>,
    channels: [Vec<f32>; 3],
    luma: Vec<f32>,
    tone: Vec<f32>,
}

impl RowBuffers {
    fn new(w: usize) -> Self {
        RowBuffers {
            coarse: vec![0.0; w],
            channels: [vec![0.0; w], vec![0.0; w], vec![0.0; w]],
            luma: vec![0.0; w],
            tone: vec![0.0; w],
        }
    }
}

fn render_row(
    input: &[u8],
    fine: &[f32],
    col_d2: &[f32],
    row_d2: f32,
    plan: &RenderPlan,
    b: &mut RowBuffers,
    output: &mut [u8],
) {
    let [r, g, bl] = &mut b.channels;
    // Deinterleave and take luma.
    for ((((px, r), g), bl), y) in input
        .chunks_exact(3)
        .zip(r.iter_mut())
        .zip(g.iter_mut())
        .zip(bl.iter_mut())
        .zip(b.luma.iter_mut())
    {
        *r = px[0] as f32;
        *g = px[1] as f32;
        *bl = px[2] as f32;
        *y = LUMA[0] * *r + LUMA[1] * *g + LUMA[2] * *bl;
    }
    detail_pass(&mut b.tone, &b.coarse, fine, &b.luma, plan);
    lut_pass(&mut b.tone, &b.coarse, plan);
    // Colour, pass 1: white balance, then scale chroma with the tone change,
    // adding instead of multiplying in deep shadows, where a ratio would
    // amplify noise.
    let wb = plan.white_balance;
    for (((r, g), bl), &y_out) in r
        .iter_mut()
        .zip(g.iter_mut())
        .zip(bl.iter_mut())
        .zip(&b.tone)
    {
        let (rw, gw, bw) = (*r * wb[0], *g * wb[1], *bl * wb[2]);
        let y_wb = LUMA[0] * rw + LUMA[1] * gw + LUMA[2] * bw;
        let t = (y_wb * (1.0 / 16.0)).min(1.0);
        let scale = t * y_out / y_wb.max(1e-3) + (1.0 - t);
        let shift = (1.0 - t) * (y_out - y_wb);
        *r = rw * scale + shift;
        *g = gw * scale + shift;
        *bl = bw * scale + shift;
    }
    // Pass 2: saturation and vibrance about the new luma, and vignette.
    let (saturation, vibrance, vignette) = (plan.saturation, plan.vibrance, plan.vignette);
    for (((r, g), bl), (&y_out, &col)) in r
        .iter_mut()
        .zip(g.iter_mut())
        .zip(bl.iter_mut())
        .zip(b.tone.iter().zip(col_d2))
    {
        let max = r.max(*g).max(*bl);
        let min = r.min(*g).min(*bl);
        let chroma = ((max - min) * (1.0 / 255.0)).clamp(0.0, 1.0);
        let k = saturation + vibrance * (1.0 - (2.0 * chroma).min(1.0));
        let radius2 = col + row_d2;
        let shade = 1.0 - vignette * radius2 * radius2;
        *r = (y_out + k * (*r - y_out)) * shade;
        *g = (y_out + k * (*g - y_out)) * shade;
        *bl = (y_out + k * (*bl - y_out)) * shade;
    }
    // Pass 3: mix with the photo and interleave back to 8 bits.
    let mix = plan.mix;
    for ((((px, src), &r), &g), &bl) in output
        .chunks_exact_mut(3)
        .zip(input.chunks_exact(3))
        .zip(r.iter())
        .zip(g.iter())
        .zip(bl.iter())
    {
        let finish = |rendered: f32, original: u8| {
            let original = original as f32;
            ((original + mix * (rendered - original)).clamp(0.0, 255.0) + 0.5) as u8
        };
        px[0] = finish(r, src[0]);
        px[1] = finish(g, src[1]);
        px[2] = finish(bl, src[2]);
    }
}

/// Local tone mapping: boosted detail bands.
#[inline(never)]
fn detail_pass(tone: &mut [f32], coarse: &[f32], fine: &[f32], luma: &[f32], plan: &RenderPlan) {
    for (((t, &c), &f), &y) in tone.iter_mut().zip(coarse).zip(fine).zip(luma) {
        *t = boost(f - c, plan.mid_gain, MID_KNEE) + boost(y - f, plan.fine_gain, FINE_KNEE);
    }
}

/// Base curve on the coarse luma, then the global tone curve.
#[inline(never)]
fn lut_pass(tone: &mut [f32], coarse: &[f32], plan: &RenderPlan) {
    if plan.base_curve.is_identity() {
        for (t, &c) in tone.iter_mut().zip(coarse) {
            *t = plan.tone_curve.apply(*t + c);
        }
    } else {
        for (t, &c) in tone.iter_mut().zip(coarse) {
            *t = plan.tone_curve.apply(*t + plan.base_curve.apply(c));
        }
    }
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
        assert!((lut.apply(100.0) - 50.0).abs() < 0.05);
        assert!((lut.apply(-5.0)).abs() < 1e-6);
        assert!((lut.apply(300.0) - 127.5).abs() < 1e-4);
        assert!(!lut.is_identity());
        assert!(Lut::identity().is_identity());
    }
}
