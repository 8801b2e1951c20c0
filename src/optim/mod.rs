//! The optimizer: pure numerics, no I/O.
//!
//! [`bayes::Optimizer`] is the ask/tell interface every command uses: it is
//! rebuilt from the database's rated experiments on each run, told the
//! observations, and asked for the next points given the pending ones. For
//! now it proposes a space-filling initial design and then uniform random
//! points; the Gaussian-process model plugs in behind the same interface.

pub mod bayes;
pub mod design;
pub mod space;

pub use bayes::{Optimizer, OptimizerSettings, Suggestion};
pub use space::{Bounds, SearchSpace};
