//! Reading experiments back for `latina history` and `latina show`: rows
//! streamed one at a time in time order, and one experiment with everything
//! recorded about it.
//!
//! The order is `created_at` then `seq`, newest first unless asked; the
//! indexes of migration 0006 serve it together with the provider, prompt
//! version and time filters, so the first rows arrive without sorting the
//! table. The latest rating and the rating count of each row come from
//! `ratings_by_experiment` lookups, never a scan. Time filtering is left to
//! the caller's timestamp: this module compares the stored UTC text.

use crate::store::db::Value;
use jiff::Timestamp;
use serde::Serialize;
use std::path::Path;

use super::Store;
use super::columns::{stamp, stamp_opt};
use crate::domain::time;
use crate::domain::{AppliedKnobs, ArmRule, BatchId, ExperimentId, Explanation, Params};
use crate::error::{Error, Result};
use crate::store::db::{OptionalExtension, Row, Sql, params_from_iter};

/// Which way `latina history` runs through time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryOrder {
    /// Most recent first (the default).
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// Whether to keep rated or unrated experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatedFilter {
    /// Only experiments with at least one rating.
    Rated,
    /// Only experiments without any rating.
    Unrated,
}

/// Which experiments `latina history` lists; every field narrows the set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Exact provider arm name.
    pub provider: Option<String>,
    /// Exact prompt version, e.g. `1.0.0`.
    pub prompt_version: Option<String>,
    /// Rated or unrated only.
    pub rated: Option<RatedFilter>,
    /// Created at or after this instant (compared as the stored text,
    /// whose order is time order).
    pub since: Option<Timestamp>,
    /// Rated at least once by this rater (exact name).
    pub rated_by: Option<String>,
    /// The photo's recorded path contains this text (ASCII case ignored).
    pub photo: Option<String>,
    /// The batch's project, exactly (ASCII case ignored).
    pub project: Option<String>,
    /// The batch's room type, exactly (ASCII case ignored).
    pub room: Option<String>,
    /// The batch's style, exactly (ASCII case ignored).
    pub style: Option<String>,
    /// Time order.
    pub order: HistoryOrder,
    /// At most this many rows.
    pub limit: Option<u64>,
}

/// The photo an experiment was rendered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Row id in `images`.
    pub id: i64,
    /// The file name of the designer's photo, e.g. `living.jpg`.
    pub name: String,
    /// Where the designer's photo was when first enhanced.
    pub source_path: String,
}

/// One rating as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RatingEntry {
    /// 1–5.
    pub stars: u8,
    /// The designer's comment.
    pub comment: Option<String>,
    /// Who rated.
    pub rated_by: Option<String>,
    /// When (UTC, RFC 3339).
    #[serde(with = "time::millis")]
    pub rated_at: Timestamp,
    /// Whether this is its designer's latest rating of the experiment (what
    /// the learning model uses: one rating per designer).
    pub counts: bool,
}

/// One preference involving an experiment, as `latina show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreferenceEntry {
    /// `better`, `worse` or `same`: how this experiment fared.
    pub outcome: &'static str,
    /// The render it was compared with.
    pub other_id: ExperimentId,
    /// That render's option label.
    pub other_option: String,
    /// The designer's comment.
    pub comment: Option<String>,
    /// Who chose.
    pub rated_by: Option<String>,
    /// When (UTC, RFC 3339).
    pub rated_at: String,
    /// Whether this is its designer's latest choice between the two.
    pub counts: bool,
}

/// One experiment as `latina history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    /// Its id.
    pub experiment_id: ExperimentId,
    /// Its batch (one enhance of one photo, or one suggest).
    pub batch_id: BatchId,
    /// A, B, … within the batch.
    pub option: String,
    /// The photo; `None` for parameters proposed by `suggest`.
    pub image: Option<ImageRef>,
    /// The provider arm that rendered it (or was proposed).
    pub provider: String,
    /// The provider that failed before a fallback arm rendered it.
    pub fallback_from: Option<String>,
    /// The time lost on that failed provider before falling back,
    /// milliseconds; `None` unless the row fell back.
    pub fallback_latency_ms: Option<u64>,
    /// The three generation parameters.
    pub params: Params,
    /// The prompt version used.
    pub prompt_version: String,
    /// `proposed`, `running`, `done` or `failed`.
    pub status: String,
    /// The latest rating, which is the one that counts.
    pub rating: Option<RatingEntry>,
    /// How many ratings it has had (re-ratings included).
    pub ratings_count: u64,
    /// Provider wall time, milliseconds.
    pub latency_ms: Option<u64>,
    /// What the render cost, US dollars, when known.
    pub cost_usd: Option<f64>,
    /// Why the render failed (or why its provider fell back).
    pub error: Option<String>,
    /// The render, when done.
    pub output_path: Option<String>,
    /// When it was proposed (UTC, RFC 3339).
    #[serde(with = "time::millis")]
    pub created_at: Timestamp,
    /// When its render ended.
    #[serde(with = "time::millis_opt")]
    pub finished_at: Option<Timestamp>,
    /// Whether the designer was shown it (false: a candidate beyond the
    /// best k of `enhance --candidates`).
    pub shown: bool,
    /// Whether the structure guard held it back.
    pub guarded: bool,
    /// The knobs its render applied, with the values sent, and those its
    /// provider ignored; `null` when not rendered or rendered before this
    /// was recorded.
    pub knobs: Option<AppliedKnobs>,
}

/// The batch an experiment belongs to, for `latina show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchInfo {
    /// Its id.
    pub id: BatchId,
    /// Project or client name.
    pub project: Option<String>,
    /// What the designer wanted improved.
    pub kind: Option<String>,
    /// Room type.
    pub room: Option<String>,
    /// Design style.
    pub style: Option<String>,
    /// The side-by-side preview, once written.
    pub preview_path: Option<String>,
    /// When the batch was created (UTC).
    #[serde(with = "time::millis")]
    pub created_at: Timestamp,
}

/// The stored photo behind an experiment, for `latina show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    /// Row id.
    pub id: i64,
    /// Where the designer's photo was when first enhanced.
    pub source_path: String,
    /// latina's copy under the data dir.
    pub stored_path: String,
    /// Decoded format, e.g. `jpeg`.
    pub format: String,
    /// Upright width in pixels.
    pub width: u32,
    /// Upright height in pixels.
    pub height: u32,
    /// Size of the file when recorded, bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the photo.
    pub sha256: String,
}

/// The prompt an experiment was generated with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptUsed {
    /// Its version.
    pub version: String,
    /// The positive prompt (absent only if the version row is missing).
    pub prompt: Option<String>,
    /// The negative prompt.
    pub negative_prompt: Option<String>,
}

/// Everything recorded about one experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentDetail {
    /// The row as `history` shows it (latest rating included).
    #[serde(flatten)]
    pub row: HistoryRow,
    /// How the optimizer chose the point (`initial_design`, `gp_ei`, …).
    pub method: String,
    /// The model's view of the point when it was proposed.
    pub explanation: Explanation,
    /// The prompt text used.
    pub prompt: PromptUsed,
    /// Its batch.
    pub batch: BatchInfo,
    /// Its photo, when it has one.
    pub image_info: Option<ImageInfo>,
    /// Every rating, oldest first.
    pub ratings: Vec<RatingEntry>,
    /// Every preference involving it, oldest first.
    pub preferences: Vec<PreferenceEntry>,
}

/// Columns shared by history rows and the detail query; `row_from` reads them.
const ROW_COLUMNS: &str = "e.id, e.batch_id, e.option, i.id, i.source_path, e.provider,
    e.fallback_from, e.init_strength, e.guidance_scale, e.controlnet_weight, e.prompt_version,
    e.status, r.stars, r.comment, r.rated_by, r.rated_at,
    (SELECT count(*) FROM ratings c WHERE c.experiment_id = e.id),
    e.latency_ms, e.cost_usd, e.error, e.output_path, e.created_at, e.finished_at,
    e.fallback_latency_ms, e.shown, e.guarded, e.applied_knobs";
const ROW_COLUMN_COUNT: usize = 27;

/// The latest rating is the highest rating id of the experiment: one
/// descending probe of `ratings_by_experiment`, then a rowid lookup.
const ROW_JOINS: &str = "FROM experiments e
    JOIN batches b ON b.id = e.batch_id
    LEFT JOIN images i ON i.id = b.image_id
    LEFT JOIN ratings r ON r.id =
        (SELECT max(m.id) FROM ratings m WHERE m.experiment_id = e.id)";

fn row_from(r: &Row<'_>) -> Result<HistoryRow> {
    let image_id: Option<i64> = r.get(3)?;
    let image = match image_id {
        Some(id) => {
            let source_path: String = r.get(4)?;
            Some(ImageRef {
                id,
                name: file_name(&source_path),
                source_path,
            })
        }
        None => None,
    };
    let stars: Option<i64> = r.get(12)?;
    let rating = match stars {
        Some(stars) => Some(RatingEntry {
            stars: stars.clamp(0, 5) as u8,
            comment: r.get(13)?,
            rated_by: r.get(14)?,
            rated_at: stamp(r, 15)?,
            // The latest rating by anyone is its designer's latest.
            counts: true,
        }),
        None => None,
    };
    Ok(HistoryRow {
        experiment_id: ExperimentId::from_stored(r.get(0)?),
        batch_id: BatchId::from_stored(r.get(1)?),
        option: r.get(2)?,
        image,
        provider: r.get(5)?,
        fallback_from: r.get(6)?,
        fallback_latency_ms: r.get::<Option<i64>>(23)?.map(|v| v.max(0) as u64),
        params: Params {
            init_strength: r.get(7)?,
            guidance_scale: r.get(8)?,
            controlnet_weight: r.get(9)?,
        },
        prompt_version: r.get(10)?,
        status: r.get(11)?,
        rating,
        ratings_count: r.get::<i64>(16)?.max(0) as u64,
        latency_ms: r.get::<Option<i64>>(17)?.map(|v| v.max(0) as u64),
        cost_usd: r.get(18)?,
        error: r.get(19)?,
        output_path: r.get(20)?,
        created_at: stamp(r, 21)?,
        finished_at: stamp_opt(r, 22)?,
        shown: r.get(24)?,
        guarded: r.get(25)?,
        knobs: super::experiments::knobs_from_json(r.get(26)?),
    })
}

/// The last component of a path as recorded (paths from another OS included).
fn file_name(path: &str) -> String {
    let tail = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if tail.is_empty() {
        Path::new(path).display().to_string()
    } else {
        tail.to_string()
    }
}

/// The WHERE clause and its parameters for a query.
fn where_clause(query: &HistoryQuery) -> (String, Vec<Value>) {
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(provider) = &query.provider {
        conditions.push("e.provider = ?");
        values.push(Value::Text(provider.clone()));
    }
    if let Some(version) = &query.prompt_version {
        conditions.push("e.prompt_version = ?");
        values.push(Value::Text(version.clone()));
    }
    if let Some(since) = &query.since {
        conditions.push("e.created_at >= ?");
        values.push(Value::Text(time::format(*since)));
    }
    match query.rated {
        // `rating_id` is kept by triggers (schema 6); the unrated few have
        // their own index in time order (schema 8), so finding them does
        // not walk every rated row.
        Some(RatedFilter::Rated) => conditions.push("e.rating_id IS NOT NULL"),
        Some(RatedFilter::Unrated) => conditions.push("e.rating_id IS NULL"),
        None => {}
    }
    if let Some(rater) = &query.rated_by {
        // The rater's experiment ids are read once from `ratings_by_rater`;
        // comparing `e.id || ''` (an expression, not the column) keeps SQLite
        // from driving the query by that list, which would sort every match
        // before the first row could be written. (SQLite's usual unary `+`
        // does the same there but does not exist for text in PostgreSQL.)
        conditions
            .push("(e.id || '') IN (SELECT y.experiment_id FROM ratings y WHERE y.rated_by = ?)");
        values.push(Value::Text(rater.clone()));
    }
    // The batch filters are subqueries on `e.batch_id` so that the count
    // (which reads `experiments` alone) and the listing share them.
    if let Some(photo) = &query.photo {
        conditions.push(
            "e.batch_id IN (SELECT pb.id FROM batches pb JOIN images pi ON pi.id = pb.image_id
                             WHERE instr(lower(pi.source_path), lower(?)) > 0)",
        );
        values.push(Value::Text(photo.clone()));
    }
    for (condition, wanted) in [
        (
            "e.batch_id IN (SELECT id FROM batches WHERE project = ? COLLATE NOCASE)",
            &query.project,
        ),
        (
            "e.batch_id IN (SELECT id FROM batches WHERE room = ? COLLATE NOCASE)",
            &query.room,
        ),
        (
            "e.batch_id IN (SELECT id FROM batches WHERE style = ? COLLATE NOCASE)",
            &query.style,
        ),
    ] {
        if let Some(wanted) = wanted {
            conditions.push(condition);
            values.push(Value::Text(wanted.clone()));
        }
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    (clause, values)
}

fn history_sql(query: &HistoryQuery) -> (String, Vec<Value>) {
    let (clause, mut values) = where_clause(query);
    let direction = match query.order {
        HistoryOrder::NewestFirst => "DESC",
        HistoryOrder::OldestFirst => "ASC",
    };
    let limit = match query.limit {
        Some(n) => {
            values.push(Value::Int(n.min(i64::MAX as u64) as i64));
            "LIMIT ?"
        }
        None => "",
    };
    (
        format!(
            "SELECT {ROW_COLUMNS} {ROW_JOINS} {clause}
             ORDER BY e.created_at {direction}, e.seq {direction} {limit}"
        ),
        values,
    )
}

impl Store {
    /// Calls `each` with every experiment `query` selects, in its order, as
    /// the database produces them (SQLite row by row, PostgreSQL through a
    /// cursor, a chunk at a time): nothing is collected, so a reader that
    /// stops early (an `Err` from `each`) costs only the rows it saw.
    ///
    /// # Errors
    /// Database errors, or the first error `each` returns.
    pub fn for_each_history<E: From<Error>>(
        &self,
        query: &HistoryQuery,
        mut each: impl FnMut(HistoryRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let (sql, values) = history_sql(query);
        let mut stmt = self.conn.prepare(&sql)?;
        debug_assert_eq!(stmt.column_count(), ROW_COLUMN_COUNT);
        let mut rows = stmt.query_streamed(params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            let row = &row;
            each(row_from(row)?)?;
        }
        Ok(())
    }

    /// How many experiments `query` selects, ignoring its limit.
    pub fn count_history(&self, query: &HistoryQuery) -> Result<u64> {
        let (clause, values) = where_clause(query);
        let n: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM experiments e {clause}"),
            params_from_iter(values),
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// SQLite's plan for the history query, one line per step, so tests and
    /// benchmarks can check that it walks indexes instead of sorting or
    /// scanning.
    pub fn history_query_plan(&self, query: &HistoryQuery) -> Result<Vec<String>> {
        let (sql, values) = history_sql(query);
        let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let lines = stmt
            .query_map(params_from_iter(values), |r| r.get::<String>(3))?
            .collect::<Result<_>>()?;
        Ok(lines)
    }

    /// Everything recorded about one experiment.
    ///
    /// # Errors
    /// [`Error::UnknownExperiment`] when no experiment has this id.
    pub fn experiment_detail(&self, id: &ExperimentId) -> Result<ExperimentDetail> {
        let sql = format!(
            "SELECT {ROW_COLUMNS}, e.method, e.arm_rule, e.arm_score, e.predicted_mean,
                    e.predicted_sd, e.expected_improvement, p.prompt, p.negative_prompt,
                    b.project, b.kind, b.room, b.style, b.preview_path, b.created_at,
                    i.stored_path, i.format, i.width, i.height, i.bytes, i.sha256
             {ROW_JOINS}
             LEFT JOIN prompt_versions p ON p.version = e.prompt_version
             WHERE e.id = ?1"
        );
        let detail = self
            .conn
            .query_row(&sql, [id.as_str()], |r| {
                let row = row_from(r)?;
                let c = ROW_COLUMN_COUNT;
                let arm_rule: Option<String> = r.get(c + 1)?;
                let explanation = Explanation {
                    arm_rule: arm_rule
                        .as_deref()
                        .and_then(ArmRule::parse)
                        .unwrap_or(ArmRule::Design),
                    arm_score: r.get(c + 2)?,
                    predicted_mean: r.get(c + 3)?,
                    predicted_sd: r.get(c + 4)?,
                    expected_improvement: r.get(c + 5)?,
                };
                let image_info = match &row.image {
                    Some(image) => Some(ImageInfo {
                        id: image.id,
                        source_path: image.source_path.clone(),
                        stored_path: r.get(c + 14)?,
                        format: r.get(c + 15)?,
                        width: r.get(c + 16)?,
                        height: r.get(c + 17)?,
                        bytes: r.get::<i64>(c + 18)?.max(0) as u64,
                        sha256: r.get(c + 19)?,
                    }),
                    None => None,
                };
                Ok(ExperimentDetail {
                    method: r.get(c)?,
                    explanation,
                    prompt: PromptUsed {
                        version: row.prompt_version.clone(),
                        prompt: r.get(c + 6)?,
                        negative_prompt: r.get(c + 7)?,
                    },
                    batch: BatchInfo {
                        id: row.batch_id.clone(),
                        project: r.get(c + 8)?,
                        kind: r.get(c + 9)?,
                        room: r.get(c + 10)?,
                        style: r.get(c + 11)?,
                        preview_path: r.get(c + 12)?,
                        created_at: stamp(r, c + 13)?,
                    },
                    image_info,
                    ratings: Vec::new(),
                    preferences: Vec::new(),
                    row,
                })
            })
            .optional()?;
        let mut detail = detail.ok_or_else(|| Error::UnknownExperiment(id.to_string()))?;
        let mut stmt = self.conn.prepare(
            "SELECT stars, comment, rated_by, rated_at FROM ratings
             WHERE experiment_id = ?1 ORDER BY id",
        )?;
        detail.ratings = stmt
            .query_map([id.as_str()], |r| {
                Ok(RatingEntry {
                    stars: r.get::<i64>(0)?.clamp(0, 5) as u8,
                    comment: r.get(1)?,
                    rated_by: r.get(2)?,
                    rated_at: stamp(r, 3)?,
                    counts: false,
                })
            })?
            .collect::<Result<_>>()?;
        mark_latest(
            &mut detail.ratings,
            |r| r.rated_by.clone(),
            |r| &mut r.counts,
        );
        let mut stmt = self.conn.prepare(
            "SELECT p.better_id, p.worse_id, p.tie, p.comment, p.rated_by, p.rated_at, o.option
             FROM preferences p
             JOIN experiments o ON o.id = CASE WHEN p.better_id = ?1 THEN p.worse_id ELSE p.better_id END
             WHERE p.id IN (SELECT id FROM preferences WHERE better_id = ?1
                            UNION ALL SELECT id FROM preferences WHERE worse_id = ?1)
             ORDER BY p.id",
        )?;
        detail.preferences = stmt
            .query_map([id.as_str()], |r| {
                let better: ExperimentId = r.get(0)?;
                let worse: ExperimentId = r.get(1)?;
                let tie: bool = r.get(2)?;
                let (outcome, other_id) = match (tie, &better == id) {
                    (true, true) => ("same", worse),
                    (true, false) => ("same", better),
                    (false, true) => ("better", worse),
                    (false, false) => ("worse", better),
                };
                Ok(PreferenceEntry {
                    outcome,
                    other_id,
                    comment: r.get(3)?,
                    rated_by: r.get(4)?,
                    rated_at: r.get(5)?,
                    other_option: r.get(6)?,
                    counts: false,
                })
            })?
            .collect::<Result<_>>()?;
        mark_latest(
            &mut detail.preferences,
            |p| (p.other_id.clone(), p.rated_by.clone()),
            |p| &mut p.counts,
        );
        Ok(detail)
    }
}

/// Marks each group's last entry (entries are oldest first): a designer's
/// latest judgement is the one that counts. Unnamed (`None`) is one group.
fn mark_latest<T, K: Eq + std::hash::Hash>(
    entries: &mut [T],
    key: impl Fn(&T) -> K,
    counts: impl Fn(&mut T) -> &mut bool,
) {
    let mut seen = std::collections::HashSet::new();
    for entry in entries.iter_mut().rev() {
        *counts(entry) = seen.insert(key(entry));
    }
}

// On SQLite only (`open_in_memory`, not `open_for_test`): its tests read SQLite query plans.
#[cfg(test)]
mod tests {
    use super::*;

    fn plan(query: &HistoryQuery) -> String {
        let store = Store::open_in_memory().unwrap();
        store.history_query_plan(query).unwrap().join("\n")
    }

    #[test]
    fn the_newest_first_listing_walks_the_time_index_without_sorting() {
        let p = plan(&HistoryQuery::default());
        assert!(p.contains("experiments_by_created"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[test]
    fn oldest_first_and_since_use_the_time_index_too() {
        let p = plan(&HistoryQuery {
            order: HistoryOrder::OldestFirst,
            since: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            ..HistoryQuery::default()
        });
        assert!(p.contains("experiments_by_created (created_at>?)"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[test]
    fn provider_and_version_filters_search_their_indexes_in_time_order() {
        let p = plan(&HistoryQuery {
            provider: Some("tone".into()),
            ..HistoryQuery::default()
        });
        assert!(
            p.contains("experiments_by_provider_created (provider=?)"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let p = plan(&HistoryQuery {
            prompt_version: Some("1.0.0".into()),
            since: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            ..HistoryQuery::default()
        });
        assert!(
            p.contains("experiments_by_version_created (prompt_version=? AND created_at>?)"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[test]
    fn ratings_are_looked_up_by_experiment_never_scanned() {
        let p = plan(&HistoryQuery {
            rated: Some(RatedFilter::Unrated),
            rated_by: Some("ana".into()),
            ..HistoryQuery::default()
        });
        assert!(!p.contains("SCAN r"), "{p}");
        assert!(!p.contains("SCAN m"), "{p}");
        assert!(!p.contains("SCAN c"), "{p}");
        assert!(!p.contains("SCAN x"), "{p}");
        assert!(!p.contains("SCAN y"), "{p}");
        assert!(p.contains("ratings_by_experiment"), "{p}");
        assert!(p.contains("ratings_by_rater (rated_by=?)"), "{p}");
        assert!(
            p.contains("SCAN e USING INDEX experiments_unrated_created"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[test]
    fn unrated_experiments_are_read_from_their_own_index_in_time_order() {
        let p = plan(&HistoryQuery {
            rated: Some(RatedFilter::Unrated),
            ..HistoryQuery::default()
        });
        assert!(
            p.contains("SCAN e USING INDEX experiments_unrated_created"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[test]
    fn file_names_come_from_unix_and_windows_paths() {
        assert_eq!(file_name("/home/ana/fotos/sala.jpg"), "sala.jpg");
        assert_eq!(file_name(r"C:\Users\ana\sala.jpg"), "sala.jpg");
        assert_eq!(file_name("sala.jpg"), "sala.jpg");
    }
}
