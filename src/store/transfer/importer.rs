//! Writing an imported history: one IMMEDIATE transaction, rows matched on
//! their natural keys, an existing row never changed (a different one under
//! the same key is a [`Refusal`]).

use serde::Serialize;

use super::snapshot::{
    EVOLUTION_COLUMNS, EXPERIMENT_COLUMNS, batch_from_row, evolution_from_row, experiment_from_row,
    image_from_row, prompt_version_from_row,
};
use super::{
    BatchRow, EmbeddingRow, EvolutionRow, ExperimentRow, ImageRow, PromptVersionRow, ShortlistRow,
};
use crate::error::Result;
use crate::store::db::{Backend, Behavior, OptionalExtension, Sql, Tx, params};
use crate::store::{PromptVersion, Store};

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
    /// A preference between renders of two different photos.
    #[error(
        "a preference between experiments {better} and {worse}, which are not variants of the same photo"
    )]
    DifferentPhotos {
        /// The better experiment.
        better: String,
        /// The other.
        worse: String,
    },
}

/// An import in progress: one IMMEDIATE transaction, committed by
/// [`Importer::commit`] and rolled back when dropped.
pub struct Importer<'a> {
    pub(super) tx: Tx<'a>,
    /// Rows with a higher id were written by this import.
    pub(super) ratings_before: i64,
    pub(super) preferences_before: i64,
    pub(super) decisions_before: i64,
}

impl Store {
    /// Begins an import. A database that holds nothing but `seed`, the base
    /// prompt seeded on first open, is treated as empty: that seed is
    /// removed, so that the file's own prompt history (with its dates and
    /// statuses) comes in unchanged. Returns whether that happened.
    pub fn begin_import(&mut self, seed: &PromptVersion) -> Result<(Importer<'_>, bool)> {
        // One cached statement per lookup and insert of every table.
        if let Some(conn) = self.conn.sqlite() {
            conn.set_prepared_statement_cache_capacity(32);
            // A whole history in one transaction touches more pages than the
            // default 2 MB page cache holds; spilling them to the WAL and
            // reading them back made a 100k import I/O-bound. 64 MB, for this
            // connection only (it ends with the import command).
            conn.pragma_update(None, "cache_size", -65536)?;
        }
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
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
                |r| r.get::<i64>(0),
            )? == 1;
        let unseeded = only_seed;
        if unseeded {
            // Experiments and ratings hang off batches, so none exist here.
            tx.execute("DELETE FROM prompt_versions", [])?;
        }
        let max_id = |table: &str| -> Result<i64> {
            tx.query_row(
                &format!("SELECT coalesce(max(id), 0) FROM {table}"),
                [],
                |r| r.get(0),
            )
        };
        let ratings_before = max_id("ratings")?;
        let preferences_before = max_id("preferences")?;
        let decisions_before = max_id("prompt_decisions")?;
        if tx.backend() == Backend::Postgres {
            // Every rating adds to the same few tally rows; on the server each
            // update in one transaction steps over the versions the earlier
            // ones left (an hour for 100,000). Collected and added once, at
            // commit (src/store/pg/0002_deferred_tallies.sql).
            tx.execute_batch("SELECT latina_defer_tallies()")?;
        }
        Ok((
            Importer {
                tx,
                ratings_before,
                preferences_before,
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
            // Features are measured from the same pixels; a photo measured
            // on one side only is the same photo (the features are added).
            let same_photo = ImageRow {
                stored_path: row.stored_path.clone(),
                source_path: row.source_path.clone(),
                created_at: row.created_at.clone(),
                features: row.features,
                ..existing
            };
            let applied = compare("image", &row.sha256, &same_photo, row)?;
            if applied == Applied::Present {
                self.photo_features(row)?;
            }
            return Ok(applied);
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
        self.photo_features(row)?;
        Ok(Applied::Inserted)
    }

    /// Records the photo's features, unless it has some already.
    fn photo_features(&self, row: &ImageRow) -> Result<()> {
        let Some(features) = &row.features else {
            return Ok(());
        };
        let id: i64 = self.tx.query_row(
            "SELECT id FROM images WHERE sha256 = ?1",
            [&row.sha256],
            |r| r.get(0),
        )?;
        crate::store::context::insert_photo_features(&self.tx, id, features)?;
        Ok(())
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
                     b.created_at, b.made_for
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
                     created_at, made_for)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                row.id,
                image_id,
                row.project,
                row.kind,
                row.room,
                row.style,
                row.preview_path,
                row.created_at,
                row.made_for
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
            // Features are measured from the same render; measured on one
            // side only, it is the same experiment (the features are added).
            // So are the applied knobs, recorded on one side only (a file
            // or a database from before schema 0017).
            let add_knobs = existing.applied_knobs.is_none() && row.applied_knobs.is_some();
            let same = ExperimentRow {
                render_features: row.render_features,
                applied_knobs: if existing.applied_knobs.is_none() || row.applied_knobs.is_none() {
                    row.applied_knobs.clone()
                } else {
                    existing.applied_knobs.clone()
                },
                ..existing
            };
            let applied = compare("experiment", &row.id, &same, row)?;
            if applied == Applied::Present {
                self.render_features(row)?;
                if add_knobs {
                    self.applied_knobs(row)?;
                }
            }
            return Ok(applied);
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
        let shortlist = row.shortlist.clone().unwrap_or(ShortlistRow {
            shown: true,
            reason: None,
            reward_mean: None,
            reward_sd: None,
            guard_structure: None,
            guard_threshold: None,
            guarded: false,
        });
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO experiments ({EXPERIMENT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30,
                         ?31)"
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
                row.cost_usd,
                row.fallback_latency_ms,
                shortlist.shown,
                shortlist.reason,
                shortlist.reward_mean,
                shortlist.reward_sd,
                shortlist.guard_structure,
                shortlist.guard_threshold,
                shortlist.guarded,
                row.applied_knobs
                    .as_ref()
                    .map(crate::store::experiments::knobs_json)
            ])?;
        self.render_features(row)?;
        Ok(Applied::Inserted)
    }

    /// Adds the applied knobs to an experiment that has none recorded.
    fn applied_knobs(&self, row: &ExperimentRow) -> Result<()> {
        if let Some(knobs) = &row.applied_knobs {
            self.tx.execute(
                "UPDATE experiments SET applied_knobs = ?2 WHERE id = ?1 AND applied_knobs IS NULL",
                params![row.id, crate::store::experiments::knobs_json(knobs)],
            )?;
        }
        Ok(())
    }

    /// Records the render's features, unless it has some already.
    fn render_features(&self, row: &ExperimentRow) -> Result<()> {
        if let Some(features) = &row.render_features {
            crate::store::render_features::insert_render_features(&self.tx, &row.id, features)?;
        }
        Ok(())
    }

    /// Adds a render's embedding unless the same one exists; a different
    /// vector from the same model for the same render is refused.
    pub fn embedding(&self, row: &EmbeddingRow) -> Result<Applied> {
        let existing = self
            .tx
            .prepare_cached(
                "SELECT experiment_id, model_sha256, dims, vector, measured_at
                 FROM render_embeddings WHERE experiment_id = ?1 AND model_sha256 = ?2",
            )?
            .query_row(
                params![row.experiment_id, row.model_sha256],
                super::snapshot::embedding_from_row,
            )
            .optional()?;
        let key = format!("{} by model {}", row.experiment_id, row.model_sha256);
        if let Some(existing) = existing {
            // Embedding the same render again gives the same vector at
            // another time: only the values make it a different embedding.
            let same = EmbeddingRow {
                measured_at: row.measured_at.clone(),
                ..existing
            };
            return compare("embedding", &key, &same, row);
        }
        if !self.exists(
            "SELECT 1 FROM experiments WHERE id = ?1",
            &row.experiment_id,
        )? {
            return Ok(missing("experiment", &row.experiment_id));
        }
        let blob: Vec<u8> = row.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tx
            .prepare_cached(
                "INSERT INTO render_embeddings (experiment_id, model_sha256, dims, vector,
                     measured_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                row.experiment_id,
                row.model_sha256,
                row.values.len() as i64,
                blob,
                row.measured_at
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
        if self.tx.backend() == Backend::Postgres {
            self.tx
                .execute_batch("SELECT latina_fold_deferred_tallies()")?;
        }
        self.tx.commit()?;
        Ok(())
    }

    pub(super) fn exists(&self, sql: &str, key: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row([key], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

pub(super) fn missing(what: &'static str, key: &str) -> Applied {
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

#[cfg(test)]
mod tests {
    use super::super::RatingRow;
    use super::*;

    const T0: &str = "2026-11-20T09:30:00.000Z";

    fn image() -> ImageRow {
        ImageRow {
            sha256: "ab".repeat(32),
            stored_path: "/studio/originals/ab.jpg".into(),
            source_path: "/home/ana/salon.jpg".into(),
            format: "jpeg".into(),
            width: 800,
            height: 600,
            bytes: 51_234,
            created_at: T0.into(),
            features: None,
        }
    }

    fn champion() -> PromptVersionRow {
        PromptVersionRow {
            version: "1.0.0".into(),
            prompt: "photorealistic interior, soft natural light".into(),
            negative_prompt: "blurry".into(),
            parent: None,
            status: "champion".into(),
            reasoning: None,
            changes: Vec::new(),
            created_at: T0.into(),
        }
    }

    fn batch() -> BatchRow {
        BatchRow {
            id: "b".repeat(32),
            image_sha256: Some("ab".repeat(32)),
            project: Some("casa-lopez".into()),
            kind: None,
            room: Some("living_room".into()),
            style: None,
            preview_path: None,
            created_at: T0.into(),
            made_for: None,
        }
    }

    fn experiment() -> ExperimentRow {
        ExperimentRow {
            id: "e".repeat(32),
            batch_id: "b".repeat(32),
            option: "A".into(),
            provider: "tone".into(),
            init_strength: 0.3,
            guidance_scale: 7.5,
            controlnet_weight: 0.9,
            prompt_version: "1.0.0".into(),
            method: "initial_design".into(),
            status: "done".into(),
            output_path: Some("/studio/renders/e.jpg".into()),
            latency_ms: Some(410),
            error: None,
            created_at: T0.into(),
            finished_at: Some(T0.into()),
            arm_rule: Some("design".into()),
            arm_score: None,
            predicted_mean: None,
            predicted_sd: None,
            expected_improvement: None,
            fallback_from: None,
            cost_usd: Some(0.0),
            fallback_latency_ms: None,
            render_features: None,
            shortlist: None,
            applied_knobs: None,
        }
    }

    fn rating(stars: i64) -> RatingRow {
        RatingRow {
            experiment_id: "e".repeat(32),
            stars,
            comment: Some("muy plano".into()),
            rated_by: Some("ana".into()),
            rated_at: T0.into(),
        }
    }

    /// Imports one of each row into `store` and commits.
    fn import_history(store: &mut Store) -> Vec<Applied> {
        let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
        let applied = vec![
            importer.image(&image()).unwrap(),
            importer.prompt_version(&champion()).unwrap(),
            importer.batch(&batch()).unwrap(),
            importer.experiment(&experiment()).unwrap(),
            importer.rating(&rating(4)).unwrap(),
        ];
        importer.commit().unwrap();
        applied
    }

    fn count(store: &mut Store, table: &str) -> i64 {
        store
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn rows_come_back_from_a_snapshot_as_they_were_imported() {
        let mut store = Store::open_for_test().unwrap();
        assert!(
            import_history(&mut store)
                .iter()
                .all(|a| *a == Applied::Inserted)
        );
        let snapshot = store.snapshot().unwrap();
        let mut experiments = Vec::new();
        snapshot
            .experiments(|row| {
                experiments.push(row);
                Ok(())
            })
            .unwrap();
        let mut ratings = Vec::new();
        snapshot
            .ratings(|row| {
                ratings.push(row);
                Ok(())
            })
            .unwrap();
        assert_eq!(experiments, [experiment()]);
        assert_eq!(ratings, [rating(4)]);
    }

    /// A fallback's wait (schema 10) comes back from a snapshot; a file
    /// written before it (no such field) still imports, and still matches
    /// the same experiment once the database knows the wait.
    #[test]
    fn a_fallbacks_wait_round_trips_and_files_without_it_still_match() {
        let fell_back = ExperimentRow {
            fallback_from: Some("leonardo".into()),
            error: Some("leonardo: HTTP 500 (failed after 812 ms)".into()),
            fallback_latency_ms: Some(812),
            ..experiment()
        };
        let line = serde_json::to_string(&fell_back).unwrap();
        assert!(line.contains("\"fallback_latency_ms\":812"), "{line}");
        let mut old: serde_json::Value = serde_json::from_str(&line).unwrap();
        old.as_object_mut().unwrap().remove("fallback_latency_ms");
        let old: ExperimentRow = serde_json::from_value(old).unwrap();
        assert_eq!(old.fallback_latency_ms, None);

        let mut store = Store::open_for_test().unwrap();
        let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
        importer.prompt_version(&champion()).unwrap();
        importer.image(&image()).unwrap();
        importer.batch(&batch()).unwrap();
        assert_eq!(importer.experiment(&fell_back).unwrap(), Applied::Inserted);
        assert_eq!(importer.experiment(&old).unwrap(), Applied::Present);
        importer.commit().unwrap();
        let mut experiments = Vec::new();
        store
            .snapshot()
            .unwrap()
            .experiments(|row| {
                experiments.push(row);
                Ok(())
            })
            .unwrap();
        assert_eq!(experiments, [fell_back]);
        let leonardo = store.summary().unwrap().providers;
        let leonardo = leonardo.iter().find(|p| p.name == "leonardo").unwrap();
        assert_eq!((leonardo.failed, leonardo.total_latency_ms), (1, 812));
    }

    fn snapshot_rows(store: &mut Store) -> (Vec<BatchRow>, Vec<ExperimentRow>, Vec<EmbeddingRow>) {
        let snapshot = store.snapshot().unwrap();
        let (mut batches, mut experiments, mut embeddings) = (Vec::new(), Vec::new(), Vec::new());
        snapshot
            .batches(|row| {
                batches.push(row);
                Ok(())
            })
            .unwrap();
        snapshot
            .experiments(|row| {
                experiments.push(row);
                Ok(())
            })
            .unwrap();
        snapshot
            .embeddings(|row| {
                embeddings.push(row);
                Ok(())
            })
            .unwrap();
        (batches, experiments, embeddings)
    }

    /// The shortlist's verdict and the batch's designer (schema 14) come
    /// back from a snapshot exactly, and what the optimizer reads of them
    /// (a guarded render is a poor outcome, an unshown one is not queued)
    /// holds in the database they were imported into; a render no
    /// shortlist judged has no `shortlist` field, as in older files.
    #[test]
    fn a_shortlist_and_the_batchs_designer_round_trip() {
        let made_for = BatchRow {
            made_for: Some("ana".into()),
            ..batch()
        };
        let guarded = ExperimentRow {
            shortlist: Some(ShortlistRow {
                shown: false,
                reason: Some("guarded: structure 0.512 below 0.750".into()),
                reward_mean: Some(2.25),
                reward_sd: Some(0.625),
                guard_structure: Some(0.512),
                guard_threshold: Some(0.75),
                guarded: true,
            }),
            ..experiment()
        };
        let unshown = ExperimentRow {
            id: "f".repeat(32),
            option: "B".into(),
            shortlist: Some(ShortlistRow {
                shown: false,
                reason: Some("not among the best 1: 3.1 ± 0.5 stars".into()),
                reward_mean: Some(3.125),
                reward_sd: Some(0.5),
                guard_structure: Some(0.9),
                guard_threshold: Some(0.75),
                guarded: false,
            }),
            ..experiment()
        };
        let line = serde_json::to_string(&experiment()).unwrap();
        assert!(!line.contains("shortlist"), "{line}");
        assert!(
            !serde_json::to_string(&batch())
                .unwrap()
                .contains("made_for")
        );

        let mut store = Store::open_for_test().unwrap();
        let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
        importer.image(&image()).unwrap();
        importer.prompt_version(&champion()).unwrap();
        assert_eq!(importer.batch(&made_for).unwrap(), Applied::Inserted);
        assert_eq!(importer.experiment(&guarded).unwrap(), Applied::Inserted);
        assert_eq!(importer.experiment(&unshown).unwrap(), Applied::Inserted);
        // Imported again, they are the same rows; a file that lacks the
        // designer (written before schema 14) matches too.
        assert_eq!(importer.batch(&made_for).unwrap(), Applied::Present);
        assert_eq!(importer.batch(&batch()).unwrap(), Applied::Present);
        assert_eq!(importer.experiment(&guarded).unwrap(), Applied::Present);
        // A different verdict under the same id is refused.
        let shown_instead = ExperimentRow {
            shortlist: None,
            ..unshown.clone()
        };
        let mut flipped = unshown.clone();
        flipped.shortlist.as_mut().unwrap().shown = true;
        assert!(matches!(
            importer.experiment(&flipped).unwrap(),
            Applied::Refused(Refusal::Conflict { ref field, .. }) if field == "shortlist"
        ));
        assert_eq!(
            importer.experiment(&shown_instead).unwrap(),
            Applied::Present,
            "a file without the field says nothing about it"
        );
        importer.commit().unwrap();

        let (batches, experiments, _) = snapshot_rows(&mut store);
        assert_eq!(batches, [made_for]);
        assert_eq!(experiments, [guarded.clone(), unshown]);
        let record = store
            .shortlist_record(&crate::domain::ExperimentId::from_stored(
                guarded.id.clone(),
            ))
            .unwrap();
        assert!(record.guarded && !record.shown);
        // Neither is waiting to be rated: one is unshown, one guarded.
        assert!(store.unrated_experiments().unwrap().is_empty());
    }

    /// An embedding (schema 15) comes back from a snapshot value for value;
    /// the same one again is present, another vector under the same
    /// (render, model) is refused, and one of an unknown render is a
    /// missing reference.
    #[test]
    fn embeddings_round_trip_and_a_different_vector_is_refused() {
        let mut store = Store::open_for_test().unwrap();
        import_history(&mut store);
        // Values that need every bit of a float32 to come back equal.
        let values = vec![
            0.1_f32,
            -0.333_333_34,
            1.0e-7,
            0.866_025_4,
            f32::MIN_POSITIVE,
        ];
        let row = EmbeddingRow {
            experiment_id: "e".repeat(32),
            model_sha256: "c".repeat(64),
            values: values.clone(),
            measured_at: T0.into(),
        };
        let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
        assert_eq!(importer.embedding(&row).unwrap(), Applied::Inserted);
        let later = EmbeddingRow {
            measured_at: "2026-11-21T10:00:00.000Z".into(),
            ..row.clone()
        };
        assert_eq!(importer.embedding(&later).unwrap(), Applied::Present);
        let mut other = row.clone();
        other.values[2] = 2.0e-7;
        assert!(matches!(
            importer.embedding(&other).unwrap(),
            Applied::Refused(Refusal::Conflict { ref field, .. }) if field == "values"
        ));
        let orphan = EmbeddingRow {
            experiment_id: "d".repeat(32),
            ..row.clone()
        };
        assert!(matches!(
            importer.embedding(&orphan).unwrap(),
            Applied::Refused(Refusal::MissingReference {
                what: "experiment",
                ..
            })
        ));
        importer.commit().unwrap();

        // Through JSON, as the export file carries it.
        let line = serde_json::to_string(&row).unwrap();
        let parsed: EmbeddingRow = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed.values, values);
        let (_, _, embeddings) = snapshot_rows(&mut store);
        assert_eq!(embeddings, [row]);
        let stored = store
            .render_embedding(
                &crate::domain::ExperimentId::from_stored("e".repeat(32)),
                &"c".repeat(64),
            )
            .unwrap()
            .unwrap();
        assert_eq!(stored.vector, values);
    }

    /// A render's features (schema 13) come back from a snapshot; a file
    /// without them matches the same experiment, and a file with them adds
    /// them to an experiment measured on one side only.
    #[test]
    fn render_features_round_trip_and_are_added_to_an_unmeasured_experiment() {
        let features =
            crate::domain::RenderFeatures::from_array(std::array::from_fn(|i| i as f64 / 16.0));
        let measured = ExperimentRow {
            render_features: Some(features),
            ..experiment()
        };
        let line = serde_json::to_string(&experiment()).unwrap();
        assert!(!line.contains("render_features"), "{line}");

        let mut store = Store::open_for_test().unwrap();
        import_history(&mut store);
        let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
        assert_eq!(importer.experiment(&measured).unwrap(), Applied::Present);
        assert_eq!(
            importer.experiment(&experiment()).unwrap(),
            Applied::Present
        );
        importer.commit().unwrap();
        let mut experiments = Vec::new();
        store
            .snapshot()
            .unwrap()
            .experiments(|row| {
                experiments.push(row);
                Ok(())
            })
            .unwrap();
        assert_eq!(experiments, [measured]);
        let id = crate::domain::ExperimentId::from_stored("e".repeat(32));
        assert_eq!(store.render_features_of(&id).unwrap(), Some(features));
    }

    #[test]
    fn importing_the_same_rows_again_changes_nothing() {
        let mut store = Store::open_for_test().unwrap();
        import_history(&mut store);
        let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
        assert_eq!(importer.image(&image()).unwrap(), Applied::Present);
        assert_eq!(
            importer.experiment(&experiment()).unwrap(),
            Applied::Present
        );
        // A rating has no key: the one already there is counted, so the
        // same row in a file is present once.
        assert_eq!(importer.ratings_present(&rating(4)).unwrap(), 1);
        importer.commit().unwrap();
        assert_eq!(count(&mut store, "ratings"), 1);
    }

    #[test]
    fn a_different_row_under_an_existing_key_is_a_conflict_naming_the_field() {
        let mut store = Store::open_for_test().unwrap();
        import_history(&mut store);
        let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
        let changed = ExperimentRow {
            guidance_scale: 9.0,
            ..experiment()
        };
        match importer.experiment(&changed).unwrap() {
            Applied::Refused(Refusal::Conflict {
                what,
                field,
                existing,
                incoming,
                ..
            }) => {
                assert_eq!((what, field.as_str()), ("experiment", "guidance_scale"));
                assert_eq!((existing.as_str(), incoming.as_str()), ("7.5", "9.0"));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        // The same photo stored under other paths on another machine is
        // the same image, not a conflict.
        let elsewhere = ImageRow {
            stored_path: "/laptop/originals/ab.jpg".into(),
            source_path: "C:/fotos/salon.jpg".into(),
            ..image()
        };
        assert_eq!(importer.image(&elsewhere).unwrap(), Applied::Present);
    }

    #[test]
    fn a_row_referring_to_nothing_known_is_refused_and_a_dropped_import_leaves_nothing() {
        let mut store = Store::open_for_test().unwrap();
        {
            let (importer, _) = store.begin_import(&crate::prompts::base_prompt()).unwrap();
            assert_eq!(importer.image(&image()).unwrap(), Applied::Inserted);
            assert!(matches!(
                importer.experiment(&experiment()).unwrap(),
                Applied::Refused(Refusal::MissingReference { what: "batch", .. })
            ));
            // Dropped without commit: rolled back.
        }
        assert_eq!(count(&mut store, "images"), 0);
    }

    #[test]
    fn values_in_messages_are_cut_to_sixty_characters() {
        let long = serde_json::Value::String("x".repeat(100));
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 60);
        assert!(short.ends_with("..."));
        assert_eq!(shorten(&serde_json::json!(7.5)), "7.5");
    }
}
