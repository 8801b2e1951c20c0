//! The retry and deadline rules, as pure functions: which answers are
//! worth another try for which kind of request, how long to wait, and what
//! `Retry-After` asks for. [`super::HttpClient::send`] applies them.
//!
//! The rule that matters most: a request that starts paid or queued work
//! ([`RequestKind::CreatesJob`]) is sent again only when the answer proves
//! nothing was created. A 429, a 503 that carries the API's own
//! `Retry-After`, or a connection that was refused before anything was
//! sent prove it; a 500, a gateway's 502/504, a timeout or a dropped
//! connection do not (the job may have been accepted behind the gateway),
//! so the call fails and says a job may exist.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Timeouts, retries and limits shared by a client's requests.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPolicy {
    /// TCP connect timeout: short, so that an unreachable host is reported
    /// in seconds.
    pub connect_timeout: Duration,
    /// The overall deadline of one call ([`super::HttpClient::send`]):
    /// every try, backoff sleep and `Retry-After` wait included, unless the
    /// client is bound to an earlier deadline ([`super::HttpClient::until`]).
    pub request_timeout: Duration,
    /// Retries after the first attempt, for retryable failures.
    pub max_retries: u32,
    /// Retries after a refused connection (nothing was sent): a port that
    /// refuses rarely opens within seconds, so fewer than `max_retries`.
    pub max_connect_retries: u32,
    /// First backoff; doubles each retry (with ±50% jitter).
    pub base_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Largest response body accepted, bytes.
    pub max_body_bytes: u64,
}

/// The connect timeout every client uses unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Duration::from_secs(120),
            max_retries: 4,
            max_connect_retries: 1,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

impl HttpPolicy {
    /// The default policy with an overall deadline of `seconds` per call.
    pub fn with_timeout_secs(seconds: u64) -> Self {
        HttpPolicy {
            request_timeout: Duration::from_secs(seconds),
            ..HttpPolicy::default()
        }
    }
}

/// What a request does on the server, which decides when it may be sent
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Reads, cancels, uploads the same object again, or costs no more
    /// than its own answer (a chat completion): safe to repeat after any
    /// passing failure.
    Idempotent,
    /// Starts work that may be billed or queued (a job, a synchronous
    /// render): repeated only on answers that prove nothing was created.
    CreatesJob,
}

/// How a try ended without a usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The server answered with this status.
    Status {
        /// The status.
        status: StatusCode,
        /// Whether the answer carried `Retry-After` (or `retry-after-ms`).
        retry_after: bool,
    },
    /// The connection could not be made: nothing was sent.
    Refused,
    /// The try ran out of time; the server may have received the request.
    TimedOut,
    /// The connection broke after the request may have been sent.
    Dropped,
}

impl Fault {
    /// Whether a request of `kind` may be sent again after this fault.
    pub fn retryable(self, kind: RequestKind) -> bool {
        match (self, kind) {
            (Fault::Refused, _) => true,
            (Fault::TimedOut | Fault::Dropped, RequestKind::Idempotent) => true,
            (Fault::TimedOut | Fault::Dropped, RequestKind::CreatesJob) => false,
            (Fault::Status { status, .. }, RequestKind::Idempotent) => matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::INTERNAL_SERVER_ERROR
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            ),
            (
                Fault::Status {
                    status,
                    retry_after,
                },
                RequestKind::CreatesJob,
            ) => {
                status == StatusCode::TOO_MANY_REQUESTS
                    || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after)
            }
        }
    }

    /// Whether, after this fault, a job-creating request may have started
    /// work on the server: any 5xx, a timeout or a dropped connection. A
    /// 4xx is a refusal and a refused connection sent nothing.
    pub fn job_may_exist(self) -> bool {
        match self {
            // The API's own "come back later" is a refusal too.
            Fault::Status {
                status: StatusCode::SERVICE_UNAVAILABLE,
                retry_after: true,
            } => false,
            Fault::Status { status, .. } => status.is_server_error(),
            Fault::Refused => false,
            Fault::TimedOut | Fault::Dropped => true,
        }
    }
}

/// Exponential backoff with ±50% jitter for retry number `attempt` (0 for
/// the first retry), capped at the policy's `max_backoff`. `unit` is a
/// uniform draw in [0, 1), passed in so that tests can pin it.
pub fn backoff(policy: &HttpPolicy, attempt: u32, unit: f64) -> Duration {
    let base = policy.base_backoff.as_secs_f64() * 2f64.powi(attempt.min(16) as i32);
    Duration::from_secs_f64(base * (0.5 + unit.clamp(0.0, 1.0))).min(policy.max_backoff)
}

/// The wait an answer asks for: `retry-after-ms` (OpenAI), else
/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && (0.0..1e9).contains(&seconds))
            .then(|| Duration::from_secs_f64(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, retry_after: bool) -> Fault {
        Fault::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after,
        }
    }

    #[test]
    fn job_creating_requests_are_repeated_only_when_nothing_was_created() {
        let creates = RequestKind::CreatesJob;
        assert!(status(429, false).retryable(creates));
        assert!(status(503, true).retryable(creates));
        assert!(Fault::Refused.retryable(creates));
        for fault in [
            status(500, false),
            status(502, false),
            status(503, false),
            status(504, false),
            status(504, true),
            Fault::TimedOut,
            Fault::Dropped,
            status(400, false),
        ] {
            assert!(!fault.retryable(creates), "{fault:?}");
        }
        assert!(status(504, false).job_may_exist());
        assert!(Fault::TimedOut.job_may_exist());
        assert!(!status(400, false).job_may_exist());
        assert!(!Fault::Refused.job_may_exist());
        assert!(!status(503, true).job_may_exist());
    }

    #[test]
    fn idempotent_requests_are_repeated_on_passing_failures_only() {
        let reads = RequestKind::Idempotent;
        for code in [429, 500, 502, 503, 504] {
            assert!(status(code, false).retryable(reads), "{code}");
        }
        for code in [400, 401, 403, 404, 422, 501] {
            assert!(!status(code, false).retryable(reads), "{code}");
        }
        assert!(Fault::TimedOut.retryable(reads) && Fault::Dropped.retryable(reads));
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let policy = HttpPolicy::default();
        assert_eq!(backoff(&policy, 0, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(&policy, 2, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(&policy, 0, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(&policy, 30, 0.99), policy.max_backoff);
    }

    #[test]
    fn retry_after_reads_milliseconds_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut past = HeaderMap::new();
        past.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&past), Some(Duration::ZERO));
        let mut junk = HeaderMap::new();
        junk.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&junk), None);
    }
}
