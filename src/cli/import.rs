//! `latina import FILE`

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::ui::Ui;
use crate::error::Error;
use crate::ops::Workspace;
use crate::ops::transfer::{ImportOptions, import, open_for_import};

/// Arguments of `latina import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file written by `latina export` (`-`: standard input)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How many bad lines to list when the file is refused
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_errors: usize,
}

/// A progress bar that appears only once an import has taken a second.
struct DelayedBar {
    bar: ProgressBar,
    started: Instant,
    allowed: bool,
    shown: bool,
}

impl DelayedBar {
    fn new(ui: &Ui, total: Option<u64>) -> Self {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        let template = if total.is_some() {
            "importing {wide_bar} {bytes}/{total_bytes} {eta}"
        } else {
            "importing {spinner} {bytes}"
        };
        bar.set_style(ProgressStyle::with_template(template).expect("static template"));
        DelayedBar {
            bar,
            started: Instant::now(),
            allowed: ui.shows_progress(),
            shown: false,
        }
    }

    fn update(&mut self, bytes: u64) {
        self.bar.set_position(bytes);
        if self.allowed && !self.shown && self.started.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
    }
}

/// Imports the file in one transaction, or lists its bad lines and imports nothing.
pub fn run(ws: &Workspace, ui: &Ui, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let stdin = args.file == Path::new("-");
    let (mut input, total): (Box<dyn BufRead>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file =
            std::fs::File::open(&args.file).map_err(|e| Error::io("cannot read", &args.file, e))?;
        let len = file.metadata().ok().map(|m| m.len());
        (
            Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
            len,
        )
    };
    let mut store = open_for_import(ws)?;
    let mut bar = DelayedBar::new(ui, total);
    let options = ImportOptions {
        max_problems: args.max_errors,
    };
    let result = import(&mut store, &mut input, &args.file, &options, &mut |bytes| {
        bar.update(bytes)
    });
    bar.bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(Error::ImportRefused {
            path,
            problems,
            more,
        }) => {
            if ui.json {
                ui.json_pretty(&serde_json::json!({
                    "file": path.display().to_string(),
                    "imported": false,
                    "problems": problems,
                    "more_problems": more,
                }))?;
            }
            if problems.len() > 1 || more > 0 {
                for problem in &problems {
                    eprintln!("{problem}");
                }
                if more > 0 {
                    eprintln!("… and {more} more");
                }
            }
            return Err(Error::ImportRefused {
                path,
                problems,
                more,
            }
            .into());
        }
        Err(other) => return Err(other.into()),
    };
    // The import is committed; a fit that fails only leaves the cache cold.
    if report.imported.total() > 0
        && let Err(e) = ws.warm_model_cache(&mut store)
    {
        tracing::debug!("model cache not warmed after the import: {e}");
    }
    if ui.json {
        ui.json_pretty(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.out(format!(
        "imported {} from {}",
        super::export::counts_text(&report.imported),
        report.file
    ))?;
    if report.already_present.total() > 0 {
        ui.out(format!(
            "already in the database, skipped: {}",
            super::export::counts_text(&report.already_present)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
