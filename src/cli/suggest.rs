//! `latina suggest`

use clap::Args;
use std::process::ExitCode;

use super::ui::{Ui, params_text};
use crate::ops::Workspace;
use crate::ops::suggest::suggest;
use crate::store::OpenMode;

/// Arguments of `latina suggest`.
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// How many parameter sets to propose (1-100)
    #[arg(long, short = 'n', default_value_t = 1)]
    pub count: usize,
}

/// Proposes parameters and records them as pending experiments.
pub fn run(ws: &Workspace, ui: &Ui, args: SuggestArgs) -> anyhow::Result<ExitCode> {
    let mut store = ws.open_store(OpenMode::CreateIfMissing)?;
    let suggestions = suggest(ws, &mut store, args.count)?;
    if ui.json {
        ui.json_pretty(&suggestions)?;
        return Ok(ExitCode::SUCCESS);
    }
    for s in &suggestions {
        ui.out(format!(
            "{}  {:<8} {}\n    {}",
            s.experiment_id.short(),
            s.provider,
            params_text(&s.params),
            ui.dim(s.explanation.describe(s.method))
        ))?;
    }
    ui.note(ui.dim("after trying one: latina rate <id> <1-5>"));
    Ok(ExitCode::SUCCESS)
}
