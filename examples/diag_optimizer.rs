//! In-process replay of `latina simulate` sessions (no database), for
//! diagnosing the optimizer: the same seeding, hyperparameter caching and
//! rating noise as the real loop, with the model's state printed per ask.
//!
//! ```text
//! cargo run --release --example diag_optimizer -- [designer] [seeds] [ratings] [verbose-seed]
//! ```
//!
//! `STRATEGY` (random, gp), `BANDIT` (posterior-maximum, ucb1), `BATCH`
//! (ei), `BATCH_SIZE` (variants per ask, 2 by default; 1 asks one at a
//! time) and the knobs `N_INITIAL`, `ARM_WARMUP`, `SECOND_LOOK`, `SPACE_FILLING`,
//! `MIN_DISTANCE` and `XI` override the defaults, to compare settings over
//! many seeds in a minute. The studio model (the default) is told the
//! ratings as evidence, as `suggest` tells it; `MODEL=regression` replays
//! the first model. `FAILED` lists the seeds that never reached 4.0;
//! `DESIGNER_VIEW` asks for the rating designer's own view, as `suggest
//! --by` does, where `latina simulate` asks for the studio's.
//! `SEED_OFFSET=1000` replays `latina --seed 1000 simulate`.

use latina::config::Config;
use latina::domain::{Evidence, ExperimentId, RatedTrial, RenderPoint, RoomContext, StarJudgement};
use latina::ops::simulate::{ArmLandscape, Designer, Shape, panel};
use latina::optim::{BatchPolicy, FittedHyperparameters, Strategy};
use latina::optim::{Optimizer, OptimizerSettings};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Variants per ask (`BATCH_SIZE`, default 2 as `latina simulate`).
fn batch_size() -> usize {
    std::env::var("BATCH_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).cloned().unwrap_or_else(|| "all".into());
    let seeds: u64 = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let ratings: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
    let verbose: Option<u64> = args.get(4).map(|s| s.parse()).transpose()?;
    let strategy = match std::env::var("STRATEGY").as_deref() {
        Ok("random") => Strategy::Random,
        Ok("gp") => Strategy::Gp,
        _ => Strategy::GpBandit,
    };
    let batch = match std::env::var("BATCH").as_deref() {
        Ok("ei") => BatchPolicy::Ei,
        _ => BatchPolicy::ExploitExplore,
    };
    let config = Config::default();
    let ws = latina::ops::Workspace {
        config: config.clone(),
        paths: latina::ops::Paths {
            data_dir: ".".into(),
            database: std::path::PathBuf::from(".").into(),
        },
        seed: None,
        config_file: None,
        storage: latina::storage::Storage::local(".".into()),
    };
    let space = ws.search_space()?;
    let arms: Vec<String> = space.providers().to_vec();
    let mut designers = panel();
    designers.extend(extra());
    for designer in designers {
        let wanted = match which.as_str() {
            "all" => designer.name != "x",
            "panel" => !designer.name.starts_with("x-"),
            "extra" => designer.name.starts_with("x-"),
            name => designer.name == name,
        };
        if !wanted {
            continue;
        }
        let mut to4 = Vec::new();
        let mut to45 = Vec::new();
        let mut last10 = Vec::new();
        let mut boundary = 0usize;
        // Per rating index: proposals made, and how many had true quality ≥ 4.
        let mut hits_at = vec![(0usize, 0usize); ratings];
        let mut proposals = 0usize;
        // SEED_OFFSET checks a change on seeds it was not tuned on.
        let offset: u64 = std::env::var("SEED_OFFSET")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        for seed in offset..offset + seeds {
            if verbose.is_some_and(|v| v != seed) {
                continue;
            }
            let mut noise = StdRng::seed_from_u64(seed ^ 0xD1B5_4A32_D192_ED03);
            let mut history: Vec<RatedTrial> = Vec::new();
            let mut truths: Vec<f64> = Vec::new();
            let mut cached: Option<FittedHyperparameters> = None;
            let mut reached = None;
            let mut reached45 = None;
            while history.len() < ratings {
                let n = history.len() as u64;
                let rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let defaults = OptimizerSettings::default();
                let knob = |name: &str, default: f64| {
                    std::env::var(name)
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(default)
                };
                let settings = OptimizerSettings {
                    strategy,
                    batch,
                    space_filling: knob("SPACE_FILLING", defaults.space_filling),
                    min_distance: knob("MIN_DISTANCE", defaults.min_distance),
                    xi: knob("XI", defaults.xi),
                    n_initial_points: knob("N_INITIAL", defaults.n_initial_points as f64) as usize,
                    arm_warmup: knob("ARM_WARMUP", defaults.arm_warmup as f64) as usize,
                    second_look: latina::optim::SecondLook {
                        renders: knob("SECOND_LOOK", defaults.second_look.renders as f64) as usize,
                        ..defaults.second_look
                    },
                    reward: match std::env::var("REWARD").as_deref() {
                        Ok("graded") => latina::optim::bandit::Reward::Graded,
                        _ => defaults.reward,
                    },
                    bandit: match std::env::var("BANDIT").as_deref() {
                        Ok("posterior-maximum") => {
                            latina::optim::bandit::BanditRule::PosteriorMaximum
                        }
                        Ok("ucb1") => latina::optim::bandit::BanditRule::Ucb1,
                        _ => defaults.bandit,
                    },
                    ..defaults
                };
                let mut opt = Optimizer::new(space.clone(), settings, rng)
                    .with_cached_hyperparameters(cached.clone());
                if std::env::var("DESIGNER_VIEW").is_ok() {
                    opt = opt.for_query(latina::optim::ModelQuery {
                        designer: Some("simulated".into()),
                        ..Default::default()
                    });
                }
                // The default model learns from the evidence (as `suggest`
                // tells it); MODEL=regression replays the first model.
                if std::env::var("MODEL").as_deref() == Ok("regression") {
                    for o in &history {
                        opt.tell(o.clone());
                    }
                } else {
                    opt.tell_evidence(evidence_of(&history));
                }
                let want = batch_size().min(ratings - history.len());
                let batch = opt.ask(want, &[])?;
                if let Some(f) = opt.fitted_hyperparameters() {
                    cached = Some(f.clone());
                }
                for s in batch {
                    let stars = designer.rate(&arms, &s.trial, &mut noise);
                    let truth = designer.true_quality(&arms, &s.trial);
                    let u = space.unit_reals(&s.trial.params);
                    proposals += 1;
                    if u.iter().any(|x| *x < 0.05 || *x > 0.95) {
                        boundary += 1;
                    }
                    if verbose == Some(seed) {
                        let e = s.explanation;
                        let h = opt.fitted_hyperparameters().map(|f| {
                            let ls: Vec<String> = f
                                .hyperparameters
                                .log_length_scales
                                .iter()
                                .map(|l| format!("{:.2}", l.exp()))
                                .collect();
                            format!(
                                "ls [{}] sf2 {:.3} sn2 {:.3}",
                                ls.join(" "),
                                f.hyperparameters.log_signal_variance.exp(),
                                f.hyperparameters.log_noise_variance.exp()
                            )
                        });
                        println!(
                            "{:>3} {:<14} {:<6} u=[{:.2} {:.2} {:.2}] mu {:>5} sd {:>5} ei {:>8} -> {} (true {:.2})  {}",
                            history.len() + 1,
                            format!("{:?}", s.method),
                            s.trial.provider,
                            u[0],
                            u[1],
                            u[2],
                            e.predicted_mean.map_or("-".into(), |v| format!("{v:.2}")),
                            e.predicted_sd.map_or("-".into(), |v| format!("{v:.2}")),
                            e.expected_improvement
                                .map_or("-".into(), |v| format!("{v:.2e}")),
                            stars.get(),
                            truth,
                            h.unwrap_or_default()
                        );
                    }
                    history.push(RatedTrial {
                        trial: s.trial,
                        stars,
                    });
                    truths.push(truth);
                    hits_at[history.len() - 1].0 += 1;
                    hits_at[history.len() - 1].1 += usize::from(truth >= 4.0);
                    if reached45.is_none() && truth >= 4.5 {
                        reached45 = Some(history.len());
                    }
                    if reached.is_none() && truth >= 4.0 {
                        reached = Some(history.len());
                    }
                }
            }
            if reached.is_none() && std::env::var("FAILED").is_ok() {
                println!("  {} seed {seed} never reached 4.0", designer.name);
            }
            to4.push(reached.map_or(ratings as f64 + 1.0, |r| r as f64));
            to45.push(reached45.map_or(ratings as f64 + 1.0, |r| r as f64));
            let tail = &truths[truths.len().saturating_sub(10)..];
            last10.push(tail.iter().sum::<f64>() / tail.len() as f64);
        }
        let reached = to4.iter().filter(|v| **v <= ratings as f64).count();
        let mean_to4 = to4.iter().sum::<f64>() / to4.len() as f64;
        to4.sort_by(f64::total_cmp);
        let med = if to4.len() % 2 == 1 {
            to4[to4.len() / 2]
        } else {
            0.5 * (to4[to4.len() / 2 - 1] + to4[to4.len() / 2])
        };
        println!(
            "{:<12} to4 median {:>5.1} mean {:>5.1} reached {:>3}/{}  4.5: mean {:>5.1} reached {:>3}  last10 true {:.2}  boundary {:.2}",
            designer.name,
            med,
            mean_to4,
            reached,
            seeds,
            to45.iter().sum::<f64>() / to45.len() as f64,
            to45.iter().filter(|v| **v <= ratings as f64).count(),
            last10.iter().sum::<f64>() / last10.len() as f64,
            boundary as f64 / proposals as f64
        );
        if std::env::var("HIT_RATES").is_ok() {
            let rates: Vec<String> = hits_at
                .iter()
                .take(24)
                .map(|(n, h)| format!("{:.0}", 100.0 * *h as f64 / (*n).max(1) as f64))
                .collect();
            println!("  % of proposals ≥ 4.0 by rating: {}", rates.join(" "));
        }
    }
    Ok(())
}

/// The history as the studio model's evidence: one designer's stars on
/// each render.
fn evidence_of(history: &[RatedTrial]) -> Evidence {
    let mut evidence = Evidence::default();
    let designer = evidence.designer_index("simulated");
    for (i, o) in history.iter().enumerate() {
        let render = evidence.render_index(RenderPoint {
            id: ExperimentId::from_stored(format!("r{i}")),
            trial: o.trial.clone(),
            context: RoomContext::default(),
        });
        evidence.stars.push(StarJudgement {
            render,
            designer,
            stars: o.stars,
        });
    }
    evidence
}

/// Designers outside the product's panel, to check that changes generalise.
fn extra() -> Vec<Designer> {
    let arm = |ceiling, floor, optimum, widths, shape| ArmLandscape {
        ceiling,
        floor,
        optimum,
        widths,
        decoy: None,
        shape,
    };
    let d = |name: &str, arms| Designer {
        name: name.into(),
        arms,
        noise_sd: 0.5,
    };
    vec![
        d(
            "x-needle2",
            vec![
                arm(4.8, 1.5, [0.2, 9.5, 0.75], [0.17, 0.18, 0.2], Shape::Bump),
                arm(3.5, 1.5, [0.45, 6.0, 0.9], [0.3, 0.3, 0.3], Shape::Bump),
            ],
        ),
        d(
            "x-edge",
            vec![
                arm(4.8, 1.3, [0.5, 7.0, 0.85], [0.25, 0.25, 0.25], Shape::Bowl),
                arm(3.8, 1.3, [0.1, 11.0, 0.95], [0.3, 0.3, 0.3], Shape::Bowl),
            ],
        ),
        d(
            "x-ridge",
            vec![
                arm(4.8, 1.5, [0.23, 8.0, 0.8], [0.08, 0.6, 0.6], Shape::Bump),
                arm(3.7, 1.5, [0.4, 10.0, 0.9], [0.3, 0.3, 0.3], Shape::Bump),
            ],
        ),
        d(
            "x-swapped",
            vec![
                arm(3.5, 1.4, [0.3, 7.0, 0.9], [0.3, 0.3, 0.3], Shape::Bump),
                arm(4.8, 1.4, [0.22, 10.0, 0.78], [0.28, 0.3, 0.3], Shape::Bump),
            ],
        ),
        Designer {
            noise_sd: 0.8,
            ..d(
                "x-noisy",
                vec![
                    arm(4.8, 1.5, [0.38, 8.8, 0.9], [0.3, 0.3, 0.3], Shape::Bump),
                    arm(3.8, 1.5, [0.2, 6.5, 0.8], [0.3, 0.3, 0.3], Shape::Bump),
                ],
            )
        },
    ]
}
