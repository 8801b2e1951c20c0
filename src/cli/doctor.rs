//! `latina doctor`

use clap::Args;
use std::process::ExitCode;

use super::ui::Ui;
use super::workspace::env_lookup;
use crate::ops::Workspace;
use crate::ops::doctor::{DoctorReport, doctor};
use crate::ops::runtime;

/// Arguments of `latina doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {}

/// Prints what works and what does not; exits 1 if anything does not.
pub fn run(ws: &Workspace, ui: &Ui, _args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let report = runtime::block_on(doctor(ws, &env_lookup))?;
    if ui.json {
        ui.json_line(&report)?;
    } else {
        print(ui, &report)?;
    }
    Ok(if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILURE)
    })
}

fn mark(ui: &Ui, ok: bool) -> String {
    if ok { ui.green("ok  ") } else { ui.red("FAIL") }
}

fn print(ui: &Ui, r: &DoctorReport) -> std::io::Result<()> {
    ui.out(format!(
        "{} {}",
        ui.bold("config  "),
        r.config_file.as_ref().map_or_else(
            || "no file; defaults and LATINA_* environment".to_string(),
            |p| format!("{} (valid)", p.display())
        )
    ))?;
    ui.out(format!(
        "{} {} {}  {}",
        ui.bold("data dir"),
        mark(ui, r.data_dir.ok),
        r.data_dir.path.display(),
        r.data_dir.detail
    ))?;
    ui.out(format!(
        "{} {} {}  {}",
        ui.bold("database"),
        mark(ui, r.database.ok),
        r.database.path.display(),
        r.database.detail
    ))?;
    if let Some(s) = &r.storage {
        ui.out(format!(
            "{} {} {}  {}",
            ui.bold("storage "),
            mark(ui, s.ok),
            s.storage,
            s.detail
        ))?;
    }
    for p in &r.providers {
        let key = match (&p.secret_env, p.secret_present) {
            (Some(var), Some(true)) => format!(", key from {var}: set"),
            (Some(var), _) => format!(", key from {var}: NOT SET"),
            _ => String::new(),
        };
        ui.out(format!(
            "{} {} ({}{}{})",
            ui.bold("provider"),
            ui.bold(&p.name),
            p.kind,
            p.base_url
                .as_ref()
                .map(|u| format!(" at {u}"))
                .unwrap_or_default(),
            key
        ))?;
        for c in &p.checks {
            ui.out(format!("  {} {:<28} {}", mark(ui, c.ok), c.what, c.detail))?;
        }
    }
    for e in &r.endpoints {
        let key = match (&e.key_env, e.key_present) {
            (Some(var), Some(true)) => format!(", key from {var}: set"),
            (Some(var), _) => format!(", key from {var}: NOT SET"),
            _ => ", no key".to_string(),
        };
        ui.out(format!(
            "{} {} at {}{key}",
            ui.bold(format!("{:<8}", e.role)),
            ui.bold(&e.model),
            e.base_url
        ))?;
        for c in &e.checks {
            ui.out(format!("  {} {:<28} {}", mark(ui, c.ok), c.what, c.detail))?;
        }
    }
    let m = &r.embedding_model;
    match &m.path {
        Some(path) => ui.out(format!(
            "{} {} {}  {}",
            ui.bold("model   "),
            mark(ui, m.ok),
            path.display(),
            m.detail
        ))?,
        None => ui.out(format!("{} {}", ui.bold("model   "), m.detail))?,
    }
    let failing = !r.all_ok();
    ui.out(if failing {
        "Some checks failed (see FAIL above).".to_string()
    } else {
        "All checks passed.".to_string()
    })
}
