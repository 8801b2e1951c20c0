//! One OpenAI-compatible endpoint (`/chat/completions`, `/embeddings`,
//! `/models`): its URL as called and as shown, the optional key (sent only
//! as `Authorization: Bearer`), and calls through the shared HTTP layer with
//! the OpenAI error reading (a 429 `insufficient_quota` is not retried).

use serde_json::Value;
use tokio::time::Instant;

use super::api_error::{ApiError, describe};
use super::quote;
use crate::error::{Error, Result};
use crate::http::{
    HttpClient, HttpPolicy, Method, RequestKind, Secret, StatusCode, StatusVerdict, redact,
};

/// One OpenAI-compatible endpoint: URL, optional key, HTTP client.
pub struct Endpoint {
    url: String,
    /// The URL without credentials or query, for messages.
    shown_url: String,
    key: Option<Secret>,
    http: HttpClient,
}

impl Endpoint {
    /// Checks `base_url` and builds the client for `{base_url}{path}`.
    ///
    /// # Errors
    /// [`Error::Provider`] (under `name`) for a base URL that is not
    /// `http(s)://…` or has a query or fragment, or an HTTP client that
    /// cannot start.
    pub fn new(
        name: &str,
        base_url: &str,
        path: &str,
        key: Option<Secret>,
        policy: HttpPolicy,
    ) -> Result<Self> {
        let invalid = |message: String| Error::Provider {
            provider: name.to_string(),
            message,
        };
        let base = base_url.trim().trim_end_matches('/');
        let mut parsed = reqwest::Url::parse(base).map_err(|_| {
            invalid(format!(
                "base_url {} is not a URL like https://api.openai.com/v1",
                quote(base)
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(invalid(format!(
                "base_url {} must start with http:// or https://",
                quote(base)
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            // Not quoted: a query may hold a key.
            return Err(invalid(
                "base_url must not have a query or fragment (the endpoint path is appended to it)"
                    .into(),
            ));
        }
        let url = format!("{base}{path}");
        // Credentials in the base URL never reach a message.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let shown_url = format!("{}{path}", parsed.as_str().trim_end_matches('/'));
        let key = key.filter(|k| !k.expose().trim().is_empty());
        if key.is_some() && parsed.scheme() == "http" && !is_local(&parsed) {
            tracing::warn!(url = %shown_url, "the API key is sent over plain http");
        }
        Ok(Endpoint {
            url,
            shown_url,
            key,
            http: HttpClient::new(name, policy)?,
        })
    }

    /// The URL shown in messages (no credentials, no query).
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// Whether a key is sent.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The overall deadline of one call when none is given: the policy's
    /// `request_timeout` (the configured `timeout_secs`).
    pub fn timeout(&self) -> std::time::Duration {
        self.http.policy().request_timeout
    }

    /// POSTs `body` and returns the bounded 2xx body, retrying 429 (except
    /// `insufficient_quota`), 500, 502, 503, 504 and broken connections
    /// until `deadline`. The error is one redacted line naming the call.
    ///
    /// # Errors
    /// The failure in words (see [`HttpClient::send_reading`]).
    pub async fn post(
        &self,
        body: &Value,
        deadline: Instant,
    ) -> std::result::Result<Vec<u8>, String> {
        self.call(Method::POST, Some(body), deadline).await
    }

    /// [`Endpoint::post`] for any method, with an optional JSON body.
    ///
    /// # Errors
    /// As [`Endpoint::post`].
    pub async fn call(
        &self,
        method: Method,
        body: Option<&Value>,
        deadline: Instant,
    ) -> std::result::Result<Vec<u8>, String> {
        let what = format!("{method} {}", self.shown_url);
        let http = self.http.until(deadline);
        let has_key = self.key.is_some();
        let read_status = |status: StatusCode, body: &[u8]| {
            let error = ApiError::parse(body);
            StatusVerdict {
                message: describe(status, &error, has_key),
                // An empty account does not refill by waiting.
                permanent: status == StatusCode::TOO_MANY_REQUESTS && error.is_quota(),
            }
        };
        let sent = http
            .send_reading(
                &what,
                RequestKind::Idempotent,
                || {
                    let mut request = http.request(method.clone(), &self.url);
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    if let Some(key) = &self.key {
                        request = request.bearer_auth(key.expose());
                    }
                    request
                },
                &read_status,
            )
            .await;
        match sent {
            Ok(response) => http.read_limited(&what, response).await,
            Err(e) => Err(e),
        }
        .map_err(error_detail)
    }
}

/// The message of an error without the client's name (callers add their own).
fn error_detail(e: Error) -> String {
    match e {
        Error::Provider { message, .. } => message,
        other => redact::scrub(&other.to_string()),
    }
}

/// Loopback, `localhost` or a private IPv4 address (a LAN server).
fn is_local(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}
