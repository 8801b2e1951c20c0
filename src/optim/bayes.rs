//! The ask/tell optimizer.
//!
//! `tell` records observations (trial, stars); `ask(n, pending)` proposes `n`
//! distinct trials given the points already proposed but not yet rated. The
//! first `n_initial_points` proposals (rated or pending) come from a
//! space-filling design; later ones, until the Gaussian-process model lands,
//! are uniform random. Provider arms are assigned so that a batch covers as
//! many different arms as it can, which keeps A/B comparisons informative.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::design::latin_hypercube;
use super::space::SearchSpace;
use crate::domain::{Method, RatedTrial, Trial};

/// Settings checked once at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptimizerSettings {
    /// Proposals drawn from the initial design before any model is used.
    pub n_initial_points: usize,
}

impl Default for OptimizerSettings {
    fn default() -> Self {
        OptimizerSettings {
            n_initial_points: 5,
        }
    }
}

/// A proposed trial and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Provider arm and parameters.
    pub trial: Trial,
    /// Initial design, random, …
    pub method: Method,
}

/// The ask/tell optimizer over a [`SearchSpace`].
pub struct Optimizer {
    space: SearchSpace,
    settings: OptimizerSettings,
    observations: Vec<RatedTrial>,
    rng: StdRng,
}

impl Optimizer {
    /// An optimizer with no observations. Pass a seeded RNG for reproducibility.
    pub fn new(space: SearchSpace, settings: OptimizerSettings, rng: StdRng) -> Self {
        Optimizer {
            space,
            settings,
            observations: Vec::new(),
            rng,
        }
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

    /// Proposes `count` distinct trials, given `pending` proposals that have
    /// no rating yet (they count towards the initial design).
    pub fn ask(&mut self, count: usize, pending: &[Trial]) -> Vec<Suggestion> {
        if count == 0 {
            return Vec::new();
        }
        let already = self.observations.len() + pending.len();
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
                    // Independent uniform draws; the Latin hypercube only
                    // structures the initial design.
                    Method::Random => [
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Params, Stars};
    use crate::optim::Bounds;
    use rand::SeedableRng;

    fn optimizer(seed: u64) -> Optimizer {
        let space = SearchSpace::new(
            vec!["tone".into(), "detail".into()],
            [
                Bounds::new(0.1, 0.5).unwrap(),
                Bounds::new(5.0, 12.0).unwrap(),
                Bounds::new(0.7, 0.99).unwrap(),
            ],
        )
        .unwrap();
        Optimizer::new(
            space,
            OptimizerSettings::default(),
            StdRng::seed_from_u64(seed),
        )
    }

    #[test]
    fn batch_of_two_uses_both_arms_and_distinct_in_bounds_points() {
        for seed in 0..20 {
            let batch = optimizer(seed).ask(2, &[]);
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

    #[test]
    fn initial_design_ends_after_n_initial_points_including_pending() {
        let mut opt = optimizer(3);
        let params = Params {
            init_strength: 0.2,
            guidance_scale: 7.0,
            controlnet_weight: 0.8,
        };
        let trial = Trial {
            provider: "tone".into(),
            params,
        };
        for _ in 0..3 {
            opt.tell(RatedTrial {
                trial: trial.clone(),
                stars: Stars::new(3).unwrap(),
            });
        }
        let batch = opt.ask(3, std::slice::from_ref(&trial));
        let methods: Vec<_> = batch.iter().map(|s| s.method).collect();
        assert_eq!(
            methods,
            vec![Method::InitialDesign, Method::Random, Method::Random]
        );
    }

    #[test]
    fn same_seed_and_history_give_the_same_suggestions() {
        assert_eq!(optimizer(9).ask(4, &[]), optimizer(9).ask(4, &[]));
        assert_ne!(optimizer(9).ask(4, &[]), optimizer(10).ask(4, &[]));
    }
}
