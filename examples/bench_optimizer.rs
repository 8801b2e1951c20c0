//! Benchmark of the optimizer: `latina suggest` as a whole process on a
//! database with 200 rated experiments (cold: no cached hyperparameters;
//! warm: cached), and in-process GP fit + one ask at 100..1000 observations.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_optimizer
//! ```

use latina::config::Config;
use latina::domain::{
    BatchId, ExperimentId, ExperimentStatus, Explanation, ImageMeta, Method, Params, Trial,
    option_label,
};
use latina::ops::simulate::panel;
use latina::optim::{Optimizer, OptimizerSettings};
use latina::store::{NewBatch, NewExperiment, OpenMode, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn random_trial(rng: &mut StdRng) -> Trial {
    Trial {
        provider: if rng.random::<bool>() {
            "tone"
        } else {
            "detail"
        }
        .into(),
        params: Params {
            init_strength: rng.random_range(0.1..0.5),
            guidance_scale: rng.random_range(5.0..12.0),
            controlnet_weight: rng.random_range(0.7..0.99),
        },
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let designer = &panel()[0];
    let arms = vec!["tone".to_string(), "detail".to_string()];
    let mut rng = StdRng::seed_from_u64(1);

    // A database with 200 rated experiments, written through the store.
    let dir = std::env::temp_dir().join(format!("latina-bench-opt-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("latina.db");
    {
        let mut store = Store::open(&db, OpenMode::CreateIfMissing)?;
        store.seed_prompt(&latina::prompts::base_prompt())?;
        for _ in 0..100 {
            let experiments: Vec<NewExperiment> = (0..2)
                .map(|i| NewExperiment {
                    id: ExperimentId::random(),
                    option: option_label(i),
                    trial: random_trial(&mut rng),
                    prompt_version: "1.0.0".into(),
                    method: Method::Random,
                    explanation: Explanation::design(),
                    status: ExperimentStatus::Proposed,
                })
                .collect();
            store.create_batch(&NewBatch {
                id: BatchId::random(),
                image: None,
                meta: ImageMeta::default(),
                experiments: experiments.clone(),
            })?;
            for e in &experiments {
                let stars = designer.rate(&arms, &e.trial, &mut rng);
                store.add_rating(&e.id, stars, None, None)?;
            }
        }
    }
    let binary: PathBuf = std::env::var_os("LATINA_BIN").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or("target".into());
            PathBuf::from(target).join("release/latina")
        },
        PathBuf::from,
    );
    if binary.is_file() {
        let snapshot = std::fs::read(&db)?;
        let run = |restore: bool| -> Result<f64, Box<dyn std::error::Error>> {
            if restore {
                std::fs::write(&db, &snapshot)?;
                let _ = std::fs::remove_file(dir.join("latina.db-wal"));
            }
            let t = Instant::now();
            let out = Command::new(&binary)
                .args([
                    "--db",
                    db.to_str().unwrap(),
                    "--data-dir",
                    dir.to_str().unwrap(),
                    "--json",
                    "suggest",
                    "--count",
                    "2",
                ])
                .output()?;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(t.elapsed().as_secs_f64() * 1000.0)
        };
        let cold: Vec<f64> = (0..7).map(|_| run(true)).collect::<Result<_, _>>()?;
        run(true)?; // leaves the cache filled
        let warm: Vec<f64> = (0..7).map(|_| run(false)).collect::<Result<_, _>>()?;
        println!("latina suggest --count 2, 200 rated experiments, whole process, median of 7:");
        println!("  cold (hyperparameters refitted): {:.1} ms", median(cold));
        println!("  warm (cached hyperparameters):   {:.1} ms", median(warm));
    } else {
        println!("(build the release binary for the whole-process figures)");
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "in-process, GP hyperparameter fit (on the latest 200) + conditioning on all + ask(2), median of 3:"
    );
    for n in [50usize, 100, 200, 500, 1000] {
        let mut times = Vec::new();
        for rep in 0..3 {
            let mut opt = Optimizer::new(
                latina::ops::Workspace {
                    config: Config::default(),
                    paths: latina::ops::Paths {
                        data_dir: ".".into(),
                        database: std::path::PathBuf::from(".").into(),
                    },
                    seed: None,
                    config_file: None,
                    storage: latina::storage::Storage::local(".".into()),
                }
                .search_space()?,
                OptimizerSettings::default(),
                StdRng::seed_from_u64(rep),
            );
            let mut data_rng = StdRng::seed_from_u64(100 + rep);
            for _ in 0..n {
                let trial = random_trial(&mut data_rng);
                let stars = designer.rate(&arms, &trial, &mut data_rng);
                opt.tell(latina::domain::RatedTrial { trial, stars });
            }
            let t = Instant::now();
            let batch = opt.ask(2, &[])?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(batch);
        }
        println!("  n = {n:>4}: {:>8.1} ms", median(times));
    }
    Ok(())
}
