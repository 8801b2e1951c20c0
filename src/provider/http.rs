//! One HTTP policy for every provider: timeouts, retries with exponential
//! backoff and jitter on 429/5xx/connection errors honouring `Retry-After`,
//! never on other 4xx, never blindly re-sending a request that may have
//! started paid or queued work after a timeout, and bounded downloads.
//!
//! Error messages name the provider, the method and path and what happened;
//! they never include request headers or bodies (where keys live).

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::time::Duration;

use crate::error::{Error, Result};

/// Timeouts, retries and limits shared by a provider's requests.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPolicy {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (send, wait, read the body).
    pub request_timeout: Duration,
    /// Retries after the first attempt, for retryable failures.
    pub max_retries: u32,
    /// First backoff; doubles each retry (with ±50% jitter).
    pub base_backoff: Duration,
    /// Longest wait between attempts, also the cap on `Retry-After`.
    pub max_backoff: Duration,
    /// Largest response body accepted, bytes.
    pub max_body_bytes: u64,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_retries: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Whether a request may be sent again after it timed out or the connection
/// broke mid-way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reading or cancelling: safe to repeat.
    Safe,
    /// Starts work that may be billed or queued (job creation, a synchronous
    /// render): repeated only when the server said it did not take it (429,
    /// 502, 503, 504 answers, or a refused connection).
    StartsWork,
}

/// An HTTP client bound to one provider name and policy.
#[derive(Debug, Clone)]
pub struct HttpClient {
    provider: String,
    policy: HttpPolicy,
    client: reqwest::Client,
}

impl HttpClient {
    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Provider`] if the HTTP stack cannot be initialised.
    pub fn new(provider: &str, policy: HttpPolicy) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .user_agent(concat!("latina/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Provider {
                provider: provider.to_string(),
                message: format!("cannot start the HTTP client: {e}"),
            })?;
        Ok(HttpClient {
            provider: provider.to_string(),
            policy,
            client,
        })
    }

    /// The underlying client, to build requests.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// The policy in force.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    fn fail(&self, what: &str, message: impl std::fmt::Display) -> Error {
        Error::Provider {
            provider: self.provider.clone(),
            message: format!("{what}: {message}"),
        }
    }

    /// Sends `build()` (called afresh for each attempt) and returns the first
    /// successful (2xx) response, retrying per the policy. `what` names the
    /// call in errors, e.g. `POST /sdapi/v1/img2img`.
    ///
    /// # Errors
    /// [`Error::Provider`] with the final status and a short body excerpt,
    /// or the transport failure.
    pub async fn send(
        &self,
        what: &str,
        replay: Replay,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response> {
        let mut attempt = 0u32;
        loop {
            let outcome = build().send().await;
            let retry_after = match outcome {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let hint = retry_after(&response);
                    let retryable = matches!(
                        status,
                        StatusCode::TOO_MANY_REQUESTS
                            | StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    ) || (status == StatusCode::INTERNAL_SERVER_ERROR
                        && replay == Replay::Safe);
                    if !retryable || attempt >= self.policy.max_retries {
                        let body = response.text().await.unwrap_or_default();
                        return Err(self.fail(what, format!("HTTP {status}{}", excerpt(&body))));
                    }
                    hint
                }
                Err(e) => {
                    // A refused connection never reached the server: always safe.
                    let unsent = e.is_connect();
                    let safe = unsent || replay == Replay::Safe;
                    if !safe || attempt >= self.policy.max_retries {
                        let reason = if e.is_timeout() {
                            format!(
                                "timed out after {:?}{}",
                                self.policy.request_timeout,
                                if replay == Replay::StartsWork {
                                    " (not retried: the work may have started)"
                                } else {
                                    ""
                                }
                            )
                        } else if unsent {
                            "cannot connect".to_string()
                        } else {
                            "the connection failed".to_string()
                        };
                        return Err(self.fail(what, reason));
                    }
                    None
                }
            };
            let wait = retry_after
                .unwrap_or_else(|| self.backoff(attempt))
                .min(self.policy.max_backoff);
            tracing::info!(provider = %self.provider, call = what, attempt, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Exponential backoff with ±50% jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.policy.base_backoff.as_secs_f64() * 2f64.powi(attempt.min(16) as i32);
        let jitter = 0.5 + rand::random::<f64>();
        Duration::from_secs_f64(base * jitter)
    }

    /// Reads a body up to the policy's limit.
    ///
    /// # Errors
    /// [`Error::Provider`] if the body is larger than allowed or the read fails.
    pub async fn read_limited(&self, what: &str, mut response: Response) -> Result<Vec<u8>> {
        let limit = self.policy.max_body_bytes;
        if let Some(length) = response.content_length()
            && length > limit
        {
            return Err(self.fail(
                what,
                format!("response of {length} bytes exceeds the {limit}-byte limit"),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            self.fail(
                what,
                if e.is_timeout() {
                    "timed out reading the response".to_string()
                } else {
                    "the response broke off".to_string()
                },
            )
        })? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(self.fail(what, format!("response exceeds the {limit}-byte limit")));
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
            .map_err(|e| self.fail(what, format!("malformed JSON answer ({e})")))
    }
}

/// Waits between status polls of an async job: starts at `first`, grows by
/// half each time up to four times `first`, and stops at the deadline.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    next: Duration,
    cap: Duration,
    deadline: tokio::time::Instant,
}

/// Why waiting for a job stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// The designer cancelled (Ctrl-C).
    Cancelled,
    /// The overall deadline passed.
    TimedOut,
}

impl PollSchedule {
    /// A schedule that gives up `timeout` from now.
    pub fn new(first: Duration, timeout: Duration) -> Self {
        PollSchedule {
            next: first,
            cap: first * 4,
            deadline: tokio::time::Instant::now() + timeout,
        }
    }

    /// Sleeps until the next poll.
    ///
    /// # Errors
    /// [`WaitEnd`] when cancelled or when the deadline comes first.
    pub async fn wait(
        &mut self,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> std::result::Result<(), WaitEnd> {
        let now = tokio::time::Instant::now();
        if now >= self.deadline {
            return Err(WaitEnd::TimedOut);
        }
        let until = (now + self.next).min(self.deadline);
        self.next = (self.next.mul_f64(1.5)).min(self.cap);
        tokio::select! {
            () = cancel.cancelled() => Err(WaitEnd::Cancelled),
            () = tokio::time::sleep_until(until) => Ok(()),
        }
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        tokio::time::Instant::now() >= self.deadline
    }
}

impl HttpClient {
    /// Downloads a render from `url` (no credentials unless `auth` is given):
    /// bounded by the policy's size limit, and refused unless the server
    /// says it is an image (or a generic binary) and the bytes decode as one.
    ///
    /// # Errors
    /// [`Error::Provider`] for transport failures, a non-image content type,
    /// an oversized body or bytes that are not an image.
    pub async fn download_image(
        &self,
        url: &str,
        auth: Option<&super::Secret>,
        cost_usd: Option<f64>,
    ) -> Result<super::RenderOutput> {
        let what = "download the render";
        let response = self
            .send(what, Replay::Safe, || {
                let builder = self.request(Method::GET, url);
                match auth {
                    Some(secret) => builder.bearer_auth(secret.expose()),
                    None => builder,
                }
            })
            .await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let acceptable = content_type.is_empty()
            || content_type.starts_with("image/")
            || content_type.starts_with("application/octet-stream")
            || content_type.starts_with("binary/octet-stream");
        if !acceptable {
            let shown: String = content_type.chars().take(60).collect();
            return Err(self.fail(
                what,
                format!("expected an image, got content type {shown:?}"),
            ));
        }
        let bytes = self.read_limited(what, response).await?;
        super::decoded_output(&self.provider, what, bytes, cost_usd)
    }

    /// The same client with at most one quick retry, for `latina doctor`'s
    /// checks: an unreachable host should be reported in seconds.
    pub fn for_checks(&self) -> HttpClient {
        HttpClient {
            provider: self.provider.clone(),
            policy: HttpPolicy {
                max_retries: 1,
                max_backoff: Duration::from_secs(2),
                ..self.policy.clone()
            },
            client: self.client.clone(),
        }
    }

    /// The provider name errors are reported under.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// An error about `what`, under this provider's name.
    pub fn error(&self, what: &str, message: impl std::fmt::Display) -> Error {
        self.fail(what, message)
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

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// At most 200 characters of an error body, on one line. An RFC 7807
/// problem document (`{"title", "detail", ...}`, as Replicate sends) is
/// reduced to its `detail` (or `title`): the sentence meant for people.
pub(crate) fn excerpt(body: &str) -> String {
    let problem = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["detail", "title"]
                .iter()
                .find_map(|k| v.get(k).and_then(|d| d.as_str()).map(str::to_string))
        })
        .filter(|text| !text.trim().is_empty());
    let body = problem.as_deref().unwrap_or(body);
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        String::new()
    } else {
        let cut: String = one_line.chars().take(200).collect();
        format!(": {cut}")
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
    fn error_excerpts_are_one_line_and_prefer_the_problem_detail() {
        assert_eq!(excerpt(""), "");
        assert_eq!(excerpt("CUDA out\n of memory "), ": CUDA out of memory");
        assert_eq!(
            excerpt(
                r#"{"title":"Input validation failed","status":422,"detail":"Invalid version or not permitted"}"#
            ),
            ": Invalid version or not permitted"
        );
        assert_eq!(
            excerpt(r#"{"title":"Unauthenticated","status":401}"#),
            ": Unauthenticated"
        );
        // A `detail` that is not a sentence (FastAPI's list) is shown as sent.
        let list = r#"{"detail":[{"msg":"field required"}]}"#;
        assert_eq!(excerpt(list), format!(": {list}"));
        assert_eq!(excerpt(&"x".repeat(500)).len(), 2 + 200);
    }

    #[tokio::test(start_paused = true)]
    async fn poll_waits_grow_to_four_times_the_first_and_stop_at_the_deadline() {
        let cancel = tokio_util::sync::CancellationToken::new();
        let start = tokio::time::Instant::now();
        let mut schedule = PollSchedule::new(Duration::from_secs(2), Duration::from_secs(30));
        let mut marks = Vec::new();
        while schedule.wait(&cancel).await.is_ok() {
            marks.push(start.elapsed().as_secs_f64());
        }
        let gaps: Vec<f64> = marks.windows(2).map(|w| w[1] - w[0]).collect();
        assert!((marks[0] - 2.0).abs() < 1e-6, "{marks:?}");
        assert!(
            (gaps[0] - 3.0).abs() < 1e-6 && (gaps[1] - 4.5).abs() < 1e-6,
            "{gaps:?}"
        );
        assert!(gaps.iter().all(|g| *g <= 8.0 + 1e-6), "{gaps:?}");
        assert!((marks.last().unwrap() - 30.0).abs() < 1e-6, "{marks:?}");
        cancel.cancel();
        let mut again = PollSchedule::new(Duration::from_secs(2), Duration::from_secs(30));
        assert_eq!(again.wait(&cancel).await, Err(WaitEnd::Cancelled));
    }
}
