//! One line of `latina doctor`: what every client that can check its
//! endpoint (the providers, the LLM, the embeddings endpoint) reports, so
//! none of them depends on another for it.

/// One line of `latina doctor` about an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// What was checked, e.g. `GET /me`.
    pub what: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found (never a secret).
    pub detail: String,
}
