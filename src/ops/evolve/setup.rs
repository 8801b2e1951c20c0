//! What an evolution is made with, from the config: the evolver (rules,
//! or the LLM with its key from the environment) and how comments are
//! grouped into issues (an embeddings endpoint, else offline TF-IDF).

use std::sync::Arc;

use super::Workspace;
use crate::config::{EvolverKind, LlmResponseFormat};
use crate::error::{Error, Result};
use crate::evolve::cluster::{self, Category, CharNgramTfIdf, ClusterOptions, Precomputed};
use crate::evolve::llm::{LlmEvolver, LlmSettings, ResponseFormat};
use crate::evolve::rules::RuleEvolver;
use crate::evolve::{Evolver, RatedComment};
use crate::llm::{EmbeddingsClient, EmbeddingsSettings};

/// The configured evolver. `env` looks up the LLM key's variable.
///
/// # Errors
/// [`Error::Provider`] when the LLM's key variable is named but unset, or
/// its settings are invalid.
pub fn build_evolver(
    ws: &Workspace,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Evolver>> {
    let c = &ws.config.evolution;
    Ok(match c.evolver {
        EvolverKind::Rules => Arc::new(RuleEvolver::default()),
        EvolverKind::Llm => {
            let llm = &c.llm;
            let mut settings = LlmSettings::new(llm.base_url.clone(), llm.model.clone());
            settings.api_key = if llm.api_key_env.is_empty() {
                None
            } else {
                Some(crate::provider::read_secret(
                    &format!("llm:{}", llm.model),
                    &llm.api_key_env,
                    env,
                )?)
            };
            settings.temperature = Some(llm.temperature);
            settings.max_tokens = llm.max_tokens;
            settings.max_attempts = llm.max_attempts;
            settings.response_format = match llm.response_format {
                LlmResponseFormat::JsonObject => ResponseFormat::JsonObject,
                LlmResponseFormat::JsonSchema => ResponseFormat::JsonSchema,
            };
            let policy = crate::http::HttpPolicy {
                request_timeout: std::time::Duration::from_secs(llm.timeout_secs),
                ..crate::http::HttpPolicy::default()
            };
            Arc::new(LlmEvolver::new(settings, policy)?)
        }
    })
}

/// How the recent comments are grouped beyond the lexicon.
#[derive(Debug)]
pub enum Grouping {
    /// Character n-gram TF-IDF, offline.
    Offline,
    /// The configured `/embeddings` endpoint, merging groups at `threshold`.
    Endpoint {
        /// The client (boxed: it is large beside the other variants).
        client: Box<EmbeddingsClient>,
        /// Cosine similarity at which groups merge.
        threshold: f64,
    },
    /// Configured but not usable (e.g. its key variable is unset): offline,
    /// with a warning saying why.
    Unavailable(String),
}

/// The grouping `[evolution.embeddings]` asks for. `env` looks up the
/// key's variable; the key is only ever sent as `Authorization: Bearer`.
pub fn grouping(ws: &Workspace, env: &dyn Fn(&str) -> Option<String>) -> Grouping {
    let Some(e) = &ws.config.evolution.embeddings else {
        return Grouping::Offline;
    };
    let build = || -> Result<EmbeddingsClient> {
        let api_key = if e.api_key_env.is_empty() {
            None
        } else {
            Some(crate::provider::read_secret(
                &format!("embeddings:{}", e.model),
                &e.api_key_env,
                env,
            )?)
        };
        let settings = EmbeddingsSettings {
            base_url: e.base_url.clone(),
            model: e.model.clone(),
            api_key,
            dimensions: (e.dimensions > 0).then_some(e.dimensions),
        };
        let policy = crate::http::HttpPolicy {
            request_timeout: std::time::Duration::from_secs(e.timeout_secs),
            ..crate::http::HttpPolicy::default()
        };
        EmbeddingsClient::new(settings, policy)
    };
    match build() {
        Ok(client) => Grouping::Endpoint {
            client: Box::new(client),
            threshold: e.threshold,
        },
        Err(err) => Grouping::Unavailable(err.to_string()),
    }
}

/// Groups the comments beyond the lexicon: through the endpoint when one is
/// configured and answers, else offline with a one-line warning.
pub(super) async fn categories(comments: &[RatedComment], grouping: &Grouping) -> Vec<Category> {
    let offline = categories_offline;
    let (client, threshold) = match grouping {
        Grouping::Offline => return offline(comments),
        Grouping::Unavailable(reason) => {
            tracing::warn!("comments grouped offline: {reason}");
            return offline(comments);
        }
        Grouping::Endpoint { client, threshold } => (client, *threshold),
    };
    let texts = cluster::texts_to_embed(comments);
    if texts.is_empty() {
        return Vec::new();
    }
    let served = client.embed(&texts).await.and_then(|vectors| {
        let embedder = Precomputed {
            name: client.name(),
            texts,
            vectors,
        };
        let options = ClusterOptions {
            threshold,
            ..ClusterOptions::default()
        };
        cluster::categorise(comments, &embedder, &options)
            .map_err(|e| Error::Evolution(e.to_string()))
    });
    served.unwrap_or_else(|e| {
        tracing::warn!("comments grouped offline: {e}");
        offline(comments)
    })
}

/// Groups the comments with character n-gram TF-IDF.
pub(super) fn categories_offline(comments: &[RatedComment]) -> Vec<Category> {
    cluster::categorise(
        comments,
        &CharNgramTfIdf::default(),
        &ClusterOptions::default(),
    )
    .unwrap_or_else(|e| {
        tracing::warn!("comments could not be grouped: {e}");
        Vec::new()
    })
}
