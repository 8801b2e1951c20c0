//! `[optimizer]`: the search space bounds, the initial design and the
//! optimizer's choices, with the `[low, high]` range reader.

use serde::{Deserialize, Serialize};

use crate::optim::bandit::{BanditRule, Reward};
use crate::optim::{BatchPolicy, ModelKind, Strategy};

/// `[optimizer]`: the search space bounds and the initial design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Suggestions drawn space-filling at random before the model takes over.
    pub n_initial_points: u32,
    /// `[low, high]` for init_strength (how far from the photo).
    #[serde(deserialize_with = "range")]
    pub init_strength: [f64; 2],
    /// `[low, high]` for guidance_scale (how strongly the prompt is followed).
    #[serde(deserialize_with = "range")]
    pub guidance_scale: [f64; 2],
    /// `[low, high]` for controlnet_weight (how much structure is kept).
    #[serde(deserialize_with = "range")]
    pub controlnet_weight: [f64; 2],
    /// `gp-bandit` (bandit picks the arm, GP the parameters), `gp`, or `random`.
    pub strategy: Strategy,
    /// `studio` (every designer's stars and preferences, their offsets and
    /// scales, the room's context) or `regression` (the latest rating of
    /// each render, the first model).
    pub model: ModelKind,
    /// `exploit-explore` (variant A exploits, the rest explore) or `ei`.
    pub batch: BatchPolicy,
    /// `thompson` (Beta posteriors), `ucb1` or `posterior-maximum`
    /// (Thompson sampling of each arm's best settings under the model).
    pub bandit: BanditRule,
    /// Bandit reward: `binary` (4+ stars is a success) or `graded`.
    pub reward: Reward,
    /// Expected Improvement margin, in stars.
    pub xi: f64,
    /// Random candidates per arm when maximising the acquisition.
    pub candidates: u32,
    /// Share of exploring variants placed space-filling instead of by EI (0–1),
    /// until the model knows good settings.
    pub space_filling: f64,
    /// The GP is fitted on at most this many most recent ratings (50–5000).
    pub max_model_points: u32,
    /// The first this many renders are shared evenly among the providers,
    /// before the bandit chooses (0–1000; 0: off).
    pub arm_warmup: u32,
    /// Renders each provider is owed by a second look between the 20th and
    /// the 36th render, outside a photo's first six (0–1000; 0: off).
    pub second_look: u32,
}

impl Default for OptimizerConfig {
    /// The optimizer's own defaults, so the two cannot drift apart.
    fn default() -> Self {
        let o = crate::optim::OptimizerSettings::default();
        OptimizerConfig {
            n_initial_points: o.n_initial_points as u32,
            init_strength: [0.1, 0.5],
            guidance_scale: [5.0, 12.0],
            controlnet_weight: [0.7, 0.99],
            strategy: o.strategy,
            model: o.model,
            batch: o.batch,
            bandit: o.bandit,
            reward: o.reward,
            xi: o.xi,
            candidates: o.candidates as u32,
            space_filling: o.space_filling,
            max_model_points: o.max_model_points as u32,
            arm_warmup: o.arm_warmup as u32,
            second_look: o.second_look.renders as u32,
        }
    }
}

/// Reads a `[low, high]` pair: serde's fixed-size arrays stop after two
/// elements and would accept `[0.1, 0.2, 0.3]` without a word.
fn range<'de, D>(deserializer: D) -> std::result::Result<[f64; 2], D::Error>
where
    D: serde::Deserializer<'de>,
{
    let values = Vec::<f64>::deserialize(deserializer)?;
    match values[..] {
        [low, high] => Ok([low, high]),
        _ => Err(serde::de::Error::custom(format!(
            "expected [low, high] (two numbers), got {} numbers",
            values.len()
        ))),
    }
}
