//! One workflow per subcommand, as library functions.
//!
//! Ops take a [`Workspace`] (resolved config and paths) and an open store,
//! do the work, and return plain report structs that the CLI prints as text
//! or JSON. They never print, prompt or exit; progress is reported through
//! callbacks.

pub mod budget;
pub mod context;
pub mod doctor;
pub mod embedding;
pub mod enhance;
pub mod evolve;
pub mod history;
pub mod migrate;
pub mod pixel_designer;
pub mod prefer;
pub mod prompts;
pub mod rate;
pub mod render_features;
pub mod report;
pub mod reward;
pub mod runtime;
mod shortlist;
pub mod simulate;
pub mod simulate_evolution;
pub mod simulate_knobs;
pub mod simulate_reward;
pub mod simulate_studio;
pub mod status;
pub mod suggest;
pub mod thumbnail;
pub mod transfer;
mod workspace;

pub use workspace::{Paths, Workspace};
