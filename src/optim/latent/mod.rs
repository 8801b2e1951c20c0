//! The latent-quality model: what every designer's stars and preferences
//! say about one quality per render, in the room it was made for.
//!
//! - [`likelihood`]: the probit of one judgement (stars, a preference, a tie)
//!   and its derivatives;
//! - [`laplace`]: the Gaussian approximation at the posterior mode, for any
//!   prior covariance and any such judgements;
//! - [`kernel`]: the covariance across settings, photo features, room and
//!   style tags and designers;
//! - [`studio`]: the model itself — designer offsets and scales, the
//!   hierarchy that shrinks them, predictions on a designer's scale.
//!
//! Pure and synchronous, like the rest of `optim`.

pub mod kernel;
pub mod laplace;
pub mod likelihood;
pub mod studio;

pub use kernel::{Point, StudioKernel, normalise_tag};
pub use studio::{DesignerScale, StudioData, StudioModel, StudioPrior};
