//! The model's view of where the search stands, for `status` and `report`:
//! the best settings tried as the model sees them (not the luckiest
//! rating), how far a target rating looks, and the best settings per arm.

use rand::rngs::StdRng;
use serde::Serialize;

use super::acquisition::normal_cdf;
use super::design::latin_hypercube;
use super::gp::Prediction;
use super::model::{Model, encode};
use super::space::SearchSpace;
use crate::domain::{RatedTrial, Trial};

/// The noise-aware view of convergence: what the model believes about the
/// best settings tried, and how far a target rating looks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlook {
    /// The tried settings with the best posterior mean.
    pub best: Trial,
    /// Predicted rating there (the model's belief, not the luckiest rating).
    pub predicted_mean: f64,
    /// Its standard deviation.
    pub predicted_sd: f64,
    /// The target rating the estimate is about.
    pub target: f64,
    /// Highest probability, over the search space, that settings truly rate at least `target`.
    pub best_chance: f64,
    /// Trials until a render at or above `target` is more likely than not:
    /// 0 when the model is already confident (mean − 2·sd ≥ target), `None`
    /// when the chance per trial is below 1%.
    pub trials_to_target: Option<u32>,
}

/// The best settings the model knows on one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmBest {
    /// The arm and its settings.
    pub trial: Trial,
    /// Predicted rating there.
    pub predicted_mean: f64,
    /// Its standard deviation (noise excluded).
    pub predicted_sd: f64,
}

/// The outlook from a fitted model over the ratings of its window.
pub(super) fn outlook(
    space: &SearchSpace,
    window: &[RatedTrial],
    model: &Model,
    target: f64,
    rng: &mut StdRng,
) -> Option<Outlook> {
    // Means first (O(n) each), the standard deviation only for the winner.
    let mut best: Option<(&Trial, f64, Vec<f64>)> = None;
    for o in window {
        let Some(arm) = space.provider_index(&o.trial.provider) else {
            continue;
        };
        let x = encode(space, arm, space.unit_reals(&o.trial.params));
        let mean = model.gp.predict_mean(&x);
        if best.as_ref().is_none_or(|b| mean > b.1) {
            best = Some((&o.trial, mean, x));
        }
    }
    let (trial, x) = best.map(|(t, _, x)| (t.clone(), x))?;
    let Prediction { mean, sd } = model.gp.predict(&x);
    let mut chance: f64 = 0.0;
    for arm in 0..space.providers().len() {
        for u in latin_hypercube::<3, _>(256, rng) {
            let p = model.gp.predict(&encode(space, arm, u));
            chance = chance.max(normal_cdf((p.mean - target) / p.sd.max(1e-9)));
        }
    }
    Some(Outlook {
        best: trial,
        predicted_mean: mean,
        predicted_sd: sd,
        target,
        best_chance: chance,
        trials_to_target: trials_to_target(mean, sd, target, chance),
    })
}

/// Trials until at least one render at `target` or better is more likely
/// than not, when each trial succeeds with probability `chance`: 0 once the
/// best tried settings are confidently there (mean − 2·sd ≥ target), `None`
/// below a 1% chance per trial.
fn trials_to_target(mean: f64, sd: f64, target: f64, chance: f64) -> Option<u32> {
    if mean - 2.0 * sd >= target {
        Some(0)
    } else if chance < 0.01 {
        None
    } else if chance >= 0.5 {
        Some(1)
    } else {
        Some((0.5f64.ln() / (1.0 - chance).ln()).ceil() as u32)
    }
}

/// Per configured arm, the settings with the highest predicted rating among
/// the points tried on it (in the window) and a space-filling sample of its
/// untried settings; `None` for an arm with no rating yet, whose
/// predictions are only the prior.
pub(super) fn best_by_arm(
    space: &SearchSpace,
    window: &[RatedTrial],
    model: &Model,
    rng: &mut StdRng,
) -> Vec<Option<ArmBest>> {
    let arms = space.providers().len();
    let mut tried: Vec<Vec<[f64; 3]>> = vec![Vec::new(); arms];
    for o in window {
        if let Some(arm) = space.provider_index(&o.trial.provider) {
            tried[arm].push(space.unit_reals_on(arm, &o.trial.params));
        }
    }
    (0..arms)
        .map(|arm| {
            if tried[arm].is_empty() {
                return None;
            }
            let sample = latin_hypercube::<3, _>(256, rng);
            let (unit, _) = tried[arm]
                .iter()
                .chain(sample.iter())
                .map(|u| (*u, model.gp.predict_mean(&encode(space, arm, *u))))
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let p = model.gp.predict(&encode(space, arm, unit));
            Some(ArmBest {
                trial: Trial {
                    provider: space.providers()[arm].clone(),
                    params: space.params_on(arm, unit),
                },
                predicted_mean: p.mean,
                predicted_sd: p.sd,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_to_target_follows_the_geometric_waiting_time() {
        // Confident already: nothing left to try.
        assert_eq!(trials_to_target(4.6, 0.2, 4.0, 0.9), Some(0));
        // A coin flip or better per trial: the next one.
        assert_eq!(trials_to_target(3.9, 0.3, 4.0, 0.5), Some(1));
        // 1 − (1 − p)^k ≥ ½  ⇔  k ≥ ln ½ / ln(1 − p): p = 0.2 → 3.106 → 4.
        assert_eq!(trials_to_target(3.0, 0.5, 4.0, 0.2), Some(4));
        assert_eq!(trials_to_target(3.0, 0.5, 4.0, 0.1), Some(7));
        // Hopeless: no estimate.
        assert_eq!(trials_to_target(2.0, 0.5, 4.0, 0.005), None);
    }
}
