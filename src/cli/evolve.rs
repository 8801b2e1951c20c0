//! `latina evolve`: the cron entry point for prompt evolution, and the same
//! step run inline after ratings.

use clap::Args;
use std::process::ExitCode;

use super::ui::Ui;
use super::workspace::env_lookup;
use crate::domain::Decision;
use crate::evolve::issues;
use crate::ops::Workspace;
use crate::ops::evolve::{
    AfterRating, EvolveOptions, EvolveReport, TrialStanding, build_evolver, evolve, grouping, judge,
};
use crate::ops::runtime;
use crate::store::{OpenMode, Store};

/// Arguments of `latina evolve`.
#[derive(Debug, Args)]
pub struct EvolveArgs {
    /// Evolve even when not due (still at most one challenger at a time)
    #[arg(long)]
    pub force: bool,
    /// Show the proposed prompt and reasoning; save nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Decides the running trial if it is decided, then evolves when due.
/// Prints one line and exits 0 when there is nothing to do.
pub fn run(ws: &Workspace, ui: &Ui, args: EvolveArgs) -> anyhow::Result<ExitCode> {
    let mut store = ws.open_store(OpenMode::MustExist)?;
    if !args.dry_run
        && let Some(standing) = judge(ws, &mut store)?
        && standing.applied
    {
        ui.note(decision_line(&standing));
    }
    let report = run_evolution(
        ws,
        &mut store,
        EvolveOptions {
            force: args.force,
            dry_run: args.dry_run,
            budget: None,
        },
    )?;
    if ui.json {
        ui.json_line(&report)?;
    } else {
        print(ui, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_evolution(
    ws: &Workspace,
    store: &mut Store,
    options: EvolveOptions,
) -> anyhow::Result<EvolveReport> {
    let evolver = build_evolver(ws, &env_lookup)?;
    let grouping = grouping(ws, &env_lookup);
    Ok(runtime::block_on(evolve(
        ws,
        store,
        evolver,
        &issues::summarise,
        &grouping,
        options,
    ))??)
}

/// Tells what the learning step after ratings did, in one line each. Never
/// fails the command: the ratings are saved.
pub fn report_learning(ui: &Ui, done: AfterRating) {
    match done.decided {
        Ok(Some(standing)) => ui.note(decision_line(&standing)),
        Ok(None) => {}
        Err(e) => eprintln!("latina: the rating is saved; judging the prompt trial failed: {e}"),
    }
    match done.evolution {
        Some(Ok(EvolveReport::Created { proposal, evolver, .. })) => ui.note(format!(
            "prompt {} written by {evolver} from the recent comments is now on trial (latina prompts show {})",
            proposal.new_version, proposal.new_version
        )),
        Some(Ok(EvolveReport::Deferred {
            trigger_sample,
            budget_ms,
        })) => ui.note(format!(
            "prompt evolution for sample {trigger_sample} took over {:.0} s and is left due: run `latina evolve`",
            budget_ms as f64 / 1000.0
        )),
        Some(Err(e)) => eprintln!("latina: the rating is saved; prompt evolution failed: {e:#}"),
        Some(Ok(_)) | None => {}
    }
}

fn decision_line(s: &TrialStanding) -> String {
    let numbers = s
        .comparison
        .map(|c| {
            format!(
                " ({} ratings, mean {:.2} vs {:.2}, P(better) {:.2})",
                c.challenger.n, c.challenger.mean, c.champion.mean, c.prob_challenger_better
            )
        })
        .unwrap_or_default();
    match s.decision {
        Decision::Promote => format!(
            "prompt {} beat {} and is now the champion{numbers}",
            s.challenger, s.champion
        ),
        Decision::Reject => format!(
            "prompt {} did worse than {} and was rolled back{numbers}",
            s.challenger, s.champion
        ),
        Decision::Expire => format!(
            "prompt {} showed no clear difference from {} and was retired{numbers}",
            s.challenger, s.champion
        ),
        Decision::KeepCollecting => String::new(),
    }
}

fn print(ui: &Ui, report: &EvolveReport) -> std::io::Result<()> {
    match report {
        EvolveReport::NotDue { reason, .. } => ui.out(format!("not due: {reason}")),
        EvolveReport::Busy { trigger_sample } => ui.out(format!(
            "another latina process is evolving (for sample {trigger_sample}); nothing to do"
        )),
        EvolveReport::AlreadyDone {
            trigger_sample,
            earlier_outcome,
        } => ui.out(format!(
            "already done: the evolution for sample {trigger_sample} was run by another latina process ({earlier_outcome})"
        )),
        EvolveReport::Unchanged { reason, .. } => ui.out(format!("nothing to change: {reason}")),
        EvolveReport::Deferred { trigger_sample, .. } => ui.out(format!(
            "out of time: the evolution for sample {trigger_sample} is left due"
        )),
        EvolveReport::Skipped { reason, .. } => ui.out(format!("skipped: {reason}")),
        EvolveReport::Proposed {
            issues,
            categories,
            proposal,
            evolver,
        }
        | EvolveReport::Created {
            issues,
            categories,
            proposal,
            evolver,
            ..
        } => {
            let created = matches!(report, EvolveReport::Created { .. });
            ui.out(format!(
                "{} {} by {evolver}{}",
                ui.bold(if created {
                    "challenger"
                } else {
                    "would create"
                }),
                proposal.new_version,
                if created {
                    " (now on trial)"
                } else {
                    " (dry run: nothing saved)"
                }
            ))?;
            if !issues.is_empty() {
                let list: Vec<String> = issues
                    .iter()
                    .map(|i| format!("{} ×{} (mean {:.1})", i.issue, i.count, i.mean_stars))
                    .collect();
                ui.out(format!("{} {}", ui.bold("issues  "), list.join(", ")))?;
            }
            for c in categories.iter().take(5) {
                ui.out(format!(
                    "{} {} ×{} (mean {:.1}): {}",
                    ui.bold("group   "),
                    c.label,
                    c.size,
                    c.mean_stars,
                    c.examples.first().map(String::as_str).unwrap_or_default()
                ))?;
            }
            ui.out(format!("{} {}", ui.bold("prompt  "), proposal.new_prompt))?;
            ui.out(format!(
                "{} {}",
                ui.bold("negative"),
                proposal.negative_prompt
            ))?;
            ui.out(format!("{} {}", ui.bold("why     "), proposal.reasoning))?;
            for change in &proposal.changes {
                ui.out(format!("  - {change}"))?;
            }
            Ok(())
        }
    }
}
