//! Benchmark of the reward model in process: a full fit (basis, evidence
//! maximisation over four deviation ratios), one incremental update, and
//! scoring 8 candidates (predictions and the shortlist) at 200 and 2,000
//! ratings; and the PCA of a 512-dim embedding over 2,000 renders.
//! Synthetic inputs of the shapes enhance would pass: 16 render features,
//! 3 unit parameters and a 2-arm one-hot, a room context, 8 projected
//! embedding dims; five designers.
//!
//! ```text
//! cargo run --release --example bench_reward
//! ```

use latina::domain::PhotoFeatures;
use latina::optim::reward::{
    Candidate, Projection, RewardInput, RewardModel, RewardObservation, RewardSettings, shortlist,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

const RENDER: usize = 16;
const EXTRA: usize = 8;
const RUNS: usize = 7;

fn input(rng: &mut StdRng) -> RewardInput {
    let level = rng.random_range(0.1..0.9);
    RewardInput {
        render: (0..RENDER).map(|_| rng.random::<f64>()).collect(),
        params: vec![rng.random(), rng.random(), rng.random(), 1.0, 0.0],
        context: Some(PhotoFeatures {
            brightness: level,
            contrast: 0.4,
            warmth: 0.5,
            colourfulness: 0.3,
            clutter: 0.2,
            window_light: level * 0.3,
        }),
        extra: (0..EXTRA).map(|_| rng.random::<f64>()).collect(),
    }
}

fn observations(n: usize, rng: &mut StdRng) -> Vec<RewardObservation> {
    (0..n)
        .map(|i| {
            let input = input(rng);
            let stars = (3.0 + input.render[0] - input.render[1] + rng.random_range(-0.5..0.5))
                .round()
                .clamp(1.0, 5.0);
            RewardObservation {
                input,
                stars,
                designer: Some(format!("designer-{}", i % 5)),
            }
        })
        .collect()
}

fn median_ms(mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[0], times[RUNS / 2], times[RUNS - 1])
}

fn main() {
    let mut rng = StdRng::seed_from_u64(7);
    println!("reward model, {RUNS} runs each: min / median / max, ms");
    for n in [200, 2000] {
        let data = observations(n, &mut rng);
        let settings = RewardSettings::default();
        let fit = median_ms(|| {
            std::hint::black_box(RewardModel::fit(&data, &settings).expect("fits"));
        });
        let model = RewardModel::fit(&data, &settings).expect("fits");
        let extra = observations(1, &mut rng).remove(0);
        let update = median_ms(|| {
            let mut m = model.clone();
            m.observe(&extra).expect("observes");
            std::hint::black_box(m);
        });
        let clone = median_ms(|| {
            std::hint::black_box(model.clone());
        });
        let refit = median_ms(|| {
            let mut m = model.clone();
            m.refit_hyperparameters();
            std::hint::black_box(m);
        });
        let candidates: Vec<RewardInput> = (0..8).map(|_| input(&mut rng)).collect();
        let score = median_ms(|| {
            let list: Vec<Candidate> = candidates
                .iter()
                .map(|c| Candidate {
                    prediction: model.predict(c, Some("designer-2")).expect("predicts"),
                    guard: None,
                })
                .collect();
            std::hint::black_box(shortlist(&list, 2));
        });
        println!(
            "{n:>5} ratings, {} basis functions (ratio {}): fit {:.2} / {:.2} / {:.2}; \
             observe one {:.3} (of which copying the model {:.3}); re-maximise evidence {:.2}; \
             score 8 + shortlist {:.3}",
            // p: 1 + 2z studio, 5 designers × (1 + z), z = 16 + 5 + 6 + 8
            1 + 2 * 35 + 5 * 36,
            model.deviation_ratio(),
            fit.0,
            fit.1,
            fit.2,
            update.1,
            clone.1,
            refit.1,
            score.1
        );
    }
    let rows: Vec<Vec<f64>> = (0..2000)
        .map(|_| (0..512).map(|_| rng.random::<f64>()).collect())
        .collect();
    let pca = median_ms(|| {
        std::hint::black_box(Projection::fit(&rows, 8).expect("fits"));
    });
    println!(
        "PCA of 2,000 × 512 embeddings to 8 dims: {:.0} / {:.0} / {:.0}",
        pca.0, pca.1, pca.2
    );
}
