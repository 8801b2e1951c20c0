//! The room's measurable context: [`PhotoFeatures`] of a photo, each in 0–1,
//! so they can sit beside the unit-scaled parameters as model inputs.
//!
//! Everything is computed on a copy whose long side is at most
//! [`ANALYSIS_SIDE`] pixels (block averages over whole-pixel blocks), so
//! the cost is small (about 55 ms for 12 megapixels in a debug build, 2 ms
//! for 800×600) and the features do not depend on the camera's resolution.
//! Unlike the rest of this module (Rec. 601, see the module root), luma
//! here is **Rec. 709** (`0.2126 R + 0.7152 G + 0.0722 B`) on the stored
//! **gamma-encoded sRGB** values scaled to 0–1 (no linearisation): Y′ as
//! histogram tools show it.
//! What is stored per photo, and when, is the store's and ops' business.

use image::RgbImage;
use rayon::prelude::*;

use super::metrics;
use crate::domain::evidence::PhotoFeatures;

/// Long side, in pixels, of the copy the features are measured on.
pub const ANALYSIS_SIDE: u32 = 256;

/// Rec. 709 luma weights for R, G, B.
pub const LUMA_709: [f64; 3] = [0.2126, 0.7152, 0.0722];

/// RMS contrast (population standard deviation of luma in 0–1) is divided
/// by this: 0.5 is the largest possible value (half black, half white), so
/// the scaled contrast spans 0–1.
pub const CONTRAST_DIVISOR: f64 = 0.5;

/// Warmth is the logistic of `WARMTH_GAIN · ln(R̄ / B̄)` (grey-world means):
/// `R̄² / (R̄² + B̄²)` for a gain of 2. A gain of 2 spreads real interiors
/// (R̄/B̄ from about 0.8 to 1.6) over roughly 0.4–0.7 instead of 0.45–0.6.
pub const WARMTH_GAIN: f64 = 2.0;

/// Hasler–Süsstrunk M (on 0–255 values) is divided by this and clamped to 1:
/// their "extremely colourful" class sits at M ≈ 109.
pub const COLOURFULNESS_DIVISOR: f64 = 110.0;

/// A pixel is an edge when its Sobel gradient magnitude (on luma in 0–1,
/// kernel weights 1-2-1, so a full black-to-white step gives 4) exceeds
/// this: a step of 0.1 (about 25 grey levels) between neighbours.
pub const EDGE_THRESHOLD: f64 = 0.4;

/// Window or sky light: luma at least this bright …
pub const WINDOW_MIN_LUMA: f64 = 0.9;
/// … and a spread between the largest and smallest channel (0–1) at most
/// this (near-white, low saturation).
pub const WINDOW_MAX_CHROMA: f64 = 0.1;

/// The features of a photo, measured on a copy with long side at most
/// [`ANALYSIS_SIDE`] (the photo itself when it is that small already).
/// Any size from 1×1 works: a photo without interior pixels has clutter 0.
pub fn photo_features(rgb: &RgbImage) -> PhotoFeatures {
    let factor = rgb.width().max(rgb.height()).div_ceil(ANALYSIS_SIDE);
    if factor <= 1 {
        return features_of(rgb);
    }
    features_of(&block_average(rgb, factor))
}

/// The photo reduced by `factor` on each side, each output pixel the
/// rounded mean of its block (blocks at the right and bottom edges may be
/// smaller). One pass over the photo, rows in parallel: a 12-megapixel
/// photo takes a few milliseconds, where a filtered resize takes hundreds.
pub(crate) fn block_average(rgb: &RgbImage, factor: u32) -> RgbImage {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let k = factor as usize;
    let (ow, oh) = (w.div_ceil(k), h.div_ceil(k));
    let raw = rgb.as_raw();
    let mut out = vec![0u8; ow * oh * 3];
    out.par_chunks_mut(ow * 3)
        .enumerate()
        .for_each(|(oy, row)| {
            let mut sums = vec![0u32; ow * 3];
            let mut counts = vec![0u32; ow];
            for y in oy * k..((oy + 1) * k).min(h) {
                let line = &raw[y * w * 3..(y + 1) * w * 3];
                for ((block, sum), count) in line
                    .chunks(k * 3)
                    .zip(sums.chunks_exact_mut(3))
                    .zip(counts.iter_mut())
                {
                    let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                    for px in block.chunks_exact(3) {
                        r += px[0] as u32;
                        g += px[1] as u32;
                        b += px[2] as u32;
                    }
                    sum[0] += r;
                    sum[1] += g;
                    sum[2] += b;
                    *count += (block.len() / 3) as u32;
                }
            }
            for (o, out_px) in row.chunks_exact_mut(3).enumerate() {
                let n = counts[o].max(1);
                for c in 0..3 {
                    out_px[c] = ((sums[o * 3 + c] + n / 2) / n) as u8;
                }
            }
        });
    RgbImage::from_raw(ow as u32, oh as u32, out).unwrap_or_else(|| RgbImage::new(1, 1))
}

/// The features of exactly these pixels (no downscaling).
fn features_of(rgb: &RgbImage) -> PhotoFeatures {
    let n = (rgb.width() as usize * rgb.height() as usize).max(1) as f64;
    let luma: Vec<f64> = rgb.pixels().map(|p| luma_709(p.0)).collect();
    let mean = luma.iter().sum::<f64>() / n;
    let variance = luma.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n;
    let window = rgb
        .pixels()
        .zip(&luma)
        .filter(|(p, y)| {
            let max = *p.0.iter().max().unwrap_or(&0) as f64;
            let min = *p.0.iter().min().unwrap_or(&0) as f64;
            **y >= WINDOW_MIN_LUMA && (max - min) / 255.0 <= WINDOW_MAX_CHROMA
        })
        .count() as f64;
    PhotoFeatures {
        brightness: mean.clamp(0.0, 1.0),
        contrast: (variance.sqrt() / CONTRAST_DIVISOR).clamp(0.0, 1.0),
        warmth: warmth(rgb),
        colourfulness: (metrics::colourfulness(rgb) / COLOURFULNESS_DIVISOR).clamp(0.0, 1.0),
        clutter: edge_density(&luma, rgb.width() as usize, rgb.height() as usize),
        window_light: window / n,
    }
}

/// Rec. 709 luma of an 8-bit sRGB pixel, 0–1.
fn luma_709(rgb: [u8; 3]) -> f64 {
    (LUMA_709[0] * rgb[0] as f64 + LUMA_709[1] * rgb[1] as f64 + LUMA_709[2] * rgb[2] as f64)
        / 255.0
}

/// Grey-world colour temperature proxy: the mean red and blue of the photo
/// stand for the light's colour. 0.5 when they balance (or both are 0).
fn warmth(rgb: &RgbImage) -> f64 {
    let (mut red, mut blue) = (0.0f64, 0.0f64);
    for p in rgb.pixels() {
        red += p.0[0] as f64;
        blue += p.0[2] as f64;
    }
    let (r, b) = (red.powf(WARMTH_GAIN), blue.powf(WARMTH_GAIN));
    if r + b == 0.0 { 0.5 } else { r / (r + b) }
}

/// Share of interior pixels whose 3×3 Sobel gradient magnitude exceeds
/// [`EDGE_THRESHOLD`]; 0 when there are no interior pixels (a side below 3).
fn edge_density(luma: &[f64], w: usize, h: usize) -> f64 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let at = |x: usize, y: usize| luma[y * w + x];
    let mut edges = 0usize;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let gx = (at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x - 1, y) + at(x - 1, y + 1));
            let gy = (at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x, y - 1) + at(x + 1, y - 1));
            if (gx * gx + gy * gy).sqrt() > EDGE_THRESHOLD {
                edges += 1;
            }
        }
    }
    edges as f64 / ((w - 2) * (h - 2)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn fixture(name: &str) -> RgbImage {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        image::open(&path).unwrap().into_rgb8()
    }

    fn close(got: f64, expected: f64, what: &str) {
        assert!((got - expected).abs() < 1e-9, "{what}: {got} vs {expected}");
    }

    #[test]
    fn uniform_grey_has_its_luminance_and_nothing_else() {
        let f = photo_features(&RgbImage::from_pixel(64, 48, Rgb([128, 128, 128])));
        close(f.brightness, 128.0 / 255.0, "brightness");
        close(f.contrast, 0.0, "contrast");
        close(f.clutter, 0.0, "clutter");
        close(f.colourfulness, 0.0, "colourfulness");
        close(f.warmth, 0.5, "warmth");
        close(f.window_light, 0.0, "window light");
    }

    #[test]
    fn half_black_half_white_has_the_closed_form_values() {
        // Mean 0.5, σ 0.5 → contrast 1; the only edge is the two columns
        // beside the boundary: 2 of the (w − 2) interior columns.
        let (w, h) = (100u32, 50u32);
        let img = RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let f = photo_features(&img);
        close(f.brightness, 0.5, "brightness");
        close(f.contrast, 1.0, "contrast");
        close(f.clutter, 2.0 / (w as f64 - 2.0), "clutter");
        close(f.window_light, 0.5, "window light");
        close(f.warmth, 0.5, "warmth");
    }

    #[test]
    fn orange_is_warm_and_blue_is_cool() {
        let orange = photo_features(&RgbImage::from_pixel(8, 8, Rgb([255, 140, 0])));
        let blue = photo_features(&RgbImage::from_pixel(8, 8, Rgb([30, 60, 220])));
        close(orange.warmth, 1.0, "orange");
        // 30² / (30² + 220²)
        close(blue.warmth, 900.0 / (900.0 + 48400.0), "blue");
        let tungsten = photo_features(&RgbImage::from_pixel(8, 8, Rgb([200, 160, 120])));
        assert!(
            tungsten.warmth > 0.7 && tungsten.warmth < 1.0,
            "{tungsten:?}"
        );
    }

    #[test]
    fn colourfulness_of_a_two_colour_image_matches_the_hand_computation() {
        // Halves (200,100,100) and (100,100,200): rg = 100 | 0, yb = 50 | −100.
        // σ_rg = 50, σ_yb = 75, μ_rg = 50, μ_yb = −25:
        // M = √(50² + 75²) + 0.3·√(50² + 25²) = 90.1388 + 16.7705 = 106.9093.
        let img = RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                Rgb([200, 100, 100])
            } else {
                Rgb([100, 100, 200])
            }
        });
        let m =
            (50f64.powi(2) + 75f64.powi(2)).sqrt() + 0.3 * (50f64.powi(2) + 25f64.powi(2)).sqrt();
        assert!((m - 106.9093).abs() < 1e-4);
        close(
            photo_features(&img).colourfulness,
            m / 110.0,
            "colourfulness",
        );
    }

    #[test]
    fn tiny_images_do_not_divide_by_zero() {
        let f = photo_features(&RgbImage::from_pixel(1, 1, Rgb([0, 0, 0])));
        close(f.clutter, 0.0, "clutter");
        close(f.warmth, 0.5, "warmth of black");
        close(f.brightness, 0.0, "brightness");
    }

    #[test]
    fn every_feature_of_the_real_fixtures_is_in_the_unit_interval() {
        for name in [
            "images/room_hotel_desk.jpg",
            "images/room_hotel_bed.jpg",
            "images/studio_dark_pano.jpg",
            "images/courtyard_pano.jpg",
            "images/coffee.jpg",
            "edge/grayscale.jpg",
        ] {
            let f = photo_features(&fixture(name));
            for (value, feature) in f.as_array().iter().zip(PhotoFeatures::NAMES) {
                assert!((0.0..=1.0).contains(value), "{name} {feature} = {value}");
            }
        }
    }

    #[test]
    fn the_dark_studio_is_darker_than_the_hotel_room_and_coffee_is_warm_and_colourful() {
        let dark = photo_features(&fixture("images/studio_dark_pano.jpg"));
        let room = photo_features(&fixture("images/room_hotel_desk.jpg"));
        let coffee = photo_features(&fixture("images/coffee.jpg"));
        let grey = photo_features(&fixture("edge/grayscale.jpg"));
        // The fixtures' README: mean luma about 48 for the studio.
        assert!(dark.brightness < 0.25, "{dark:?}");
        assert!(
            room.brightness > dark.brightness + 0.2,
            "{room:?} vs {dark:?}"
        );
        // The hotel desk's window is blown out: some window light, the studio none to speak of.
        assert!(
            room.window_light > dark.window_light,
            "{room:?} vs {dark:?}"
        );
        assert!(coffee.warmth > 0.6, "{coffee:?}");
        assert!(
            coffee.colourfulness > room.colourfulness,
            "{coffee:?} vs {room:?}"
        );
        assert_eq!(grey.colourfulness, 0.0);
        close(grey.warmth, 0.5, "grey warmth");
    }

    #[test]
    fn block_averages_cover_the_ragged_edge() {
        // 5×3 by 2: blocks of 2×2, 1×2, 2×1, 1×1 at the edges.
        let img = RgbImage::from_fn(5, 3, |x, y| Rgb([(10 * x + y) as u8, 0, 255]));
        let small = block_average(&img, 2);
        assert_eq!(small.dimensions(), (3, 2));
        // Top-left block: x 0-1, y 0-1 → (0 + 10 + 1 + 11) / 4 = 5.5 → 6.
        assert_eq!(small.get_pixel(0, 0).0, [6, 0, 255]);
        // Right column, bottom row: the single pixel (4, 2).
        assert_eq!(small.get_pixel(2, 1).0, [42, 0, 255]);
    }

    #[test]
    fn a_downscaled_photo_keeps_its_brightness() {
        // A 12-megapixel-like size is measured on the 256-pixel copy.
        let img = RgbImage::from_fn(1200, 900, |x, y| {
            let v = ((x + y) % 256) as u8;
            Rgb([v, v, v])
        });
        let f = photo_features(&img);
        let full = features_of(&img);
        assert!(
            (f.brightness - full.brightness).abs() < 0.01,
            "{f:?} vs {full:?}"
        );
    }
}
