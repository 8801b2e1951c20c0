//! The two built-in engines: how the three parameters and the prompt's
//! intents become a [`RenderPlan`].
//!
//! Parameters are read in absolute units, clamped to the ranges DESIGN.md
//! gives them, and normalised:
//!
//! * `S = (init_strength − 0.1) / 0.4`: how far from the photo. The render is
//!   mixed with the photo at `mix = 0.3 + 0.7·S`.
//! * `G = (guidance_scale − 5) / 7`: how hard the photorealistic look is
//!   pushed; the "push" `P = 0.4 + 0.6·G` scales every correction.
//! * `R = (0.99 − controlnet_weight) / 0.29`: structural freedom. At 0 the
//!   room's structure (its edges and textures) is kept; towards 1 the engine
//!   re-renders it: the tone engine smooths it into a clean, rendered look,
//!   the detail engine exaggerates it into an HDR look. Either way the
//!   structural similarity to the photo falls as `controlnet_weight` falls.
//!
//! **Tone engine** (global tone and colour): levels from the 0.5/99.5%
//! luma percentiles, an exposure gamma that moves the median towards a
//! target, a sigmoid contrast curve, grey-world white balance, warmth,
//! saturation and vibrance.
//!
//! **Detail engine** (local contrast and detail): local tone mapping on the
//! coarse luma (shadow lift and highlight recovery), clarity (mid-frequency
//! gain), sharpening (fine-frequency gain), mild levels and colour.

use super::analysis::Stats;
use super::render::{Lut, RenderPlan};
use super::style::StyleIntent;
use crate::domain::Params;

/// Which built-in pipeline renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Global tone and colour.
    Tone,
    /// Local contrast and detail.
    Detail,
}

/// Normalised parameters, each in [0, 1].
#[derive(Debug, Clone, Copy)]
struct Knobs {
    strength: f32,
    push: f32,
    freedom: f32,
}

impl Knobs {
    fn of(params: &Params) -> Self {
        let unit =
            |v: f64, low: f64, high: f64| (((v - low) / (high - low)) as f32).clamp(0.0, 1.0);
        Knobs {
            strength: unit(params.init_strength, 0.1, 0.5),
            push: 0.4 + 0.6 * unit(params.guidance_scale, 5.0, 12.0),
            freedom: unit(0.99 - params.controlnet_weight, 0.0, 0.29),
        }
    }
}

impl Engine {
    /// The plan for one variant. `grayscale` photos get no colour changes.
    pub fn plan(
        self,
        params: &Params,
        style: &StyleIntent,
        stats: &Stats,
        grayscale: bool,
    ) -> RenderPlan {
        let k = Knobs::of(params);
        let mix = 0.3 + 0.7 * k.strength;
        let mut plan = match self {
            Engine::Tone => tone_plan(k, style, stats),
            Engine::Detail => detail_plan(k, style, stats),
        };
        plan.mix = mix;
        if grayscale {
            plan.white_balance = [1.0; 3];
        }
        plan
    }
}

fn tone_plan(k: Knobs, s: &StyleIntent, stats: &Stats) -> RenderPlan {
    let p = k.push;
    let levels = levels_curve(stats, p);
    let gamma = exposure_gamma(stats, s, p * 0.8);
    let contrast = (1.0 + 5.0 * p * (1.0 + 0.4 * s.contrast - 0.4 * s.softness)).max(0.0);
    // Contrast pivots on the photo's own mid-tone after exposure, so a dark
    // room's bulk is not pushed back down by the S-curve.
    let pivot = levels(stats.median / 255.0).powf(gamma).clamp(0.3, 0.6);
    let toe = 0.3 * s.shadow_depth.max(0.0);
    let lift = 0.3 * s.light;
    let tone_curve = Lut::from_fn(|u| {
        let v = levels(u).powf(gamma);
        let v = sigmoid_contrast(v, contrast, pivot);
        let v = v * (1.0 - toe * (1.0 - v).powi(3));
        midtone_lift(v, lift)
    });
    RenderPlan {
        white_balance: white_balance(stats, s, 0.6 * p * (1.0 + 0.5 * s.color_accuracy), 0.08),
        base_curve: Lut::identity(),
        mid_gain: (1.0 - 0.75 * k.freedom + 0.15 * s.depth).max(0.05),
        fine_gain: (1.0 - 0.9 * k.freedom + 0.25 * s.crispness * (1.0 - k.freedom)).max(0.05),
        tone_curve,
        saturation: (1.0 + 0.3 * p * (1.0 + 0.8 * s.saturation)).max(0.3),
        vibrance: 0.3 * p,
        vignette: 0.18 * p * s.depth.max(0.0),
        mix: 1.0,
    }
}

fn detail_plan(k: Knobs, s: &StyleIntent, stats: &Stats) -> RenderPlan {
    let p = k.push;
    let lift =
        (0.9 * p * (0.4 + 0.3 * s.balance + 0.2 * s.softness - 0.4 * s.shadow_depth)).max(0.0);
    let recover = (0.6 * p * (0.3 + 0.4 * s.balance) + 0.2 * k.freedom).max(0.0);
    let base_curve = Lut::from_fn(|u| {
        let lifted = u + lift * u.sqrt() * (1.0 - u).powi(3);
        lifted - recover * 2.0 * lifted.powi(3) * (1.0 - lifted)
    });
    let levels = levels_curve(stats, 0.5 * p);
    let gamma = exposure_gamma(stats, s, 0.3 * p);
    RenderPlan {
        white_balance: white_balance(stats, s, 0.3 * p * (1.0 + 0.5 * s.color_accuracy), 0.05),
        base_curve,
        mid_gain: 1.2
            + 0.6 * p * (1.0 + 0.4 * s.contrast + 0.3 * s.depth - 0.3 * s.softness)
            + 0.9 * k.freedom,
        fine_gain: (1.2 + 0.8 * p * (1.0 + 0.8 * s.crispness) + 1.0 * k.freedom).min(3.5),
        tone_curve: Lut::from_fn(|u| midtone_lift(levels(u).powf(gamma), 0.2 * s.light)),
        saturation: (1.0 + 0.1 * p * (1.0 + s.saturation)).max(0.3),
        vibrance: 0.15 * p,
        vignette: 0.1 * s.depth.max(0.0),
        mix: 1.0,
    }
}

/// Stretches the 0.5–99.5% luma range towards 0–255, partially (`amount`),
/// never by more than 1.6×, and leaves near-full-range photos alone.
fn levels_curve(stats: &Stats, amount: f32) -> impl Fn(f32) -> f32 + use<> {
    let black = (stats.low / 255.0).min(0.16);
    let white = (stats.high / 255.0).max(0.7);
    let stretch = (1.0 / (white - black)).min(1.6);
    let black = black.min(1.0 - 1.0 / stretch);
    move |u| {
        let stretched = ((u - black) * stretch).clamp(0.0, 1.0);
        u + amount * (stretched - u)
    }
}

/// A gamma that moves the median luma towards a target brightness
/// (brighter for "light" prompts), applied with weight `amount`.
fn exposure_gamma(stats: &Stats, s: &StyleIntent, amount: f32) -> f32 {
    let median = (stats.median / 255.0).clamp(0.02, 0.98);
    let target = (0.46 + 0.08 * s.light + 0.03 * s.softness).clamp(0.25, 0.7);
    let gamma = (target.ln() / median.ln()).clamp(0.45, 1.5);
    1.0 + amount * (gamma - 1.0)
}

/// Brightens (`amount > 0`) or darkens the mid-tones, leaving black and
/// white where they are: `v + amount·v·(1 − v)`, monotone for |amount| ≤ 1.
fn midtone_lift(v: f32, amount: f32) -> f32 {
    v + amount.clamp(-1.0, 1.0) * v * (1.0 - v)
}

/// Sigmoidal contrast of strength `k` around `pivot`, normalised to map
/// 0→0 and 1→1 (ImageMagick's `-sigmoidal-contrast k×pivot`); `k` near 0
/// is the identity.
fn sigmoid_contrast(u: f32, k: f32, pivot: f32) -> f32 {
    if k < 0.05 {
        return u;
    }
    let sig = |x: f32| 1.0 / (1.0 + (-k * (x - pivot)).exp());
    let (lo, hi) = (sig(0.0), sig(1.0));
    (sig(u) - lo) / (hi - lo)
}

/// Grey-world white balance at `strength`, plus warmth, normalised so that
/// the gains leave luma unchanged.
fn white_balance(stats: &Stats, s: &StyleIntent, strength: f32, warmth_scale: f32) -> [f32; 3] {
    let m = stats.channel_means;
    let grey = (m[0] + m[1] + m[2]) / 3.0;
    let mut gains = [0.0f32; 3];
    for c in 0..3 {
        gains[c] = (grey.max(1.0) / m[c].max(1.0))
            .powf(strength.clamp(0.0, 1.0))
            .clamp(0.85, 1.18);
    }
    gains[0] *= 1.0 + warmth_scale * s.warmth;
    gains[2] *= 1.0 - warmth_scale * s.warmth;
    let luma_gain =
        super::LUMA[0] * gains[0] + super::LUMA[1] * gains[1] + super::LUMA[2] * gains[2];
    gains.map(|g| g / luma_gain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> Stats {
        Stats {
            low: 10.0,
            high: 240.0,
            median: 110.0,
            mean_luma: 115.0,
            channel_means: [130.0, 115.0, 95.0],
        }
    }

    fn params(s: f64, g: f64, c: f64) -> Params {
        Params {
            init_strength: s,
            guidance_scale: g,
            controlnet_weight: c,
        }
    }

    #[test]
    fn sigmoid_contrast_fixes_ends_and_midpoint() {
        for k in [0.0, 1.0, 5.0, 10.0] {
            assert!(sigmoid_contrast(0.0, k, 0.5).abs() < 1e-6);
            assert!((sigmoid_contrast(1.0, k, 0.5) - 1.0).abs() < 1e-6);
            assert!((sigmoid_contrast(0.5, k, 0.5) - 0.5).abs() < 1e-6);
            assert!((sigmoid_contrast(1.0, k, 0.3) - 1.0).abs() < 1e-6);
        }
        assert!(sigmoid_contrast(0.3, 6.0, 0.5) < 0.3, "darks get darker");
        assert!(sigmoid_contrast(0.7, 6.0, 0.5) > 0.7, "lights get lighter");
    }

    #[test]
    fn white_balance_is_luma_neutral_and_pulls_towards_grey() {
        let g = white_balance(&stats(), &StyleIntent::default(), 1.0, 0.08);
        let l = super::super::LUMA;
        assert!((l[0] * g[0] + l[1] * g[1] + l[2] * g[2] - 1.0).abs() < 1e-5);
        assert!(g[2] > g[0], "a warm cast is cooled");
    }

    #[test]
    fn init_strength_sets_the_mix_and_controlnet_the_structural_gains() {
        let style = StyleIntent::default();
        let low = Engine::Tone.plan(&params(0.1, 8.0, 0.99), &style, &stats(), false);
        let high = Engine::Tone.plan(&params(0.5, 8.0, 0.7), &style, &stats(), false);
        assert!((low.mix - 0.3).abs() < 1e-6 && (high.mix - 1.0).abs() < 1e-6);
        assert!((low.fine_gain - 1.0).abs() < 1e-6, "structure kept at 0.99");
        assert!(high.fine_gain < 0.5, "structure smoothed at 0.7");
        let detail = Engine::Detail.plan(&params(0.3, 8.0, 0.7), &style, &stats(), false);
        assert!(detail.fine_gain > 2.0 && detail.mid_gain > 2.0);
    }

    #[test]
    fn grayscale_photos_get_unit_white_balance() {
        let style = StyleIntent::from_prompt("warm light", "");
        let plan = Engine::Tone.plan(&params(0.3, 8.0, 0.8), &style, &stats(), true);
        assert_eq!(plan.white_balance, [1.0; 3]);
    }
}
