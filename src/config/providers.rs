//! The `[[providers]]` entries: one arm each, tagged by `type`.
//!
//! Secrets are never part of the config: each network provider names the
//! environment variable its key is read from (with the vendor's usual name
//! as the default).

use serde::{Deserialize, Serialize};

use super::comfyui::ComfyuiConfig;

/// One provider arm: a name the optimizer and the database use, and its type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ProviderConfig {
    /// The built-in global tone and colour engine (offline).
    #[serde(rename = "builtin-tone")]
    BuiltinTone(BuiltinConfig),
    /// The built-in local contrast and detail engine (offline).
    #[serde(rename = "builtin-detail")]
    BuiltinDetail(BuiltinConfig),
    /// AUTOMATIC1111 / SD WebUI started with `--api`, on this machine or the LAN.
    SdWebui(SdWebuiConfig),
    /// Leonardo.Ai REST v1.
    Leonardo(LeonardoConfig),
    /// Stable Diffusion img2img + ControlNet on Replicate.
    Replicate(ReplicateConfig),
    /// Stability AI's structure control (`/v2beta/stable-image/control/structure`).
    Stability(StabilityConfig),
    /// FLUX by Black Forest Labs (`api.bfl.ai`): Kontext / FLUX.2 editing.
    Bfl(BflConfig),
    /// A ComfyUI server running an API-format workflow.
    Comfyui(ComfyuiConfig),
}

/// A built-in engine arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinConfig {
    /// Arm name, e.g. `tone`.
    pub name: String,
}

/// An SD WebUI arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdWebuiConfig {
    /// Arm name, e.g. `webui`.
    pub name: String,
    /// Base URL, e.g. `http://127.0.0.1:7860`.
    pub base_url: String,
    /// ControlNet model as listed by `/controlnet/model_list`.
    pub controlnet_model: String,
    /// ControlNet preprocessor.
    #[serde(default = "default_controlnet_module")]
    pub controlnet_module: String,
    /// Checkpoint to use; unset keeps the webui's current one.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// Sampling steps.
    #[serde(default = "default_steps")]
    pub steps: u32,
    /// Sampler name.
    #[serde(default = "default_sampler")]
    pub sampler: String,
    /// Longest side of the render, pixels.
    #[serde(default = "default_max_side")]
    pub max_side: u32,
    /// Seconds one render may take.
    #[serde(default = "default_render_timeout")]
    pub timeout_secs: u64,
    /// Environment variable holding `user:pass` for `--api-auth`, if any.
    #[serde(default)]
    pub auth_env: Option<String>,
    /// Estimated cost of one render in US dollars (electricity, GPU rent).
    #[serde(default)]
    pub price_per_image: Option<f64>,
}

/// How the room's structure is held on Leonardo. Whether SDXL models accept
/// an init image together with an Edge/Depth ControlNet is unconfirmed, so
/// this is configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeonardoStructure {
    /// `init_image_id` + `init_strength` and a ControlNet on the same image.
    #[default]
    InitAndControlnet,
    /// Image-to-image only (`controlnet_weight` has no effect).
    InitOnly,
    /// ControlNet only (`init_strength` has no effect).
    ControlnetOnly,
}

/// A Leonardo.Ai arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeonardoConfig {
    /// Arm name, e.g. `leonardo`.
    pub name: String,
    /// API base URL (a proxy or a test server may stand in).
    #[serde(default = "leonardo_base_url")]
    pub base_url: String,
    /// Environment variable holding the API key.
    #[serde(default = "leonardo_key_env")]
    pub api_key_env: String,
    /// Model id (default Leonardo Kino XL, an SDXL model).
    #[serde(default = "leonardo_model")]
    pub model_id: String,
    /// ControlNet preprocessor id for the model's family (19 = SDXL Edge to
    /// Image, 20 = SDXL Depth to Image; SD1.5 uses 1 and 3).
    #[serde(default = "leonardo_preprocessor")]
    pub preprocessor_id: u32,
    /// Init image and/or ControlNet.
    #[serde(default)]
    pub structure: LeonardoStructure,
    /// Longest side of the render (Leonardo allows up to 1536, multiples of 8).
    #[serde(default = "default_max_side")]
    pub max_side: u32,
    /// `num_inference_steps` (10–60).
    #[serde(default = "default_steps")]
    pub steps: u32,
    /// Alchemy (the API's default is on, which costs more: sent explicitly).
    #[serde(default)]
    pub alchemy: bool,
    /// First wait between status polls, seconds (grows to 4× this).
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: f64,
    /// Seconds one render may take, upload to download.
    #[serde(default = "default_render_timeout")]
    pub timeout_secs: u64,
    /// Cost of one image in US dollars, used when the API reports its cost
    /// in credits or not at all.
    #[serde(default)]
    pub price_per_image: Option<f64>,
}

/// Which Replicate model's inputs to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicateSchema {
    /// `adirik/interior-design`: `image`, `prompt`, `negative_prompt`,
    /// `prompt_strength`, `guidance_scale`, `num_inference_steps`, `seed`;
    /// its ControlNet scales are fixed inside the model.
    #[default]
    InteriorDesign,
    /// `fofr/sdxl-multi-controlnet-lora`: img2img plus `controlnet_1`
    /// (edge_canny) on the same photo with a conditioning scale.
    SdxlMultiControlnet,
    /// `black-forest-labs/flux-kontext-pro`: `input_image` and the prompt
    /// only (no knob has a field).
    FluxKontextPro,
    /// `black-forest-labs/flux-depth-pro`: `control_image`, `guidance` 1–100.
    FluxDepthPro,
    /// `black-forest-labs/flux-canny-pro`: `control_image`, `guidance` 1–50.
    FluxCannyPro,
    /// `black-forest-labs/flux-dev` img2img: `image`, `prompt_strength`,
    /// `guidance` 0–10 (no structure control).
    FluxDev,
}

impl ReplicateSchema {
    /// Whether this is one of the FLUX schemas (official models: `model`
    /// or `version` must name it).
    pub fn is_flux(self) -> bool {
        !matches!(
            self,
            ReplicateSchema::InteriorDesign | ReplicateSchema::SdxlMultiControlnet
        )
    }
}

/// A Replicate arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicateConfig {
    /// Arm name, e.g. `replicate`.
    pub name: String,
    /// API base URL (a proxy or a test server may stand in).
    #[serde(default = "replicate_base_url")]
    pub base_url: String,
    /// Environment variable holding the API token.
    #[serde(default = "replicate_token_env")]
    pub token_env: String,
    /// `owner/name:<64-hex>` or `<64-hex>`: created through `POST /predictions`.
    /// When neither this nor `model` is set, `adirik/interior-design` at a
    /// pinned version is used.
    #[serde(default)]
    pub version: Option<String>,
    /// `owner/name` of an official model: `POST /models/{owner}/{name}/predictions`.
    #[serde(default)]
    pub model: Option<String>,
    /// Which inputs the model takes.
    #[serde(default)]
    pub schema: ReplicateSchema,
    /// `num_inference_steps`.
    #[serde(default = "default_steps")]
    pub steps: u32,
    /// Longest side of the photo sent (renders come back at about this size).
    #[serde(default = "default_max_side")]
    pub max_side: u32,
    /// `Prefer: wait=N`: seconds the create call may hold for the result (1–60).
    #[serde(default = "replicate_wait")]
    pub wait_secs: u32,
    /// Photos whose data URI (base64) is at most this many KiB are sent
    /// inline; larger ones through the files API.
    #[serde(default = "replicate_inline_kib")]
    pub inline_max_kib: u32,
    /// First wait between status polls, seconds (grows to 4× this).
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: f64,
    /// Seconds one render may take; the prediction is cancelled after it.
    #[serde(default = "default_render_timeout")]
    pub timeout_secs: u64,
    /// Extra model inputs, sent as given (e.g. `{ scheduler = "K_EULER" }`).
    /// They override latina's fixed choices (such as `controlnet_1` or
    /// `sizing_strategy`); the keys in [`REPLICATE_RESERVED_INPUTS`] are
    /// refused.
    #[serde(default)]
    pub extra_input: serde_json::Map<String, serde_json::Value>,
    /// Dollars per second of prediction time (`metrics.predict_time`).
    #[serde(default)]
    pub price_per_second: Option<f64>,
    /// Dollars per render, when the model is priced per output.
    #[serde(default)]
    pub price_per_image: Option<f64>,
}

/// `adirik/interior-design` at the version PROVIDERS.md records.
pub const REPLICATE_DEFAULT_VERSION: &str =
    "adirik/interior-design:76604baddc85b1b4616e1c6475eca080da339c8875bd4996705440484a6eac38";

/// Model inputs latina derives from the photo, the prompts, the optimizer's
/// parameters or `steps`. `extra_input` may not set them: a fixed value
/// would silently cut the optimizer (or the photo) off from the render.
pub const REPLICATE_RESERVED_INPUTS: [&str; 12] = [
    "image",
    "controlnet_1_image",
    "prompt",
    "negative_prompt",
    "prompt_strength",
    "guidance_scale",
    "controlnet_1_conditioning_scale",
    "num_inference_steps",
    "input_image",
    "control_image",
    "guidance",
    "steps",
];

impl ReplicateConfig {
    /// Where a prediction is created and what identifies the model:
    /// `(path, Some(version))` for `POST /predictions`, or
    /// `("/models/o/n/predictions", None)` for an official model.
    pub fn create_target(&self) -> (String, Option<String>) {
        match (&self.model, &self.version) {
            (Some(model), None) => (format!("/models/{model}/predictions"), None),
            (_, Some(version)) => ("/predictions".into(), Some(version.clone())),
            (None, None) => (
                "/predictions".into(),
                Some(REPLICATE_DEFAULT_VERSION.to_string()),
            ),
        }
    }
}

/// A Stability AI structure-control arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StabilityConfig {
    /// Arm name, e.g. `stability`.
    pub name: String,
    /// API base URL (a proxy or a test server may stand in).
    #[serde(default = "stability_base_url")]
    pub base_url: String,
    /// Environment variable holding the API key.
    #[serde(default = "stability_key_env")]
    pub api_key_env: String,
    /// Longest side of the photo sent (the render keeps its aspect).
    #[serde(default = "default_max_side")]
    pub max_side: u32,
    /// `output_format`: `png`, `jpeg` or `webp`.
    #[serde(default = "stability_output_format")]
    pub output_format: String,
    /// `style_preset`, e.g. `photographic`; unset sends none.
    #[serde(default)]
    pub style_preset: Option<String>,
    /// Seconds one render may take (the call is synchronous), retries included.
    #[serde(default = "stability_timeout")]
    pub timeout_secs: u64,
    /// Dollars per render (the API reports no cost).
    #[serde(default)]
    pub price_per_image: Option<f64>,
}

/// Which BFL endpoint renders (`POST /v1/<model>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BflModel {
    /// FLUX.1 Kontext [pro]: prompt-only editing, no knobs.
    #[default]
    #[serde(rename = "flux-kontext-pro")]
    KontextPro,
    /// FLUX.1 Kontext [max]: as [pro], dearer.
    #[serde(rename = "flux-kontext-max")]
    KontextMax,
    /// FLUX.2 [pro]: prompt-only editing, no knobs.
    #[serde(rename = "flux-2-pro")]
    Flux2Pro,
    /// FLUX.2 [flex]: editing with `guidance` and `steps`.
    #[serde(rename = "flux-2-flex")]
    Flux2Flex,
}

impl BflModel {
    /// The endpoint name, as in `POST /v1/<name>`.
    pub fn endpoint(self) -> &'static str {
        match self {
            BflModel::KontextPro => "flux-kontext-pro",
            BflModel::KontextMax => "flux-kontext-max",
            BflModel::Flux2Pro => "flux-2-pro",
            BflModel::Flux2Flex => "flux-2-flex",
        }
    }

    /// The highest `safety_tolerance` the endpoint takes.
    pub fn max_safety_tolerance(self) -> u8 {
        match self {
            BflModel::KontextPro | BflModel::KontextMax => 6,
            BflModel::Flux2Pro | BflModel::Flux2Flex => 5,
        }
    }
}

/// A Black Forest Labs FLUX arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BflConfig {
    /// Arm name, e.g. `flux`.
    pub name: String,
    /// API base URL (`https://api.eu.bfl.ai` for the EU host; a test server may stand in).
    #[serde(default = "bfl_base_url")]
    pub base_url: String,
    /// Environment variable holding the API key (sent as `x-key`).
    #[serde(default = "bfl_key_env")]
    pub api_key_env: String,
    /// The endpoint.
    #[serde(default)]
    pub model: BflModel,
    /// Longest side of the photo sent.
    #[serde(default = "default_max_side")]
    pub max_side: u32,
    /// `output_format`: `png`, `jpeg` or `webp`.
    #[serde(default = "stability_output_format")]
    pub output_format: String,
    /// `safety_tolerance` (0–6 Kontext, 0–5 FLUX.2).
    #[serde(default = "bfl_safety")]
    pub safety_tolerance: u8,
    /// `steps` (FLUX.2 [flex] only, 1–50).
    #[serde(default = "bfl_steps")]
    pub steps: u32,
    /// First wait between polls, seconds (grows to 4× this).
    #[serde(default = "bfl_poll_interval")]
    pub poll_interval_secs: f64,
    /// Seconds one render may take, submit to download.
    #[serde(default = "default_render_timeout")]
    pub timeout_secs: u64,
    /// Dollars per BFL credit (the submit answer's `cost` is in credits).
    #[serde(default = "bfl_usd_per_credit")]
    pub usd_per_credit: f64,
    /// Dollars per render, used when the API reports no cost.
    #[serde(default)]
    pub price_per_image: Option<f64>,
}

fn bfl_base_url() -> String {
    "https://api.bfl.ai".into()
}
fn bfl_key_env() -> String {
    "BFL_API_KEY".into()
}
fn bfl_safety() -> u8 {
    2
}
fn bfl_steps() -> u32 {
    50
}
fn bfl_poll_interval() -> f64 {
    1.0
}
fn bfl_usd_per_credit() -> f64 {
    0.01
}

/// The `output_format` values Stability accepts.
pub const STABILITY_OUTPUT_FORMATS: [&str; 3] = ["png", "jpeg", "webp"];

fn stability_base_url() -> String {
    "https://api.stability.ai".into()
}
fn stability_key_env() -> String {
    "STABILITY_API_KEY".into()
}
fn stability_output_format() -> String {
    "png".into()
}
fn stability_timeout() -> u64 {
    120
}

fn default_controlnet_module() -> String {
    "mlsd".into()
}
fn default_steps() -> u32 {
    25
}
fn default_sampler() -> String {
    "Euler a".into()
}
fn default_max_side() -> u32 {
    1024
}
fn default_render_timeout() -> u64 {
    300
}
fn default_poll_interval() -> f64 {
    2.0
}
fn leonardo_base_url() -> String {
    "https://cloud.leonardo.ai/api/rest/v1".into()
}
fn leonardo_key_env() -> String {
    "LEONARDO_API_KEY".into()
}
fn leonardo_model() -> String {
    "aa77f04e-3eec-4034-9c07-d0f619684628".into()
}
fn leonardo_preprocessor() -> u32 {
    19
}
fn replicate_base_url() -> String {
    "https://api.replicate.com/v1".into()
}
fn replicate_token_env() -> String {
    "REPLICATE_API_TOKEN".into()
}
fn replicate_wait() -> u32 {
    30
}
fn replicate_inline_kib() -> u32 {
    256
}

impl ProviderConfig {
    /// The arm's name.
    pub fn name(&self) -> &str {
        match self {
            ProviderConfig::BuiltinTone(c) | ProviderConfig::BuiltinDetail(c) => &c.name,
            ProviderConfig::SdWebui(c) => &c.name,
            ProviderConfig::Leonardo(c) => &c.name,
            ProviderConfig::Replicate(c) => &c.name,
            ProviderConfig::Stability(c) => &c.name,
            ProviderConfig::Bfl(c) => &c.name,
            ProviderConfig::Comfyui(c) => &c.name,
        }
    }

    /// Whether this arm runs in-process (free, offline).
    pub fn is_builtin(&self) -> bool {
        matches!(
            self,
            ProviderConfig::BuiltinTone(_) | ProviderConfig::BuiltinDetail(_)
        )
    }

    /// The type as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::BuiltinTone(_) => "builtin-tone",
            ProviderConfig::BuiltinDetail(_) => "builtin-detail",
            ProviderConfig::SdWebui(_) => "sd-webui",
            ProviderConfig::Leonardo(_) => "leonardo",
            ProviderConfig::Replicate(_) => "replicate",
            ProviderConfig::Stability(_) => "stability",
            ProviderConfig::Bfl(_) => "bfl",
            ProviderConfig::Comfyui(_) => "comfyui",
        }
    }

    /// The base URL of a network provider.
    pub fn base_url(&self) -> Option<&str> {
        match self {
            ProviderConfig::SdWebui(c) => Some(&c.base_url),
            ProviderConfig::Leonardo(c) => Some(&c.base_url),
            ProviderConfig::Replicate(c) => Some(&c.base_url),
            ProviderConfig::Stability(c) => Some(&c.base_url),
            ProviderConfig::Bfl(c) => Some(&c.base_url),
            ProviderConfig::Comfyui(c) => Some(&c.base_url),
            _ => None,
        }
    }

    /// The environment variable the arm's secret is read from, if any.
    pub fn secret_env(&self) -> Option<&str> {
        match self {
            ProviderConfig::SdWebui(c) => c.auth_env.as_deref(),
            ProviderConfig::Leonardo(c) => Some(&c.api_key_env),
            ProviderConfig::Replicate(c) => Some(&c.token_env),
            ProviderConfig::Stability(c) => Some(&c.api_key_env),
            ProviderConfig::Bfl(c) => Some(&c.api_key_env),
            ProviderConfig::Comfyui(c) => c.auth_env.as_deref(),
            _ => None,
        }
    }
}
