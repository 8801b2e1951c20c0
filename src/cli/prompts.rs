//! `latina prompts list|show|diff|activate|rollback|export`

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::prompts::{self, DiffPiece};
use crate::store::OpenMode;

/// Arguments of `latina prompts`.
#[derive(Debug, Args)]
pub struct PromptsArgs {
    #[command(subcommand)]
    command: PromptsCommand,
}

#[derive(Debug, Subcommand)]
enum PromptsCommand {
    /// Every version with its status, ratings and mean
    List,
    /// One version in full
    Show {
        /// e.g. 1.1.0
        #[arg(value_name = "VERSION")]
        name: String,
    },
    /// Word-level difference between two versions
    Diff {
        /// From
        from: String,
        /// To
        to: String,
    },
    /// Make a version the champion
    Activate {
        /// e.g. 1.0.0
        #[arg(value_name = "VERSION")]
        name: String,
    },
    /// Return to the previous champion
    Rollback,
    /// Write versions/vX.Y.Z.json and current.json under DIR
    Export {
        /// Target directory (created if needed)
        dir: PathBuf,
    },
}

/// Runs a `prompts` subcommand.
pub fn run(ws: &Workspace, ui: &Ui, args: PromptsArgs) -> anyhow::Result<ExitCode> {
    // Listing, showing, diffing and exporting only read.
    let mode = match args.command {
        PromptsCommand::Activate { .. } | PromptsCommand::Rollback => OpenMode::MustExist,
        _ => OpenMode::ReadOnly,
    };
    let mut store = ws.open_store(mode)?;
    match args.command {
        PromptsCommand::List => {
            let versions = prompts::list(&store)?;
            if ui.json {
                ui.json_line(&versions)?;
            } else {
                for standing in versions {
                    let v = &standing.summary;
                    let why = standing.why();
                    ui.out(format!(
                        "{:<9} {:<10} {:>4} rated  mean {:<5} {}{}",
                        v.prompt.version,
                        v.status,
                        v.ratings,
                        v.mean_rating.map_or("-".into(), |m| format!("{m:.2}")),
                        ui.dim(crate::domain::time::format(v.created_at)),
                        if why.is_empty() {
                            String::new()
                        } else {
                            format!("  {why}")
                        }
                    ))?;
                }
                ui.note(ui.dim(
                    "mean: every rating of the version's renders; a decision compares both on its trial period only",
                ));
            }
        }
        PromptsCommand::Show { name } => {
            let v = prompts::show(&store, &name)?;
            if ui.json {
                ui.json_line(&v)?;
            } else {
                ui.out(format!(
                    "{} {} ({}, {} rated, mean {})",
                    ui.bold("version"),
                    v.prompt.version,
                    v.status,
                    v.ratings,
                    v.mean_rating.map_or("-".into(), |m| format!("{m:.2}"))
                ))?;
                ui.out(format!("{} {}", ui.bold("prompt  "), v.prompt.prompt))?;
                ui.out(format!(
                    "{} {}",
                    ui.bold("negative"),
                    v.prompt.negative_prompt
                ))?;
                if let Some(parent) = &v.prompt.parent {
                    ui.out(format!("{} {parent}", ui.bold("parent  ")))?;
                }
                if let Some(reasoning) = &v.prompt.reasoning {
                    ui.out(format!("{} {reasoning}", ui.bold("why     ")))?;
                }
                for change in &v.prompt.changes {
                    ui.out(format!("  - {change}"))?;
                }
            }
        }
        PromptsCommand::Diff { from, to } => {
            let d = prompts::diff(&store, &from, &to)?;
            if ui.json {
                ui.json_line(&d)?;
            } else {
                ui.out(format!("{} {} → {}", ui.bold("diff"), d.from, d.to))?;
                ui.out(format!("{} {}", ui.bold("prompt  "), render(ui, &d.prompt)))?;
                ui.out(format!(
                    "{} {}",
                    ui.bold("negative"),
                    render(ui, &d.negative_prompt)
                ))?;
            }
        }
        PromptsCommand::Activate { name } => {
            let change = prompts::activate(&mut store, &name)?;
            report_change(ui, &change)?;
        }
        PromptsCommand::Rollback => {
            let change = prompts::rollback(&mut store)?;
            report_change(ui, &change)?;
        }
        PromptsCommand::Export { dir } => {
            let n = prompts::export(&store, &dir)?;
            if ui.json {
                ui.json_line(&serde_json::json!({"versions": n, "dir": dir}))?;
            } else {
                ui.out(format!("{n} versions written under {}", dir.display()))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `[-removed-]{+added+}` as in `git diff --word-diff`, coloured on a terminal.
fn render(ui: &Ui, pieces: &[DiffPiece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            DiffPiece::Same(t) => t.clone(),
            DiffPiece::Removed(t) => ui.red(format!("[-{t}-]")),
            DiffPiece::Added(t) => ui.green(format!("{{+{t}+}}")),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn report_change(ui: &Ui, change: &prompts::ChampionChange) -> std::io::Result<()> {
    if ui.json {
        return ui.json_line(change);
    }
    ui.out(match (&change.rejected_challenger, &change.replaced) {
        (Some(challenger), _) => format!(
            "challenger {challenger} rolled back; {} stays the champion",
            change.champion
        ),
        (None, Some(old)) => format!("champion is now {} (was {old})", change.champion),
        (None, None) => format!("{} already is the champion", change.champion),
    })
}
