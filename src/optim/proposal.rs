//! How one slot of a batch becomes a point, once a model exists: exploit
//! the best prediction, explore by Expected Improvement, or fill space as
//! random search would — the last two outside the exclusion zones around
//! settings already tried.
//!
//! Which of these a slot gets is [`super::policy`]'s; the model itself is
//! [`super::model`]'s.

use rand::RngExt;
use rand::rngs::StdRng;

use super::acquisition::{expected_improvement, maximize_on_unit_cube};
use super::bandit::Bandit;
use super::design::{exclusion_radius, outside_exclusion, uniform_outside};
use super::surrogate::Surrogate;
use super::model::{Model, encode};
use super::settings::{EXPLOIT_MAX_SD, EXPLOIT_MIN_MEAN, OptimizerSettings};
use super::space::SearchSpace;
use crate::domain::{ArmRule, Explanation, Method};

/// A point chosen for one slot, with how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Proposal {
    /// Index into the search space's providers.
    pub arm: usize,
    /// The reals, scaled to the unit cube.
    pub unit: [f64; 3],
    /// Predictions and the arm choice behind it.
    pub explanation: Explanation,
    /// Which rule proposed it.
    pub method: Method,
}

/// What every slot's proposal reads.
pub(super) struct Proposer<'a> {
    pub space: &'a SearchSpace,
    pub settings: &'a OptimizerSettings,
    pub model: &'a Model,
    pub bandit: &'a Bandit,
    /// Random candidates per arm in the acquisition search.
    pub candidates: usize,
    pub rng: &'a mut StdRng,
}

impl Proposer<'_> {
    /// The best predicted settings over all arms (maximise μ − σ/2), but only
    /// once the model knows good settings: predicted at least
    /// [`EXPLOIT_MIN_MEAN`] stars with sd at most [`EXPLOIT_MAX_SD`]. Before
    /// that, exploiting would only repeat a guess, so the slot explores.
    pub fn exploit(&mut self, gp: &Surrogate) -> Option<Proposal> {
        let arms: Vec<usize> = (0..self.space.providers().len()).collect();
        let space = self.space;
        let score = |arm: usize, u: [f64; 3]| {
            let p = gp.predict(&encode(space, arm, u));
            p.mean - 0.5 * p.sd
        };
        let (arm, unit, _) =
            maximize_over_arms(&arms, self.model, self.candidates, self.rng, &score);
        let p = gp.predict(&encode(space, arm, unit));
        if p.sd > EXPLOIT_MAX_SD || p.mean < EXPLOIT_MIN_MEAN {
            return None;
        }
        let explanation = Explanation {
            arm_rule: ArmRule::BestPrediction,
            arm_score: None,
            predicted_mean: Some(p.mean),
            predicted_sd: Some(p.sd),
            expected_improvement: Some(expected_improvement(
                p.mean,
                p.sd,
                self.model.incumbent,
                self.settings.xi,
            )),
        };
        Some(Proposal {
            arm,
            unit,
            explanation,
            method: Method::GpExploit,
        })
    }

    /// What random search would do, without repeating itself: a uniformly
    /// random arm (the bandit is not asked, so an arm it has written off by
    /// bad luck still gets looked at) and a uniformly random point outside
    /// the exclusion zones of the points tried on it.
    pub fn fill_space(&mut self, gp: &Surrogate, tried: &[Vec<[f64; 3]>]) -> Proposal {
        let arm = self.rng.random_range(0..self.space.providers().len());
        let radius = exclusion_radius(self.settings.min_distance, tried[arm].len());
        let unit = uniform_outside(&tried[arm], radius, 256, self.rng);
        let p = gp.predict(&encode(self.space, arm, unit));
        let explanation = Explanation {
            arm_rule: ArmRule::Design,
            arm_score: None,
            predicted_mean: Some(p.mean),
            predicted_sd: Some(p.sd),
            expected_improvement: None,
        };
        Proposal {
            arm,
            unit,
            explanation,
            method: Method::SpaceFilling,
        }
    }

    /// Expected Improvement, on the bandit's arm or (GP only) over all arms.
    pub fn explore(&mut self, gp: &Surrogate, tried: &[Vec<[f64; 3]>]) -> Proposal {
        let selection = self.settings.strategy.arms_to_explore(
            self.settings.bandit,
            self.bandit,
            self.space.providers().len(),
            self.rng,
        );
        let (incumbent, xi, space) = (self.model.incumbent, self.settings.xi, self.space);
        let radius: Vec<f64> = tried
            .iter()
            .map(|t| exclusion_radius(self.settings.min_distance, t.len()))
            .collect();
        // Zones only around settings the model believes mediocre (predicted
        // below the good-render bar): around good ones EI may still refine,
        // which is what the designer sees late in a session.
        let tried: Vec<Vec<[f64; 3]>> = tried
            .iter()
            .enumerate()
            .map(|(arm, points)| {
                points
                    .iter()
                    .copied()
                    .filter(|u| gp.predict_mean(&encode(space, arm, *u)) < EXPLOIT_MIN_MEAN)
                    .collect()
            })
            .collect();
        // Inside an exclusion zone the score is −1, below any EI (≥ 0), so
        // the search leaves the zones whenever there is room outside them.
        let ei = |arm: usize, u: [f64; 3]| {
            if !outside_exclusion(&u, &tried[arm], radius[arm]) {
                return -1.0;
            }
            let p = gp.predict(&encode(space, arm, u));
            expected_improvement(p.mean, p.sd, incumbent, xi)
        };
        let arms = &selection.arms;
        let (mut arm, mut unit, mut ei) =
            maximize_over_arms(arms, self.model, self.candidates, self.rng, &ei);
        if ei < 0.0 {
            // Every candidate was excluded (only with a huge `min_distance`):
            // plain EI rather than a point chosen by nothing.
            let plain = |arm: usize, u: [f64; 3]| {
                let p = gp.predict(&encode(space, arm, u));
                expected_improvement(p.mean, p.sd, incumbent, xi)
            };
            (arm, unit, ei) =
                maximize_over_arms(arms, self.model, self.candidates, self.rng, &plain);
        }
        let p = gp.predict(&encode(space, arm, unit));
        let explanation = Explanation {
            arm_rule: selection.rule,
            arm_score: selection.score,
            predicted_mean: Some(p.mean),
            predicted_sd: Some(p.sd),
            expected_improvement: Some(ei),
        };
        Proposal {
            arm,
            unit,
            explanation,
            method: Method::GpEi,
        }
    }
}

/// Maximises `f(arm, point)` on each arm's unit cube (candidates seeded with
/// the arm's best observed points) and returns the best arm, point and value.
fn maximize_over_arms(
    arms: &[usize],
    model: &Model,
    candidates: usize,
    rng: &mut StdRng,
    f: &dyn Fn(usize, [f64; 3]) -> f64,
) -> (usize, [f64; 3], f64) {
    let mut best: Option<(usize, [f64; 3], f64)> = None;
    for &arm in arms {
        let (unit, value) =
            maximize_on_unit_cube(&|u| f(arm, u), &model.seeds_by_arm[arm], candidates, 3, rng);
        if best.is_none_or(|b| value > b.2) {
            best = Some((arm, unit, value));
        }
    }
    best.expect("the search space has at least one arm")
}
