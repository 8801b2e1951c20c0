//! Replicate's answers: a prediction, its status and output, and the
//! checks on what comes back (ids that may enter a URL path, output URLs,
//! one-line failure reasons without the token or data-URI payloads).

use serde::Deserialize;
use serde_json::Value;

use crate::http::one_line;

/// Longest piece of a prediction's `error` quoted in an error message.
const MAX_REASON_CHARS: usize = 300;

/// A prediction as the API returns it (only the fields latina reads).
#[derive(Debug, Deserialize)]
pub(super) struct Prediction {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) output: Value,
    #[serde(default)]
    pub(super) error: Value,
    #[serde(default)]
    pub(super) urls: Option<Urls>,
    #[serde(default)]
    pub(super) metrics: Value,
}

#[derive(Debug, Deserialize)]
pub(super) struct Urls {
    #[serde(default)]
    pub(super) get: Option<String>,
}

/// A file object from `POST /files`.
#[derive(Debug, Deserialize)]
pub(super) struct FileObject {
    #[serde(default)]
    pub(super) urls: Option<Urls>,
}

/// A prediction's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Starting,
    Processing,
    Succeeded,
    Failed,
    Canceled,
    Aborted,
    /// Anything else: treated as still running (the timeout bounds it).
    Other,
}

impl Status {
    pub(super) fn of(text: &str) -> Self {
        match text {
            "starting" => Status::Starting,
            "processing" => Status::Processing,
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed,
            "canceled" | "cancelled" => Status::Canceled,
            "aborted" => Status::Aborted,
            _ => Status::Other,
        }
    }

    pub(super) fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Succeeded | Status::Failed | Status::Canceled | Status::Aborted
        )
    }
}

/// Prediction ids are short alphanumeric strings; anything else is not put
/// into a URL path.
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// The render's location in a succeeded prediction's `output`: a URL
/// string, or the first of an array of them.
pub(super) fn output_url(output: &Value) -> std::result::Result<&str, &'static str> {
    let first = match output {
        Value::Array(items) => items.first().ok_or("succeeded with an empty output list")?,
        other => other,
    };
    match first {
        Value::String(s) if is_http_url(s) || s.starts_with("data:image/") => Ok(s),
        Value::String(_) => Err("the output is text, not an image URL"),
        Value::Null => Err("succeeded without an output"),
        Value::Object(_) => Err("the output is an object, not an image URL"),
        Value::Array(_) => Err("the output is a nested list, not an image URL"),
        Value::Bool(_) | Value::Number(_) => Err("the output is not an image URL"),
    }
}

/// A failed prediction's `error`, on one short line.
pub(super) fn reason(error: &Value) -> String {
    let text = match error {
        Value::Null => return "no reason given".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text = one_line(&text, MAX_REASON_CHARS);
    if text.is_empty() {
        "no reason given".to_string()
    } else {
        text
    }
}

/// `text` without `secret` and without data-URI payloads (an error body
/// may echo the request).
pub(super) fn scrub(text: &str, secret: &str) -> String {
    let text = if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "***")
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("data:") {
        let (head, tail) = rest.split_at(at + "data:".len());
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ']' | '}' | '<' | '>')
            })
            .unwrap_or(tail.len());
        if end > 0 {
            out.push('…');
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrub_removes_the_secret_and_data_uri_payloads() {
        let text = r#"HTTP 422: {"detail":"bad image data:image/jpeg;base64,/9j/4AAQSk== for r8_abc"} metadata: kept"#;
        let clean = scrub(text, "r8_abc");
        assert_eq!(
            clean,
            r#"HTTP 422: {"detail":"bad image data:… for ***"} metadata: kept"#
        );
        assert_eq!(scrub("plain", ""), "plain");
    }

    #[test]
    fn output_is_a_url_or_the_first_of_a_list() {
        assert_eq!(
            output_url(&json!("https://replicate.delivery/a/out.png")),
            Ok("https://replicate.delivery/a/out.png")
        );
        assert_eq!(
            output_url(&json!(["https://x.test/1.png", "https://x.test/2.png"])),
            Ok("https://x.test/1.png")
        );
        assert!(output_url(&json!([])).is_err());
        assert!(output_url(&json!("a cosy room")).is_err());
        assert!(output_url(&json!({"image": "https://x.test/1.png"})).is_err());
        assert!(output_url(&json!(null)).is_err());
        assert!(output_url(&json!(3)).is_err());
        assert!(output_url(&json!("ftp://x.test/1.png")).is_err());
    }

    #[test]
    fn failure_reasons_are_one_short_line() {
        assert_eq!(reason(&json!(null)), "no reason given");
        assert_eq!(reason(&json!("  ")), "no reason given");
        assert_eq!(
            reason(&json!("CUDA out of memory.\n  Tried to allocate 2 GiB\n")),
            "CUDA out of memory. Tried to allocate 2 GiB"
        );
        let long = reason(&json!("x".repeat(1000)));
        assert_eq!(long.chars().count(), MAX_REASON_CHARS + 1);
        assert_eq!(reason(&json!({"code": 7})), r#"{"code":7}"#);
    }

    #[test]
    fn ids_that_could_escape_the_path_are_refused() {
        assert!(valid_id("gm3qorzdhgbfurvjtvhg6dckhu"));
        assert!(!valid_id(""));
        assert!(!valid_id("../files"));
        assert!(!valid_id("a b"));
    }

    #[test]
    fn statuses() {
        assert!(Status::of("succeeded").is_terminal());
        assert!(Status::of("aborted").is_terminal());
        assert!(!Status::of("processing").is_terminal());
        assert_eq!(Status::of("queued"), Status::Other);
    }
}
