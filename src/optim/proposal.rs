//! How one slot of a batch becomes a point, once a model exists: exploit
//! the best prediction, compare (B beside an exploited A, by the expected
//! utility of the better of the two), explore by Expected Improvement, or
//! fill space as random search would — the last three outside the
//! exclusion zones around
//! settings already tried, and at least [`BATCH_MIN_DISTANCE`] from the
//! variants chosen earlier in the same batch on the same arm, so A and B
//! stay a real choice.
//!
//! Exploring judges unexplored settings by a **prior mean below the data
//! mean** ([`PriorShift`]): the GP's prior mean is the mean rating, so
//! where it has seen nothing (the corners of the box, farthest from every
//! point) it predicts an average render with the largest uncertainty, and
//! EI goes there first although on most landscapes the corners are the
//! worst settings. With `bandit = "posterior-maximum"` the exploring arm is
//! drawn by Thompson sampling of each arm's best settings
//! ([`super::bandit::thompson_on_maxima`]).
//!
//! Which of these a slot gets is [`super::policy`]'s; the model itself is
//! [`super::model`]'s.

use rand::RngExt;
use rand::rngs::StdRng;

use rand_distr::{Distribution, Normal};

use super::acquisition::{expected_best_of_two, expected_improvement, maximize_on_unit_cube};
use super::bandit::{ArmPosterior, Bandit, BanditRule, thompson_on_maxima};
use super::design::{distance_squared, exclusion_radius, outside_exclusion, uniform_outside};
use super::gp::Prediction;
use super::model::{Model, encode};
use super::policy::{ArmSelection, warming_up};
use super::settings::{BATCH_MIN_DISTANCE, OptimizerSettings, Strategy};
use super::space::SearchSpace;
use super::surrogate::Surrogate;
use crate::domain::{ArmRule, Explanation, Method};

/// A prior mean below the data mean for settings the model knows nothing
/// about: the posterior mean is lowered by `offset · (σ(x)/σ₀)²`, where
/// `σ₀` is the prior sd. Near rated settings (`σ ≪ σ₀`) the prediction is
/// untouched; far from all of them it tends to `mean − offset`. This is
/// approximately the posterior of the same GP with its constant prior mean
/// moved down by `offset` (exact for the prior; the weight `1 − k*ᵀK⁻¹1`
/// of the prior mean is replaced by the variance ratio, which needs only
/// [`GaussianProcess::predict`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PriorShift {
    /// How far below the data mean unexplored settings are assumed (stars, ≥ 0).
    pub offset: f64,
    /// The prior sd, in stars (the sd where the model has seen nothing).
    pub prior_sd: f64,
}

impl PriorShift {
    /// The shift for ratings `stars` under `gp`: unexplored settings are
    /// assumed as poor as the poorest rating given (the offset is the data
    /// mean minus the lowest rating). On most landscapes most settings are
    /// poor, and the corners, farthest from everything, are the poorest; a
    /// milder shift (to the lower quartile) still left 4–5 corner
    /// proposals per 50 ratings, because the prior sd, over 1 star, keeps
    /// EI high wherever nothing is known.
    pub fn new(gp: &Surrogate, stars: &[f64], dims: usize) -> PriorShift {
        let mut sorted = stars.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (offset, prior_sd) = if sorted.is_empty() {
            (0.0, 1.0)
        } else {
            let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
            // Far from every input in every dimension: only the prior is left.
            let far = vec![1e3; dims];
            (mean - sorted[0], gp.predict(&far).sd)
        };
        PriorShift {
            offset: offset.max(0.0),
            prior_sd: prior_sd.max(1e-9),
        }
    }

    /// The shifted mean of a prediction.
    pub fn mean(self, p: Prediction) -> f64 {
        let ratio = (p.sd / self.prior_sd).powi(2).min(1.0);
        p.mean - self.offset * ratio
    }
}

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
    /// How unexplored settings are judged while exploring.
    pub prior: PriorShift,
    pub rng: &'a mut StdRng,
    /// Renders (judged) on the photo the suggestions are for.
    pub photo_renders: usize,
}

/// Variants chosen earlier in the same batch: (arm, unit point).
pub(super) type BatchMates<'a> = &'a [(usize, [f64; 3])];

/// Whether `u` on `arm` is at least [`BATCH_MIN_DISTANCE`] from every
/// batch mate on the same arm.
fn apart_from(batch: BatchMates<'_>, arm: usize, u: &[f64; 3]) -> bool {
    let r2 = BATCH_MIN_DISTANCE * BATCH_MIN_DISTANCE;
    batch
        .iter()
        .all(|(a, v)| *a != arm || distance_squared(v, u) >= r2)
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
            maximize_over_arms(space, &arms, self.model, self.candidates, self.rng, &score);
        let p = gp.predict(&encode(space, arm, unit));
        if p.sd > gp.exploit_max_sd() || p.mean < gp.good_mean() {
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
    /// the exclusion zones of the points tried on it and apart from its
    /// batch mates.
    pub fn fill_space(
        &mut self,
        gp: &Surrogate,
        tried: &[Vec<[f64; 3]>],
        batch: BatchMates<'_>,
    ) -> Proposal {
        let arm = self.rng.random_range(0..self.space.providers().len());
        let radius = exclusion_radius(self.settings.min_distance, tried[arm].len());
        // Drawn in the full cube, then pinned on the arm's ignored reals
        // (the exclusion zones of a one-knob arm are thus only approximate).
        let mut unit = self
            .space
            .project(arm, uniform_outside(&tried[arm], radius, 256, self.rng));
        for _ in 0..256 {
            if apart_from(batch, arm, &unit) {
                break;
            }
            unit = self.space.project(
                arm,
                [self.rng.random(), self.rng.random(), self.rng.random()],
            );
        }
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

    /// Expected Improvement (of the shifted mean, see [`PriorShift`]) on the
    /// arm the bandit draws (while the arms warm up, the one with the
    /// fewest renders, see [`warming_up`]; during the second look, the one
    /// short of its renders, see [`super::policy::SecondLook`]), or (GP
    /// only) over all arms; outside the exclusion zones and apart from the
    /// batch mates. With every point of an arm excluded (only with a huge
    /// `min_distance`) the zones give way (scored in `[−1, 0)` by their
    /// EI), never the batch distance (−2).
    pub fn explore(
        &mut self,
        gp: &Surrogate,
        tried: &[Vec<[f64; 3]>],
        batch: BatchMates<'_>,
    ) -> Proposal {
        let renders: Vec<usize> = tried.iter().map(Vec::len).collect();
        let forced = match self.settings.strategy {
            Strategy::GpBandit => warming_up(&renders, self.settings.arm_warmup, self.rng)
                .map(|arm| (arm, ArmRule::Warmup))
                .or_else(|| {
                    let mates: Vec<usize> = batch.iter().map(|(arm, _)| *arm).collect();
                    let look = self.settings.second_look;
                    look.arm(&renders, self.photo_renders, &mates)
                        .map(|arm| (arm, ArmRule::SecondLook))
                }),
            Strategy::Gp | Strategy::Random => None,
        };
        let selection = match (forced, self.settings.strategy, self.settings.bandit) {
            (Some((arm, rule)), _, _) => ArmSelection {
                arms: vec![arm],
                rule,
                score: None,
            },
            (None, Strategy::GpBandit, BanditRule::PosteriorMaximum) => {
                self.arm_by_posterior_maximum(gp, tried)
            }
            (None, strategy, rule) => {
                strategy.arms_to_explore(rule, self.bandit, self.space.providers().len(), self.rng)
            }
        };
        let (incumbent, xi, space, prior) = (
            self.model.incumbent,
            self.settings.xi,
            self.space,
            self.prior,
        );
        let radius: Vec<f64> = tried
            .iter()
            .map(|t| exclusion_radius(self.settings.min_distance, t.len()))
            .collect();
        let tried = self.mediocre_tried(gp, tried);
        let score = |arm: usize, u: [f64; 3]| {
            if !apart_from(batch, arm, &u) {
                return -2.0;
            }
            let p = gp.predict(&encode(space, arm, u));
            let ei = expected_improvement(prior.mean(p), p.sd, incumbent, xi);
            if outside_exclusion(&u, &tried[arm], radius[arm]) {
                ei
            } else {
                ei / (1.0 + ei) - 1.0
            }
        };
        let (arm, unit, value) = maximize_over_arms(
            space,
            &selection.arms,
            self.model,
            self.candidates,
            self.rng,
            &score,
        );
        let p = gp.predict(&encode(space, arm, unit));
        let explanation = Explanation {
            arm_rule: selection.rule,
            arm_score: selection.score,
            predicted_mean: Some(p.mean),
            predicted_sd: Some(p.sd),
            expected_improvement: Some(if value >= 0.0 {
                value
            } else {
                expected_improvement(prior.mean(p), p.sd, incumbent, xi)
            }),
        };
        Proposal {
            arm,
            unit,
            explanation,
            method: Method::GpEi,
        }
    }

    /// Variant B beside an exploited variant A: the settings, on any arm,
    /// that maximise the expected utility of the better of the two,
    /// `E[max(f(A), f(B))]` under the joint posterior ([`expected_best_of_two`];
    /// EUBO, Lin et al. 2022), at least [`BATCH_MIN_DISTANCE`] from A on
    /// A's arm and outside the exclusion zones as when exploring. `gp` must
    /// not yet believe A: the comparison's value lies in what is uncertain
    /// about A as well as B. EUBO is `μ_A + E[(f(B) − f(A))⁺]`: B is where
    /// the designer's choice is most likely to reveal something better than
    /// A, weighed by how much better, with the correlation between A and B
    /// counted (a near copy of A, perfectly correlated, is worth nothing).
    /// B's mean is shifted as for EI ([`PriorShift`]), so the box's
    /// unexplored corners do not win by their prior sd alone. Its EUBO gain
    /// over `μ_A` is recorded as the expected improvement.
    pub fn compare(
        &mut self,
        gp: &Surrogate,
        tried: &[Vec<[f64; 3]>],
        a: &Proposal,
        batch: BatchMates<'_>,
    ) -> Proposal {
        let (space, prior) = (self.space, self.prior);
        let xa = encode(space, a.arm, a.unit);
        let pa = gp.predict(&xa);
        let mean_a = prior.mean(pa);
        let radius: Vec<f64> = tried
            .iter()
            .map(|t| exclusion_radius(self.settings.min_distance, t.len()))
            .collect();
        let tried = self.mediocre_tried(gp, tried);
        let gain = |arm: usize, u: [f64; 3]| -> f64 {
            let (means, cov) = gp.predict_joint(&[xa.clone(), encode(space, arm, u)]);
            let mean_b = prior.mean(Prediction {
                mean: means[1],
                sd: cov[(1, 1)].max(0.0).sqrt(),
            });
            expected_best_of_two([mean_a, mean_b], [cov[(0, 0)], cov[(1, 1)]], cov[(0, 1)]) - mean_a
        };
        let score = |arm: usize, u: [f64; 3]| {
            if !apart_from(batch, arm, &u) {
                return -2.0;
            }
            let g = gain(arm, u).max(0.0);
            if outside_exclusion(&u, &tried[arm], radius[arm]) {
                g
            } else {
                g / (1.0 + g) - 1.0
            }
        };
        let arms: Vec<usize> = (0..space.providers().len()).collect();
        let (arm, unit, _) =
            maximize_over_arms(space, &arms, self.model, self.candidates, self.rng, &score);
        let p = gp.predict(&encode(space, arm, unit));
        let explanation = Explanation {
            arm_rule: ArmRule::Acquisition,
            arm_score: None,
            predicted_mean: Some(p.mean),
            predicted_sd: Some(p.sd),
            expected_improvement: Some(gain(arm, unit).max(0.0)),
        };
        Proposal {
            arm,
            unit,
            explanation,
            method: Method::GpEubo,
        }
    }

    /// The tried settings per arm the model predicts below the good-render
    /// bar: exploration keeps out of zones around them, not around good
    /// ones, near which refining is what the designer sees late in a session.
    fn mediocre_tried(&self, gp: &Surrogate, tried: &[Vec<[f64; 3]>]) -> Vec<Vec<[f64; 3]>> {
        let space = self.space;
        tried
            .iter()
            .enumerate()
            .map(|(arm, points)| {
                points
                    .iter()
                    .copied()
                    .filter(|u| gp.predict_mean(&encode(space, arm, *u)) < gp.good_mean())
                    .collect()
            })
            .collect()
    }

    /// The arm whose best settings a joint posterior draw rates highest
    /// ([`thompson_on_maxima`]), over candidates per arm: its tried
    /// settings the model rates best and points around the best of them.
    /// Means are shifted as for EI.
    fn arm_by_posterior_maximum(
        &mut self,
        gp: &Surrogate,
        tried: &[Vec<[f64; 3]>],
    ) -> ArmSelection {
        let space = self.space;
        let posteriors: Vec<ArmPosterior> = (0..space.providers().len())
            .map(|arm| {
                let points: Vec<Vec<f64>> = self
                    .thompson_candidates(gp, arm, &tried[arm])
                    .into_iter()
                    .map(|u| encode(space, arm, u))
                    .collect();
                let (means, covariance) = gp.predict_joint(&points);
                let means = means
                    .iter()
                    .enumerate()
                    .map(|(i, mean)| {
                        self.prior.mean(Prediction {
                            mean: *mean,
                            sd: covariance[(i, i)].max(0.0).sqrt(),
                        })
                    })
                    .collect();
                ArmPosterior { means, covariance }
            })
            .collect();
        match thompson_on_maxima(&posteriors, self.rng) {
            Some(choice) => ArmSelection {
                arms: vec![choice.arm],
                rule: ArmRule::PosteriorMaximum,
                score: Some(choice.score),
            },
            None => ArmSelection {
                arms: (0..space.providers().len()).collect(),
                rule: ArmRule::Acquisition,
                score: None,
            },
        }
    }

    /// Where one arm's maximum may be, as far as the model knows: up to
    /// [`THOMPSON_TRIED`] of its tried settings with the highest predicted
    /// mean and [`THOMPSON_LOCAL`] points around each of the best four (sd
    /// 0.05 in the unit cube). Untried regions are left out: with 32
    /// Latin-hypercube points per arm as well, the prior's spread made the
    /// sparsely rated worse arm's draws peak high, and over 100 simulated
    /// sessions per designer the needles were found less often.
    fn thompson_candidates(
        &mut self,
        gp: &Surrogate,
        arm: usize,
        tried: &[[f64; 3]],
    ) -> Vec<[f64; 3]> {
        let mut ranked: Vec<([f64; 3], f64)> = tried
            .iter()
            .map(|u| (*u, gp.predict_mean(&encode(self.space, arm, *u))))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(THOMPSON_TRIED);
        let mut out: Vec<[f64; 3]> = ranked.iter().map(|(u, _)| *u).collect();
        let step = Normal::new(0.0, 0.05).expect("a positive sd");
        for (centre, _) in ranked.iter().take(4) {
            for _ in 0..THOMPSON_LOCAL {
                out.push(centre.map(|x| (x + step.sample(self.rng)).clamp(0.0, 1.0)));
            }
        }
        out
    }
}

/// Tried settings per arm in the Thompson candidate set.
const THOMPSON_TRIED: usize = 16;
/// Local perturbations around each of an arm's four best tried settings.
const THOMPSON_LOCAL: usize = 4;

/// Maximises `f(arm, point)` on each arm's unit cube (candidates seeded with
/// the arm's best observed points) and returns the best arm, point and value.
fn maximize_over_arms(
    space: &SearchSpace,
    arms: &[usize],
    model: &Model,
    candidates: usize,
    rng: &mut StdRng,
    f: &dyn Fn(usize, [f64; 3]) -> f64,
) -> (usize, [f64; 3], f64) {
    let mut best: Option<(usize, [f64; 3], f64)> = None;
    for &arm in arms {
        // The search sees only the arm's own reals: the others are pinned
        // before scoring, so distances and exclusion zones ignore them too.
        let (unit, value) = maximize_on_unit_cube(
            &|u| f(arm, space.project(arm, u)),
            &model.seeds_by_arm[arm],
            candidates,
            3,
            rng,
        );
        if best.is_none_or(|b| value > b.2) {
            best = Some((arm, space.project(arm, unit), value));
        }
    }
    best.expect("the search space has at least one arm")
}
