//! One conformance suite for the retry and deadline rules every vendor
//! shares: the same faults, played by a fake server on the request that
//! starts work (Leonardo `POST /generations`, Replicate `POST /predictions`,
//! SD WebUI `POST /sdapi/v1/img2img`, ComfyUI `POST /prompt`) and on the
//! LLM's chat completion,
//! each checked against the one policy:
//!
//! * a job-creating request is sent again only after a 429, a 503 with
//!   `Retry-After`, or a refused connection; after any other 5xx, a hang or
//!   a dropped connection it fails once, saying a job may exist;
//! * the LLM's request is idempotent: passing failures are retried;
//! * every call ends by its deadline (`timeout_secs`), retries included;
//! * no error carries the key, even when the server echoes it.
//!
//! The suite asserts every cell and prints the fault matrix that README.md
//! quotes (`cargo test --test http_conformance -- --nocapture`).

mod support;

use latina::config::{ComfyuiConfig, LeonardoConfig, LeonardoStructure, ReplicateConfig};
use latina::evolve::llm::{LlmEvolver, LlmSettings};
use latina::evolve::{EvolutionInput, Evolver, IssueCount, ParentPrompt, RatedComment};
use latina::http::HttpPolicy;
use latina::provider::comfyui::Comfyui;
use latina::provider::leonardo::Leonardo;
use latina::provider::replicate::Replicate;
use latina::provider::sdwebui::{SdWebUi, SdWebUiSettings};
use latina::provider::{ImageProvider, Secret};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Canned, RawServer, no_progress, params, render_request, requests_to};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "conformance-key-3e9d1a7c5b";
/// Every client's configured timeout: the overall deadline of its step.
const DEADLINE: Duration = Duration::from_secs(2);
/// Tolerance on top of the deadline (a busy machine must not fail it).
const SLACK: Duration = Duration::from_millis(1500);
/// Retries after the first try, as the policy says.
const RETRIES: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Client {
    Leonardo,
    Replicate,
    SdWebUi,
    Comfyui,
    Llm,
}

const CLIENTS: [Client; 5] = [
    Client::Leonardo,
    Client::Replicate,
    Client::SdWebUi,
    Client::Comfyui,
    Client::Llm,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Status(u16),
    /// A 503 carrying the API's own `Retry-After: 0`.
    UnavailableRetryAfter,
    /// Accepts the request and never answers.
    Hang,
    /// Reads the request and closes the connection without an answer.
    Drop,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 401 whose body and headers quote the key.
    Echo,
}

const FAULTS: [Fault; 10] = [
    Fault::Status(429),
    Fault::Status(500),
    Fault::Status(502),
    Fault::Status(503),
    Fault::UnavailableRetryAfter,
    Fault::Status(504),
    Fault::Hang,
    Fault::Drop,
    Fault::Malformed,
    Fault::Echo,
];

impl Fault {
    fn label(self) -> String {
        match self {
            Fault::Status(code) => code.to_string(),
            Fault::UnavailableRetryAfter => "503 + Retry-After".into(),
            Fault::Hang => "hang".into(),
            Fault::Drop => "drop".into(),
            Fault::Malformed => "malformed JSON".into(),
            Fault::Echo => "echoing body (401)".into(),
        }
    }

    fn answer(self) -> ResponseTemplate {
        match self {
            Fault::Status(code) => ResponseTemplate::new(code).set_body_string("upstream trouble"),
            Fault::UnavailableRetryAfter => ResponseTemplate::new(503)
                .insert_header("retry-after", "0")
                .set_body_string("busy"),
            Fault::Hang => ResponseTemplate::new(200).set_delay(Duration::from_secs(60)),
            Fault::Drop => unreachable!("played by the raw server"),
            Fault::Malformed => {
                ResponseTemplate::new(200).set_body_raw("{\"not json", "application/json")
            }
            Fault::Echo => ResponseTemplate::new(401)
                .insert_header("x-echo", format!("Bearer {KEY}"))
                .set_body_json(serde_json::json!({
                    "error": format!("invalid key {KEY}"),
                    "detail": format!("token {KEY} is not valid"),
                })),
        }
    }
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Leonardo => "Leonardo",
            Client::Replicate => "Replicate",
            Client::SdWebUi => "SD WebUI",
            Client::Comfyui => "ComfyUI",
            Client::Llm => "LLM",
        }
    }

    /// The path of the request that starts work (the chat call for the LLM).
    fn job_path(self) -> &'static str {
        match self {
            Client::Leonardo => "/generations",
            Client::Replicate => "/v1/predictions",
            Client::SdWebUi => "/sdapi/v1/img2img",
            Client::Comfyui => "/prompt",
            Client::Llm => "/v1/chat/completions",
        }
    }

    /// Requests the policy allows for `fault`: the rule under test.
    fn expected_requests(self, fault: Fault) -> usize {
        let all = RETRIES as usize + 1;
        match (self, fault) {
            (_, Fault::Hang | Fault::Echo) => 1,
            (_, Fault::Status(429) | Fault::UnavailableRetryAfter) => all,
            // The LLM's chat call is idempotent; a malformed answer is asked
            // for again, up to max_attempts (3) requests.
            (Client::Llm, _) => all,
            // Job-creating: anything else may have started a job.
            (_, _) => 1,
        }
    }
}

fn policy() -> HttpPolicy {
    HttpPolicy {
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        request_timeout: DEADLINE,
        max_retries: RETRIES,
        ..HttpPolicy::default()
    }
}

fn evolution_input() -> EvolutionInput {
    EvolutionInput {
        parent: ParentPrompt {
            version: "1.0.0".parse().unwrap(),
            prompt: "Professional interior photograph of the same room".into(),
            negative_prompt: "cartoon".into(),
        },
        issues: vec![IssueCount {
            issue: "flat_look".into(),
            count: 4,
            mean_stars: 2.0,
        }],
        comments: vec![RatedComment {
            stars: 2,
            comment: "muy plano".into(),
        }],
        recent_mean: 2.0,
        taken_versions: Vec::new(),
        existing_prompts: Vec::new(),
    }
}

/// Runs `client` against a base URL; the error's text.
async fn call(client: Client, base: &str) -> String {
    let secs = DEADLINE.as_secs();
    let request = || render_request("a bright living room", "cartoon", params());
    let result = match client {
        Client::Leonardo => {
            let config = LeonardoConfig {
                name: "leo".into(),
                base_url: base.to_string(),
                api_key_env: "LEONARDO_API_KEY".into(),
                model_id: "aa77f04e-3eec-4034-9c07-d0f619684628".into(),
                preprocessor_id: 19,
                structure: LeonardoStructure::InitAndControlnet,
                max_side: 512,
                steps: 30,
                alchemy: false,
                poll_interval_secs: 0.02,
                timeout_secs: secs,
                price_per_image: None,
            };
            let leo = Leonardo::new(config, Secret::new(KEY.into()), policy()).unwrap();
            Arc::new(leo)
                .render(request(), no_progress())
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Client::Replicate => {
            let config: ReplicateConfig = serde_json::from_value(serde_json::json!({
                "name": "rep", "base_url": format!("{base}/v1"), "wait_secs": 1,
                "timeout_secs": secs, "poll_interval_secs": 0.02,
            }))
            .unwrap();
            let rep = Replicate::new(config, Secret::new(KEY.into()), policy()).unwrap();
            Arc::new(rep)
                .render(request(), no_progress())
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Client::SdWebUi => {
            let settings = SdWebUiSettings {
                base_url: base.to_string(),
                basic_auth: Some(("ana".into(), Secret::new(KEY.into()))),
                steps: 20,
                sampler: "Euler a".into(),
                checkpoint: None,
                controlnet_module: "mlsd".into(),
                controlnet_model: "m".into(),
                max_side: 512,
                price_per_image: None,
            };
            let sd = SdWebUi::new("gpu".into(), settings, policy()).unwrap();
            Arc::new(sd)
                .render(request(), no_progress())
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Client::Comfyui => {
            let config: ComfyuiConfig = serde_json::from_value(serde_json::json!({
                "name": "comfy", "base_url": base, "timeout_secs": secs,
                "poll_interval_secs": 0.02, "max_side": 512,
            }))
            .unwrap();
            // The key stands in for a proxy's token.
            let comfy = Comfyui::new(config, Some(Secret::new(KEY.into())), policy()).unwrap();
            Arc::new(comfy)
                .render(request(), no_progress())
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Client::Llm => {
            let settings = LlmSettings {
                api_key: Some(Secret::new(KEY.into())),
                ..LlmSettings::new(format!("{base}/v1"), "gpt-4o-mini")
            };
            let llm = LlmEvolver::new(settings, policy()).unwrap();
            Arc::new(llm)
                .propose(evolution_input())
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => "succeeded".into(),
        Err(text) => text,
    }
}

/// Leonardo's steps before the create call: init image, S3 upload.
async fn mount_leonardo_upload(api: &MockServer, s3: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/init-image"))
        .respond_with(ResponseTemplate::new(200).set_body_json(leonardo_init(s3)))
        .mount(api)
        .await;
    Mock::given(method("POST"))
        .and(path("/s3-upload"))
        .respond_with(ResponseTemplate::new(204))
        .mount(s3)
        .await;
}

/// ComfyUI's step before the queue call: the photo's upload.
async fn mount_comfyui_upload(api: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/upload/image"))
        .respond_with(ResponseTemplate::new(200).set_body_json(comfyui_uploaded()))
        .mount(api)
        .await;
}

fn comfyui_uploaded() -> serde_json::Value {
    serde_json::json!({"name": "room (1).png", "subfolder": "", "type": "input"})
}

fn leonardo_init(s3: &MockServer) -> serde_json::Value {
    serde_json::json!({"uploadInitImage": {
        "id": "init-1", "url": format!("{}/s3-upload", s3.uri()), "fields": {"key": "k"},
    }})
}

struct Cell {
    requests: usize,
    elapsed: Duration,
    error: String,
}

async fn run(client: Client, fault: Fault) -> Cell {
    let s3 = MockServer::start().await;
    if fault == Fault::Drop {
        let mut answers = HashMap::new();
        answers.insert(
            "/init-image".to_string(),
            Canned {
                status: 200,
                body: leonardo_init(&s3).to_string(),
            },
        );
        answers.insert(
            "/upload/image".to_string(),
            Canned {
                status: 200,
                body: comfyui_uploaded().to_string(),
            },
        );
        if client == Client::Leonardo {
            mount_leonardo_upload(&s3, &s3).await;
        }
        let server = RawServer::start(answers, client.job_path()).await;
        let started = Instant::now();
        let error = call(client, &server.uri).await;
        return Cell {
            requests: server.count(client.job_path()),
            elapsed: started.elapsed(),
            error,
        };
    }
    let server = MockServer::start().await;
    if client == Client::Leonardo {
        mount_leonardo_upload(&server, &s3).await;
    }
    if client == Client::Comfyui {
        mount_comfyui_upload(&server).await;
    }
    Mock::given(method("POST"))
        .and(path(client.job_path()))
        .respond_with(fault.answer())
        .mount(&server)
        .await;
    let started = Instant::now();
    let error = call(client, &server.uri()).await;
    Cell {
        requests: requests_to(&server, "POST", client.job_path()).await.len(),
        elapsed: started.elapsed(),
        error,
    }
}

/// What the error says, in the matrix: without the provider's name and
/// the call (the row names them), the test server's address elided.
fn recorded(error: &str) -> String {
    let mut text = error.to_string();
    if let Some(rest) = text.strip_prefix("provider ") {
        text = rest.split_once(": ").map_or(rest, |(_, r)| r).to_string();
    }
    if let Some(rest) = text.strip_prefix("the LLM evolver failed: ") {
        text = rest.to_string();
    }
    if text.starts_with("POST ") {
        text = text
            .split_once(": ")
            .map_or(text.as_str(), |(_, r)| r)
            .to_string();
    }
    let text = text.replace('|', "/");
    let short: String = text.chars().take(140).collect();
    if text.chars().count() > 140 {
        format!("{short}…")
    } else {
        short
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_follows_the_one_retry_and_deadline_policy() {
    let mut matrix = format!(
        "| client | fault | requests | time (deadline {} s) | recorded |\n|---|---|---|---|---|\n",
        DEADLINE.as_secs()
    );
    let mut failures = Vec::new();
    for client in CLIENTS {
        for fault in FAULTS {
            let cell = run(client, fault).await;
            let expected = client.expected_requests(fault);
            let mut problems = Vec::new();
            if cell.requests != expected {
                problems.push(format!("{} requests, expected {expected}", cell.requests));
            }
            if cell.elapsed > DEADLINE + SLACK {
                problems.push(format!("took {:?}", cell.elapsed));
            }
            if cell.error.contains(KEY) || cell.error == "succeeded" {
                problems.push(format!("error: {}", cell.error));
            }
            let unknown_fate = matches!(
                fault,
                Fault::Status(500 | 502 | 503 | 504) | Fault::Hang | Fault::Drop
            );
            if client != Client::Llm
                && unknown_fate
                && !cell.error.contains("may have been created")
            {
                problems.push(format!("does not say a job may exist: {}", cell.error));
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} / {}: {}",
                    client.name(),
                    fault.label(),
                    problems.join("; ")
                ));
            }
            matrix.push_str(&format!(
                "| {} | {} | {} | {:.2} s | {} |\n",
                client.name(),
                fault.label(),
                cell.requests,
                cell.elapsed.as_secs_f64(),
                recorded(&cell.error)
            ));
        }
    }
    println!("{matrix}");
    assert!(failures.is_empty(), "{}\n\n{matrix}", failures.join("\n"));
}

/// A `Retry-After` beyond the deadline is not waited for: every client
/// fails at once and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_past_the_deadline_fails_at_once() {
    for client in CLIENTS {
        let server = MockServer::start().await;
        let s3 = MockServer::start().await;
        if client == Client::Leonardo {
            mount_leonardo_upload(&server, &s3).await;
        }
        if client == Client::Comfyui {
            mount_comfyui_upload(&server).await;
        }
        Mock::given(method("POST"))
            .and(path(client.job_path()))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
            .mount(&server)
            .await;
        let started = Instant::now();
        let error = call(client, &server.uri()).await;
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(1), "{client:?}: {elapsed:?}");
        assert!(
            error.contains("asks to wait 30 s, past the 2 s deadline"),
            "{client:?}: {error}"
        );
        let sent = requests_to(&server, "POST", client.job_path()).await.len();
        assert_eq!(sent, 1, "{client:?}");
    }
}
