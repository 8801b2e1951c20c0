//! Importing judgements and decisions: ratings, preferences and prompt
//! decisions are appended rows with no natural key, so an imported one is
//! matched by its content, counted against what the database held before
//! this import (a history imported twice adds nothing; one judgement given
//! twice on purpose stays twice).

use super::importer::{Applied, Importer, Refusal, missing};
use super::snapshot::DECISION_COLUMNS;
use super::{PreferenceRow, PromptDecisionRow, RatingRow};
use crate::error::Result;
use crate::store::db::{OptionalExtension, Sql, params};

impl Importer<'_> {
    /// How many ratings equal to `row` the database held before this import.
    pub fn ratings_present(&self, row: &RatingRow) -> Result<u64> {
        if self.ratings_before == 0 {
            return Ok(0);
        }
        let n: i64 = self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM ratings WHERE experiment_id = ?1 AND id <= ?2
                     AND stars = ?3 AND comment IS NOT DISTINCT FROM ?4 AND rated_by IS NOT DISTINCT FROM ?5 AND rated_at = ?6",
            )?
            .query_row(
                params![
                    row.experiment_id,
                    self.ratings_before,
                    row.stars,
                    row.comment,
                    row.rated_by,
                    row.rated_at
                ],
                |r| r.get(0),
            )?;
        Ok(n as u64)
    }

    /// Appends a rating after every rating already there, so the file's
    /// order of re-ratings is kept and its last one counts. Whether it is
    /// already present is the caller's question ([`Importer::ratings_present`]).
    pub fn rating(&self, row: &RatingRow) -> Result<Applied> {
        let status: Option<String> = self
            .tx
            .prepare_cached("SELECT status FROM experiments WHERE id = ?1")?
            .query_row([&row.experiment_id], |r| r.get(0))
            .optional()?;
        let Some(status) = status else {
            return Ok(missing("experiment", &row.experiment_id));
        };
        if status != "proposed" && status != "done" {
            return Ok(Applied::Refused(Refusal::NotRateable {
                experiment: row.experiment_id.clone(),
                status,
            }));
        }
        self.tx
            .prepare_cached(
                "INSERT INTO ratings (experiment_id, stars, comment, rated_by, rated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                row.experiment_id,
                row.stars,
                row.comment,
                row.rated_by,
                row.rated_at
            ])?;
        Ok(Applied::Inserted)
    }

    /// How many preferences equal to `row` the database held before this import.
    pub fn preferences_present(&self, row: &PreferenceRow) -> Result<u64> {
        if self.preferences_before == 0 {
            return Ok(0);
        }
        let n: i64 = self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM preferences WHERE better_id = ?1 AND worse_id = ?2 AND id <= ?3
                     AND tie = ?4 AND comment IS NOT DISTINCT FROM ?5 AND rated_by IS NOT DISTINCT FROM ?6 AND rated_at = ?7",
            )?
            .query_row(
                params![
                    row.better_id,
                    row.worse_id,
                    self.preferences_before,
                    row.tie,
                    row.comment,
                    row.rated_by,
                    row.rated_at
                ],
                |r| r.get(0),
            )?;
        Ok(n as u64)
    }

    /// Appends a preference after every one already there, so the file's
    /// order of re-choices is kept and each designer's last one counts.
    /// Both renders must exist, be rateable and show the same photo, as
    /// `latina prefer` requires.
    pub fn preference(&self, row: &PreferenceRow) -> Result<Applied> {
        let mut photos = Vec::with_capacity(2);
        for id in [&row.better_id, &row.worse_id] {
            let found: Option<(String, String, Option<i64>)> = self
                .tx
                .prepare_cached(
                    "SELECT e.status, e.batch_id, b.image_id
                     FROM experiments e JOIN batches b ON b.id = e.batch_id WHERE e.id = ?1",
                )?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((status, batch, image)) = found else {
                return Ok(missing("experiment", id));
            };
            if status != "proposed" && status != "done" {
                return Ok(Applied::Refused(Refusal::NotRateable {
                    experiment: id.clone(),
                    status,
                }));
            }
            photos.push((batch, image));
        }
        let same_photo =
            photos[0].0 == photos[1].0 || (photos[0].1.is_some() && photos[0].1 == photos[1].1);
        if !same_photo {
            return Ok(Applied::Refused(Refusal::DifferentPhotos {
                better: row.better_id.clone(),
                worse: row.worse_id.clone(),
            }));
        }
        self.tx
            .prepare_cached(
                "INSERT INTO preferences (better_id, worse_id, tie, comment, rated_by, rated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                row.better_id,
                row.worse_id,
                row.tie,
                row.comment,
                row.rated_by,
                row.rated_at
            ])?;
        Ok(Applied::Inserted)
    }

    /// How many decisions equal to `row` the database held before this import.
    pub fn prompt_decisions_present(&self, row: &PromptDecisionRow) -> Result<u64> {
        if self.decisions_before == 0 {
            return Ok(0);
        }
        let n: i64 = self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM prompt_decisions WHERE id <= ?1 AND champion = ?2
                     AND challenger = ?3 AND decision = ?4 AND champion_n = ?5
                     AND champion_mean = ?6 AND challenger_n = ?7 AND challenger_mean = ?8
                     AND difference IS NOT DISTINCT FROM ?9 AND t IS NOT DISTINCT FROM ?10 AND df IS NOT DISTINCT FROM ?11 AND prob_better IS NOT DISTINCT FROM ?12
                     AND created_at = ?13",
            )?
            .query_row(
                params![
                    self.decisions_before,
                    row.champion,
                    row.challenger,
                    row.decision,
                    row.champion_n,
                    row.champion_mean,
                    row.challenger_n,
                    row.challenger_mean,
                    row.difference,
                    row.t,
                    row.df,
                    row.prob_better,
                    row.created_at
                ],
                |r| r.get(0),
            )?;
        Ok(n as u64)
    }

    /// Appends a decision after those already there.
    pub fn prompt_decision(&self, row: &PromptDecisionRow) -> Result<Applied> {
        for version in [&row.champion, &row.challenger] {
            if !self.exists("SELECT 1 FROM prompt_versions WHERE version = ?1", version)? {
                return Ok(missing("prompt version", version));
            }
        }
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO prompt_decisions ({DECISION_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))?
            .execute(params![
                row.champion,
                row.challenger,
                row.decision,
                row.champion_n,
                row.champion_mean,
                row.challenger_n,
                row.challenger_mean,
                row.difference,
                row.t,
                row.df,
                row.prob_better,
                row.created_at
            ])?;
        Ok(Applied::Inserted)
    }
}
