//! `latina simulate --knobs`: does searching only an arm's own knobs learn
//! faster than searching all three?
//!
//! Each scenario has a simulated designer (landscapes of the built-in
//! panel) whose better arm is a provider that ignores some knobs: its true
//! quality does not depend on them (their widths are made effectively
//! infinite). The same sessions run twice, through the real `suggest` →
//! `rate` path: once with the arm configured as that provider, so the
//! search space pins the ignored knobs ([`crate::provider::knobs_of`]), and
//! once with the same arm names configured as built-in engines, which
//! declare all three, so the optimizer also searches the ignored ones.

use serde::Serialize;
use std::path::PathBuf;

use super::simulate::{Contender, Designer, RunResult, panel, quantile, run_session};
use crate::config::{Config, ProviderConfig};
use crate::error::{Error, Result};

/// One comparison: arm names, what each honours, and the provider type
/// that honours exactly that.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KnobScenario {
    /// Short name.
    pub name: &'static str,
    /// Per arm: name, provider type, honoured knobs (in the optimizer's order).
    pub arms: [(&'static str, &'static str, [bool; 3]); 2],
}

impl KnobScenario {
    /// The scenarios `--knobs` runs: the better arm ignores one knob
    /// (Replicate's interior-design model has no ControlNet scale), or two
    /// (Stability's structure control takes only `controlnet_weight`).
    pub const ALL: [KnobScenario; 2] = [
        KnobScenario {
            name: "two-knob arm",
            arms: [
                ("interior", "replicate", [true, true, false]),
                ("tone", "builtin-tone", [true, true, true]),
            ],
        },
        KnobScenario {
            name: "one-knob arm",
            arms: [
                ("structure", "stability", [false, false, true]),
                ("tone", "builtin-tone", [true, true, true]),
            ],
        },
    ];

    /// The arms as configured: the real provider types when `honoured`,
    /// else built-in engines of the same names (all three knobs searched).
    ///
    /// # Errors
    /// [`Error::Optimizer`] if a provider entry does not parse (a bug).
    pub fn providers(&self, honoured: bool) -> Result<Vec<ProviderConfig>> {
        self.arms
            .iter()
            .map(|(name, kind, _)| {
                let kind = if honoured { kind } else { &"builtin-tone" };
                serde_json::from_value(serde_json::json!({ "type": kind, "name": name }))
                    .map_err(|e| Error::Optimizer(format!("simulated arm {name}: {e}")))
            })
            .collect()
    }

    /// `designer` with the arms' ignored knobs made irrelevant to quality.
    pub fn designer(&self, designer: &Designer) -> Designer {
        let mut d = designer.clone();
        for (landscape, (_, _, honoured)) in d.arms.iter_mut().zip(self.arms) {
            for (width, on) in landscape.widths.iter_mut().zip(honoured) {
                if !on {
                    // Far wider than the unit range: the axis never matters.
                    *width = 1e6;
                }
            }
        }
        d.name = format!("{} / {}", self.name, designer.name);
        d
    }
}

/// The panel designers the comparison uses (arm 0, the better arm, is the
/// one that ignores knobs).
pub fn knob_designers() -> Vec<Designer> {
    panel()
        .into_iter()
        .filter(|d| matches!(d.name.as_str(), "bowl" | "smooth" | "narrow" | "decoy"))
        .collect()
}

/// One session to run.
#[derive(Debug, Clone, Copy)]
pub struct KnobJob<'a> {
    /// The arms.
    pub scenario: &'a KnobScenario,
    /// The panel designer whose landscapes the arms get.
    pub designer: &'a Designer,
    /// Search only the honoured knobs (else all three).
    pub honoured: bool,
    /// The session's seed (optimizer and rating noise).
    pub seed: u64,
}

/// Runs one session of `ratings` ratings in batches of `batch`, on a fresh
/// database under `dir`, with the configured optimizer settings.
pub fn run_knob_session(
    base: &Config,
    job: KnobJob<'_>,
    ratings: usize,
    batch: usize,
    dir: PathBuf,
) -> Result<RunResult> {
    let mut config = base.clone();
    config.providers = job.scenario.providers(job.honoured)?;
    let o = &config.optimizer;
    let contender = Contender {
        label: "configured",
        strategy: o.strategy,
        batch: o.batch,
        bandit: o.bandit,
    };
    run_session(
        &config,
        &contender,
        &job.scenario.designer(job.designer),
        job.seed,
        ratings,
        batch,
        dir,
    )
}

/// One scenario and search mode over every designer and seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnobSummary {
    /// Scenario name.
    pub scenario: String,
    /// `honoured knobs` or `all three`.
    pub search: String,
    /// Sessions run.
    pub runs: usize,
    /// Median ratings until the best render tried is truly ≥ 4.0
    /// (unreached sessions count as ratings + 1).
    pub median_ratings_to_4: f64,
    /// Its 25th and 75th percentiles: the seed-to-seed spread.
    pub quartiles_ratings_to_4: [f64; 2],
    /// Sessions that reached 4.0.
    pub reached_4: usize,
    /// Median ratings until the best render tried is truly ≥ 4.5 (the
    /// fine search near the peak, where searching fewer knobs should show
    /// first), its quartiles, and the sessions that got there.
    pub ratings_to_4_5: [f64; 3],
    /// Sessions that reached 4.5.
    pub reached_4_5: usize,
    /// Median best true stars after 10 ratings, and its quartiles.
    pub best_at_10: [f64; 3],
    /// Median best true stars after 20 ratings, and its quartiles.
    pub best_at_20: [f64; 3],
    /// Median best true stars after 50 ratings (or the last), and its quartiles.
    pub best_at_50: [f64; 3],
}

/// Summarises the sessions of one scenario and search mode.
pub fn summarize_knobs(
    scenario: &str,
    honoured: bool,
    results: &[RunResult],
    ratings: usize,
) -> KnobSummary {
    let unreached = |reached: Option<usize>| reached.map_or(ratings as f64 + 1.0, |v| v as f64);
    let to_4: Vec<f64> = results.iter().map(|r| unreached(r.ratings_to_4)).collect();
    let to_4_5: Vec<f64> = results
        .iter()
        .map(|r| unreached(r.ratings_to_4_5))
        .collect();
    let three = |v: Vec<f64>| {
        [
            quantile(v.clone(), 0.5),
            quantile(v.clone(), 0.25),
            quantile(v, 0.75),
        ]
    };
    KnobSummary {
        scenario: scenario.to_string(),
        search: if honoured {
            "honoured knobs"
        } else {
            "all three"
        }
        .to_string(),
        runs: results.len(),
        median_ratings_to_4: quantile(to_4.clone(), 0.5),
        quartiles_ratings_to_4: [quantile(to_4.clone(), 0.25), quantile(to_4, 0.75)],
        reached_4: results.iter().filter(|r| r.ratings_to_4.is_some()).count(),
        ratings_to_4_5: three(to_4_5),
        reached_4_5: results
            .iter()
            .filter(|r| r.ratings_to_4_5.is_some())
            .count(),
        best_at_10: three(results.iter().map(|r| r.best_at[0]).collect()),
        best_at_20: three(results.iter().map(|r| r.best_at[1]).collect()),
        best_at_50: three(results.iter().map(|r| r.best_at[3]).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Params, Trial};

    #[test]
    fn an_ignored_knob_does_not_change_the_true_quality() {
        let scenario = KnobScenario::ALL[1];
        let designer = scenario.designer(&panel()[0]);
        let names = vec!["structure".to_string(), "tone".to_string()];
        let trial = |provider: &str, i: f64, g: f64| Trial {
            provider: provider.into(),
            params: Params {
                init_strength: i,
                guidance_scale: g,
                controlnet_weight: 0.9,
            },
        };
        let a = designer.true_quality(&names, &trial("structure", 0.1, 5.0));
        let b = designer.true_quality(&names, &trial("structure", 0.5, 12.0));
        assert!((a - b).abs() < 1e-9, "{a} {b}");
        // The all-knob arm still depends on them.
        // (At the tone arm's optimum in those two, then far from it.)
        let c = designer.true_quality(&names, &trial("tone", 0.19, 10.2));
        let d = designer.true_quality(&names, &trial("tone", 0.5, 5.0));
        assert!((c - d).abs() > 0.1, "{c} {d}");
    }

    #[test]
    fn honoured_arms_are_the_real_provider_types_and_the_control_all_builtin() {
        let s = KnobScenario::ALL[1];
        let real = s.providers(true).unwrap();
        assert_eq!(
            crate::provider::knobs_of(&real[0]).honoured(),
            [false, false, true]
        );
        let control = s.providers(false).unwrap();
        assert_eq!(control[0].name(), "structure");
        assert_eq!(crate::provider::knobs_of(&control[0]).honoured(), [true; 3]);
    }
}
