//! The `ratings` table: append-only; each designer's latest rating of an
//! experiment counts (a re-rating replaces only the same designer's).

use jiff::Timestamp;

use super::Store;
use super::columns::stamp;
use crate::domain::{ExperimentId, ExperimentStatus, Stars};
use crate::error::{Error, Result};
use crate::store::db::{Behavior, OptionalExtension, Sql, params};

/// A stored rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRecord {
    /// Row id (increasing: a higher id is a later rating).
    pub id: i64,
    /// The one experiment it rates.
    pub experiment_id: ExperimentId,
    /// 1–5.
    pub stars: Stars,
    /// The designer's comment.
    pub comment: Option<String>,
    /// Who rated.
    pub rated_by: Option<String>,
    /// When (UTC).
    pub rated_at: Timestamp,
    /// How many earlier ratings by the same designer (unnamed counting as
    /// one designer) this one supersedes; other designers' ratings stand.
    pub previous_ratings: u32,
}

impl Store {
    /// Appends a rating of one experiment and commits it durably before returning.
    ///
    /// # Errors
    /// [`Error::UnknownExperiment`]; [`Error::NotRateable`] for a failed or
    /// still-running render.
    pub fn add_rating(
        &mut self,
        experiment: &ExperimentId,
        stars: Stars,
        comment: Option<&str>,
        rated_by: Option<&str>,
    ) -> Result<RatingRecord> {
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        check_rateable(&tx, experiment)?;
        let previous: i64 = tx.query_row(
            "SELECT count(*) FROM ratings
             WHERE experiment_id = ?1 AND coalesce(rated_by, '') = coalesce(?2, '')",
            params![experiment.as_str(), rated_by],
            |r| r.get(0),
        )?;
        let (id, rated_at) = tx.query_row(
            "INSERT INTO ratings (experiment_id, stars, comment, rated_by) VALUES (?1, ?2, ?3, ?4)
             RETURNING id, rated_at",
            params![experiment.as_str(), stars.get(), comment, rated_by],
            |r| Ok((r.get::<i64>(0)?, stamp(r, 1)?)),
        )?;
        tx.commit()?;
        Ok(RatingRecord {
            id,
            experiment_id: experiment.clone(),
            stars,
            comment: comment.map(str::to_string),
            rated_by: rated_by.map(str::to_string),
            rated_at,
            previous_ratings: previous as u32,
        })
    }

    /// Every rating of one experiment, oldest first.
    pub fn ratings_of(&self, experiment: &ExperimentId) -> Result<Vec<RatingRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, stars, comment, rated_by, rated_at FROM ratings
             WHERE experiment_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([experiment.as_str()], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<i64>(1)?,
                    r.get(2)?,
                    r.get::<Option<String>>(3)?,
                    stamp(r, 4)?,
                ))
            })?
            .collect::<Result<Vec<_>>>()?;
        let mut by_designer: std::collections::HashMap<Option<String>, u32> =
            std::collections::HashMap::new();
        rows.into_iter()
            .map(|(id, stars, comment, rated_by, rated_at)| {
                let earlier = by_designer.entry(rated_by.clone()).or_insert(0);
                let previous_ratings = *earlier;
                *earlier += 1;
                Ok(RatingRecord {
                    id,
                    experiment_id: experiment.clone(),
                    stars: Stars::new(stars)?,
                    comment,
                    rated_by,
                    rated_at,
                    previous_ratings,
                })
            })
            .collect()
    }
}

/// Refuses an experiment that does not exist or has nothing a designer can
/// judge (a failed or unfinished render): shared by ratings and preferences.
///
/// # Errors
/// [`Error::UnknownExperiment`]; [`Error::NotRateable`].
pub(super) fn check_rateable(conn: &impl Sql, experiment: &ExperimentId) -> Result<()> {
    let row: Option<(Option<ExperimentStatus>, Option<String>)> = conn
        .query_row(
            "SELECT status, error FROM experiments WHERE id = ?1",
            [experiment],
            |r| Ok((r.get(0).ok(), r.get(1)?)),
        )
        .optional()?;
    let Some((status, error)) = row else {
        return Err(Error::UnknownExperiment(experiment.to_string()));
    };
    if !status.is_some_and(ExperimentStatus::is_rateable) {
        let state = match (status, error) {
            (Some(ExperimentStatus::Failed), Some(e)) => format!("failed: {e}"),
            (Some(ExperimentStatus::Running), _) => {
                "never finished (still running, or the process was stopped)".into()
            }
            (s, _) => format!("is {}", s.map_or("in an unknown state", |s| s.as_str())),
        };
        return Err(Error::NotRateable {
            id: experiment.to_string(),
            state,
        });
    }
    Ok(())
}
