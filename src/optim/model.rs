//! The surrogate model the optimizer proposes from: a GP over (provider
//! one-hot, reals in [0,1]) fitted on the recent window of ratings, and the
//! cache that lets a command reuse hyperparameters fitted by an earlier one.
//!
//! What to propose from the model is left to [`super::proposal`]; when to
//! fit it, to [`super::bayes::Optimizer`].

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::gp::{GaussianProcess, GpError, HyperBounds, HyperPrior, Hyperparameters};
use super::settings::RATING_NOISE_FLOOR;
use super::space::SearchSpace;
use super::surrogate::Surrogate;
use crate::domain::RatedTrial;

/// Hyperparameters fitted for a number of observations, for reuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedHyperparameters {
    /// How many ratings had been told when they were fitted.
    pub observations: usize,
    /// The values.
    pub hyperparameters: Hyperparameters,
}

impl FittedHyperparameters {
    /// Whether these can stand in for a fit on `total` ratings in a space
    /// of `dims` encoded dimensions: refit once the count has grown by 10%
    /// (or at least one rating).
    pub(super) fn reusable_at(&self, total: usize, dims: usize) -> bool {
        self.hyperparameters.log_length_scales.len() == dims
            && self.observations <= total
            && total < self.observations + (self.observations / 10).max(1)
    }
}

/// A surrogate fitted on the usable observations, with the incumbent.
pub struct Model {
    pub(super) gp: Surrogate,
    /// Best posterior mean at an observed point (noise-robust incumbent).
    pub(super) incumbent: f64,
    /// Unit-cube points observed per arm, best first.
    pub(super) seeds_by_arm: Vec<Vec<[f64; 3]>>,
}

/// What a fit reads: the window of ratings it is conditioned on and how the
/// hyperparameters may be found.
pub(super) struct FitInputs<'a> {
    pub space: &'a SearchSpace,
    /// The most recent ratings (the GP's window).
    pub window: &'a [RatedTrial],
    /// Every rating told, older ones included: staleness of the cache is
    /// judged on it, so hyperparameters are refreshed as the window slides.
    pub total: usize,
    /// Hyperparameters from an earlier fit.
    pub cached: Option<&'a FittedHyperparameters>,
    /// Hyperparameter searches use at most this many recent ratings.
    pub hyperparameter_fit_points: usize,
}

impl Model {
    /// Fits the GP on the usable ratings of the window (two at least;
    /// `None` before that) and says which hyperparameters it used.
    ///
    /// # Errors
    /// [`GpError`] if the covariance cannot be factorised even with jitter.
    pub(super) fn fit(
        inputs: FitInputs<'_>,
        rng: &mut StdRng,
    ) -> Result<Option<(Model, FittedHyperparameters)>, GpError> {
        let space = inputs.space;
        let usable: Vec<(usize, [f64; 3], f64)> = inputs
            .window
            .iter()
            .filter_map(|o| {
                let arm = space.provider_index(&o.trial.provider)?;
                Some((
                    arm,
                    space.unit_reals_on(arm, &o.trial.params),
                    f64::from(o.stars.get()),
                ))
            })
            .collect();
        if usable.len() < 2 {
            return Ok(None);
        }
        let x: Vec<Vec<f64>> = usable
            .iter()
            .map(|(a, u, _)| encode(space, *a, *u))
            .collect();
        let y: Vec<f64> = usable.iter().map(|(_, _, s)| *s).collect();
        let n = x.len();
        let dims = space.encoded_len();
        let reuse = inputs.cached.filter(|c| c.reusable_at(inputs.total, dims));
        // A reused fit keeps the count it was made at: recording today's
        // count would postpone the refit forever, 2 ratings at a time.
        let fitted_at = reuse.map_or(inputs.total, |c| c.observations);
        let gp = match reuse {
            Some(c) => GaussianProcess::fit(x.clone(), &y, &c.hyperparameters)?,
            None => {
                let m = n.min(inputs.hyperparameter_fit_points.max(2));
                let sub = search_hyperparameters(&x, &y, m, inputs.cached, rng)?;
                let hyper = sub.hyperparameters().clone();
                if m == n {
                    sub
                } else {
                    GaussianProcess::fit(x.clone(), &y, &hyper)?
                }
            }
        };
        let fitted = FittedHyperparameters {
            observations: fitted_at,
            hyperparameters: gp.hyperparameters().clone(),
        };
        let incumbent = x
            .iter()
            .map(|xi| gp.predict(xi).mean)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut seeds_by_arm = vec![Vec::new(); space.providers().len()];
        let mut order: Vec<usize> = (0..usable.len()).collect();
        order.sort_by(|&a, &b| usable[b].2.total_cmp(&usable[a].2));
        for i in order.into_iter().take(10) {
            seeds_by_arm[usable[i].0].push(usable[i].1);
        }
        let model = Model {
            gp: Surrogate::Regression(gp),
            incumbent,
            seeds_by_arm,
        };
        Ok(Some((model, fitted)))
    }

    /// The fitted surrogate.
    pub fn gp(&self) -> &Surrogate {
        &self.gp
    }

    /// The best posterior mean at an observed point.
    pub fn incumbent(&self) -> f64 {
        self.incumbent
    }
}

/// A GP on the latest `m` of `(x, y)` with hyperparameters maximising the
/// marginal likelihood plus [`HyperPrior`], from the cached values (when
/// they fit these dimensions) and a random start. Only the latest points:
/// each likelihood evaluation costs O(m³).
///
/// # Errors
/// [`GpError`] if no start can be evaluated.
pub(super) fn search_hyperparameters(
    x: &[Vec<f64>],
    y: &[f64],
    m: usize,
    cached: Option<&FittedHyperparameters>,
    rng: &mut StdRng,
) -> Result<GaussianProcess, GpError> {
    let n = x.len();
    let dims = x.first().map_or(0, Vec::len);
    let starts: Vec<Hyperparameters> = cached
        .iter()
        .map(|c| c.hyperparameters.clone())
        .filter(|h| h.log_length_scales.len() == dims)
        .chain(std::iter::once(random_start(dims, rng)))
        .collect();
    let bounds = HyperBounds {
        target_noise_floor: RATING_NOISE_FLOOR,
        ..HyperBounds::default()
    };
    GaussianProcess::fit_with_hyperparameter_search(
        x[n - m..].to_vec(),
        &y[n - m..],
        &bounds,
        Some(&HyperPrior::default()),
        &starts,
        60,
    )
}

/// A random starting point for the hyperparameter search, inside the
/// ranges ratings on a 1–5 scale make plausible.
fn random_start(dims: usize, rng: &mut StdRng) -> Hyperparameters {
    Hyperparameters {
        log_length_scales: (0..dims)
            .map(|_| rng.random_range(0.1f64.ln()..2f64.ln()))
            .collect(),
        log_signal_variance: rng.random_range(0.3f64.ln()..3f64.ln()),
        log_noise_variance: rng.random_range(0.01f64.ln()..0.5f64.ln()),
    }
}

/// One-hot arm followed by the unit-scaled reals, those the arm ignores
/// pinned ([`SearchSpace::project`]).
pub(super) fn encode(space: &SearchSpace, arm: usize, unit: [f64; 3]) -> Vec<f64> {
    let mut x = vec![0.0; space.encoded_len()];
    x[arm] = 1.0;
    x[space.providers().len()..].copy_from_slice(&space.project(arm, unit));
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted(observations: usize) -> FittedHyperparameters {
        FittedHyperparameters {
            observations,
            hyperparameters: Hyperparameters {
                log_length_scales: vec![0.0; 5],
                log_signal_variance: 0.0,
                log_noise_variance: -1.0,
            },
        }
    }

    #[test]
    fn cached_hyperparameters_are_reused_until_ten_percent_more_ratings() {
        assert!(fitted(100).reusable_at(100, 5));
        assert!(fitted(100).reusable_at(109, 5));
        assert!(!fitted(100).reusable_at(110, 5));
        // Few ratings: one more is enough to refit.
        assert!(fitted(5).reusable_at(5, 5));
        assert!(!fitted(5).reusable_at(6, 5));
        // Fewer ratings than at the fit (a different database) or another
        // space (a provider added): never.
        assert!(!fitted(100).reusable_at(99, 5));
        assert!(!fitted(100).reusable_at(100, 6));
    }

    #[test]
    fn encoding_is_one_hot_arm_then_the_unit_reals() {
        let unit = crate::optim::Bounds::new(0.0, 1.0).unwrap();
        let space = SearchSpace::new(vec!["a".into(), "b".into()], [unit; 3]).unwrap();
        assert_eq!(
            encode(&space, 1, [0.25, 0.5, 1.0]),
            vec![0.0, 1.0, 0.25, 0.5, 1.0]
        );
    }
}
