//! Prompt evolution state: claims on a trigger, challengers, the ratings a
//! trial is judged on, and decisions. Every change of who is champion or
//! challenger happens in one IMMEDIATE transaction, so concurrent `evolve`
//! and `rate` processes never see half of it.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::columns::{Stamp, stamp};
use super::{PromptVersion, Store};
use crate::domain::time;
use crate::domain::{Comparison, Decision};
use crate::error::{Conflict, Error, Result};
use crate::store::db::{Behavior, OptionalExtension, Sql, params};

/// A claim older than this is taken to be from a process that died.
const STALE_CLAIM: SignedDuration = SignedDuration::from_mins(15);

/// The challenger on trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Challenger {
    /// The version and its text.
    pub prompt: PromptVersion,
    /// When its trial started (ratings of both arms from then on count).
    #[serde(with = "time::millis")]
    pub since: Timestamp,
}

/// One evolution, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvolutionRecord {
    /// The rated-sample count that triggered it.
    pub trigger_sample: u64,
    /// The champion it started from.
    pub parent_version: String,
    /// The challenger it created, if any.
    pub new_version: Option<String>,
    /// `rules` or `llm:<model>`.
    pub evolver: String,
    /// `pending`, `created`, `failed`, `skipped`.
    pub outcome: String,
    /// Why it was skipped or failed.
    pub detail: Option<String>,
    /// When.
    #[serde(with = "time::millis")]
    pub created_at: Timestamp,
}

/// One recorded champion/challenger decision (automatic, or a manual
/// `activate`/`rollback` whose numbers are zero and tests empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    /// The champion when it was made.
    pub champion: String,
    /// The challenger (or the version activated / rolled back).
    pub challenger: String,
    /// `promote`, `reject`, `expire`, `activate` or `rollback`.
    pub decision: String,
    /// Champion ratings in the trial period.
    pub champion_n: u64,
    /// Their mean stars.
    pub champion_mean: f64,
    /// Challenger ratings.
    pub challenger_n: u64,
    /// Their mean stars.
    pub challenger_mean: f64,
    /// Challenger mean − champion mean (automatic decisions).
    pub difference: Option<f64>,
    /// Welch's t.
    pub t: Option<f64>,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: Option<f64>,
    /// Probability that the challenger is better.
    pub prob_better: Option<f64>,
    /// When.
    #[serde(with = "time::millis")]
    pub created_at: Timestamp,
}

/// A claimed evolution, to be finished with [`Store::finish_evolution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimId(i64);

/// The answer to [`Store::claim_evolution`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This process runs the evolution.
    Claimed(ClaimId),
    /// Another live process is evolving (for this or another trigger).
    Busy {
        /// The trigger it holds.
        trigger_sample: u64,
    },
    /// This trigger was evolved already.
    Done {
        /// The trigger.
        trigger_sample: u64,
        /// How it ended: `created`, `failed` or `skipped`.
        outcome: String,
    },
    /// A challenger is on trial (perhaps just created by another process).
    ChallengerOnTrial {
        /// Its version.
        version: String,
    },
}

/// What a finished evolution produced.
pub enum EvolutionOutcome<'a> {
    /// A new challenger.
    Created {
        /// The new version (status `challenger`).
        prompt: &'a PromptVersion,
        /// Detected issues, JSON.
        issues_json: String,
    },
    /// Nothing, and why.
    Failed(String),
    /// Not needed, and why.
    Skipped(String),
}

impl Store {
    /// The number of rated experiments and the mean of the latest `window`
    /// of them (by rating time).
    pub fn rated_samples(&self, window: u64) -> Result<(u64, Option<f64>)> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM experiments WHERE rating_id IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        let mean: Option<f64> = self.conn.query_row(
            "SELECT avg(stars) FROM (SELECT stars FROM experiments
             WHERE rating_id IS NOT NULL ORDER BY rating_id DESC LIMIT ?1) AS recent",
            [window as i64],
            |r| r.get(0),
        )?;
        Ok((n as u64, mean))
    }

    /// The latest ratings that have a comment on renders made with prompt
    /// `version`, newest first: what designers say about that prompt, not
    /// about the one it replaced.
    pub fn recent_comments(&self, version: &str, limit: usize) -> Result<Vec<(u8, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT lr.stars, lr.comment FROM experiments e JOIN ratings lr ON lr.id = e.rating_id
             WHERE lr.comment IS NOT NULL AND trim(lr.comment) != '' AND e.prompt_version = ?2
             ORDER BY e.rating_id DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map(params![limit as i64, version], |r| {
                Ok((r.get::<i64>(0)? as u8, r.get(1)?))
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The highest trigger any evolution was recorded for.
    pub fn last_evolution_trigger(&self) -> Result<Option<u64>> {
        let t: Option<i64> =
            self.conn
                .query_row("SELECT max(trigger_sample) FROM evolutions", [], |r| {
                    r.get(0)
                })?;
        Ok(t.map(|t| t as u64))
    }

    /// Claims the evolution for `trigger` in one IMMEDIATE transaction:
    /// [`Claim::Claimed`] for the one process that gets it (a fresh trigger,
    /// or a claim left stale by a process that died). Another process's
    /// live claim on any trigger, a challenger already on trial, or this
    /// trigger done already each give the other answers: one evolution at
    /// a time, whatever triggers the processes computed.
    pub fn claim_evolution(
        &mut self,
        trigger: u64,
        parent_version: &str,
        evolver: &str,
    ) -> Result<Claim> {
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        if let Some(version) = challenger_version(&tx)? {
            return Ok(Claim::ChallengerOnTrial { version });
        }
        let stale_before = time::now()
            .checked_sub(STALE_CLAIM)
            .unwrap_or(Timestamp::MIN);
        let running: Option<i64> = tx
            .query_row(
                "SELECT trigger_sample FROM evolutions
                 WHERE outcome = 'pending' AND trigger_sample != ?1
                   AND created_at >= ?2
                 ORDER BY id DESC LIMIT 1",
                params![trigger as i64, Stamp(stale_before)],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = running {
            return Ok(Claim::Busy {
                trigger_sample: other as u64,
            });
        }
        let existing: Option<(i64, String, bool)> = tx
            .query_row(
                "SELECT id, outcome,
                        created_at < ?2
                 FROM evolutions WHERE trigger_sample = ?1",
                params![trigger as i64, Stamp(stale_before)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let claimed = match existing {
            None => {
                let id = tx.query_row(
                    "INSERT INTO evolutions (trigger_sample, parent_version, evolver, outcome)
                     VALUES (?1, ?2, ?3, 'pending') RETURNING id",
                    params![trigger as i64, parent_version, evolver],
                    |r| r.get(0),
                )?;
                Claim::Claimed(ClaimId(id))
            }
            Some((id, outcome, stale)) if outcome == "pending" && stale => {
                tx.execute(
                    "UPDATE evolutions SET parent_version = ?2, evolver = ?3,
                         created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE id = ?1",
                    params![id, parent_version, evolver],
                )?;
                Claim::Claimed(ClaimId(id))
            }
            Some((_, outcome, _)) if outcome == "pending" => Claim::Busy {
                trigger_sample: trigger,
            },
            Some((_, outcome, _)) => Claim::Done {
                trigger_sample: trigger,
                outcome,
            },
        };
        tx.commit()?;
        Ok(claimed)
    }

    /// Records how a claimed evolution ended; a created version becomes the
    /// challenger in the same transaction. Fails (and records nothing) if a
    /// challenger appeared meanwhile: at most one is ever on trial.
    ///
    /// # Errors
    /// [`Conflict::ChallengerOnTrial`] or [`Conflict::PromptVersionExists`]
    /// when another process got there first.
    pub fn finish_evolution(
        &mut self,
        claim: ClaimId,
        outcome: &EvolutionOutcome<'_>,
    ) -> Result<()> {
        let claim = claim.0;
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        match outcome {
            EvolutionOutcome::Created {
                prompt,
                issues_json,
            } => {
                if let Some(version) = challenger_version(&tx)? {
                    return Err(Error::Conflict(Conflict::ChallengerOnTrial { version }));
                }
                let taken: bool = tx.query_row(
                    "SELECT count(*) FROM prompt_versions WHERE version = ?1",
                    [&prompt.version],
                    |r| r.get::<i64>(0).map(|n| n > 0),
                )?;
                if taken {
                    return Err(Error::Conflict(Conflict::PromptVersionExists {
                        version: prompt.version.clone(),
                    }));
                }
                tx.execute(
                    "INSERT INTO prompt_versions (version, prompt, negative_prompt, parent, status, reasoning, changes)
                     VALUES (?1, ?2, ?3, ?4, 'challenger', ?5, ?6)",
                    params![
                        prompt.version,
                        prompt.prompt,
                        prompt.negative_prompt,
                        prompt.parent,
                        prompt.reasoning,
                        serde_json::to_string(&prompt.changes).expect("strings serialise"),
                    ],
                )?;
                tx.execute(
                    "UPDATE evolutions SET outcome = 'created', new_version = ?2, issues = ?3,
                         reasoning = ?4, changes = ?5,
                         finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE id = ?1",
                    params![
                        claim,
                        prompt.version,
                        issues_json,
                        prompt.reasoning,
                        serde_json::to_string(&prompt.changes).expect("strings serialise"),
                    ],
                )?;
            }
            EvolutionOutcome::Failed(detail) | EvolutionOutcome::Skipped(detail) => {
                let status = match outcome {
                    EvolutionOutcome::Failed(_) => "failed",
                    _ => "skipped",
                };
                tx.execute(
                    "UPDATE evolutions SET outcome = ?2, detail = ?3,
                         finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE id = ?1",
                    params![claim, status, detail],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Gives up a claim that has not finished (an inline evolution out of
    /// time): the trigger is due again, for `latina evolve`.
    pub fn release_evolution(&mut self, claim: ClaimId) -> Result<()> {
        self.conn.execute(
            "DELETE FROM evolutions WHERE id = ?1 AND outcome = 'pending'",
            [claim.0],
        )?;
        Ok(())
    }

    /// The challenger on trial, if any.
    pub fn challenger(&self) -> Result<Option<Challenger>> {
        self.conn
            .query_row(
                "SELECT version, prompt, negative_prompt, parent, reasoning, changes, created_at
                 FROM prompt_versions WHERE status = 'challenger'",
                [],
                |r| {
                    let changes: String = r.get(5)?;
                    Ok(Challenger {
                        prompt: PromptVersion {
                            version: r.get(0)?,
                            prompt: r.get(1)?,
                            negative_prompt: r.get(2)?,
                            parent: r.get(3)?,
                            reasoning: r.get(4)?,
                            changes: serde_json::from_str(&changes).unwrap_or_default(),
                        },
                        since: stamp(r, 6)?,
                    })
                },
            )
            .optional()
    }

    /// Latest stars of the experiments made with `version` from `since` on.
    pub fn ratings_since(&self, version: &str, since: Timestamp) -> Result<Vec<u8>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.stars FROM experiments e
             WHERE e.rating_id IS NOT NULL AND e.prompt_version = ?1 AND e.created_at >= ?2
             ORDER BY e.rating_id",
        )?;
        let rows = stmt
            .query_map(params![version, Stamp(since)], |r| {
                Ok(r.get::<i64>(0)? as u8)
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Applies a promote/reject/expire decision on `challenger` (if it is
    /// still the challenger: another process may have decided first) and
    /// records it with its numbers. Returns whether this call applied it.
    pub fn decide_challenger(
        &mut self,
        challenger: &str,
        decision: Decision,
        numbers: &Comparison,
    ) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let still: bool = tx.query_row(
            "SELECT count(*) FROM prompt_versions WHERE version = ?1 AND status = 'challenger'",
            [challenger],
            |r| r.get::<i64>(0).map(|n| n == 1),
        )?;
        let champion: String = tx.query_row(
            "SELECT version FROM prompt_versions WHERE status = 'champion'",
            [],
            |r| r.get(0),
        )?;
        if !still || decision == Decision::KeepCollecting {
            return Ok(false);
        }
        match decision {
            Decision::Promote => {
                tx.execute(
                    "UPDATE prompt_versions SET status = 'retired' WHERE version = ?1",
                    [&champion],
                )?;
                tx.execute(
                    "UPDATE prompt_versions SET status = 'champion' WHERE version = ?1",
                    [challenger],
                )?;
            }
            Decision::Reject => {
                tx.execute(
                    "UPDATE prompt_versions SET status = 'rejected' WHERE version = ?1",
                    [challenger],
                )?;
            }
            Decision::Expire => {
                tx.execute(
                    "UPDATE prompt_versions SET status = 'retired' WHERE version = ?1",
                    [challenger],
                )?;
            }
            Decision::KeepCollecting => unreachable!("returned above"),
        }
        tx.execute(
            "INSERT INTO prompt_decisions (champion, challenger, decision, champion_n, champion_mean,
                 challenger_n, challenger_mean, difference, t, df, prob_better)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                champion,
                challenger,
                decision.as_str(),
                numbers.champion.n as i64,
                numbers.champion.mean,
                numbers.challenger.n as i64,
                numbers.challenger.mean,
                numbers.difference,
                numbers.t,
                numbers.df,
                numbers.prob_challenger_better,
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The latest evolutions, newest first.
    pub fn evolutions(&self, limit: usize) -> Result<Vec<EvolutionRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT trigger_sample, parent_version, new_version, evolver, outcome, detail, created_at
             FROM evolutions ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(EvolutionRecord {
                    trigger_sample: r.get::<i64>(0)? as u64,
                    parent_version: r.get(1)?,
                    new_version: r.get(2)?,
                    evolver: r.get(3)?,
                    outcome: r.get(4)?,
                    detail: r.get(5)?,
                    created_at: stamp(r, 6)?,
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }
}

/// The version on trial, read inside the caller's transaction.
fn challenger_version(conn: &impl Sql) -> Result<Option<String>> {
    conn.query_row(
        "SELECT version FROM prompt_versions WHERE status = 'challenger'",
        [],
        |r| r.get(0),
    )
    .optional()
}

impl Store {
    /// Every champion/challenger decision, oldest first.
    pub fn prompt_decisions(&self) -> Result<Vec<DecisionRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT champion, challenger, decision, champion_n, champion_mean, challenger_n,
                    challenger_mean, difference, t, df, prob_better, created_at
             FROM prompt_decisions ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DecisionRecord {
                    champion: r.get(0)?,
                    challenger: r.get(1)?,
                    decision: r.get(2)?,
                    champion_n: r.get::<i64>(3)? as u64,
                    champion_mean: r.get(4)?,
                    challenger_n: r.get::<i64>(5)? as u64,
                    challenger_mean: r.get(6)?,
                    difference: r.get(7)?,
                    t: r.get(8)?,
                    df: r.get(9)?,
                    prob_better: r.get(10)?,
                    created_at: stamp(r, 11)?,
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_comments_are_only_those_on_the_given_prompt_versions_renders() {
        let store = Store::open_for_test().unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO prompt_versions (version, prompt, negative_prompt, status)
                     VALUES ('1.0.0', 'p', '', 'retired'), ('1.1.0', 'q', '', 'champion');
                 INSERT INTO batches (id) VALUES ('b1');
                 INSERT INTO experiments (id, batch_id, option, provider, init_strength,
                     guidance_scale, controlnet_weight, prompt_version, method, status)
                 VALUES ('e1', 'b1', 'A', 'tone', 0.2, 7, 0.8, '1.0.0', 'random', 'done'),
                        ('e2', 'b1', 'B', 'tone', 0.3, 8, 0.9, '1.1.0', 'random', 'done'),
                        ('e3', 'b1', 'C', 'tone', 0.3, 8, 0.9, '1.1.0', 'random', 'done');
                 INSERT INTO ratings (experiment_id, stars, comment) VALUES
                     ('e1', 2, 'se ve plano'),
                     ('e2', 3, 'too dark'),
                     ('e3', 4, '   '),
                     ('e2', 2, 'muy oscuro');",
            )
            .unwrap();
        // The old champion's complaint is not read for the new one; only the
        // latest rating of e2 counts; a blank comment is no comment.
        assert_eq!(
            store.recent_comments("1.1.0", 10).unwrap(),
            vec![(2, "muy oscuro".to_string())]
        );
        assert_eq!(
            store.recent_comments("1.0.0", 10).unwrap(),
            vec![(2, "se ve plano".to_string())]
        );
    }
}
