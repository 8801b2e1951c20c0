//! Fitting the studio model on the evidence: encode each render (provider,
//! parameters, the photo's features, its room and style), find the kernel's
//! hyperparameters, and fit the latent model seen from the viewpoint a
//! suggestion is for.
//!
//! The kernel's length scales and signal variance come from maximising the
//! marginal likelihood of a GP regression on the stars, each designer's
//! mean deviation removed: a Gaussian stand-in for the probit likelihood
//! whose gradient is analytic and already tested, so a refit stays cheap.
//! The probit noise is what that regression calls noise, less the variance
//! rounding to whole stars adds (1/12). Preferences only ever enter the
//! latent model itself; a studio with no stars yet uses the prior's centre.

use rand::rngs::StdRng;

use super::gp::{GpError, HyperPrior, Hyperparameters};
use super::kernel::Matern52;
use super::latent::{Point, StudioData, StudioKernel, StudioModel, StudioPrior, normalise_tag};
use super::model::{FittedHyperparameters, Model, encode, search_hyperparameters};
use super::space::SearchSpace;
use super::surrogate::{Surrogate, Viewpoint};
use crate::domain::{Evidence, PhotoFeatures, RoomContext};

/// Whose view and which room a suggestion is for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelQuery {
    /// The designer who will judge (by name); `None` for the studio's view.
    pub designer: Option<String>,
    /// The room being proposed for.
    pub context: RoomContext,
}

/// The room-tag kernel weight `λ`.
const TAG_WEIGHT: f64 = 0.3;
/// A designer's own taste as a share of the studio's variance.
const TASTE_SHARE: f64 = 0.15;
/// Variance of rounding a continuous reading to whole stars.
const ROUNDING_VARIANCE: f64 = 1.0 / 12.0;

pub(super) struct StudioInputs<'a> {
    pub space: &'a SearchSpace,
    /// The window of evidence the model is fitted on.
    pub evidence: &'a Evidence,
    pub query: &'a ModelQuery,
    /// Every judgement told, older ones included (cache staleness).
    pub total: usize,
    pub cached: Option<&'a FittedHyperparameters>,
    pub hyperparameter_fit_points: usize,
}

/// Fits the studio model (`None` with fewer than two judgements).
pub(super) fn fit(
    inputs: StudioInputs<'_>,
    rng: &mut StdRng,
) -> Result<Option<(Model, FittedHyperparameters)>, GpError> {
    let space = inputs.space;
    let evidence = inputs.evidence;
    // Renders of arms still configured, as (arm, unit reals).
    let usable: Vec<Option<(usize, [f64; 3])>> = evidence
        .renders
        .iter()
        .map(|r| {
            let arm = space.provider_index(&r.trial.provider)?;
            Some((arm, space.unit_reals_on(arm, &r.trial.params)))
        })
        .collect();
    let features = FeatureEncoding::of(evidence);
    let points: Vec<Point> = evidence
        .renders
        .iter()
        .zip(&usable)
        .map(|(r, u)| {
            let (arm, unit) = u.unwrap_or((0, [0.5; 3]));
            let mut x = encode(space, arm, unit);
            x.extend(features.encode(&r.context));
            Point {
                x,
                room: normalise_tag(r.context.room.as_deref()),
                style: normalise_tag(r.context.style.as_deref()),
            }
        })
        .collect();
    let data = StudioData {
        renders: points.clone(),
        designers: evidence.designers.len(),
        stars: evidence
            .stars
            .iter()
            .filter(|s| usable[s.render].is_some())
            .map(|s| (s.render, s.designer, u8::from(s.stars)))
            .collect(),
        preferences: evidence
            .preferences
            .iter()
            .filter(|p| usable[p.better].is_some() && usable[p.worse].is_some())
            .map(|p| (p.better, p.worse, p.designer, p.tie))
            .collect(),
    };
    if data.stars.len() + data.preferences.len() < 2 {
        return Ok(None);
    }
    let dims = space.encoded_len() + features.len();
    let (hyper, fitted_at) = hyperparameters(&inputs, &data, dims, rng)?;
    let (mean, y_scale) = star_scale(&data);
    let signal_variance = (hyper.log_signal_variance.exp() * y_scale * y_scale).clamp(0.1, 10.0);
    let noise_variance = hyper.log_noise_variance.exp() * y_scale * y_scale;
    let noise_sd = (noise_variance - ROUNDING_VARIANCE)
        .max(0.04)
        .sqrt()
        .clamp(0.2, 1.5);
    let kernel = StudioKernel {
        matern: Matern52 {
            length_scales: hyper.log_length_scales.iter().map(|l| l.exp()).collect(),
            signal_variance,
        },
        tag_weight: TAG_WEIGHT,
        taste_share: TASTE_SHARE,
    };
    let model = StudioModel::fit(&data, kernel, StudioPrior::default(), mean, noise_sd)?;
    let viewpoint = Viewpoint {
        features: features.encode(&inputs.query.context),
        room: normalise_tag(inputs.query.context.room.as_deref()),
        style: normalise_tag(inputs.query.context.style.as_deref()),
        designer: inputs
            .query
            .designer
            .as_ref()
            .and_then(|name| evidence.designers.iter().position(|d| d == name)),
    };
    let surrogate = Surrogate::Studio {
        model: Box::new(model),
        viewpoint,
    };
    // The incumbent and the seeds: settings tried so far, predicted in the
    // room and for the designer the suggestion is for.
    let mut tried: Vec<(usize, [f64; 3], f64)> = usable
        .iter()
        .flatten()
        .map(|&(arm, unit)| (arm, unit, surrogate.predict_mean(&encode(space, arm, unit))))
        .collect();
    tried.sort_by(|a, b| b.2.total_cmp(&a.2));
    let incumbent = tried.first().map_or(f64::NEG_INFINITY, |t| t.2);
    let mut seeds_by_arm = vec![Vec::new(); space.providers().len()];
    for (arm, unit, _) in tried.into_iter().take(10) {
        seeds_by_arm[arm].push(unit);
    }
    let fitted = FittedHyperparameters {
        observations: fitted_at,
        hyperparameters: hyper,
    };
    Ok(Some((
        Model {
            gp: surrogate,
            incumbent,
            seeds_by_arm,
        },
        fitted,
    )))
}

/// The kernel's hyperparameters (standardised units) and the count they
/// were fitted at: reused from the cache while fresh, else fitted on the
/// stars with each designer's shrunk mean deviation removed.
fn hyperparameters(
    inputs: &StudioInputs<'_>,
    data: &StudioData,
    dims: usize,
    rng: &mut StdRng,
) -> Result<(Hyperparameters, usize), GpError> {
    if let Some(c) = inputs.cached.filter(|c| c.reusable_at(inputs.total, dims)) {
        return Ok((c.hyperparameters.clone(), c.observations));
    }
    if data.stars.len() < 2 {
        let mut prior_centre = Hyperparameters::default_for(dims);
        prior_centre.log_length_scales = vec![HyperPrior::default().log_length_scale.0; dims];
        return Ok((prior_centre, inputs.total));
    }
    let deviations = designer_deviations(data);
    let x: Vec<Vec<f64>> = data
        .stars
        .iter()
        .map(|s| data.renders[s.0].x.clone())
        .collect();
    let y: Vec<f64> = data
        .stars
        .iter()
        .map(|s| f64::from(s.2) - deviations[s.1])
        .collect();
    let m = x.len().min(inputs.hyperparameter_fit_points.max(2));
    let gp = search_hyperparameters(&x, &y, m, inputs.cached, rng)?;
    Ok((gp.hyperparameters().clone(), inputs.total))
}

/// Each designer's mean star deviation from the studio's, shrunk toward 0
/// by three pseudo-ratings (a designer with one rating is not judged strict).
fn designer_deviations(data: &StudioData) -> Vec<f64> {
    let overall = data.stars.iter().map(|s| f64::from(s.2)).sum::<f64>() / data.stars.len() as f64;
    (0..data.designers)
        .map(|d| {
            let own: Vec<f64> = data
                .stars
                .iter()
                .filter(|s| s.1 == d)
                .map(|s| f64::from(s.2) - overall)
                .collect();
            own.iter().sum::<f64>() / (own.len() as f64 + 3.0)
        })
        .collect()
}

/// The studio's mean rating and the sd the regression standardised by (so
/// its hyperparameters can be put back in stars).
fn star_scale(data: &StudioData) -> (f64, f64) {
    if data.stars.is_empty() {
        return (3.0, 1.0);
    }
    let deviations = designer_deviations(data);
    let y: Vec<f64> = data
        .stars
        .iter()
        .map(|s| f64::from(s.2) - deviations[s.1])
        .collect();
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, if sd > 1e-9 { sd } else { 1.0 })
}

/// How a room's measured features become model inputs: present only when
/// some render's photo was measured; a render or a query without them
/// takes the studio's average photo (a neutral point, which keeps the
/// covariance valid).
struct FeatureEncoding {
    mean: Option<[f64; PhotoFeatures::COUNT]>,
}

impl FeatureEncoding {
    fn of(evidence: &Evidence) -> Self {
        let measured: Vec<[f64; PhotoFeatures::COUNT]> = evidence
            .renders
            .iter()
            .filter_map(|r| r.context.features.map(|f| f.as_array()))
            .collect();
        if measured.is_empty() {
            return FeatureEncoding { mean: None };
        }
        let mut mean = [0.0; PhotoFeatures::COUNT];
        for f in &measured {
            for (m, v) in mean.iter_mut().zip(f) {
                *m += v / measured.len() as f64;
            }
        }
        FeatureEncoding { mean: Some(mean) }
    }

    fn len(&self) -> usize {
        if self.mean.is_some() {
            PhotoFeatures::COUNT
        } else {
            0
        }
    }

    fn encode(&self, context: &RoomContext) -> Vec<f64> {
        match self.mean {
            None => Vec::new(),
            Some(mean) => context
                .features
                .map_or(mean, |f| f.as_array())
                .iter()
                .map(|v| v.clamp(0.0, 1.0))
                .collect(),
        }
    }
}
