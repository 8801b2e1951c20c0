//! The single measurements behind the render features, on luma planes and
//! RGB copies, each with its formula: noise (Immerkær), Laplacian spread,
//! Sobel edge maps and their agreement, detail near edges, clipping and
//! opponent chroma. Scales and comparisons with the original are
//! [`super`]'s business.

use image::RgbImage;

use crate::imaging::blur::{Plane, gaussian_blur};

/// Population mean and standard deviation of a plane (0, 0 when empty).
pub fn mean_sd(plane: &Plane) -> (f64, f64) {
    let n = plane.data.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = plane.data.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = plane
        .data
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n as f64;
    (mean, var.sqrt())
}

/// Population variance of the 4-neighbour Laplacian
/// `y[i−w] + y[i+w] + y[i−1] + y[i+1] − 4·y[i]` over interior pixels (the
/// definition of `metrics::laplacian_variance`). 0 below 3×3.
pub fn laplacian_variance(plane: &Plane) -> f64 {
    let (w, h) = (plane.width, plane.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let y = &plane.data;
    let (mut sum, mut squares) = (0.0f64, 0.0f64);
    for r in 1..h - 1 {
        for c in 1..w - 1 {
            let i = r * w + c;
            let v = (y[i - w] + y[i + w] + y[i - 1] + y[i + 1] - 4.0 * y[i]) as f64;
            sum += v;
            squares += v * v;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum / n;
    (squares / n - mean * mean).max(0.0)
}

/// Immerkær's fast noise variance estimate (J. Immerkær, "Fast noise
/// variance estimation", CVIU 64(2), 1996): the plane convolved with
/// `N = [[1, −2, 1], [−2, 4, −2], [1, −2, 1]]` over interior pixels,
/// `σ = √(π/2) · Σ|I ∗ N| / (6 (W − 2)(H − 2))`. For white Gaussian noise of
/// standard deviation σ on a smooth image it returns about σ; 0 below 3×3.
pub fn immerkaer_sigma(plane: &Plane) -> f64 {
    let (w, h) = (plane.width, plane.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let y = &plane.data;
    let mut total = 0.0f64;
    for r in 1..h - 1 {
        for c in 1..w - 1 {
            let i = r * w + c;
            let v = y[i - w - 1] - 2.0 * y[i - w] + y[i - w + 1] - 2.0 * y[i - 1] + 4.0 * y[i]
                - 2.0 * y[i + 1]
                + y[i + w - 1]
                - 2.0 * y[i + w]
                + y[i + w + 1];
            total += v.abs() as f64;
        }
    }
    (std::f64::consts::FRAC_PI_2).sqrt() * total / (6.0 * ((w - 2) * (h - 2)) as f64)
}

/// 3×3 Sobel gradient magnitude (weights 1-2-1); 0 on the border.
pub fn sobel_magnitude(plane: &Plane) -> Plane {
    let (w, h) = (plane.width, plane.height);
    let mut out = Plane::zeros(w, h);
    if w < 3 || h < 3 {
        return out;
    }
    let y = &plane.data;
    for r in 1..h - 1 {
        for c in 1..w - 1 {
            let i = r * w + c;
            let gx = (y[i - w + 1] + 2.0 * y[i + 1] + y[i + w + 1])
                - (y[i - w - 1] + 2.0 * y[i - 1] + y[i + w - 1]);
            let gy = (y[i + w - 1] + 2.0 * y[i + w] + y[i + w + 1])
                - (y[i - w - 1] + 2.0 * y[i - w] + y[i - w + 1]);
            out.data[i] = (gx * gx + gy * gy).sqrt();
        }
    }
    out
}

/// The share of pixels that count as edges in [`edge_map`]: the strongest
/// 12% of gradients. A share rather than a fixed threshold keeps the map
/// the same under a tone change that scales every gradient.
pub const EDGE_SHARE: f64 = 0.12;

/// Gradients (luma 0–255, Sobel scale: a full black-to-white step gives
/// 1020) below this are never edges, so a flat image has none.
pub const EDGE_FLOOR: f32 = 8.0;

/// The edge map of a luma plane at layout scale: blurred with a Gaussian
/// of σ `blur` first (so texture and noise do not count), then the
/// strongest [`EDGE_SHARE`] of Sobel gradients above [`EDGE_FLOOR`].
pub fn edge_map(luma: &Plane, blur: f32) -> Vec<bool> {
    let mut smooth = luma.clone();
    gaussian_blur(&mut smooth, blur);
    let magnitude = sobel_magnitude(&smooth);
    let threshold = quantile(&magnitude.data, 1.0 - EDGE_SHARE).max(EDGE_FLOOR);
    magnitude.data.iter().map(|&m| m >= threshold).collect()
}

/// The `q` quantile (0–1) of `values` by the nearest rank; 0 when empty.
pub fn quantile(values: &[f32], q: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    let rank = ((q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).round()) as usize;
    let (_, value, _) = sorted.select_nth_unstable_by(rank, |a, b| a.total_cmp(b));
    *value
}

/// `mask` grown by `radius` pixels in every direction (a square window).
pub fn dilate(mask: &[bool], width: usize, height: usize, radius: usize) -> Vec<bool> {
    let mut rows = vec![false; mask.len()];
    for y in 0..height {
        for x in 0..width {
            if mask[y * width + x] {
                let (x0, x1) = (x.saturating_sub(radius), (x + radius).min(width - 1));
                rows[y * width + x0..=y * width + x1].fill(true);
            }
        }
    }
    let mut out = vec![false; mask.len()];
    for y in 0..height {
        let (y0, y1) = (y.saturating_sub(radius), (y + radius).min(height - 1));
        for x in 0..width {
            out[y * width + x] = (y0..=y1).any(|yy| rows[yy * width + x]);
        }
    }
    out
}

/// Agreement of two edge maps with a tolerance: precision is the share of
/// `b`'s edges within `tolerance` pixels of an edge of `a`, recall the
/// share of `a`'s edges within `tolerance` of one of `b`'s, and the result
/// their harmonic mean (F1, which is Dice for exact matches). 1 when
/// neither map has an edge, 0 when only one has.
pub fn edge_f1(a: &[bool], b: &[bool], width: usize, height: usize, tolerance: usize) -> f64 {
    let (count_a, count_b) = (
        a.iter().filter(|&&e| e).count(),
        b.iter().filter(|&&e| e).count(),
    );
    if count_a == 0 && count_b == 0 {
        return 1.0;
    }
    if count_a == 0 || count_b == 0 {
        return 0.0;
    }
    let near_a = dilate(a, width, height, tolerance);
    let near_b = dilate(b, width, height, tolerance);
    let precision =
        b.iter().zip(&near_a).filter(|(e, n)| **e && **n).count() as f64 / count_b as f64;
    let recall = a.iter().zip(&near_b).filter(|(e, n)| **e && **n).count() as f64 / count_a as f64;
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// RMS of the detail layer `L − G_σ(L)` over the pixels of `mask`
/// (0 when the mask is empty).
pub fn detail_rms(luma: &Plane, sigma: f32, mask: &[bool]) -> f64 {
    let mut smooth = luma.clone();
    gaussian_blur(&mut smooth, sigma);
    let (mut sum, mut n) = (0.0f64, 0usize);
    for ((v, s), m) in luma.data.iter().zip(&smooth.data).zip(mask) {
        if *m {
            sum += ((v - s) as f64).powi(2);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { (sum / n as f64).sqrt() }
}

/// Shares of pixels whose every channel is at least `high` and at most
/// `low`: (highlight clipping, shadow clipping).
pub fn clipping_shares(rgb: &RgbImage, high: u8, low: u8) -> (f64, f64) {
    let n = (rgb.width() as usize * rgb.height() as usize).max(1) as f64;
    let (mut bright, mut dark) = (0usize, 0usize);
    for p in rgb.pixels() {
        if p.0.iter().all(|&v| v >= high) {
            bright += 1;
        }
        if p.0.iter().all(|&v| v <= low) {
            dark += 1;
        }
    }
    (bright as f64 / n, dark as f64 / n)
}

/// Mean opponent chroma (`R − G`, `(R + G)/2 − B`) on 0–255 values: the
/// grey-world colour of the picture, (0, 0) when neutral.
pub fn mean_opponent_chroma(rgb: &RgbImage) -> (f64, f64) {
    let n = (rgb.width() as usize * rgb.height() as usize).max(1) as f64;
    let (mut rg, mut yb) = (0.0f64, 0.0f64);
    for p in rgb.pixels() {
        let [r, g, b] = p.0.map(|v| v as f64);
        rg += r - g;
        yb += 0.5 * (r + g) - b;
    }
    (rg / n, yb / n)
}

/// The lowest mean of `values` (row-major, `width × height`) over a
/// `tiles × tiles` grid of near-equal tiles (fewer when a side is shorter
/// than `tiles`); the mean of all when there is one tile.
pub fn lowest_tile_mean(values: &[f64], width: usize, height: usize, tiles: usize) -> f64 {
    let (tx, ty) = (tiles.clamp(1, width.max(1)), tiles.clamp(1, height.max(1)));
    let mut lowest = f64::INFINITY;
    for j in 0..ty {
        let rows = j * height / ty..(j + 1) * height / ty;
        for i in 0..tx {
            let cols = i * width / tx..(i + 1) * width / tx;
            let (mut sum, mut n) = (0.0, 0usize);
            for y in rows.clone() {
                for v in &values[y * width + cols.start..y * width + cols.end] {
                    sum += v;
                    n += 1;
                }
            }
            if n > 0 {
                lowest = lowest.min(sum / n as f64);
            }
        }
    }
    if lowest.is_finite() { lowest } else { 1.0 }
}

/// The SSIM structure term `(σxy + C3)/(σx σy + C3)` (C3 = (0.03·255)²/2)
/// over the whole of two equally sized planes: the fallback when a plane
/// is too small for SSIM's 11×11 windows.
pub fn global_structure(a: &Plane, b: &Plane) -> f64 {
    let n = a.data.len().min(b.data.len());
    if n == 0 {
        return 1.0;
    }
    let (ma, sa) = mean_sd(a);
    let (mb, sb) = mean_sd(b);
    let cov = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| (x as f64 - ma) * (y as f64 - mb))
        .sum::<f64>()
        / n as f64;
    let c3 = (0.03f64 * 255.0).powi(2) / 2.0;
    (cov + c3) / (sa * sb + c3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    fn plane(width: usize, height: usize, mut f: impl FnMut(usize, usize) -> f32) -> Plane {
        Plane {
            width,
            height,
            data: (0..height)
                .flat_map(|y| (0..width).map(move |x| (x, y)))
                .map(|(x, y)| f(x, y))
                .collect(),
        }
    }

    #[test]
    fn immerkaer_is_zero_on_flat_and_linear_ramps() {
        // N annihilates constants and linear functions of x and y.
        assert_eq!(immerkaer_sigma(&plane(50, 40, |_, _| 120.0)), 0.0);
        let ramp = plane(50, 40, |x, y| 2.0 * x as f32 + 3.0 * y as f32);
        assert!(immerkaer_sigma(&ramp) < 1e-3);
    }

    #[test]
    fn immerkaer_recovers_the_sigma_of_gaussian_noise() {
        // Σ|N ∗ n| for white noise of σ: the filter's weights have
        // Σw² = 36, so each response is N(0, 36σ²) and E|·| = 6σ√(2/π).
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for sigma in [2.0f32, 5.0, 10.0] {
            let noise = Normal::new(0.0f32, sigma).unwrap();
            let p = plane(400, 300, |_, _| 128.0 + noise.sample(&mut rng));
            let got = immerkaer_sigma(&p);
            assert!((got / sigma as f64 - 1.0).abs() < 0.02, "σ {sigma}: {got}");
        }
    }

    #[test]
    fn laplacian_variance_of_a_checkerboard_is_the_closed_form() {
        // ±a checkerboard: every interior Laplacian is ∓8a, so var = 64a².
        let p = plane(20, 20, |x, y| if (x + y) % 2 == 0 { 10.0 } else { -10.0 });
        assert!((laplacian_variance(&p) - 6400.0).abs() < 1e-6);
        assert_eq!(laplacian_variance(&plane(2, 9, |_, _| 1.0)), 0.0);
    }

    #[test]
    fn the_f1_of_a_map_with_itself_is_one_and_a_one_pixel_shift_is_tolerated() {
        let (w, h) = (30, 20);
        let line = |col: usize| -> Vec<bool> { (0..w * h).map(|i| i % w == col).collect() };
        assert_eq!(edge_f1(&line(10), &line(10), w, h, 1), 1.0);
        assert_eq!(edge_f1(&line(10), &line(11), w, h, 1), 1.0);
        assert_eq!(edge_f1(&line(10), &line(11), w, h, 0), 0.0);
        assert_eq!(edge_f1(&line(10), &line(13), w, h, 1), 0.0);
        // Half of b's edges on a: precision 1/2, recall 1 → F1 2/3.
        let both: Vec<bool> = line(10)
            .iter()
            .zip(line(20))
            .map(|(a, b)| *a || b)
            .collect();
        assert!((edge_f1(&line(10), &both, w, h, 1) - 2.0 / 3.0).abs() < 1e-12);
        let none = vec![false; w * h];
        assert_eq!(edge_f1(&none, &none, w, h, 1), 1.0);
        assert_eq!(edge_f1(&line(3), &none, w, h, 1), 0.0);
    }

    #[test]
    fn a_flat_plane_has_no_edges_and_a_step_has_them_where_it_steps() {
        assert!(!edge_map(&plane(40, 30, |_, _| 90.0), 1.0).contains(&true));
        let step = plane(40, 30, |x, _| if x < 20 { 20.0 } else { 220.0 });
        let map = edge_map(&step, 1.0);
        for (i, e) in map.iter().enumerate() {
            if *e {
                assert!((17..=22).contains(&(i % 40)), "edge at column {}", i % 40);
            }
        }
        assert!(map.contains(&true));
    }

    #[test]
    fn clipping_shares_count_exactly() {
        // 10×10: 30 white, 20 black, 5 with one channel at 255 only.
        let img = RgbImage::from_fn(10, 10, |x, y| match y * 10 + x {
            0..30 => Rgb([255, 252, 250]),
            30..50 => Rgb([0, 5, 3]),
            50..55 => Rgb([255, 100, 100]),
            _ => Rgb([128, 128, 128]),
        });
        assert_eq!(clipping_shares(&img, 250, 5), (0.3, 0.2));
    }

    #[test]
    fn the_lowest_tile_mean_finds_the_worst_quarter() {
        // 4×4 values, 2×2 tiles: the bottom-right tile holds 0, 0, 0, 2.
        let values = [
            1.0, 1.0, 2.0, 2.0, //
            1.0, 1.0, 2.0, 2.0, //
            3.0, 3.0, 0.0, 0.0, //
            3.0, 3.0, 0.0, 2.0,
        ];
        assert_eq!(lowest_tile_mean(&values, 4, 4, 2), 0.5);
        assert_eq!(lowest_tile_mean(&values, 4, 4, 1), 26.0 / 16.0);
        assert_eq!(lowest_tile_mean(&[], 0, 0, 4), 1.0);
    }

    #[test]
    fn opponent_chroma_and_global_structure_have_their_closed_forms() {
        let grey = RgbImage::from_pixel(4, 4, Rgb([90, 90, 90]));
        assert_eq!(mean_opponent_chroma(&grey), (0.0, 0.0));
        let orange = RgbImage::from_pixel(4, 4, Rgb([200, 100, 0]));
        assert_eq!(mean_opponent_chroma(&orange), (100.0, 150.0));
        let a = plane(5, 5, |x, y| (x * 7 + y * 3) as f32);
        let b = plane(5, 5, |x, y| 2.0 * (x * 7 + y * 3) as f32 + 10.0);
        assert!((global_structure(&a, &a) - 1.0).abs() < 1e-12);
        assert!((global_structure(&a, &b) - 1.0).abs() < 1e-12);
        let negated = plane(5, 5, |x, y| 200.0 - (x * 7 + y * 3) as f32);
        assert!(global_structure(&a, &negated) < 0.0);
    }
}
