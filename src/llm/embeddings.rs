//! The embeddings client: `POST {base}/embeddings`, to group similar
//! comments. Each request ends by its own `timeout_secs` deadline.

use serde_json::json;
use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::{check_model, one_line};
use crate::error::{Error, Result};
use crate::http::{HttpPolicy, Secret, redact};

/// Inputs sent per embeddings request.
pub const EMBEDDING_BATCH: usize = 256;

/// Settings of an OpenAI-compatible `POST /embeddings` endpoint.
#[derive(Debug, Clone)]
pub struct EmbeddingsSettings {
    /// API root including the version, as [`LlmSettings::base_url`].
    pub base_url: String,
    /// e.g. `text-embedding-3-small` or `nomic-embed-text`.
    pub model: String,
    /// Sent as `Authorization: Bearer` when set.
    pub api_key: Option<Secret>,
    /// Vector length to ask for (`text-embedding-3*` only); also checked on
    /// the answer. `None` takes the model's own.
    pub dimensions: Option<u32>,
}

/// A client for `POST {base}/embeddings`, to group similar comments.
pub struct EmbeddingsClient {
    settings: EmbeddingsSettings,
    api: Endpoint,
}

impl std::fmt::Debug for EmbeddingsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingsClient")
            .field("model", &self.settings.model)
            .field("url", &self.api.shown_url())
            .finish_non_exhaustive()
    }
}

impl EmbeddingsClient {
    /// Checks the settings and builds the client.
    ///
    /// # Errors
    /// [`Error::Provider`] (named `embeddings:<model>`) for a bad base URL,
    /// an empty model name, `dimensions` 0, or an HTTP client that cannot
    /// start.
    pub fn new(settings: EmbeddingsSettings, policy: HttpPolicy) -> Result<Self> {
        let name = format!("embeddings:{}", one_line(&settings.model, 80));
        let invalid = |message: String| Error::Provider {
            provider: name.clone(),
            message,
        };
        check_model(&settings.model).map_err(&invalid)?;
        if settings.dimensions == Some(0) {
            return Err(invalid("dimensions must be at least 1".into()));
        }
        let api = Endpoint::new(
            &name,
            &settings.base_url,
            "/embeddings",
            settings.api_key.clone(),
            policy,
        )?;
        Ok(EmbeddingsClient { settings, api })
    }

    /// `embeddings:<model>`, as errors name it.
    pub fn name(&self) -> String {
        format!("embeddings:{}", one_line(&self.settings.model, 80))
    }

    /// One vector per text, in the texts' order, all of the same length
    /// and finite. Sends [`EMBEDDING_BATCH`] texts per request; no request
    /// for no texts.
    ///
    /// # Errors
    /// [`Error::Provider`] for an empty (or blank) text, a transport
    /// failure, or an answer whose count, indices, lengths or values are
    /// wrong.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(self.fail(format!("text {i} is empty (the API refuses empty inputs)")));
        }
        let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBEDDING_BATCH) {
            let mut body = json!({"model": self.settings.model, "input": batch});
            if let Some(d) = self.settings.dimensions {
                body["dimensions"] = json!(d);
            }
            let answer = self
                .api
                .post(&body, Instant::now() + self.api.timeout())
                .await
                .map_err(|reason| self.fail(reason))?;
            let batch_vectors =
                read_embeddings(&answer, batch.len()).map_err(|reason| self.fail(reason))?;
            vectors.extend(batch_vectors);
        }
        let expected = self
            .settings
            .dimensions
            .map(|d| d as usize)
            .or_else(|| vectors.first().map(Vec::len));
        if let Some(length) = expected
            && let Some(bad) = vectors.iter().position(|v| v.len() != length)
        {
            return Err(self.fail(format!(
                "vector {bad} has {} dimensions, expected {length}",
                vectors[bad].len()
            )));
        }
        Ok(vectors)
    }

    fn fail(&self, message: String) -> Error {
        Error::Provider {
            provider: format!("embeddings:{}", one_line(&self.settings.model, 80)),
            message: redact::scrub(&message),
        }
    }
}

/// The vectors of one embeddings answer, ordered by `index`.
fn read_embeddings(body: &[u8], expected: usize) -> std::result::Result<Vec<Vec<f32>>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        data: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        index: usize,
        embedding: Vec<f32>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        format!(
            "unexpected embeddings answer ({})",
            one_line(&e.to_string(), 80)
        )
    })?;
    if answer.data.len() != expected {
        return Err(format!(
            "{} vectors for {expected} inputs",
            answer.data.len()
        ));
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for item in answer.data {
        let slot = slots
            .get_mut(item.index)
            .ok_or_else(|| format!("index {} is out of range for {expected} inputs", item.index))?;
        if slot.is_some() {
            return Err(format!("index {} appears twice", item.index));
        }
        if item.embedding.is_empty() {
            return Err(format!("vector {} is empty", item.index));
        }
        if item.embedding.iter().any(|x| !x.is_finite()) {
            return Err(format!(
                "vector {} has a value that is not finite",
                item.index
            ));
        }
        *slot = Some(item.embedding);
    }
    // Every slot is filled: as many distinct in-range indices as inputs.
    Ok(slots.into_iter().flatten().collect())
}
