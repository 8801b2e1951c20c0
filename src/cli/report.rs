//! `latina report`

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::report::{ReportOptions, report};
use crate::store::OpenMode;

/// Arguments of `latina report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The HTML file to write (replaced atomically); an existing directory
    /// gets `report.html` inside. The directory must exist.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "report.html")]
    pub out: PathBuf,
    /// Best and worst rated renders shown as thumbnails, each
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(0..=50))]
    pub thumbnails: u16,
}

/// Writes the report and prints its path (`--json`: path, bytes, samples).
pub fn run(ws: &Workspace, ui: &Ui, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let mut store = ws.open_store(OpenMode::ReadOnly)?;
    let written = report(
        ws,
        &mut store,
        &ReportOptions {
            out: args.out,
            thumbnails: usize::from(args.thumbnails),
        },
    )?;
    if ui.json {
        ui.json_pretty(&written)?;
    } else {
        ui.out(written.path.display().to_string())?;
        ui.note(ui.dim(format!(
            "{} rated samples, {} KB",
            written.samples,
            written.bytes.div_ceil(1024)
        )));
    }
    Ok(ExitCode::SUCCESS)
}
