//! The optimizer: pure numerics, no I/O.
//!
//! [`bayes::Optimizer`] is the ask/tell interface every command uses: it is
//! rebuilt from the database's rated experiments on each run, told the
//! observations, and asked for the next points given the pending ones.

pub mod acquisition;
pub mod bandit;
pub mod bayes;
pub mod design;
pub mod gp;
pub mod guard;
pub mod kernel;
pub mod latent;
pub mod lbfgs;
pub mod model;
pub mod outlook;
pub mod pareto;
mod policy;
mod proposal;
pub mod reward;
pub mod settings;
pub mod space;
pub mod stats;
mod studio_fit;
pub mod surrogate;

pub use bayes::{Optimizer, Suggestion};
pub use gp::{GaussianProcess, GpError, Hyperparameters};
pub use model::{FittedHyperparameters, Model};
pub use outlook::{ArmBest, Outlook};
pub use policy::SecondLook;
pub use settings::{BatchPolicy, ModelKind, OptimizerSettings, Strategy};
pub use space::{Bounds, SearchSpace};
pub use studio_fit::ModelQuery;
pub use surrogate::{Surrogate, Viewpoint};
