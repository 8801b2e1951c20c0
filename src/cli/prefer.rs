//! `latina prefer <better-id> <worse-id> [--same] [--by NAME] [--comment TEXT]`

use clap::Args;
use std::process::ExitCode;

use super::evolve::report_learning;
use super::ui::Ui;
use super::workspace::env_lookup;
use crate::ops::Workspace;
use crate::ops::prefer::{PreferenceInput, PreferenceReceipt, prefer_and_learn};
use crate::store::OpenMode;

/// Arguments of `latina prefer`.
#[derive(Debug, Args)]
pub struct PreferArgs {
    /// The better render: experiment id or a unique prefix
    #[arg(value_name = "BETTER")]
    pub better: String,
    /// The other render of the same photo: experiment id or a unique prefix
    #[arg(value_name = "WORSE")]
    pub worse: String,
    /// Neither is better: the two are the same to you
    #[arg(long)]
    pub same: bool,
    /// Why (any language)
    #[arg(long, short)]
    pub comment: Option<String>,
    /// Who is choosing [default: config `rater`, else $USER]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// Records one preference and runs the learning step.
pub fn run(ws: &Workspace, ui: &Ui, args: PreferArgs) -> anyhow::Result<ExitCode> {
    let mut store = ws.open_store(OpenMode::MustExist)?;
    let rater = super::rate::rater(ws, args.by.as_deref());
    let input = PreferenceInput {
        better: &args.better,
        worse: &args.worse,
        tie: args.same,
        comment: args.comment.as_deref(),
        rated_by: rater.as_deref(),
    };
    let (receipt, learned) = prefer_and_learn(ws, &mut store, &input, &env_lookup)?;
    if ui.json {
        ui.json_pretty(&receipt)?;
    } else {
        ui.out(receipt_line(&receipt))?;
    }
    report_learning(ui, learned);
    Ok(ExitCode::SUCCESS)
}

/// `preferred A (1a2b3c4d) over B (5e6f7a8b), by ana`
pub fn receipt_line(receipt: &PreferenceReceipt) -> String {
    let relation = if receipt.tie {
        "found the same:"
    } else {
        "preferred"
    };
    let joint = if receipt.tie { "and" } else { "over" };
    format!(
        "{relation} {} ({}) {joint} {} ({}), by {}{}",
        receipt.better_option,
        receipt.better_id.short(),
        receipt.worse_option,
        receipt.worse_id.short(),
        super::display::printable(receipt.rated_by.as_deref().unwrap_or("an unnamed designer")),
        if receipt.replaced_earlier {
            "  (replaces this designer's earlier choice between the two, which is kept in the history)"
        } else {
            ""
        }
    )
}
