//! The `preferences` table: a designer's choice between two renders of one
//! photo ("A is better", "B is better", "same"). Append-only like ratings;
//! each designer's latest choice for a pair counts (see [`super::evidence`]).

use super::Store;
use super::ratings::check_rateable;
use crate::domain::ExperimentId;
use crate::error::{Error, Result};
use crate::store::db::{Behavior, OptionalExtension, Row, Sql, params};

/// A stored preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferenceRecord {
    /// Row id (increasing: a higher id is a later choice).
    pub id: i64,
    /// The render preferred (either one for a tie).
    pub better_id: ExperimentId,
    /// The other render.
    pub worse_id: ExperimentId,
    /// "Same": neither was better.
    pub tie: bool,
    /// The designer's comment.
    pub comment: Option<String>,
    /// Who chose (`None`: unnamed).
    pub rated_by: Option<String>,
    /// When (UTC, RFC 3339).
    pub rated_at: String,
    /// How many earlier choices by the same designer between the same two
    /// renders (in either order) this one supersedes.
    pub previous: u32,
}

/// A preference to record.
#[derive(Debug, Clone, Copy)]
pub struct NewPreference<'a> {
    /// The render preferred (either one for a tie).
    pub better: &'a ExperimentId,
    /// The other render.
    pub worse: &'a ExperimentId,
    /// "Same": neither was better.
    pub tie: bool,
    /// The designer's comment, already cleaned.
    pub comment: Option<&'a str>,
    /// Who chose, already trimmed (`None`: unnamed).
    pub rated_by: Option<&'a str>,
}

const RECORD_COLUMNS: &str = "id, better_id, worse_id, tie, comment, rated_by, rated_at";

type PreferenceTuple = (
    i64,
    ExperimentId,
    ExperimentId,
    bool,
    Option<String>,
    Option<String>,
    String,
);

fn read_row(r: &Row<'_>) -> Result<PreferenceTuple> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

impl Store {
    /// Appends a preference between two renders of one photo and commits it
    /// durably before returning (the same contract as [`Store::add_rating`]).
    ///
    /// # Errors
    /// [`Error::SelfPreference`] when both ids are the same experiment;
    /// [`Error::UnknownExperiment`]; [`Error::NotRateable`] for a failed or
    /// unfinished render; [`Error::DifferentPhotos`] unless both share a
    /// batch or a stored photo. Nothing is written on any error.
    pub fn add_preference(&mut self, new: &NewPreference<'_>) -> Result<PreferenceRecord> {
        if new.better == new.worse {
            return Err(Error::SelfPreference(new.better.to_string()));
        }
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        check_rateable(&tx, new.better)?;
        check_rateable(&tx, new.worse)?;
        // One batch (the variants of one enhance, or of one suggest), or the
        // same stored photo enhanced twice.
        let same_photo: bool = tx
            .query_row(
                "SELECT a.batch_id = b.batch_id OR (ba.image_id IS NOT NULL AND ba.image_id = bb.image_id)
                 FROM experiments a JOIN batches ba ON ba.id = a.batch_id,
                      experiments b JOIN batches bb ON bb.id = b.batch_id
                 WHERE a.id = ?1 AND b.id = ?2",
                [new.better, new.worse],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false);
        if !same_photo {
            return Err(Error::DifferentPhotos {
                better: new.better.to_string(),
                worse: new.worse.to_string(),
            });
        }
        let previous: i64 = tx.query_row(
            "SELECT count(*) FROM preferences
             WHERE ((better_id = ?1 AND worse_id = ?2) OR (better_id = ?2 AND worse_id = ?1))
               AND coalesce(rated_by, '') = coalesce(?3, '')",
            params![new.better, new.worse, new.rated_by],
            |r| r.get(0),
        )?;
        let id: i64 = tx.query_row(
            "INSERT INTO preferences (better_id, worse_id, tie, rated_by, comment)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            params![new.better, new.worse, new.tie, new.rated_by, new.comment],
            |r| r.get(0),
        )?;
        let rated_at: String = tx.query_row(
            "SELECT rated_at FROM preferences WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(PreferenceRecord {
            id,
            better_id: new.better.clone(),
            worse_id: new.worse.clone(),
            tie: new.tie,
            comment: new.comment.map(str::to_string),
            rated_by: new.rated_by.map(str::to_string),
            rated_at,
            previous: previous as u32,
        })
    }

    /// Every preference involving one experiment (on either side), oldest first.
    pub fn preferences_of(&self, experiment: &ExperimentId) -> Result<Vec<PreferenceRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM preferences WHERE better_id = ?1
             UNION ALL
             SELECT {RECORD_COLUMNS} FROM preferences WHERE worse_id = ?1
             ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([experiment], read_row)?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(
                |(id, better_id, worse_id, tie, comment, rated_by, rated_at)| PreferenceRecord {
                    id,
                    better_id,
                    worse_id,
                    tie,
                    comment,
                    rated_by,
                    rated_at,
                    previous: 0,
                },
            )
            .collect())
    }

    /// How many preferences were ever recorded (history included).
    pub fn preference_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM preferences", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{BatchId, ExperimentStatus, ImageMeta, Method, Params, Trial};
    use crate::store::{NewBatch, NewExperiment};

    /// A batch of `statuses.len()` variants; returns their ids.
    pub(crate) fn batch(store: &mut Store, statuses: &[ExperimentStatus]) -> Vec<ExperimentId> {
        let ids: Vec<ExperimentId> = statuses.iter().map(|_| ExperimentId::random()).collect();
        store
            .create_batch(&NewBatch {
                id: BatchId::random(),
                image: None,
                meta: ImageMeta::default(),
                experiments: statuses
                    .iter()
                    .zip(&ids)
                    .enumerate()
                    .map(|(i, (status, id))| NewExperiment {
                        id: id.clone(),
                        option: crate::domain::option_label(i),
                        trial: Trial {
                            provider: "tone".into(),
                            params: Params {
                                init_strength: 0.2 + 0.1 * i as f64,
                                guidance_scale: 7.0,
                                controlnet_weight: 0.8,
                            },
                        },
                        prompt_version: "1.0.0".into(),
                        method: Method::Random,
                        explanation: crate::domain::Explanation::design(),
                        status: *status,
                    })
                    .collect(),
            })
            .unwrap();
        ids
    }

    fn store() -> Store {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        store
    }

    fn prefer<'a>(
        better: &'a ExperimentId,
        worse: &'a ExperimentId,
        by: Option<&'a str>,
    ) -> NewPreference<'a> {
        NewPreference {
            better,
            worse,
            tie: false,
            comment: None,
            rated_by: by,
        }
    }

    #[test]
    fn a_preference_is_stored_and_found_from_either_side() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed; 2]);
        let first = store
            .add_preference(&prefer(&ids[0], &ids[1], Some("ana")))
            .unwrap();
        assert_eq!(first.previous, 0);
        let again = store
            .add_preference(&prefer(&ids[1], &ids[0], Some("ana")))
            .unwrap();
        assert_eq!(again.previous, 1, "the same pair in the other order");
        let other = store
            .add_preference(&prefer(&ids[1], &ids[0], Some("luis")))
            .unwrap();
        assert_eq!(other.previous, 0, "another designer's choice is their own");
        assert_eq!(store.preferences_of(&ids[0]).unwrap().len(), 3);
        assert_eq!(store.preferences_of(&ids[1]).unwrap().len(), 3);
        assert_eq!(store.preference_count().unwrap(), 3);
    }

    #[test]
    fn refused_preferences_write_nothing() {
        let mut store = store();
        let ids = batch(
            &mut store,
            &[
                ExperimentStatus::Proposed,
                ExperimentStatus::Failed,
                ExperimentStatus::Running,
            ],
        );
        let elsewhere = batch(&mut store, &[ExperimentStatus::Proposed]);
        let err = |r: Result<PreferenceRecord>| r.unwrap_err();
        assert!(matches!(
            err(store.add_preference(&prefer(&ids[0], &ids[0], None))),
            Error::SelfPreference(_)
        ));
        for bad in &ids[1..] {
            assert!(matches!(
                err(store.add_preference(&prefer(&ids[0], bad, None))),
                Error::NotRateable { .. }
            ));
        }
        assert!(matches!(
            err(store.add_preference(&prefer(&ids[0], &elsewhere[0], None))),
            Error::DifferentPhotos { .. }
        ));
        let ghost = ExperimentId::random();
        assert!(matches!(
            err(store.add_preference(&prefer(&ghost, &ids[0], None))),
            Error::UnknownExperiment(_)
        ));
        assert_eq!(store.preference_count().unwrap(), 0);
    }
}
