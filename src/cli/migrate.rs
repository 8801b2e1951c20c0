//! `latina migrate --to URL`: move the history into a studio's store.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::migrate::migrate;
use crate::storage::Storage;
use crate::store::Location;

/// Arguments of `latina migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Where to move the history: `postgres://user@host:port/db` (password
    /// from PGPASSWORD or ~/.pgpass) or another SQLite file
    #[arg(long, value_name = "DATABASE")]
    pub to: PathBuf,
    /// Upload every original, render and preview to this bucket
    /// (`s3://bucket/prefix`; endpoint and keys from the AWS variables)
    #[arg(long = "to-storage", value_name = "S3_URL")]
    pub to_storage: Option<crate::config::StorageUrl>,
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
    let bucket = match &args.to_storage {
        Some(url) => Some(Storage::open(
            Some(url),
            &ws.config.s3,
            ws.paths.data_dir.clone(),
            &super::workspace::env_lookup,
        )?),
        None => None,
    };
    let report = migrate(ws, &to, bucket.as_ref(), &mut |_| {})?;
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
    if report.files_uploaded > 0 {
        ui.out(format!("uploaded {} files", report.files_uploaded))?;
    }
    for missing in &report.files_missing {
        eprintln!("latina: warning: {missing} exists nowhere; its row still names it");
    }
    ui.out(format!(
        "verified: {} experiments and {} ratings on both; status reads the same",
        report.experiments[1], report.ratings[1]
    ))?;
    Ok(ExitCode::SUCCESS)
}
