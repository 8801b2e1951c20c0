//! The ask/tell optimizer.
//!
//! `tell` records observations (trial, stars); `ask(n, pending)` proposes `n`
//! distinct trials given the points already proposed but not yet rated.
//!
//! * The first `n_initial_points` proposals (rated or pending) form a
//!   space-filling design: a Latin hypercube over the three reals, with the
//!   provider arms spread over each batch.
//! * After that, a Gaussian process over (provider one-hot, reals in [0,1])
//!   models the ratings. Pending points are conditioned on as if they had
//!   been rated at their predicted mean (kriging believer), and so is each
//!   point chosen earlier in the same batch, so a batch never repeats itself.
//! * **Batch policy** ([`BatchPolicy::ExploitExplore`], the default): in a
//!   batch of two or more, variant A *exploits*: the settings with the best
//!   predicted rating, discounted by half a standard deviation so a lucky
//!   guess in an unexplored corner does not count as known. The others
//!   *explore* by Expected Improvement. The designer always sees one render
//!   from what the model believes is best, while the search goes on.
//! * **Arms**: with [`Strategy::GpBandit`] (the default) each exploring
//!   variant's provider is drawn by the bandit (Thompson sampling on the
//!   arms' rating record) and the GP chooses the reals for that arm by EI;
//!   with [`Strategy::Gp`] EI is maximised over every arm and the best
//!   wins, as scikit-optimize does with a categorical dimension.
//! * **Exploration does not repeat itself**: exploring variants stay out of
//!   an exclusion zone around the points tried on their arm that the model
//!   predicts below 4 stars (radius `min_distance · n^(-1/3)`; near good
//!   settings EI may still refine), and, until the model knows good settings,
//!   a `space_filling` share of them is what random search would propose
//!   (uniform arm, uniform point) outside those zones. Without this, on a
//!   landscape that is flat almost everywhere the GP explains the ratings
//!   as noise around a small signal, EI keeps
//!   re-rating the mediocre incumbent or the corners of the box (where a
//!   stationary GP is least sure), and a small interior peak is found less
//!   often than by random search.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::acquisition::{expected_improvement, maximize_on_unit_cube};
use super::bandit::{Bandit, BanditRule, Reward};
use super::design::{exclusion_radius, latin_hypercube, outside_exclusion, uniform_outside};
use super::gp::{GaussianProcess, GpError, HyperBounds, HyperPrior, Hyperparameters, Prediction};
use super::space::SearchSpace;
use crate::domain::{ArmRule, Explanation, Method, RatedTrial, Trial};

/// Which model proposes points after the initial design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Uniform random search (the floor to beat).
    Random,
    /// GP + EI over all arms jointly.
    Gp,
    /// Bandit picks the arm, GP + EI the parameters.
    GpBandit,
}

/// How a batch of several variants is composed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BatchPolicy {
    /// Every variant by EI (kriging believer between them).
    Ei,
    /// Variant A exploits the best prediction, the rest explore by EI.
    ExploitExplore,
}

/// Settings, checked once at construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerSettings {
    /// Proposals drawn from the initial design before any model is used.
    pub n_initial_points: usize,
    /// Model after the initial design.
    pub strategy: Strategy,
    /// Batch composition.
    pub batch: BatchPolicy,
    /// Bandit rule for [`Strategy::GpBandit`].
    pub bandit: BanditRule,
    /// Bandit reward.
    pub reward: Reward,
    /// EI exploration margin, in stars.
    pub xi: f64,
    /// Random candidates per arm when maximising an acquisition.
    pub candidates: usize,
    /// Hyperparameter fits use at most this many (most recent) observations.
    pub hyperparameter_fit_points: usize,
    /// The GP is conditioned on at most this many (most recent) observations:
    /// exact GP cost grows as O(n³) time and O(n²) memory, so years of
    /// ratings would otherwise take seconds and gigabytes per command. The
    /// bandit still counts every observation.
    pub max_model_points: usize,
    /// Share of exploring variants placed space-filling (a uniformly random
    /// arm and point outside every exclusion zone, see `min_distance`)
    /// instead of by EI, so that a narrow peak the model has not seen yet is
    /// still found at least as surely as by random search. Only until the
    /// model knows good settings (the test the exploiting variant uses).
    pub space_filling: f64,
    /// Exploring variants are kept at least `min_distance · n^(-1/3)` (unit
    /// cube) from the `n` points tried or pending on their arm (EI variants:
    /// from those predicted below [`EXPLOIT_MIN_MEAN`]). A GP fitted on
    /// mostly flat ratings has a small signal variance and a large noise, so
    /// EI would otherwise re-rate the mediocre incumbent again and again;
    /// the exploiting variant is not restricted.
    pub min_distance: f64,
}

impl Default for OptimizerSettings {
    fn default() -> Self {
        OptimizerSettings {
            n_initial_points: 5,
            strategy: Strategy::GpBandit,
            batch: BatchPolicy::ExploitExplore,
            bandit: BanditRule::Thompson,
            reward: Reward::Binary,
            xi: 0.01,
            candidates: 256,
            hyperparameter_fit_points: 200,
            max_model_points: 300,
            space_filling: 0.25,
            min_distance: 0.5,
        }
    }
}

/// A proposed trial and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Provider arm and parameters.
    pub trial: Trial,
    /// Initial design, random, GP-EI, GP-exploit.
    pub method: Method,
    /// Predictions and the arm choice behind it.
    pub explanation: Explanation,
}

/// The least rating noise the model assumes, in stars² (sd 0.5): rounding
/// to whole stars alone adds 1/12, and a person rating the same render
/// twice rarely agrees to better than half a star. Without this floor a few
/// ratings are explained as noise-free and one lucky 5 looks like a sure thing.
pub const RATING_NOISE_FLOOR: f64 = 0.25;

/// Largest predicted sd (stars) at which the exploiting variant trusts the model.
pub const EXPLOIT_MAX_SD: f64 = 0.35;
/// The exploiting variant waits until the model knows settings predicted at
/// this rating or better (the original's bar for a good render); until then
/// every variant explores, so the search is not slowed early.
pub const EXPLOIT_MIN_MEAN: f64 = 4.0;

/// Hyperparameters fitted for a number of observations, for reuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedHyperparameters {
    /// How many ratings had been told when they were fitted.
    pub observations: usize,
    /// The values.
    pub hyperparameters: Hyperparameters,
}

/// The ask/tell optimizer over a [`SearchSpace`].
pub struct Optimizer {
    space: SearchSpace,
    settings: OptimizerSettings,
    observations: Vec<RatedTrial>,
    rng: StdRng,
    cached: Option<FittedHyperparameters>,
    fitted: Option<FittedHyperparameters>,
    candidates_now: usize,
    /// Ratings older than the ones told, known only by count (a caller that
    /// only needs the model loads just its window).
    earlier: usize,
}

/// A GP fitted on the usable observations, with the incumbent.
pub struct Model {
    gp: GaussianProcess,
    /// Best posterior mean at an observed point (noise-robust incumbent).
    incumbent: f64,
    /// Unit-cube points observed per arm, best first.
    seeds_by_arm: Vec<Vec<[f64; 3]>>,
}

impl Optimizer {
    /// An optimizer with no observations. Pass a seeded RNG for reproducibility.
    pub fn new(space: SearchSpace, settings: OptimizerSettings, rng: StdRng) -> Self {
        Optimizer {
            space,
            settings,
            observations: Vec::new(),
            rng,
            cached: None,
            fitted: None,
            candidates_now: settings.candidates,
            earlier: 0,
        }
    }

    /// Declares `count` ratings older than any that will be told, so the
    /// hyperparameter cache's staleness is judged on the full count when
    /// only the model's window is loaded. Asks still need every rating
    /// told (the bandit counts them all).
    pub fn with_earlier_ratings(mut self, count: usize) -> Self {
        self.earlier = count;
        self
    }

    /// Reuses hyperparameters fitted earlier while few observations have
    /// arrived since (refit once the count has grown by 10% or at least one).
    pub fn with_cached_hyperparameters(mut self, cached: Option<FittedHyperparameters>) -> Self {
        self.cached = cached;
        self
    }

    /// Hyperparameters fitted by the last `ask`/`model` call (to cache them).
    pub fn fitted_hyperparameters(&self) -> Option<&FittedHyperparameters> {
        self.fitted.as_ref()
    }

    /// The search space.
    pub fn space(&self) -> &SearchSpace {
        &self.space
    }

    /// Records one observation. Trials of arms no longer configured are kept
    /// for counting but cannot inform the model.
    pub fn tell(&mut self, observation: RatedTrial) {
        self.observations.push(observation);
    }

    /// The observations told so far.
    pub fn observations(&self) -> &[RatedTrial] {
        &self.observations
    }

    /// The most recent observations the GP is conditioned on. A recent
    /// window rather than a best-rated selection: keeping only old successes
    /// would bias the posterior mean upwards where they lie.
    pub fn model_window(&self) -> &[RatedTrial] {
        let keep = self.settings.max_model_points.max(2);
        &self.observations[self.observations.len().saturating_sub(keep)..]
    }

    fn encode(&self, arm: usize, unit: [f64; 3]) -> Vec<f64> {
        encode(&self.space, arm, unit)
    }

    /// Fits the GP on the usable observations (needs two); `None` before that.
    ///
    /// # Errors
    /// [`GpError`] if the covariance cannot be factorised even with jitter.
    pub fn model(&mut self) -> Result<Option<Model>, GpError> {
        let usable: Vec<(usize, [f64; 3], f64)> = self
            .model_window()
            .iter()
            .filter_map(|o| {
                let arm = self.space.provider_index(&o.trial.provider)?;
                Some((
                    arm,
                    self.space.unit_reals(&o.trial.params),
                    f64::from(o.stars.get()),
                ))
            })
            .collect();
        if usable.len() < 2 {
            return Ok(None);
        }
        let x: Vec<Vec<f64>> = usable.iter().map(|(a, u, _)| self.encode(*a, *u)).collect();
        let y: Vec<f64> = usable.iter().map(|(_, _, s)| *s).collect();
        let n = x.len();
        // Staleness counts every rating, not the window, so hyperparameters
        // are still refreshed as the window slides over new ratings.
        let total = self.earlier + self.observations.len();
        let reuse = self.cached.as_ref().filter(|c| {
            c.hyperparameters.log_length_scales.len() == self.space.encoded_len()
                && c.observations <= total
                && total < c.observations + (c.observations / 10).max(1)
        });
        // A reused fit keeps the count it was made at: recording today's
        // count would postpone the refit forever, 2 ratings at a time.
        let fitted_at = reuse.map_or(total, |c| c.observations);
        let gp = match reuse {
            Some(c) => GaussianProcess::fit(x.clone(), &y, &c.hyperparameters)?,
            None => {
                // Fit hyperparameters on the most recent observations only:
                // each likelihood evaluation costs O(m³).
                let m = n.min(self.settings.hyperparameter_fit_points.max(2));
                let random_start = self.random_start();
                let starts: Vec<Hyperparameters> = self
                    .cached
                    .iter()
                    .map(|c| c.hyperparameters.clone())
                    .filter(|h| h.log_length_scales.len() == self.space.encoded_len())
                    .chain(std::iter::once(random_start))
                    .collect();
                let bounds = HyperBounds {
                    target_noise_floor: RATING_NOISE_FLOOR,
                    ..HyperBounds::default()
                };
                let sub = GaussianProcess::fit_with_hyperparameter_search(
                    x[n - m..].to_vec(),
                    &y[n - m..],
                    &bounds,
                    Some(&HyperPrior::default()),
                    &starts,
                    60,
                )?;
                let hyper = sub.hyperparameters().clone();
                if m == n {
                    sub
                } else {
                    GaussianProcess::fit(x.clone(), &y, &hyper)?
                }
            }
        };
        self.fitted = Some(FittedHyperparameters {
            observations: fitted_at,
            hyperparameters: gp.hyperparameters().clone(),
        });
        let incumbent = x
            .iter()
            .map(|xi| gp.predict(xi).mean)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut seeds_by_arm = vec![Vec::new(); self.space.providers().len()];
        let mut order: Vec<usize> = (0..usable.len()).collect();
        order.sort_by(|&a, &b| usable[b].2.total_cmp(&usable[a].2));
        for i in order.into_iter().take(10) {
            seeds_by_arm[usable[i].0].push(usable[i].1);
        }
        Ok(Some(Model {
            gp,
            incumbent,
            seeds_by_arm,
        }))
    }

    fn random_start(&mut self) -> Hyperparameters {
        let dims = self.space.encoded_len();
        Hyperparameters {
            log_length_scales: (0..dims)
                .map(|_| self.rng.random_range(0.1f64.ln()..2f64.ln()))
                .collect(),
            log_signal_variance: self.rng.random_range(0.3f64.ln()..3f64.ln()),
            log_noise_variance: self.rng.random_range(0.01f64.ln()..0.5f64.ln()),
        }
    }

    /// Proposes `count` distinct trials, given `pending` proposals that have
    /// no rating yet (they count towards the initial design and are
    /// conditioned on by the model).
    ///
    /// # Errors
    /// [`GpError`] if the model cannot be fitted.
    pub fn ask(&mut self, count: usize, pending: &[Trial]) -> Result<Vec<Suggestion>, GpError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let already = self.observations.len() + pending.len();
        let model = if self.settings.strategy == Strategy::Random
            || already < self.settings.n_initial_points
        {
            None
        } else {
            self.model()?
        };
        let Some(model) = model else {
            return Ok(self.ask_without_model(count, already));
        };
        let pending_x: Vec<Vec<f64>> = pending
            .iter()
            .filter_map(|t| {
                Some(self.encode(
                    self.space.provider_index(&t.provider)?,
                    self.space.unit_reals(&t.params),
                ))
            })
            .collect();
        let mut gp = if pending_x.is_empty() {
            model.gp.clone()
        } else {
            model.gp.with_believed(&pending_x)?
        };
        let bandit = Bandit::from_observations(
            self.space.providers(),
            &self.observations,
            self.settings.bandit,
            self.settings.reward,
        );
        // Every point tried or pending, per arm, for space-filling slots.
        let mut tried: Vec<Vec<[f64; 3]>> = vec![Vec::new(); self.space.providers().len()];
        for t in self.observations.iter().map(|o| &o.trial).chain(pending) {
            if let Some(arm) = self.space.provider_index(&t.provider) {
                tried[arm].push(self.space.unit_reals(&t.params));
            }
        }
        // Each prediction costs O(n²): keep the acquisition search within a
        // fixed budget as the history grows (full candidate set up to 300).
        let n = self.observations.len().max(1);
        self.candidates_now = (self.settings.candidates * 300 / n.max(300)).max(64);
        // Once the model knows good settings, random-search-like slots stop:
        // they exist so a peak is not missed while nothing good is known,
        // and after that they only show the designer ~2-star renders.
        // Exploration goes on by EI (still outside the exclusion zones).
        let mut best_known = self.exploit(&gp, &model);
        let knows_good = best_known.is_some();
        let exploit_first = self.settings.batch == BatchPolicy::ExploitExplore && count >= 2;
        let mut out = Vec::with_capacity(count);
        for slot in 0..count {
            let exploited = if exploit_first && slot == 0 {
                best_known.take()
            } else {
                None
            };
            let (arm, unit, explanation, method) = if let Some(chosen) = exploited {
                chosen
            } else if !knows_good && self.rng.random::<f64>() < self.settings.space_filling {
                self.fill_space(&gp, &tried)
            } else {
                self.explore(&gp, &model, &bandit, &tried)
            };
            tried[arm].push(unit);
            let x = self.encode(arm, unit);
            gp = gp.with_believed(std::slice::from_ref(&x))?;
            out.push(Suggestion {
                trial: Trial {
                    provider: self.space.providers()[arm].clone(),
                    params: self.space.params_from_unit(unit),
                },
                method,
                explanation,
            });
        }
        Ok(out)
    }

    /// The arm for an exploring variant: the bandit's draw, or (GP-only) uniform.
    fn explore_arm(&mut self, bandit: &Bandit) -> (usize, ArmRule, Option<f64>) {
        match self.settings.strategy {
            Strategy::GpBandit => {
                let choice = bandit.choose(&mut self.rng);
                let rule = match self.settings.bandit {
                    BanditRule::Thompson => ArmRule::Thompson,
                    BanditRule::Ucb1 => ArmRule::Ucb1,
                };
                (choice.arm, rule, Some(choice.score))
            }
            _ => (
                self.rng.random_range(0..self.space.providers().len()),
                ArmRule::Design,
                None,
            ),
        }
    }

    /// What random search would do, without repeating itself: a uniformly
    /// random arm (the bandit is not asked, so an arm it has written off by
    /// bad luck still gets looked at) and a uniformly random point outside
    /// the exclusion zones of the points tried on it.
    fn fill_space(
        &mut self,
        gp: &GaussianProcess,
        tried: &[Vec<[f64; 3]>],
    ) -> (usize, [f64; 3], Explanation, Method) {
        let arm = self.rng.random_range(0..self.space.providers().len());
        let radius = exclusion_radius(self.settings.min_distance, tried[arm].len());
        let unit = uniform_outside(&tried[arm], radius, 256, &mut self.rng);
        let p = gp.predict(&self.encode(arm, unit));
        let explanation = Explanation {
            arm_rule: ArmRule::Design,
            arm_score: None,
            predicted_mean: Some(p.mean),
            predicted_sd: Some(p.sd),
            expected_improvement: None,
        };
        (arm, unit, explanation, Method::SpaceFilling)
    }

    /// The best predicted settings over all arms (maximise μ − σ/2), but only
    /// once the model knows good settings: predicted at least
    /// [`EXPLOIT_MIN_MEAN`] stars with sd at most [`EXPLOIT_MAX_SD`]. Before
    /// that, exploiting would only repeat a guess, so the slot explores.
    fn exploit(
        &mut self,
        gp: &GaussianProcess,
        model: &Model,
    ) -> Option<(usize, [f64; 3], Explanation, Method)> {
        let arms: Vec<usize> = (0..self.space.providers().len()).collect();
        let space = &self.space;
        let score = |arm: usize, u: [f64; 3]| {
            let p = gp.predict(&encode(space, arm, u));
            p.mean - 0.5 * p.sd
        };
        let (arm, unit, _) =
            maximize_over_arms(&arms, model, self.candidates_now, &mut self.rng, &score);
        let p = gp.predict(&self.encode(arm, unit));
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
                model.incumbent,
                self.settings.xi,
            )),
        };
        Some((arm, unit, explanation, Method::GpExploit))
    }

    /// Expected Improvement, on the bandit's arm or (GP only) over all arms.
    fn explore(
        &mut self,
        gp: &GaussianProcess,
        model: &Model,
        bandit: &Bandit,
        tried: &[Vec<[f64; 3]>],
    ) -> (usize, [f64; 3], Explanation, Method) {
        let (arms, arm_rule, arm_score) = match self.settings.strategy {
            Strategy::GpBandit => {
                let (arm, rule, score) = self.explore_arm(bandit);
                (vec![arm], rule, score)
            }
            _ => (
                (0..self.space.providers().len()).collect(),
                ArmRule::Acquisition,
                None,
            ),
        };
        let (incumbent, xi, space) = (model.incumbent, self.settings.xi, &self.space);
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
        let (mut arm, mut unit, mut ei) =
            maximize_over_arms(&arms, model, self.candidates_now, &mut self.rng, &ei);
        if ei < 0.0 {
            // Every candidate was excluded (only with a huge `min_distance`):
            // plain EI rather than a point chosen by nothing.
            let plain = |arm: usize, u: [f64; 3]| {
                let p = gp.predict(&encode(space, arm, u));
                expected_improvement(p.mean, p.sd, incumbent, xi)
            };
            (arm, unit, ei) =
                maximize_over_arms(&arms, model, self.candidates_now, &mut self.rng, &plain);
        }
        let p = gp.predict(&self.encode(arm, unit));
        let explanation = Explanation {
            arm_rule,
            arm_score,
            predicted_mean: Some(p.mean),
            predicted_sd: Some(p.sd),
            expected_improvement: Some(ei),
        };
        (arm, unit, explanation, Method::GpEi)
    }

    /// Initial design (Latin hypercube) while `already + i < n_initial_points`,
    /// uniform random after that; arms spread over the batch.
    fn ask_without_model(&mut self, count: usize, already: usize) -> Vec<Suggestion> {
        let unit_points = latin_hypercube::<3, _>(count, &mut self.rng);
        let providers = self.assign_providers(count);
        unit_points
            .into_iter()
            .zip(providers)
            .enumerate()
            .map(|(i, (unit, provider))| {
                let method = if already + i < self.settings.n_initial_points {
                    Method::InitialDesign
                } else {
                    Method::Random
                };
                let unit = match method {
                    Method::InitialDesign => unit,
                    _ => [
                        self.rng.random::<f64>(),
                        self.rng.random::<f64>(),
                        self.rng.random::<f64>(),
                    ],
                };
                Suggestion {
                    trial: Trial {
                        provider,
                        params: self.space.params_from_unit(unit),
                    },
                    method,
                    explanation: Explanation::design(),
                }
            })
            .collect()
    }

    /// A random order of the arms, repeated as needed, so a batch of `count`
    /// uses `min(count, arms)` different arms.
    fn assign_providers(&mut self, count: usize) -> Vec<String> {
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let mut round = self.space.providers().to_vec();
            round.shuffle(&mut self.rng);
            out.extend(round);
        }
        out.truncate(count);
        out
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

/// One-hot arm followed by the unit-scaled reals.
fn encode(space: &SearchSpace, arm: usize, unit: [f64; 3]) -> Vec<f64> {
    let mut x = vec![0.0; space.encoded_len()];
    x[arm] = 1.0;
    x[space.providers().len()..].copy_from_slice(&unit);
    x
}

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

impl Optimizer {
    /// The noise-aware convergence view, once a model can be fitted.
    ///
    /// # Errors
    /// [`GpError`] if the model cannot be fitted.
    pub fn outlook(&mut self, target: f64) -> Result<Option<Outlook>, GpError> {
        let Some(model) = self.model()? else {
            return Ok(None);
        };
        Ok(self.outlook_with(&model, target))
    }

    /// [`Optimizer::outlook`] with a model fitted already.
    pub fn outlook_with(&mut self, model: &Model, target: f64) -> Option<Outlook> {
        // Means first (O(n) each), the standard deviation only for the winner.
        let mut best: Option<(&Trial, f64, Vec<f64>)> = None;
        for o in self.model_window() {
            let Some(arm) = self.space.provider_index(&o.trial.provider) else {
                continue;
            };
            let x = encode(&self.space, arm, self.space.unit_reals(&o.trial.params));
            let mean = model.gp.predict_mean(&x);
            if best.as_ref().is_none_or(|b| mean > b.1) {
                best = Some((&o.trial, mean, x));
            }
        }
        let (trial, x) = best.map(|(t, _, x)| (t.clone(), x))?;
        let Prediction { mean, sd } = model.gp.predict(&x);
        let mut chance: f64 = 0.0;
        for arm in 0..self.space.providers().len() {
            for u in latin_hypercube::<3, _>(256, &mut self.rng) {
                let p = model.gp.predict(&encode(&self.space, arm, u));
                chance = chance.max(super::acquisition::normal_cdf(
                    (p.mean - target) / p.sd.max(1e-9),
                ));
            }
        }
        let trials = if mean - 2.0 * sd >= target {
            Some(0)
        } else if chance < 0.01 {
            None
        } else if chance >= 0.5 {
            Some(1)
        } else {
            // Trials until at least one success is more likely than not.
            Some((0.5f64.ln() / (1.0 - chance).ln()).ceil() as u32)
        };
        Some(Outlook {
            best: trial,
            predicted_mean: mean,
            predicted_sd: sd,
            target,
            best_chance: chance,
            trials_to_target: trials,
        })
    }

    /// Per configured arm, the settings with the highest predicted rating
    /// among the points tried on it (in the model's window) and a
    /// space-filling sample of its untried settings; `None` for an arm with
    /// no rating yet, whose predictions are only the prior.
    pub fn best_by_arm(&mut self, model: &Model) -> Vec<Option<ArmBest>> {
        let arms = self.space.providers().len();
        let mut tried: Vec<Vec<[f64; 3]>> = vec![Vec::new(); arms];
        for o in self.model_window() {
            if let Some(arm) = self.space.provider_index(&o.trial.provider) {
                tried[arm].push(self.space.unit_reals(&o.trial.params));
            }
        }
        (0..arms)
            .map(|arm| {
                if tried[arm].is_empty() {
                    return None;
                }
                let sample = latin_hypercube::<3, _>(256, &mut self.rng);
                let (unit, _) = tried[arm]
                    .iter()
                    .chain(sample.iter())
                    .map(|u| (*u, model.gp.predict_mean(&encode(&self.space, arm, *u))))
                    .max_by(|a, b| a.1.total_cmp(&b.1))?;
                let p = model.gp.predict(&encode(&self.space, arm, unit));
                Some(ArmBest {
                    trial: Trial {
                        provider: self.space.providers()[arm].clone(),
                        params: self.space.params_from_unit(unit),
                    },
                    predicted_mean: p.mean,
                    predicted_sd: p.sd,
                })
            })
            .collect()
    }
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

impl Model {
    /// The fitted GP.
    pub fn gp(&self) -> &GaussianProcess {
        &self.gp
    }

    /// The best posterior mean at an observed point.
    pub fn incumbent(&self) -> f64 {
        self.incumbent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Params, Stars};
    use crate::optim::Bounds;
    use rand::SeedableRng;

    fn space() -> SearchSpace {
        SearchSpace::new(
            vec!["tone".into(), "detail".into()],
            [
                Bounds::new(0.1, 0.5).unwrap(),
                Bounds::new(5.0, 12.0).unwrap(),
                Bounds::new(0.7, 0.99).unwrap(),
            ],
        )
        .unwrap()
    }

    fn optimizer(seed: u64) -> Optimizer {
        Optimizer::new(
            space(),
            OptimizerSettings::default(),
            StdRng::seed_from_u64(seed),
        )
    }

    fn rated(provider: &str, s: f64, g: f64, c: f64, stars: i64) -> RatedTrial {
        RatedTrial {
            trial: Trial {
                provider: provider.into(),
                params: Params {
                    init_strength: s,
                    guidance_scale: g,
                    controlnet_weight: c,
                },
            },
            stars: Stars::new(stars).unwrap(),
        }
    }

    #[test]
    fn best_by_arm_finds_each_arms_peak_and_skips_unrated_arms() {
        let mut opt = optimizer(5);
        // A smooth bowl on "detail" peaking at the middle of init_strength
        // (0.3), guidance 8.5 and weight 0.845; "tone" never rated.
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..40 {
            let u: [f64; 3] = [rng.random(), rng.random(), rng.random()];
            let d2: f64 = u.iter().map(|x| (x - 0.5).powi(2)).sum();
            let stars = (5.0 - 12.0 * d2).round().clamp(1.0, 5.0) as i64;
            let p = space().params_from_unit(u);
            opt.tell(rated(
                "detail",
                p.init_strength,
                p.guidance_scale,
                p.controlnet_weight,
                stars,
            ));
        }
        let model = opt.model().unwrap().unwrap();
        let best = opt.best_by_arm(&model);
        assert_eq!(best.len(), 2);
        assert!(best[0].is_none(), "tone has no rating");
        let detail = best[1].as_ref().unwrap();
        assert_eq!(detail.trial.provider, "detail");
        let u = space().unit_reals(&detail.trial.params);
        for x in u {
            assert!((x - 0.5).abs() < 0.2, "{u:?}");
        }
        assert!(detail.predicted_mean > 4.0, "{detail:?}");
        // The mean-only prediction agrees with the full one.
        let x = encode(&space(), 1, u);
        assert!((model.gp().predict_mean(&x) - model.gp().predict(&x).mean).abs() < 1e-9);
    }

    #[test]
    fn the_gp_is_conditioned_on_the_most_recent_window_only() {
        let settings = OptimizerSettings {
            max_model_points: 50,
            ..OptimizerSettings::default()
        };
        let mut opt = Optimizer::new(space(), settings, StdRng::seed_from_u64(3));
        for i in 0..120 {
            let u = f64::from(i) / 120.0;
            let stars = 1 + (i % 5) as i64;
            opt.tell(rated(
                "tone",
                0.1 + 0.4 * u,
                5.0 + 7.0 * u,
                0.7 + 0.29 * u,
                stars,
            ));
        }
        let model = opt.model().unwrap().unwrap();
        assert_eq!(model.gp().len(), 50);
        // Staleness of the hyperparameters counts every rating told.
        assert_eq!(opt.fitted_hyperparameters().unwrap().observations, 120);
        assert_eq!(opt.model_window().len(), 50);
        assert_eq!(
            opt.model_window()[0].trial.params.init_strength,
            opt.observations()[70].trial.params.init_strength
        );
        // The outlook only looks at the window, so an old point is not "best".
        let outlook = opt.outlook(4.0).unwrap().unwrap();
        assert!(
            opt.model_window().iter().any(|o| o.trial == outlook.best),
            "the outlook's best settings come from the window"
        );
    }

    #[test]
    fn batch_of_two_uses_both_arms_and_distinct_in_bounds_points() {
        for seed in 0..20 {
            let batch = optimizer(seed).ask(2, &[]).unwrap();
            assert_eq!(batch.len(), 2);
            assert_ne!(batch[0].trial.provider, batch[1].trial.provider);
            assert_ne!(batch[0].trial.params, batch[1].trial.params);
            for s in &batch {
                let p = s.trial.params;
                assert!((0.1..=0.5).contains(&p.init_strength));
                assert!((5.0..=12.0).contains(&p.guidance_scale));
                assert!((0.7..=0.99).contains(&p.controlnet_weight));
                assert_eq!(s.method, Method::InitialDesign);
            }
        }
    }

    fn history() -> Vec<RatedTrial> {
        vec![
            rated("tone", 0.2, 6.0, 0.8, 2),
            rated("detail", 0.4, 10.0, 0.9, 4),
            rated("tone", 0.3, 8.0, 0.75, 3),
            rated("detail", 0.35, 9.0, 0.95, 5),
            rated("tone", 0.15, 11.0, 0.85, 1),
        ]
    }

    #[test]
    fn once_good_settings_are_known_variant_a_exploits_and_b_explores() {
        let mut opt = optimizer(3);
        for o in history() {
            opt.tell(o);
        }
        // The designer keeps loving the same detail settings.
        for _ in 0..4 {
            opt.tell(rated("detail", 0.36, 9.2, 0.94, 5));
        }
        let batch = opt.ask(2, &[]).unwrap();
        assert_eq!(batch[0].method, Method::GpExploit);
        assert_eq!(batch[0].trial.provider, "detail");
        assert!(batch[0].explanation.predicted_mean.unwrap() >= EXPLOIT_MIN_MEAN);
        assert_eq!(batch[1].method, Method::GpEi);
        assert_ne!(batch[0].trial, batch[1].trial);
        for s in &batch {
            let e = s.explanation;
            assert!(e.predicted_mean.is_some() && e.predicted_sd.unwrap() >= 0.0);
        }
        assert!(opt.fitted_hyperparameters().is_some());
    }

    #[test]
    fn outlook_is_confident_only_when_the_model_is() {
        let mut opt = optimizer(3);
        for o in history() {
            opt.tell(o);
        }
        let early = opt.outlook(4.0).unwrap().unwrap();
        assert!(early.trials_to_target != Some(0), "{early:?}");
        for _ in 0..6 {
            opt.tell(rated("detail", 0.36, 9.2, 0.94, 5));
        }
        let late = opt.outlook(4.0).unwrap().unwrap();
        assert_eq!(late.trials_to_target, Some(0), "{late:?}");
        assert_eq!(late.best.provider, "detail");
        assert!(late.predicted_mean - 2.0 * late.predicted_sd >= 4.0);
        // One lucky 5 among poor ratings is not convergence.
        let mut lucky = optimizer(5);
        for o in [
            rated("tone", 0.2, 6.0, 0.8, 2),
            rated("detail", 0.4, 10.0, 0.9, 2),
            rated("tone", 0.3, 8.0, 0.75, 1),
            rated("detail", 0.35, 9.0, 0.95, 5),
            rated("tone", 0.15, 11.0, 0.85, 2),
            rated("detail", 0.3, 9.5, 0.9, 2),
        ] {
            lucky.tell(o);
        }
        let view = lucky.outlook(4.0).unwrap().unwrap();
        assert!(
            view.predicted_mean < 5.0 && view.trials_to_target != Some(0),
            "{view:?}"
        );
    }

    #[test]
    fn without_known_good_settings_every_variant_explores() {
        let mut opt = optimizer(4);
        for o in [
            rated("tone", 0.2, 6.0, 0.8, 2),
            rated("detail", 0.4, 10.0, 0.9, 3),
            rated("tone", 0.3, 8.0, 0.75, 2),
            rated("detail", 0.35, 9.0, 0.95, 3),
            rated("tone", 0.15, 11.0, 0.85, 1),
        ] {
            opt.tell(o);
        }
        for s in opt.ask(2, &[]).unwrap() {
            assert!(
                matches!(s.method, Method::GpEi | Method::SpaceFilling),
                "{s:?}"
            );
            if s.method == Method::GpEi {
                assert!(s.explanation.expected_improvement.unwrap() >= 0.0);
                assert_eq!(s.explanation.arm_rule, ArmRule::Thompson);
            }
        }
    }

    #[test]
    fn space_filling_stops_once_good_settings_are_known() {
        let always = |seed| {
            Optimizer::new(
                space(),
                OptimizerSettings {
                    space_filling: 1.0,
                    ..OptimizerSettings::default()
                },
                StdRng::seed_from_u64(seed),
            )
        };
        // Nothing good known: every exploring variant is space-filling.
        let mut opt = always(4);
        for o in history() {
            opt.tell(o);
        }
        let methods: Vec<Method> = opt.ask(3, &[]).unwrap().iter().map(|s| s.method).collect();
        assert_eq!(methods, vec![Method::SpaceFilling; 3]);
        // Good settings known: variant A exploits, the others explore by EI,
        // and a single suggestion explores by EI too.
        for count in [1, 3] {
            let mut opt = always(4);
            for o in history() {
                opt.tell(o);
            }
            for _ in 0..4 {
                opt.tell(rated("detail", 0.36, 9.2, 0.94, 5));
            }
            let methods: Vec<Method> = opt
                .ask(count, &[])
                .unwrap()
                .iter()
                .map(|s| s.method)
                .collect();
            let expected = if count == 1 {
                vec![Method::GpEi]
            } else {
                vec![Method::GpExploit, Method::GpEi, Method::GpEi]
            };
            assert_eq!(methods, expected);
        }
    }

    #[test]
    fn exploring_variants_keep_out_of_the_exclusion_zones() {
        // A flat history that keeps rating one mediocre spot a little higher:
        // plain EI would re-rate it; the exclusion zones send both variants
        // elsewhere, away from every point tried on their arm and each other.
        for seed in 0..10 {
            let mut opt = Optimizer::new(
                space(),
                OptimizerSettings {
                    batch: BatchPolicy::Ei,
                    ..OptimizerSettings::default()
                },
                StdRng::seed_from_u64(seed),
            );
            let mut rng = StdRng::seed_from_u64(100 + seed);
            for i in 0..16 {
                let provider = if i % 2 == 0 { "tone" } else { "detail" };
                let (s, g, c, stars) = if i % 4 == 0 {
                    (0.3, 8.0, 0.8, 3)
                } else {
                    (
                        rng.random_range(0.1..0.5),
                        rng.random_range(5.0..12.0),
                        rng.random_range(0.7..0.99),
                        1 + i64::from(rng.random::<bool>()),
                    )
                };
                opt.tell(rated(provider, s, g, c, stars));
            }
            let batch = opt.ask(2, &[]).unwrap();
            let mut tried: Vec<Vec<[f64; 3]>> = vec![Vec::new(); 2];
            for o in opt.observations() {
                let arm = opt.space().provider_index(&o.trial.provider).unwrap();
                tried[arm].push(opt.space().unit_reals(&o.trial.params));
            }
            for s in &batch {
                assert!(matches!(s.method, Method::GpEi | Method::SpaceFilling));
                let arm = opt.space().provider_index(&s.trial.provider).unwrap();
                let u = opt.space().unit_reals(&s.trial.params);
                let radius = exclusion_radius(0.5, tried[arm].len());
                assert!(
                    outside_exclusion(&u, &tried[arm], radius),
                    "seed {seed}: {s:?}"
                );
                if s.method == Method::SpaceFilling {
                    assert_eq!(s.explanation.arm_rule, ArmRule::Design);
                }
                tried[arm].push(u);
            }
        }
    }

    #[test]
    fn pending_points_are_not_proposed_again() {
        let mut opt = Optimizer::new(
            space(),
            OptimizerSettings {
                batch: BatchPolicy::Ei,
                strategy: Strategy::Gp,
                ..OptimizerSettings::default()
            },
            StdRng::seed_from_u64(5),
        );
        for o in history() {
            opt.tell(o);
        }
        let first = opt.ask(1, &[]).unwrap().remove(0).trial;
        let mut again = Optimizer::new(space(), opt.settings, StdRng::seed_from_u64(5));
        for o in opt.observations().to_vec() {
            again.tell(o);
        }
        let second = again
            .ask(1, std::slice::from_ref(&first))
            .unwrap()
            .remove(0)
            .trial;
        assert_ne!(first, second);
        let batch = again.ask(3, &[]).unwrap();
        assert_ne!(batch[0].trial, batch[1].trial);
        assert_ne!(batch[1].trial, batch[2].trial);
    }

    #[test]
    fn initial_design_ends_after_n_initial_points_including_pending() {
        let mut opt = Optimizer::new(
            space(),
            OptimizerSettings {
                strategy: Strategy::Random,
                ..OptimizerSettings::default()
            },
            StdRng::seed_from_u64(3),
        );
        let trial = Trial {
            provider: "tone".into(),
            params: Params {
                init_strength: 0.2,
                guidance_scale: 7.0,
                controlnet_weight: 0.8,
            },
        };
        for _ in 0..3 {
            opt.tell(RatedTrial {
                trial: trial.clone(),
                stars: Stars::new(3).unwrap(),
            });
        }
        let batch = opt.ask(3, std::slice::from_ref(&trial)).unwrap();
        let methods: Vec<_> = batch.iter().map(|s| s.method).collect();
        assert_eq!(
            methods,
            vec![Method::InitialDesign, Method::Random, Method::Random]
        );
    }

    #[test]
    fn same_seed_and_history_give_the_same_suggestions() {
        let run = |seed| {
            let mut opt = optimizer(seed);
            for o in [
                rated("tone", 0.2, 6.0, 0.8, 2),
                rated("detail", 0.4, 10.0, 0.9, 4),
                rated("tone", 0.3, 8.0, 0.75, 3),
                rated("detail", 0.35, 9.0, 0.95, 5),
                rated("tone", 0.15, 11.0, 0.85, 1),
            ] {
                opt.tell(o);
            }
            opt.ask(2, &[]).unwrap()
        };
        assert_eq!(run(9), run(9));
        assert_eq!(
            optimizer(9).ask(4, &[]).unwrap(),
            optimizer(9).ask(4, &[]).unwrap()
        );
    }
}
