//! `latina evolve` and the champion/challenger trial.
//!
//! An evolution is due every `every` rated samples (from `min_samples` on),
//! is skipped when the last `every` ratings already average `skip_above`,
//! and waits while a challenger is on trial. The trigger is claimed in the
//! database before the (possibly slow) evolver runs, so two `evolve`
//! processes, or `evolve` and an inline evolution in `rate`, never make two
//! versions for one trigger. The new version becomes the challenger; it
//! earns its place on its own ratings ([`judge`]).
//!
//! Files: [`setup`] builds the evolver and the comment grouping from the
//! config, [`trial`] judges the challenger; this one runs an evolution.

mod setup;
mod trial;

pub use setup::{Grouping, build_evolver, grouping};
use setup::{categories, categories_offline};
pub use trial::{TrialStanding, judge, standing};

use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Workspace;
use crate::domain::{EvolutionSchedule, PromptVersion};
use crate::error::{Error, Result};
use crate::evolve::cluster::Category;
use crate::evolve::{
    EvolutionInput, EvolveError, Evolver, ExistingPrompt, IssueCount, ParentPrompt, Proposal,
    RatedComment,
};
use crate::store::{Claim, EvolutionOutcome, Store};

/// Comments an evolver reads (newest first).
const COMMENTS_READ: usize = 50;

/// The evolution schedule `[evolution]` sets.
pub fn schedule(ws: &Workspace) -> EvolutionSchedule {
    EvolutionSchedule {
        every: ws.config.evolution.every,
        min_samples: ws.config.evolution.min_samples,
    }
}

/// What `evolve` did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EvolveReport {
    /// Nothing to do yet.
    NotDue {
        /// Why, in words.
        reason: String,
        /// Rated samples so far.
        samples: u64,
        /// When the next evolution is due.
        next_at_sample: u64,
    },
    /// Another live process is evolving.
    Busy {
        /// The trigger it holds.
        trigger_sample: u64,
    },
    /// Another process already evolved for this trigger.
    AlreadyDone {
        /// The trigger.
        trigger_sample: u64,
        /// How that evolution ended: `created`, `failed` or `skipped`.
        earlier_outcome: String,
    },
    /// Due, but the comments ask for nothing new (no issue, every fix in
    /// already, or only rewrites that exist already); recorded as skipped
    /// so the trigger is spent.
    Unchanged {
        /// The trigger (absent on a dry run, which records nothing).
        trigger_sample: Option<u64>,
        /// Why, in words.
        reason: String,
    },
    /// Due, but not needed; recorded so the trigger is spent.
    Skipped {
        /// The trigger.
        trigger_sample: u64,
        /// Why.
        reason: String,
    },
    /// Run inline and out of time (a slow LLM): nothing recorded, the
    /// evolution stays due for `latina evolve`.
    Deferred {
        /// The trigger left due.
        trigger_sample: u64,
        /// The time it had.
        budget_ms: u64,
    },
    /// `--dry-run`: what would be saved.
    Proposed {
        /// The issues it was based on.
        issues: Vec<IssueCount>,
        /// The comments grouped beyond the lexicon.
        categories: Vec<Category>,
        /// The proposal.
        proposal: Proposal,
        /// Which evolver.
        evolver: String,
    },
    /// A new challenger.
    Created {
        /// The trigger.
        trigger_sample: u64,
        /// The issues it was based on.
        issues: Vec<IssueCount>,
        /// The comments grouped beyond the lexicon.
        categories: Vec<Category>,
        /// The proposal, now the challenger.
        proposal: Proposal,
        /// Which evolver.
        evolver: String,
    },
}

/// How to run an evolution.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvolveOptions {
    /// Evolve even when not due (still one challenger at a time).
    pub force: bool,
    /// Show the proposal; save nothing.
    pub dry_run: bool,
    /// The longest the network steps (grouping, proposing) may take; past
    /// it the claim is given up and the evolution stays due for
    /// `latina evolve` ([`EvolveReport::Deferred`]). `None`: no limit but
    /// the clients' own deadlines (the cron path).
    pub budget: Option<Duration>,
}

/// How long the evolution run inline after a rating may take: the rating is
/// saved already and the designer is waiting for the prompt.
pub const INLINE_BUDGET: Duration = Duration::from_secs(3);

/// Detects issues in comments (the lexicon lives in `crate::evolve`).
pub type IssueDetector = dyn Fn(&[RatedComment]) -> Vec<IssueCount> + Send + Sync;

/// Evolves when due (or forced).
///
/// # Errors
/// [`Error::Evolution`] when the evolver could not propose a valid version
/// (the failure is recorded and nothing else is saved); database errors.
pub async fn evolve(
    ws: &Workspace,
    store: &mut Store,
    evolver: Arc<dyn Evolver>,
    detect: &IssueDetector,
    grouping: &Grouping,
    options: EvolveOptions,
) -> Result<EvolveReport> {
    let settings = &ws.config.evolution;
    let (samples, recent_mean) = store.rated_samples(settings.every)?;
    let last = store.last_evolution_trigger()?;
    let schedule = schedule(ws);
    let next_at_sample = schedule.next_due(last);
    let not_due = |reason: String| EvolveReport::NotDue {
        reason,
        samples,
        next_at_sample,
    };
    // A forced dry run only shows a proposal, so it may look past the trial.
    let preview_only = options.force && options.dry_run;
    if let Some(challenger) = store.challenger()?.filter(|_| !preview_only) {
        return Ok(not_due(format!(
            "challenger {} is on trial; evolving waits for its decision",
            challenger.prompt.version
        )));
    }
    let trigger = if options.force {
        schedule.forced_trigger(samples, last)
    } else if let Some(trigger) = schedule.due_trigger(samples, last) {
        trigger
    } else if samples < settings.min_samples {
        return Ok(not_due(format!(
            "{samples} rated samples; evolution starts at {}",
            settings.min_samples
        )));
    } else {
        return Ok(not_due(format!(
            "{samples} rated samples; next evolution at sample {next_at_sample}"
        )));
    };
    let champion = store
        .champion_prompt()?
        .ok_or_else(|| Error::Optimizer("no champion prompt in the database".into()))?;
    let parent = ParentPrompt {
        version: champion
            .version
            .parse()
            .map_err(|e| Error::Evolution(format!("the champion's version is not valid: {e}")))?,
        prompt: champion.prompt.clone(),
        negative_prompt: champion.negative_prompt.clone(),
    };
    let comments: Vec<RatedComment> = store
        .recent_comments(&champion.version, COMMENTS_READ)?
        .into_iter()
        .map(|(stars, comment)| RatedComment { stars, comment })
        .collect();
    let issues = detect(&comments);
    let deadline = options.budget.map(|b| Instant::now() + b);
    let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let categories = match left() {
        None => categories(&comments, grouping).await,
        Some(left) => tokio::time::timeout(left, categories(&comments, grouping))
            .await
            .unwrap_or_else(|_| {
                tracing::warn!("comments grouped offline: the endpoint took too long");
                categories_offline(&comments)
            }),
    };
    // Rejected and retired versions keep their numbers and their texts: a
    // proposal must reuse neither (the LLM is told on its retry, the rules
    // skip past them).
    let versions = store.prompt_versions()?;
    let input = EvolutionInput {
        parent: parent.clone(),
        issues: issues.clone(),
        comments,
        recent_mean: recent_mean.unwrap_or(0.0),
        taken_versions: versions
            .iter()
            .filter_map(|v| v.prompt.version.parse().ok())
            .collect(),
        existing_prompts: versions
            .into_iter()
            .map(|v| ExistingPrompt {
                version: v.prompt.version,
                status: v.status,
                prompt: v.prompt.prompt,
                negative_prompt: v.prompt.negative_prompt,
            })
            .collect(),
    };
    let name = evolver.name();

    if options.dry_run {
        return Ok(match propose(evolver, input).await {
            Ok(proposal) => EvolveReport::Proposed {
                issues,
                categories,
                proposal,
                evolver: name,
            },
            Err(EvolveError::NothingToChange(reason)) => EvolveReport::Unchanged {
                trigger_sample: None,
                reason,
            },
            Err(e) => return Err(Error::Evolution(e.to_string())),
        });
    }

    let claim = match store.claim_evolution(trigger, &champion.version, &name)? {
        Claim::Claimed(claim) => claim,
        Claim::Busy { trigger_sample } => return Ok(EvolveReport::Busy { trigger_sample }),
        Claim::Done {
            trigger_sample,
            outcome,
        } => {
            return Ok(EvolveReport::AlreadyDone {
                trigger_sample,
                earlier_outcome: outcome,
            });
        }
        Claim::ChallengerOnTrial { version } => {
            return Ok(not_due(format!(
                "challenger {version} is on trial; evolving waits for its decision"
            )));
        }
    };
    if !options.force
        && let Some(mean) = recent_mean
        && mean >= settings.skip_above
    {
        let reason = format!(
            "the last {} ratings average {mean:.2} (skip_above {})",
            settings.every, settings.skip_above
        );
        store.finish_evolution(claim, &EvolutionOutcome::Skipped(reason.clone()))?;
        return Ok(EvolveReport::Skipped {
            trigger_sample: trigger,
            reason,
        });
    }
    let proposed = match left() {
        None => Some(propose(evolver, input).await),
        Some(left) => tokio::time::timeout(left, propose(evolver, input))
            .await
            .ok(),
    };
    let Some(proposed) = proposed else {
        store.release_evolution(claim)?;
        return Ok(EvolveReport::Deferred {
            trigger_sample: trigger,
            budget_ms: options.budget.unwrap_or_default().as_millis() as u64,
        });
    };
    let proposal = match proposed {
        Ok(p) => p,
        Err(EvolveError::NothingToChange(reason)) => {
            // Due, but the comments ask for nothing new: spent, not failed,
            // so that cron does not retry it at once.
            store.finish_evolution(
                claim,
                &EvolutionOutcome::Skipped(format!("nothing to change: {reason}")),
            )?;
            return Ok(EvolveReport::Unchanged {
                trigger_sample: Some(trigger),
                reason,
            });
        }
        Err(e) => {
            let reason = e.to_string();
            store.finish_evolution(claim, &EvolutionOutcome::Failed(reason.clone()))?;
            return Err(Error::Evolution(reason));
        }
    };
    let version = PromptVersion {
        version: proposal.new_version.to_string(),
        prompt: proposal.new_prompt.clone(),
        negative_prompt: proposal.negative_prompt.clone(),
        parent: Some(champion.version.clone()),
        reasoning: Some(proposal.reasoning.clone()),
        changes: proposal.changes.clone(),
    };
    let issues_json = serde_json::to_string(&issues).expect("issues serialise");
    if let Err(e) = store.finish_evolution(
        claim,
        &EvolutionOutcome::Created {
            prompt: &version,
            issues_json,
        },
    ) {
        // E.g. the version exists already, or a challenger appeared: record
        // the failure so the trigger does not stay claimed.
        let reason = format!("could not save version {}: {e}", version.version);
        store.finish_evolution(claim, &EvolutionOutcome::Failed(reason))?;
        return Err(e);
    }
    Ok(EvolveReport::Created {
        trigger_sample: trigger,
        issues,
        categories,
        proposal,
        evolver: name,
    })
}

/// Asks `evolver` and holds any evolver to the rules a saved version
/// keeps: a free version number and a text no existing version has.
async fn propose(
    evolver: Arc<dyn Evolver>,
    input: EvolutionInput,
) -> std::result::Result<Proposal, EvolveError> {
    let checker = input.clone();
    let proposal = evolver.propose(input).await?;
    checker.check_new(&proposal)?;
    Ok(proposal)
}

/// What ran after ratings were saved ([`after_rating`]).
#[derive(Debug)]
pub struct AfterRating {
    /// Judging the trial: the standing when a decision was applied
    /// (`Ok(None)` when nothing was decided).
    pub decided: Result<Option<TrialStanding>>,
    /// The evolution, when `[evolution] on_rate` let it run.
    pub evolution: Option<Result<EvolveReport>>,
}

/// The step `latina rate` runs once ratings are saved: decide the trial if
/// its rules say so, then (when `[evolution] on_rate`) evolve if due, within
/// `budget` when one is given. Failures are returned, not raised: the
/// ratings are saved either way. `evolver` is only called when an
/// evolution may run.
pub async fn after_rating(
    ws: &Workspace,
    store: &mut Store,
    evolver: impl FnOnce() -> Result<Arc<dyn Evolver>>,
    detect: &IssueDetector,
    grouping: &Grouping,
    budget: Option<Duration>,
) -> AfterRating {
    let decided = judge(ws, store).map(|s| s.filter(|s| s.applied));
    let evolution = if ws.config.evolution.on_rate {
        Some(match evolver() {
            Ok(evolver) => {
                evolve(
                    ws,
                    store,
                    evolver,
                    detect,
                    grouping,
                    EvolveOptions {
                        budget,
                        ..EvolveOptions::default()
                    },
                )
                .await
            }
            Err(e) => Err(e),
        })
    } else {
        None
    };
    AfterRating { decided, evolution }
}
