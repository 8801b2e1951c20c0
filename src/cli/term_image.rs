//! Showing the labelled preview to the designer: inline in the terminal
//! when it can draw images (detected from the environment, or as
//! `ui.images` says), in the system viewer with `--open`, else as a path
//! with a hint. Nothing at all when stdout is not a terminal.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::display;
use super::ui::Ui;
use crate::config::ImagesSetting;
use crate::imaging::term::{self, Protocol};

/// Widest preview sent inline, in pixels: the terminal scales kitty and
/// iTerm2 images to its width anyway, and sixel output grows with pixels.
const MAX_INLINE_WIDTH: u32 = 1600;
/// Sixel draws pixel for pixel; this keeps it inside common windows.
const MAX_SIXEL_WIDTH: u32 = 960;

/// The protocol to draw with, from the setting and the environment.
///
/// `auto` is conservative: kitty (`TERM=xterm-kitty` or `KITTY_WINDOW_ID`),
/// iTerm2 inline images (`TERM_PROGRAM` `iTerm.app` or `WezTerm`), sixel only
/// on terminals known to draw it (`TERM` naming foot or mlterm); none under
/// tmux (`TMUX`), which drops graphics unless passthrough is set up, and
/// none anywhere else. An explicit protocol is taken as said.
pub fn detect(setting: ImagesSetting, env: impl Fn(&str) -> Option<String>) -> Option<Protocol> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    match setting {
        ImagesSetting::Off => None,
        ImagesSetting::Kitty => Some(Protocol::Kitty),
        ImagesSetting::Iterm => Some(Protocol::Iterm),
        ImagesSetting::Sixel => Some(Protocol::Sixel),
        ImagesSetting::Auto => {
            if var("TMUX").is_some() {
                return None;
            }
            let term = var("TERM").unwrap_or_default();
            let program = var("TERM_PROGRAM").unwrap_or_default();
            if term == "xterm-kitty" || var("KITTY_WINDOW_ID").is_some() {
                Some(Protocol::Kitty)
            } else if program == "iTerm.app" || program == "WezTerm" {
                Some(Protocol::Iterm)
            } else if term.starts_with("foot") || term.starts_with("mlterm") {
                Some(Protocol::Sixel)
            } else {
                None
            }
        }
    }
}

/// How the walkthrough shows each photo's preview.
#[derive(Debug, Clone, Copy)]
pub struct PreviewDisplay {
    /// Draw it inline with this protocol.
    pub inline: Option<Protocol>,
    /// Open it in the system viewer instead (`--open`).
    pub open: bool,
    /// stdout is a terminal and no `--json`: anything is shown at all.
    pub active: bool,
}

impl PreviewDisplay {
    /// From the config, `--open` and where stdout goes.
    pub fn new(ui: &Ui, setting: ImagesSetting, open: bool) -> Self {
        PreviewDisplay {
            inline: detect(setting, super::workspace::env_lookup),
            open,
            active: ui.stdout_is_terminal() && !ui.json,
        }
    }

    /// Shows the preview at `path`: opened in the viewer with `--open`,
    /// drawn inline when the terminal can, else its path and a hint.
    pub fn show(&self, ui: &Ui, path: &Path) -> std::io::Result<()> {
        if !self.active {
            return Ok(());
        }
        let shown = display::path(path);
        if self.open {
            match open_in_viewer(path) {
                Ok(()) => ui.out(format!("  preview opened: {shown}"))?,
                Err(err) => {
                    ui.note(format!("latina: could not open the preview: {err}"));
                    ui.out(format!("  preview: {shown}"))?;
                }
            }
            return Ok(());
        }
        if let Some(protocol) = self.inline
            && let Some(bytes) = inline_bytes(protocol, path)
        {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            writeln!(stdout)?;
            return stdout.flush();
        }
        ui.out(format!("  preview: {shown}"))?;
        ui.note(ui.dim(
            "  (images are not drawn on this terminal: add --open to see it in your viewer, or set ui.images)",
        ));
        Ok(())
    }
}

/// The escape sequence for the preview file, or `None` when it cannot be
/// read as an image (then its path is printed instead).
fn inline_bytes(protocol: Protocol, path: &Path) -> Option<Vec<u8>> {
    let img = image::open(path).ok()?.into_rgb8();
    let max = match protocol {
        Protocol::Sixel => MAX_SIXEL_WIDTH,
        _ => MAX_INLINE_WIDTH,
    };
    let img = if img.width() > max {
        let height = (img.height() as u64 * max as u64 / img.width() as u64).max(1) as u32;
        image::imageops::thumbnail(&img, max, height)
    } else {
        img
    };
    let columns = console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| cols.saturating_sub(1).max(1));
    Some(term::encode(protocol, &img, columns))
}

/// Opens `path` in the desktop's viewer (`xdg-open`, `open` on macOS,
/// `explorer` on Windows): the program is run directly, never through a
/// shell, so the path is one argument whatever it contains.
pub fn open_in_viewer(path: &Path) -> std::io::Result<()> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let status = Command::new(program)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| std::io::Error::new(e.kind(), format!("{program}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{program} exited with {status}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn auto(vars: &[(&str, &str)]) -> Option<Protocol> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        detect(ImagesSetting::Auto, |k| map.get(k).cloned())
    }

    #[test]
    fn auto_detects_kitty_iterm_and_known_sixel_terminals() {
        assert_eq!(auto(&[("TERM", "xterm-kitty")]), Some(Protocol::Kitty));
        assert_eq!(
            auto(&[("TERM", "xterm-256color"), ("KITTY_WINDOW_ID", "1")]),
            Some(Protocol::Kitty)
        );
        assert_eq!(
            auto(&[("TERM_PROGRAM", "iTerm.app")]),
            Some(Protocol::Iterm)
        );
        assert_eq!(auto(&[("TERM_PROGRAM", "WezTerm")]), Some(Protocol::Iterm));
        assert_eq!(auto(&[("TERM", "foot")]), Some(Protocol::Sixel));
        assert_eq!(auto(&[("TERM", "mlterm")]), Some(Protocol::Sixel));
    }

    #[test]
    fn auto_is_off_on_plain_terminals_and_under_tmux() {
        assert_eq!(auto(&[("TERM", "xterm-256color")]), None);
        assert_eq!(auto(&[]), None);
        assert_eq!(
            auto(&[("TERM", "xterm-kitty"), ("TMUX", "/tmp/tmux-0/default,1,0")]),
            None
        );
        assert_eq!(
            auto(&[("TERM", "screen"), ("TMUX", "x"), ("TERM_PROGRAM", "tmux")]),
            None
        );
        // An empty variable is no variable.
        assert_eq!(auto(&[("KITTY_WINDOW_ID", "")]), None);
    }

    #[test]
    fn an_explicit_setting_wins_even_under_tmux() {
        let env = |k: &str| (k == "TMUX").then(|| "x".to_string());
        assert_eq!(detect(ImagesSetting::Sixel, env), Some(Protocol::Sixel));
        assert_eq!(detect(ImagesSetting::Kitty, env), Some(Protocol::Kitty));
        assert_eq!(detect(ImagesSetting::Iterm, env), Some(Protocol::Iterm));
        let kitty = |k: &str| (k == "TERM").then(|| "xterm-kitty".to_string());
        assert_eq!(detect(ImagesSetting::Off, kitty), None);
    }
}
