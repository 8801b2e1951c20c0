//! latina: photorealistic room renders from AI image providers, tuned by
//! designers' star ratings.
//!
//! Dependencies point one way: `cli → ops → store | optim | provider |
//! imaging → domain`. `rusqlite` is used only in [`store`], `dialoguer` and
//! `indicatif` only in [`cli`]; [`optim`] does no I/O.
//!
//! * [`config`]: `latina.toml`, defaults and environment overrides.
//! * [`domain`]: experiments, parameters, ratings.
//! * [`store`]: the SQLite database and its migrations.
//! * [`optim`]: the search space and the ask/tell optimizer.
//! * [`imaging`]: safe loading, the built-in enhancer, metrics, previews.
//! * [`provider`]: the `ImageProvider` interface and its implementations.
//! * [`ops`]: one workflow per subcommand.
//! * [`cli`]: argument parsing, terminal output and prompts.

// Library code reports outside input as errors; tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod evolve;
pub mod imaging;
pub mod ops;
pub mod optim;
pub mod prompts;
pub mod provider;
pub mod store;

pub use error::{Error, Result};
