//! The export file's vocabulary: its header, the record types and their
//! counts, the ratings CSV's columns, and the parameter limits records are
//! checked against.

use serde::{Deserialize, Serialize};

use crate::store::{
    BatchRow, EmbeddingRow, EvolutionRow, ExperimentRow, ImageRow, PreferenceRow,
    PromptDecisionRow, PromptVersionRow, RatingRow,
};

/// The `format` of the header line.
pub const FORMAT: &str = "latina-export";
/// The version of the record shapes this latina writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The ratings CSV's columns.
pub const CSV_COLUMNS: [&str; 11] = [
    "experiment_id",
    "provider",
    "init_strength",
    "guidance_scale",
    "controlnet_weight",
    "prompt_version",
    "stars",
    "comment",
    "rated_by",
    "rated_at",
    "latest",
];

/// The parameters' hard limits, as `latina.toml` allows them for the search
/// space (`[optimizer]` in config validation): a value outside cannot be
/// a latina experiment.
pub(super) const PARAM_LIMITS: [(&str, f64, f64); 3] = [
    ("init_strength", 0.0, 1.0),
    ("guidance_scale", 1.0, 30.0),
    ("controlnet_weight", 0.0, 2.0),
];

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version, [`FORMAT_VERSION`] when written by this latina.
    pub version: u32,
    /// The schema version of the database it was written from.
    pub schema_version: i64,
}

/// Records per type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// `image` records.
    pub images: u64,
    /// `prompt_version` records.
    pub prompt_versions: u64,
    /// `batch` records.
    pub batches: u64,
    /// `experiment` records.
    pub experiments: u64,
    /// `embedding` records (0 when absent: files written before render
    /// embeddings existed have no such count).
    #[serde(default)]
    pub embeddings: u64,
    /// `rating` records.
    pub ratings: u64,
    /// `preference` records (0 when absent: files written before
    /// preferences existed have no such count).
    #[serde(default)]
    pub preferences: u64,
    /// `evolution` records.
    pub evolutions: u64,
    /// `prompt_decision` records.
    pub prompt_decisions: u64,
}

impl Counts {
    pub(super) fn slot(&mut self, kind: Kind) -> &mut u64 {
        match kind {
            Kind::Image => &mut self.images,
            Kind::PromptVersion => &mut self.prompt_versions,
            Kind::Batch => &mut self.batches,
            Kind::Experiment => &mut self.experiments,
            Kind::Embedding => &mut self.embeddings,
            Kind::Rating => &mut self.ratings,
            Kind::Preference => &mut self.preferences,
            Kind::Evolution => &mut self.evolutions,
            Kind::PromptDecision => &mut self.prompt_decisions,
        }
    }

    /// All records.
    pub fn total(&self) -> u64 {
        self.images
            + self.prompt_versions
            + self.batches
            + self.experiments
            + self.embeddings
            + self.ratings
            + self.preferences
            + self.evolutions
            + self.prompt_decisions
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Image,
    PromptVersion,
    Batch,
    Experiment,
    Embedding,
    Rating,
    Preference,
    Evolution,
    PromptDecision,
}

impl Kind {
    pub(super) fn parse(word: &str) -> Option<Kind> {
        Some(match word {
            "image" => Kind::Image,
            "prompt_version" => Kind::PromptVersion,
            "batch" => Kind::Batch,
            "experiment" => Kind::Experiment,
            "embedding" => Kind::Embedding,
            "rating" => Kind::Rating,
            "preference" => Kind::Preference,
            "evolution" => Kind::Evolution,
            "prompt_decision" => Kind::PromptDecision,
            _ => return None,
        })
    }

    pub(super) fn word(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::PromptVersion => "prompt_version",
            Kind::Batch => "batch",
            Kind::Experiment => "experiment",
            Kind::Embedding => "embedding",
            Kind::Rating => "rating",
            Kind::Preference => "preference",
            Kind::Evolution => "evolution",
            Kind::PromptDecision => "prompt_decision",
        }
    }
}

/// One line of an export, as written.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Record<'a> {
    Header(&'a Header),
    Image(&'a ImageRow),
    PromptVersion(&'a PromptVersionRow),
    Batch(&'a BatchRow),
    Experiment(&'a ExperimentRow),
    Embedding(&'a EmbeddingRow),
    Rating(&'a RatingRow),
    Preference(&'a PreferenceRow),
    Evolution(&'a EvolutionRow),
    PromptDecision(&'a PromptDecisionRow),
    End { counts: &'a Counts },
}
