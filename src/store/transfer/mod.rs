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
//! evolutions by `trigger_sample`. Ratings, preferences and prompt decisions have no key
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
//!
//! Files: this one holds the row shapes both directions share;
//! [`snapshot`] reads them, [`importer`] writes them.

mod importer;
mod judgements;
mod snapshot;

pub use importer::{Applied, Importer, Refusal};
pub use snapshot::Snapshot;

use serde::{Deserialize, Serialize};

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
    /// Its measured room-context features, each 0–1 (absent when not
    /// measured yet, or in a file written before they existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<crate::domain::evidence::PhotoFeatures>,
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
    /// The designer it was made for (`--by`; schema 14). Left out when
    /// none, so a file written before it matches the same batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_for: Option<String>,
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
    /// Milliseconds lost on the provider that failed before the fallback
    /// (schema 10). Left out when unknown, so that a file written before
    /// it (which lacks the field) still matches the same experiment in a
    /// database that has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_latency_ms: Option<i64>,
    /// What the render looks like, measured (schema 13). Left out when not
    /// measured; a render measured on one side only is the same experiment
    /// (the features are added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_features: Option<crate::domain::RenderFeatures>,
    /// The best-k-of-N verdict (schema 14). Left out for a render that no
    /// shortlist judged (shown, no reason, not guarded), which is every
    /// render written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortlist: Option<ShortlistRow>,
    /// The knobs the render applied, with the values sent, and those its
    /// provider ignored (schema 0017). Left out when unknown, so that a
    /// file written before it still imports and still matches the same
    /// experiment; recorded on one side only, it is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_knobs: Option<crate::domain::AppliedKnobs>,
}

/// What the shortlist decided about one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShortlistRow {
    /// Whether the designer was shown it.
    pub shown: bool,
    /// Why, in words.
    #[serde(default)]
    pub reason: Option<String>,
    /// The reward model's predicted stars.
    #[serde(default)]
    pub reward_mean: Option<f64>,
    /// Its sd.
    #[serde(default)]
    pub reward_sd: Option<f64>,
    /// The measured structure agreement.
    #[serde(default)]
    pub guard_structure: Option<f64>,
    /// The threshold it was held to.
    #[serde(default)]
    pub guard_threshold: Option<f64>,
    /// Whether the structure guard held it back.
    pub guarded: bool,
}

impl ShortlistRow {
    /// The verdict a render has when no shortlist judged it: `None`.
    fn judged(self) -> Option<ShortlistRow> {
        let unjudged = self.shown
            && !self.guarded
            && self.reason.is_none()
            && self.reward_mean.is_none()
            && self.reward_sd.is_none()
            && self.guard_structure.is_none()
            && self.guard_threshold.is_none();
        (!unjudged).then_some(self)
    }
}

/// One render's embedding by one image model (schema 15), keyed by
/// (experiment, model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingRow {
    /// The render's experiment.
    pub experiment_id: String,
    /// SHA-256 of the ONNX model file (64 lowercase hex digits).
    pub model_sha256: String,
    /// The embedding, as stored (float32 values).
    pub values: Vec<f32>,
    /// When it was computed.
    pub measured_at: String,
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

/// One preference between two renders; identified by all of its columns,
/// like a rating.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferenceRow {
    /// The render preferred (either one for a tie).
    pub better_id: String,
    /// The other render.
    pub worse_id: String,
    /// "Same": neither was better.
    pub tie: bool,
    /// The designer's comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Who chose.
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
