//! `[reward]`: what the reward model reads from each render; here, the
//! optional ONNX image model whose embedding is stored with every render.
//!
//! The model file is the user's: latina never downloads one. A relative
//! path is resolved against the config file's folder (as `data_dir` and
//! `database` are), by `load`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// CLIP's per-channel mean of the 0–1 RGB input (OpenAI's preprocessing).
pub const CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
/// CLIP's per-channel standard deviation of the 0–1 RGB input.
pub const CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];

/// `[reward]`: inputs of the reward model on the rendered pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardConfig {
    /// An ONNX image model (e.g. CLIP ViT-B/32's image tower) taking one
    /// float32 `[1, 3, H, W]` input; unset: no learned embeddings.
    pub embedding_model: Option<PathBuf>,
    /// Per-channel (R, G, B) mean subtracted from the 0–1 pixels.
    pub embedding_mean: [f64; 3],
    /// Per-channel (R, G, B) standard deviation the pixels are divided by.
    pub embedding_std: [f64; 3],
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            embedding_model: None,
            embedding_mean: CLIP_MEAN,
            embedding_std: CLIP_STD,
        }
    }
}
