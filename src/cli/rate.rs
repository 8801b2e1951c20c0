//! `latina rate [<experiment-id> <stars>]`

use clap::Args;
use std::process::ExitCode;

use super::evolve::report_learning;
use super::term_image::PreviewDisplay;
use super::ui::{Answer, Choice, Ui, params_text};
use super::workspace::env_lookup;
use crate::domain::{ExperimentId, Stars};
use crate::ops::Workspace;
use crate::ops::prefer::{PreferenceInput, prefer};
use crate::ops::rate::{RatingInput, learn, rate, rate_and_learn, unrated};
use crate::store::{ExperimentRecord, OpenMode, Store};

/// Arguments of `latina rate`.
#[derive(Debug, Args)]
pub struct RateArgs {
    /// Experiment id or a unique prefix of it (omit to walk through the unrated ones)
    #[arg(value_name = "EXPERIMENT", requires = "stars")]
    pub experiment: Option<String>,
    /// Whole stars, 1 to 5
    #[arg(value_name = "STARS", allow_negative_numbers = true)]
    pub stars: Option<String>,
    /// What is good or wrong about it (any language)
    #[arg(long, short)]
    pub comment: Option<String>,
    /// Who is rating [default: config `rater`, else $USER]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Open each photo's labelled preview in the system viewer instead of
    /// drawing it in the terminal
    #[arg(long)]
    pub open: bool,
}

/// Rates one experiment, or prompts through the unrated ones on a terminal,
/// or lists them otherwise.
pub fn run(ws: &Workspace, ui: &Ui, args: RateArgs) -> anyhow::Result<ExitCode> {
    let mut store = ws.open_store(OpenMode::MustExist)?;
    let rater = rater(ws, args.by.as_deref());
    if let (Some(id), Some(stars)) = (&args.experiment, &args.stars) {
        let rating = RatingInput {
            id,
            stars: Stars::parse(stars)?,
            comment: args.comment.as_deref(),
            rated_by: rater.as_deref(),
        };
        let (receipt, learned) = rate_and_learn(ws, &mut store, &rating, &env_lookup)?;
        if ui.json {
            ui.json_pretty(&receipt)?;
        } else {
            ui.out(format!(
                "rated {} ({}, {}) {}{}",
                receipt.experiment_id.short(),
                receipt.option,
                receipt.provider,
                ui.stars(receipt.stars),
                if receipt.replaced_earlier {
                    "  (replaces the earlier rating by this designer, which is kept in the history)"
                } else {
                    ""
                }
            ))?;
        }
        report_learning(ui, learned);
        return Ok(ExitCode::SUCCESS);
    }
    let pending = unrated(&store)?;
    if ui.interactive() {
        // The walkthrough shows renders; a suggestion has no image to look
        // at, so it is rated by id (`latina rate <id> <stars>`), and a
        // render whose file is gone cannot be looked at either.
        let (with_file, without): (Vec<_>, Vec<_>) = pending.iter().partition(|e| {
            e.output_path
                .as_deref()
                .is_some_and(|p| ws.storage.local_copy(p).is_ok_and(|local| local.is_file()))
        });
        if with_file.is_empty() {
            ui.out("nothing to rate")?;
        } else {
            let ids = walkthrough_order(&with_file);
            let display = PreviewDisplay::new(ui, ws.config.ui.images, args.open);
            rate_interactively(ws, &mut store, ui, &display, &ids, rater.as_deref())?;
        }
        let suggestions = without.iter().filter(|e| e.output_path.is_none()).count();
        if suggestions > 0 {
            ui.note(ui.dim(format!(
                "{suggestions} suggestion(s) without an image are not offered here; rate one with: latina rate <id> <1-5>"
            )));
        }
        let missing = without.len() - suggestions;
        if missing > 0 {
            ui.note(ui.dim(format!(
                "{missing} render(s) whose file is missing are not offered here (see `latina history`)"
            )));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if ui.json {
        let list: Vec<_> = pending.iter().map(unrated_json).collect();
        ui.json_pretty(&list)?;
    } else if pending.is_empty() {
        ui.out("nothing to rate")?;
    } else {
        for e in &pending {
            ui.out(unrated_line(ui, e))?;
        }
        ui.note(ui.dim("rate one with: latina rate <id> <1-5> [--comment TEXT]"));
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the designer asked to stop rating (`q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walkthrough {
    /// Every experiment was offered.
    Finished,
    /// The designer typed `q`: ask nothing more in this command.
    Stopped,
}

/// Prompts for each experiment in turn, each headed by where the designer
/// is ("3 of 12"), the photo's name and the provider arm, each photo's
/// labelled preview shown once before its first prompt; every answer is
/// committed at once.
/// When the next experiment is another variant of the same photo, the
/// designer may choose between the two instead of giving stars (a
/// preference, recorded through [`prefer`]); then neither is asked again.
/// After the answers, the learning step runs once (when anything was judged).
pub fn rate_interactively(
    ws: &Workspace,
    store: &mut Store,
    ui: &Ui,
    display: &PreviewDisplay,
    ids: &[ExperimentId],
    rater: Option<&str>,
) -> anyhow::Result<Walkthrough> {
    let mut rated = false;
    let mut walkthrough = Walkthrough::Finished;
    let mut next = 0;
    let mut last_batch = None;
    while let Some(id) = ids.get(next) {
        let e = store.experiment(id)?;
        let photo = store
            .experiment_detail(id)?
            .row
            .image
            .map_or_else(|| "(no photo)".to_string(), |i| i.name);
        ui.out(format!(
            "\n{}  {}  {}",
            ui.bold(format!("{} of {}", next + 1, ids.len())),
            ui.bold(super::display::printable(&photo)),
            ui.dim(format!("{} by {}", e.option, e.trial.provider))
        ))?;
        if last_batch.as_ref() != Some(&e.batch_id) {
            if let Some(preview) = &e.preview_path {
                // From the bucket into the cache when this client has no copy.
                display.show(ui, &ws.storage.local_copy(preview)?)?;
            }
            last_batch = Some(e.batch_id.clone());
        }
        // The next variant of the same photo can be chosen against this one.
        let partner = match ids.get(next + 1) {
            Some(other) => Some(store.experiment(other)?).filter(|p| p.batch_id == e.batch_id),
            None => None,
        };
        ui.out(unrated_line(ui, &e))?;
        if let Some(p) = &partner {
            ui.out(unrated_line(ui, p))?;
        }
        let pair = partner
            .as_ref()
            .map(|p| (e.option.as_str(), p.option.as_str()));
        next += 1;
        match ui.ask_rating(&format!("{} ({})", e.option, e.trial.provider), pair)? {
            Answer::Rated(stars, comment) => {
                let receipt = rate(store, id.as_str(), stars, comment.as_deref(), rater)?;
                ui.out(format!("  saved {}", ui.stars(receipt.stars)))?;
                rated = true;
            }
            Answer::Preferred(choice, comment) => {
                let Some(p) = &partner else { continue };
                let (better, worse) = match choice {
                    Choice::Second => (&p.id, &e.id),
                    Choice::First | Choice::Same => (&e.id, &p.id),
                };
                let receipt = prefer(
                    store,
                    &PreferenceInput {
                        better: better.as_str(),
                        worse: worse.as_str(),
                        tie: choice == Choice::Same,
                        comment: comment.as_deref(),
                        rated_by: rater,
                    },
                )?;
                ui.out(format!(
                    "  saved: {}",
                    super::prefer::receipt_line(&receipt)
                ))?;
                rated = true;
                // The choice stands in for stars on both.
                next += 1;
            }
            Answer::Skip => {}
            Answer::Stop => {
                walkthrough = Walkthrough::Stopped;
                break;
            }
        }
    }
    if rated {
        report_learning(ui, learn(ws, store, &env_lookup));
    }
    Ok(walkthrough)
}

/// Newest photo first, and within a photo its variants in option order
/// (A, B, …), so the two variants of a photo are offered together.
fn walkthrough_order(renders: &[&ExperimentRecord]) -> Vec<ExperimentId> {
    let mut batches: Vec<&crate::domain::BatchId> = Vec::new();
    for e in renders {
        if !batches.contains(&&e.batch_id) {
            batches.push(&e.batch_id);
        }
    }
    let mut ordered: Vec<&ExperimentRecord> = renders.to_vec();
    ordered.sort_by_key(|e| {
        (
            batches.iter().position(|b| **b == e.batch_id),
            e.option.clone(),
        )
    });
    ordered.into_iter().map(|e| e.id.clone()).collect()
}

/// `--by`, else the config's `rater`, else `$USER`.
pub fn rater(ws: &Workspace, by: Option<&str>) -> Option<String> {
    by.map(str::to_string)
        .or_else(|| ws.config.rater.clone())
        .or_else(|| env_lookup("USER"))
        .filter(|s| !s.trim().is_empty())
}

fn unrated_line(ui: &Ui, e: &ExperimentRecord) -> String {
    let what = e.output_path.as_deref().map_or_else(
        || "(proposed parameters, no image)".into(),
        |p| super::display::printable(p).into_owned(),
    );
    format!(
        "{}  {}  {:<8} {}\n    {}",
        e.id.short(),
        e.option,
        e.trial.provider,
        ui.dim(params_text(&e.trial.params)),
        what
    )
}

fn unrated_json(e: &ExperimentRecord) -> serde_json::Value {
    serde_json::json!({
        "experiment_id": e.id,
        "option": e.option,
        "provider": e.trial.provider,
        "params": e.trial.params,
        "status": e.status,
        "output": e.output_path,
        "preview": e.preview_path,
        "created_at": crate::domain::time::format(e.created_at),
    })
}
