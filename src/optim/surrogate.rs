//! What proposals are made from: a prediction of quality at encoded
//! settings (provider one-hot, unit-scaled parameters), either from the GP
//! regression on stars (the first model, kept for comparison) or from the
//! studio model, seen from one designer in one room.
//!
//! The proposal code asks only `predict`, `predict_mean` and
//! `with_believed`, so it does not know which model answers.

use super::gp::{GaussianProcess, GpError, Prediction};
use super::latent::{Point, StudioModel};
use super::settings::{EXPLOIT_MAX_SD, EXPLOIT_MIN_MEAN};

/// Where the studio model is asked from: the room being proposed for and
/// the designer who will judge (None: the studio's average designer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Viewpoint {
    /// The photo's features as model inputs (empty when the model has none).
    pub features: Vec<f64>,
    /// The room tag, normalised.
    pub room: Option<String>,
    /// The style tag, normalised.
    pub style: Option<String>,
    /// The designer's index in the model, if the model knows them.
    pub designer: Option<usize>,
}

impl Viewpoint {
    /// The model's point for encoded settings `x` seen from here.
    pub fn point(&self, x: &[f64]) -> Point {
        let mut full = Vec::with_capacity(x.len() + self.features.len());
        full.extend_from_slice(x);
        full.extend_from_slice(&self.features);
        Point {
            x: full,
            room: self.room.clone(),
            style: self.style.clone(),
        }
    }
}

/// The model proposals are made from.
#[derive(Debug, Clone)]
pub enum Surrogate {
    /// GP regression on the latest rating of each render.
    Regression(GaussianProcess),
    /// The studio model from a viewpoint.
    Studio {
        /// The fitted model.
        model: Box<StudioModel>,
        /// Whose quality, in which room.
        viewpoint: Viewpoint,
    },
}

impl Surrogate {
    /// Posterior mean and sd of quality at encoded settings `x`, in stars.
    pub fn predict(&self, x: &[f64]) -> Prediction {
        match self {
            Surrogate::Regression(gp) => gp.predict(x),
            Surrogate::Studio { model, viewpoint } => {
                model.predict(&viewpoint.point(x), viewpoint.designer)
            }
        }
    }

    /// Posterior mean only.
    pub fn predict_mean(&self, x: &[f64]) -> f64 {
        match self {
            Surrogate::Regression(gp) => gp.predict_mean(x),
            Surrogate::Studio { model, viewpoint } => {
                model.predict_mean(&viewpoint.point(x), viewpoint.designer)
            }
        }
    }

    /// Joint posterior at several encoded settings: means and covariance.
    pub fn predict_joint(&self, points: &[Vec<f64>]) -> (Vec<f64>, nalgebra::DMatrix<f64>) {
        match self {
            Surrogate::Regression(gp) => gp.predict_joint(points),
            Surrogate::Studio { model, viewpoint } => {
                let full: Vec<Point> = points.iter().map(|x| viewpoint.point(x)).collect();
                model.predict_joint(&full, viewpoint.designer)
            }
        }
    }

    /// The same model believing its own predictions at `points` (pending
    /// proposals), so the next proposal goes elsewhere.
    ///
    /// # Errors
    /// [`GpError`] if the extended covariance cannot be factorised.
    pub fn with_believed(&self, points: &[Vec<f64>]) -> Result<Self, GpError> {
        match self {
            Surrogate::Regression(gp) => Ok(Surrogate::Regression(gp.with_believed(points)?)),
            Surrogate::Studio { model, viewpoint } => {
                let mut next = (**model).clone();
                for x in points {
                    next = next.with_believed(&viewpoint.point(x), viewpoint.designer)?;
                }
                Ok(Surrogate::Studio {
                    model: Box::new(next),
                    viewpoint: viewpoint.clone(),
                })
            }
        }
    }

    /// The predicted rating at which the model "knows good settings": the
    /// exploiting variant waits for it, exploration leaves settings above
    /// it alone, space filling stops there. [`EXPLOIT_MIN_MEAN`] for the
    /// regression; a quarter star lower for the studio model, whose ordinal
    /// likelihood reads a 5 as "4.5 or more" rather than as exactly 5, so
    /// its posterior at a setting rated 4–5 twice sits about that much lower.
    /// At 4.0 it exploited found narrow peaks too late (last ten renders on
    /// the simulated "narrow" designer 2.8 against the regression's 3.2); at
    /// 3.5 too early (fewer sessions reached 4.5 on three designers).
    pub fn good_mean(&self) -> f64 {
        match self {
            Surrogate::Regression(_) => EXPLOIT_MIN_MEAN,
            Surrogate::Studio { .. } => EXPLOIT_MIN_MEAN - 0.25,
        }
    }

    /// The largest predicted sd at which the exploiting variant trusts a
    /// prediction: [`EXPLOIT_MAX_SD`] for the regression; half a star for
    /// the studio model, whose posterior at a setting rated 5 stays wider
    /// (a 5 is censored at 4.5), so that at 0.35 its exploiting variant
    /// never fired on the simulated designers and "exploit-explore" was
    /// the same as EI alone.
    pub fn exploit_max_sd(&self) -> f64 {
        match self {
            Surrogate::Regression(_) => EXPLOIT_MAX_SD,
            Surrogate::Studio { .. } => 0.5,
        }
    }

    /// How many observations (judgements and believed points) it is
    /// conditioned on.
    pub fn len(&self) -> usize {
        match self {
            Surrogate::Regression(gp) => gp.len(),
            Surrogate::Studio { model, .. } => model.len(),
        }
    }

    /// Whether it is conditioned on nothing (never, once fitted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The studio model, if that is what answers.
    pub fn studio(&self) -> Option<&StudioModel> {
        match self {
            Surrogate::Studio { model, .. } => Some(model),
            Surrogate::Regression(_) => None,
        }
    }
}
