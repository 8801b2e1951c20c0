//! Simulated designers: measure how fast the optimizer learns, through the
//! same `suggest` → `rate` code paths (and a real database) a designer uses.
//!
//! A simulated designer has a hidden "true quality" in stars for every
//! (provider, init_strength, guidance_scale, controlnet_weight): a smooth
//! landscape whose optimum is neither central nor on a corner, with one
//! provider able to reach a higher ceiling than the other. Each rating is
//! the true quality plus Gaussian noise (sd 0.5 stars), rounded to a whole
//! star in 1–5, as people rate.
//!
//! Reported per strategy, over many seeds: ratings needed until the best
//! point *tried* has true quality ≥ 4.0 and ≥ 4.5; the best true quality
//! tried after 10/20/30/50 ratings; and the mean rating the designer saw
//! over the last 10 renders. Three counters diagnose wasted proposals:
//! proposals on a corner of the box, the share of ratings 21–50 spent on
//! arms other than the one with the highest ceiling, and space-filling
//! proposals made after the designer had already given 4 stars.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use std::path::PathBuf;

use super::rate::rate;
use super::suggest::suggest;
use super::{Paths, Workspace};
use crate::config::Config;
use crate::domain::{Method, Params, Stars, Trial};
use crate::error::{Error, Result};
use crate::optim::bandit::BanditRule;
use crate::optim::{BatchPolicy, Strategy};
use crate::store::OpenMode;

/// One provider arm's landscape for a simulated designer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmLandscape {
    /// Best true quality reachable on this arm, stars.
    pub ceiling: f64,
    /// Quality far from the optimum, stars.
    pub floor: f64,
    /// The optimum (init_strength, guidance_scale, controlnet_weight).
    pub optimum: [f64; 3],
    /// Width of the good region per dimension, as a fraction of its range.
    pub widths: [f64; 3],
    /// A second, lower bump (quality, location) that can trap a greedy search.
    pub decoy: Option<(f64, [f64; 3])>,
    /// Gaussian bump (flat far away) or quadratic bowl (slopes everywhere).
    pub shape: Shape,
}

/// How quality falls away from the optimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `floor + (ceiling − floor)·exp(−½ Σ (Δ_d / w_d)²)`.
    Bump,
    /// `ceiling − (ceiling − floor)·min(1, ½ Σ (Δ_d / w_d)² / 4)`: falls
    /// quadratically, reaching the floor two widths away.
    Bowl,
}

/// A simulated designer: one landscape per arm, in the configured arm order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Designer {
    /// A short name.
    pub name: String,
    /// Landscapes for arm 0, 1, … (arms beyond the list reuse the last one, 1 star lower).
    pub arms: Vec<ArmLandscape>,
    /// Rating noise, stars (sd before rounding).
    pub noise_sd: f64,
}

const RANGES: [(f64, f64); 3] = [(0.1, 0.5), (5.0, 12.0), (0.7, 0.99)];

fn unit(params: &Params) -> [f64; 3] {
    let v = [
        params.init_strength,
        params.guidance_scale,
        params.controlnet_weight,
    ];
    let mut u = [0.0; 3];
    for d in 0..3 {
        u[d] = (v[d] - RANGES[d].0) / (RANGES[d].1 - RANGES[d].0);
    }
    u
}

impl ArmLandscape {
    fn quality(&self, u: [f64; 3]) -> f64 {
        let shape = self.shape;
        let bump = |centre: [f64; 3], widths: [f64; 3]| {
            let mut q = 0.0;
            for d in 0..3 {
                let c = (centre[d] - RANGES[d].0) / (RANGES[d].1 - RANGES[d].0);
                q += ((u[d] - c) / widths[d]).powi(2);
            }
            match shape {
                Shape::Bump => (-0.5 * q).exp(),
                Shape::Bowl => 1.0 - (0.5 * q / 4.0).min(1.0),
            }
        };
        let main = self.floor + (self.ceiling - self.floor) * bump(self.optimum, self.widths);
        match self.decoy {
            Some((height, at)) => {
                let decoy =
                    self.floor + (height - self.floor) * bump(at, self.widths.map(|w| w * 0.8));
                main.max(decoy)
            }
            None => main,
        }
    }
}

impl Designer {
    /// The hidden true quality of a trial, in stars (1–5).
    pub fn true_quality(&self, arm_names: &[String], trial: &Trial) -> f64 {
        let index = arm_names
            .iter()
            .position(|n| *n == trial.provider)
            .unwrap_or(0);
        let u = unit(&trial.params);
        let q = match self.arms.get(index) {
            Some(arm) => arm.quality(u),
            None => self.arms.last().map_or(1.0, |a| a.quality(u) - 1.0),
        };
        q.clamp(1.0, 5.0)
    }

    /// A noisy whole-star rating of a trial.
    pub fn rate(&self, arm_names: &[String], trial: &Trial, rng: &mut StdRng) -> Stars {
        let noise = Normal::new(0.0, self.noise_sd).map_or(0.0, |n| n.sample(rng));
        let stars = (self.true_quality(arm_names, trial) + noise)
            .round()
            .clamp(1.0, 5.0);
        Stars::new(stars as i64).expect("clamped to 1-5")
    }
}

/// The built-in panel of simulated designers. In each, arm 0 has the
/// higher ceiling (≥ 4.6) and arm 1 tops out below 4.
pub fn panel() -> Vec<Designer> {
    let bowl = |ceiling, floor, optimum, widths| ArmLandscape {
        ceiling,
        floor,
        optimum,
        widths,
        decoy: None,
        shape: Shape::Bowl,
    };
    vec![
        Designer {
            name: "bowl".into(),
            arms: vec![
                bowl(4.8, 1.2, [0.36, 8.1, 0.91], [0.25, 0.30, 0.25]),
                bowl(3.7, 1.2, [0.19, 10.2, 0.80], [0.30, 0.30, 0.30]),
            ],
            noise_sd: 0.5,
        },
        Designer {
            name: "lopsided".into(),
            arms: vec![
                bowl(4.8, 1.5, [0.31, 7.4, 0.83], [0.30, 0.30, 0.30]),
                bowl(2.6, 1.0, [0.25, 9.0, 0.90], [0.35, 0.35, 0.35]),
            ],
            noise_sd: 0.5,
        },
        Designer {
            name: "tilted".into(),
            arms: vec![
                bowl(4.7, 1.0, [0.27, 10.9, 0.76], [0.22, 0.35, 0.20]),
                bowl(3.9, 1.0, [0.44, 6.1, 0.95], [0.25, 0.25, 0.35]),
            ],
            noise_sd: 0.5,
        },
        Designer {
            name: "smooth".into(),
            arms: vec![
                ArmLandscape {
                    ceiling: 4.8,
                    floor: 1.6,
                    optimum: [0.32, 9.4, 0.86],
                    widths: [0.30, 0.30, 0.35],
                    decoy: None,
                    shape: Shape::Bump,
                },
                ArmLandscape {
                    ceiling: 3.8,
                    floor: 1.4,
                    optimum: [0.22, 7.0, 0.93],
                    widths: [0.30, 0.35, 0.30],
                    decoy: None,
                    shape: Shape::Bump,
                },
            ],
            noise_sd: 0.5,
        },
        Designer {
            name: "narrow".into(),
            arms: vec![
                ArmLandscape {
                    ceiling: 4.9,
                    floor: 1.5,
                    optimum: [0.41, 6.3, 0.79],
                    widths: [0.18, 0.22, 0.20],
                    decoy: None,
                    shape: Shape::Bump,
                },
                ArmLandscape {
                    ceiling: 3.6,
                    floor: 1.5,
                    optimum: [0.18, 10.5, 0.95],
                    widths: [0.25, 0.25, 0.25],
                    decoy: None,
                    shape: Shape::Bump,
                },
            ],
            noise_sd: 0.5,
        },
        Designer {
            name: "decoy".into(),
            arms: vec![
                ArmLandscape {
                    ceiling: 4.7,
                    floor: 1.5,
                    optimum: [0.16, 10.8, 0.82],
                    widths: [0.22, 0.25, 0.25],
                    decoy: Some((3.6, [0.42, 6.0, 0.95])),
                    shape: Shape::Bump,
                },
                ArmLandscape {
                    ceiling: 3.9,
                    floor: 1.4,
                    optimum: [0.35, 8.0, 0.74],
                    widths: [0.30, 0.30, 0.30],
                    decoy: None,
                    shape: Shape::Bump,
                },
            ],
            noise_sd: 0.5,
        },
    ]
}

/// An optimizer configuration under comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Contender {
    /// Label in reports.
    pub label: &'static str,
    /// Strategy after the initial design.
    pub strategy: Strategy,
    /// Batch policy.
    pub batch: BatchPolicy,
    /// Bandit rule.
    pub bandit: BanditRule,
}

/// The contenders compared by default.
pub fn contenders() -> Vec<Contender> {
    let c = |label, strategy, batch| Contender {
        label,
        strategy,
        batch,
        bandit: crate::optim::OptimizerSettings::default().bandit,
    };
    vec![
        c("random", Strategy::Random, BatchPolicy::Ei),
        c("gp-ei", Strategy::Gp, BatchPolicy::Ei),
        c("gp-bandit-ei", Strategy::GpBandit, BatchPolicy::Ei),
        c(
            "gp-exploit-explore",
            Strategy::Gp,
            BatchPolicy::ExploitExplore,
        ),
        c(
            "gp-bandit-exploit-explore",
            Strategy::GpBandit,
            BatchPolicy::ExploitExplore,
        ),
        // Arms judged by their best settings under the model (issue 14).
        Contender {
            bandit: BanditRule::PosteriorMaximum,
            ..c(
                "posterior-max-exploit-explore",
                Strategy::GpBandit,
                BatchPolicy::ExploitExplore,
            )
        },
    ]
}

/// What one simulated session produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    /// Ratings until the best point tried had true quality ≥ 4.0.
    pub ratings_to_4: Option<usize>,
    /// Ratings until ≥ 4.5.
    pub ratings_to_4_5: Option<usize>,
    /// Best true quality tried after 10, 20, 30 and 50 ratings (or the last).
    pub best_at: [f64; 4],
    /// Mean rating given over the last 10 ratings.
    pub mean_seen_last_10: f64,
    /// Mean true quality of the last 10 renders.
    pub mean_true_last_10: f64,
    /// Proposals on a corner of the box (every parameter within 2% of its
    /// range from a bound), where the landscapes are at their floor.
    pub corner_proposals: usize,
    /// Share of ratings 21–50 (or whatever of them the session has) on an
    /// arm other than the one with the highest ceiling.
    pub worse_arm_share: f64,
    /// Space-filling proposals made after a rating of 4 or 5 was given.
    pub space_filling_after_4: usize,
}

/// Whether a unit-cube point is on a corner of the box (every coordinate
/// within 0.02 of 0 or 1).
fn on_corner(u: [f64; 3]) -> bool {
    u.iter().all(|x| *x <= 0.02 || *x >= 0.98)
}

impl Designer {
    /// Index of the arm with the highest ceiling (the truly better provider).
    fn best_arm(&self) -> usize {
        self.arms
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.ceiling.total_cmp(&b.1.ceiling))
            .map_or(0, |(i, _)| i)
    }
}

/// Runs one designer against one contender for `ratings` ratings, asking
/// for batches of `batch` variants, on a fresh database under `dir`.
pub fn run_session(
    base: &Config,
    contender: &Contender,
    designer: &Designer,
    seed: u64,
    ratings: usize,
    batch: usize,
    dir: PathBuf,
) -> Result<RunResult> {
    let mut config = base.clone();
    config.optimizer.strategy = contender.strategy;
    config.optimizer.batch = contender.batch;
    config.optimizer.bandit = contender.bandit;
    let ws = Workspace {
        config,
        paths: Paths {
            database: dir.join("sim.db").into(),
            data_dir: dir.clone(),
        },
        seed: Some(seed),
        config_file: None,
        storage: crate::storage::Storage::local(dir.clone()),
    };
    let arm_names: Vec<String> = ws
        .config
        .providers
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    let mut store = ws.open_store(OpenMode::CreateIfMissing)?;
    let mut noise = StdRng::seed_from_u64(seed ^ 0xD1B5_4A32_D192_ED03);
    let mut given: Vec<(f64, f64)> = Vec::with_capacity(ratings); // (stars, true quality)
    let mut best = f64::NEG_INFINITY;
    let mut best_trace = Vec::with_capacity(ratings);
    let best_arm = designer.best_arm();
    let mut on_worse_arm: Vec<bool> = Vec::with_capacity(ratings);
    let mut corner_proposals = 0;
    let mut space_filling_after_4 = 0;
    while given.len() < ratings {
        let want = batch.min(ratings - given.len());
        for s in suggest(&ws, &mut store, want)? {
            let trial = Trial {
                provider: s.provider.clone(),
                params: s.params,
            };
            let stars = designer.rate(&arm_names, &trial, &mut noise);
            corner_proposals += usize::from(on_corner(unit(&trial.params)));
            if s.method == Method::SpaceFilling && given.iter().any(|g| g.0 >= 4.0) {
                space_filling_after_4 += 1;
            }
            on_worse_arm
                .push(arm_names.iter().position(|n| *n == trial.provider) != Some(best_arm));
            rate(
                &mut store,
                s.experiment_id.as_str(),
                stars,
                None,
                Some("simulated"),
            )?;
            let truth = designer.true_quality(&arm_names, &trial);
            best = best.max(truth);
            given.push((f64::from(stars.get()), truth));
            best_trace.push(best);
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let first_reaching = |level: f64| best_trace.iter().position(|b| *b >= level).map(|i| i + 1);
    let at = |n: usize| best_trace[n.min(best_trace.len()) - 1];
    let last: Vec<&(f64, f64)> = given.iter().rev().take(10).collect();
    let late = &on_worse_arm[20.min(on_worse_arm.len())..50.min(on_worse_arm.len())];
    let worse_arm_share = if late.is_empty() {
        0.0
    } else {
        late.iter().filter(|w| **w).count() as f64 / late.len() as f64
    };
    Ok(RunResult {
        ratings_to_4: first_reaching(4.0),
        ratings_to_4_5: first_reaching(4.5),
        best_at: [at(10), at(20), at(30), at(50)],
        mean_seen_last_10: last.iter().map(|g| g.0).sum::<f64>() / last.len() as f64,
        mean_true_last_10: last.iter().map(|g| g.1).sum::<f64>() / last.len() as f64,
        corner_proposals,
        worse_arm_share,
        space_filling_after_4,
    })
}

/// Aggregated results of one contender on one designer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Contender label.
    pub contender: String,
    /// Designer name.
    pub designer: String,
    /// Sessions run.
    pub runs: usize,
    /// Median ratings to reach 4.0 (unreached sessions count as ratings + 1).
    pub median_ratings_to_4: f64,
    /// Sessions that reached 4.0.
    pub reached_4: usize,
    /// Median ratings to reach 4.5 (unreached count as ratings + 1).
    pub median_ratings_to_4_5: f64,
    /// Sessions that reached 4.5.
    pub reached_4_5: usize,
    /// Mean best true quality after 10/20/30/50 ratings.
    pub mean_best_at: [f64; 4],
    /// Mean rating seen over the last 10 ratings.
    pub mean_seen_last_10: f64,
    /// Mean true quality of the last 10 renders.
    pub mean_true_last_10: f64,
    /// Seed-to-seed spread of the ratings to 4.0: lower and upper quartile
    /// (unreached sessions count as ratings + 1).
    pub quartiles_ratings_to_4: [f64; 2],
    /// Standard deviation over sessions of the best true quality at the end.
    pub sd_best_at_end: f64,
    /// Mean corner proposals per session.
    pub mean_corner_proposals: f64,
    /// Mean share of ratings 21–50 spent on a worse arm.
    pub mean_worse_arm_share: f64,
    /// The same over the sessions that never reached 4.0 (None if all
    /// did): whether failing sessions were locked onto the worse arm.
    pub worse_arm_share_unreached: Option<f64>,
    /// Mean space-filling proposals per session after a 4-star rating.
    pub mean_space_filling_after_4: f64,
}

/// Summarises sessions.
pub fn summarize(
    contender: &str,
    designer: &str,
    results: &[RunResult],
    ratings: usize,
) -> Summary {
    let median = |v: Vec<f64>| quantile(v, 0.5);
    let n = results.len().max(1) as f64;
    let fill = |r: Option<usize>| r.map_or(ratings as f64 + 1.0, |v| v as f64);
    let to_4: Vec<f64> = results.iter().map(|r| fill(r.ratings_to_4)).collect();
    let mean = |f: &dyn Fn(&RunResult) -> f64| results.iter().map(f).sum::<f64>() / n;
    let mean_best_end = mean(&|r| r.best_at[3]);
    let sd_best_at_end = (mean(&|r| (r.best_at[3] - mean_best_end).powi(2))).sqrt();
    let mut mean_best_at = [0.0; 4];
    for r in results {
        for (m, b) in mean_best_at.iter_mut().zip(r.best_at) {
            *m += b / n;
        }
    }
    Summary {
        contender: contender.into(),
        designer: designer.into(),
        runs: results.len(),
        median_ratings_to_4: median(to_4.clone()),
        reached_4: results.iter().filter(|r| r.ratings_to_4.is_some()).count(),
        median_ratings_to_4_5: median(results.iter().map(|r| fill(r.ratings_to_4_5)).collect()),
        reached_4_5: results
            .iter()
            .filter(|r| r.ratings_to_4_5.is_some())
            .count(),
        mean_best_at,
        mean_seen_last_10: results.iter().map(|r| r.mean_seen_last_10).sum::<f64>() / n,
        mean_true_last_10: results.iter().map(|r| r.mean_true_last_10).sum::<f64>() / n,
        quartiles_ratings_to_4: [quantile(to_4.clone(), 0.25), quantile(to_4, 0.75)],
        sd_best_at_end,
        mean_corner_proposals: mean(&|r| r.corner_proposals as f64),
        mean_worse_arm_share: mean(&|r| r.worse_arm_share),
        worse_arm_share_unreached: {
            let failed: Vec<f64> = results
                .iter()
                .filter(|r| r.ratings_to_4.is_none())
                .map(|r| r.worse_arm_share)
                .collect();
            (!failed.is_empty()).then(|| failed.iter().sum::<f64>() / failed.len() as f64)
        },
        mean_space_filling_after_4: mean(&|r| r.space_filling_after_4 as f64),
    }
}

/// The `q`-quantile of `v` by linear interpolation between order
/// statistics (0 for no values).
pub(super) fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let at = q * (v.len() - 1) as f64;
    let (low, high) = (at.floor() as usize, at.ceil() as usize);
    v[low] + (v[high] - v[low]) * (at - low as f64)
}

/// A scratch directory for one session: in `/dev/shm` when it exists (the
/// simulation writes thousands of durable commits), else the temp dir.
pub fn scratch_dir(tag: &str) -> Result<PathBuf> {
    let root = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = root.join(format!(
        "latina-sim-{}-{tag}-{}",
        std::process::id(),
        rand::rng().random::<u32>()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create directory", &dir, e))?;
    Ok(dir)
}
