//! Reading the whole history for an export, in one read transaction, each
//! table in the order it was written, through one row mapper per table.

use super::{
    BatchRow, EmbeddingRow, EvolutionRow, ExperimentRow, ImageRow, PreferenceRow,
    PromptDecisionRow, PromptVersionRow, RatingRow, RatingWithTrial, ShortlistRow,
};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::db::{Row, Sql, Tx};

/// A consistent read of the whole database for an export.
pub struct Snapshot<'a> {
    tx: Tx<'a>,
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
            "SELECT i.sha256, i.stored_path, i.source_path, i.format, i.width, i.height, i.bytes,
                 i.created_at, f.brightness, f.contrast, f.warmth, f.colourfulness, f.clutter,
                 f.window_light
             FROM images i LEFT JOIN photo_features f ON f.image_id = i.id ORDER BY i.id",
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
            "SELECT b.id, i.sha256, b.project, b.kind, b.room, b.style, b.preview_path, b.created_at,
                 b.made_for
             FROM batches b LEFT JOIN images i ON i.id = b.image_id ORDER BY b.rowid",
            batch_from_row,
            each,
        )
    }

    /// Calls `each` with every experiment in the order they were written.
    pub fn experiments(&self, each: impl FnMut(ExperimentRow) -> Result<()>) -> Result<()> {
        self.stream(
            &format!(
                "SELECT {EXPERIMENT_COLUMNS}, {} FROM experiments
                 LEFT JOIN render_features f ON f.experiment_id = experiments.id ORDER BY seq",
                crate::store::render_features::prefixed_columns("f")
            ),
            experiment_from_row,
            each,
        )
    }

    /// Calls `each` with every render embedding, in the order of the
    /// experiments, then of the models.
    pub fn embeddings(&self, each: impl FnMut(EmbeddingRow) -> Result<()>) -> Result<()> {
        self.stream(
            "SELECT e.experiment_id, e.model_sha256, e.dims, e.vector, e.measured_at
             FROM render_embeddings e JOIN experiments x ON x.id = e.experiment_id
             ORDER BY x.seq, e.model_sha256",
            embedding_from_row,
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

    /// Calls `each` with every preference, oldest first (the history, not
    /// only each designer's latest).
    pub fn preferences(&self, each: impl FnMut(PreferenceRow) -> Result<()>) -> Result<()> {
        self.stream(
            "SELECT better_id, worse_id, tie, comment, rated_by, rated_at FROM preferences ORDER BY id",
            |r| {
                Ok(PreferenceRow {
                    better_id: r.get(0)?,
                    worse_id: r.get(1)?,
                    tie: r.get(2)?,
                    comment: r.get(3)?,
                    rated_by: r.get(4)?,
                    rated_at: r.get(5)?,
                })
            },
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
        convert: impl Fn(&Row<'_>) -> Result<T>,
        mut each: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let row = &row;
            each(convert(row)?)?;
        }
        Ok(())
    }
}

pub(super) const EXPERIMENT_COLUMNS: &str =
    "id, batch_id, option, provider, init_strength, guidance_scale,
    controlnet_weight, prompt_version, method, status, output_path, latency_ms, error,
    created_at, finished_at, arm_rule, arm_score, predicted_mean, predicted_sd,
    expected_improvement, fallback_from, cost_usd, fallback_latency_ms,
    shown, shortlist_reason, reward_mean, reward_sd, guard_structure, guard_threshold, guarded,
    applied_knobs";

/// How many columns [`EXPERIMENT_COLUMNS`] names; the render's features
/// follow them in a snapshot.
const EXPERIMENT_COLUMN_COUNT: usize = 31;

pub(super) const EVOLUTION_COLUMNS: &str =
    "trigger_sample, parent_version, new_version, evolver, outcome,
    issues, reasoning, changes, detail, created_at, finished_at";

pub(super) const DECISION_COLUMNS: &str =
    "champion, challenger, decision, champion_n, champion_mean,
    challenger_n, challenger_mean, difference, t, df, prob_better, created_at";

/// A stored JSON column that does not parse is reported, not guessed at.
fn json_column<T: serde::de::DeserializeOwned>(r: &Row<'_>, index: usize) -> Result<T> {
    let text: String = r.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| Error::StoredValue(format!("column {index} is not the JSON expected: {e}")))
}

pub(super) fn image_from_row(r: &Row<'_>) -> Result<ImageRow> {
    Ok(ImageRow {
        sha256: r.get(0)?,
        stored_path: r.get(1)?,
        source_path: r.get(2)?,
        format: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
        bytes: r.get(6)?,
        created_at: r.get(7)?,
        // The snapshot reads the six feature columns after these; the
        // importer's lookup of an existing photo does not.
        features: if r.column_count() > 8 {
            crate::store::context::features_at(r, 8)?
        } else {
            None
        },
    })
}

pub(super) fn prompt_version_from_row(r: &Row<'_>) -> Result<PromptVersionRow> {
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

pub(super) fn batch_from_row(r: &Row<'_>) -> Result<BatchRow> {
    Ok(BatchRow {
        id: r.get(0)?,
        image_sha256: r.get(1)?,
        project: r.get(2)?,
        kind: r.get(3)?,
        room: r.get(4)?,
        style: r.get(5)?,
        preview_path: r.get(6)?,
        created_at: r.get(7)?,
        made_for: r.get(8)?,
    })
}

pub(super) fn experiment_from_row(r: &Row<'_>) -> Result<ExperimentRow> {
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
        fallback_latency_ms: r.get(22)?,
        shortlist: ShortlistRow {
            shown: r.get(23)?,
            reason: r.get(24)?,
            reward_mean: r.get(25)?,
            reward_sd: r.get(26)?,
            guard_structure: r.get(27)?,
            guard_threshold: r.get(28)?,
            guarded: r.get(29)?,
        }
        .judged(),
        applied_knobs: crate::store::experiments::knobs_from_json(r.get(30)?),
        // The snapshot reads the render's features after these; the
        // importer's lookup of an existing experiment does not.
        render_features: if r.column_count() > EXPERIMENT_COLUMN_COUNT {
            crate::store::render_features::optional_features_at(r, EXPERIMENT_COLUMN_COUNT)?
        } else {
            None
        },
    })
}

pub(super) fn embedding_from_row(r: &Row<'_>) -> Result<EmbeddingRow> {
    let stored = crate::store::render_embeddings::read(r)?;
    Ok(EmbeddingRow {
        experiment_id: stored.experiment_id.as_str().to_string(),
        model_sha256: stored.model_sha256,
        values: stored.vector,
        measured_at: r.get(4)?,
    })
}

pub(super) fn rating_from_row(r: &Row<'_>) -> Result<RatingRow> {
    Ok(RatingRow {
        experiment_id: r.get(0)?,
        stars: r.get(1)?,
        comment: r.get(2)?,
        rated_by: r.get(3)?,
        rated_at: r.get(4)?,
    })
}

pub(super) fn evolution_from_row(r: &Row<'_>) -> Result<EvolutionRow> {
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

pub(super) fn decision_from_row(r: &Row<'_>) -> Result<PromptDecisionRow> {
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
