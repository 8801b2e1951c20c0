//! The inputs of Black Forest Labs' FLUX models on Replicate (official
//! models, created at `/models/black-forest-labs/<name>/predictions`).
//!
//! None of them has a negative-prompt field: the negative prompt is folded
//! into the prompt (`… Avoid: ….`). Parameter mapping:
//!
//! | optimizer | `flux-kontext-pro` | `flux-depth-pro` | `flux-canny-pro` | `flux-dev` (img2img) |
//! |---|---|---|---|---|
//! | `init_strength` | not sent | not sent | not sent | `prompt_strength`, 0–1 |
//! | `guidance_scale` | not sent | `guidance` = 10 + (g − 5) × 20/7, 1–100 | the same, 1–50 | `guidance`, clamped to 0–10 |
//! | `controlnet_weight` | not sent | not sent (the control is always full) | not sent | not sent |
//! | config `steps` | – | `steps`, 15–50 | `steps`, 15–50 | `num_inference_steps`, 1–50 |
//!
//! The depth/canny rescale sends the optimizer's range 5–12 to 10–30 (the
//! models' defaults are 15 and 30); it is a heuristic, not documented.
//! Kontext gets `aspect_ratio: "match_input_image"` and
//! `safety_tolerance: 2`, the most Replicate allows with an input image.

use serde_json::{Map, Value};

use crate::config::ReplicateSchema;
use crate::domain::{Knobs, Mapping};
use crate::provider::{RenderRequest, folded_prompt};

/// FLUX `guidance` for depth/canny [pro] from the optimizer's
/// `guidance_scale`: 5 → 10, 12 → 30, linear, clamped to `1..=max`.
pub fn control_guidance(guidance_scale: f64, max: f64) -> f64 {
    control_guidance_mapping(max).apply(guidance_scale)
}

/// The depth/canny rescale as a [`Mapping`].
const fn control_guidance_mapping(max: f64) -> Mapping {
    Mapping::Affine {
        from: 5.0,
        to: 10.0,
        scale: 20.0 / 7.0,
        min: 1.0,
        max,
    }
}

/// flux-dev `prompt_strength`, 0–1.
const DEV_STRENGTH: Mapping = Mapping::Clamp { min: 0.0, max: 1.0 };
/// flux-dev `guidance`, 0–10.
const DEV_GUIDANCE: Mapping = Mapping::Clamp {
    min: 0.0,
    max: 10.0,
};

/// The knobs a FLUX schema honours (see the table above); `NONE` for the
/// SD schemas, which [`super::knobs`] covers.
pub fn knobs(schema: ReplicateSchema) -> Knobs {
    match schema {
        ReplicateSchema::FluxDepthPro => Knobs {
            guidance_scale: Some(control_guidance_mapping(100.0)),
            ..Knobs::NONE
        },
        ReplicateSchema::FluxCannyPro => Knobs {
            guidance_scale: Some(control_guidance_mapping(50.0)),
            ..Knobs::NONE
        },
        ReplicateSchema::FluxDev => Knobs {
            init_strength: Some(DEV_STRENGTH),
            guidance_scale: Some(DEV_GUIDANCE),
            controlnet_weight: None,
        },
        ReplicateSchema::FluxKontextPro
        | ReplicateSchema::InteriorDesign
        | ReplicateSchema::SdxlMultiControlnet => Knobs::NONE,
    }
}

/// The model inputs for one render whose photo is at `image` (a data URI
/// or a file URL); `schema` must be a FLUX schema.
pub fn input(
    schema: ReplicateSchema,
    steps: u32,
    request: &RenderRequest,
    image: &str,
) -> Map<String, Value> {
    let p = request.params;
    let mut input = Map::new();
    input.insert(
        "prompt".into(),
        folded_prompt(&request.prompt, &request.negative_prompt).into(),
    );
    match schema {
        ReplicateSchema::FluxKontextPro => {
            input.insert("input_image".into(), image.into());
            input.insert("aspect_ratio".into(), "match_input_image".into());
            input.insert("safety_tolerance".into(), 2.into());
        }
        ReplicateSchema::FluxDepthPro | ReplicateSchema::FluxCannyPro => {
            let max = if schema == ReplicateSchema::FluxDepthPro {
                100.0
            } else {
                50.0
            };
            input.insert("control_image".into(), image.into());
            input.insert(
                "guidance".into(),
                control_guidance(p.guidance_scale, max).into(),
            );
            input.insert("steps".into(), steps.clamp(15, 50).into());
        }
        ReplicateSchema::FluxDev => {
            input.insert("image".into(), image.into());
            input.insert(
                "prompt_strength".into(),
                DEV_STRENGTH.apply(p.init_strength).into(),
            );
            input.insert(
                "guidance".into(),
                DEV_GUIDANCE.apply(p.guidance_scale).into(),
            );
            input.insert("num_inference_steps".into(), steps.clamp(1, 50).into());
        }
        ReplicateSchema::InteriorDesign | ReplicateSchema::SdxlMultiControlnet => {}
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_guidance_maps_the_optimizer_range_to_10_to_30_and_clamps() {
        assert_eq!(control_guidance(5.0, 100.0), 10.0);
        assert_eq!(control_guidance(12.0, 100.0), 30.0);
        assert_eq!(control_guidance(8.5, 100.0), 20.0);
        assert_eq!(control_guidance(40.0, 50.0), 50.0);
        assert_eq!(control_guidance(0.0, 50.0), 1.0);
    }
}
