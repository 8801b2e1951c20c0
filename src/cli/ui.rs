//! Terminal manners in one place: stdout for results, stderr for progress
//! and hints, colour and prompts only on a terminal, no colour with NO_COLOR.

use console::style;
use dialoguer::Input;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use super::GlobalArgs;
use crate::domain::{Params, Stars};
use crate::provider::Stage;

/// How to talk to the user.
#[derive(Debug, Clone)]
pub struct Ui {
    /// `--json`: machine output on stdout, never prompt.
    pub json: bool,
    /// `-q`: only errors on stderr.
    pub quiet: bool,
    color: bool,
    interactive: bool,
    stdout_tty: bool,
    stderr_tty: bool,
}

impl Ui {
    /// Reads the flags and what the standard streams are connected to.
    pub fn new(args: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stdout_tty = std::io::stdout().is_terminal();
        let color = stdout_tty && !no_color && !args.json;
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color && std::io::stderr().is_terminal());
        Ui {
            json: args.json,
            quiet: args.quiet,
            color,
            interactive: stdout_tty && std::io::stdin().is_terminal() && !args.json,
            stdout_tty,
            // Spinners only when a person watches both streams, never with NO_COLOR.
            stderr_tty: std::io::stderr().is_terminal() && stdout_tty && !no_color,
        }
    }

    /// `-v` → info, `-vv` → debug, on stderr; warnings otherwise; nothing with `-q`.
    pub fn init_logging(&self, verbosity: u8) {
        let level = match (self.quiet, verbosity) {
            (true, _) => tracing::Level::ERROR,
            (false, 0) => tracing::Level::WARN,
            (false, 1) => tracing::Level::INFO,
            _ => tracing::Level::DEBUG,
        };
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .with_ansi(self.color && self.stderr_tty)
            .with_target(false)
            .without_time()
            .try_init();
    }

    /// Whether prompts may be shown (stdin and stdout are terminals, no `--json`).
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// Whether stdout is a terminal (images and previews go only there).
    pub fn stdout_is_terminal(&self) -> bool {
        self.stdout_tty
    }

    /// Whether progress bars may be drawn: a person watches stderr, and
    /// neither `-q` nor `--json` was given.
    pub fn shows_progress(&self) -> bool {
        self.stderr_tty && !self.quiet && !self.json
    }

    /// Prints a line of results on stdout.
    pub fn out(&self, line: impl AsRef<str>) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", line.as_ref())
    }

    /// Prints a hint on stderr unless quiet.
    pub fn note(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Prints `value` as pretty JSON on stdout.
    pub fn json_pretty<T: Serialize>(&self, value: &T) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        self.out(text)
    }

    /// Prints `value` as one compact JSON line on stdout.
    pub fn json_line<T: Serialize>(&self, value: &T) -> std::io::Result<()> {
        let text = serde_json::to_string(value).map_err(std::io::Error::other)?;
        self.out(text)
    }

    /// "★★★★☆", yellow on a colour terminal.
    pub fn stars(&self, stars: u8) -> String {
        let text = format!(
            "{}{}",
            "★".repeat(stars as usize),
            "☆".repeat(5usize.saturating_sub(stars as usize))
        );
        style(text).yellow().to_string()
    }

    /// Bold on a colour terminal.
    pub fn bold(&self, text: impl std::fmt::Display) -> String {
        style(text).bold().to_string()
    }

    /// Green on a colour terminal.
    pub fn green(&self, text: impl std::fmt::Display) -> String {
        style(text).green().to_string()
    }

    /// Red on a colour terminal.
    pub fn red(&self, text: impl std::fmt::Display) -> String {
        style(text).red().to_string()
    }

    /// Dim on a colour terminal.
    pub fn dim(&self, text: impl std::fmt::Display) -> String {
        style(text).dim().to_string()
    }

    /// Progress lines for the variants of one enhance, on stderr; hidden
    /// when stderr is not a terminal, with `--json`'s callers still fine.
    pub fn variant_bars(&self) -> VariantBars {
        let visible = self.stderr_tty && !self.quiet;
        let multi = MultiProgress::with_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        VariantBars {
            multi,
            bars: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Asks for stars for the render `label`. With `pair` (the option
    /// labels of this render and the next variant of the same photo), the
    /// designer may instead press the first label's key ("this one is
    /// better"), the second's ("the other is better") or `=` ("same").
    pub fn ask_rating(&self, label: &str, pair: Option<(&str, &str)>) -> std::io::Result<Answer> {
        let keys = pair.map(|(first, second)| (first.to_lowercase(), second.to_lowercase()));
        let prompt = match (&pair, &keys) {
            (Some((first, second)), Some((k1, k2))) => format!(
                "Rate {label} (1-5), or choose: {k1} = {first} is better, {k2} = {second} is better, \
                 = the same (Enter to skip, q to stop)"
            ),
            _ => format!("Rate {label} (1-5, Enter to skip, q to stop)"),
        };
        let choice_of = |t: &str| -> Option<Choice> {
            let (k1, k2) = keys.as_ref()?;
            let t = t.to_lowercase();
            if t == *k1 {
                Some(Choice::First)
            } else if t == *k2 {
                Some(Choice::Second)
            } else if t == "=" {
                Some(Choice::Same)
            } else {
                None
            }
        };
        let answer: String = Input::new()
            .with_prompt(prompt)
            .allow_empty(true)
            .validate_with(|text: &String| -> Result<(), String> {
                let t = text.trim();
                if t.is_empty() || t.eq_ignore_ascii_case("q") || choice_of(t).is_some() {
                    return Ok(());
                }
                Stars::parse(t).map(|_| ()).map_err(|e| e.to_string())
            })
            .interact_text()
            .map_err(dialog_error)?;
        let answer = answer.trim();
        if answer.is_empty() {
            return Ok(Answer::Skip);
        }
        if answer.eq_ignore_ascii_case("q") {
            return Ok(Answer::Stop);
        }
        let choice = choice_of(answer);
        let stars = match choice {
            Some(_) => None,
            None => Some(Stars::parse(answer).map_err(std::io::Error::other)?),
        };
        let comment: String = Input::new()
            .with_prompt("Comment (optional)")
            .allow_empty(true)
            .interact_text()
            .map_err(dialog_error)?;
        let comment = comment.trim().to_string();
        let comment = (!comment.is_empty()).then_some(comment);
        Ok(match (stars, choice) {
            (Some(stars), _) => Answer::Rated(stars, comment),
            (None, Some(choice)) => Answer::Preferred(choice, comment),
            (None, None) => Answer::Skip,
        })
    }
}

/// What the designer answered to a rating prompt.
pub enum Answer {
    /// Stars and maybe a comment.
    Rated(Stars, Option<String>),
    /// A choice between this render and the next variant, and maybe a comment.
    Preferred(Choice, Option<String>),
    /// Leave this one unrated.
    Skip,
    /// Stop asking.
    Stop,
}

/// A choice between two variants at the rating prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The render being rated is better.
    First,
    /// The other variant is better.
    Second,
    /// Neither is better.
    Same,
}

fn dialog_error(err: dialoguer::Error) -> std::io::Error {
    match err {
        dialoguer::Error::IO(e) => e,
    }
}

/// `init 0.23 · guidance 8.1 · structure 0.85`
pub fn params_text(p: &Params) -> String {
    format!(
        "init_strength {:.2}  guidance_scale {:.1}  controlnet_weight {:.2}",
        p.init_strength, p.guidance_scale, p.controlnet_weight
    )
}

/// One spinner line per variant.
pub struct VariantBars {
    multi: MultiProgress,
    bars: std::sync::Mutex<HashMap<String, ProgressBar>>,
}

impl VariantBars {
    /// Adds a line for a variant.
    pub fn add(&self, option: &str, provider: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg} {elapsed:.dim}")
                .expect("static template"),
        );
        bar.set_prefix(format!("{option} ({provider})"));
        bar.set_message("queued");
        bar.enable_steady_tick(Duration::from_millis(100));
        self.lock().insert(option.to_string(), bar);
    }

    /// Shows a variant's stage.
    pub fn stage(&self, option: &str, stage: Stage) {
        if let Some(bar) = self.lock().get(option) {
            bar.set_message(stage.label());
        }
    }

    /// Ends a variant's line.
    pub fn finish(&self, option: &str, ok: bool) {
        if let Some(bar) = self.lock().get(option) {
            bar.finish_with_message(if ok { "done" } else { "failed" });
        }
    }

    /// Removes all lines.
    pub fn clear(&self) {
        for bar in self.lock().values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ProgressBar>> {
        self.bars.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Ui {
    /// Starts a JSON array on stdout written one element per line as the
    /// elements come (`[`, `{…},`, …, `]`), so a long listing is never held
    /// in memory and a reader that closes early stops it at the next write.
    pub fn json_array(&self) -> JsonArray {
        JsonArray {
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            empty: true,
        }
    }
}

/// A JSON array being streamed to stdout; see [`Ui::json_array`].
pub struct JsonArray {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    empty: bool,
}

impl JsonArray {
    /// Writes one element on its own line. The comma goes before the next
    /// element, as the last one is not known until the end.
    pub fn push<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        self.out
            .write_all(if self.empty { b"[\n" } else { b",\n" })?;
        self.empty = false;
        // serde_json hands write errors back as the original io::Error, so a
        // closed pipe stays recognisable as one.
        serde_json::to_writer(&mut self.out, value).map_err(std::io::Error::from)
    }

    /// Closes the array and flushes it.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.out
            .write_all(if self.empty { b"[\n]\n" } else { b"\n]\n" })?;
        self.out.flush()
    }
}
