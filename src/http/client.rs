//! [`HttpClient`]: the one constructor of `reqwest` clients and the one
//! retry loop, bound to a name (a provider arm, `llm:<model>`) for errors.
//!
//! Every call has an overall deadline: the client's own
//! ([`HttpClient::until`]) or `request_timeout` from the call's start. Each
//! try gets at most the time left; a backoff sleep or a `Retry-After` wait
//! that would pass the deadline ends the call at once with a message that
//! says so. Error messages name the call and what happened, never request
//! headers or bodies (where keys live), and are redacted
//! ([`super::redact`]).

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::time::Duration;
use tokio::time::Instant;

use super::excerpt::excerpt;
use super::policy::{self, Fault, HttpPolicy, RequestKind};
use super::redact;
use crate::error::{Error, Result};

/// Most bytes of an error answer read to describe it.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// What a client makes of a failed (non-2xx) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusVerdict {
    /// The failure in words, e.g. `HTTP 401: key rejected`.
    pub message: String,
    /// True when waiting cannot help even if the status is usually
    /// retried (e.g. OpenAI's 429 `insufficient_quota`).
    pub permanent: bool,
}

impl StatusVerdict {
    /// The default reading: the status and a short, redacted excerpt of
    /// the body; never permanent beyond what the policy says.
    pub fn plain(status: StatusCode, body: &[u8]) -> Self {
        StatusVerdict {
            message: format!("HTTP {status}{}", excerpt(&String::from_utf8_lossy(body))),
            permanent: false,
        }
    }
}

/// An HTTP client bound to one name, policy and (optionally) deadline.
#[derive(Debug, Clone)]
pub struct HttpClient {
    name: String,
    policy: HttpPolicy,
    /// The bound deadline and how long it was when bound (for messages).
    deadline: Option<(Instant, Duration)>,
    client: reqwest::Client,
}

impl HttpClient {
    /// Builds the client: the only place a `reqwest::Client` is made.
    ///
    /// # Errors
    /// [`Error::Provider`] if the HTTP stack cannot be initialised.
    pub fn new(name: &str, policy: HttpPolicy) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .user_agent(concat!("latina/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Provider {
                provider: name.to_string(),
                message: format!("cannot start the HTTP client: {e}"),
            })?;
        Ok(HttpClient {
            name: name.to_string(),
            policy,
            deadline: None,
            client,
        })
    }

    /// The same client, every call of which ends by `deadline` (a render's
    /// or an evolution's overall deadline). Cheap: the connection pool is
    /// shared.
    pub fn until(&self, deadline: Instant) -> HttpClient {
        let length = deadline.saturating_duration_since(Instant::now());
        HttpClient {
            deadline: Some((deadline, length)),
            ..self.clone()
        }
    }

    /// A request builder on the shared client.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// The policy in force.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// The name errors are reported under.
    pub fn provider(&self) -> &str {
        &self.name
    }

    /// An error about the call `what`, under this client's name, redacted.
    pub fn error(&self, what: &str, message: impl std::fmt::Display) -> Error {
        Error::Provider {
            provider: self.name.clone(),
            message: redact::scrub(&format!("{what}: {message}")),
        }
    }

    /// The same client with at most one quick retry, for `latina doctor`'s
    /// checks: an unreachable host should be reported in seconds.
    pub fn for_checks(&self) -> HttpClient {
        HttpClient {
            policy: HttpPolicy {
                max_retries: 1,
                max_backoff: Duration::from_secs(2),
                ..self.policy.clone()
            },
            ..self.clone()
        }
    }

    /// [`HttpClient::send_reading`] with the plain reading of failed answers.
    ///
    /// # Errors
    /// As [`HttpClient::send_reading`].
    pub async fn send(
        &self,
        what: &str,
        kind: RequestKind,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response> {
        self.send_reading(what, kind, build, &StatusVerdict::plain)
            .await
    }

    /// Sends `build()` (called afresh for each try) and returns the first
    /// 2xx answer, retrying per [`policy`] for `kind` until the deadline.
    /// `what` names the call in errors, e.g. `POST /generations`;
    /// `read_status` words a failed answer (its body is read, bounded).
    ///
    /// # Errors
    /// [`Error::Provider`] with the last failure, how many tries were made,
    /// whether the deadline ended them, and, for a job-creating request
    /// whose fate is unknown, that a job may exist.
    pub async fn send_reading(
        &self,
        what: &str,
        kind: RequestKind,
        build: impl Fn() -> RequestBuilder,
        read_status: &(dyn Fn(StatusCode, &[u8]) -> StatusVerdict + Sync),
    ) -> Result<Response> {
        self.send_hinted(what, kind, build, read_status, &|_, _| None)
            .await
    }

    /// [`HttpClient::send_reading`] for an API that may say how long to wait
    /// in the body of a failed answer (BFL's `retry_after`): `body_hint`
    /// reads it, and is asked only when there is no `Retry-After` header.
    /// A hint counts as the API's own "come back later", like the header.
    ///
    /// # Errors
    /// As [`HttpClient::send_reading`].
    pub async fn send_hinted(
        &self,
        what: &str,
        kind: RequestKind,
        build: impl Fn() -> RequestBuilder,
        read_status: &(dyn Fn(StatusCode, &[u8]) -> StatusVerdict + Sync),
        body_hint: &(dyn Fn(StatusCode, &[u8]) -> Option<Duration> + Sync),
    ) -> Result<Response> {
        let started = Instant::now();
        let (deadline, length) = self.deadline.unwrap_or((
            started + self.policy.request_timeout,
            self.policy.request_timeout,
        ));
        let mut tries = 0u32;
        let mut connect_retries = 0u32;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.error(
                    what,
                    format!("not sent: its {} deadline had passed", seconds(length)),
                ));
            }
            tries += 1;
            let outcome = build()
                .timeout(self.policy.request_timeout.min(left))
                .send()
                .await;
            let (fault, message, hint, permanent) = match outcome {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let hint = policy::retry_after(response.headers());
                    let body = read_capped(response, MAX_ERROR_BODY_BYTES).await;
                    let hint = hint.or_else(|| body_hint(status, &body));
                    let verdict = read_status(status, &body);
                    let fault = Fault::Status {
                        status,
                        retry_after: hint.is_some(),
                    };
                    (fault, verdict.message, hint, verdict.permanent)
                }
                Err(e) => {
                    // A host that does not answer the handshake within the
                    // connect timeout is not tried again: it costs that long
                    // each time, and a refused port answers at once.
                    let slow_connect = e.is_connect() && e.is_timeout();
                    let (fault, message) = if slow_connect {
                        let limit = seconds(self.policy.connect_timeout);
                        (
                            Fault::Refused,
                            format!("cannot connect (no answer within {limit})"),
                        )
                    } else if e.is_connect() {
                        (Fault::Refused, "cannot connect".to_string())
                    } else if e.is_timeout() {
                        let waited = Instant::now().saturating_duration_since(started);
                        (
                            Fault::TimedOut,
                            format!("timed out after {}", seconds(waited)),
                        )
                    } else {
                        (Fault::Dropped, "the connection failed".to_string())
                    };
                    (fault, message, None, slow_connect)
                }
            };
            let retries_left = if fault == Fault::Refused {
                connect_retries < self.policy.max_connect_retries
            } else {
                tries <= self.policy.max_retries
            };
            let give_up = |why: String| {
                let job = if kind == RequestKind::CreatesJob && fault.job_may_exist() {
                    "; not retried: the job may have been created and may still run and be billed"
                } else {
                    ""
                };
                let tried = if tries > 1 {
                    format!(" (after {tries} tries)")
                } else {
                    String::new()
                };
                self.error(what, format!("{message}{why}{tried}{job}"))
            };
            if permanent || !fault.retryable(kind) || !retries_left {
                return Err(give_up(String::new()));
            }
            let wait = match hint {
                Some(asked) => asked,
                None => policy::backoff(&self.policy, tries - 1, rand::random::<f64>()),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if wait >= left {
                let why = match hint {
                    Some(asked) => format!(
                        "; the server asks to wait {}, past the {} deadline",
                        seconds(asked),
                        seconds(length)
                    ),
                    None => format!(
                        "; the {} deadline leaves no time for another try",
                        seconds(length)
                    ),
                };
                return Err(give_up(why));
            }
            if fault == Fault::Refused {
                connect_retries += 1;
            }
            tracing::info!(name = %self.name, call = what, tries, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads a body up to the policy's limit (the try's timeout still
    /// bounds the read).
    ///
    /// # Errors
    /// [`Error::Provider`] if the body is larger than allowed or the read
    /// fails.
    pub async fn read_limited(&self, what: &str, mut response: Response) -> Result<Vec<u8>> {
        let limit = self.policy.max_body_bytes;
        if let Some(length) = response.content_length()
            && length > limit
        {
            return Err(self.error(
                what,
                format!("response of {length} bytes exceeds the {limit}-byte limit"),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            self.error(
                what,
                if e.is_timeout() {
                    "timed out reading the response"
                } else {
                    "the response broke off"
                },
            )
        })? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(self.error(what, format!("response exceeds the {limit}-byte limit")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Reads a JSON body (bounded) into `T`.
    ///
    /// # Errors
    /// [`Error::Provider`] for an oversized or malformed body.
    pub async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        response: Response,
    ) -> Result<T> {
        let body = self.read_limited(what, response).await?;
        serde_json::from_slice(&body)
            .map_err(|e| self.error(what, format!("malformed JSON answer ({e})")))
    }
}

/// Up to `cap` bytes of a failed answer's body; whatever arrived if the
/// read breaks off.
async fn read_capped(mut response: Response, cap: u64) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = cap.saturating_sub(body.len() as u64) as usize;
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() as u64 >= cap {
            break;
        }
    }
    body
}

/// A duration as people read it: `6 s`, `1.5 s`, `250 ms`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", d.as_millis())
    } else if (s - s.round()).abs() < 0.05 {
        format!("{} s", s.round())
    } else {
        format!("{s:.1} s")
    }
}

/// Whether `url` has the same scheme, host and port as `base` (credentials
/// are only ever sent back to the API's own origin).
pub fn same_origin(url: &str, base: &str) -> bool {
    match (reqwest::Url::parse(url), reqwest::Url::parse(base)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_compares_scheme_host_and_port() {
        let base = "https://api.replicate.com/v1";
        assert!(same_origin("https://api.replicate.com/v1/files/x", base));
        assert!(same_origin("https://api.replicate.com:443/x", base));
        assert!(!same_origin("https://replicate.delivery/x.png", base));
        assert!(!same_origin("http://api.replicate.com/x", base));
        assert!(!same_origin("not a url", base));
    }

    #[test]
    fn durations_read_as_seconds_or_milliseconds() {
        assert_eq!(seconds(Duration::from_secs(6)), "6 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_millis(250)), "250 ms");
    }
}
