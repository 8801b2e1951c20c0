//! The `type = "comfyui"` arm's settings: where the ComfyUI server is, which
//! API-format workflow it runs (the shipped default when none is named),
//! how to tell its nodes apart, and the render's bounds.
//!
//! The workflow file itself is read and checked when the arm is built
//! (`provider::comfyui`), where its nodes are understood; here it is only a
//! path, made absolute against the config file's folder by `load`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A ComfyUI arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComfyuiConfig {
    /// Arm name, e.g. `comfy`.
    pub name: String,
    /// The server, e.g. `http://127.0.0.1:8188` (ComfyUI's default).
    #[serde(default = "comfyui_base_url")]
    pub base_url: String,
    /// The workflow exported with "Save (API)"; unset uses the shipped
    /// img2img + depth ControlNet workflow (SD1.5).
    #[serde(default)]
    pub workflow: Option<PathBuf>,
    /// `_meta.title` of the positive `CLIPTextEncode`, when following the
    /// sampler's `positive` input is not wanted or not possible.
    #[serde(default)]
    pub positive_title: Option<String>,
    /// `_meta.title` of the negative `CLIPTextEncode`.
    #[serde(default)]
    pub negative_title: Option<String>,
    /// `_meta.title` of the `KSampler` to fill when the workflow has several.
    #[serde(default)]
    pub sampler_title: Option<String>,
    /// `_meta.title` of the `LoadImage` that receives the photo when the
    /// workflow has several.
    #[serde(default)]
    pub image_title: Option<String>,
    /// Sets `CheckpointLoaderSimple.ckpt_name` (unset keeps the workflow's).
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// Sets `ControlNetLoader.control_net_name` (unset keeps the workflow's).
    #[serde(default)]
    pub controlnet_model: Option<String>,
    /// Environment variable holding a token sent as `Authorization: Bearer`
    /// (ComfyUI itself has no auth; a proxy in front of it may).
    #[serde(default)]
    pub auth_env: Option<String>,
    /// Longest side of the photo uploaded.
    #[serde(default = "comfyui_max_side")]
    pub max_side: u32,
    /// First wait between `/history` polls when the websocket is not
    /// available, seconds (grows to 4× this).
    #[serde(default = "comfyui_poll_interval")]
    pub poll_interval_secs: f64,
    /// Seconds one render may take, upload to download; past it the job is
    /// deleted from the queue or interrupted.
    #[serde(default = "comfyui_timeout")]
    pub timeout_secs: u64,
    /// Estimated cost of one render in US dollars (your own GPU: unset
    /// records no cost).
    #[serde(default)]
    pub price_per_image: Option<f64>,
}

fn comfyui_base_url() -> String {
    "http://127.0.0.1:8188".into()
}
fn comfyui_max_side() -> u32 {
    1024
}
fn comfyui_poll_interval() -> f64 {
    1.0
}
fn comfyui_timeout() -> u64 {
    300
}

impl ComfyuiConfig {
    /// What [`super::validate`] checks beyond the types; the message says
    /// what was expected.
    pub(super) fn check(&self) -> std::result::Result<(), String> {
        if !(64..=4096).contains(&self.max_side) {
            return Err("max_side: expected 64-4096".into());
        }
        if !(self.poll_interval_secs.is_finite()
            && (0.01..=60.0).contains(&self.poll_interval_secs)
            && self.timeout_secs > 0)
        {
            return Err("expected poll_interval_secs 0.01-60 and timeout_secs > 0".into());
        }
        if self.auth_env.as_deref().is_some_and(str::is_empty) {
            return Err("auth_env: expected a variable name".into());
        }
        let titles = [
            ("positive_title", &self.positive_title),
            ("negative_title", &self.negative_title),
            ("sampler_title", &self.sampler_title),
            ("image_title", &self.image_title),
            ("checkpoint", &self.checkpoint),
            ("controlnet_model", &self.controlnet_model),
        ];
        if let Some((key, _)) = titles
            .iter()
            .find(|(_, v)| v.as_deref().is_some_and(|t| t.trim().is_empty()))
        {
            return Err(format!("{key}: expected a non-empty name"));
        }
        if self
            .price_per_image
            .is_some_and(|p| !(p.is_finite() && p >= 0.0))
        {
            return Err("price_per_image: expected a number >= 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ProviderConfig, parse};

    const NO_ENV: [(&str, &str); 0] = [];

    #[test]
    fn a_comfyui_arm_gets_defaults_and_its_values_are_checked() {
        let text = "[[providers]]\nname = \"comfy\"\ntype = \"comfyui\"\n";
        let config = parse("f", text, NO_ENV).unwrap();
        let ProviderConfig::Comfyui(c) = &config.providers[0] else {
            panic!("{:?}", config.providers[0]);
        };
        assert_eq!(c.base_url, "http://127.0.0.1:8188");
        assert_eq!(
            (c.workflow.as_ref(), c.timeout_secs, c.max_side),
            (None, 300, 1024)
        );
        assert_eq!(config.providers[0].kind(), "comfyui");
        for (extra, key) in [
            ("max_side = 10\n", "max_side"),
            ("timeout_secs = 0\n", "timeout_secs"),
            ("auth_env = \"\"\n", "auth_env"),
            ("positive_title = \" \"\n", "positive_title"),
            ("price_per_image = -1.0\n", "price_per_image"),
            ("base_url = \"127.0.0.1:8188\"\n", "base_url"),
            ("workflw = \"x.json\"\n", "workflw"),
        ] {
            let err = parse("f", &format!("{text}{extra}"), NO_ENV)
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{extra}: {err}");
        }
    }
}
