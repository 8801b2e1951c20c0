//! `[evolution]`, `[evolution.llm]` and `[evolution.embeddings]`: when the
//! prompt evolves, who writes the next version, and how a challenger is judged.

use serde::{Deserialize, Serialize};

/// `[evolution]`: when the prompt evolves and how a challenger is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionConfig {
    /// Evolve every this many rated samples.
    pub every: u64,
    /// No evolution before this many rated samples.
    pub min_samples: u64,
    /// Skip when the mean of the last `every` ratings is at least this.
    pub skip_above: f64,
    /// Whether `latina rate` evolves inline when due (else only `latina evolve`).
    pub on_rate: bool,
    /// Share of new variants that use the challenger while one is on trial.
    pub challenger_share: f64,
    /// Challenger ratings before a decision.
    pub min_ratings: usize,
    /// Champion ratings in the same period before a decision.
    pub min_champion_ratings: usize,
    /// Promote when the challenger's mean is at least this much higher.
    pub promote_margin: f64,
    /// Reject (roll back) when it is at least this much lower (negative).
    pub reject_margin: f64,
    /// One-sided probability required for either decision.
    pub confidence: f64,
    /// Retire an undecided challenger after this many ratings.
    pub max_ratings: usize,
    /// `rules` (offline) or `llm` (`[evolution.llm]`).
    pub evolver: EvolverKind,
    /// The OpenAI-compatible LLM, when `evolver = "llm"`.
    pub llm: LlmConfig,
    /// An OpenAI-compatible `/embeddings` endpoint for grouping comments;
    /// absent: the offline character n-gram TF-IDF.
    pub embeddings: Option<EmbeddingsConfig>,
}

/// `[evolution.embeddings]`: an OpenAI-compatible embeddings endpoint that
/// groups the recent comments (the offline TF-IDF is used when it fails).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingsConfig {
    /// API root with the version, as `[evolution.llm] base_url`.
    pub base_url: String,
    /// Model name, e.g. `text-embedding-3-small` or `nomic-embed-text`.
    pub model: String,
    /// Variable holding the key; empty sends none (local servers).
    pub api_key_env: String,
    /// Vector length to ask for (`text-embedding-3*` only); 0 takes the model's.
    pub dimensions: u32,
    /// Least mean cosine similarity (-1 to 1) at which two groups of
    /// comments merge: model vectors of unrelated texts are more alike than
    /// TF-IDF ones, so this is higher than the offline 0.3.
    pub threshold: f64,
    /// Seconds one embeddings request may take, retries and waits included.
    pub timeout_secs: u64,
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        EmbeddingsConfig {
            base_url: "https://api.openai.com/v1".into(),
            model: "text-embedding-3-small".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            dimensions: 0,
            threshold: 0.5,
            timeout_secs: 30,
        }
    }
}

/// Which evolver writes new prompt versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvolverKind {
    /// The rule-based evolver with its phrase bank (offline).
    #[default]
    Rules,
    /// An OpenAI-compatible chat model.
    Llm,
}

/// `[evolution.llm]`: an OpenAI-compatible chat completions endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// API root with the version: OpenAI `https://api.openai.com/v1`,
    /// Ollama `http://localhost:11434/v1`, llama.cpp `http://localhost:8080/v1`.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Variable holding the key; empty sends none (local servers).
    pub api_key_env: String,
    /// Sampling temperature, 0–2.
    pub temperature: f64,
    /// Answer length limit, tokens.
    pub max_tokens: u32,
    /// Requests per evolution when answers are invalid (1–10).
    pub max_attempts: u32,
    /// `json-object` or `json-schema` (strict Structured Outputs).
    pub response_format: LlmResponseFormat,
    /// Seconds one evolution may take in all: every request, retry,
    /// backoff wait and re-ask ends by this deadline.
    pub timeout_secs: u64,
}

/// How the LLM is asked for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LlmResponseFormat {
    /// JSON mode.
    #[default]
    JsonObject,
    /// A strict JSON schema.
    JsonSchema,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: "https://api.openai.com/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            temperature: 0.4,
            max_tokens: 2000,
            max_attempts: 3,
            response_format: LlmResponseFormat::JsonObject,
            timeout_secs: 120,
        }
    }
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        let rules = crate::domain::ChallengeRules::default();
        EvolutionConfig {
            every: 10,
            min_samples: 5,
            skip_above: 4.5,
            on_rate: true,
            challenger_share: 0.5,
            min_ratings: rules.min_ratings,
            min_champion_ratings: rules.min_champion_ratings,
            promote_margin: rules.promote_margin,
            reject_margin: rules.reject_margin,
            confidence: rules.confidence,
            max_ratings: rules.max_ratings,
            evolver: EvolverKind::Rules,
            llm: LlmConfig::default(),
            embeddings: None,
        }
    }
}

impl EvolutionConfig {
    /// The challenge rules these settings define.
    pub fn rules(&self) -> crate::domain::ChallengeRules {
        crate::domain::ChallengeRules {
            min_ratings: self.min_ratings,
            min_champion_ratings: self.min_champion_ratings,
            promote_margin: self.promote_margin,
            reject_margin: self.reject_margin,
            confidence: self.confidence,
            max_ratings: self.max_ratings,
        }
    }
}
