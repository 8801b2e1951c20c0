//! A simulated designer who looks at pixels: a hidden taste over image
//! properties measured by this file's own code — deliberately not the
//! reward model's feature code (`imaging::context`, `imaging::metrics`,
//! `imaging::quality`), so the model cannot win by reading the designer's
//! own formula back.
//!
//! What the designer sees in a render (all on gamma-encoded values in 0–1):
//! - **luminance**: mean of `(R + G + B)/3`; they want it near a target;
//! - **saturation**: mean HSV saturation `(max − min)/max`; near a target;
//! - **crispness**: mean absolute forward difference of grey, as a ratio
//!   to the photo's; near a target ratio (soft renders and halos both lose);
//! - **structure**: Pearson correlation of the render's and the photo's
//!   grey on a 40 × 30 grid of block means; below 0.9 costs, steeply;
//! - **clipping**: share of pixels with a channel at ≤ 2/255 or ≥ 253/255.
//!
//! True quality `q = 5 − Σ wᵢ·penaltyᵢ`, clamped to 1–5, the penalties
//! `((L − L*)/0.1)²`, `((S − S*)/0.1)²`, `((ln c − ln c*)/0.35)²`,
//! `(max(0, 0.9 − ρ)/0.06)²` and `clipped/0.05`, with targets and
//! weights drawn per designer from the seed; a rating is
//! `round(q + ε)`, `ε ~ N(0, σ²)`, clamped to 1–5 stars.

use image::RgbImage;
use rand::rngs::StdRng;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Normal};
use serde::Serialize;

/// One simulated designer's hidden taste.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PixelTaste {
    /// Preferred mean luminance.
    pub luminance: f64,
    /// Preferred mean HSV saturation.
    pub saturation: f64,
    /// Preferred crispness relative to the photo.
    pub crispness: f64,
    /// Weights of the five penalties (luminance, saturation, crispness,
    /// structure, clipping), stars per unit penalty.
    pub weights: [f64; 5],
    /// Rating noise, stars (sd before rounding).
    pub noise_sd: f64,
}

/// What the designer measures of one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Looks {
    /// Mean `(R + G + B)/3`, 0–1.
    pub luminance: f64,
    /// Mean HSV saturation, 0–1.
    pub saturation: f64,
    /// Mean absolute horizontal and vertical grey difference, 0–1.
    pub gradient: f64,
    /// Share of pixels with a clipped channel.
    pub clipped: f64,
}

/// Grid the structure is compared on.
const GRID: (usize, usize) = (40, 30);

impl PixelTaste {
    /// A designer drawn from `rng`.
    pub fn draw(rng: &mut StdRng) -> Self {
        PixelTaste {
            luminance: rng.random_range(0.42..0.56),
            saturation: rng.random_range(0.22..0.38),
            crispness: rng.random_range(1.0..1.6),
            weights: [
                rng.random_range(0.3..0.6),
                rng.random_range(0.2..0.5),
                rng.random_range(0.3..0.7),
                rng.random_range(0.6..1.2),
                rng.random_range(0.2..0.5),
            ],
            noise_sd: 0.5,
        }
    }

    /// True quality of `render` of `photo` (whose looks are `photo_looks`), 1–5.
    pub fn quality(&self, photo: &RgbImage, photo_looks: &Looks, render: &RgbImage) -> f64 {
        let r = looks(render);
        let crisp = (r.gradient.max(1e-6) / photo_looks.gradient.max(1e-6)).ln();
        let penalties = [
            ((r.luminance - self.luminance) / 0.1).powi(2),
            ((r.saturation - self.saturation) / 0.1).powi(2),
            ((crisp - self.crispness.ln()) / 0.35).powi(2),
            ((0.9 - structure(photo, render)).max(0.0) / 0.06).powi(2),
            r.clipped / 0.05,
        ];
        let loss: f64 = penalties
            .iter()
            .zip(&self.weights)
            .map(|(p, w)| p * w)
            .sum();
        (5.0 - loss).clamp(1.0, 5.0)
    }

    /// Whole stars for a render of true quality `q`.
    pub fn stars(&self, q: f64, rng: &mut impl Rng) -> u8 {
        let noise = Normal::new(0.0, self.noise_sd).map_or(0.0, |n| n.sample(rng));
        (q + noise).round().clamp(1.0, 5.0) as u8
    }

    /// Which of two renders the designer says is better at one look
    /// (`true`: the first), from noisy readings of their qualities.
    pub fn prefers_first(&self, q_first: f64, q_second: f64, rng: &mut impl Rng) -> bool {
        let normal = Normal::new(0.0, self.noise_sd).ok();
        let mut read = |q: f64| q + normal.map_or(0.0, |n| n.sample(rng));
        read(q_first) >= read(q_second)
    }
}

/// The designer's measurements of `img`.
pub fn looks(img: &RgbImage) -> Looks {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let n = (w * h).max(1) as f64;
    let mut grey = Vec::with_capacity(w * h);
    let (mut lum, mut sat, mut clipped) = (0.0, 0.0, 0usize);
    for p in img.pixels() {
        let [r, g, b] = p.0.map(|v| f64::from(v) / 255.0);
        let y = (r + g + b) / 3.0;
        grey.push(y);
        lum += y;
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        if max > 0.0 {
            sat += (max - min) / max;
        }
        if p.0.iter().any(|&c| c <= 2 || c >= 253) {
            clipped += 1;
        }
    }
    let mut gradient = 0.0;
    let mut count = 0usize;
    for y in 0..h {
        for x in 0..w {
            let v = grey[y * w + x];
            if x + 1 < w {
                gradient += (grey[y * w + x + 1] - v).abs();
                count += 1;
            }
            if y + 1 < h {
                gradient += (grey[(y + 1) * w + x] - v).abs();
                count += 1;
            }
        }
    }
    Looks {
        luminance: lum / n,
        saturation: sat / n,
        gradient: gradient / count.max(1) as f64,
        clipped: clipped as f64 / n,
    }
}

/// Pearson correlation of the two images' grey on a [`GRID`] of block
/// means (1 for identical layouts; 0 when either is flat or sizes differ).
pub fn structure(a: &RgbImage, b: &RgbImage) -> f64 {
    if a.dimensions() != b.dimensions() {
        return 0.0;
    }
    let (ga, gb) = (grid(a), grid(b));
    let n = ga.len() as f64;
    let (ma, mb) = (ga.iter().sum::<f64>() / n, gb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ga.iter().zip(&gb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return 0.0;
    }
    sab / (saa * sbb).sqrt()
}

fn grid(img: &RgbImage) -> Vec<f64> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut sums = vec![0.0; GRID.0 * GRID.1];
    let mut counts = vec![0usize; GRID.0 * GRID.1];
    for (x, y, p) in img.enumerate_pixels() {
        let cell = (y as usize * GRID.1 / h.max(1)) * GRID.0 + (x as usize * GRID.0 / w.max(1));
        sums[cell] += p.0.iter().map(|&c| f64::from(c)).sum::<f64>();
        counts[cell] += 1;
    }
    sums.iter()
        .zip(&counts)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use rand::SeedableRng;

    #[test]
    fn looks_of_known_images() {
        // Pure red: luminance 1/3, saturation 1, no gradient, clipped.
        let red = RgbImage::from_pixel(8, 8, Rgb([255, 0, 0]));
        let l = looks(&red);
        assert!((l.luminance - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((l.saturation, l.gradient, l.clipped), (1.0, 0.0, 1.0));
        // Vertical stripes 0/102: every horizontal step is 0.4, vertical 0;
        // 8 columns → 7·8 horizontal + 8·7 vertical differences.
        let stripes = RgbImage::from_fn(8, 8, |x, _| Rgb([(x % 2 * 102) as u8; 3]));
        let expected = 7.0 * 8.0 * 0.4 / (7.0 * 8.0 + 8.0 * 7.0);
        assert!((looks(&stripes).gradient - expected).abs() < 1e-12);
    }

    #[test]
    fn structure_is_one_for_a_tone_change_and_falls_for_a_flip() {
        let photo = RgbImage::from_fn(80, 60, |x, y| Rgb([(x * 3) as u8, (y * 4) as u8, 90]));
        let brighter = RgbImage::from_fn(80, 60, |x, y| {
            let p = photo.get_pixel(x, y).0;
            Rgb(p.map(|c| (f64::from(c) * 0.8 + 30.0) as u8))
        });
        assert!(structure(&photo, &brighter) > 0.999);
        let flipped = image::imageops::flip_horizontal(&photo);
        assert!(structure(&photo, &flipped) < 0.8);
    }

    #[test]
    fn the_photo_itself_loses_only_what_the_taste_asks_for() {
        let photo = RgbImage::from_fn(80, 60, |x, y| {
            Rgb([(60 + x * 2) as u8, (60 + y * 2) as u8, 100])
        });
        let l = looks(&photo);
        let taste = PixelTaste {
            luminance: l.luminance,
            saturation: l.saturation,
            crispness: 1.0,
            weights: [1.0; 5],
            noise_sd: 0.5,
        };
        // On every target, full structure, nothing clipped: 5 stars.
        assert!((taste.quality(&photo, &l, &photo) - 5.0).abs() < 1e-9);
        let off = PixelTaste {
            luminance: l.luminance + 0.1,
            ..taste.clone()
        };
        assert!((off.quality(&photo, &l, &photo) - 4.0).abs() < 1e-9);
        let mut rng = StdRng::seed_from_u64(1);
        assert!((1..=5).contains(&taste.stars(4.4, &mut rng)));
    }
}
