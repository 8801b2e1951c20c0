//! Whole-database export and import: every table that holds history, row by
//! row, in the order it was written, and back.
//!
//! Reading happens in one read transaction ([`Snapshot`]), so an export is a
//! consistent picture even while designers rate. Writing happens in one
//! IMMEDIATE transaction ([`Importer`]) that the caller commits only when
//! every row was accepted.
//!
//! Rows are matched on natural keys, never on local row ids: images by
//! `sha256`, batches and experiments by `id`, prompt versions by `version`,
//! evolutions by `trigger_sample`. Ratings and prompt decisions have no key
//! of their own; a row is identified by all of its columns (a rating by
//! experiment, stars, comment, rater and `rated_at` to the millisecond), and
//! identical rows are counted, so a file holding the same rating twice
//! imports twice once and never again. An import never changes a row that
//! exists: a different row under the same key is a [`Refusal`]. Images are
//! the exception that proves the rule: the same photo (same hash, size and
//! format) recorded on another machine under other paths is the same image,
//! and the database keeps its own paths.
//!
//! Derived state (`model_cache`) is neither exported nor imported.

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::{PromptVersion, Store};
use crate::error::Result;

/// A photo, keyed by its content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRow {
    /// Hex SHA-256 of the file's bytes (64 lowercase hex digits).
    pub sha256: String,
    /// The copy under the data dir where it was recorded.
    pub stored_path: String,
    /// Where the designer's file was.
    pub source_path: String,
    /// Decoded format, e.g. `jpeg`.
    pub format: String,
    /// Width in pixels (≥ 1).
    pub width: i64,
    /// Height in pixels (≥ 1).
    pub height: i64,
    /// File size in bytes (≥ 1).
    pub bytes: i64,
    /// When it was first recorded (UTC, `YYYY-MM-DDTHH:MM:SS.sssZ`).
    pub created_at: String,
}

/// A prompt version, keyed by its version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptVersionRow {
    /// `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// The positive prompt (not empty).
    pub prompt: String,
    /// The negative prompt.
    pub negative_prompt: String,
    /// The version it was evolved from.
    #[serde(default)]
    pub parent: Option<String>,
    /// `champion`, `challenger`, `retired` or `rejected`.
    pub status: String,
    /// Why it was written.
    #[serde(default)]
    pub reasoning: Option<String>,
    /// What changed, one line each.
    pub changes: Vec<String>,
    /// When it was created.
    pub created_at: String,
}

/// One `enhance` of one photo or one `suggest` call, keyed by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRow {
    /// 32 lowercase hex digits.
    pub id: String,
    /// The photo's hash; `None` for `suggest`.
    #[serde(default)]
    pub image_sha256: Option<String>,
    /// Project or client.
    #[serde(default)]
    pub project: Option<String>,
    /// What the designer wanted improved.
    #[serde(default)]
    pub kind: Option<String>,
    /// Room type.
    #[serde(default)]
    pub room: Option<String>,
    /// Design style.
    #[serde(default)]
    pub style: Option<String>,
    /// The side-by-side preview, when written.
    #[serde(default)]
    pub preview_path: Option<String>,
    /// When it was created.
    pub created_at: String,
}

/// One variant, keyed by its id; every column of `experiments` but `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentRow {
    /// 32 lowercase hex digits.
    pub id: String,
    /// Its batch.
    pub batch_id: String,
    /// A, B, …
    pub option: String,
    /// The provider arm that rendered it (or was proposed).
    pub provider: String,
    /// How far the render moves from the photo.
    pub init_strength: f64,
    /// How strongly the prompt is followed.
    pub guidance_scale: f64,
    /// How much of the room's structure is kept.
    pub controlnet_weight: f64,
    /// The prompt version used.
    pub prompt_version: String,
    /// How the optimizer chose the point.
    pub method: String,
    /// `proposed`, `running`, `done` or `failed`.
    pub status: String,
    /// The render, when done.
    #[serde(default)]
    pub output_path: Option<String>,
    /// Provider wall time, milliseconds.
    #[serde(default)]
    pub latency_ms: Option<i64>,
    /// Why it failed (or why its provider failed before a fallback).
    #[serde(default)]
    pub error: Option<String>,
    /// When it was proposed.
    pub created_at: String,
    /// When its render ended.
    #[serde(default)]
    pub finished_at: Option<String>,
    /// How the arm was chosen.
    #[serde(default)]
    pub arm_rule: Option<String>,
    /// The Thompson draw or UCB index behind the arm.
    #[serde(default)]
    pub arm_score: Option<f64>,
    /// The GP's predicted rating at the point.
    #[serde(default)]
    pub predicted_mean: Option<f64>,
    /// Its standard deviation.
    #[serde(default)]
    pub predicted_sd: Option<f64>,
    /// Expected Improvement at the point.
    #[serde(default)]
    pub expected_improvement: Option<f64>,
    /// The provider that failed before a fallback arm rendered it.
    #[serde(default)]
    pub fallback_from: Option<String>,
    /// What the render cost, US dollars.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// One rating; identified by all of its columns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRow {
    /// The rated experiment.
    pub experiment_id: String,
    /// 1–5.
    pub stars: i64,
    /// The designer's comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Who rated.
    #[serde(default)]
    pub rated_by: Option<String>,
    /// When.
    pub rated_at: String,
}

/// One prompt evolution, keyed by the sample count that triggered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvolutionRow {
    /// The rated-sample count that triggered it.
    pub trigger_sample: i64,
    /// The champion it started from.
    pub parent_version: String,
    /// The challenger it created.
    #[serde(default)]
    pub new_version: Option<String>,
    /// `rules` or `llm:<model>`.
    pub evolver: String,
    /// `pending`, `created`, `failed` or `skipped`.
    pub outcome: String,
    /// The detected issues (as the evolver recorded them).
    pub issues: serde_json::Value,
    /// The evolver's reasoning.
    #[serde(default)]
    pub reasoning: Option<String>,
    /// What changed, one line each.
    pub changes: Vec<String>,
    /// Why it was skipped or failed.
    #[serde(default)]
    pub detail: Option<String>,
    /// When it was claimed.
    pub created_at: String,
    /// When it ended.
    #[serde(default)]
    pub finished_at: Option<String>,
}

/// One champion/challenger decision; identified by all of its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptDecisionRow {
    /// The champion at the time.
    pub champion: String,
    /// The challenger (or the version activated by hand).
    pub challenger: String,
    /// `promote`, `reject`, `expire`, `activate` or `rollback`.
    pub decision: String,
    /// The champion's ratings in the trial.
    pub champion_n: i64,
    /// Their mean.
    pub champion_mean: f64,
    /// The challenger's ratings.
    pub challenger_n: i64,
    /// Their mean.
    pub challenger_mean: f64,
    /// Challenger mean − champion mean.
    #[serde(default)]
    pub difference: Option<f64>,
    /// Welch's t.
    #[serde(default)]
    pub t: Option<f64>,
    /// Welch–Satterthwaite degrees of freedom.
    #[serde(default)]
    pub df: Option<f64>,
    /// Probability that the challenger is better.
    #[serde(default)]
    pub prob_better: Option<f64>,
    /// When.
    pub created_at: String,
}

/// One rating with its experiment's settings: a row of the ratings CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingWithTrial {
    /// The rating.
    pub rating: RatingRow,
    /// The experiment's provider arm.
    pub provider: String,
    /// `[init_strength, guidance_scale, controlnet_weight]`.
    pub params: [f64; 3],
    /// The prompt version the experiment used.
    pub prompt_version: String,
    /// Whether this is the experiment's latest rating (the one that counts).
    pub latest: bool,
}

/// A consistent read of the whole database for an export.
pub struct Snapshot<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store {
    /// Starts a read transaction: everything read through the snapshot sees
    /// the database as it was at the first read.
    pub fn snapshot(&mut self) -> Result<Snapshot<'_>> {
        Ok(Snapshot {
            tx: self.conn.transaction()?,
        })
    }
}

impl Snapshot<'_> {
    /// Calls `each` with every image, oldest first.
    pub fn images(&self, each: impl FnMut(ImageRow) -> Result<()>) -> Result<()> {
        self.stream(
            "SELECT sha256, stored_path, source_path, format, width, height, bytes, created_at
             FROM images ORDER BY id",
            image_from_row,
            each,
        )
    }

    /// Calls `each` with every prompt version in the order they were written
    /// (a parent before its children).
    pub fn prompt_versions(&self, each: impl FnMut(PromptVersionRow) -> Result<()>) -> Result<()> {
        self.stream(
            "SELECT version, prompt, negative_prompt, parent, status, reasoning, changes, created_at
             FROM prompt_versions ORDER BY rowid",
            prompt_version_from_row,
            each,
        )
    }

    /// Calls `each` with every batch in the order they were written.
    pub fn batches(&self, each: impl FnMut(BatchRow) -> Result<()>) -> Result<()> {
        self.stream(
            "SELECT b.id, i.sha256, b.project, b.kind, b.room, b.style, b.preview_path, b.created_at
             FROM batches b LEFT JOIN images i ON i.id = b.image_id ORDER BY b.rowid",
            batch_from_row,
            each,
        )
    }

    /// Calls `each` with every experiment in the order they were written.
    pub fn experiments(&self, each: impl FnMut(ExperimentRow) -> Result<()>) -> Result<()> {
        self.stream(
            &format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY seq"),
            experiment_from_row,
            each,
        )
    }

    /// Calls `each` with every rating, oldest first (the history, not only
    /// the latest of each experiment).
    pub fn ratings(&self, each: impl FnMut(RatingRow) -> Result<()>) -> Result<()> {
        self.stream(
            "SELECT experiment_id, stars, comment, rated_by, rated_at FROM ratings ORDER BY id",
            rating_from_row,
            each,
        )
    }

    /// Calls `each` with every rating and its experiment's settings, oldest first.
    pub fn ratings_with_trials(
        &self,
        each: impl FnMut(RatingWithTrial) -> Result<()>,
    ) -> Result<()> {
        self.stream(
            "SELECT r.experiment_id, r.stars, r.comment, r.rated_by, r.rated_at,
                    e.provider, e.init_strength, e.guidance_scale, e.controlnet_weight,
                    e.prompt_version,
                    r.id = (SELECT max(id) FROM ratings WHERE experiment_id = r.experiment_id)
             FROM ratings r JOIN experiments e ON e.id = r.experiment_id ORDER BY r.id",
            |r| {
                Ok(RatingWithTrial {
                    rating: rating_from_row(r)?,
                    provider: r.get(5)?,
                    params: [r.get(6)?, r.get(7)?, r.get(8)?],
                    prompt_version: r.get(9)?,
                    latest: r.get(10)?,
                })
            },
            each,
        )
    }

    /// Calls `each` with every evolution in the order they were claimed.
    pub fn evolutions(&self, each: impl FnMut(EvolutionRow) -> Result<()>) -> Result<()> {
        self.stream(
            &format!("SELECT {EVOLUTION_COLUMNS} FROM evolutions ORDER BY id"),
            evolution_from_row,
            each,
        )
    }

    /// Calls `each` with every champion/challenger decision, oldest first.
    pub fn prompt_decisions(
        &self,
        each: impl FnMut(PromptDecisionRow) -> Result<()>,
    ) -> Result<()> {
        self.stream(
            &format!("SELECT {DECISION_COLUMNS} FROM prompt_decisions ORDER BY id"),
            decision_from_row,
            each,
        )
    }

    /// Runs `sql` and hands each row, converted, to `each`, one at a time:
    /// memory stays constant however large the table.
    fn stream<T>(
        &self,
        sql: &str,
        convert: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        mut each: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            each(convert(row)?)?;
        }
        Ok(())
    }
}

const EXPERIMENT_COLUMNS: &str = "id, batch_id, option, provider, init_strength, guidance_scale,
    controlnet_weight, prompt_version, method, status, output_path, latency_ms, error,
    created_at, finished_at, arm_rule, arm_score, predicted_mean, predicted_sd,
    expected_improvement, fallback_from, cost_usd";

const EVOLUTION_COLUMNS: &str = "trigger_sample, parent_version, new_version, evolver, outcome,
    issues, reasoning, changes, detail, created_at, finished_at";

const DECISION_COLUMNS: &str = "champion, challenger, decision, champion_n, champion_mean,
    challenger_n, challenger_mean, difference, t, df, prob_better, created_at";

/// A stored JSON column that does not parse is reported, not guessed at.
fn json_column<T: serde::de::DeserializeOwned>(r: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = r.get(index)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn image_from_row(r: &Row<'_>) -> rusqlite::Result<ImageRow> {
    Ok(ImageRow {
        sha256: r.get(0)?,
        stored_path: r.get(1)?,
        source_path: r.get(2)?,
        format: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
        bytes: r.get(6)?,
        created_at: r.get(7)?,
    })
}

fn prompt_version_from_row(r: &Row<'_>) -> rusqlite::Result<PromptVersionRow> {
    Ok(PromptVersionRow {
        version: r.get(0)?,
        prompt: r.get(1)?,
        negative_prompt: r.get(2)?,
        parent: r.get(3)?,
        status: r.get(4)?,
        reasoning: r.get(5)?,
        changes: json_column(r, 6)?,
        created_at: r.get(7)?,
    })
}

fn batch_from_row(r: &Row<'_>) -> rusqlite::Result<BatchRow> {
    Ok(BatchRow {
        id: r.get(0)?,
        image_sha256: r.get(1)?,
        project: r.get(2)?,
        kind: r.get(3)?,
        room: r.get(4)?,
        style: r.get(5)?,
        preview_path: r.get(6)?,
        created_at: r.get(7)?,
    })
}

fn experiment_from_row(r: &Row<'_>) -> rusqlite::Result<ExperimentRow> {
    Ok(ExperimentRow {
        id: r.get(0)?,
        batch_id: r.get(1)?,
        option: r.get(2)?,
        provider: r.get(3)?,
        init_strength: r.get(4)?,
        guidance_scale: r.get(5)?,
        controlnet_weight: r.get(6)?,
        prompt_version: r.get(7)?,
        method: r.get(8)?,
        status: r.get(9)?,
        output_path: r.get(10)?,
        latency_ms: r.get(11)?,
        error: r.get(12)?,
        created_at: r.get(13)?,
        finished_at: r.get(14)?,
        arm_rule: r.get(15)?,
        arm_score: r.get(16)?,
        predicted_mean: r.get(17)?,
        predicted_sd: r.get(18)?,
        expected_improvement: r.get(19)?,
        fallback_from: r.get(20)?,
        cost_usd: r.get(21)?,
    })
}

fn rating_from_row(r: &Row<'_>) -> rusqlite::Result<RatingRow> {
    Ok(RatingRow {
        experiment_id: r.get(0)?,
        stars: r.get(1)?,
        comment: r.get(2)?,
        rated_by: r.get(3)?,
        rated_at: r.get(4)?,
    })
}

fn evolution_from_row(r: &Row<'_>) -> rusqlite::Result<EvolutionRow> {
    Ok(EvolutionRow {
        trigger_sample: r.get(0)?,
        parent_version: r.get(1)?,
        new_version: r.get(2)?,
        evolver: r.get(3)?,
        outcome: r.get(4)?,
        issues: json_column(r, 5)?,
        reasoning: r.get(6)?,
        changes: json_column(r, 7)?,
        detail: r.get(8)?,
        created_at: r.get(9)?,
        finished_at: r.get(10)?,
    })
}

fn decision_from_row(r: &Row<'_>) -> rusqlite::Result<PromptDecisionRow> {
    Ok(PromptDecisionRow {
        champion: r.get(0)?,
        challenger: r.get(1)?,
        decision: r.get(2)?,
        champion_n: r.get(3)?,
        champion_mean: r.get(4)?,
        challenger_n: r.get(5)?,
        challenger_mean: r.get(6)?,
        difference: r.get(7)?,
        t: r.get(8)?,
        df: r.get(9)?,
        prob_better: r.get(10)?,
        created_at: r.get(11)?,
    })
}

/// What became of one imported row.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// It was new and is now in the database.
    Inserted,
    /// The same row was already there.
    Present,
    /// It cannot be imported.
    Refused(Refusal),
}

/// Why a row cannot be imported (the whole import is then refused).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// It refers to a row that is neither in the database nor earlier in the file.
    #[error("{what} {key} is neither in the database nor earlier in the file")]
    MissingReference {
        /// e.g. `batch`.
        what: &'static str,
        /// The key it refers to.
        key: String,
    },
    /// A different row exists under the same key; imports never overwrite.
    #[error(
        "{what} {key} is already in the database with another {field} ({existing} there, {incoming} here); an import never changes existing rows"
    )]
    Conflict {
        /// e.g. `experiment`.
        what: &'static str,
        /// Its key.
        key: String,
        /// The first column that differs.
        field: String,
        /// The database's value, as JSON.
        existing: String,
        /// The file's value, as JSON.
        incoming: String,
    },
    /// A second champion or challenger.
    #[error("prompt version {version} would be a second {status}: {existing} already is")]
    SecondHolder {
        /// The file's version.
        version: String,
        /// `champion` or `challenger`.
        status: String,
        /// The version that holds the status.
        existing: String,
    },
    /// A rating of an experiment that cannot be rated.
    #[error(
        "a rating of experiment {experiment}, whose status is {status} (only proposed or done ones can be rated)"
    )]
    NotRateable {
        /// The experiment.
        experiment: String,
        /// Its status.
        status: String,
    },
}

/// An import in progress: one IMMEDIATE transaction, committed by
/// [`Importer::commit`] and rolled back when dropped.
pub struct Importer<'a> {
    tx: rusqlite::Transaction<'a>,
    /// Rows with a higher id were written by this import.
    ratings_before: i64,
    decisions_before: i64,
}

impl Store {
    /// Begins an import. A database that holds nothing but `seed`, the base
    /// prompt seeded on first open, is treated as empty: that seed is
    /// removed, so that the file's own prompt history (with its dates and
    /// statuses) comes in unchanged. Returns whether that happened.
    pub fn begin_import(&mut self, seed: &PromptVersion) -> Result<(Importer<'_>, bool)> {
        // One cached statement per lookup and insert of every table.
        self.conn.set_prepared_statement_cache_capacity(32);
        // A whole history in one transaction touches more pages than the
        // default 2 MB page cache holds; spilling them to the WAL and
        // reading them back made a 100k import I/O-bound. 64 MB, for this
        // connection only (it ends with the import command).
        self.conn.pragma_update(None, "cache_size", -65536)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (history, prompts): (i64, i64) = tx.query_row(
            "SELECT (SELECT count(*) FROM images) + (SELECT count(*) FROM batches)
                  + (SELECT count(*) FROM evolutions) + (SELECT count(*) FROM prompt_decisions),
                    (SELECT count(*) FROM prompt_versions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let only_seed = history == 0
            && prompts == 1
            && tx.query_row(
                "SELECT count(*) FROM prompt_versions
                     WHERE version = ?1 AND prompt = ?2 AND status = 'champion'",
                params![seed.version, seed.prompt],
                |r| r.get::<_, i64>(0),
            )? == 1;
        let unseeded = only_seed;
        if unseeded {
            // Experiments and ratings hang off batches, so none exist here.
            tx.execute("DELETE FROM prompt_versions", [])?;
        }
        let max_id = |table: &str| -> rusqlite::Result<i64> {
            tx.query_row(
                &format!("SELECT coalesce(max(id), 0) FROM {table}"),
                [],
                |r| r.get(0),
            )
        };
        let ratings_before = max_id("ratings")?;
        let decisions_before = max_id("prompt_decisions")?;
        Ok((
            Importer {
                tx,
                ratings_before,
                decisions_before,
            },
            unseeded,
        ))
    }
}

impl Importer<'_> {
    /// Adds an image unless the same photo is recorded.
    pub fn image(&self, row: &ImageRow) -> Result<Applied> {
        let existing = self
            .tx
            .prepare_cached(
                "SELECT sha256, stored_path, source_path, format, width, height, bytes, created_at
                 FROM images WHERE sha256 = ?1",
            )?
            .query_row([&row.sha256], image_from_row)
            .optional()?;
        if let Some(existing) = existing {
            // Paths and dates are where and when a copy was made, not what the photo is.
            let same_photo = ImageRow {
                stored_path: row.stored_path.clone(),
                source_path: row.source_path.clone(),
                created_at: row.created_at.clone(),
                ..existing
            };
            return compare("image", &row.sha256, &same_photo, row);
        }
        self.tx
            .prepare_cached(
                "INSERT INTO images (sha256, stored_path, source_path, format, width, height,
                     bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.sha256,
                row.stored_path,
                row.source_path,
                row.format,
                row.width,
                row.height,
                row.bytes,
                row.created_at
            ])?;
        Ok(Applied::Inserted)
    }

    /// Adds a prompt version unless the same one exists; at most one
    /// champion and one challenger.
    pub fn prompt_version(&self, row: &PromptVersionRow) -> Result<Applied> {
        let existing = self
            .tx
            .prepare_cached(
                "SELECT version, prompt, negative_prompt, parent, status, reasoning, changes,
                     created_at FROM prompt_versions WHERE version = ?1",
            )?
            .query_row([&row.version], prompt_version_from_row)
            .optional()?;
        if let Some(existing) = existing {
            return compare("prompt version", &row.version, &existing, row);
        }
        if let Some(parent) = &row.parent
            && !self.exists("SELECT 1 FROM prompt_versions WHERE version = ?1", parent)?
        {
            return Ok(missing("prompt version", parent));
        }
        if row.status == "champion" || row.status == "challenger" {
            let holder: Option<String> = self
                .tx
                .prepare_cached("SELECT version FROM prompt_versions WHERE status = ?1")?
                .query_row([&row.status], |r| r.get(0))
                .optional()?;
            if let Some(existing) = holder {
                return Ok(Applied::Refused(Refusal::SecondHolder {
                    version: row.version.clone(),
                    status: row.status.clone(),
                    existing,
                }));
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO prompt_versions (version, prompt, negative_prompt, parent, status,
                     reasoning, changes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.version,
                row.prompt,
                row.negative_prompt,
                row.parent,
                row.status,
                row.reasoning,
                serde_json::to_string(&row.changes).expect("strings serialise"),
                row.created_at
            ])?;
        Ok(Applied::Inserted)
    }

    /// Adds a batch unless the same one exists.
    pub fn batch(&self, row: &BatchRow) -> Result<Applied> {
        let existing = self
            .tx
            .prepare_cached(
                "SELECT b.id, i.sha256, b.project, b.kind, b.room, b.style, b.preview_path,
                     b.created_at
                 FROM batches b LEFT JOIN images i ON i.id = b.image_id WHERE b.id = ?1",
            )?
            .query_row([&row.id], batch_from_row)
            .optional()?;
        if let Some(existing) = existing {
            return compare("batch", &row.id, &existing, row);
        }
        let image_id: Option<i64> = match &row.image_sha256 {
            None => None,
            Some(sha) => {
                let id = self
                    .tx
                    .prepare_cached("SELECT id FROM images WHERE sha256 = ?1")?
                    .query_row([sha], |r| r.get(0))
                    .optional()?;
                match id {
                    Some(id) => Some(id),
                    None => return Ok(missing("image", sha)),
                }
            }
        };
        self.tx
            .prepare_cached(
                "INSERT INTO batches (id, image_id, project, kind, room, style, preview_path,
                     created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.id,
                image_id,
                row.project,
                row.kind,
                row.room,
                row.style,
                row.preview_path,
                row.created_at
            ])?;
        Ok(Applied::Inserted)
    }

    /// Adds an experiment unless the same one exists.
    pub fn experiment(&self, row: &ExperimentRow) -> Result<Applied> {
        let existing = self
            .tx
            .prepare_cached(&format!(
                "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1"
            ))?
            .query_row([&row.id], experiment_from_row)
            .optional()?;
        if let Some(existing) = existing {
            return compare("experiment", &row.id, &existing, row);
        }
        if !self.exists("SELECT 1 FROM batches WHERE id = ?1", &row.batch_id)? {
            return Ok(missing("batch", &row.batch_id));
        }
        if !self.exists(
            "SELECT 1 FROM prompt_versions WHERE version = ?1",
            &row.prompt_version,
        )? {
            return Ok(missing("prompt version", &row.prompt_version));
        }
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO experiments ({EXPERIMENT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         ?17, ?18, ?19, ?20, ?21, ?22)"
            ))?
            .execute(params![
                row.id,
                row.batch_id,
                row.option,
                row.provider,
                row.init_strength,
                row.guidance_scale,
                row.controlnet_weight,
                row.prompt_version,
                row.method,
                row.status,
                row.output_path,
                row.latency_ms,
                row.error,
                row.created_at,
                row.finished_at,
                row.arm_rule,
                row.arm_score,
                row.predicted_mean,
                row.predicted_sd,
                row.expected_improvement,
                row.fallback_from,
                row.cost_usd
            ])?;
        Ok(Applied::Inserted)
    }

    /// How many ratings equal to `row` the database held before this import.
    pub fn ratings_present(&self, row: &RatingRow) -> Result<u64> {
        if self.ratings_before == 0 {
            return Ok(0);
        }
        let n: i64 = self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM ratings WHERE experiment_id = ?1 AND id <= ?2
                     AND stars = ?3 AND comment IS ?4 AND rated_by IS ?5 AND rated_at = ?6",
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

    /// Adds an evolution unless the same one exists for its trigger.
    pub fn evolution(&self, row: &EvolutionRow) -> Result<Applied> {
        let existing = self
            .tx
            .prepare_cached(&format!(
                "SELECT {EVOLUTION_COLUMNS} FROM evolutions WHERE trigger_sample = ?1"
            ))?
            .query_row([row.trigger_sample], evolution_from_row)
            .optional()?;
        if let Some(existing) = existing {
            return compare(
                "evolution at sample",
                &row.trigger_sample.to_string(),
                &existing,
                row,
            );
        }
        for version in std::iter::once(&row.parent_version).chain(&row.new_version) {
            if !self.exists("SELECT 1 FROM prompt_versions WHERE version = ?1", version)? {
                return Ok(missing("prompt version", version));
            }
        }
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO evolutions ({EVOLUTION_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))?
            .execute(params![
                row.trigger_sample,
                row.parent_version,
                row.new_version,
                row.evolver,
                row.outcome,
                serde_json::to_string(&row.issues).expect("JSON values serialise"),
                row.reasoning,
                serde_json::to_string(&row.changes).expect("strings serialise"),
                row.detail,
                row.created_at,
                row.finished_at
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
                     AND difference IS ?9 AND t IS ?10 AND df IS ?11 AND prob_better IS ?12
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

    /// Whether, once everything is in, prompt versions exist but none is
    /// the champion (new variants would have no prompt).
    pub fn lacks_champion(&self) -> Result<bool> {
        let (versions, champions): (i64, i64) = self.tx.query_row(
            "SELECT count(*), coalesce(sum(status = 'champion'), 0) FROM prompt_versions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(versions > 0 && champions == 0)
    }

    /// Makes the import durable.
    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }

    fn exists(&self, sql: &str, key: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row([key], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

fn missing(what: &'static str, key: &str) -> Applied {
    Applied::Refused(Refusal::MissingReference {
        what,
        key: key.to_string(),
    })
}

/// `Present` when the rows are equal, else a conflict naming the first
/// field that differs (compared as JSON, so floats compare exactly).
fn compare<T: Serialize>(
    what: &'static str,
    key: &str,
    existing: &T,
    incoming: &T,
) -> Result<Applied> {
    let as_map = |row: &T| match serde_json::to_value(row).expect("rows serialise") {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (as_map(existing), as_map(incoming));
    for (field, value) in &new {
        let there = old.get(field).unwrap_or(&serde_json::Value::Null);
        if there != value {
            return Ok(Applied::Refused(Refusal::Conflict {
                what,
                key: key.to_string(),
                field: field.clone(),
                existing: shorten(there),
                incoming: shorten(value),
            }));
        }
    }
    Ok(Applied::Present)
}

/// A value for a one-line message: at most 60 characters.
fn shorten(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        text.chars().take(57).collect::<String>() + "..."
    }
}
