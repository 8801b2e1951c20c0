//! Image quality metrics, defined precisely so they can be compared with
//! reference implementations.
//!
//! All work on Rec. 601 luma of 8-bit values (see the module root) unless
//! said otherwise, with population statistics.

use image::RgbImage;

use super::luma;

fn luma_plane(img: &RgbImage) -> Vec<f64> {
    img.pixels().map(|p| luma(p.0) as f64).collect()
}

/// Mean luma, 0–255.
pub fn mean_luma(img: &RgbImage) -> f64 {
    let plane = luma_plane(img);
    plane.iter().sum::<f64>() / plane.len().max(1) as f64
}

/// RMS contrast: the population standard deviation of luma.
pub fn rms_contrast(img: &RgbImage) -> f64 {
    let plane = luma_plane(img);
    let n = plane.len().max(1) as f64;
    let mean = plane.iter().sum::<f64>() / n;
    (plane.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// Colourfulness of Hasler and Süsstrunk (2003):
/// `sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²)` with `rg = R − G`,
/// `yb = (R + G)/2 − B`. 0 for a grey image.
pub fn colourfulness(img: &RgbImage) -> f64 {
    let n = (img.width() * img.height()).max(1) as f64;
    let (mut s_rg, mut s_yb, mut q_rg, mut q_yb) = (0.0, 0.0, 0.0, 0.0);
    for p in img.pixels() {
        let [r, g, b] = p.0.map(|v| v as f64);
        let rg = r - g;
        let yb = 0.5 * (r + g) - b;
        s_rg += rg;
        s_yb += yb;
        q_rg += rg * rg;
        q_yb += yb * yb;
    }
    let (m_rg, m_yb) = (s_rg / n, s_yb / n);
    let var_rg = (q_rg / n - m_rg * m_rg).max(0.0);
    let var_yb = (q_yb / n - m_yb * m_yb).max(0.0);
    (var_rg + var_yb).sqrt() + 0.3 * (m_rg * m_rg + m_yb * m_yb).sqrt()
}

/// Mean of R − B: positive is warm.
pub fn warmth(img: &RgbImage) -> f64 {
    let n = (img.width() * img.height()).max(1) as f64;
    img.pixels()
        .map(|p| p.0[0] as f64 - p.0[2] as f64)
        .sum::<f64>()
        / n
}

/// Variance of the 4-neighbour Laplacian of luma over interior pixels, a
/// sharpness measure. `None` for images smaller than 3×3.
pub fn laplacian_variance(img: &RgbImage) -> Option<f64> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return None;
    }
    let y = luma_plane(img);
    let mut values = Vec::with_capacity((w - 2) * (h - 2));
    for r in 1..h - 1 {
        for c in 1..w - 1 {
            let i = r * w + c;
            values.push(y[i - w] + y[i + w] + y[i - 1] + y[i + 1] - 4.0 * y[i]);
        }
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    Some(values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
}

/// Mean structural similarity of the luma of two images (Wang, Bovik,
/// Sheikh and Simoncelli, 2004): Gaussian window σ = 1.5 truncated at 3.5σ
/// (11×11), K1 = 0.01, K2 = 0.03, L = 255, population (co)variances, averaged
/// over the pixels whose whole window lies inside the image. This equals
/// scikit-image's `structural_similarity(a, b, data_range=255,
/// gaussian_weights=True, sigma=1.5, use_sample_covariance=False)` on the
/// same luma planes. `None` if the sizes differ or a side is below 11.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> Option<f64> {
    ssim_parts(a, b).map(|(full, _)| full)
}

/// The structure term of SSIM alone, `(σxy + C3)/(σx·σy + C3)` with
/// `C3 = C2/2`, averaged over the same windows as [`ssim`]: how well local
/// patterns (edges, textures) correlate, whatever happened to brightness
/// and contrast. This is what "structure kept" means for a render whose
/// tones were changed on purpose.
pub fn structural_correlation(a: &RgbImage, b: &RgbImage) -> Option<f64> {
    ssim_parts(a, b).map(|(_, structure)| structure)
}

/// The per-window structure term of [`structural_correlation`], one value
/// per pixel whose 11×11 window lies inside the images: `(width, height,
/// values)` row-major, `width = w − 10`, `height = h − 10`. Its mean is
/// [`structural_correlation`]; a local break (an object pasted in or lost)
/// shows as a region of low values that the mean dilutes.
pub fn structural_correlation_map(a: &RgbImage, b: &RgbImage) -> Option<(usize, usize, Vec<f64>)> {
    ssim_maps(a, b).map(|maps| (maps.width, maps.height, maps.structure))
}

/// (mean SSIM, mean structure term).
fn ssim_parts(a: &RgbImage, b: &RgbImage) -> Option<(f64, f64)> {
    let maps = ssim_maps(a, b)?;
    let n = (maps.width * maps.height) as f64;
    Some((
        maps.ssim.iter().sum::<f64>() / n,
        maps.structure.iter().sum::<f64>() / n,
    ))
}

/// SSIM and its structure term per window (valid region, row-major).
struct SsimMaps {
    width: usize,
    height: usize,
    ssim: Vec<f64>,
    structure: Vec<f64>,
}

fn ssim_maps(a: &RgbImage, b: &RgbImage) -> Option<SsimMaps> {
    if a.dimensions() != b.dimensions() {
        return None;
    }
    let (w, h) = (a.width() as usize, a.height() as usize);
    const RADIUS: usize = 5;
    if w < 2 * RADIUS + 1 || h < 2 * RADIUS + 1 {
        return None;
    }
    let sigma = 1.5f64;
    let kernel: Vec<f64> = {
        let raw: Vec<f64> = (0..=2 * RADIUS)
            .map(|i| {
                let d = i as f64 - RADIUS as f64;
                (-d * d / (2.0 * sigma * sigma)).exp()
            })
            .collect();
        let total: f64 = raw.iter().sum();
        raw.into_iter().map(|v| v / total).collect()
    };
    let x = luma_plane(a);
    let y = luma_plane(b);
    let products: [Vec<f64>; 5] = [
        x.clone(),
        y.clone(),
        x.iter().map(|v| v * v).collect(),
        y.iter().map(|v| v * v).collect(),
        x.iter().zip(&y).map(|(p, q)| p * q).collect(),
    ];
    // Valid-region separable filtering: output (w - 10) × (h - 10).
    let (ow, oh) = (w - 2 * RADIUS, h - 2 * RADIUS);
    let filtered: Vec<Vec<f64>> = products
        .iter()
        .map(|plane| {
            let mut horizontal = vec![0.0; ow * h];
            for r in 0..h {
                for c in 0..ow {
                    horizontal[r * ow + c] = kernel
                        .iter()
                        .enumerate()
                        .map(|(k, wt)| wt * plane[r * w + c + k])
                        .sum();
                }
            }
            let mut out = vec![0.0; ow * oh];
            for r in 0..oh {
                for c in 0..ow {
                    out[r * ow + c] = kernel
                        .iter()
                        .enumerate()
                        .map(|(k, wt)| wt * horizontal[(r + k) * ow + c])
                        .sum();
                }
            }
            out
        })
        .collect();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let [mean_x, mean_y, sq_x, sq_y, cross] = &filtered[..] else {
        unreachable!("five filtered planes")
    };
    let c3 = c2 / 2.0;
    let mut ssim = Vec::with_capacity(ow * oh);
    let mut structure = Vec::with_capacity(ow * oh);
    for ((((&mx, &my), &xx), &yy), &xy) in mean_x.iter().zip(mean_y).zip(sq_x).zip(sq_y).zip(cross)
    {
        let vx = xx - mx * mx;
        let vy = yy - my * my;
        let cov = xy - mx * my;
        ssim.push(
            ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)),
        );
        structure.push((cov + c3) / ((vx.max(0.0) * vy.max(0.0)).sqrt() + c3));
    }
    Some(SsimMaps {
        width: ow,
        height: oh,
        ssim,
        structure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> RgbImage {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        image::open(&path).unwrap().into_rgb8()
    }

    #[test]
    fn ssim_of_an_image_with_itself_is_exactly_one() {
        let img = fixture("pairs/desk_ref.png");
        assert_eq!(ssim(&img, &img), Some(1.0));
    }

    /// Reference values from scikit-image 0.25:
    /// `structural_similarity(ref, x, data_range=255, gaussian_weights=True,
    /// sigma=1.5, use_sample_covariance=False)` on the Rec. 601 luma planes
    /// (computed in float64, stored as float32) of the fixture pairs.
    #[test]
    fn ssim_matches_scikit_image_on_the_fixture_pairs() {
        let cases = [
            ("desk", "blur2", 0.8894963995729964),
            ("desk", "noise10", 0.7347897467675001),
            ("desk", "bright20", 0.9581795617359266),
            ("desk", "jpeg15", 0.9161672552327647),
            ("desk", "imenhance", 0.9456408983219035),
            ("coffee", "blur2", 0.827070253353527),
            ("coffee", "noise10", 0.7532088213123141),
            ("coffee", "bright20", 0.9381991862970529),
            ("coffee", "jpeg15", 0.8628334151009542),
            ("coffee", "imenhance", 0.9163870216287787),
        ];
        for (base, distortion, expected) in cases {
            let reference = fixture(&format!("pairs/{base}_ref.png"));
            let other = fixture(&format!("pairs/{base}_{distortion}.png"));
            let got = ssim(&reference, &other).unwrap();
            assert!(
                (got - expected).abs() < 1e-4,
                "{base}_{distortion}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn ssim_ranks_distortions_and_rejects_bad_sizes() {
        let r = fixture("pairs/desk_ref.png");
        let blur = ssim(&r, &fixture("pairs/desk_blur2.png")).unwrap();
        let bright = ssim(&r, &fixture("pairs/desk_bright20.png")).unwrap();
        assert!(blur < 0.95 && bright > blur, "blur {blur} bright {bright}");
        assert_eq!(ssim(&r, &RgbImage::new(10, 10)), None);
        let tiny = RgbImage::new(1, 1);
        assert_eq!(ssim(&tiny, &tiny), None);
    }

    /// Reference values computed with scipy.ndimage.gaussian_filter(sigma=1.5,
    /// truncate=3.5) on the same luma planes, cropped by 5 pixels.
    #[test]
    fn structure_term_ignores_a_brightness_shift_but_not_a_blur() {
        let r = fixture("pairs/desk_ref.png");
        let bright = structural_correlation(&r, &fixture("pairs/desk_bright20.png")).unwrap();
        let blur = structural_correlation(&r, &fixture("pairs/desk_blur2.png")).unwrap();
        assert!((structural_correlation(&r, &r).unwrap() - 1.0).abs() < 1e-9);
        assert!((bright - 0.9994546567918395).abs() < 1e-4, "{bright}");
        assert!((blur - 0.9350567846308705).abs() < 1e-4, "{blur}");
    }

    #[test]
    fn grey_image_has_zero_colourfulness() {
        assert_eq!(colourfulness(&fixture("edge/grayscale.jpg")), 0.0);
        assert!(colourfulness(&fixture("images/coffee.jpg")) > 50.0);
    }

    #[test]
    fn tiny_images_have_no_laplacian_and_zero_contrast() {
        let tiny = RgbImage::new(1, 1);
        assert_eq!(laplacian_variance(&tiny), None);
        assert_eq!(rms_contrast(&tiny), 0.0);
    }
}
