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
//!   guess in an unexplored corner does not count as known. Variant B is
//!   then the most informative alternative (EUBO, see
//!   [`super::proposal`]); the others *explore* by Expected Improvement. The designer always sees one render
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
//!
//! Where each piece lives: the settings and thresholds in
//! [`super::settings`], the GP fit and its hyperparameter cache in
//! [`super::model`], the role of each slot of a batch and the arms an
//! exploring slot searches in [`super::policy`], turning a role into a point
//! in [`super::proposal`], and the convergence view in [`super::outlook`].
//! This file only sequences them: ask, tell, and which model to use when.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use super::bandit::Bandit;
use super::design::next_design_point;
use super::gp::GpError;
use super::model::{FitInputs, FittedHyperparameters, Model, encode};
use super::outlook::{ArmBest, Outlook};
use super::policy::{BatchState, SlotRole};
use super::proposal::{PriorShift, Proposal, Proposer};
use super::settings::{ModelKind, OptimizerSettings, Strategy};
use super::space::SearchSpace;
use super::studio_fit::{self, ModelQuery, StudioInputs};
use super::surrogate::Surrogate;
use crate::domain::{Evidence, Explanation, Method, RatedTrial, Stars, Trial};

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

/// The ask/tell optimizer over a [`SearchSpace`].
pub struct Optimizer {
    space: SearchSpace,
    settings: OptimizerSettings,
    observations: Vec<RatedTrial>,
    /// Per observation: whether a designer gave it stars (false for a
    /// render only compared, which stands in at 3 stars for counting).
    starred: Vec<bool>,
    rng: StdRng,
    /// The stream `status` and `report` draw their views from, when given
    /// ([`Optimizer::with_view_rng`]): a seeded view must not depend on
    /// whether the hyperparameters came from the cache or from a fit, which
    /// draws from `rng`.
    view_rng: Option<StdRng>,
    cached: Option<FittedHyperparameters>,
    fitted: Option<FittedHyperparameters>,
    /// Ratings older than the ones told, known only by count (a caller that
    /// only needs the model loads just its window).
    earlier: usize,
    /// Every designer's judgements, for the studio model.
    evidence: Option<Evidence>,
    /// Whose view and which room the next suggestions are for.
    query: ModelQuery,
}

impl Optimizer {
    /// An optimizer with no observations. Pass a seeded RNG for reproducibility.
    pub fn new(space: SearchSpace, settings: OptimizerSettings, rng: StdRng) -> Self {
        Optimizer {
            space,
            settings,
            observations: Vec::new(),
            starred: Vec::new(),
            view_rng: None,
            rng,
            cached: None,
            fitted: None,
            earlier: 0,
            evidence: None,
            query: ModelQuery::default(),
        }
    }

    /// A separate random stream for [`Optimizer::outlook`] and
    /// [`Optimizer::best_by_arm`].
    pub fn with_view_rng(mut self, rng: StdRng) -> Self {
        self.view_rng = Some(rng);
        self
    }

    /// Suggestions for this designer (their scale and taste) in this room.
    pub fn for_query(mut self, query: ModelQuery) -> Self {
        self.query = query;
        self
    }

    /// Tells every designer's judgements at once. With
    /// [`ModelKind::Studio`] the model learns from them; each judged render
    /// also counts as one observation (initial design, tried points) with
    /// its designers' mean stars; a render only compared, never rated,
    /// stands in at 3 stars there but is not counted by the bandit, which
    /// counts ratings: as a 3 it was a failure for its arm whatever the
    /// comparison said.
    pub fn tell_evidence(&mut self, evidence: Evidence) {
        for (index, render) in evidence.renders.iter().enumerate() {
            let own: Vec<f64> = evidence
                .stars
                .iter()
                .filter(|s| s.render == index)
                .map(|s| f64::from(u8::from(s.stars)))
                .collect();
            let mean = if own.is_empty() {
                3.0
            } else {
                own.iter().sum::<f64>() / own.len() as f64
            };
            let Ok(stars) = Stars::new(mean.round() as i64) else {
                continue;
            };
            self.observations.push(RatedTrial {
                trial: render.trial.clone(),
                stars,
            });
            self.starred.push(!own.is_empty());
        }
        self.evidence = Some(evidence);
    }

    /// The studio model's judgements told, if any.
    pub fn evidence(&self) -> Option<&Evidence> {
        self.evidence.as_ref()
    }

    /// Whether `trial` is a render the told evidence judged (rated or
    /// compared).
    fn judged(&self, trial: &Trial) -> bool {
        self.evidence
            .as_ref()
            .is_some_and(|e| e.renders.iter().any(|r| r.trial == *trial))
    }

    /// Judged renders made for the room the suggestions are for (the same
    /// measured context and tags: in practice, the same photo). Without the
    /// studio's evidence the ratings carry no room, and all of them count.
    fn renders_on_this_photo(&self) -> usize {
        self.evidence.as_ref().map_or(self.observations.len(), |e| {
            e.renders
                .iter()
                .filter(|r| r.context == self.query.context)
                .count()
        })
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
        self.starred.push(true);
    }

    /// The observations a designer gave stars to (the bandit's record).
    fn starred_observations(&self) -> Vec<RatedTrial> {
        self.observations
            .iter()
            .zip(&self.starred)
            .filter(|(_, starred)| **starred)
            .map(|(o, _)| o.clone())
            .collect()
    }

    /// The observations told so far.
    pub fn observations(&self) -> &[RatedTrial] {
        &self.observations
    }

    /// The most recent observations the GP is conditioned on. A recent
    /// window rather than a best-rated selection: keeping only old successes
    /// would bias the posterior mean upwards where they lie.
    pub fn model_window(&self) -> &[RatedTrial] {
        recent(&self.observations, self.settings.max_model_points)
    }

    /// Fits the GP on the usable observations (needs two); `None` before that.
    ///
    /// # Errors
    /// [`GpError`] if the covariance cannot be factorised even with jitter.
    pub fn model(&mut self) -> Result<Option<Model>, GpError> {
        if let (ModelKind::Studio, Some(evidence)) = (self.settings.model, &self.evidence) {
            let window = evidence_window(evidence, self.settings.max_model_points);
            let fitted = studio_fit::fit(
                StudioInputs {
                    space: &self.space,
                    evidence: &window,
                    query: &self.query,
                    total: self.earlier + evidence.judgements(),
                    cached: self.cached.as_ref(),
                    hyperparameter_fit_points: self.settings.hyperparameter_fit_points,
                },
                &mut self.rng,
            )?;
            return Ok(fitted.map(|(model, hyperparameters)| {
                self.fitted = Some(hyperparameters);
                model
            }));
        }
        let window = recent(&self.observations, self.settings.max_model_points);
        let fitted = Model::fit(
            FitInputs {
                space: &self.space,
                window,
                total: self.earlier + self.observations.len(),
                cached: self.cached.as_ref(),
                hyperparameter_fit_points: self.settings.hyperparameter_fit_points,
            },
            &mut self.rng,
        )?;
        Ok(fitted.map(|(model, hyperparameters)| {
            self.fitted = Some(hyperparameters);
            model
        }))
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
        // A render only compared has no stars, so the store lists it as
        // pending; the evidence already holds it as an observation.
        let pending: Vec<Trial> = pending
            .iter()
            .filter(|t| !self.judged(t))
            .cloned()
            .collect();
        let pending = pending.as_slice();
        let already = self.observations.len() + pending.len();
        let model = if self.settings.strategy == Strategy::Random
            || already < self.settings.n_initial_points
        {
            None
        } else {
            self.model()?
        };
        let Some(model) = model else {
            return Ok(self.ask_without_model(count, pending));
        };
        let pending_x: Vec<Vec<f64>> = pending
            .iter()
            .filter_map(|t| {
                Some(encode(
                    &self.space,
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
            &self.starred_observations(),
            self.settings.bandit,
            self.settings.reward,
        );
        // Every point tried or pending, per arm, for space-filling slots.
        let mut tried: Vec<Vec<[f64; 3]>> = vec![Vec::new(); self.space.providers().len()];
        for t in self.observations.iter().map(|o| &o.trial).chain(pending) {
            if let Some(arm) = self.space.provider_index(&t.provider) {
                tried[arm].push(self.space.unit_reals_on(arm, &t.params));
            }
        }
        // Each prediction costs O(n²): keep the acquisition search within a
        // fixed budget as the history grows (full candidate set up to 300).
        let n = self.observations.len().max(1);
        let candidates = (self.settings.candidates * 300 / n.max(300)).max(64);
        let window = recent(&self.observations, self.settings.max_model_points);
        let stars: Vec<f64> = window.iter().map(|o| f64::from(o.stars.get())).collect();
        let prior = PriorShift::new(&model.gp, &stars, self.space.encoded_len());
        let photo_renders = self.renders_on_this_photo();
        let mut proposer = Proposer {
            space: &self.space,
            settings: &self.settings,
            model: &model,
            bandit: &bandit,
            candidates,
            prior,
            rng: &mut self.rng,
            photo_renders,
        };
        // Whether the model knows good settings decides the batch's roles;
        // the search for them runs even when no slot exploits, so seeded
        // suggestions do not depend on the batch policy's draws.
        let mut best_known = proposer.exploit(&gp);
        let batch = BatchState {
            count,
            knows_good: best_known.is_some(),
            seen_good: best_known.is_some() || model.incumbent >= model.gp.good_mean(),
            space_filling: self.settings.space_filling,
        };
        let mut out = Vec::with_capacity(count);
        let mut mates: Vec<(usize, [f64; 3])> = Vec::with_capacity(count);
        // Variant A as exploited, and the model before it believed A: B is
        // chosen on their joint posterior.
        let mut exploited: Option<(Proposal, Surrogate)> = None;
        for slot in 0..count {
            let role = self.settings.batch.slot_role(slot, batch, proposer.rng);
            let proposal = match (role, best_known.take(), &exploited) {
                (SlotRole::Exploit, Some(best), _) => {
                    exploited = Some((best.clone(), gp.clone()));
                    best
                }
                (SlotRole::Compare, _, Some((a, before))) => {
                    proposer.compare(before, &tried, a, &mates)
                }
                (SlotRole::SpaceFilling, _, _) => proposer.fill_space(&gp, &tried, &mates),
                _ => proposer.explore(&gp, &tried, &mates),
            };
            // An arm's ignored reals stay at their one value (the search
            // saw them there already, except when filling space).
            let proposal = Proposal {
                unit: proposer.space.project(proposal.arm, proposal.unit),
                ..proposal
            };
            tried[proposal.arm].push(proposal.unit);
            mates.push((proposal.arm, proposal.unit));
            let x = encode(proposer.space, proposal.arm, proposal.unit);
            gp = gp.with_believed(std::slice::from_ref(&x))?;
            out.push(Suggestion {
                trial: Trial {
                    provider: proposer.space.providers()[proposal.arm].clone(),
                    params: proposer.space.params_on(proposal.arm, proposal.unit),
                },
                method: proposal.method,
                explanation: proposal.explanation,
            });
        }
        Ok(out)
    }

    /// Initial design while `already + i < n_initial_points`, uniform random
    /// after that. The design extends every point proposed so far (rated,
    /// pending, earlier in this batch) into a maximin Latin hypercube, and
    /// each variant takes the arm proposed least so far, so asking one at a
    /// time spreads points and arms as well as asking for a batch.
    fn ask_without_model(&mut self, count: usize, pending: &[Trial]) -> Vec<Suggestion> {
        let already = self.observations.len() + pending.len();
        let mut proposed: Vec<[f64; 3]> = Vec::with_capacity(already + count);
        let mut per_arm = vec![0usize; self.space.providers().len()];
        for t in self.observations.iter().map(|o| &o.trial).chain(pending) {
            proposed.push(self.space.unit_reals(&t.params));
            if let Some(arm) = self.space.provider_index(&t.provider) {
                per_arm[arm] += 1;
            }
        }
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let (method, unit) = if already + i < self.settings.n_initial_points {
                let unit = next_design_point(
                    &proposed,
                    self.settings.n_initial_points,
                    DESIGN_CANDIDATES,
                    &mut self.rng,
                );
                (Method::InitialDesign, unit)
            } else {
                let unit = [
                    self.rng.random::<f64>(),
                    self.rng.random::<f64>(),
                    self.rng.random::<f64>(),
                ];
                (Method::Random, unit)
            };
            let arm = self.least_proposed_arm(&per_arm);
            per_arm[arm] += 1;
            proposed.push(unit);
            out.push(Suggestion {
                trial: Trial {
                    provider: self.space.providers()[arm].clone(),
                    params: self.space.params_on(arm, unit),
                },
                method,
                explanation: Explanation::design(),
            });
        }
        out
    }

    /// An arm with the fewest proposals so far, ties broken at random.
    fn least_proposed_arm(&mut self, per_arm: &[usize]) -> usize {
        let fewest = per_arm.iter().copied().min().unwrap_or(0);
        let tied: Vec<usize> = (0..per_arm.len())
            .filter(|a| per_arm[*a] == fewest)
            .collect();
        tied.choose(&mut self.rng).copied().unwrap_or(0)
    }
}

/// Candidates scored per initial-design point (the maximin choice among
/// them); a few dozen already give most of the gain over a random LHS.
const DESIGN_CANDIDATES: usize = 64;

/// The evidence on the latest `max_model_points` renders (two at least):
/// exact GP cost grows as the cube of the latents.
fn evidence_window(evidence: &Evidence, max_model_points: usize) -> Evidence {
    let keep = max_model_points.max(2);
    let first = evidence.renders.len().saturating_sub(keep);
    if first == 0 {
        return evidence.clone();
    }
    Evidence {
        renders: evidence.renders[first..].to_vec(),
        designers: evidence.designers.clone(),
        stars: evidence
            .stars
            .iter()
            .filter(|s| s.render >= first)
            .map(|s| crate::domain::StarJudgement {
                render: s.render - first,
                ..*s
            })
            .collect(),
        preferences: evidence
            .preferences
            .iter()
            .filter(|p| p.better >= first && p.worse >= first)
            .map(|p| crate::domain::PreferenceJudgement {
                better: p.better - first,
                worse: p.worse - first,
                ..*p
            })
            .collect(),
    }
}

/// The latest `max_model_points` observations (two at least).
fn recent(observations: &[RatedTrial], max_model_points: usize) -> &[RatedTrial] {
    let keep = max_model_points.max(2);
    &observations[observations.len().saturating_sub(keep)..]
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
        let window = recent(&self.observations, self.settings.max_model_points);
        let rng = self.view_rng.as_mut().unwrap_or(&mut self.rng);
        super::outlook::outlook(&self.space, window, model, target, rng)
    }

    /// Per configured arm, the settings with the highest predicted rating
    /// among the points tried on it (in the model's window) and a
    /// space-filling sample of its untried settings; `None` for an arm with
    /// no rating yet, whose predictions are only the prior.
    pub fn best_by_arm(&mut self, model: &Model) -> Vec<Option<ArmBest>> {
        let window = recent(&self.observations, self.settings.max_model_points);
        let rng = self.view_rng.as_mut().unwrap_or(&mut self.rng);
        super::outlook::best_by_arm(&self.space, window, model, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ArmRule;
    use crate::domain::{Params, Stars};
    use crate::optim::Bounds;
    use crate::optim::bandit::BanditRule;
    use crate::optim::design::{exclusion_radius, outside_exclusion};
    use crate::optim::policy::SecondLook;
    use crate::optim::settings::{BatchPolicy, EXPLOIT_MIN_MEAN};
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

    /// The defaults without the arms' warm-up: these tests describe the
    /// bandit's and the model's choices after a short history, which the
    /// warm-up would pre-empt; it has its own test.
    fn settings() -> OptimizerSettings {
        OptimizerSettings {
            arm_warmup: 0,
            ..OptimizerSettings::default()
        }
    }

    fn optimizer(seed: u64) -> Optimizer {
        Optimizer::new(space(), settings(), StdRng::seed_from_u64(seed))
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
            ..settings()
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
    fn once_good_settings_are_known_variant_a_exploits_and_b_is_chosen_by_eubo() {
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
        assert_eq!(batch[1].method, Method::GpEubo);
        // Its recorded gain is E[max(f(A), f(B))] − μ_A: never negative.
        assert!(batch[1].explanation.expected_improvement.unwrap() >= 0.0);
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
                    ..settings()
                },
                StdRng::seed_from_u64(seed),
            )
        };
        // Nothing good seen: every exploring variant is space-filling.
        let mediocre: Vec<RatedTrial> = history()
            .into_iter()
            .map(|o| RatedTrial {
                stars: Stars::new(i64::from(o.stars.get().min(3))).unwrap(),
                ..o
            })
            .collect();
        let mut opt = always(4);
        for o in mediocre.iter().cloned() {
            opt.tell(o);
        }
        let methods: Vec<Method> = opt.ask(3, &[]).unwrap().iter().map(|s| s.method).collect();
        assert_eq!(methods, vec![Method::SpaceFilling; 3]);
        // Settings predicted at 4 stars or more (issue 14): space filling
        // stops, whether or not the model is sure enough to exploit them.
        let mut opt = always(4);
        for o in mediocre.iter().cloned() {
            opt.tell(o);
        }
        for _ in 0..3 {
            opt.tell(rated("detail", 0.3, 7.0, 0.9, 5));
        }
        let batch = opt.ask(3, &[]).unwrap();
        assert!(
            batch.iter().all(|s| s.method != Method::SpaceFilling),
            "{batch:?}"
        );
        // Good settings known: variant A exploits, B is the most informative
        // alternative (EUBO), the others explore by EI,
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
                vec![Method::GpExploit, Method::GpEubo, Method::GpEi]
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
                    ..settings()
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
                ..settings()
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
                ..settings()
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

    fn unit_of(s: &Suggestion) -> [f64; 3] {
        space().unit_reals(&s.trial.params)
    }

    #[test]
    fn an_initial_design_asked_one_at_a_time_spreads_like_a_batch_and_balances_arms() {
        // Issue 14: asked one at a time, the initial design was five
        // independent random points with random arms. Mean over 100 seeds of
        // the smallest pairwise distance among the five points.
        use crate::optim::design::min_pairwise_distance;
        let (mut one_by_one, mut batch) = (0.0, 0.0);
        for seed in 0..100 {
            let mut pending: Vec<Trial> = Vec::new();
            for i in 0..5 {
                let mut opt = optimizer(seed * 10 + i);
                let s = opt.ask(1, &pending).unwrap().remove(0);
                assert_eq!(s.method, Method::InitialDesign);
                pending.push(s.trial);
            }
            let tone = pending.iter().filter(|t| t.provider == "tone").count();
            assert!(tone == 2 || tone == 3, "seed {seed}: {tone} of 5 on tone");
            let points: Vec<[f64; 3]> = pending
                .iter()
                .map(|t| space().unit_reals(&t.params))
                .collect();
            one_by_one += min_pairwise_distance(&points) / 100.0;
            let together = optimizer(seed).ask(5, &[]).unwrap();
            let points: Vec<[f64; 3]> = together.iter().map(unit_of).collect();
            batch += min_pairwise_distance(&points) / 100.0;
        }
        // Measured: 0.42 one at a time, 0.41 as a batch of five (a plain
        // random Latin hypercube: 0.40; five independent points: 0.29).
        eprintln!("min distance one at a time {one_by_one:.3}, batch {batch:.3}");
        assert!(one_by_one > 0.33 && batch > 0.33, "{one_by_one} {batch}");
        assert!((one_by_one - batch).abs() < 0.05, "{one_by_one} {batch}");
    }

    #[test]
    fn a_and_b_differ_perceptibly_once_the_model_is_confident() {
        // Issue 14 item 6: after convergence A and B were near copies. With
        // the model sure of the best settings, B is at least
        // BATCH_MIN_DISTANCE from A on the same arm, under every batch
        // policy and arm rule.
        use crate::optim::settings::BATCH_MIN_DISTANCE;
        for (seed, strategy, batch) in [
            (1, Strategy::GpBandit, BatchPolicy::ExploitExplore),
            (2, Strategy::Gp, BatchPolicy::ExploitExplore),
            (3, Strategy::Gp, BatchPolicy::Ei),
            (4, Strategy::GpBandit, BatchPolicy::Ei),
        ] {
            for round in 0..4 {
                let mut opt = Optimizer::new(
                    space(),
                    OptimizerSettings {
                        strategy,
                        batch,
                        ..settings()
                    },
                    StdRng::seed_from_u64(seed * 100 + round),
                );
                for o in history() {
                    opt.tell(o);
                }
                for _ in 0..8 {
                    opt.tell(rated("detail", 0.36, 9.2, 0.94, 5));
                    opt.tell(rated("detail", 0.34, 9.0, 0.92, 5));
                }
                let pair = opt.ask(2, &[]).unwrap();
                if pair[0].method == Method::GpExploit {
                    assert_eq!(pair[1].method, Method::GpEubo, "{pair:?}");
                }
                if pair[0].trial.provider == pair[1].trial.provider {
                    let d = crate::optim::design::distance_squared(
                        &unit_of(&pair[0]),
                        &unit_of(&pair[1]),
                    )
                    .sqrt();
                    assert!(
                        d >= BATCH_MIN_DISTANCE - 1e-9,
                        "{strategy:?} {batch:?} {round}: {d} {pair:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_exploring_arm_is_judged_by_its_best_settings_not_its_average() {
        // Issue 14: "tone" is a broad 4-star plateau that never does better;
        // "detail" was mostly explored at poor settings but rates 5 at one
        // spot, again and again. Counting 4+ ratings (the Beta bandit)
        // prefers tone; its best settings say detail.
        let mut rng = StdRng::seed_from_u64(77);
        let mut observations = Vec::new();
        for _ in 0..12 {
            let (s, g, c) = (
                rng.random_range(0.1..0.5),
                rng.random_range(5.0..12.0),
                rng.random_range(0.7..0.99),
            );
            observations.push(rated("tone", s, g, c, 4));
            let (s, g, c) = (
                rng.random_range(0.1..0.5),
                rng.random_range(5.0..12.0),
                rng.random_range(0.7..0.99),
            );
            observations.push(rated(
                "detail",
                s,
                g,
                c,
                1 + i64::from(rng.random::<bool>()),
            ));
        }
        for _ in 0..4 {
            observations.push(rated("detail", 0.3, 8.5, 0.85, 5));
        }
        let arm_shares = |bandit: BanditRule| {
            let mut detail = 0;
            for seed in 0..20 {
                let mut opt = Optimizer::new(
                    space(),
                    OptimizerSettings {
                        batch: BatchPolicy::Ei,
                        bandit,
                        ..settings()
                    },
                    StdRng::seed_from_u64(seed),
                );
                for o in observations.iter().cloned() {
                    opt.tell(o);
                }
                let s = opt.ask(1, &[]).unwrap().remove(0);
                detail += usize::from(s.trial.provider == "detail");
            }
            detail
        };
        let by_best = arm_shares(BanditRule::PosteriorMaximum);
        let by_count = arm_shares(BanditRule::Thompson);
        eprintln!("detail chosen {by_best} of 20 by the best settings, {by_count} by counting");
        assert!(
            by_best >= 12,
            "posterior maximum chose detail {by_best} of 20"
        );
        assert!(by_count <= 4, "the Beta rule chose detail {by_count} of 20");
    }

    #[test]
    fn exploration_does_not_seek_the_corners_of_the_box() {
        // Issue 14: EI proposed exact corners (where the prior sd is
        // largest and the prior mean is the data mean) ~4.5 times per 50
        // ratings. A history of interior points, poor and middling, with a
        // good spot: no exploring proposal lands on a corner.
        let mut corners = 0;
        for seed in 0..20 {
            let mut opt = Optimizer::new(
                space(),
                OptimizerSettings {
                    batch: BatchPolicy::Ei,
                    space_filling: 0.0,
                    ..settings()
                },
                StdRng::seed_from_u64(seed),
            );
            let mut rng = StdRng::seed_from_u64(1000 + seed);
            for i in 0..14 {
                let u: [f64; 3] = [
                    rng.random_range(0.2..0.8),
                    rng.random_range(0.2..0.8),
                    rng.random_range(0.2..0.8),
                ];
                let p = space().params_from_unit(u);
                let stars = if i % 5 == 0 { 4 } else { 1 + (i % 3) as i64 };
                let arm = if i % 2 == 0 { "tone" } else { "detail" };
                opt.tell(rated(
                    arm,
                    p.init_strength,
                    p.guidance_scale,
                    p.controlnet_weight,
                    stars,
                ));
            }
            for s in opt.ask(2, &[]).unwrap() {
                corners += usize::from(unit_of(&s).iter().all(|x| *x <= 0.02 || *x >= 0.98));
            }
        }
        assert!(corners <= 2, "{corners} of 40 proposals on a corner");
    }

    /// Suggestions as text, nine decimals: what the pinned test compares.
    fn pinned(batch: &[Suggestion]) -> String {
        batch
            .iter()
            .map(|s| {
                let p = s.trial.params;
                format!(
                    "{} {:?} {:.9} {:.9} {:.9}",
                    s.trial.provider,
                    s.method,
                    p.init_strength,
                    p.guidance_scale,
                    p.controlnet_weight
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn all_knob_arms_propose_exactly_what_they_did_before_knob_masks() {
        // Pinned from the optimizer before arms could ignore knobs: with
        // every arm honouring all three, masks change nothing.
        let mut opt = optimizer(21);
        for o in history() {
            opt.tell(o);
        }
        opt.tell(rated("detail", 0.36, 9.2, 0.94, 5));
        opt.tell(rated("tone", 0.45, 5.5, 0.72, 2));
        let got = pinned(&opt.ask(3, &[]).unwrap());
        assert_eq!(got, PINNED_BEFORE_MASKS, "{got}");
        let mut fresh = optimizer(21);
        assert_eq!(
            pinned(&fresh.ask(2, &[]).unwrap()),
            PINNED_DESIGN_BEFORE_MASKS
        );
    }

    const PINNED_BEFORE_MASKS: &str = "detail GpExploit 0.353955625 9.083293813 0.946348252\n\
        detail GpEubo 0.356120807 10.135645093 0.943501178\n\
        detail GpEi 0.352159174 8.018700923 0.947938660";
    const PINNED_DESIGN_BEFORE_MASKS: &str = "detail InitialDesign 0.455706501 7.393685876 0.900517497\n\
        tone InitialDesign 0.132567098 9.917237163 0.718219751";

    #[test]
    fn a_one_knob_arm_varies_only_its_knob_and_reports_the_others_fixed() {
        let space = space()
            .with_honoured(vec![[true; 3], [false, false, true]])
            .unwrap();
        let mut opt = Optimizer::new(space, settings(), StdRng::seed_from_u64(4));
        let mut weights = Vec::new();
        let mut tone_guidance = Vec::new();
        for _ in 0..8 {
            let batch = opt.ask(3, &[]).unwrap();
            for s in batch {
                let p = s.trial.params;
                if s.trial.provider == "detail" {
                    // The middle of the bounds, exactly, whatever the method.
                    assert!((p.init_strength - 0.3).abs() < 1e-12, "{:?}", s.method);
                    assert!((p.guidance_scale - 8.5).abs() < 1e-12, "{:?}", s.method);
                    weights.push(p.controlnet_weight);
                } else {
                    tone_guidance.push(p.guidance_scale);
                }
                // Ratings that depend on controlnet_weight only.
                let stars = (1.0 + 4.0 * (p.controlnet_weight - 0.7) / 0.29).round() as i64;
                opt.tell(RatedTrial {
                    trial: s.trial,
                    stars: Stars::new(stars.clamp(1, 5)).unwrap(),
                });
            }
        }
        let distinct = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v.len()
        };
        assert!(distinct(&weights) >= 4, "{weights:?}");
        assert!(distinct(&tone_guidance) >= 4, "{tone_guidance:?}");
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

    #[test]
    fn after_twenty_renders_an_exploring_slot_gives_a_starved_arm_a_second_look() {
        // 22 ratings: three poor ones on "tone", nineteen 4s on "detail".
        // The Beta bandit (0 successes of 3 against 19 of 19) would draw
        // "detail" nearly always.
        let history = |extra_tone: u32| {
            let mut h = Vec::new();
            for i in 0..3 + extra_tone {
                h.push(rated("tone", 0.12 + 0.03 * f64::from(i), 5.5, 0.72, 1));
            }
            for i in 0..19 {
                let t = f64::from(i) / 19.0;
                h.push(rated(
                    "detail",
                    0.2 + 0.25 * t,
                    6.0 + 5.0 * t,
                    0.95 - 0.2 * t,
                    4,
                ));
            }
            h
        };
        let ask_one = |settings: OptimizerSettings, extra_tone: u32, seed: u64| {
            let mut o = Optimizer::new(space(), settings, StdRng::seed_from_u64(seed));
            for r in history(extra_tone) {
                o.tell(r);
            }
            o.ask(1, &[]).unwrap().remove(0)
        };
        for seed in 0..4 {
            let s = ask_one(settings(), 0, seed);
            assert_eq!(s.trial.provider, "tone", "{s:?}");
            assert_eq!(s.explanation.arm_rule, ArmRule::SecondLook, "{s:?}");
            // Off, the bandit draws.
            let off = OptimizerSettings {
                second_look: SecondLook {
                    renders: 0,
                    ..settings().second_look
                },
                ..settings()
            };
            let s = ask_one(off, 0, seed);
            assert_eq!(s.explanation.arm_rule, ArmRule::Thompson, "{s:?}");
            // Once "tone" has its 12 renders the look is over.
            let s = ask_one(settings(), 9, seed);
            assert_eq!(s.explanation.arm_rule, ArmRule::Thompson, "{s:?}");
        }
    }

    #[test]
    fn exploring_slots_go_to_the_arm_short_of_its_share_of_the_first_renders() {
        // Eight ratings, six on "detail" rated well and two poor ones on
        // "tone": the Beta bandit would draw "detail" nearly always.
        let history = || {
            let mut h = vec![
                rated("tone", 0.2, 6.0, 0.8, 1),
                rated("tone", 0.45, 11.0, 0.75, 2),
            ];
            for i in 0..6 {
                h.push(rated("detail", 0.3 + 0.02 * f64::from(i), 9.0, 0.9, 4));
            }
            h
        };
        let warmed = || OptimizerSettings {
            arm_warmup: 20,
            ..OptimizerSettings::default()
        };
        let mut warm = Optimizer::new(space(), warmed(), StdRng::seed_from_u64(8));
        for o in history() {
            warm.tell(o);
        }
        // One at a time, 8 of the first 20 renders tried: "tone", with 2,
        // gets the slot.
        let s = &warm.ask(1, &[]).unwrap()[0];
        assert_eq!(s.trial.provider, "tone", "{s:?}");
        assert_eq!(s.explanation.arm_rule, ArmRule::Warmup);
        // Without the warm-up the bandit chooses.
        let mut cold = Optimizer::new(space(), settings(), StdRng::seed_from_u64(8));
        for o in history() {
            cold.tell(o);
        }
        let s = &cold.ask(1, &[]).unwrap()[0];
        assert_ne!(s.explanation.arm_rule, ArmRule::Warmup);
        // Once 20 renders were tried, the warm-up is over.
        let mut done = Optimizer::new(space(), warmed(), StdRng::seed_from_u64(8));
        for o in history() {
            done.tell(o);
        }
        for i in 0..8 {
            done.tell(rated("tone", 0.1 + 0.05 * f64::from(i), 7.0, 0.8, 2));
        }
        for i in 0..4 {
            done.tell(rated("detail", 0.2, 6.0 + f64::from(i), 0.8, 3));
        }
        for s in done.ask(2, &[]).unwrap() {
            assert_ne!(s.explanation.arm_rule, ArmRule::Warmup, "{s:?}");
        }
    }
}
