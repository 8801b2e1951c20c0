//! ComfyUI (`type = "comfyui"`): the designer's own API-format workflow (or
//! the shipped img2img + depth ControlNet one) on their own GPU.
//!
//! One render:
//!
//! 1. The photo, scaled to `max_side`, goes up once per batch
//!    (`POST /upload/image`); the name the server returns (it may rename
//!    the file) goes into `LoadImage.image`.
//! 2. The websocket `/ws?clientId=C` is opened, then the filled workflow is
//!    queued with `POST /prompt {prompt, client_id: C}` (never re-sent
//!    after an answer that may mean it was accepted) and its `prompt_id`
//!    read from the answer.
//! 3. Events are read until the prompt ends; when the socket cannot connect
//!    or drops, `GET /history/{id}` is polled instead (and, every ten poll
//!    intervals, while the socket is open but silent).
//! 4. `/history/{id}` names the `SaveImage` file; `/view` fetches it.
//!
//! At the deadline (`timeout_secs`) or on Ctrl-C the prompt is deleted from
//! the queue and, if it is running, interrupted.
//!
//! Parameter mapping (all three knobs have a real equivalent):
//!
//! | optimizer | node input | mapping |
//! |---|---|---|
//! | `init_strength` | `KSampler.denoise` | as is, clamped to 0–1 |
//! | `guidance_scale` | `KSampler.cfg` | as is, clamped to 0–100 |
//! | `controlnet_weight` | `ControlNetApplyAdvanced`/`ControlNetApply` `strength` | as is, clamped to 0–10 (no effect when the workflow has no ControlNet) |
//!
//! `KSampler.seed` is the variant's seed ([`variant_seed`]). Cost: the
//! config's `price_per_image`, else none (your own GPU).

pub mod client;
pub mod socket;
pub mod workflow;

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use super::{
    Check, ProgressFn, RenderOutput, RenderRequest, Secret, Stage, download_image, error_detail,
};
use crate::config::ComfyuiConfig;
use crate::domain::{Knobs, Mapping};
use crate::error::{Error, Result};
use crate::http::{HttpClient, HttpPolicy, PollSchedule, WaitEnd};
use client::Api;
use serde_json::Value;
use workflow::{Fill, Titles, Workflow};

/// The ComfyUI provider.
pub struct Comfyui {
    name: String,
    config: ComfyuiConfig,
    workflow: Workflow,
    api: Api,
    http: HttpClient,
}

/// How waiting for a queued prompt ended.
enum Waited {
    Entry(Value),
    Failed(String),
    Stopped(WaitEnd),
}

/// The seed of a variant: the first 53 bits of SHA-256 over its prompts
/// and parameters, so the same variant renders the same way again and
/// different variants differ (53 bits: what ComfyUI's web page shows
/// without rounding).
pub fn variant_seed(request: &RenderRequest) -> u64 {
    let p = request.params;
    let mut hash = Sha256::new();
    hash.update(request.prompt.as_bytes());
    hash.update([0]);
    hash.update(request.negative_prompt.as_bytes());
    for v in [p.init_strength, p.guidance_scale, p.controlnet_weight] {
        hash.update(v.to_bits().to_le_bytes());
    }
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first) & ((1u64 << 53) - 1)
}

/// The arm's workflow as it will be submitted: the configured file (or
/// the shipped one), its nodes found, the configured models applied.
///
/// # Errors
/// As [`Comfyui::new`]: an unreadable file, or a workflow latina cannot fill.
fn load_workflow(config: &ComfyuiConfig) -> Result<Workflow> {
    let name = &config.name;
    let (label, text) = match &config.workflow {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("cannot read the ComfyUI workflow", path, e))?;
            (path.display().to_string(), text)
        }
        None => (
            "(the shipped ComfyUI workflow)".to_string(),
            workflow::DEFAULT_WORKFLOW.to_string(),
        ),
    };
    let fail = |message: String| Error::Config {
        source_label: label.clone(),
        location: format!("provider `{name}`: "),
        message,
    };
    let titles = Titles {
        positive: config.positive_title.clone(),
        negative: config.negative_title.clone(),
        sampler: config.sampler_title.clone(),
        image: config.image_title.clone(),
    };
    let mut workflow = Workflow::parse(&text, &titles).map_err(fail)?;
    for (key, class, input, value) in [
        (
            "checkpoint",
            "CheckpointLoaderSimple",
            "ckpt_name",
            &config.checkpoint,
        ),
        (
            "controlnet_model",
            "ControlNetLoader",
            "control_net_name",
            &config.controlnet_model,
        ),
    ] {
        if let Some(value) = value
            && workflow.set_all(class, input, value) == 0
        {
            return Err(fail(format!(
                "{key} is set, but the workflow has no {class} node to put it in"
            )));
        }
    }
    Ok(workflow)
}

/// How the optimizer's knobs reach the workflow, clamped as the fill
/// clamps them ([`Workflow::fill`]).
const DENOISE: Mapping = Mapping::Clamp { min: 0.0, max: 1.0 };
const CFG: Mapping = Mapping::Clamp {
    min: 0.0,
    max: 100.0,
};
const CONTROLNET_STRENGTH: Mapping = Mapping::Clamp {
    min: 0.0,
    max: 10.0,
};

/// The knobs a workflow honours: the sampler's `denoise` and `cfg` always
/// (a workflow without a KSampler is refused), the ControlNet `strength`
/// only when it applies a ControlNet.
pub fn knobs_of_workflow(workflow: &Workflow) -> Knobs {
    Knobs {
        init_strength: Some(DENOISE),
        guidance_scale: Some(CFG),
        controlnet_weight: (!workflow.slots.controlnets.is_empty()).then_some(CONTROLNET_STRENGTH),
    }
}

/// [`knobs_of_workflow`] from the config alone. A workflow that cannot be
/// read or filled counts as honouring all three: the arm itself then fails
/// to build and says why.
pub fn knobs(config: &ComfyuiConfig) -> Knobs {
    load_workflow(config).map_or(Knobs::ALL, |w| knobs_of_workflow(&w))
}

impl Comfyui {
    /// Builds the arm: reads and checks the workflow (the shipped one when
    /// the config names none) and applies the configured model names.
    ///
    /// # Errors
    /// [`Error::Config`] naming the workflow file when it cannot be read,
    /// is not an API-format workflow, or lacks a node latina fills (the
    /// message names the node class); [`Error::Provider`] if the HTTP
    /// client cannot start.
    pub fn new(config: ComfyuiConfig, auth: Option<Secret>, policy: HttpPolicy) -> Result<Self> {
        let name = config.name.clone();
        let workflow = load_workflow(&config)?;
        Ok(Comfyui {
            http: HttpClient::new(&name, policy)?,
            api: Api::new(&config.base_url, auth),
            name,
            config,
            workflow,
        })
    }

    /// The workflow as understood (nodes found, models applied).
    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    /// The workflow submitted for `request` once the photo is uploaded as `image`.
    pub fn filled(&self, request: &RenderRequest, image: &str) -> Value {
        let p = request.params;
        self.workflow.fill(&Fill {
            image,
            positive: &request.prompt,
            negative: &request.negative_prompt,
            denoise: p.init_strength,
            cfg: p.guidance_scale,
            seed: variant_seed(request),
            strength: p.controlnet_weight,
        })
    }

    /// Uploads the photo once per batch; returns the name on the server.
    async fn upload(&self, http: &HttpClient, request: &RenderRequest) -> Result<String> {
        let slot = request.source.remote_id(&self.name);
        let name = slot
            .get_or_try_init(|| async {
                let source = Arc::clone(&request.source);
                let max_side = self.config.max_side;
                let upload = tokio::task::spawn_blocking(move || source.upload_image(max_side))
                    .await
                    .map_err(|e| {
                        http.error("prepare the photo", format!("the encoder stopped: {e}"))
                    })?;
                // Named by content: the server keeps one copy of the same photo.
                let digest = Sha256::digest(&upload.jpeg);
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                self.api
                    .upload(http, &upload.jpeg, &format!("latina-{hex}.jpg"))
                    .await
            })
            .await?;
        Ok(name.clone())
    }

    async fn render_async(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> Result<RenderOutput> {
        let deadline = Instant::now() + Duration::from_secs(self.config.timeout_secs);
        let http = self.http.until(deadline);
        progress(Stage::Uploading);
        let image = tokio::select! {
            image = self.upload(&http, &request) => image?,
            () = request.cancel.cancelled() => {
                return Err(http.error("POST /upload/image", "cancelled; nothing was queued"));
            }
        };
        let client_id = uuid::Uuid::new_v4().to_string();
        let within = http.policy().connect_timeout;
        let socket = match socket::connect(self.api.base(), &client_id, self.api.auth(), within)
            .await
        {
            Ok(s) => Some(s),
            Err(why) => {
                tracing::info!(provider = %self.name, why = %why, "websocket unavailable; polling /history");
                None
            }
        };
        let graph = self.filled(&request, &image);
        progress(Stage::Queued);
        let prompt_id = tokio::select! {
            id = self.api.submit(&http, &graph, &client_id) => id?,
            () = request.cancel.cancelled() => {
                return Err(http.error("POST /prompt", "cancelled while queueing; ComfyUI may still run the workflow"));
            }
        };
        tracing::info!(provider = %self.name, prompt_id = %prompt_id, "ComfyUI prompt queued");
        let entry = match self
            .wait(&http, socket, &prompt_id, &request, deadline, &progress)
            .await
        {
            Ok(Waited::Entry(entry)) => entry,
            Ok(Waited::Failed(why)) => return Err(http.error("ComfyUI", why)),
            Ok(Waited::Stopped(end)) => {
                let done = self.api.cancel(&self.http, &prompt_id).await;
                let why = match end {
                    WaitEnd::Cancelled => "cancelled".to_string(),
                    WaitEnd::TimedOut => format!("timed out after {} s", self.config.timeout_secs),
                };
                return Err(http.error(
                    "ComfyUI",
                    format!("{why} waiting for prompt {prompt_id}; {done}"),
                ));
            }
            Err(e) => {
                let done = self.api.cancel(&self.http, &prompt_id).await;
                return Err(http.error("ComfyUI", format!("{}; {done}", error_detail(e))));
            }
        };
        let file = client::finished_image(&entry, &self.workflow.slots.save)
            .map_err(|why| http.error("GET /history", why))?;
        progress(Stage::Downloading);
        download_image(
            &http,
            &self.api.view_url(&file),
            self.api.auth(),
            self.config.price_per_image,
        )
        .await
    }

    /// Follows the prompt over the socket, else (or after it drops) polls
    /// `/history/{id}` until the entry appears.
    async fn wait(
        &self,
        http: &HttpClient,
        socket: Option<socket::Socket>,
        prompt_id: &str,
        request: &RenderRequest,
        deadline: Instant,
        progress: &ProgressFn,
    ) -> Result<Waited> {
        if let Some(mut ws) = socket {
            let started = AtomicBool::new(false);
            let running = || {
                if !started.swap(true, Ordering::Relaxed) {
                    progress(Stage::Generating);
                }
            };
            // A socket that stays silent (a proxy that accepts the upgrade
            // but forwards nothing, a server that sends events elsewhere)
            // must not hold the render until the deadline: /history is
            // checked now and then meanwhile.
            let every =
                Duration::from_secs_f64((self.config.poll_interval_secs * 10.0).clamp(0.1, 10.0));
            let meanwhile = async {
                loop {
                    tokio::time::sleep(every).await;
                    if let Ok(Some(entry)) = self.api.history(http, prompt_id).await {
                        return entry;
                    }
                }
            };
            let end = tokio::select! {
                end = socket::follow(&mut ws, prompt_id, &running) => end,
                entry = meanwhile => return Ok(Waited::Entry(entry)),
                () = request.cancel.cancelled() => return Ok(Waited::Stopped(WaitEnd::Cancelled)),
                () = tokio::time::sleep_until(deadline) => return Ok(Waited::Stopped(WaitEnd::TimedOut)),
            };
            match end {
                socket::End::Finished => {}
                socket::End::Failed(why) => return Ok(Waited::Failed(why)),
                socket::End::Dropped(why) => {
                    tracing::warn!(provider = %self.name, why = %why, "websocket dropped; polling /history");
                }
            }
        }
        let mut schedule = PollSchedule::new(
            Duration::from_secs_f64(self.config.poll_interval_secs),
            deadline.saturating_duration_since(Instant::now()),
        );
        loop {
            let entry = tokio::select! {
                entry = self.api.history(http, prompt_id) => entry?,
                () = request.cancel.cancelled() => return Ok(Waited::Stopped(WaitEnd::Cancelled)),
            };
            if let Some(entry) = entry {
                return Ok(Waited::Entry(entry));
            }
            match schedule.wait(&request.cancel).await {
                Ok(()) if schedule.expired() => return Ok(Waited::Stopped(WaitEnd::TimedOut)),
                Ok(()) => {}
                Err(end) => return Ok(Waited::Stopped(end)),
            }
        }
    }

    async fn check_async(&self) -> Vec<Check> {
        let source = match &self.config.workflow {
            Some(path) => path.display().to_string(),
            None => "the shipped img2img + depth ControlNet workflow".into(),
        };
        let s = &self.workflow.slots;
        let mut checks = vec![Check {
            what: "workflow".into(),
            ok: true,
            detail: format!(
                "{source}: LoadImage {}, prompt {}{}, KSampler {}, {} ControlNet node(s), SaveImage {}",
                s.load_image,
                s.positive,
                s.negative
                    .as_ref()
                    .map(|n| format!(" / negative {n}"))
                    .unwrap_or_default(),
                s.sampler,
                s.controlnets.len(),
                s.save
            ),
        }];
        let http = self.http.for_checks();
        let what = "GET /object_info";
        let info = match self.api.object_info(&http).await {
            Ok(info) => info,
            Err(e) => {
                checks.push(Check::failed(what, e));
                return checks;
            }
        };
        checks.extend(installed(&self.workflow, &info));
        checks
    }
}

/// What `/object_info` says about the workflow: every node class it uses
/// exists, and every model file it names is in the node's list.
pub fn installed(workflow: &Workflow, info: &Value) -> Vec<Check> {
    let missing: Vec<String> = workflow
        .classes()
        .into_iter()
        .filter(|c| {
            info.get(c)
                .is_none_or(|v| v.as_object().is_none_or(|o| o.is_empty()))
        })
        .collect();
    let classes = workflow.classes().len();
    let nodes = Check {
        what: "node classes".into(),
        ok: missing.is_empty(),
        detail: if missing.is_empty() {
            format!("all {classes} node classes of the workflow are installed")
        } else {
            format!(
                "not installed on the server: {} (install the custom nodes that provide them)",
                missing.join(", ")
            )
        },
    };
    let absent: BTreeSet<&String> = missing.iter().collect();
    let mut found = Vec::new();
    let mut lacking = Vec::new();
    for m in workflow.models() {
        if absent.contains(&m.class) {
            continue;
        }
        let choice = &info[&m.class]["input"]["required"][&m.input];
        let list = match &choice[0] {
            Value::Array(list) => Some(list),
            // Newer node schemas: ["COMBO", {"options": [...]}].
            Value::String(s) if s == "COMBO" => choice[1]["options"].as_array(),
            _ => None,
        };
        let Some(list) = list else { continue };
        if list.iter().any(|v| v.as_str() == Some(m.name.as_str())) {
            found.push(m.name);
        } else {
            lacking.push(format!(
                "{} {:?} (node {}, {}; the server lists {})",
                m.input,
                m.name,
                m.node,
                m.class,
                list.len()
            ));
        }
    }
    let models = Check {
        what: "models".into(),
        ok: lacking.is_empty(),
        detail: if lacking.is_empty() {
            format!("installed: {}", found.join(", "))
        } else {
            format!("not installed: {}", lacking.join("; "))
        },
    };
    vec![nodes, models]
}

remote_image_provider!(
    Comfyui,
    |arm| name: &arm.name,
    max_side: arm.config.max_side,
    knobs: knobs_of_workflow(&arm.workflow),
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn doctor_reads_missing_classes_and_models_from_object_info() {
        let wf = Workflow::parse(workflow::DEFAULT_WORKFLOW, &Titles::default()).unwrap();
        let mut info = serde_json::Map::new();
        for class in wf.classes() {
            info.insert(class, json!({"input": {"required": {}}}));
        }
        info.insert(
            "CheckpointLoaderSimple".into(),
            json!({"input": {"required": {"ckpt_name": [["v1-5-pruned-emaonly.safetensors", "other.ckpt"]]}}}),
        );
        info.insert(
            "ControlNetLoader".into(),
            json!({"input": {"required": {"control_net_name": ["COMBO", {"options": ["canny.pth"]}]}}}),
        );
        info.insert("MiDaS-DepthMapPreprocessor".into(), json!({}));
        let checks = installed(&wf, &Value::Object(info));
        assert!(!checks[0].ok);
        assert_eq!(
            checks[0].detail,
            "not installed on the server: MiDaS-DepthMapPreprocessor (install the custom nodes that provide them)"
        );
        assert!(!checks[1].ok);
        assert_eq!(
            checks[1].detail,
            "not installed: control_net_name \"control_v11f1p_sd15_depth.pth\" (node 6, ControlNetLoader; the server lists 1)"
        );
    }
}
