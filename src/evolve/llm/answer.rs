//! Reading the model's answer: the chat-completions envelope (choices,
//! refusals, truncation), the JSON object inside its text, and the mapping
//! of that object to a validated [`Proposal`]. Every failure is a short
//! reason that is sent back to the model on the next attempt.

use serde_json::{Map, Value};

use crate::evolve::{EvolutionInput, Proposal, Version};
use crate::http::one_line;
use crate::llm::quote;

/// Longest model answer (message content) looked at, in bytes.
const MAX_CONTENT_BYTES: usize = 1024 * 1024;

/// The JSON object the model answered with, or why there is none.
pub(super) fn read_answer(
    body: &[u8],
    max_tokens: u32,
) -> std::result::Result<Map<String, Value>, String> {
    let answer: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the server's answer is not JSON ({})",
            one_line(&e.to_string(), 80)
        )
    })?;
    let choice = answer
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| {
            format!(
                "the server's answer has no choices: {}",
                quote(&answer.to_string())
            )
        })?;
    let message = choice.get("message").unwrap_or(&Value::Null);
    if let Some(refusal) = message.get("refusal").and_then(Value::as_str)
        && !refusal.trim().is_empty()
    {
        return Err(format!("the model refused: {}", quote(refusal)));
    }
    match choice.get("finish_reason").and_then(Value::as_str) {
        Some("length") => {
            return Err(format!(
                "the answer was cut off at max_tokens = {max_tokens} (finish_reason \"length\")"
            ));
        }
        Some("content_filter") => {
            return Err("the answer was withheld by the content filter".into());
        }
        _ => {}
    }
    let content = match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        // Content parts (`[{"type":"text","text":…}]`), as some servers send.
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    };
    if content.trim().is_empty() {
        return Err("the answer is empty".into());
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(format!(
            "the answer is {} bytes long (at most {MAX_CONTENT_BYTES})",
            content.len()
        ));
    }
    extract_json_object(&content)
        .ok_or_else(|| format!("no JSON object in the answer: {}", quote(&content)))
}

/// The JSON object in a model's text: the whole text, else a ```` ``` ````
/// or ```` ```json ```` fenced block, else the first balanced `{…}` that
/// parses as an object.
pub fn extract_json_object(text: &str) -> Option<Map<String, Value>> {
    let as_object = |candidate: &str| match serde_json::from_str::<Value>(candidate.trim()) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    if let Some(map) = as_object(text) {
        return Some(map);
    }
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("```") else { break };
        let block = &after[..end];
        // Drop an info string such as `json` on the opening line.
        let body = match block.split_once('\n') {
            Some((info, body)) if !info.trim_start().starts_with('{') => body,
            _ => block,
        };
        if let Some(map) = as_object(body) {
            return Some(map);
        }
        rest = &after[end + 3..];
    }
    // Bounded: at most this many opening braces are tried.
    text.match_indices('{')
        .take(64)
        .filter_map(|(start, _)| balanced_end(&text[start..]).map(|end| &text[start..start + end]))
        .find_map(as_object)
}

/// The length of the balanced `{…}` at the start of `text` (braces inside
/// JSON strings are skipped), if it closes.
fn balanced_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Maps the model's object to a [`Proposal`] and validates it against the
/// parent. All five keys are required; `changes` may be one string.
pub(super) fn proposal_from(
    object: Map<String, Value>,
    input: &EvolutionInput,
) -> std::result::Result<Proposal, String> {
    let text = |key: &str| -> std::result::Result<String, String> {
        match object.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!(
                "\"{key}\" must be a string, got {}",
                quote(&other.to_string())
            )),
            None => Err(format!("the JSON object lacks \"{key}\"")),
        }
    };
    let version_text = text("new_version")?;
    let new_version: Version = version_text
        .parse()
        .map_err(|e| format!("new_version {e}"))?;
    let new_prompt = text("new_prompt")?;
    let negative_prompt = text("negative_prompt")?;
    let reasoning = text("reasoning")?;
    let changes = match object.get("changes") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "\"changes\" must hold strings, got {}",
                    quote(&other.to_string())
                )),
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "\"changes\" must be a list of strings, got {}",
                quote(&other.to_string())
            ));
        }
        None => return Err("the JSON object lacks \"changes\"".into()),
    };
    Proposal {
        new_version,
        new_prompt,
        negative_prompt,
        reasoning,
        changes,
    }
    .validate(&input.parent)
    .and_then(|p| input.check_new(&p).map(|()| p))
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::test_input as input;
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_found_plain_fenced_or_in_prose() {
        let cases = [
            r#"{"a": 1}"#,
            "```json\n{\"a\": 1}\n```",
            "```\n{\"a\": 1}\n```",
            "Here you go:\n```JSON\n{\"a\": 1}\n```\nEnjoy.",
            "Sure! {not json} The answer is {\"a\": 1, \"s\": \"a } brace\"} as asked.",
        ];
        for text in cases {
            let map = extract_json_object(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(map["a"], 1, "{text}");
        }
        assert!(extract_json_object("no object here").is_none());
        assert!(extract_json_object("{unbalanced").is_none());
        assert!(extract_json_object("[1, 2]").is_none());
    }

    #[test]
    fn answers_map_to_validated_proposals_or_say_why_not() {
        let good = json!({
            "new_version": "1.1.0", "new_prompt": "a bright room", "negative_prompt": "cartoon",
            "reasoning": "flat", "changes": "added light",
        });
        let p = proposal_from(good.as_object().unwrap().clone(), &input()).unwrap();
        assert_eq!(p.changes, ["added light"]);
        for (patch, expected) in [
            (json!({"new_version": "1.0.0"}), "not above"),
            (json!({"new_version": "../../etc/passwd"}), "not a version"),
            (json!({"new_version": 1.1}), "must be a string"),
            (json!({"changes": [1]}), "must hold strings"),
            (json!({"new_prompt": null}), "must be a string"),
        ] {
            let mut object = good.as_object().unwrap().clone();
            for (k, v) in patch.as_object().unwrap() {
                object.insert(k.clone(), v.clone());
            }
            let err = proposal_from(object, &input()).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        let mut missing = good.as_object().unwrap().clone();
        missing.remove("reasoning");
        assert!(
            proposal_from(missing, &input())
                .unwrap_err()
                .contains("lacks \"reasoning\"")
        );
    }
}
