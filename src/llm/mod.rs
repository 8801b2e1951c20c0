//! Clients of OpenAI-compatible servers (OpenAI, Ollama, llama.cpp
//! `llama-server`, vLLM): chat completions for the LLM evolver,
//! embeddings for grouping comments, and `/models` for `latina doctor`.
//! See `api/PROVIDERS.md` §3 for the wire format.
//!
//! Transport (retries, the overall deadline, bounded bodies, redaction)
//! is the shared HTTP layer's ([`crate::http`]); this module knows the
//! endpoints and OpenAI's error documents. What to ask the model and how
//! to read its answer is the evolver's ([`crate::evolve::llm`]).

mod api_error;
mod chat;
mod embeddings;
mod endpoint;
mod models;

pub use chat::ChatClient;
pub use embeddings::{EMBEDDING_BATCH, EmbeddingsClient, EmbeddingsSettings};
pub use endpoint::Endpoint;
pub use models::check_endpoint;

use crate::http::one_line;

/// How much of a server's or model's own text an error message quotes.
pub const QUOTE_CHARS: usize = 120;

/// `text`, quoted, on one line, cut to [`QUOTE_CHARS`].
pub fn quote(text: &str) -> String {
    format!("{:?}", one_line(text, QUOTE_CHARS))
}

/// Why `model` cannot be a model name, if it cannot.
///
/// # Errors
/// The reason, for an empty name or one with control characters.
pub fn check_model(model: &str) -> std::result::Result<(), String> {
    if model.trim().is_empty() {
        return Err("the model name is empty".into());
    }
    if model.chars().any(char::is_control) {
        return Err("the model name contains a control character".into());
    }
    Ok(())
}
