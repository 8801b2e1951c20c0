//! Render features against known values: closed forms on constructed
//! images, and the fixtures' distortion pairs moving each feature the way
//! its definition says.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use super::*;

fn fixture(name: &str) -> RgbImage {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    image::open(&path).unwrap().into_rgb8()
}

fn close(got: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (got - expected).abs() <= tolerance,
        "{what}: {got} vs {expected}"
    );
}

#[test]
fn flat_grey_has_its_exposure_and_nothing_else() {
    let grey = RgbImage::from_pixel(300, 200, Rgb([128, 128, 128]));
    let f = render_features(&grey, &grey);
    close(f.exposure, 128.0 / 255.0, 1e-6, "exposure");
    for (value, name) in [
        (f.contrast, "contrast"),
        (f.noise, "noise"),
        (f.colourfulness, "colourfulness"),
        (f.sharpness, "sharpness"),
        (f.blur, "blur"),
        (f.halo, "halo"),
        (f.colour_cast, "cast"),
        (f.colour_shift, "shift"),
        (f.highlight_clipping, "highlights"),
        (f.shadow_clipping, "shadows"),
    ] {
        close(value, 0.0, 1e-9, name);
    }
    close(f.structure, 1.0, 1e-9, "structure");
    close(f.edge_agreement, 1.0, 0.0, "edges");
}

#[test]
fn gaussian_noise_of_known_sigma_reads_as_that_sigma() {
    // The same noise on all three channels is luma noise of that σ
    // (Rec. 709 weights sum to 1); rounding to 8 bits adds variance 1/12.
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for sigma in [4.0f64, 10.0] {
        let normal = Normal::new(0.0, sigma).unwrap();
        let noisy = RgbImage::from_fn(400, 300, |_, _| {
            let v = (128.0 + normal.sample(&mut rng)).round().clamp(0.0, 255.0) as u8;
            Rgb([v, v, v])
        });
        let f = render_features(&noisy, &noisy);
        let expected = (sigma * sigma + 1.0 / 12.0).sqrt() / NOISE_DIVISOR;
        close(
            f.noise,
            expected,
            0.03 * expected,
            &format!("noise σ {sigma}"),
        );
    }
}

#[test]
fn clipping_shares_are_exact_on_a_constructed_image() {
    // 200×100: the left quarter white, the next tenth black, the rest mid grey.
    let img = RgbImage::from_fn(200, 100, |x, _| match x {
        0..50 => Rgb([255, 255, 251]),
        50..70 => Rgb([2, 0, 5]),
        _ => Rgb([120, 130, 140]),
    });
    let f = render_features(&img, &img);
    close(f.highlight_clipping, 0.25, 1e-12, "highlights");
    close(f.shadow_clipping, 0.10, 1e-12, "shadows");
}

#[test]
fn colourfulness_and_cast_are_zero_on_grey_and_cast_measures_an_orange_tint() {
    let grey = fixture("edge/grayscale.jpg");
    let f = render_features(&grey, &grey);
    close(f.colourfulness, 0.0, 1e-12, "colourfulness");
    close(f.colour_cast, 0.0, 1e-12, "cast");
    // A flat orange (rg 40, yb 40): M = 0.3·√(40² + 40²) and cast √3200 / 64.
    let tint = RgbImage::from_pixel(64, 64, Rgb([160, 120, 100]));
    let f = render_features(&tint, &tint);
    close(f.colourfulness, 0.3 * 3200f64.sqrt() / 110.0, 1e-9, "M");
    close(f.colour_cast, 3200f64.sqrt() / 64.0, 1e-9, "cast");
}

#[test]
fn a_render_equal_to_its_original_agrees_fully_and_is_not_blurred_or_haloed() {
    for name in ["pairs/desk_ref.png", "images/room_hotel_pano.jpg"] {
        let photo = fixture(name);
        let f = render_features(&photo, &photo);
        close(f.structure, 1.0, 1e-9, name);
        close(f.edge_agreement, 1.0, 0.0, name);
        close(f.blur, 0.0, 0.0, name);
        close(f.halo, 0.0, 1e-9, name);
        close(f.colour_shift, 0.0, 0.0, name);
    }
}

fn tone_curve(img: &RgbImage, curve: impl Fn(f64) -> f64) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for v in p.0.iter_mut() {
            *v = (curve(*v as f64 / 255.0) * 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[test]
fn a_pure_tone_change_keeps_the_structure() {
    let photo = fixture("pairs/desk_ref.png");
    for (what, toned) in [
        ("gamma 0.6", tone_curve(&photo, |u| u.powf(0.6))),
        ("gamma 1.5", tone_curve(&photo, |u| u.powf(1.5))),
        (
            "contrast ×1.3",
            tone_curve(&photo, |u| 0.5 + 1.3 * (u - 0.5)),
        ),
    ] {
        let f = render_features(&photo, &toned);
        assert!(f.structure > 0.95, "{what}: {f:?}");
        assert!(f.edge_agreement > 0.85, "{what}: {f:?}");
        assert!(f.blur < 0.1, "{what}: {f:?}");
    }
}

fn shifted(img: &RgbImage, dx: u32) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        *img.get_pixel((x + dx).min(img.width() - 1), y)
    })
}

#[test]
fn a_shifted_copy_loses_structure_and_edges() {
    let photo = fixture("pairs/desk_ref.png");
    let small = render_features(&photo, &shifted(&photo, 2));
    let large = render_features(&photo, &shifted(&photo, 12));
    // 12 pixels of 400 is 6 at layout scale: well past the edge tolerance.
    assert!(large.structure < 0.7, "{large:?}");
    assert!(large.structure_local < 0.5, "{large:?}");
    assert!(large.edge_agreement < 0.6, "{large:?}");
    assert!(small.structure > large.structure, "{small:?} vs {large:?}");
    assert!(small.edge_agreement > large.edge_agreement);
}

#[test]
fn another_resolution_of_the_same_render_measures_the_same_and_another_aspect_loses_structure() {
    let photo = fixture("images/room_hotel_desk.jpg");
    let bigger = imageops::resize(&photo, 1200, 900, FilterType::Triangle);
    let f = render_features(&photo, &bigger);
    assert!(f.structure > 0.9, "{f:?}");
    assert!(f.edge_agreement > 0.8, "{f:?}");
    let square = imageops::resize(&photo, 800, 800, FilterType::Triangle);
    let cropped = imageops::crop_imm(&square, 0, 100, 800, 600).to_image();
    let g = render_features(&photo, &cropped);
    assert!(g.structure < f.structure - 0.2, "{g:?} vs {f:?}");
    // Degenerate sizes measure without panicking.
    let dot = RgbImage::from_pixel(1, 1, Rgb([9, 9, 9]));
    let h = render_features(&photo, &dot);
    assert!(
        h.as_array().iter().all(|v| (0.0..=1.0).contains(v)),
        "{h:?}"
    );
    let k = render_features(&dot, &photo);
    assert!(
        k.as_array().iter().all(|v| (0.0..=1.0).contains(v)),
        "{k:?}"
    );
}

#[test]
fn the_distortion_pairs_move_each_feature_the_right_way() {
    for stem in ["desk", "coffee"] {
        let reference = fixture(&format!("pairs/{stem}_ref.png"));
        let q = QualityReference::new(&reference);
        let base = q.features(&reference);
        let of = |suffix: &str| q.features(&fixture(&format!("pairs/{stem}_{suffix}.png")));
        let blur = of("blur2");
        assert!(blur.blur > 0.3, "{stem} blur2 {blur:?}");
        assert!(blur.sharpness < base.sharpness, "{stem} blur2 {blur:?}");
        assert!(blur.noise < base.noise, "{stem} blur2 {blur:?}");
        let noise = of("noise10");
        assert!(noise.noise > base.noise + 0.1, "{stem} noise10 {noise:?}");
        assert!(noise.blur == 0.0, "{stem} noise10 {noise:?}");
        let bright = of("bright20");
        // +20 on every channel, less where it clips at 255.
        let lift = bright.exposure - base.exposure;
        assert!(
            lift > 0.05 && lift <= 20.0 / 255.0 + 1e-9,
            "{stem} bright20 {lift}"
        );
        assert!(bright.structure > 0.95, "{stem} bright20 {bright:?}");
        assert!(bright.edge_agreement > 0.9, "{stem} bright20 {bright:?}");
        let enhanced = of("imenhance");
        assert!(
            enhanced.contrast > base.contrast,
            "{stem} imenhance {enhanced:?}"
        );
        assert!(enhanced.colourfulness > base.colourfulness);
        assert!(enhanced.halo > 0.05, "{stem} imenhance {enhanced:?}");
        assert!(enhanced.structure > 0.9, "{stem} imenhance {enhanced:?}");
        let jpeg = of("jpeg15");
        assert!(jpeg.structure > 0.9, "{stem} jpeg15 {jpeg:?}");
        // None of these distortions moves the room: structure stays above
        // what a shifted room scores.
        for f in [blur, noise, bright, enhanced, jpeg] {
            assert!(f.edge_agreement > 0.6, "{stem} {f:?}");
        }
    }
}
