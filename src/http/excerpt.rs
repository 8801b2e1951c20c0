//! What an error message may quote of an answer: one line, bounded, with
//! secrets already redacted (a cut must never leave half a key behind).

use super::redact;

/// At most 200 characters of an error body, on one line, redacted. An
/// RFC 7807 problem document (`{"title", "detail", ...}`, as Replicate
/// sends) is reduced to its `detail` (or `title`): the sentence meant for
/// people. Empty for an empty body, else `": …"`.
pub fn excerpt(body: &str) -> String {
    let body = redact::scrub(body);
    let problem = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            ["detail", "title"]
                .iter()
                .find_map(|k| v.get(k).and_then(|d| d.as_str()).map(str::to_string))
        })
        .filter(|text| !text.trim().is_empty());
    let body = problem.as_deref().unwrap_or(&body);
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        String::new()
    } else {
        let cut: String = one_line.chars().take(200).collect();
        format!(": {cut}")
    }
}

/// At most `max` characters of `text` on one line (`…` when cut).
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > max {
        let cut: String = joined.chars().take(max).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_key_at_the_cut_is_redacted_before_cutting() {
        let key = "excerpt-test-secret-7a6b5c4d3e2f";
        redact::register(key);
        let body = format!("{}{key}", "y".repeat(190));
        let shown = excerpt(&body);
        assert!(!shown.contains(&key[..8]), "{shown}");
        assert!(shown.ends_with("***"), "{shown}");
    }
}
