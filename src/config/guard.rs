//! `[guard]`: the structure guard that keeps renders which break the room
//! from being shown (the guard itself is `optim::guard`).

use serde::{Deserialize, Serialize};

use crate::optim::guard::GuardSettings;

/// `[guard]`: whether renders are checked against the original's structure,
/// and an optional fixed threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Check every render's structure agreement with its photo.
    pub enabled: bool,
    /// A fixed threshold (0–1) on the structure value instead of the one
    /// learned from what designers rejected; unset: learned, starting at
    /// the default.
    pub min_structure: Option<f64>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            enabled: true,
            min_structure: None,
        }
    }
}

impl GuardConfig {
    /// The guard's settings as the optimizer takes them.
    pub fn settings(&self) -> GuardSettings {
        GuardSettings {
            enabled: self.enabled,
            min_structure: self.min_structure,
        }
    }
}
