//! `latina doctor`'s look at an OpenAI-compatible endpoint: is it there,
//! is the key accepted, is the configured model listed.

use std::time::Duration;
use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::one_line;
use crate::domain::Check;
use crate::error::Error;
use crate::http::{HttpPolicy, Method, Secret};

/// `latina doctor`'s checks of an OpenAI-compatible endpoint (the LLM or
/// the embeddings one): one authenticated `GET {base_url}/models`, with
/// the quick retry policy of the provider checks, and whether `model` is
/// among the models the server lists (servers that list none are not
/// held to it). `name` is `llm:<model>` or `embeddings:<model>`. Never
/// shows the key.
pub async fn check_endpoint(
    name: &str,
    base_url: &str,
    model: &str,
    api_key: Option<Secret>,
    policy: HttpPolicy,
) -> Vec<Check> {
    Check::redacted(checks(name, base_url, model, api_key, policy).await)
}

async fn checks(
    name: &str,
    base_url: &str,
    model: &str,
    api_key: Option<Secret>,
    policy: HttpPolicy,
) -> Vec<Check> {
    let policy = HttpPolicy {
        max_retries: 1,
        max_backoff: Duration::from_secs(2),
        ..policy
    };
    let api = match Endpoint::new(name, base_url, "/models", api_key, policy) {
        Ok(api) => api,
        Err(e) => {
            return vec![Check {
                what: "configuration".into(),
                ok: false,
                detail: match e {
                    Error::Provider { message, .. } => message,
                    other => other.to_string(),
                },
            }];
        }
    };
    let what = "GET /models".to_string();
    let deadline = Instant::now() + api.timeout();
    let body = match api.call(Method::GET, None, deadline).await {
        Ok(body) => body,
        Err(reason) => {
            return vec![Check {
                what,
                ok: false,
                detail: reason,
            }];
        }
    };
    #[derive(serde::Deserialize)]
    struct Listed {
        id: String,
    }
    #[derive(serde::Deserialize)]
    struct Models {
        data: Vec<Listed>,
    }
    let Ok(models) = serde_json::from_slice::<Models>(&body) else {
        return vec![Check {
            what,
            ok: false,
            detail: "the answer is not an OpenAI-style model list ({\"data\": [{\"id\": …}]})"
                .into(),
        }];
    };
    let ids: Vec<String> = models.data.into_iter().map(|m| m.id).collect();
    let mut checks = vec![Check {
        what,
        ok: true,
        detail: format!(
            "answered{}, {} model{} listed",
            if api.has_key() { " with the key" } else { "" },
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        ),
    }];
    if ids.is_empty() {
        return checks;
    }
    let listed = ids.iter().any(|id| id == model);
    checks.push(Check {
        what: format!("model {}", one_line(model, 60)),
        ok: listed,
        detail: if listed {
            "listed by the server".into()
        } else {
            let some: Vec<String> = ids.iter().take(5).map(|i| one_line(i, 60)).collect();
            format!(
                "not among the {} models the server lists (e.g. {})",
                ids.len(),
                some.join(", ")
            )
        },
    });
    checks
}
