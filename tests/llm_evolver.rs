//! The LLM evolver and the embeddings client against a local fake
//! OpenAI-compatible server that checks every request and answers like the
//! real API, good answers, bad answers and faults alike.

use latina::evolve::llm::{LlmEvolver, LlmSettings, ResponseFormat, SYSTEM_PROMPT};
use latina::evolve::{
    EvolutionInput, EvolveError, Evolver, IssueCount, ParentPrompt, Proposal, RatedComment,
};
use latina::http::HttpPolicy;
use latina::llm::{EmbeddingsClient, EmbeddingsSettings};
use latina::provider::Secret;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod support;

const KEY: &str = "sk-test-4f9a1c7e2b8d";
const MODEL: &str = "gpt-4o-mini";
const GOOD_PROMPT: &str = "Professional interior photograph of the same room, photorealistic, \
    soft natural light with realistic depth and layered shadows, keep the layout";

fn input() -> EvolutionInput {
    EvolutionInput {
        parent: ParentPrompt {
            version: "1.2.0".parse().unwrap(),
            prompt: "Professional interior photograph of the same room, photorealistic".into(),
            negative_prompt: "cartoon, blurry".into(),
        },
        issues: vec![
            IssueCount {
                issue: "flat_look".into(),
                count: 5,
                mean_stars: 2.2,
            },
            IssueCount {
                issue: "lighting".into(),
                count: 3,
                mean_stars: 2.67,
            },
        ],
        comments: vec![
            RatedComment {
                stars: 2,
                comment: "muy plano, sin profundidad".into(),
            },
            RatedComment {
                stars: 3,
                comment: "lighting is too dark near the window".into(),
            },
        ],
        recent_mean: 2.8,
        taken_versions: Vec::new(),
        existing_prompts: Vec::new(),
    }
}

fn quick_policy() -> HttpPolicy {
    HttpPolicy {
        base_backoff: Duration::from_millis(10),
        max_retries: 3,
        ..support::quick_policy()
    }
}

fn settings(server: &MockServer, key: Option<&str>) -> LlmSettings {
    LlmSettings {
        api_key: key.map(|k| Secret::new(k.to_string())),
        temperature: Some(0.3),
        max_tokens: 1500,
        ..LlmSettings::new(format!("{}/v1", server.uri()), MODEL)
    }
}

async fn evolve(settings: LlmSettings) -> Result<Proposal, EvolveError> {
    Arc::new(LlmEvolver::new(settings, quick_policy()).unwrap())
        .propose(input())
        .await
}

/// A `chat.completion` whose message content is `content`.
fn completion(content: &str) -> ResponseTemplate {
    answer(
        json!({"role": "assistant", "content": content, "refusal": null}),
        "stop",
    )
}

fn answer(message: Value, finish_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 200, "total_tokens": 1100},
    }))
}

fn evolution(version: &str, prompt: &str) -> Value {
    json!({
        "new_version": version,
        "new_prompt": prompt,
        "negative_prompt": "cartoon, blurry, flat lighting",
        "reasoning": "Five comments say the renders look flat (2.2 stars): added depth and shadows.",
        "changes": ["added realistic depth", "added layered shadows"],
    })
}

fn good_json() -> String {
    evolution("1.3.0", GOOD_PROMPT).to_string()
}

async fn mount(server: &MockServer, response: ResponseTemplate, times: Option<u64>) {
    let mock = Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(response);
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

/// Checks every request the server received and returns their bodies.
async fn checked_requests(server: &MockServer, key: Option<&str>, format: &str) -> Vec<Value> {
    let received: Vec<Request> = server.received_requests().await.unwrap();
    received
        .iter()
        .map(|request| {
            assert_eq!(request.method.as_str(), "POST");
            assert_eq!(request.url.path(), "/v1/chat/completions");
            let auth = request
                .headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string());
            assert_eq!(auth, key.map(|k| format!("Bearer {k}")));
            let content_type = request.headers.get("content-type").unwrap();
            assert!(
                content_type
                    .to_str()
                    .unwrap()
                    .starts_with("application/json")
            );
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(body["model"], MODEL);
            assert_eq!(body["max_tokens"], 1500);
            assert_eq!(body["temperature"], 0.3);
            assert_eq!(body["response_format"]["type"], format);
            let messages = body["messages"].as_array().unwrap();
            let roles: Vec<&str> = messages
                .iter()
                .map(|m| m["role"].as_str().unwrap())
                .collect();
            assert_eq!(roles, ["system", "user"]);
            assert_eq!(messages[0]["content"], SYSTEM_PROMPT);
            assert!(SYSTEM_PROMPT.contains("JSON"));
            let user = messages[1]["content"].as_str().unwrap();
            assert!(user.contains("json"), "JSON mode needs the word: {user}");
            body
        })
        .collect()
}

fn user_message(body: &Value) -> &str {
    body["messages"][1]["content"].as_str().unwrap()
}

/// One line, bounded, and never the key.
fn assert_clean(error: &str) {
    assert!(!error.contains(KEY), "the key leaked: {error}");
    assert!(!error.contains('\n'), "{error}");
    assert!(error.len() < 1000, "{} bytes: {error}", error.len());
}

fn llm_error(result: Result<Proposal, EvolveError>) -> String {
    match result {
        Ok(p) => panic!("an invalid answer came back as a proposal: {p:?}"),
        Err(e @ EvolveError::Llm(_)) => {
            let text = e.to_string();
            assert_clean(&text);
            text
        }
        Err(other) => panic!("expected an LLM error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_good_evolution_becomes_a_valid_proposal_above_the_parent() {
    let server = MockServer::start().await;
    mount(&server, completion(&good_json()), None).await;
    let proposal = evolve(settings(&server, Some(KEY))).await.unwrap();
    assert_eq!(proposal.new_version.to_string(), "1.3.0");
    assert!(proposal.new_version > input().parent.version);
    assert_eq!(
        proposal.new_prompt,
        GOOD_PROMPT.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    assert_eq!(proposal.negative_prompt, "cartoon, blurry, flat lighting");
    assert_eq!(proposal.changes.len(), 2);

    let bodies = checked_requests(&server, Some(KEY), "json_object").await;
    assert_eq!(bodies.len(), 1);
    let user = user_message(&bodies[0]);
    for expected in [
        "1.2.0",
        "Professional interior photograph of the same room, photorealistic",
        "cartoon, blurry",
        "| flat_look | 5 | 2.20 |",
        "| lighting | 3 | 2.67 |",
        "2.80",
        r#"2 stars: "muy plano, sin profundidad""#,
        r#"3 stars: "lighting is too dark near the window""#,
    ] {
        assert!(user.contains(expected), "{expected:?} missing from {user}");
    }
}

#[tokio::test]
async fn the_name_is_llm_and_the_model() {
    let server = MockServer::start().await;
    let evolver = LlmEvolver::new(settings(&server, None), quick_policy()).unwrap();
    assert_eq!(evolver.name(), "llm:gpt-4o-mini");
    assert!(!format!("{evolver:?}").contains(KEY));
}

#[tokio::test]
async fn without_a_key_no_authorization_is_sent_and_a_strict_schema_can_be_asked_for() {
    let server = MockServer::start().await;
    mount(&server, completion(&good_json()), None).await;
    let proposal = evolve(LlmSettings {
        response_format: ResponseFormat::JsonSchema,
        ..settings(&server, None)
    })
    .await
    .unwrap();
    assert_eq!(proposal.new_version.to_string(), "1.3.0");
    let bodies = checked_requests(&server, None, "json_schema").await;
    let spec = &bodies[0]["response_format"]["json_schema"];
    assert_eq!(spec["strict"], true);
    assert_eq!(spec["name"], "prompt_evolution");
    let schema = &spec["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    let mut properties: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    properties.sort_unstable();
    required.sort_unstable();
    assert_eq!(properties, required, "strict mode: every property required");
    assert_eq!(
        required,
        [
            "changes",
            "negative_prompt",
            "new_prompt",
            "new_version",
            "reasoning"
        ]
    );
}

#[tokio::test]
async fn json_in_a_code_fence_is_read() {
    for fenced in [
        format!("```json\n{}\n```", good_json()),
        format!("```\n{}\n```", good_json()),
        format!(
            "Here is the new version:\n\n```json\n{}\n```\n",
            good_json()
        ),
    ] {
        let server = MockServer::start().await;
        mount(&server, completion(&fenced), None).await;
        let proposal = evolve(settings(&server, Some(KEY))).await.unwrap();
        assert_eq!(proposal.new_version.to_string(), "1.3.0");
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_json_object_inside_prose_is_read() {
    let server = MockServer::start().await;
    let prose = format!(
        "Sure! I looked at the {{issues}} carefully. {}\nLet me know if you need more.",
        evolution(
            "1.3.0",
            "a bright room with {curly} braces, realistic shadows"
        )
    );
    mount(&server, completion(&prose), None).await;
    let proposal = evolve(settings(&server, Some(KEY))).await.unwrap();
    assert_eq!(
        proposal.new_prompt,
        "a bright room with {curly} braces, realistic shadows"
    );
}

#[tokio::test]
async fn prose_without_json_is_asked_for_again_and_the_retry_says_why() {
    let server = MockServer::start().await;
    mount(
        &server,
        completion("I would add more light and depth to the prompt."),
        Some(1),
    )
    .await;
    mount(&server, completion(&good_json()), None).await;
    let proposal = evolve(settings(&server, Some(KEY))).await.unwrap();
    assert_eq!(proposal.new_version.to_string(), "1.3.0");
    let bodies = checked_requests(&server, Some(KEY), "json_object").await;
    assert_eq!(bodies.len(), 2);
    assert!(!user_message(&bodies[0]).contains("rejected"));
    let retry = user_message(&bodies[1]);
    assert!(
        retry.contains("previous answer was rejected: no JSON object"),
        "{retry}"
    );
}

#[tokio::test]
async fn an_answer_cut_off_every_time_fails_after_max_attempts() {
    let server = MockServer::start().await;
    let cut = &good_json()[..60];
    mount(
        &server,
        answer(json!({"role": "assistant", "content": cut}), "length"),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("after 3 attempts"), "{error}");
    assert!(error.contains("cut off at max_tokens = 1500"), "{error}");
    assert_eq!(
        checked_requests(&server, Some(KEY), "json_object")
            .await
            .len(),
        3
    );

    // The number of attempts is configurable.
    let server = MockServer::start().await;
    mount(
        &server,
        answer(json!({"role": "assistant", "content": cut}), "length"),
        None,
    )
    .await;
    let error = llm_error(
        evolve(LlmSettings {
            max_attempts: 1,
            ..settings(&server, Some(KEY))
        })
        .await,
    );
    assert!(error.contains("after 1 attempt:"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_version_not_above_the_parent_is_refused() {
    for version in ["1.2.0", "1.1.9", "0.9.0"] {
        let server = MockServer::start().await;
        mount(
            &server,
            completion(&evolution(version, GOOD_PROMPT).to_string()),
            None,
        )
        .await;
        let error = llm_error(evolve(settings(&server, Some(KEY))).await);
        assert!(error.contains("is not above 1.2.0"), "{error}");
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn versions_that_look_like_paths_are_refused() {
    for version in ["../../etc/passwd", "1.2.3/../x", "1/3/0", "1.3.0-rc1", ""] {
        let server = MockServer::start().await;
        mount(
            &server,
            completion(&evolution(version, GOOD_PROMPT).to_string()),
            None,
        )
        .await;
        let error = llm_error(evolve(settings(&server, Some(KEY))).await);
        assert!(error.contains("is not a version like 1.2.3"), "{error}");
    }
}

#[tokio::test]
async fn a_200_kb_prompt_is_refused_without_quoting_it() {
    let server = MockServer::start().await;
    let huge = "photorealistic ".repeat(200 * 1024 / 15);
    mount(
        &server,
        completion(&evolution("1.3.0", &huge).to_string()),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("characters long (at most 2000)"), "{error}");
    assert!(error.len() < 400, "{error}");
}

#[tokio::test]
async fn a_control_character_in_the_prompt_is_refused() {
    let server = MockServer::start().await;
    mount(
        &server,
        completion(&evolution("1.3.0", "a bright room\u{1b}[31m with depth").to_string()),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("control character (U+001B)"), "{error}");
}

#[tokio::test]
async fn missing_keys_and_wrong_types_are_refused() {
    let mut missing = evolution("1.3.0", GOOD_PROMPT);
    missing.as_object_mut().unwrap().remove("negative_prompt");
    let mut wrong = evolution("1.3.0", GOOD_PROMPT);
    wrong["changes"] = json!({"a": 1});
    for (body, expected) in [
        (missing, "lacks \"negative_prompt\""),
        (wrong, "\"changes\" must be a list of strings"),
        (json!({"answer": 42}), "lacks \"new_version\""),
    ] {
        let server = MockServer::start().await;
        mount(&server, completion(&body.to_string()), None).await;
        let error = llm_error(evolve(settings(&server, Some(KEY))).await);
        assert!(error.contains(expected), "{error}");
    }
}

#[tokio::test]
async fn a_single_string_of_changes_is_accepted() {
    let server = MockServer::start().await;
    let mut body = evolution("1.2.1", GOOD_PROMPT);
    body["changes"] = json!("reworded the light");
    mount(&server, completion(&body.to_string()), None).await;
    let proposal = evolve(settings(&server, Some(KEY))).await.unwrap();
    assert_eq!(proposal.changes, ["reworded the light"]);
}

#[tokio::test]
async fn a_refusal_is_an_error_after_max_attempts() {
    let server = MockServer::start().await;
    mount(
        &server,
        answer(
            json!({"role": "assistant", "content": null, "refusal": "I'm sorry, I can't help with that."}),
            "stop",
        ),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("the model refused: \"I'm sorry"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_malformed_body_from_the_server_is_an_error_not_a_proposal() {
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(200).set_body_string("{\"choices\": [ {\"message\""),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("the server's answer is not JSON"), "{error}");

    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("has no choices"), "{error}");
}

#[tokio::test]
async fn rate_limited_then_served_honours_retry_after() {
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "1")
            .set_body_json(json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}})),
        Some(1),
    )
    .await;
    mount(&server, completion(&good_json()), None).await;
    let started = Instant::now();
    evolve(settings(&server, Some(KEY))).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        checked_requests(&server, Some(KEY), "json_object")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn server_errors_are_retried_by_the_transport_then_reported() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(503), Some(2)).await;
    mount(&server, completion(&good_json()), None).await;
    evolve(settings(&server, Some(KEY))).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(500).set_body_json(
            json!({"error": {"message": "The server had an error", "type": "server_error"}}),
        ),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(error.contains("after 4 tries"), "{error}");
    // The transport's retries are not multiplied by the answer attempts.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn insufficient_quota_is_not_retried() {
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(429).set_body_json(json!({"error": {
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}})),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("quota is used up"), "{error}");
    assert!(error.contains("not retried"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_rejected_key_is_one_request_and_never_quoted() {
    let server = MockServer::start().await;
    // OpenAI's message quotes (part of) the key; a careless server all of it.
    mount(
        &server,
        ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": format!("Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com/account/api-keys."),
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(
        error.contains("key rejected (HTTP 401 invalid_api_key)"),
        "{error}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // 403 quotes the server's reason, scrubbed of the key.
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(403).set_body_json(
            json!({"error": {"message": format!("Project of key {KEY} has no access to model"), "code": "model_not_allowed"}}),
        ),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(error.contains("key rejected (HTTP 403"), "{error}");
    assert!(
        error.contains("Project of key *** has no access"),
        "{error}"
    );

    // Without a key the error says one is needed.
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(401), None).await;
    let error = llm_error(evolve(settings(&server, None)).await);
    assert!(
        error.contains("wants an API key and none is configured"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unknown_model_or_url_says_not_found() {
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(404).set_body_json(json!({"error": {
            "message": "The model `gpt-9` does not exist or you do not have access to it.",
            "type": "invalid_request_error", "code": "model_not_found"}})),
        None,
    )
    .await;
    let error = llm_error(evolve(settings(&server, Some(KEY))).await);
    assert!(
        error.contains("model or URL not found (HTTP 404 model_not_found)"),
        "{error}"
    );
    assert!(error.contains("/v1/chat/completions"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_reported_once() {
    // A port that was free a moment ago (wiremock's servers are pooled and
    // keep answering after being dropped).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let error = llm_error(evolve(LlmSettings::new(base, MODEL)).await);
    assert!(error.contains("cannot connect"), "{error}");
}

#[test]
fn bad_settings_are_refused_at_construction() {
    let base = "http://127.0.0.1:9/v1";
    for (settings, expected) in [
        (
            LlmSettings::new("ftp://example.com", MODEL),
            "http:// or https://",
        ),
        (LlmSettings::new("not a url", MODEL), "not a URL"),
        (
            LlmSettings::new("https://example.com/v1?api-version=1", MODEL),
            "must not have a query",
        ),
        (LlmSettings::new(base, " "), "model name is empty"),
        (
            LlmSettings {
                temperature: Some(2.5),
                ..LlmSettings::new(base, MODEL)
            },
            "temperature",
        ),
        (
            LlmSettings {
                max_attempts: 0,
                ..LlmSettings::new(base, MODEL)
            },
            "max_attempts",
        ),
        (
            LlmSettings {
                max_tokens: 0,
                ..LlmSettings::new(base, MODEL)
            },
            "max_tokens",
        ),
    ] {
        let error = LlmEvolver::new(settings, quick_policy())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
}

// ---- embeddings ----

fn embeddings(server: &MockServer, dimensions: Option<u32>) -> EmbeddingsClient {
    EmbeddingsClient::new(
        EmbeddingsSettings {
            base_url: format!("{}/v1/", server.uri()),
            model: "text-embedding-3-small".into(),
            api_key: Some(Secret::new(KEY.into())),
            dimensions,
        },
        quick_policy(),
    )
    .unwrap()
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn vectors_answer(items: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "object": "list", "data": items, "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }))
}

async fn mount_embeddings(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn embeddings_come_back_in_input_order_whatever_the_answer_order() {
    let server = MockServer::start().await;
    mount_embeddings(
        &server,
        vectors_answer(json!([
            {"object": "embedding", "index": 2, "embedding": [0.0, 0.0, 1.0]},
            {"object": "embedding", "index": 0, "embedding": [1.0, 0.0, 0.0]},
            {"object": "embedding", "index": 1, "embedding": [0.0, 1.0, 0.0]},
        ])),
    )
    .await;
    let vectors = embeddings(&server, Some(3))
        .embed(&texts(&["muy plano", "too dark", "sin textura"]))
        .await
        .unwrap();
    assert_eq!(vectors, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].headers.get("authorization").unwrap(),
        &format!("Bearer {KEY}")
    );
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["model"], "text-embedding-3-small");
    assert_eq!(
        body["input"],
        json!(["muy plano", "too dark", "sin textura"])
    );
    assert_eq!(body["dimensions"], 3);
}

#[tokio::test]
async fn embeddings_answers_that_do_not_match_the_inputs_are_errors() {
    let cases = [
        (
            json!([{"index": 0, "embedding": [1.0, 0.0]}]),
            "1 vectors for 2 inputs",
        ),
        (
            json!([{"index": 0, "embedding": [1.0, 0.0]}, {"index": 0, "embedding": [0.0, 1.0]}]),
            "index 0 appears twice",
        ),
        (
            json!([{"index": 0, "embedding": [1.0, 0.0]}, {"index": 5, "embedding": [0.0, 1.0]}]),
            "index 5 is out of range",
        ),
        (
            json!([{"index": 0, "embedding": [1.0, 0.0]}, {"index": 1, "embedding": [0.0, 1.0, 0.5]}]),
            "vector 1 has 3 dimensions, expected 2",
        ),
        (
            // Beyond f32: serde_json parses floats exactly (float_roundtrip) and refuses it.
            json!([{"index": 0, "embedding": [1.0, 0.0]}, {"index": 1, "embedding": [1e39, 1.0]}]),
            "number out of range",
        ),
        (
            json!([{"index": 0, "embedding": []}, {"index": 1, "embedding": []}]),
            "vector 0 is empty",
        ),
        (json!("nope"), "unexpected embeddings answer"),
    ];
    for (data, expected) in cases {
        let server = MockServer::start().await;
        mount_embeddings(&server, vectors_answer(data)).await;
        let error = embeddings(&server, None)
            .embed(&texts(&["a", "b"]))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{expected}: {error}");
        assert_clean(&error);
    }

    // A vector length other than the dimensions asked for.
    let server = MockServer::start().await;
    mount_embeddings(
        &server,
        vectors_answer(json!([{"index": 0, "embedding": [1.0, 0.0]}])),
    )
    .await;
    let error = embeddings(&server, Some(3))
        .embed(&texts(&["a"]))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("has 2 dimensions, expected 3"), "{error}");
}

#[tokio::test]
async fn empty_inputs_are_refused_before_any_request() {
    let server = MockServer::start().await;
    mount_embeddings(&server, vectors_answer(json!([]))).await;
    let client = embeddings(&server, None);
    assert!(client.embed(&[]).await.unwrap().is_empty());
    let error = client
        .embed(&texts(&["fine", "  "]))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("text 1 is empty"), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn embeddings_transport_errors_name_the_call_and_not_the_key() {
    let server = MockServer::start().await;
    mount_embeddings(
        &server,
        ResponseTemplate::new(401).set_body_json(json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "code": "invalid_api_key"}})),
    )
    .await;
    let error = embeddings(&server, None)
        .embed(&texts(&["a"]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("embeddings:text-embedding-3-small"),
        "{error}"
    );
    assert!(error.contains("/v1/embeddings: key rejected"), "{error}");
    assert_clean(&error);
}

/// A rejected sibling keeps its number: an answer that reuses it is a
/// validation failure fed back to the model with the highest existing
/// version, so the next attempt can pick a free one.
#[tokio::test]
async fn a_version_that_exists_already_is_asked_for_again_naming_the_highest() {
    let taken = ["1.0.0", "1.2.0", "1.3.0", "1.4.0"].map(|v| v.parse().unwrap());
    let clashing = EvolutionInput {
        taken_versions: taken.to_vec(),
        ..input()
    };
    let server = MockServer::start().await;
    mount(
        &server,
        completion(&evolution("1.3.0", GOOD_PROMPT).to_string()),
        Some(1),
    )
    .await;
    mount(
        &server,
        completion(&evolution("1.5.0", GOOD_PROMPT).to_string()),
        None,
    )
    .await;
    let evolver = Arc::new(LlmEvolver::new(settings(&server, Some(KEY)), quick_policy()).unwrap());
    let proposal = evolver.clone().propose(clashing.clone()).await.unwrap();
    assert_eq!(proposal.new_version.to_string(), "1.5.0");
    let bodies = checked_requests(&server, Some(KEY), "json_object").await;
    assert_eq!(bodies.len(), 2);
    let retry = user_message(&bodies[1]);
    assert!(
        retry.contains(
            "previous answer was rejected: invalid proposal: version 1.3.0 already exists \
             (the highest existing version is 1.4.0); propose a version above 1.4.0"
        ),
        "{retry}"
    );

    // Clashing on every attempt fails cleanly, naming the clash.
    let server = MockServer::start().await;
    mount(
        &server,
        completion(&evolution("1.4.0", GOOD_PROMPT).to_string()),
        None,
    )
    .await;
    let evolver = Arc::new(LlmEvolver::new(settings(&server, Some(KEY)), quick_policy()).unwrap());
    let error = llm_error(evolver.propose(clashing).await);
    assert!(error.contains("after 3 attempts"), "{error}");
    assert!(error.contains("version 1.4.0 already exists"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
