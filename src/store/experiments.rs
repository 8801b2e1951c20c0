//! `batches` and `experiments`: what was proposed, rendered, and how it went.

use super::context::{self, NewContext};
use super::owner::{self, Liveness, Owner};
use super::{NewImage, Store, images};
use crate::domain::{
    AppliedKnobs, ArmRule, BatchId, ExperimentId, ExperimentStatus, Explanation, ImageMeta, Method,
    Params, RatedTrial, Stars, Trial,
};
use crate::error::{Error, Result};
use crate::store::db::{Behavior, OptionalExtension, Row, Sql, params};

/// A batch of variants to record in one transaction.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// The batch's id.
    pub id: BatchId,
    /// The photo, for `enhance`; `None` for `suggest`.
    pub image: Option<NewImage>,
    /// The designer's metadata about the photo.
    pub meta: ImageMeta,
    /// The variants, labelled A, B, … in order.
    pub experiments: Vec<NewExperiment>,
}

/// One variant to record.
#[derive(Debug, Clone)]
pub struct NewExperiment {
    /// The experiment's id.
    pub id: ExperimentId,
    /// A, B, …
    pub option: String,
    /// Provider arm and parameters.
    pub trial: Trial,
    /// The prompt version used.
    pub prompt_version: String,
    /// How the optimizer chose the point.
    pub method: Method,
    /// The model's view of the point when it was proposed.
    pub explanation: Explanation,
    /// `Proposed` for `suggest`, `Running` for a render about to start.
    pub status: ExperimentStatus,
}

/// How a render ended.
#[derive(Debug, Clone)]
pub enum ExperimentUpdate {
    /// The render was written to `output_path`.
    Done {
        /// Where the render is.
        output_path: String,
        /// Wall time of the provider call, milliseconds.
        latency_ms: u64,
        /// Set when the chosen provider failed and another arm rendered.
        fallback: Option<Fallback>,
        /// What it cost in US dollars, when known.
        cost_usd: Option<f64>,
        /// The knobs the arm that rendered applied (with the values sent)
        /// and ignored; `None` when unknown.
        knobs: Option<AppliedKnobs>,
    },
    /// The provider failed.
    Failed {
        /// One line, no secrets.
        error: String,
        /// Wall time until the failure, milliseconds.
        latency_ms: u64,
    },
}

/// A variant rendered by a fallback arm because its provider failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// The arm that rendered it (the experiment is recorded under this arm,
    /// so its rating teaches the optimizer about what was really shown).
    pub provider: String,
    /// The provider that failed.
    pub from: String,
    /// Why it failed.
    pub error: String,
    /// Wall time lost on the failed provider before the fallback started,
    /// milliseconds: charged to `from` in `status`, not to `provider`.
    pub waited_ms: u64,
}

/// An experiment as read back, with its latest rating.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentRecord {
    /// Its id.
    pub id: ExperimentId,
    /// Its batch.
    pub batch_id: BatchId,
    /// A, B, …
    pub option: String,
    /// Provider arm and parameters.
    pub trial: Trial,
    /// The prompt version used.
    pub prompt_version: String,
    /// How the optimizer chose the point.
    pub method: Method,
    /// The model's view of the point when it was proposed.
    pub explanation: Explanation,
    /// Where it is in its life.
    pub status: ExperimentStatus,
    /// The render, when done.
    pub output_path: Option<String>,
    /// Provider wall time, milliseconds.
    pub latency_ms: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was proposed.
    pub created_at: jiff::Timestamp,
    /// The copy of the photo it was rendered from, if any.
    pub image_path: Option<String>,
    /// The batch's side-by-side preview, if any.
    pub preview_path: Option<String>,
    /// The latest rating and its comment.
    pub rating: Option<(Stars, Option<String>)>,
}

const RECORD_COLUMNS: &str = "e.id, e.batch_id, e.option, e.provider, e.init_strength,
    e.guidance_scale, e.controlnet_weight, e.prompt_version, e.method, e.status,
    e.output_path, e.latency_ms, e.error, e.created_at, i.stored_path, b.preview_path,
    lr.stars, lr.comment, e.arm_rule, e.arm_score, e.predicted_mean, e.predicted_sd,
    e.expected_improvement";

/// The one-designer model's observations as a table: each rated
/// experiment with its latest stars, and each guarded, unrated render as a
/// one-star outcome.
const JUDGED_TRIALS: &str = "(SELECT seq, provider, init_strength, guidance_scale,
        controlnet_weight, stars
     FROM experiments WHERE rating_id IS NOT NULL
     UNION ALL
     SELECT seq, provider, init_strength, guidance_scale, controlnet_weight, 1
     FROM experiments WHERE guarded = 1 AND rating_id IS NULL) AS judged";

const RECORD_JOINS: &str = "FROM experiments e
    JOIN batches b ON b.id = e.batch_id
    LEFT JOIN images i ON i.id = b.image_id
    LEFT JOIN ratings lr ON lr.id = e.rating_id";

/// The rating queue: rateable, shown experiments nobody rated or chose
/// between. They are read through the partial index of experiments without
/// a rating (a few thousand rows in a long history), not by status, which
/// walked every finished render: 110 ms of the queue page's 120 ms at
/// 100,000 renders.
fn unrated_experiments_sql() -> String {
    format!(
        "SELECT {RECORD_COLUMNS}
         FROM experiments e INDEXED BY experiments_unrated_created
         JOIN batches b ON b.id = e.batch_id
         LEFT JOIN images i ON i.id = b.image_id
         LEFT JOIN ratings lr ON lr.id = e.rating_id
         WHERE e.rating_id IS NULL AND e.status IN ('done', 'proposed') AND e.shown = 1
           AND NOT EXISTS (SELECT 1 FROM preferences p WHERE p.better_id = e.id)
           AND NOT EXISTS (SELECT 1 FROM preferences p WHERE p.worse_id = e.id)
         ORDER BY e.seq DESC"
    )
}

fn record_from_row(r: &Row<'_>) -> Result<ExperimentRecord> {
    let stars: Option<i64> = r.get(16)?;
    // Rows from before explanations were recorded have none: spread by the design.
    let arm_rule: Option<ArmRule> = r.get(18)?;
    let explanation = Explanation {
        arm_rule: arm_rule.unwrap_or(ArmRule::Design),
        arm_score: r.get(19)?,
        predicted_mean: r.get(20)?,
        predicted_sd: r.get(21)?,
        expected_improvement: r.get(22)?,
    };
    Ok(ExperimentRecord {
        id: r.get(0)?,
        batch_id: r.get(1)?,
        option: r.get(2)?,
        trial: Trial {
            provider: r.get(3)?,
            params: Params {
                init_strength: r.get(4)?,
                guidance_scale: r.get(5)?,
                controlnet_weight: r.get(6)?,
            },
        },
        prompt_version: r.get(7)?,
        method: r.get(8)?,
        explanation,
        status: r.get(9)?,
        output_path: r.get(10)?,
        latency_ms: r.get::<Option<i64>>(11)?.map(|v| v.max(0) as u64),
        error: r.get(12)?,
        created_at: super::columns::stamp(r, 13)?,
        image_path: r.get(14)?,
        preview_path: r.get(15)?,
        rating: match stars {
            Some(s) => Some((
                Stars::new(s).map_err(|_| {
                    rusqlite::Error::FromSqlConversionFailure(
                        16,
                        rusqlite::types::Type::Integer,
                        format!("stars {s} out of range").into(),
                    )
                })?,
                r.get(17)?,
            )),
            None => None,
        },
    })
}

impl Store {
    /// Records a batch, its image (deduplicated by hash) and its experiments
    /// atomically: all rows or none.
    pub fn create_batch(&mut self, batch: &NewBatch) -> Result<()> {
        self.create_batch_in_context(batch, &NewContext::default())
    }

    /// [`Store::create_batch`] with the room context the batch was proposed
    /// for: the photo's measured features (kept if the photo has some
    /// already) and the batch's own, in the same transaction.
    pub fn create_batch_in_context(
        &mut self,
        batch: &NewBatch,
        context: &NewContext,
    ) -> Result<()> {
        // Immediate: the image upsert reads before it writes, and a deferred
        // transaction that upgrades is refused at once when another process
        // writes (the busy timeout never applies to it).
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let image_id = match &batch.image {
            Some(image) => Some(images::upsert(&tx, image)?),
            None => None,
        };
        if let (Some(image_id), Some(features)) = (image_id, &context.photo) {
            context::insert_photo_features(&tx, image_id, features)?;
        }
        tx.execute(
            "INSERT INTO batches (id, image_id, project, kind, room, style, made_for)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                batch.id.as_str(),
                image_id,
                batch.meta.project,
                batch.meta.kind,
                batch.meta.room,
                batch.meta.style,
                context.made_for
            ],
        )?;
        if let Some(features) = &context.batch {
            context::insert_batch_context(&tx, batch.id.as_str(), features, &context.overridden)?;
        }
        {
            let mut insert = tx.prepare(
                "INSERT INTO experiments (id, batch_id, option, provider, init_strength,
                     guidance_scale, controlnet_weight, prompt_version, method, status,
                     arm_rule, arm_score, predicted_mean, predicted_sd, expected_improvement,
                     owner_pid, owner_host, owner_start)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                     ?16, ?17, ?18)",
            )?;
            let me = owner::current();
            for e in &batch.experiments {
                // Only a render in progress has an owner that may vanish.
                let running = e.status == ExperimentStatus::Running;
                insert.execute(params![
                    e.id,
                    batch.id,
                    e.option,
                    e.trial.provider,
                    e.trial.params.init_strength,
                    e.trial.params.guidance_scale,
                    e.trial.params.controlnet_weight,
                    e.prompt_version,
                    e.method,
                    e.status,
                    e.explanation.arm_rule,
                    e.explanation.arm_score,
                    e.explanation.predicted_mean,
                    e.explanation.predicted_sd,
                    e.explanation.expected_improvement,
                    running.then_some(me.pid),
                    running.then_some(me.host.as_deref()).flatten(),
                    running.then_some(me.start.as_deref()).flatten()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records how a running render ended.
    pub fn finish_experiment(
        &mut self,
        id: &ExperimentId,
        update: &ExperimentUpdate,
    ) -> Result<()> {
        let (status, output, error, latency, fallback, cost, knobs) = match update {
            ExperimentUpdate::Done {
                output_path,
                latency_ms,
                fallback,
                cost_usd,
                knobs,
            } => (
                ExperimentStatus::Done,
                Some(output_path.as_str()),
                fallback.as_ref().map(|f| f.error.as_str()),
                *latency_ms,
                fallback.as_ref(),
                *cost_usd,
                knobs.as_ref().map(knobs_json),
            ),
            ExperimentUpdate::Failed { error, latency_ms } => (
                ExperimentStatus::Failed,
                None,
                Some(error.as_str()),
                *latency_ms,
                None,
                None,
                None,
            ),
        };
        self.conn.execute(
            "UPDATE experiments SET status = ?2, output_path = ?3, error = ?4, latency_ms = ?5,
                 provider = coalesce(?6, provider), fallback_from = ?7, cost_usd = ?8,
                 fallback_latency_ms = ?9, applied_knobs = ?10,
                 finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?1",
            params![
                id.as_str(),
                status.as_str(),
                output,
                error,
                latency as i64,
                fallback.map(|f| f.provider.as_str()),
                fallback.map(|f| f.from.as_str()),
                cost,
                fallback.map(|f| i64::try_from(f.waited_ms).unwrap_or(i64::MAX)),
                knobs
            ],
        )?;
        Ok(())
    }

    /// Marks `running` experiments whose process is gone as failed, with an
    /// error starting `interrupted`, so they stop counting as pending and
    /// say what happened. Runs whenever the database is opened for writing;
    /// returns how many rows were marked.
    ///
    /// A row whose owner cannot be checked (another host, no start token,
    /// or written before owners were recorded) is marked once it is older
    /// than the lease ([`owner::LEASE`]).
    pub fn recover_interrupted(&mut self) -> Result<usize> {
        let lease_start = crate::domain::time::now()
            .checked_sub(owner::LEASE)
            .unwrap_or(jiff::Timestamp::MIN);
        let candidates: Vec<(String, Option<Owner>, bool)> = {
            let mut stmt = self.conn.prepare(
                "SELECT id, owner_pid, owner_host, owner_start,
                        created_at < ?1
                 FROM experiments WHERE status = 'running'",
            )?;
            stmt.query_map([super::columns::Stamp(lease_start)], |r| {
                let owner = r.get::<Option<i64>>(1)?.map(|pid| Owner {
                    pid: u32::try_from(pid).unwrap_or(u32::MAX),
                    host: r.get(2).ok().flatten(),
                    start: r.get(3).ok().flatten(),
                });
                Ok((r.get(0)?, owner, r.get(4)?))
            })?
            .collect::<Result<_>>()?
        };
        if candidates.is_empty() {
            return Ok(0);
        }
        let gone: Vec<(String, String)> = candidates
            .into_iter()
            .filter_map(|(id, recorded, lease_expired)| {
                let verdict = recorded.as_ref().map_or(Liveness::Unknown, owner::liveness);
                let stale = match verdict {
                    Liveness::Alive => false,
                    Liveness::Gone => true,
                    Liveness::Unknown => lease_expired,
                };
                stale.then(|| {
                    let why = match (&recorded, verdict) {
                        (Some(o), Liveness::Gone) => format!(
                            "interrupted: latina (pid {}) stopped before the render finished \
                             (killed, or the machine went down)",
                            o.pid
                        ),
                        _ => format!(
                            "interrupted: still running after {} minutes with no way to \
                             check its process",
                            owner::LEASE.as_secs() / 60
                        ),
                    };
                    (id, why)
                })
            })
            .collect();
        if gone.is_empty() {
            return Ok(0);
        }
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let mut marked = 0;
        {
            // `status = 'running'` again: the owner may have finished the
            // row since it was read.
            let mut update = tx.prepare(
                "UPDATE experiments SET status = 'failed', error = ?2,
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ?1 AND status = 'running'",
            )?;
            for (id, why) in &gone {
                marked += update.execute(params![id, why])?;
            }
        }
        tx.commit()?;
        if marked > 0 {
            tracing::warn!(
                rows = marked,
                "running experiments whose process is gone marked interrupted"
            );
        }
        Ok(marked)
    }

    /// Records where a batch's side-by-side preview was written.
    pub fn set_preview(&mut self, batch: &BatchId, path: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE batches SET preview_path = ?2 WHERE id = ?1",
            params![batch.as_str(), path],
        )?;
        Ok(())
    }

    /// Resolves a full id or unique prefix (case-insensitive hex).
    ///
    /// # Errors
    /// [`Error::UnknownExperiment`] or [`Error::AmbiguousExperiment`].
    pub fn resolve_experiment(&self, prefix: &str) -> Result<ExperimentId> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::UnknownExperiment(prefix));
        }
        // Ids are lowercase hex, and 'g' sorts after 'f': a range scan on the index.
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM experiments WHERE id >= ?1 AND id < ?1 || 'g' LIMIT 3")?;
        let ids: Vec<String> = stmt
            .query_map([&prefix], |r| r.get(0))?
            .collect::<Result<_>>()?;
        match ids.len() {
            0 => Err(Error::UnknownExperiment(prefix)),
            1 => Ok(ExperimentId::from_stored(
                ids.into_iter().next().expect("one id"),
            )),
            _ => {
                let matches: i64 = self.conn.query_row(
                    "SELECT count(*) FROM experiments WHERE id >= ?1 AND id < ?1 || 'g'",
                    [&prefix],
                    |r| r.get(0),
                )?;
                Err(Error::AmbiguousExperiment {
                    prefix,
                    matches: matches as usize,
                })
            }
        }
    }

    /// One experiment with its latest rating.
    pub fn experiment(&self, id: &ExperimentId) -> Result<ExperimentRecord> {
        self.conn
            .query_row(
                &format!("SELECT {RECORD_COLUMNS} {RECORD_JOINS} WHERE e.id = ?1"),
                [id.as_str()],
                record_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::UnknownExperiment(id.to_string()))
    }

    /// Rateable experiments without any rating or preference, newest first
    /// (a choice between two variants stands in for their stars); candidates
    /// the designer was not shown wait in `show`, not here.
    pub fn unrated_experiments(&self) -> Result<Vec<ExperimentRecord>> {
        let mut stmt = self.conn.prepare(&unrated_experiments_sql())?;
        let rows = stmt
            .query_map([], record_from_row)?
            .collect::<Result<_>>()?;
        Ok(rows)
    }

    /// Every rated experiment's trial and latest rating, oldest first: the
    /// optimizer's observations. A render the structure guard held back and
    /// nobody rated counts as one star: it broke the room.
    pub fn rated_trials(&self) -> Result<Vec<RatedTrial>> {
        self.query_rated_trials(
            &format!(
                "SELECT provider, init_strength, guidance_scale, controlnet_weight, stars
                      FROM {JUDGED_TRIALS} ORDER BY seq"
            ),
            [],
        )
    }

    /// The latest `limit` rated trials (oldest first) and how many rated
    /// trials exist in all: enough for the model's window without reading
    /// years of history.
    pub fn rated_trials_tail(&self, limit: usize) -> Result<(Vec<RatedTrial>, u64)> {
        let total: i64 =
            self.conn
                .query_row(&format!("SELECT count(*) FROM {JUDGED_TRIALS}"), [], |r| {
                    r.get(0)
                })?;
        let mut trials = self.query_rated_trials(
            &format!(
                "SELECT provider, init_strength, guidance_scale, controlnet_weight, stars
                 FROM {JUDGED_TRIALS} ORDER BY seq DESC LIMIT ?1"
            ),
            [limit as i64],
        )?;
        trials.reverse();
        Ok((trials, total as u64))
    }

    /// Runs a query selecting provider, the three parameters and stars.
    fn query_rated_trials(
        &self,
        sql: &str,
        params: impl crate::store::db::Params,
    ) -> Result<Vec<RatedTrial>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt
            .query_map(params, |r| {
                Ok((
                    Trial {
                        provider: r.get(0)?,
                        params: Params {
                            init_strength: r.get(1)?,
                            guidance_scale: r.get(2)?,
                            controlnet_weight: r.get(3)?,
                        },
                    },
                    r.get::<i64>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(trial, stars)| {
                Ok(RatedTrial {
                    trial,
                    stars: Stars::new(stars)?,
                })
            })
            .collect()
    }

    /// Trials proposed or rendered but not yet rated: the optimizer's pending
    /// points. An unshown candidate will not be rated unless someone looks
    /// for it, so it does not hold the search back.
    pub fn pending_trials(&self) -> Result<Vec<Trial>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.provider, e.init_strength, e.guidance_scale, e.controlnet_weight
             FROM experiments e LEFT JOIN ratings lr ON lr.id = e.rating_id
             WHERE e.status IN ('proposed', 'running', 'done') AND lr.id IS NULL
               AND e.shown = 1
             ORDER BY e.seq",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Trial {
                    provider: r.get(0)?,
                    params: Params {
                        init_strength: r.get(1)?,
                        guidance_scale: r.get(2)?,
                        controlnet_weight: r.get(3)?,
                    },
                })
            })?
            .collect::<Result<_>>()?;
        Ok(rows)
    }

    /// How many experiments were ever proposed (all states).
    pub fn experiment_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM experiments", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

/// The `applied_knobs` column's text for `knobs`.
pub(super) fn knobs_json(knobs: &AppliedKnobs) -> String {
    serde_json::to_string(knobs).expect("knob names and numbers serialise")
}

/// The `applied_knobs` column read back; `None` when NULL or not readable
/// (an unreadable record is shown as unknown rather than failing `show`).
pub(super) fn knobs_from_json(text: Option<String>) -> Option<AppliedKnobs> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_running(n: usize) -> (Store, Vec<ExperimentId>) {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        let ids: Vec<ExperimentId> = (0..n).map(|_| ExperimentId::random()).collect();
        store
            .create_batch(&NewBatch {
                id: BatchId::random(),
                image: None,
                meta: ImageMeta::default(),
                experiments: ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| NewExperiment {
                        id: id.clone(),
                        option: crate::domain::option_label(i),
                        trial: Trial {
                            provider: "tone".into(),
                            params: Params {
                                init_strength: 0.2,
                                guidance_scale: 7.0,
                                controlnet_weight: 0.8,
                            },
                        },
                        prompt_version: "1.0.0".into(),
                        method: Method::Random,
                        explanation: Explanation::design(),
                        status: ExperimentStatus::Running,
                    })
                    .collect(),
            })
            .unwrap();
        (store, ids)
    }

    fn status_and_error(store: &Store, id: &ExperimentId) -> (String, Option<String>) {
        store
            .conn
            .query_row(
                "SELECT status, error FROM experiments WHERE id = ?1",
                [id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    fn failed_tally(store: &Store) -> i64 {
        store
            .conn
            .query_row(
                "SELECT failed FROM provider_tallies WHERE provider = 'tone'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn rows_of_a_live_owner_stay_running_and_a_dead_owners_become_interrupted() {
        let (mut store, ids) = store_with_running(2);
        assert_eq!(
            store.recover_interrupted().unwrap(),
            0,
            "this process is alive"
        );
        assert_eq!(store.pending_trials().unwrap().len(), 2);

        // The same pid started at another time: a reused pid, not the owner.
        store
            .conn
            .execute(
                "UPDATE experiments SET owner_start = owner_start || '0' WHERE id = ?1",
                [ids[0].as_str()],
            )
            .unwrap();
        assert_eq!(store.recover_interrupted().unwrap(), 1);
        let (status, error) = status_and_error(&store, &ids[0]);
        assert_eq!(status, "failed");
        assert!(error.unwrap().starts_with("interrupted: latina (pid "));
        assert_eq!(status_and_error(&store, &ids[1]).0, "running");
        assert_eq!(store.pending_trials().unwrap().len(), 1);
        assert_eq!(failed_tally(&store), 1, "the status tallies follow");
    }

    #[test]
    fn rows_without_a_checkable_owner_are_trusted_until_the_lease_ends() {
        let (mut store, ids) = store_with_running(2);
        store
            .conn
            .execute(
                "UPDATE experiments SET owner_pid = NULL, owner_host = NULL, owner_start = NULL",
                [],
            )
            .unwrap();
        assert_eq!(store.recover_interrupted().unwrap(), 0, "within the lease");
        store
            .conn
            .execute(
                "UPDATE experiments SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
                [ids[1].as_str()],
            )
            .unwrap();
        assert_eq!(store.recover_interrupted().unwrap(), 1);
        let (status, error) = status_and_error(&store, &ids[1]);
        assert_eq!(status, "failed");
        assert!(error.unwrap().starts_with("interrupted: "));
        assert_eq!(status_and_error(&store, &ids[0]).0, "running");
        assert_eq!(failed_tally(&store), 1);
    }
}
