//! Leonardo's answers and the checks on them: the JSON shapes latina
//! reads, the cost in dollars, one-line API and S3 error messages (with
//! presigned field values masked).

use serde::Deserialize;

use crate::http::one_line;

/// Where and how to upload the init image (`POST /init-image`).
pub(super) struct UploadTarget {
    pub(super) id: String,
    pub(super) url: String,
    /// The presigned form fields, in the order received. Secret-ish: they
    /// carry a signature and a policy.
    pub(super) fields: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub(super) struct InitImageAnswer {
    #[serde(rename = "uploadInitImage")]
    pub(super) upload: Option<InitImage>,
}

#[derive(Deserialize)]
pub(super) struct InitImage {
    pub(super) id: String,
    pub(super) url: String,
    pub(super) fields: serde_json::Value,
}

#[derive(Deserialize)]
pub(super) struct CreateAnswer {
    #[serde(rename = "sdGenerationJob")]
    pub(super) job: Option<GenerationJob>,
}

#[derive(Deserialize)]
pub(super) struct GenerationJob {
    #[serde(rename = "generationId")]
    pub(super) id: String,
    #[serde(default)]
    pub(super) cost: Option<Cost>,
}

#[derive(Deserialize)]
pub(super) struct Cost {
    #[serde(default)]
    pub(super) amount: serde_json::Value,
    #[serde(default)]
    pub(super) unit: String,
}

#[derive(Deserialize)]
pub(super) struct PollAnswer {
    #[serde(default)]
    pub(super) generations_by_pk: Option<Generation>,
}

#[derive(Deserialize)]
pub(super) struct Generation {
    pub(super) status: String,
    #[serde(default)]
    pub(super) generated_images: Vec<GeneratedImage>,
}

#[derive(Deserialize)]
pub(super) struct GeneratedImage {
    #[serde(default)]
    pub(super) url: Option<String>,
}

/// The presigned fields: a JSON object, or (as Leonardo sends them) a
/// string holding one. Values that are not strings are sent as JSON text.
pub(super) fn decode_fields(raw: &serde_json::Value) -> Option<Vec<(String, String)>> {
    let object = match raw {
        serde_json::Value::String(text) => serde_json::from_str::<serde_json::Value>(text).ok()?,
        other => other.clone(),
    };
    let serde_json::Value::Object(map) = object else {
        return None;
    };
    Some(
        map.into_iter()
            .map(|(k, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, value)
            })
            .collect(),
    )
}

/// The dollars of a `cost` object when its unit is dollars.
pub(super) fn dollars(cost: &Cost) -> Option<f64> {
    if !cost.unit.eq_ignore_ascii_case("DOLLARS") {
        return None;
    }
    let amount = match &cost.amount {
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        serde_json::Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (amount.is_finite() && amount >= 0.0).then_some(amount)
}

/// Appended to errors that say the key was refused.
pub(super) const KEY_REJECTED: &str = "; the API key was rejected";

/// The message of a Leonardo error body (`{"error","path","code"}`), if
/// the body is one.
pub(super) fn api_error(value: &serde_json::Value) -> Option<String> {
    let error = value.get("error").filter(|e| !e.is_null())?;
    let message = match error {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => o
            .get("message")
            .and_then(|m| m.as_str())
            .map_or_else(|| error.to_string(), str::to_string),
        other => other.to_string(),
    };
    let code = value.get("code").and_then(|c| c.as_str()).unwrap_or("");
    let mut text = one_line(&message, 200);
    if !code.is_empty() {
        text = format!("{text} (code {})", one_line(code, 40));
    }
    let lower = format!("{message} {code}").to_ascii_lowercase();
    if lower.contains("authorization hook")
        || lower.contains("authentication hook")
        || lower.contains("access-denied")
    {
        text.push_str(KEY_REJECTED);
    }
    Some(text)
}

/// Scheme, host and port of `url`, for naming the upload in errors without
/// its path or query.
pub(super) fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            match u.port() {
                Some(port) => format!("{}://{host}:{port}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "the presigned URL".into(),
    }
}

/// What an S3 error body says, without anything from the signed form: the
/// `<Code>` and `<Message>` of an XML `<Error>`, else a short excerpt, with
/// every field value masked.
pub(super) fn s3_error_detail(body: &str, target: &UploadTarget) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&close)? + start;
        Some(body[start..end].to_string())
    };
    let text = match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        (None, Some(message)) => message,
        (None, None) => body.to_string(),
    };
    let mut masked = text;
    for (_, value) in &target.fields {
        if value.len() >= 4 {
            masked = masked.replace(value.as_str(), "***");
        }
    }
    let line = one_line(&masked, 200);
    if line.is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_decode_from_a_json_string_or_an_object() {
        let as_string = serde_json::json!("{\"key\":\"a/b.jpg\",\"n\":3}");
        let fields = decode_fields(&as_string).unwrap();
        assert!(fields.contains(&("key".into(), "a/b.jpg".into())));
        assert!(fields.contains(&("n".into(), "3".into())));
        assert!(decode_fields(&serde_json::json!({"k": "v"})).is_some());
        assert!(decode_fields(&serde_json::json!("not json")).is_none());
        assert!(decode_fields(&serde_json::json!("[1,2]")).is_none());
        assert!(decode_fields(&serde_json::Value::Null).is_none());
    }

    #[test]
    fn cost_counts_only_dollars() {
        let cost = |amount: serde_json::Value, unit: &str| Cost {
            amount,
            unit: unit.into(),
        };
        assert_eq!(dollars(&cost("0.0147".into(), "DOLLARS")), Some(0.0147));
        assert_eq!(
            dollars(&cost(serde_json::json!(0.02), "DOLLARS")),
            Some(0.02)
        );
        assert_eq!(dollars(&cost("12".into(), "CREDITS")), None);
        assert_eq!(dollars(&cost("n/a".into(), "DOLLARS")), None);
        assert_eq!(dollars(&cost("-1".into(), "DOLLARS")), None);
    }

    #[test]
    fn error_bodies_are_recognised_with_their_code() {
        let body = serde_json::json!({"error": "Invalid response from authorization hook", "path": "$", "code": "unexpected"});
        let text = api_error(&body).unwrap();
        assert!(text.starts_with("Invalid response from authorization hook (code unexpected)"));
        assert!(text.ends_with("the API key was rejected"), "{text}");
        assert_eq!(
            api_error(&serde_json::json!({"error": "invalid file extension\nreally"})).unwrap(),
            "invalid file extension really"
        );
        assert!(api_error(&serde_json::json!({"error": null, "x": 1})).is_none());
        assert!(api_error(&serde_json::json!({"sdGenerationJob": {}})).is_none());
    }

    #[test]
    fn s3_errors_keep_code_and_message_and_mask_field_values() {
        let target = UploadTarget {
            id: "i".into(),
            url: "https://bucket.s3.amazonaws.com/".into(),
            fields: vec![("X-Amz-Signature".into(), "abcdef0123".into())],
        };
        let xml = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>bad abcdef0123</Message><SignatureProvided>abcdef0123</SignatureProvided></Error>";
        assert_eq!(
            s3_error_detail(xml, &target),
            ": SignatureDoesNotMatch: bad ***"
        );
        assert_eq!(s3_error_detail("", &target), "");
        assert_eq!(s3_error_detail("nope abcdef0123", &target), ": nope ***");
        assert_eq!(
            host_of("https://b.s3.amazonaws.com/x?y=1"),
            "https://b.s3.amazonaws.com"
        );
    }
}
