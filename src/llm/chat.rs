//! The chat-completions client: one `POST {base}/chat/completions` per
//! call, the body built by the caller (the evolver knows what to ask).

use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

use super::endpoint::Endpoint;
use crate::error::Result;
use crate::http::{HttpPolicy, Secret};

/// A client for `POST {base}/chat/completions`.
pub struct ChatClient {
    endpoint: Endpoint,
}

impl ChatClient {
    /// Builds the client; `name` (e.g. `llm:gpt-4o-mini`) names it in
    /// errors; `policy.request_timeout` is the default overall deadline.
    ///
    /// # Errors
    /// As [`Endpoint::new`].
    pub fn new(
        name: &str,
        base_url: &str,
        key: Option<Secret>,
        policy: HttpPolicy,
    ) -> Result<Self> {
        Ok(ChatClient {
            endpoint: Endpoint::new(name, base_url, "/chat/completions", key, policy)?,
        })
    }

    /// The URL shown in messages.
    pub fn shown_url(&self) -> &str {
        self.endpoint.shown_url()
    }

    /// The configured `timeout_secs`: callers make it the overall deadline
    /// of their whole step.
    pub fn timeout(&self) -> Duration {
        self.endpoint.timeout()
    }

    /// Sends one request body; the bounded 2xx answer, by `deadline`.
    ///
    /// # Errors
    /// One redacted line naming the call and what failed.
    pub async fn complete(
        &self,
        body: &Value,
        deadline: Instant,
    ) -> std::result::Result<Vec<u8>, String> {
        self.endpoint.post(body, deadline).await
    }
}
