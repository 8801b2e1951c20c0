//! `latina export --out FILE [--ratings-csv FILE]`

use clap::{ArgGroup, Args};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::transfer::{Counts, ExportOptions, Target, export};
use crate::store::OpenMode;

/// Arguments of `latina export`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("output").required(true).multiple(true).args(["out", "ratings_csv"])))]
pub struct ExportArgs {
    /// Write the whole history as JSON Lines to FILE, replacing it (`-`: standard output)
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write one CSV row per rating to FILE (`-`: standard output)
    #[arg(long, value_name = "FILE", conflicts_with = "csv")]
    pub ratings_csv: Option<PathBuf>,
    /// Write the ratings CSV to --out instead of JSON Lines
    #[arg(long, requires = "out")]
    pub csv: bool,
}

fn target(path: &Path) -> Target {
    if path == Path::new("-") {
        Target::Stdout
    } else {
        Target::File(path.to_path_buf())
    }
}

/// Writes the export and says what it wrote.
pub fn run(ws: &Workspace, ui: &Ui, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let mut options = ExportOptions::default();
    let out = args.out.as_deref().map(target);
    if args.csv {
        options.ratings_csv = out;
    } else {
        options.jsonl = out;
        options.ratings_csv = args.ratings_csv.as_deref().map(target);
    }
    let to_stdout = [&options.jsonl, &options.ratings_csv]
        .iter()
        .filter(|t| matches!(t, Some(Target::Stdout)))
        .count();
    if to_stdout > 1 || (to_stdout == 1 && ui.json) {
        eprintln!(
            "latina: only one thing can go to standard output: use `-` for one output, without --json"
        );
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let mut store = ws.open_store(OpenMode::ReadOnly)?;
    let report = export(&mut store, &options, &mut std::io::stdout().lock())?;
    if ui.json {
        ui.json_pretty(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines = Vec::new();
    if let Some(out) = &report.out {
        lines.push(format!(
            "exported {} to {}",
            counts_text(&report.records),
            if out == "-" { "standard output" } else { out }
        ));
    }
    if let Some(csv) = &report.ratings_csv {
        lines.push(format!(
            "wrote {} rating rows to {}",
            report.csv_rows,
            if csv == "-" { "standard output" } else { csv }
        ));
    }
    for line in lines {
        // Standard output may be the export itself.
        if to_stdout == 1 {
            ui.note(line);
        } else {
            ui.out(line)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "12 experiments, 15 ratings, …": the non-zero counts.
pub fn counts_text(c: &Counts) -> String {
    let parts: Vec<String> = [
        (c.images, "image", "images"),
        (c.prompt_versions, "prompt version", "prompt versions"),
        (c.batches, "batch", "batches"),
        (c.experiments, "experiment", "experiments"),
        (c.ratings, "rating", "ratings"),
        (c.preferences, "preference", "preferences"),
        (c.evolutions, "evolution", "evolutions"),
        (c.prompt_decisions, "prompt decision", "prompt decisions"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
    .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}
