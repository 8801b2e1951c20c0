//! The built-in engines on real photos: outputs differ from the photo and
//! from each other, and move the way each parameter and prompt phrase says.

use image::RgbImage;
use latina::domain::Params;
use latina::imaging::metrics::{
    colourfulness, laplacian_variance, mean_luma, ssim, structural_correlation, warmth,
};
use latina::imaging::{Analysis, Engine, LoadLimits, StyleIntent, load, render};
use latina::prompts::base_prompt;

const PHOTOS: [&str; 4] = [
    "images/room_hotel_desk.jpg",
    "images/room_hotel_bed.jpg",
    "images/studio_dark_pano.jpg",
    "images/coffee.jpg",
];
const ENGINES: [Engine; 2] = [Engine::Tone, Engine::Detail];

struct Photo {
    name: &'static str,
    rgb: RgbImage,
    analysis: Analysis,
    grayscale: bool,
}

fn photo(name: &'static str) -> Photo {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let loaded = load::load(&path, &LoadLimits::default()).unwrap();
    Photo {
        name,
        analysis: Analysis::of(&loaded.rgb),
        rgb: loaded.rgb,
        grayscale: loaded.grayscale,
    }
}

fn base_style() -> StyleIntent {
    let base = base_prompt();
    StyleIntent::from_prompt(&base.prompt, &base.negative_prompt)
}

fn mid() -> Params {
    Params {
        init_strength: 0.3,
        guidance_scale: 8.5,
        controlnet_weight: 0.85,
    }
}

fn run(p: &Photo, engine: Engine, params: Params, style: &StyleIntent) -> RgbImage {
    let plan = engine.plan(&params, style, &p.analysis.stats, p.grayscale);
    render::render(&p.rgb, &p.analysis, &plan)
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / a.as_raw().len() as f64
}

#[test]
fn renders_differ_from_the_photo_and_between_engines() {
    let style = base_style();
    for name in PHOTOS {
        let p = photo(name);
        let tone = run(&p, Engine::Tone, mid(), &style);
        let detail = run(&p, Engine::Detail, mid(), &style);
        assert_eq!(tone.dimensions(), p.rgb.dimensions());
        for (label, out) in [("tone", &tone), ("detail", &detail)] {
            let d = mean_abs_diff(&p.rgb, out);
            assert!(
                d > 2.0,
                "{}: {label} barely changed the photo ({d:.2})",
                p.name
            );
        }
        let between = mean_abs_diff(&tone, &detail);
        assert!(
            between > 2.0,
            "{}: engines agree too closely ({between:.2})",
            p.name
        );
    }
}

#[test]
fn higher_controlnet_weight_keeps_more_structure() {
    let style = base_style();
    for name in PHOTOS {
        let p = photo(name);
        for engine in ENGINES {
            let loose = run(
                &p,
                engine,
                Params {
                    controlnet_weight: 0.72,
                    ..mid()
                },
                &style,
            );
            let strict = run(
                &p,
                engine,
                Params {
                    controlnet_weight: 0.97,
                    ..mid()
                },
                &style,
            );
            // Structure (SSIM's structure term) is what the weight keeps;
            // full SSIM also moves the same way.
            let (l, s) = (
                structural_correlation(&p.rgb, &loose).unwrap(),
                structural_correlation(&p.rgb, &strict).unwrap(),
            );
            assert!(
                1.0 - l > 1.5 * (1.0 - s),
                "{} {engine:?}: structure c=0.97 {s:.4} vs c=0.72 {l:.4}",
                p.name
            );
            let (full_l, full_s) = (
                ssim(&p.rgb, &loose).unwrap(),
                ssim(&p.rgb, &strict).unwrap(),
            );
            assert!(
                full_s > full_l,
                "{} {engine:?}: SSIM {full_s:.4} vs {full_l:.4}",
                p.name
            );
            eprintln!(
                "{} {engine:?}: structure c=0.97 {s:.4} c=0.72 {l:.4}; SSIM {full_s:.4} {full_l:.4}",
                p.name
            );
        }
    }
}

#[test]
fn higher_init_strength_moves_further_from_the_photo() {
    let style = base_style();
    for name in PHOTOS {
        let p = photo(name);
        for engine in ENGINES {
            let near = run(
                &p,
                engine,
                Params {
                    init_strength: 0.12,
                    ..mid()
                },
                &style,
            );
            let far = run(
                &p,
                engine,
                Params {
                    init_strength: 0.48,
                    ..mid()
                },
                &style,
            );
            let (n, f) = (mean_abs_diff(&p.rgb, &near), mean_abs_diff(&p.rgb, &far));
            assert!(
                f > 1.8 * n,
                "{} {engine:?}: far {f:.2} vs near {n:.2}",
                p.name
            );
        }
    }
}

#[test]
fn higher_guidance_pushes_the_look_harder() {
    let style = base_style();
    for name in PHOTOS {
        let p = photo(name);
        for engine in ENGINES {
            let gentle = run(
                &p,
                engine,
                Params {
                    guidance_scale: 5.5,
                    ..mid()
                },
                &style,
            );
            let strong = run(
                &p,
                engine,
                Params {
                    guidance_scale: 11.5,
                    ..mid()
                },
                &style,
            );
            let (g, s) = (
                mean_abs_diff(&p.rgb, &gentle),
                mean_abs_diff(&p.rgb, &strong),
            );
            assert!(
                s > g * 1.15,
                "{} {engine:?}: strong {s:.2} vs gentle {g:.2}",
                p.name
            );
        }
    }
}

#[test]
fn the_prompt_steers_what_the_engines_render() {
    type Metric = fn(&RgbImage) -> f64;
    let pairs: [(&str, &str, Metric, &str); 4] = [
        (
            "warm light, golden hour",
            "cool tones, cool light",
            warmth,
            "warmth",
        ),
        (
            "vibrant colors, rich colors",
            "muted colors, desaturated",
            colourfulness,
            "colourfulness",
        ),
        (
            "bright, airy, well-lit",
            "moody, dim",
            mean_luma,
            "brightness",
        ),
        (
            "crisp textures, sharp focus",
            "soft focus, blurry",
            |i| laplacian_variance(i).unwrap(),
            "sharpness",
        ),
    ];
    for name in PHOTOS {
        let p = photo(name);
        for engine in ENGINES {
            for (more, less, metric, what) in pairs {
                let a = run(&p, engine, mid(), &StyleIntent::from_prompt(more, ""));
                let b = run(&p, engine, mid(), &StyleIntent::from_prompt(less, ""));
                let (ma, mb) = (metric(&a), metric(&b));
                assert!(
                    ma > mb,
                    "{} {engine:?}: {what} {ma:.2} ('{more}') vs {mb:.2} ('{less}')",
                    p.name
                );
            }
        }
    }
}

#[test]
fn grey_photos_stay_grey_even_with_a_warm_prompt() {
    let p = photo("edge/grayscale.jpg");
    assert!(p.grayscale);
    for engine in ENGINES {
        let out = run(
            &p,
            engine,
            mid(),
            &StyleIntent::from_prompt("warm light, vibrant colors", ""),
        );
        assert_eq!(colourfulness(&out), 0.0, "{engine:?}");
    }
}

#[test]
fn a_dark_room_is_lifted_without_blowing_out_its_lamps() {
    let p = photo("images/studio_dark_pano.jpg");
    let clipped = |img: &RgbImage| {
        img.pixels()
            .filter(|px| px.0.iter().all(|&v| v == 255))
            .count()
    };
    for engine in ENGINES {
        let out = run(
            &p,
            engine,
            Params {
                init_strength: 0.45,
                ..mid()
            },
            &base_style(),
        );
        assert!(
            mean_luma(&out) > mean_luma(&p.rgb) + 3.0,
            "{engine:?}: {:.1} -> {:.1}",
            mean_luma(&p.rgb),
            mean_luma(&out)
        );
        let (before, after) = (clipped(&p.rgb), clipped(&out));
        let total = (p.rgb.width() * p.rgb.height()) as usize;
        assert!(
            after <= before + total / 200,
            "{engine:?}: clipped {before} -> {after}"
        );
    }
}
