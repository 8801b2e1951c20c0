//! The LLM evolver: asks an OpenAI-compatible model (through
//! [`crate::llm::ChatClient`]) for the next prompt version as a JSON
//! object.
//!
//! Nothing the model says is trusted: the answer is parsed defensively
//! ([`answer`]: plain JSON, JSON in a code fence, or the first JSON object
//! in prose), mapped field by field, and checked with
//! [`Proposal::validate`]. A bad answer (not JSON, missing keys, a version
//! that is not above the parent's or is not a plain `1.2.3`, an empty or
//! oversized prompt, control characters, a refusal, a truncated answer) is
//! asked for again, up to [`LlmSettings::max_attempts`] requests in all;
//! then the evolution fails with one line naming the last reason.
//!
//! The whole evolution, every request, retry and backoff included, ends by
//! one deadline: the configured `timeout_secs` from its start.
//!
//! What is asked ([`message`]) and how the answer is read ([`answer`]) live
//! beside this file; the transport is [`crate::llm`]'s.

mod answer;
mod message;

pub use answer::extract_json_object;
pub use message::{SYSTEM_PROMPT, response_format_value, user_message};

use serde_json::{Value, json};
use std::sync::Arc;
use tokio::time::Instant;

use super::{BoxFuture, EvolutionInput, EvolveError, Evolver, Proposal};
use crate::error::{Error, Result};
use crate::http::{HttpPolicy, Secret, one_line, redact};
use crate::llm::{ChatClient, check_model};

/// Requests made for one evolution when none is configured.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Most requests ever made for one evolution, whatever the settings say.
pub const MAX_ATTEMPTS_LIMIT: u32 = 10;
pub use message::{MAX_COMMENT_CHARS, MAX_COMMENTS, MAX_ISSUES, MAX_USER_MESSAGE_CHARS};

/// How the answer's JSON is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseFormat {
    /// `{"type":"json_object"}`: JSON mode, valid JSON without a schema.
    /// Supported by OpenAI, Ollama, llama.cpp and vLLM.
    #[default]
    JsonObject,
    /// `{"type":"json_schema", …, "strict": true}`: Structured Outputs,
    /// the five keys enforced by the server (OpenAI; Ollama ≥ 0.5,
    /// llama.cpp and vLLM turn it into a grammar).
    JsonSchema,
}

/// How to reach the model and what to ask of it.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// API root including the version, e.g. `https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` (Ollama); `/chat/completions` is
    /// appended.
    pub base_url: String,
    /// Model name, e.g. `gpt-4o-mini` or `qwen2.5:7b`.
    pub model: String,
    /// Sent as `Authorization: Bearer`; `None` for local servers without
    /// a key.
    pub api_key: Option<Secret>,
    /// Sampling temperature, 0–2; `None` leaves it out (reasoning models
    /// accept only their default).
    pub temperature: Option<f64>,
    /// Answer length limit in tokens, sent as `max_tokens` (the field every
    /// compatible server reads; OpenAI's newer `max_completion_tokens` is
    /// not understood by all of them). At least 1.
    pub max_tokens: u32,
    /// Requests per evolution, 1 to [`MAX_ATTEMPTS_LIMIT`]; a bad answer is
    /// asked for again until this many were made. Transport retries
    /// (429/5xx) do not count.
    pub max_attempts: u32,
    /// How JSON is requested.
    pub response_format: ResponseFormat,
}

impl LlmSettings {
    /// Settings for `model` at `base_url` with the defaults: no key,
    /// temperature 0.4, 2000 tokens, [`DEFAULT_MAX_ATTEMPTS`], JSON mode.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        LlmSettings {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            temperature: Some(0.4),
            max_tokens: 2000,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            response_format: ResponseFormat::JsonObject,
        }
    }
}

/// The OpenAI-compatible LLM evolver.
pub struct LlmEvolver {
    settings: LlmSettings,
    chat: ChatClient,
}

impl std::fmt::Debug for LlmEvolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmEvolver")
            .field("model", &self.settings.model)
            .field("url", &self.chat.shown_url())
            .finish_non_exhaustive()
    }
}

impl LlmEvolver {
    /// Checks the settings and builds the client.
    ///
    /// # Errors
    /// [`Error::Provider`] (named `llm:<model>`) for a base URL that is not
    /// `http(s)://…` or has a query, an empty model name, a temperature outside 0–2,
    /// `max_tokens` 0, `max_attempts` outside 1–[`MAX_ATTEMPTS_LIMIT`], or
    /// an HTTP client that cannot start.
    pub fn new(settings: LlmSettings, policy: HttpPolicy) -> Result<Self> {
        let name = format!("llm:{}", one_line(&settings.model, 80));
        let invalid = |message: String| Error::Provider {
            provider: name.clone(),
            message,
        };
        check_model(&settings.model).map_err(&invalid)?;
        if let Some(t) = settings.temperature
            && !(t.is_finite() && (0.0..=2.0).contains(&t))
        {
            return Err(invalid(format!("temperature must be from 0 to 2, got {t}")));
        }
        if settings.max_tokens == 0 {
            return Err(invalid("max_tokens must be at least 1".into()));
        }
        if !(1..=MAX_ATTEMPTS_LIMIT).contains(&settings.max_attempts) {
            return Err(invalid(format!(
                "max_attempts must be from 1 to {MAX_ATTEMPTS_LIMIT}, got {}",
                settings.max_attempts
            )));
        }
        let chat = ChatClient::new(&name, &settings.base_url, settings.api_key.clone(), policy)?;
        Ok(LlmEvolver { settings, chat })
    }

    /// The JSON body of one chat-completions request.
    fn request_body(&self, user_message: &str) -> Value {
        let mut body = json!({
            "model": self.settings.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user_message},
            ],
            "max_tokens": self.settings.max_tokens,
            "response_format": response_format_value(self.settings.response_format),
        });
        if let Some(t) = self.settings.temperature {
            body["temperature"] = json!(t);
        }
        body
    }

    async fn evolve(&self, input: EvolutionInput) -> std::result::Result<Proposal, EvolveError> {
        let message = user_message(&input);
        // One deadline for the whole evolution: re-asks, retries and
        // backoff waits all end by it.
        let deadline = Instant::now() + self.chat.timeout();
        let attempts = self.settings.max_attempts;
        let mut last_reason = String::new();
        for attempt in 1..=attempts {
            let text = if attempt == 1 {
                message.clone()
            } else {
                format!(
                    "{message}\n\nYour previous answer was rejected: {last_reason}. \
                     Reply again with only the json object."
                )
            };
            let body = self
                .chat
                .complete(&self.request_body(&text), deadline)
                .await
                .map_err(EvolveError::Llm)?;
            match answer::read_answer(&body, self.settings.max_tokens)
                .and_then(|object| answer::proposal_from(object, &input))
            {
                Ok(proposal) => return Ok(proposal),
                Err(reason) => {
                    tracing::info!(model = %self.settings.model, attempt, reason = %reason, "LLM answer rejected");
                    last_reason = reason;
                }
            }
        }
        Err(EvolveError::Llm(redact::scrub(&one_line(
            &format!(
                "no valid proposal from {} after {attempts} attempt{}: {last_reason}",
                one_line(&self.settings.model, 80),
                if attempts == 1 { "" } else { "s" },
            ),
            600,
        ))))
    }
}

impl Evolver for LlmEvolver {
    fn name(&self) -> String {
        format!("llm:{}", self.settings.model)
    }

    fn propose(
        self: Arc<Self>,
        input: EvolutionInput,
    ) -> BoxFuture<std::result::Result<Proposal, EvolveError>> {
        Box::pin(async move { self.evolve(input).await })
    }
}

/// One evolution's input for the unit tests of the message and the answer.
#[cfg(test)]
fn test_input() -> crate::evolve::EvolutionInput {
    use crate::evolve::{EvolutionInput, IssueCount, ParentPrompt, RatedComment};
    EvolutionInput {
        parent: ParentPrompt {
            version: "1.0.0".parse().unwrap(),
            prompt: "a room".into(),
            negative_prompt: "cartoon".into(),
        },
        issues: vec![IssueCount {
            issue: "flat_look".into(),
            count: 4,
            mean_stars: 2.25,
        }],
        comments: vec![RatedComment {
            stars: 2,
            comment: "muy plano,\nsin profundidad".into(),
        }],
        recent_mean: 2.9,
        taken_versions: Vec::new(),
        existing_prompts: Vec::new(),
    }
}
