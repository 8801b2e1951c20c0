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
//!
//! Where each piece lives: the settings and thresholds in
//! [`super::settings`], the GP fit and its hyperparameter cache in
//! [`super::model`], the role of each slot of a batch and the arms an
//! exploring slot searches in [`super::policy`], turning a role into a point
//! in [`super::proposal`], and the convergence view in [`super::outlook`].
//! This file only sequences them: ask, tell, and which model to use when.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::bandit::Bandit;
use super::design::latin_hypercube;
use super::gp::GpError;
use super::model::{FitInputs, FittedHyperparameters, Model, encode};
use super::outlook::{ArmBest, Outlook};
use super::policy::{BatchState, SlotRole};
use super::proposal::Proposer;
use super::settings::{ModelKind, OptimizerSettings, Strategy};
use super::studio_fit::{self, ModelQuery, StudioInputs};
use super::space::SearchSpace;
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
    rng: StdRng,
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
            rng,
            cached: None,
            fitted: None,
            earlier: 0,
            evidence: None,
            query: ModelQuery::default(),
        }
    }

    /// Suggestions for this designer (their scale and taste) in this room.
    pub fn for_query(mut self, query: ModelQuery) -> Self {
        self.query = query;
        self
    }

    /// Tells every designer's judgements at once. With
    /// [`ModelKind::Studio`] the model learns from them; each judged render
    /// also counts as one observation (initial design, bandit, tried
    /// points) with its designers' mean stars (3 for a render only
    /// compared, never rated).
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
        }
        self.evidence = Some(evidence);
    }

    /// The studio model's judgements told, if any.
    pub fn evidence(&self) -> Option<&Evidence> {
        self.evidence.as_ref()
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
        let candidates = (self.settings.candidates * 300 / n.max(300)).max(64);
        let mut proposer = Proposer {
            space: &self.space,
            settings: &self.settings,
            model: &model,
            bandit: &bandit,
            candidates,
            rng: &mut self.rng,
        };
        // Whether the model knows good settings decides the batch's roles;
        // the search for them runs even when no slot exploits, so seeded
        // suggestions do not depend on the batch policy's draws.
        let mut best_known = proposer.exploit(&gp);
        let batch = BatchState {
            count,
            knows_good: best_known.is_some(),
            space_filling: self.settings.space_filling,
        };
        let mut out = Vec::with_capacity(count);
        for slot in 0..count {
            let role = self.settings.batch.slot_role(slot, batch, proposer.rng);
            let proposal = match (role, best_known.take()) {
                (SlotRole::Exploit, Some(best)) => best,
                (SlotRole::SpaceFilling, _) => proposer.fill_space(&gp, &tried),
                _ => proposer.explore(&gp, &tried),
            };
            tried[proposal.arm].push(proposal.unit);
            let x = encode(proposer.space, proposal.arm, proposal.unit);
            gp = gp.with_believed(std::slice::from_ref(&x))?;
            out.push(Suggestion {
                trial: Trial {
                    provider: proposer.space.providers()[proposal.arm].clone(),
                    params: proposer.space.params_from_unit(proposal.unit),
                },
                method: proposal.method,
                explanation: proposal.explanation,
            });
        }
        Ok(out)
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
        super::outlook::outlook(&self.space, window, model, target, &mut self.rng)
    }

    /// Per configured arm, the settings with the highest predicted rating
    /// among the points tried on it (in the model's window) and a
    /// space-filling sample of its untried settings; `None` for an arm with
    /// no rating yet, whose predictions are only the prior.
    pub fn best_by_arm(&mut self, model: &Model) -> Vec<Option<ArmBest>> {
        let window = recent(&self.observations, self.settings.max_model_points);
        super::outlook::best_by_arm(&self.space, window, model, &mut self.rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ArmRule;
    use crate::domain::{Params, Stars};
    use crate::optim::Bounds;
    use crate::optim::design::{exclusion_radius, outside_exclusion};
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
