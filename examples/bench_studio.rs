//! Benchmark of the studio model in process: a refit (hyperparameters,
//! Laplace mode, designer scales) and one warm `ask` of two suggestions,
//! as ratings and designers grow. Synthetic studio: designers with offsets
//! −1…+1, three room contexts, two arms.
//!
//! ```text
//! cargo run --release --example bench_studio
//! ```

use latina::domain::{
    Evidence, ExperimentId, Params, PhotoFeatures, RenderPoint, RoomContext, StarJudgement, Stars,
    Trial,
};
use latina::optim::{
    Bounds, FittedHyperparameters, ModelQuery, Optimizer, OptimizerSettings, SearchSpace,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

fn context(kind: usize) -> RoomContext {
    let level = [0.15, 0.5, 0.85][kind % 3];
    RoomContext {
        features: Some(PhotoFeatures {
            brightness: level,
            contrast: 0.4,
            warmth: 0.5,
            colourfulness: 0.3,
            clutter: 0.2,
            window_light: level * 0.3,
        }),
        room: Some(["kitchen", "bedroom", "loft"][kind % 3].into()),
        style: None,
    }
}

fn evidence(ratings: usize, designers: usize, rng: &mut StdRng) -> Evidence {
    let mut evidence = Evidence::default();
    for d in 0..designers {
        evidence.designers.push(format!("designer-{d}"));
    }
    while evidence.stars.len() < ratings {
        let params = Params {
            init_strength: rng.random_range(0.1..0.5),
            guidance_scale: rng.random_range(5.0..12.0),
            controlnet_weight: rng.random_range(0.7..0.99),
        };
        let render = evidence.render_index(RenderPoint {
            id: ExperimentId::random(),
            trial: Trial {
                provider: if rng.random::<bool>() {
                    "tone"
                } else {
                    "detail"
                }
                .into(),
                params,
            },
            context: context(rng.random_range(0..3)),
        });
        let designer = rng.random_range(0..designers);
        let offset = if designers > 1 {
            -1.0 + 2.0 * designer as f64 / (designers - 1) as f64
        } else {
            0.0
        };
        let quality = 3.0 + 1.5 * (1.0 - ((params.init_strength - 0.3) / 0.2).powi(2));
        let stars = (quality + offset + rng.random_range(-0.5..0.5))
            .round()
            .clamp(1.0, 5.0);
        evidence.stars.push(StarJudgement {
            render,
            designer,
            stars: Stars::new(stars as i64).expect("clamped"),
        });
    }
    evidence
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let unit = |low, high| Bounds::new(low, high);
    let space = SearchSpace::new(
        vec!["tone".into(), "detail".into()],
        [unit(0.1, 0.5)?, unit(5.0, 12.0)?, unit(0.7, 0.99)?],
    )?;
    println!("ratings designers  refit_ms  warm_ask_ms");
    for (ratings, designers) in [(50, 1), (100, 3), (200, 1), (200, 5), (200, 10), (300, 5)] {
        let mut rng = StdRng::seed_from_u64(ratings as u64 * 31 + designers as u64);
        let evidence = evidence(ratings, designers, &mut rng);
        let query = ModelQuery {
            designer: Some("designer-0".into()),
            context: context(0),
        };
        let mut refit = Vec::new();
        let mut warm = Vec::new();
        let mut cached: Option<FittedHyperparameters> = None;
        for round in 0..5 {
            let mut optimizer = Optimizer::new(
                space.clone(),
                OptimizerSettings::default(),
                StdRng::seed_from_u64(round),
            )
            .with_cached_hyperparameters(cached.clone())
            .for_query(query.clone());
            optimizer.tell_evidence(evidence.clone());
            let start = Instant::now();
            optimizer.ask(2, &[])?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            if cached.is_none() {
                refit.push(ms);
                cached = optimizer.fitted_hyperparameters().cloned();
            } else {
                warm.push(ms);
            }
        }
        // Refit timings: cold fits from fresh starts.
        for round in 0..3 {
            let mut optimizer = Optimizer::new(
                space.clone(),
                OptimizerSettings::default(),
                StdRng::seed_from_u64(100 + round),
            )
            .for_query(query.clone());
            optimizer.tell_evidence(evidence.clone());
            let start = Instant::now();
            optimizer.model()?;
            refit.push(start.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{ratings:>7} {designers:>9} {:>9.1} {:>12.1}",
            median(refit),
            median(warm)
        );
    }
    Ok(())
}
