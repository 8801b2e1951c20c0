//! The prompts shipped under `prompts/`, compiled in.
//!
//! The database is the source of truth; these only seed it on first run.

use crate::store::PromptVersion;

/// The base photorealistic interior prompt, version 1.0.0.
pub fn base_prompt() -> PromptVersion {
    serde_json::from_str(include_str!("../prompts/versions/v1.0.0.json"))
        .expect("the shipped base prompt is valid JSON (checked by a test)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_base_prompt_parses_as_version_1_0_0() {
        let base = base_prompt();
        assert_eq!(base.version, "1.0.0");
        assert!(base.parent.is_none());
        assert!(!base.prompt.is_empty() && !base.negative_prompt.is_empty());
    }
}
