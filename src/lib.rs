//! latina: photorealistic room renders from AI image providers, tuned by
//! designers' star ratings.
//!
//! Dependencies point one way: `cli → ops → store | storage | optim |
//! evolve | provider | imaging → domain`; `provider` and `llm` sit on [`http`].
//! `rusqlite` is used only in [`store`], `reqwest` only in [`http`] and the
//! clients above it, `dialoguer` and `indicatif` only in [`cli`]; [`optim`]
//! does no I/O.
//!
//! * [`config`]: `latina.toml`, defaults and environment overrides.
//! * [`domain`]: the shared vocabulary, written once: experiments,
//!   parameters, ratings, prompt versions and trial decisions, the phase
//!   and the evolution schedule, doctor checks.
//! * [`store`]: the SQLite database and its migrations.
//! * [`storage`]: image files: the data dir, or an S3 bucket with the data
//!   dir as its cache (`object_store`).
//! * [`optim`]: the search space and the ask/tell optimizer.
//! * [`evolve`]: issues from comments, the evolvers, champion/challenger.
//! * [`imaging`]: safe loading, the built-in enhancer, metrics, previews.
//! * [`http`]: the one outbound HTTP layer (retries, deadlines, redaction).
//! * [`provider`]: the `ImageProvider` interface and its implementations.
//! * [`llm`]: clients of OpenAI-compatible servers (chat, embeddings).
//! * [`ops`]: one workflow per subcommand.
//! * [`cli`]: argument parsing, terminal output and prompts.
//! * [`web`]: `latina serve`, the rating page and dashboard over the same
//!   ops (a sibling of `cli`: `web → ops`).

// Library code reports outside input as errors; tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod evolve;
pub mod http;
pub mod imaging;
pub mod llm;
pub mod ops;
pub mod optim;
pub mod prompts;
pub mod provider;
pub mod storage;
pub mod store;
pub mod web;

pub use error::{Error, Result};
