//! Gaussian blur of a single-channel float plane in O(1) per pixel.
//!
//! Three successive box blurs approximate a Gaussian (central limit theorem;
//! box sizes from W. Jarosz / I. Kutskir, "Fastest Gaussian blur"): each box
//! pass is a running sum, so the cost does not grow with the radius. Edges
//! replicate the border pixel. Rows (and row bands of the vertical pass) run
//! in parallel with rayon.

use rayon::prelude::*;

/// A row-major single-channel image of `f32` samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// Width in samples.
    pub width: usize,
    /// Height in samples.
    pub height: usize,
    /// `width * height` samples, row-major.
    pub data: Vec<f32>,
}

impl Plane {
    /// A plane of zeros.
    pub fn zeros(width: usize, height: usize) -> Self {
        Plane {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }

    /// The sample at (x, y).
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }
}

/// Odd box widths whose three successive passes approximate a Gaussian of `sigma`.
pub fn box_sizes(sigma: f32) -> [usize; 3] {
    let n = 3.0f32;
    let ideal = (12.0 * sigma * sigma / n + 1.0).sqrt();
    let mut lower = ideal.floor() as i64;
    if lower % 2 == 0 {
        lower -= 1;
    }
    let lower = lower.max(1);
    let upper = lower + 2;
    let l = lower as f32;
    let m = ((12.0 * sigma * sigma - n * l * l - 4.0 * n * l - 3.0 * n) / (-4.0 * l - 4.0))
        .round()
        .clamp(0.0, 3.0) as usize;
    let mut sizes = [upper as usize; 3];
    for size in sizes.iter_mut().take(m) {
        *size = lower as usize;
    }
    sizes
}

/// Blurs `plane` in place with a Gaussian of standard deviation `sigma` (samples).
/// `sigma < 0.5` leaves it unchanged.
pub fn gaussian_blur(plane: &mut Plane, sigma: f32) {
    if sigma < 0.5 || plane.data.is_empty() {
        return;
    }
    let mut scratch = vec![0.0f32; plane.data.len()];
    let (w, h) = (plane.width, plane.height);
    let radii = box_sizes(sigma).map(|s| s / 2);
    // Ping-pong between the plane and one scratch buffer: 6 passes, ends in `plane`.
    for r in radii {
        box_horizontal(&plane.data, &mut scratch, w, r);
        std::mem::swap(&mut plane.data, &mut scratch);
    }
    for r in radii {
        box_vertical(&plane.data, &mut scratch, w, h, r);
        std::mem::swap(&mut plane.data, &mut scratch);
    }
}

fn box_horizontal(src: &[f32], dst: &mut [f32], width: usize, radius: usize) {
    let inv = 1.0 / (2 * radius + 1) as f32;
    let last = width - 1;
    dst.par_chunks_mut(width)
        .zip(src.par_chunks(width))
        .for_each(|(out, row)| {
            let mut acc: f32 = (0..=2 * radius)
                .map(|k| row[(k as isize - radius as isize).clamp(0, last as isize) as usize])
                .sum();
            for x in 0..width {
                out[x] = acc * inv;
                acc += row[(x + radius + 1).min(last)] - row[x.saturating_sub(radius)];
            }
        });
}

fn box_vertical(src: &[f32], dst: &mut [f32], width: usize, height: usize, radius: usize) {
    let inv = 1.0 / (2 * radius + 1) as f32;
    let last = height - 1;
    let band = height
        .div_ceil(rayon::current_num_threads().max(1) * 4)
        .max(1);
    dst.par_chunks_mut(band * width)
        .enumerate()
        .for_each(|(b, out)| {
            let y0 = b * band;
            let row = |y: isize| {
                let y = y.clamp(0, last as isize) as usize;
                &src[y * width..(y + 1) * width]
            };
            let mut acc = vec![0.0f32; width];
            for k in -(radius as isize)..=(radius as isize) {
                for (a, v) in acc.iter_mut().zip(row(y0 as isize + k)) {
                    *a += v;
                }
            }
            for (i, out_row) in out.chunks_mut(width).enumerate() {
                let y = (y0 + i) as isize;
                for (o, a) in out_row.iter_mut().zip(&acc) {
                    *o = a * inv;
                }
                let add = row(y + radius as isize + 1);
                let sub = row(y - radius as isize);
                for ((a, p), m) in acc.iter_mut().zip(add).zip(sub) {
                    *a += p - m;
                }
            }
        });
}

/// Averages `factor`×`factor` blocks (partial blocks at the edges average
/// what they hold). `factor` 1 copies.
pub fn downsample(plane: &Plane, factor: usize) -> Plane {
    let factor = factor.max(1);
    let w = plane.width.div_ceil(factor);
    let h = plane.height.div_ceil(factor);
    let mut out = Plane::zeros(w, h);
    out.data
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(by, out_row)| {
            let ys = by * factor..((by + 1) * factor).min(plane.height);
            for (bx, o) in out_row.iter_mut().enumerate() {
                let xs = bx * factor..((bx + 1) * factor).min(plane.width);
                let mut sum = 0.0f32;
                for y in ys.clone() {
                    sum += plane.data[y * plane.width + xs.start..y * plane.width + xs.end]
                        .iter()
                        .sum::<f32>();
                }
                *o = sum / (ys.len() * xs.len()) as f32;
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_sizes_match_the_target_variance() {
        // Three odd integer widths cannot hit every sigma: small ones are coarser.
        for (sigma, tolerance) in [(1.0f32, 0.2), (2.5, 0.15), (6.0, 0.05), (25.0, 0.02)] {
            // A box of width w has variance (w^2 - 1) / 12; variances add.
            let var: f32 = box_sizes(sigma)
                .iter()
                .map(|&w| ((w * w) as f32 - 1.0) / 12.0)
                .sum();
            assert!(
                (var.sqrt() - sigma).abs() / sigma < tolerance,
                "sigma {sigma}: {}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn blur_preserves_a_constant_and_the_mean_of_an_impulse() {
        let mut flat = Plane {
            width: 40,
            height: 30,
            data: vec![7.5; 1200],
        };
        gaussian_blur(&mut flat, 4.0);
        assert!(flat.data.iter().all(|v| (v - 7.5).abs() < 1e-4));

        let mut impulse = Plane::zeros(101, 101);
        impulse.data[50 * 101 + 50] = 1000.0;
        gaussian_blur(&mut impulse, 5.0);
        let total: f32 = impulse.data.iter().sum();
        assert!((total - 1000.0).abs() < 0.5, "mass {total}");
        // Second moment along x matches sigma^2 within the box approximation.
        let var: f32 = (0..101)
            .flat_map(|y| (0..101).map(move |x| (x, y)))
            .map(|(x, y)| impulse.at(x, y) * ((x as f32 - 50.0).powi(2)))
            .sum::<f32>()
            / total;
        assert!((var.sqrt() - 5.0).abs() < 0.5, "sd {}", var.sqrt());
        // Symmetric and peaked at the centre.
        assert!((impulse.at(45, 50) - impulse.at(55, 50)).abs() < 1e-3);
        assert!(impulse.at(50, 50) > impulse.at(53, 50));
    }

    #[test]
    fn downsample_averages_blocks() {
        let plane = Plane {
            width: 3,
            height: 2,
            data: vec![1.0, 3.0, 10.0, 5.0, 7.0, 20.0],
        };
        let out = downsample(&plane, 2);
        assert_eq!((out.width, out.height), (2, 1));
        assert_eq!(out.data, vec![4.0, 15.0]);
    }
}
