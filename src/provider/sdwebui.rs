//! AUTOMATIC1111 / SD WebUI (`--api`) on a local or LAN address: img2img
//! with one ControlNet unit on the same photo, base64 in and out.
//!
//! Parameter mapping (the optimizer's meaning is the same everywhere):
//!
//! | optimizer | webui field | mapping |
//! |---|---|---|
//! | `init_strength` (how far from the photo) | `denoising_strength` | same direction, clamped to 0–1 |
//! | `guidance_scale` | `cfg_scale` | same value, clamped to 1–30 |
//! | `controlnet_weight` | ControlNet unit `weight` | same value, clamped to 0–2 |
//!
//! The webui renders one request at a time behind a lock and a render can
//! take minutes, so the request timeout is long and a timed-out render is
//! not sent again (it may still be running). Ctrl-C sends
//! `POST /sdapi/v1/interrupt` so the GPU stops working on it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use std::sync::Arc;

use super::{Check, ProgressFn, RenderOutput, RenderRequest, Secret, Stage, decoded_output};
use crate::domain::{Knobs, Mapping};
use crate::error::{Error, Result};
use crate::http::{HttpClient, HttpPolicy, RequestKind};

/// `denoising_strength`, 0–1.
const DENOISE: Mapping = Mapping::Clamp { min: 0.0, max: 1.0 };
/// `cfg_scale`, 1–30.
const CFG: Mapping = Mapping::Clamp {
    min: 1.0,
    max: 30.0,
};
/// The ControlNet unit's `weight`, 0–2.
const UNIT_WEIGHT: Mapping = Mapping::Clamp { min: 0.0, max: 2.0 };

/// What the img2img + ControlNet request takes: all three knobs, clamped
/// into the fields' ranges.
pub const KNOBS: Knobs = Knobs {
    init_strength: Some(DENOISE),
    guidance_scale: Some(CFG),
    controlnet_weight: Some(UNIT_WEIGHT),
};

/// How to reach and drive one webui.
#[derive(Debug, Clone)]
pub struct SdWebUiSettings {
    /// e.g. `http://127.0.0.1:7860`.
    pub base_url: String,
    /// `user:pass` for `--api-auth`, read from an environment variable by the caller.
    pub basic_auth: Option<(String, Secret)>,
    /// Sampling steps.
    pub steps: u32,
    /// Sampler name, e.g. `Euler a`.
    pub sampler: String,
    /// Checkpoint to use (`override_settings.sd_model_checkpoint`), if set.
    pub checkpoint: Option<String>,
    /// ControlNet preprocessor, e.g. `mlsd`.
    pub controlnet_module: String,
    /// ControlNet model name as listed by `/controlnet/model_list`.
    pub controlnet_model: String,
    /// Longest output side; the other keeps the photo's aspect (multiples of 8).
    pub max_side: u32,
    /// Estimated dollars per render, if the designer set one.
    pub price_per_image: Option<f64>,
}

/// The SD WebUI provider.
pub struct SdWebUi {
    name: String,
    settings: SdWebUiSettings,
    http: HttpClient,
}

#[derive(Deserialize)]
struct Img2ImgAnswer {
    images: Vec<String>,
}

impl SdWebUi {
    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Provider`] if the HTTP client cannot start.
    pub fn new(name: String, settings: SdWebUiSettings, policy: HttpPolicy) -> Result<Self> {
        let http = HttpClient::new(&name, policy)?;
        Ok(SdWebUi {
            name,
            settings,
            http,
        })
    }

    /// Output size: the photo's aspect, longest side `max_side`, multiples of 8.
    pub fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        let scale = self.settings.max_side as f64 / width.max(height).max(1) as f64;
        let round8 = |v: f64| ((v / 8.0).round() as u32).max(8) * 8;
        (round8(width as f64 * scale), round8(height as f64 * scale))
    }

    /// The JSON body for one render; `init_image` is the photo as sent.
    pub fn body(&self, request: &RenderRequest, init_image: &[u8]) -> serde_json::Value {
        let p = request.params;
        let (w, h) = self.output_size(request.source.rgb.width(), request.source.rgb.height());
        let image = BASE64.encode(init_image);
        let mut body = serde_json::json!({
            "init_images": [image],
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "denoising_strength": DENOISE.apply(p.init_strength),
            "cfg_scale": CFG.apply(p.guidance_scale),
            "steps": self.settings.steps,
            "sampler_name": self.settings.sampler,
            "width": w,
            "height": h,
            "batch_size": 1,
            "n_iter": 1,
            "send_images": true,
            "save_images": false,
            "alwayson_scripts": {"controlnet": {"args": [{
                "enabled": true,
                "module": self.settings.controlnet_module,
                "model": self.settings.controlnet_model,
                "weight": UNIT_WEIGHT.apply(p.controlnet_weight),
                "resize_mode": "Crop and Resize",
                "control_mode": "Balanced",
                "pixel_perfect": true,
                "save_detected_map": false
            }]}}
        });
        if let Some(checkpoint) = &self.settings.checkpoint {
            body["override_settings"] = serde_json::json!({ "sd_model_checkpoint": checkpoint });
        }
        body
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    fn authed(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.settings.basic_auth {
            Some((user, pass)) => builder.basic_auth(user, Some(pass.expose())),
            None => builder,
        }
    }

    async fn render_async(
        &self,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> Result<RenderOutput> {
        let url = self.url("/sdapi/v1/img2img");
        // A photo larger than the render is sent scaled down (a 12-megapixel
        // photo would be a 6 MB JSON body for a 1-megapixel render); a smaller
        // one is sent as it is.
        let (width, height) = request.source.rgb.dimensions();
        let body = if width.max(height) > self.settings.max_side {
            progress(Stage::Uploading);
            let source = Arc::clone(&request.source);
            let max_side = self.settings.max_side;
            let upload = tokio::task::spawn_blocking(move || source.upload_image(max_side))
                .await
                .map_err(|e| {
                    self.http
                        .error("prepare the photo", format!("the encoder stopped: {e}"))
                })?;
            self.body(&request, &upload.jpeg)
        } else {
            self.body(&request, &request.source.bytes)
        };
        let what = "POST /sdapi/v1/img2img";
        progress(Stage::Generating);
        let sent = self.http.send(what, RequestKind::CreatesJob, || {
            self.authed(self.http.request(reqwest::Method::POST, &url).json(&body))
        });
        let response = tokio::select! {
            response = sent => response?,
            () = request.cancel.cancelled() => {
                self.interrupt().await;
                return Err(self.http.error(what, "cancelled; asked the webui to interrupt the render"));
            }
        };
        progress(Stage::Downloading);
        let answer: Img2ImgAnswer = self.http.read_json(what, response).await?;
        let first = answer.images.first().ok_or_else(|| Error::Provider {
            provider: self.name.clone(),
            message: format!("{what}: the answer has no image"),
        })?;
        let encoded = first
            .rsplit_once("base64,")
            .map_or(first.as_str(), |(_, b)| b);
        let bytes = BASE64.decode(encoded.trim()).map_err(|_| Error::Provider {
            provider: self.name.clone(),
            message: format!("{what}: the image is not valid base64"),
        })?;
        decoded_output(&self.name, what, bytes, self.settings.price_per_image)
    }

    /// Best effort: the render is abandoned either way.
    async fn interrupt(&self) {
        let url = self.url("/sdapi/v1/interrupt");
        let sent = self
            .authed(self.http.request(reqwest::Method::POST, &url))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await;
        if let Err(e) = sent {
            tracing::warn!(provider = %self.name, error = %e.without_url(), "interrupt not delivered");
        }
    }

    async fn check_async(&self) -> Vec<Check> {
        let http = self.http.for_checks();
        let mut checks = Vec::new();
        let what = "GET /sdapi/v1/samplers";
        let url = self.url("/sdapi/v1/samplers");
        let samplers = match http
            .send(what, RequestKind::Idempotent, || {
                self.authed(http.request(reqwest::Method::GET, &url))
            })
            .await
        {
            Ok(response) => self
                .http
                .read_json::<Vec<NamedItem>>(what, response)
                .await
                .map(|list| list.into_iter().map(|s| s.name).collect::<Vec<_>>()),
            Err(e) => Err(e),
        };
        checks.push(match samplers {
            Ok(names) => Check {
                what: what.into(),
                ok: names.iter().any(|n| n == &self.settings.sampler),
                detail: if names.iter().any(|n| n == &self.settings.sampler) {
                    format!("reachable; sampler {:?} available", self.settings.sampler)
                } else {
                    format!(
                        "reachable, but sampler {:?} is not among its {} samplers",
                        self.settings.sampler,
                        names.len()
                    )
                },
            },
            Err(e) => Check::failed(what, e),
        });
        let what = "GET /controlnet/model_list";
        let url = self.url("/controlnet/model_list");
        let models = match http
            .send(what, RequestKind::Idempotent, || {
                self.authed(http.request(reqwest::Method::GET, &url))
            })
            .await
        {
            Ok(response) => http.read_json::<ModelList>(what, response).await,
            Err(e) => Err(e),
        };
        let wanted = &self.settings.controlnet_model;
        checks.push(match models {
            Ok(list) => {
                let found = list.model_list.iter().any(|m| m == wanted);
                Check {
                    what: what.into(),
                    ok: found,
                    detail: if found {
                        format!("ControlNet model {wanted:?} installed")
                    } else {
                        format!(
                            "ControlNet model {wanted:?} not installed ({} models listed)",
                            list.model_list.len()
                        )
                    },
                }
            }
            Err(e) => Check::failed(what, e),
        });
        checks
    }
}

#[derive(Deserialize)]
struct NamedItem {
    name: String,
}

#[derive(Deserialize)]
struct ModelList {
    model_list: Vec<String>,
}

remote_image_provider!(
    SdWebUi,
    |arm| name: &arm.name,
    max_side: arm.settings.max_side,
    knobs: KNOBS,
);
