//! Which knobs each configured arm honours, read from its config: what the
//! optimizer's search space and the experiment records are built from
//! without building the arm (no key needed).

use super::{bfl, comfyui, leonardo, replicate, sdwebui, stability};
use crate::config::ProviderConfig;
use crate::domain::Knobs;

/// The knobs the arm `config` honours, each with its mapping (what
/// [`super::ImageProvider::knobs`] of the built arm returns).
pub fn knobs_of(config: &ProviderConfig) -> Knobs {
    match config {
        ProviderConfig::BuiltinTone(_) | ProviderConfig::BuiltinDetail(_) => Knobs::ALL,
        ProviderConfig::SdWebui(_) => sdwebui::KNOBS,
        ProviderConfig::Leonardo(c) => leonardo::knobs(c.structure),
        ProviderConfig::Replicate(c) => replicate::knobs(c.schema),
        ProviderConfig::Stability(_) => stability::KNOBS,
        ProviderConfig::Bfl(c) => bfl::knobs(c.model),
        ProviderConfig::Comfyui(c) => comfyui::knobs(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppliedKnob, Knob, Params};

    fn arm(toml_text: &str) -> ProviderConfig {
        toml::from_str(toml_text).unwrap()
    }

    fn params(init_strength: f64, guidance_scale: f64, controlnet_weight: f64) -> Params {
        Params {
            init_strength,
            guidance_scale,
            controlnet_weight,
        }
    }

    /// The values sent, `None` for an ignored knob.
    fn sent(config: &ProviderConfig, p: Params) -> [Option<f64>; 3] {
        let knobs = knobs_of(config);
        Knob::ALL.map(|k| knobs.get(k).map(|m| m.apply(k.value(&p))))
    }

    /// The built arm answers what its config says (keys from a fake env).
    fn built_agrees(config: &ProviderConfig) {
        let env = |var: &str| (var != "NONE").then(|| "k".to_string());
        let built = super::super::build(config, &env).unwrap();
        assert_eq!(built.knobs(), knobs_of(config), "{}", config.name());
    }

    #[test]
    fn builtin_and_webui_arms_honour_all_three() {
        let tone = arm("type = \"builtin-tone\"\nname = \"t\"");
        assert_eq!(knobs_of(&tone), Knobs::ALL);
        let webui = arm(
            "type = \"sd-webui\"\nname = \"w\"\nbase_url = \"http://127.0.0.1:7860\"\ncontrolnet_model = \"m\"",
        );
        // Clamped into denoising_strength 0–1, cfg_scale 1–30, weight 0–2.
        assert_eq!(
            sent(&webui, params(0.3, 40.0, 0.8)),
            [Some(0.3), Some(30.0), Some(0.8)]
        );
        built_agrees(&tone);
        built_agrees(&webui);
    }

    #[test]
    fn leonardo_follows_its_structure_setting_and_inverts_init_strength() {
        let both = arm("type = \"leonardo\"\nname = \"l\"");
        assert_eq!(
            sent(&both, params(0.35, 25.0, 0.8)),
            [Some(0.65), Some(20.0), Some(0.8)]
        );
        let init_only = arm("type = \"leonardo\"\nname = \"l\"\nstructure = \"init-only\"");
        assert_eq!(knobs_of(&init_only).honoured(), [true, true, false]);
        let cn_only = arm("type = \"leonardo\"\nname = \"l\"\nstructure = \"controlnet-only\"");
        assert_eq!(knobs_of(&cn_only).honoured(), [false, true, true]);
        built_agrees(&init_only);
    }

    #[test]
    fn replicate_knobs_follow_the_model_schema() {
        let schema = |s: &str| {
            arm(&format!(
                "type = \"replicate\"\nname = \"r\"\nschema = \"{s}\"\nmodel = \"o/n\""
            ))
        };
        let p = params(0.3, 8.5, 0.8);
        assert_eq!(
            sent(&schema("interior-design"), p),
            [Some(0.3), Some(8.5), None]
        );
        assert_eq!(
            sent(&schema("sdxl-multi-controlnet"), params(0.3, 60.0, 5.0)),
            [Some(0.3), Some(50.0), Some(4.0)]
        );
        assert_eq!(sent(&schema("flux-kontext-pro"), p), [None, None, None]);
        // 10 + (g − 5)·20/7: 8.5 → 20; canny caps at 50.
        assert_eq!(sent(&schema("flux-depth-pro"), p), [None, Some(20.0), None]);
        assert_eq!(
            sent(&schema("flux-canny-pro"), params(0.3, 30.0, 0.8)),
            [None, Some(50.0), None]
        );
        assert_eq!(
            sent(&schema("flux-dev"), params(0.3, 12.0, 0.8)),
            [Some(0.3), Some(10.0), None]
        );
        built_agrees(&schema("flux-depth-pro"));
    }

    #[test]
    fn stability_sends_controlnet_weight_as_control_strength_only() {
        let s = arm("type = \"stability\"\nname = \"s\"");
        assert_eq!(sent(&s, params(0.3, 8.0, 0.8)), [None, None, Some(0.8)]);
        assert_eq!(sent(&s, params(0.3, 8.0, 1.3)), [None, None, Some(1.0)]);
        assert_eq!(
            knobs_of(&s).applied(&params(0.3, 8.0, 0.75)).applied,
            vec![AppliedKnob {
                knob: Knob::ControlnetWeight,
                sent: 0.75
            }]
        );
        built_agrees(&s);
    }

    #[test]
    fn bfl_kontext_and_flux2_pro_take_no_knob_and_flex_takes_guidance() {
        let model = |m: &str| arm(&format!("type = \"bfl\"\nname = \"b\"\nmodel = \"{m}\""));
        for m in ["flux-kontext-pro", "flux-kontext-max", "flux-2-pro"] {
            assert_eq!(knobs_of(&model(m)), Knobs::NONE, "{m}");
        }
        let flex = model("flux-2-flex");
        assert_eq!(sent(&flex, params(0.3, 7.0, 0.8)), [None, Some(7.0), None]);
        assert_eq!(
            sent(&flex, params(0.3, 12.0, 0.8)),
            [None, Some(10.0), None]
        );
        built_agrees(&flex);
    }

    #[test]
    fn comfyui_takes_the_controlnet_strength_only_when_its_workflow_applies_one() {
        // The shipped workflow: img2img with a depth ControlNet.
        let shipped = arm("type = \"comfyui\"\nname = \"c\"");
        assert_eq!(
            sent(&shipped, params(0.3, 120.0, 12.0)),
            [Some(0.3), Some(100.0), Some(10.0)]
        );
        built_agrees(&shipped);

        // The designer's own img2img workflow, no ControlNet in it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img2img_api.json");
        std::fs::write(
            &path,
            serde_json::json!({
                "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
                "2": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
                "3": {"class_type": "VAEEncode", "inputs": {"pixels": ["2", 0], "vae": ["1", 2]}},
                "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "pos", "clip": ["1", 1]}},
                "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "neg", "clip": ["1", 1]}},
                "6": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "positive": ["4", 0], "negative": ["5", 0], "latent_image": ["3", 0], "seed": 1, "cfg": 7.0, "denoise": 0.5}},
                "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
                "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0]}}
            })
            .to_string(),
        )
        .unwrap();
        let own = arm(&format!(
            "type = \"comfyui\"\nname = \"c\"\nworkflow = {:?}",
            path.to_str().unwrap()
        ));
        assert_eq!(knobs_of(&own).honoured(), [true, true, false]);
        built_agrees(&own);

        // A workflow that cannot be read is not guessed at: all three (the
        // arm itself refuses to build, naming the file).
        let missing = arm("type = \"comfyui\"\nname = \"c\"\nworkflow = \"/nonexistent/w.json\"");
        assert_eq!(knobs_of(&missing), Knobs::ALL);
    }
}
