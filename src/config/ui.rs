//! `[ui]`: how latina shows things on the terminal.

use serde::{Deserialize, Serialize};

/// `[ui]`: terminal presentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Whether and how the labelled preview is shown inline before the
    /// rating prompts.
    pub images: ImagesSetting,
}

/// `ui.images`: the terminal graphics protocol to show previews with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImagesSetting {
    /// Detect it from the environment (kitty, iTerm2/WezTerm, known sixel
    /// terminals); off under tmux and anywhere unknown.
    #[default]
    Auto,
    /// kitty's graphics protocol.
    Kitty,
    /// iTerm2's inline images.
    Iterm,
    /// DEC sixel.
    Sixel,
    /// Never: print the preview's path.
    Off,
}
