//! The ComfyUI arm against a local fake ComfyUI (`support/comfy_fake.rs`):
//! the upload's multipart, the node values of the submitted workflow, the
//! websocket flow (with an unknown event, another prompt's events and a
//! binary preview), the `/history` polling fallback, validation and
//! execution errors, the deadline and Ctrl-C cancelling the prompt, and a
//! 5xx on `POST /prompt` that is not retried.

use latina::config::ComfyuiConfig;
use latina::domain::Params;
use latina::provider::comfyui::{Comfyui, variant_seed};
use latina::provider::{ImageProvider, ProgressFn, RenderRequest, Secret, Stage};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/comfy_fake.rs"]
mod comfy_fake;
mod support;
use comfy_fake::{Fake, Outcome, Script, WsMode};
use support::{no_progress, params, png_bytes, quick_policy, render_request};

const TOKEN: &str = "comfy-proxyToken-9d1e77";

fn config(fake: &Fake, timeout_secs: u64) -> ComfyuiConfig {
    let text = format!(
        "name = \"comfy\"\nbase_url = \"{}\"\npoll_interval_secs = 0.02\ntimeout_secs = {timeout_secs}\n",
        fake.base
    );
    toml::from_str(&text).unwrap()
}

fn arm(fake: &Fake, timeout_secs: u64, token: Option<&str>) -> Arc<Comfyui> {
    Arc::new(
        Comfyui::new(
            config(fake, timeout_secs),
            token.map(|t| Secret::new(t.to_string())),
            quick_policy(),
        )
        .unwrap(),
    )
}

async fn start_fake(script: Script) -> Fake {
    comfy_fake::start(script, png_bytes(64, 48)).await
}

fn request() -> RenderRequest {
    render_request(
        "a bright scandinavian living room",
        "blurry, distorted",
        params(),
    )
}

fn recorder() -> (ProgressFn, Arc<Mutex<Vec<Stage>>>) {
    let stages = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&stages);
    (Arc::new(move |s| sink.lock().unwrap().push(s)), stages)
}

fn message(result: latina::Result<latina::provider::RenderOutput>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_uploads_once_queues_the_filled_workflow_and_follows_the_websocket() {
    let fake = start_fake(Script::default()).await;
    let comfy = arm(&fake, 20, None);
    let first = request();
    let (progress, stages) = recorder();
    let out = Arc::clone(&comfy)
        .render(first.clone(), progress)
        .await
        .unwrap();
    assert_eq!(out.bytes, png_bytes(64, 48));
    assert_eq!(out.extension, "png");
    assert_eq!(out.cost_usd, None, "your own GPU: no price configured");
    assert!(
        stages
            .lock()
            .unwrap()
            .iter()
            .filter(|s| **s == Stage::Generating)
            .count()
            == 1,
        "the websocket's executing event is seen"
    );

    // A second variant of the same photo with other parameters.
    let other = Params {
        init_strength: 0.2,
        guidance_scale: 6.0,
        controlnet_weight: 0.75,
    };
    let second = RenderRequest {
        params: other,
        ..first.clone()
    };
    Arc::clone(&comfy)
        .render(second.clone(), no_progress())
        .await
        .unwrap();

    let uploads = fake.seen.uploads.lock().unwrap().clone();
    assert_eq!(uploads.len(), 1, "the photo goes up once per batch");
    let up = &uploads[0];
    assert!(
        up.filename.starts_with("latina-") && up.filename.ends_with(".jpg"),
        "{}",
        up.filename
    );
    assert_eq!(up.content_type, "image/jpeg");
    assert_eq!(up.fields.get("type").map(String::as_str), Some("input"));
    let sent = image::load_from_memory(&up.bytes).unwrap();
    assert_eq!(
        image::guess_format(&up.bytes).unwrap(),
        image::ImageFormat::Jpeg
    );
    assert!(sent.width().max(sent.height()) <= 1024);

    let prompts = fake.seen.prompts.lock().unwrap().clone();
    let clients = fake.seen.ws_clients.lock().unwrap().clone();
    assert_eq!((prompts.len(), clients.len()), (2, 2));
    for ((body, client), (req, p)) in prompts
        .iter()
        .zip(&clients)
        .zip([(&first, params()), (&second, other)])
    {
        assert_eq!(
            body["client_id"].as_str(),
            Some(client.as_str()),
            "POST /prompt's client_id is the socket's clientId"
        );
        let g = &body["prompt"];
        // The name the server returned, renamed, not the one sent.
        assert_eq!(
            g["2"]["inputs"]["image"],
            json!(format!("{} (1).png", up.filename.trim_end_matches(".jpg")))
        );
        assert_eq!(
            g["4"]["inputs"]["text"],
            "a bright scandinavian living room"
        );
        assert_eq!(g["5"]["inputs"]["text"], "blurry, distorted");
        assert_eq!(g["9"]["inputs"]["denoise"], json!(p.init_strength));
        assert_eq!(g["9"]["inputs"]["cfg"], json!(p.guidance_scale));
        assert_eq!(g["8"]["inputs"]["strength"], json!(p.controlnet_weight));
        assert_eq!(g["9"]["inputs"]["seed"], json!(variant_seed(req)));
    }
    assert_ne!(
        prompts[0]["prompt"]["9"]["inputs"]["seed"],
        prompts[1]["prompt"]["9"]["inputs"]["seed"]
    );
    assert_ne!(clients[0], clients[1], "a fresh client id per render");
    let views = fake.seen.views.lock().unwrap().clone();
    assert_eq!(views.len(), 2);
    assert_eq!(
        views[0].get("filename").map(String::as_str),
        Some("latina_00001_.png")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_websocket_the_history_is_polled_until_the_entry_appears() {
    let fake = start_fake(Script {
        ws: WsMode::Refuse,
        history_pending_polls: 3,
        ..Script::default()
    })
    .await;
    let out = arm(&fake, 20, None)
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(out.bytes, png_bytes(64, 48));
    assert!(fake.seen.ws_clients.lock().unwrap().is_empty());
    assert!(fake.seen.history_gets.load(Ordering::SeqCst) >= 4);
    assert_eq!(fake.seen.prompts.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_drops_after_queueing_falls_back_to_polling() {
    let fake = start_fake(Script {
        ws: WsMode::DropAfterQueue,
        history_pending_polls: 2,
        ..Script::default()
    })
    .await;
    let out = arm(&fake, 20, None)
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(out.bytes, png_bytes(64, 48));
    assert_eq!(fake.seen.ws_clients.lock().unwrap().len(), 1);
    assert!(fake.seen.history_gets.load(Ordering::SeqCst) >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_websocket_does_not_hold_the_render_until_the_deadline() {
    let fake = start_fake(Script {
        ws: WsMode::Silent,
        ..Script::default()
    })
    .await;
    let started = Instant::now();
    let out = arm(&fake, 20, None)
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(out.bytes, png_bytes(64, 48));
    assert_eq!(fake.seen.ws_clients.lock().unwrap().len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_error_names_the_node_and_its_message_and_is_not_retried() {
    let body = json!({
        "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
        "node_errors": {"1": {"errors": [{"type": "value_not_in_list", "message": "Value not in list", "details": "ckpt_name: 'v1-5-pruned-emaonly.safetensors' not in ['dreamshaper_8.safetensors']", "extra_info": {}}], "dependent_outputs": ["11"], "class_type": "CheckpointLoaderSimple"}}
    });
    let fake = start_fake(Script {
        prompt_error: Some((400, body)),
        ..Script::default()
    })
    .await;
    let msg = message(arm(&fake, 20, None).render(request(), no_progress()).await);
    assert_eq!(
        msg,
        "provider comfy: POST /prompt: HTTP 400 Bad Request: Prompt outputs failed validation; node 1 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'v1-5-pruned-emaonly.safetensors' not in ['dreamshaper_8.safetensors']"
    );
    assert_eq!(fake.seen.prompts.lock().unwrap().len(), 1);
    let fake = fake_string_error().await;
    let msg = message(arm(&fake, 20, None).render(request(), no_progress()).await);
    assert!(msg.ends_with("HTTP 400 Bad Request: no prompt"), "{msg}");
}

async fn fake_string_error() -> Fake {
    start_fake(Script {
        prompt_error: Some((400, json!({"error": "no prompt", "node_errors": []}))),
        ..Script::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_error_fails_the_variant_with_the_node_and_exception_over_the_socket_and_by_polling()
 {
    for ws in [WsMode::Events, WsMode::Refuse] {
        let fake = start_fake(Script {
            ws,
            outcome: Outcome::ExecutionError,
            ..Script::default()
        })
        .await;
        let msg = message(arm(&fake, 20, None).render(request(), no_progress()).await);
        assert!(
            msg.ends_with("execution failed at node 9 (KSampler): torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"),
            "{ws:?}: {msg}"
        );
        assert!(fake.seen.views.lock().unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_deletes_the_prompt_from_the_queue_and_interrupts_it() {
    for ws in [WsMode::Events, WsMode::Refuse] {
        let fake = start_fake(Script {
            ws,
            outcome: Outcome::Hang,
            ..Script::default()
        })
        .await;
        let started = Instant::now();
        let msg = message(arm(&fake, 1, None).render(request(), no_progress()).await);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(6),
            "{ws:?}: bounded by the deadline: {took:?}"
        );
        assert!(
            msg.contains("timed out after 1 s waiting for prompt fake-prompt-1"),
            "{msg}"
        );
        assert!(msg.ends_with("interrupted it on ComfyUI"), "{msg}");
        assert_eq!(
            *fake.seen.queue_posts.lock().unwrap(),
            [json!({"delete": ["fake-prompt-1"]})]
        );
        assert_eq!(
            *fake.seen.interrupts.lock().unwrap(),
            [json!({"prompt_id": "fake-prompt-1"})]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_cancels_the_prompt_on_the_server() {
    let fake = start_fake(Script {
        outcome: Outcome::Hang,
        ..Script::default()
    })
    .await;
    let req = request();
    let cancel = req.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        cancel.cancel();
    });
    let msg = message(arm(&fake, 30, None).render(req, no_progress()).await);
    assert!(
        msg.contains("cancelled waiting for prompt fake-prompt-1"),
        "{msg}"
    );
    assert_eq!(fake.seen.queue_posts.lock().unwrap().len(), 1);
    assert_eq!(fake.seen.interrupts.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_on_post_prompt_is_not_sent_again() {
    for status in [500, 502, 503] {
        let fake = start_fake(Script {
            prompt_error: Some((status, json!({"detail": "boom"}))),
            ..Script::default()
        })
        .await;
        let msg = message(arm(&fake, 20, None).render(request(), no_progress()).await);
        assert_eq!(
            fake.seen.prompts.lock().unwrap().len(),
            1,
            "{status}: exactly one POST /prompt"
        );
        assert!(msg.contains("may have been created"), "{status}: {msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_token_is_sent_everywhere_and_never_shown() {
    let fake = start_fake(Script {
        token: Some(TOKEN.into()),
        ..Script::default()
    })
    .await;
    let out = arm(&fake, 20, Some(TOKEN))
        .render(request(), no_progress())
        .await
        .unwrap();
    assert_eq!(out.bytes, png_bytes(64, 48));
    assert_eq!(
        fake.seen.ws_clients.lock().unwrap().len(),
        1,
        "the websocket carried the token too"
    );
    assert_eq!(fake.seen.unauthorized.load(Ordering::SeqCst), 0);
    let wrong = "comfy-wrongToken-0000";
    let msg = message(
        arm(&fake, 20, Some(wrong))
            .render(request(), no_progress())
            .await,
    );
    assert!(msg.contains("HTTP 401"), "{msg}");
    assert!(!msg.contains(wrong) && !msg.contains(TOKEN), "{msg}");
    let checks = arm(&fake, 20, Some(wrong)).check().await;
    let text: String = checks
        .iter()
        .map(|c| format!("{} {}\n", c.what, c.detail))
        .collect();
    assert!(text.contains("HTTP 401") && !text.contains(wrong), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_node_classes_and_models_against_object_info() {
    let ok = comfy_fake::object_info(
        &["v1-5-pruned-emaonly.safetensors"],
        &["control_v11f1p_sd15_depth.pth"],
        &[],
    );
    let fake = start_fake(Script {
        object_info: ok,
        ..Script::default()
    })
    .await;
    let checks = arm(&fake, 20, None).check().await;
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert_eq!(
        checks[1].detail,
        "all 10 node classes of the workflow are installed"
    );
    assert_eq!(
        checks[2].detail,
        "installed: v1-5-pruned-emaonly.safetensors, control_v11f1p_sd15_depth.pth"
    );

    let missing = comfy_fake::object_info(
        &["dreamshaper_8.safetensors"],
        &["control_v11f1p_sd15_depth.pth"],
        &["MiDaS-DepthMapPreprocessor"],
    );
    let fake = start_fake(Script {
        object_info: missing,
        ..Script::default()
    })
    .await;
    let checks: Vec<(bool, String)> = arm(&fake, 20, None)
        .check()
        .await
        .into_iter()
        .map(|c| (c.ok, c.detail))
        .collect();
    assert_eq!(checks[1], (false, "not installed on the server: MiDaS-DepthMapPreprocessor (install the custom nodes that provide them)".into()));
    assert_eq!(checks[2], (false, "not installed: ckpt_name \"v1-5-pruned-emaonly.safetensors\" (node 1, CheckpointLoaderSimple; the server lists 1)".into()));
}
