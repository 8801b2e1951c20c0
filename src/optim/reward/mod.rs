//! The reward model: a designer's stars predicted, with uncertainty, from
//! what a render looks like (its measured features), the parameters that
//! made it and its room — so many variants can be rendered and only the
//! best few shown ([`shortlist`]).
//!
//! Bayesian linear regression ([`blr`]) on standardised inputs with
//! centred squares ([`basis`]), hierarchical over designers: each designer's
//! weights are the studio's plus a deviation whose prior is `ρ` times
//! tighter, so a designer with few ratings gets the studio's prediction
//! and one with many gets their own. `α`, `β` (prior and noise precision)
//! maximise the evidence; `ρ` is the best of a few by evidence. Stars are
//! treated as Gaussian (the noise absorbs the rounding to whole stars).
//! A preference between two renders is a Gaussian observation of their
//! difference (Thurstone's model linearised): "A better" says
//! `f(A) − f(B) ≈ m` stars (the settings' margin), "same" says `≈ 0`, each
//! with the noise of two ratings — so it enters the same sufficient
//! statistics as a rating, as the row `(φ(A) − φ(B))/√2`. Extra dims (an image embedding) are reduced by
//! a [`pca::Projection`] the caller fits on every stored render.
//!
//! Pure and synchronous, like the rest of [`crate::optim`].

pub mod basis;
pub mod blr;
mod model;
pub mod pca;
pub mod shortlist;

pub use model::RewardModel;
pub use pca::Projection;
pub use shortlist::{
    Candidate, GuardVerdict, Reason, Shortlist, ShortlistEntry, ShortlistRule, shortlist,
};

use crate::domain::PhotoFeatures;

/// What the model reads of one render.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardInput {
    /// The render's measured features (e.g. `RenderFeatures::as_array`).
    pub render: Vec<f64>,
    /// The parameters that made it, in the unit cube (a caller may append
    /// a one-hot of the provider arm).
    pub params: Vec<f64>,
    /// The room's measured context; `None` reads as the training average.
    pub context: Option<PhotoFeatures>,
    /// Optional extra dims, e.g. an image embedding (raw: the settings'
    /// projection reduces them); empty when there are none.
    pub extra: Vec<f64>,
}

/// One rating the model learns from.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardObservation {
    /// The render as the model reads it.
    pub input: RewardInput,
    /// Stars given, 1–5.
    pub stars: f64,
    /// Who rated; `None` counts for the studio only.
    pub designer: Option<String>,
}

/// One preference between two renders the model learns from.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardComparison {
    /// The render preferred (either one for a tie).
    pub better: RewardInput,
    /// The other render.
    pub worse: RewardInput,
    /// "Same": neither was better.
    pub tie: bool,
    /// Who chose; `None` counts for the studio only.
    pub designer: Option<String>,
}

/// How the model is built; checked at [`RewardModel::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct RewardSettings {
    /// Add centred squares of every standardised input (a preferred
    /// brightness or sharpness is a peak, not a slope).
    pub quadratic: bool,
    /// Candidate ratios of the designer deviation's prior precision to the
    /// studio's; the evidence picks one.
    pub deviation_ratios: Vec<f64>,
    /// Designers need this many ratings for a block of their own.
    pub min_designer_ratings: usize,
    /// Reduces [`RewardInput::extra`]; `None` uses it as it is.
    pub projection: Option<Projection>,
    /// Stars a preferred render is read as being better by ("A better"
    /// linearised: the difference is about this, give or take the noise of
    /// two ratings). Half a star: a preference is asked where stars would
    /// tie or differ by one.
    pub preference_margin: f64,
}

impl Default for RewardSettings {
    fn default() -> Self {
        RewardSettings {
            quadratic: true,
            deviation_ratios: vec![1.0, 4.0, 16.0, 64.0],
            min_designer_ratings: 1,
            projection: None,
            preference_margin: 0.5,
        }
    }
}

/// A predicted rating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Expected stars.
    pub mean: f64,
    /// Posterior sd of that expectation: what the model does not know yet
    /// (falls as ratings arrive).
    pub sd: f64,
    /// Sd of one rating around the expectation (the designer's noise).
    pub noise_sd: f64,
}

impl Prediction {
    /// Sd of the next rating itself: model uncertainty and noise.
    pub fn rating_sd(&self) -> f64 {
        self.sd.hypot(self.noise_sd)
    }
}

/// Why a reward model could not be built or asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RewardError {
    /// No ratings (or no rows to fit a projection on).
    #[error("the reward model needs at least two ratings")]
    Empty,
    /// Inputs of different lengths.
    #[error("reward model input: {what} has {got} values, expected {expected}")]
    Dimension {
        /// Which part of the input.
        what: &'static str,
        /// Length the model was fitted with.
        expected: usize,
        /// Length found.
        got: usize,
    },
    /// A NaN or infinite input or rating.
    #[error("reward model input: a value is not a finite number")]
    NotFinite,
    /// Settings that cannot work.
    #[error("reward model settings: {0}")]
    Settings(&'static str),
}
