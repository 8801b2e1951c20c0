//! The champion/challenger trial: where the challenger stands on its own
//! ratings, and the decision once the rules allow one.

use serde::Serialize;

use super::Workspace;
use crate::error::{Error, Result};
use crate::evolve::compare::{self, ArmStats, Comparison, Decision};
use crate::store::Store;

/// Where the challenger stands.
#[derive(Debug, Clone, Serialize)]
pub struct TrialStanding {
    /// The champion's version.
    pub champion: String,
    /// The challenger's version.
    pub challenger: String,
    /// When the trial started.
    #[serde(with = "crate::domain::time::millis")]
    pub since: jiff::Timestamp,
    /// The test's numbers (once both have ratings).
    pub comparison: Option<Comparison>,
    /// What the rules say now.
    pub decision: Decision,
    /// Whether this call applied the decision.
    pub applied: bool,
}

/// The current trial without deciding anything (for `status`).
pub fn standing(ws: &Workspace, store: &Store) -> Result<Option<TrialStanding>> {
    let Some(challenger) = store.challenger()? else {
        return Ok(None);
    };
    let champion = store
        .champion_prompt()?
        .ok_or_else(|| Error::Optimizer("no champion prompt in the database".into()))?;
    let champion_stats = ArmStats::of(&store.ratings_since(&champion.version, challenger.since)?);
    let challenger_stats =
        ArmStats::of(&store.ratings_since(&challenger.prompt.version, challenger.since)?);
    let comparison = compare::compare(champion_stats, challenger_stats);
    let decision = compare::decide(comparison.as_ref(), &ws.config.evolution.rules());
    Ok(Some(TrialStanding {
        champion: champion.version,
        challenger: challenger.prompt.version,
        since: challenger.since,
        comparison,
        decision,
        applied: false,
    }))
}

/// Decides the trial if the rules say so (promote, reject or retire) and
/// records the decision with its numbers.
pub fn judge(ws: &Workspace, store: &mut Store) -> Result<Option<TrialStanding>> {
    let Some(mut standing) = standing(ws, store)? else {
        return Ok(None);
    };
    if let (Some(numbers), true) = (
        standing.comparison,
        standing.decision != Decision::KeepCollecting,
    ) {
        standing.applied =
            store.decide_challenger(&standing.challenger, standing.decision, &numbers)?;
    }
    Ok(Some(standing))
}
