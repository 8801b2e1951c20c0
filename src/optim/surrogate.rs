//! What proposals are made from: a prediction of quality at encoded
//! settings (provider one-hot, unit-scaled parameters), either from the GP
//! regression on stars (the first model, kept for comparison) or from the
//! studio model, seen from one designer in one room.
//!
//! The proposal code asks only `predict`, `predict_mean` and
//! `with_believed`, so it does not know which model answers.

use super::gp::{GaussianProcess, GpError, Prediction};
use super::latent::{Point, StudioModel};

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
