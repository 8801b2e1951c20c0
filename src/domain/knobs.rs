//! Which of the three optimizer knobs an arm honours, how each value is
//! mapped to what its API receives, and the record of what one render
//! applied and ignored.
//!
//! Every arm is searched over the same three reals ([`Params`]), but not
//! every backend has a field for each (FLUX Kontext has none, Stability's
//! structure control only `control_strength`). A provider declares its
//! [`Knobs`]; the optimizer searches only the honoured ones and each
//! experiment keeps an [`AppliedKnobs`] for `show` and `history`.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::Params;

/// One of the optimizer's three reals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Knob {
    /// How far the render moves from the photo.
    InitStrength,
    /// How strongly the prompt is followed.
    GuidanceScale,
    /// How much of the room's structure is kept.
    ControlnetWeight,
}

impl Knob {
    /// The three knobs, in the optimizer's order.
    pub const ALL: [Knob; 3] = [
        Knob::InitStrength,
        Knob::GuidanceScale,
        Knob::ControlnetWeight,
    ];

    /// The name used in the config, output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Knob::InitStrength => "init_strength",
            Knob::GuidanceScale => "guidance_scale",
            Knob::ControlnetWeight => "controlnet_weight",
        }
    }

    /// This knob's value in `params`.
    pub fn value(self, params: &Params) -> f64 {
        match self {
            Knob::InitStrength => params.init_strength,
            Knob::GuidanceScale => params.guidance_scale,
            Knob::ControlnetWeight => params.controlnet_weight,
        }
    }
}

impl fmt::Display for Knob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the optimizer's value of a knob becomes the value an API receives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mapping {
    /// Sent as is.
    Identity,
    /// Sent as is, clamped into the field's range.
    Clamp {
        /// Lowest value the field takes.
        min: f64,
        /// Highest value the field takes.
        max: f64,
    },
    /// Rescaled: `to + (x − from) · scale`, rounded to six decimals (so a
    /// request carries 0.65, not 0.6500000000000001), then clamped.
    Affine {
        /// The optimizer's value that maps to `to`.
        from: f64,
        /// The API's value at `from`.
        to: f64,
        /// API units per optimizer unit (negative to invert).
        scale: f64,
        /// Lowest value the field takes.
        min: f64,
        /// Highest value the field takes.
        max: f64,
    },
}

impl Mapping {
    /// The value the API receives for the optimizer's `x`.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Mapping::Identity => x,
            Mapping::Clamp { min, max } => x.clamp(min, max),
            Mapping::Affine {
                from,
                to,
                scale,
                min,
                max,
            } => {
                let y = to + (x - from) * scale;
                ((y * 1e6).round() / 1e6).clamp(min, max)
            }
        }
    }
}

/// The knobs an arm honours, each with its mapping; `None` for a knob the
/// backend has no field for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    /// `init_strength` (img2img denoising / prompt strength).
    pub init_strength: Option<Mapping>,
    /// `guidance_scale` (CFG or FLUX guidance).
    pub guidance_scale: Option<Mapping>,
    /// `controlnet_weight` (ControlNet or structure strength).
    pub controlnet_weight: Option<Mapping>,
}

impl Knobs {
    /// All three knobs, sent as is: the default for a provider that does
    /// not declare its own.
    pub const ALL: Knobs = Knobs {
        init_strength: Some(Mapping::Identity),
        guidance_scale: Some(Mapping::Identity),
        controlnet_weight: Some(Mapping::Identity),
    };

    /// No knob honoured (the prompt and photo are all the backend takes).
    pub const NONE: Knobs = Knobs {
        init_strength: None,
        guidance_scale: None,
        controlnet_weight: None,
    };

    /// The mapping of `knob`, if honoured.
    pub fn get(&self, knob: Knob) -> Option<Mapping> {
        match knob {
            Knob::InitStrength => self.init_strength,
            Knob::GuidanceScale => self.guidance_scale,
            Knob::ControlnetWeight => self.controlnet_weight,
        }
    }

    /// Per knob, in the optimizer's order, whether it is honoured: what the
    /// optimizer's search space is given.
    pub fn honoured(&self) -> [bool; 3] {
        Knob::ALL.map(|k| self.get(k).is_some())
    }

    /// What a render with `params` sends and leaves out.
    pub fn applied(&self, params: &Params) -> AppliedKnobs {
        let mut out = AppliedKnobs::default();
        for knob in Knob::ALL {
            match self.get(knob) {
                Some(mapping) => out.applied.push(AppliedKnob {
                    knob,
                    sent: mapping.apply(knob.value(params)),
                }),
                None => out.ignored.push(knob),
            }
        }
        out
    }
}

/// A knob a render applied, with the value its API received.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AppliedKnob {
    /// Which knob.
    pub knob: Knob,
    /// The value sent to the provider (after the arm's mapping).
    pub sent: f64,
}

/// What one render applied and ignored, as recorded with its experiment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppliedKnobs {
    /// The knobs sent, with their values as sent.
    pub applied: Vec<AppliedKnob>,
    /// The knobs the arm has no field for.
    pub ignored: Vec<Knob>,
}

/// `init_strength sent 0.3, guidance_scale sent 7.5; ignored controlnet_weight`:
/// what `show` and `history` print.
impl fmt::Display for AppliedKnobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .applied
            .iter()
            .map(|a| format!("{} sent {}", a.knob, round_for_display(a.sent)))
            .collect();
        if parts.is_empty() {
            parts.push("none applied".into());
        }
        let mut text = parts.join(", ");
        if !self.ignored.is_empty() {
            let ignored: Vec<&str> = self.ignored.iter().map(|k| k.name()).collect();
            text.push_str(&format!("; ignored {}", ignored.join(", ")));
        }
        f.write_str(&text)
    }
}

/// Four significant decimals at most, without trailing zeros.
fn round_for_display(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            init_strength: 0.35,
            guidance_scale: 8.5,
            controlnet_weight: 0.8,
        }
    }

    #[test]
    fn mappings_send_identity_clamped_and_rescaled_values() {
        assert_eq!(Mapping::Identity.apply(0.123), 0.123);
        assert_eq!(
            Mapping::Clamp {
                min: 1.0,
                max: 30.0
            }
            .apply(0.5),
            1.0
        );
        assert_eq!(
            Mapping::Clamp {
                min: 1.0,
                max: 30.0
            }
            .apply(7.5),
            7.5
        );
        // 1 − x, as Leonardo's init strength points the other way.
        let invert = Mapping::Affine {
            from: 0.0,
            to: 1.0,
            scale: -1.0,
            min: 0.1,
            max: 0.9,
        };
        assert_eq!(invert.apply(0.35), 0.65);
        assert_eq!(invert.apply(0.0), 0.9);
        // 5 → 10, 12 → 30: slope 20/7.
        let flux = Mapping::Affine {
            from: 5.0,
            to: 10.0,
            scale: 20.0 / 7.0,
            min: 1.0,
            max: 100.0,
        };
        assert_eq!(flux.apply(8.5), 20.0);
        assert_eq!(flux.apply(12.0), 30.0);
    }

    #[test]
    fn applied_lists_sent_values_in_order_and_the_ignored_knobs() {
        let knobs = Knobs {
            init_strength: None,
            guidance_scale: Some(Mapping::Clamp {
                min: 1.5,
                max: 10.0,
            }),
            controlnet_weight: Some(Mapping::Identity),
        };
        assert_eq!(knobs.honoured(), [false, true, true]);
        let a = knobs.applied(&params());
        assert_eq!(
            a.applied,
            vec![
                AppliedKnob {
                    knob: Knob::GuidanceScale,
                    sent: 8.5
                },
                AppliedKnob {
                    knob: Knob::ControlnetWeight,
                    sent: 0.8
                },
            ]
        );
        assert_eq!(a.ignored, vec![Knob::InitStrength]);
        assert_eq!(
            a.to_string(),
            "guidance_scale sent 8.5, controlnet_weight sent 0.8; ignored init_strength"
        );
        assert_eq!(
            Knobs::NONE.applied(&params()).to_string(),
            "none applied; ignored init_strength, guidance_scale, controlnet_weight"
        );
    }

    #[test]
    fn applied_knobs_round_trip_through_json() {
        let a = Knobs::ALL.applied(&params());
        let json = serde_json::to_string(&a).unwrap();
        assert!(
            json.contains(r#""knob":"init_strength","sent":0.35"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<AppliedKnobs>(&json).unwrap(), a);
    }
}
