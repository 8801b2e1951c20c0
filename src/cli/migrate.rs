//! `latina migrate --to URL`: move the history into a studio's store.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::migrate::migrate;
use crate::store::Location;

/// Arguments of `latina migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Where to move the history: `postgres://user@host:port/db` (password
    /// from PGPASSWORD or ~/.pgpass) or another SQLite file
    #[arg(long, value_name = "DATABASE")]
    pub to: PathBuf,
}

/// Moves the history, verifies counts and `status`, and says so.
pub fn run(ws: &Workspace, ui: &Ui, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let to = Location::parse(&args.to, ws.config.database_password_env.as_deref())?;
    if ui.shows_progress() {
        eprintln!(
            "migrating {} to {} …",
            ws.paths.database.shown(),
            to.shown()
        );
    }
    let report = migrate(ws, &to, &mut |_| {})?;
    if ui.json {
        ui.json_pretty(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.out(format!(
        "moved {} to {}",
        super::export::counts_text(&report.imported),
        report.to
    ))?;
    if report.already_present.total() > 0 {
        ui.out(format!(
            "already there, skipped: {}",
            super::export::counts_text(&report.already_present)
        ))?;
    }
    ui.out(format!(
        "verified: {} experiments and {} ratings on both; status reads the same",
        report.experiments[1], report.ratings[1]
    ))?;
    Ok(ExitCode::SUCCESS)
}
