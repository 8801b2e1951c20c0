//! The error document of an OpenAI-compatible server and what a failed
//! status means, in words a designer can act on.

use serde_json::Value;

use crate::http::{StatusCode, one_line};

/// The `{"error": {"message", "type", "code"}}` of a failed call (also
/// vLLM's flat `{"message", "code"}` and plain `{"error": "…"}`).
#[derive(Debug, Default)]
pub(crate) struct ApiError {
    /// The human-readable message.
    pub message: Option<String>,
    /// The machine code, e.g. `insufficient_quota`.
    pub code: Option<String>,
    /// OpenAI's `type`.
    pub kind: Option<String>,
}

impl ApiError {
    /// Reads a failed answer's body; anything unparsable becomes its text.
    pub fn parse(body: &[u8]) -> ApiError {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            let text = String::from_utf8_lossy(body);
            let text = one_line(&text, 200);
            return ApiError {
                message: (!text.is_empty()).then_some(text),
                ..ApiError::default()
            };
        };
        let inner = match value.get("error") {
            Some(Value::String(s)) => {
                return ApiError {
                    message: Some(s.clone()),
                    ..ApiError::default()
                };
            }
            Some(object @ Value::Object(_)) => object,
            _ => &value,
        };
        let field = |key: &str| match inner.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        ApiError {
            message: field("message").or_else(|| field("detail")),
            code: field("code"),
            kind: field("type"),
        }
    }

    /// Out of credit: waiting does not help.
    pub fn is_quota(&self) -> bool {
        [&self.code, &self.kind]
            .iter()
            .any(|v| v.as_deref() == Some("insufficient_quota"))
    }
}

/// A failed answer in words: what the status means for an
/// OpenAI-compatible endpoint, with the server's code and message.
/// `has_key` tells a missing key from a rejected one.
pub(crate) fn describe(status: StatusCode, error: &ApiError, has_key: bool) -> String {
    let code = status.as_u16();
    let tag = error
        .code
        .as_deref()
        .map_or_else(String::new, |c| format!(" {}", one_line(c, 40)));
    let detail = error
        .message
        .as_deref()
        .map_or_else(String::new, |m| format!(": {}", one_line(m, 200)));
    match status {
        StatusCode::UNAUTHORIZED if !has_key => {
            format!("the server wants an API key and none is configured (HTTP {code}{tag})")
        }
        // OpenAI's 401 message quotes part of the key: left out.
        StatusCode::UNAUTHORIZED => format!("key rejected (HTTP {code}{tag})"),
        StatusCode::FORBIDDEN => format!("key rejected (HTTP {code}{tag}){detail}"),
        StatusCode::NOT_FOUND => {
            format!("model or URL not found (HTTP {code}{tag}){detail}")
        }
        StatusCode::TOO_MANY_REQUESTS if error.is_quota() => format!(
            "the account's quota is used up (HTTP {code}{tag}; not retried: check the plan and billing){detail}"
        ),
        _ => format!("HTTP {code}{tag}{detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_are_read_from_openai_vllm_and_plain_bodies() {
        let openai = ApiError::parse(
            br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert!(openai.is_quota());
        let vllm =
            ApiError::parse(br#"{"object":"error","message":"model x does not exist","code":404}"#);
        assert_eq!(vllm.message.as_deref(), Some("model x does not exist"));
        assert_eq!(vllm.code.as_deref(), Some("404"));
        let plain = ApiError::parse(b"<html>\n bad gateway </html>");
        assert_eq!(plain.message.as_deref(), Some("<html> bad gateway </html>"));
        assert!(!plain.is_quota());
    }
}
