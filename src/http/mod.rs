//! The one outbound HTTP layer, below the image providers and the LLM
//! clients: client construction, the retry and deadline policy, bounded
//! body reading, and the redaction of secrets from every error.
//!
//! What it owns:
//! * [`HttpClient`]: the only place a `reqwest::Client` is built, and the
//!   one retry loop ([`HttpClient::send`]).
//! * [`policy`]: which answers are retried for which [`RequestKind`]
//!   (a request that only reads vs one that starts paid or queued work),
//!   backoff with jitter, `Retry-After`.
//! * The overall deadline: every call ends by its deadline, retries,
//!   backoff sleeps and `Retry-After` waits included.
//! * [`redact`]: every configured secret value is replaced by `***` in
//!   every error this layer builds (and in the final guards that store or
//!   print errors).
//! * [`PollSchedule`]: waits between polls of an async job.
//!
//! What it leaves to others: the vendors' wire formats (`provider/*`,
//! `llm/`), and what a failure means for a variant (`ops`).

mod client;
mod excerpt;
pub mod policy;
mod poll;
pub mod redact;

pub use client::{HttpClient, StatusVerdict, same_origin};
pub use excerpt::{excerpt, one_line};
pub use policy::{HttpPolicy, RequestKind};
pub use poll::{PollSchedule, WaitEnd};
pub use redact::Secret;

/// Re-exported so that the clients name methods and status codes without
/// depending on `reqwest` themselves for them.
pub use reqwest::{Method, RequestBuilder, Response, StatusCode};
