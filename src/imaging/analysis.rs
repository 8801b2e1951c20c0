//! What the built-in engines need to know about a photo, computed once and
//! shared by every variant: a fine and a coarse blur of its luma, and its
//! tonal and colour statistics.
//!
//! Both blur radii scale with the image diagonal so that a 12-megapixel photo
//! and its 800-pixel preview get the same look. The coarse blur is taken at
//! reduced resolution (block average, then a proportionally smaller
//! Gaussian) and sampled back bilinearly; the block size keeps the reduced
//! sigma at 4 samples or more, so the approximation error is far below one
//! grey level while the cost and memory drop by the block area.

use image::RgbImage;
use rayon::prelude::*;

use super::blur::{Plane, downsample, gaussian_blur};
use super::luma;

/// Tonal and colour statistics of a photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Luma below which 0.5% of pixels lie (0–255).
    pub low: f32,
    /// Luma above which 0.5% of pixels lie (0–255).
    pub high: f32,
    /// Median luma (0–255).
    pub median: f32,
    /// Mean luma (0–255).
    pub mean_luma: f32,
    /// Mean of R, G and B (0–255).
    pub channel_means: [f32; 3],
}

/// The shared analysis of one photo.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Width of the photo.
    pub width: usize,
    /// Height of the photo.
    pub height: usize,
    /// Luma blurred with sigma [`Analysis::fine_sigma`], full resolution.
    pub fine: Plane,
    /// Luma blurred with sigma [`Analysis::coarse_sigma`], at 1/`coarse_factor` resolution.
    pub coarse: Plane,
    /// Block size of `coarse`.
    pub coarse_factor: usize,
    /// Sigma of the fine blur, in pixels.
    pub fine_sigma: f32,
    /// Sigma of the coarse blur, in pixels of the photo.
    pub coarse_sigma: f32,
    /// Tonal and colour statistics.
    pub stats: Stats,
}

impl Analysis {
    /// Analyses an RGB photo (any size ≥ 1×1).
    pub fn of(rgb: &RgbImage) -> Analysis {
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        let diagonal = ((w * w + h * h) as f32).sqrt();
        let fine_sigma = (diagonal / 2500.0).clamp(0.8, 3.0);
        let coarse_sigma = (diagonal * 0.006).max(1.0);
        let coarse_factor = ((coarse_sigma / 4.0).floor() as usize).max(1);

        let mut luma_plane = Plane::zeros(w, h);
        let (hist, sums) = luma_plane
            .data
            .par_chunks_mut(w)
            .zip(rgb.as_raw().par_chunks(w * 3))
            .map(|(out, row)| {
                let mut hist = [0u64; 256];
                let mut sums = [0f64; 4];
                let mut row_sums = [0f32; 4];
                for (o, px) in out.iter_mut().zip(row.chunks_exact(3)) {
                    let y = luma([px[0], px[1], px[2]]);
                    *o = y;
                    hist[(y + 0.5) as usize] += 1;
                    row_sums[0] += px[0] as f32;
                    row_sums[1] += px[1] as f32;
                    row_sums[2] += px[2] as f32;
                    row_sums[3] += y;
                }
                for (s, r) in sums.iter_mut().zip(row_sums) {
                    *s += r as f64;
                }
                (hist, sums)
            })
            .reduce(
                || ([0u64; 256], [0f64; 4]),
                |(mut ha, mut sa), (hb, sb)| {
                    ha.iter_mut().zip(hb).for_each(|(a, b)| *a += b);
                    sa.iter_mut().zip(sb).for_each(|(a, b)| *a += b);
                    (ha, sa)
                },
            );
        let n = (w * h) as f64;
        let stats = Stats {
            low: percentile(&hist, 0.005),
            high: percentile(&hist, 0.995),
            median: percentile(&hist, 0.5),
            mean_luma: (sums[3] / n) as f32,
            channel_means: [
                (sums[0] / n) as f32,
                (sums[1] / n) as f32,
                (sums[2] / n) as f32,
            ],
        };

        let mut coarse = downsample(&luma_plane, coarse_factor);
        gaussian_blur(&mut coarse, coarse_sigma / coarse_factor as f32);
        let mut fine = luma_plane;
        gaussian_blur(&mut fine, fine_sigma);

        Analysis {
            width: w,
            height: h,
            fine,
            coarse,
            coarse_factor,
            fine_sigma,
            coarse_sigma,
            stats,
        }
    }
}

/// The luma value below which `q` of the pixels lie.
fn percentile(hist: &[u64; 256], q: f64) -> f32 {
    let total: u64 = hist.iter().sum();
    let target = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (value, count) in hist.iter().enumerate() {
        seen += count;
        if seen >= target {
            return value as f32;
        }
    }
    255.0
}

/// Bilinear sampling of a reduced-resolution plane at full-resolution pixel
/// centres, precomputed per column and per row.
pub struct Upsampler {
    cols: Vec<(usize, usize, f32)>,
    rows: Vec<(usize, usize, f32)>,
}

impl Upsampler {
    /// Sampling positions for a plane reduced by `factor` from `width`×`height`.
    pub fn new(plane: &Plane, factor: usize, width: usize, height: usize) -> Self {
        let axis = |n: usize, len: usize| {
            (0..n)
                .map(|i| {
                    let pos = ((i as f32 + 0.5) / factor as f32 - 0.5).max(0.0);
                    let i0 = (pos.floor() as usize).min(len - 1);
                    let i1 = (i0 + 1).min(len - 1);
                    (i0, i1, pos - i0 as f32)
                })
                .collect()
        };
        Upsampler {
            cols: axis(width, plane.width),
            rows: axis(height, plane.height),
        }
    }

    /// Fills `out` with the plane's values along full-resolution row `y`.
    pub fn row(&self, plane: &Plane, y: usize, out: &mut [f32]) {
        let (y0, y1, fy) = self.rows[y];
        let r0 = &plane.data[y0 * plane.width..(y0 + 1) * plane.width];
        let r1 = &plane.data[y1 * plane.width..(y1 + 1) * plane.width];
        for (o, &(x0, x1, fx)) in out.iter_mut().zip(&self.cols) {
            let top = r0[x0] + fx * (r0[x1] - r0[x0]);
            let bottom = r1[x0] + fx * (r1[x1] - r1[x0]);
            *o = top + fy * (bottom - top);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_a_two_tone_image() {
        // Left half black, right half white: median splits, means are 127.5.
        let img = RgbImage::from_fn(100, 50, |x, _| {
            if x < 50 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let a = Analysis::of(&img);
        assert_eq!(a.stats.low, 0.0);
        assert_eq!(a.stats.high, 255.0);
        assert_eq!(a.stats.median, 0.0);
        assert!((a.stats.mean_luma - 127.5).abs() < 0.01);
        assert!((a.stats.channel_means[0] - 127.5).abs() < 0.01);
    }

    #[test]
    fn upsampled_coarse_plane_tracks_a_full_resolution_blur() {
        // A smooth ramp survives block averaging and bilinear sampling almost exactly.
        let img = RgbImage::from_fn(1600, 1200, |x, y| {
            let v = ((x + y) as f32 / 2800.0 * 255.0) as u8;
            image::Rgb([v, v, v])
        });
        let a = Analysis::of(&img);
        assert!(a.coarse_factor > 1);
        let up = Upsampler::new(&a.coarse, a.coarse_factor, a.width, a.height);
        let mut row = vec![0.0; a.width];
        up.row(&a.coarse, 600, &mut row);
        for x in (200..1400).step_by(97) {
            let expected = luma(img.get_pixel(x as u32, 600).0);
            assert!(
                (row[x] - expected).abs() < 1.5,
                "x={x}: {} vs {expected}",
                row[x]
            );
        }
    }
}
