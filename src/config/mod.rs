//! `latina.toml`: the schema, its defaults, and layering with the environment.
//!
//! Priority, lowest first: built-in defaults, the config file, `LATINA_*`
//! environment overrides, command-line flags. Loading is a pure function of
//! (file text, environment pairs) so tests pass maps and never touch the real
//! environment. Flags (and their `LATINA_DB`-style env twins) are applied by
//! the CLI; this module handles the file keys and their
//! `LATINA_<SECTION>__<KEY>` overrides, e.g. `LATINA_ENHANCE__VARIANTS=3`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::optim::bandit::{BanditRule, Reward};
use crate::optim::bayes::{BatchPolicy, Strategy};

mod providers;
pub use providers::{
    BuiltinConfig, LeonardoConfig, LeonardoStructure, ProviderConfig, REPLICATE_DEFAULT_VERSION,
    REPLICATE_RESERVED_INPUTS, ReplicateConfig, ReplicateSchema, SdWebuiConfig,
};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where renders, copies of originals and the database live; unset means
    /// the user's data directory (XDG), e.g. `~/.local/share/latina`.
    pub data_dir: Option<PathBuf>,
    /// The SQLite file; unset means `<data_dir>/latina.db`.
    pub database: Option<PathBuf>,
    /// Seed for the optimizer's random choices; unset means fresh randomness.
    pub seed: Option<u64>,
    /// Who ratings are recorded as when `--by` is not given; unset means `$USER`.
    pub rater: Option<String>,
    /// `latina enhance` settings.
    pub enhance: EnhanceConfig,
    /// Search space and optimizer settings.
    pub optimizer: OptimizerConfig,
    /// Prompt evolution and the champion/challenger test.
    pub evolution: EvolutionConfig,
    /// The provider arms the optimizer chooses between, in order.
    pub providers: Vec<ProviderConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: None,
            database: None,
            seed: None,
            rater: None,
            enhance: EnhanceConfig::default(),
            optimizer: OptimizerConfig::default(),
            evolution: EvolutionConfig::default(),
            providers: vec![
                ProviderConfig::BuiltinTone(BuiltinConfig {
                    name: "tone".into(),
                }),
                ProviderConfig::BuiltinDetail(BuiltinConfig {
                    name: "detail".into(),
                }),
            ],
        }
    }
}

/// `[enhance]`: how variants are produced and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnhanceConfig {
    /// Variants generated per photo (A, B, …), 1–8.
    pub variants: u32,
    /// JPEG quality of the renders, 50–100.
    pub jpeg_quality: u8,
    /// Height in pixels of each panel in the side-by-side preview.
    pub preview_height: u32,
    /// Largest input accepted, in megapixels (checked before decoding).
    pub max_megapixels: f64,
    /// Smallest accepted width or height, in pixels.
    pub min_side: u32,
    /// Largest input file accepted, in megabytes.
    pub max_file_mb: u64,
    /// Variants rendered at the same time, 1–16.
    pub concurrency: u32,
    /// A built-in arm that renders a variant whose provider failed; unset: no fallback.
    pub fallback: Option<String>,
}

impl Default for EnhanceConfig {
    fn default() -> Self {
        EnhanceConfig {
            variants: 2,
            jpeg_quality: 90,
            preview_height: 480,
            max_megapixels: 64.0,
            min_side: 32,
            max_file_mb: 100,
            concurrency: 4,
            fallback: None,
        }
    }
}

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
        let rules = crate::evolve::compare::ChallengeRules::default();
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
    pub fn rules(&self) -> crate::evolve::compare::ChallengeRules {
        crate::evolve::compare::ChallengeRules {
            min_ratings: self.min_ratings,
            min_champion_ratings: self.min_champion_ratings,
            promote_margin: self.promote_margin,
            reject_margin: self.reject_margin,
            confidence: self.confidence,
            max_ratings: self.max_ratings,
        }
    }
}

/// `[optimizer]`: the search space bounds and the initial design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Suggestions drawn space-filling at random before the model takes over.
    pub n_initial_points: u32,
    /// `[low, high]` for init_strength (how far from the photo).
    pub init_strength: [f64; 2],
    /// `[low, high]` for guidance_scale (how strongly the prompt is followed).
    pub guidance_scale: [f64; 2],
    /// `[low, high]` for controlnet_weight (how much structure is kept).
    pub controlnet_weight: [f64; 2],
    /// `gp-bandit` (bandit picks the arm, GP the parameters), `gp`, or `random`.
    pub strategy: Strategy,
    /// `exploit-explore` (variant A exploits, the rest explore) or `ei`.
    pub batch: BatchPolicy,
    /// `thompson` or `ucb1`.
    pub bandit: BanditRule,
    /// Bandit reward: `binary` (4+ stars is a success) or `graded`.
    pub reward: Reward,
    /// Expected Improvement margin, in stars.
    pub xi: f64,
    /// Random candidates per arm when maximising the acquisition.
    pub candidates: u32,
    /// Share of exploring variants placed space-filling instead of by EI (0–1),
    /// until the model knows good settings.
    pub space_filling: f64,
    /// The GP is fitted on at most this many most recent ratings (50–5000).
    pub max_model_points: u32,
}

impl Default for OptimizerConfig {
    /// The optimizer's own defaults, so the two cannot drift apart.
    fn default() -> Self {
        let o = crate::optim::OptimizerSettings::default();
        OptimizerConfig {
            n_initial_points: o.n_initial_points as u32,
            init_strength: [0.1, 0.5],
            guidance_scale: [5.0, 12.0],
            controlnet_weight: [0.7, 0.99],
            strategy: o.strategy,
            batch: o.batch,
            bandit: o.bandit,
            reward: o.reward,
            xi: o.xi,
            candidates: o.candidates as u32,
            space_filling: o.space_filling,
            max_model_points: o.max_model_points as u32,
        }
    }
}

/// Where the configuration was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// No file was found; defaults (plus environment) apply.
    Defaults,
    /// This file.
    File(PathBuf),
}

/// Finds the config file: the explicit path (which must exist), else
/// `./latina.toml`, else `<config dir>/latina.toml`, else none.
///
/// # Errors
/// [`Error::Io`] when an explicit path cannot be read.
pub fn locate(
    explicit: Option<&Path>,
    cwd: &Path,
    user_config_dir: Option<&Path>,
) -> Result<ConfigSource> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(Error::io(
                "cannot read config",
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        return Ok(ConfigSource::File(path.to_path_buf()));
    }
    let local = cwd.join("latina.toml");
    if local.is_file() {
        return Ok(ConfigSource::File(local));
    }
    if let Some(dir) = user_config_dir {
        let user = dir.join("latina.toml");
        if user.is_file() {
            return Ok(ConfigSource::File(user));
        }
    }
    Ok(ConfigSource::Defaults)
}

/// Reads and parses the located config, then applies environment overrides.
///
/// Relative paths in the file are resolved against the file's directory.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Config`] if it is invalid.
pub fn load<I, K, V>(source: &ConfigSource, env: I) -> Result<Config>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let (label, text) = match source {
        ConfigSource::Defaults => ("defaults".to_string(), String::new()),
        ConfigSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("cannot read config", path, e))?;
            (path.display().to_string(), text)
        }
    };
    let mut config = parse(&label, &text, env)?;
    if let ConfigSource::File(path) = source {
        let base = path.parent().unwrap_or(Path::new("."));
        for slot in [&mut config.data_dir, &mut config.database] {
            if let Some(p) = slot.as_mut().filter(|p| p.is_relative()) {
                *p = base.join(&*p);
            }
        }
    }
    Ok(config)
}

/// Parses config text (labelled for messages) and applies `LATINA_<SECTION>__<KEY>`
/// overrides from `env`. Pure: no file or process environment access.
///
/// # Errors
/// [`Error::Config`] naming the file or variable, the key, and what was expected.
pub fn parse<I, K, V>(label: &str, text: &str, env: I) -> Result<Config>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let from_file: Config = deserialize_text(label, text)?;
    validate(&from_file, label)?;

    let overrides = env_overrides(env)?;
    if overrides.is_empty() {
        return Ok(from_file);
    }
    // The file already parsed, so it is a valid table.
    let mut table: toml::Table = toml::from_str(text).map_err(|e| Error::Config {
        source_label: label.to_string(),
        location: String::new(),
        message: e.message().to_string(),
    })?;
    for (var, path, value) in &overrides {
        insert_path(&mut table, path, value.clone()).map_err(|message| Error::Config {
            source_label: format!("environment {var}"),
            location: format!("key `{}`: ", path.join(".")),
            message,
        })?;
    }
    let merged: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let var = overrides
                .iter()
                .find(|(_, path, _)| key.starts_with(&path.join(".")))
                .map(|(var, _, _)| var.clone())
                .unwrap_or_else(|| "LATINA_*".into());
            Error::Config {
                source_label: format!("environment {var}"),
                location: format!("key `{key}`: "),
                message: e.inner().to_string(),
            }
        })?;
    validate(&merged, "environment LATINA_*")?;
    Ok(merged)
}

fn deserialize_text<T: serde::de::DeserializeOwned>(label: &str, text: &str) -> Result<T> {
    let line_col = |span: Option<std::ops::Range<usize>>| -> String {
        span.map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {col}, ")
        })
        .unwrap_or_default()
    };
    let deserializer = toml::de::Deserializer::parse(text).map_err(|e| Error::Config {
        source_label: label.to_string(),
        location: line_col(e.span()),
        message: e.message().trim().to_string(),
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." {
            String::new()
        } else {
            format!("key `{key}`: ")
        };
        Error::Config {
            source_label: label.to_string(),
            location: format!("{}{key}", line_col(e.inner().span())),
            message: e.inner().message().trim().to_string(),
        }
    })
}

type Override = (String, Vec<String>, toml::Value);

/// Collects `LATINA_<A>__<B>=value` variables as (variable, key path, value).
/// Values are read as TOML when they parse as such (numbers, booleans,
/// arrays), else as plain strings.
fn env_overrides<I, K, V>(env: I) -> Result<Vec<Override>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = Vec::new();
    for (key, value) in env {
        let key = key.as_ref();
        let Some(rest) = key.strip_prefix("LATINA_") else {
            continue;
        };
        if !rest.contains("__") {
            continue; // flag twins such as LATINA_DB are handled by the CLI
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(Error::Config {
                source_label: format!("environment {key}"),
                location: String::new(),
                message: "expected LATINA_<SECTION>__<KEY>".into(),
            });
        }
        let raw = value.as_ref();
        let parsed = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        out.push((key.to_string(), path, parsed));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("paths are non-empty");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a table"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// Checks what types cannot: ranges, uniqueness, at least one provider.
fn validate(config: &Config, label: &str) -> Result<()> {
    let fail = |key: &str, message: String| Error::Config {
        source_label: label.to_string(),
        location: format!("key `{key}`: "),
        message,
    };
    let e = &config.enhance;
    if !(1..=8).contains(&e.variants) {
        return Err(fail(
            "enhance.variants",
            format!("expected 1 to 8, got {}", e.variants),
        ));
    }
    if !(50..=100).contains(&e.jpeg_quality) {
        return Err(fail(
            "enhance.jpeg_quality",
            format!("expected 50 to 100, got {}", e.jpeg_quality),
        ));
    }
    if !(64..=4096).contains(&e.preview_height) {
        return Err(fail(
            "enhance.preview_height",
            format!("expected 64 to 4096, got {}", e.preview_height),
        ));
    }
    if !(e.max_megapixels.is_finite() && e.max_megapixels > 0.0 && e.max_megapixels <= 400.0) {
        return Err(fail(
            "enhance.max_megapixels",
            format!(
                "expected a number above 0 and at most 400, got {}",
                e.max_megapixels
            ),
        ));
    }
    if e.min_side == 0 {
        return Err(fail("enhance.min_side", "expected at least 1".into()));
    }
    if e.max_file_mb == 0 {
        return Err(fail("enhance.max_file_mb", "expected at least 1".into()));
    }
    if !(1..=16).contains(&e.concurrency) {
        return Err(fail(
            "enhance.concurrency",
            format!("expected 1 to 16, got {}", e.concurrency),
        ));
    }
    if let Some(fallback) = &e.fallback {
        let builtin = config
            .providers
            .iter()
            .any(|p| p.name() == fallback && p.is_builtin());
        if !builtin {
            return Err(fail(
                "enhance.fallback",
                format!("expected the name of a built-in provider arm, got {fallback:?}"),
            ));
        }
    }
    let o = &config.optimizer;
    for (key, [low, high], (floor, ceiling)) in [
        ("optimizer.init_strength", o.init_strength, (0.0, 1.0)),
        ("optimizer.guidance_scale", o.guidance_scale, (1.0, 30.0)),
        (
            "optimizer.controlnet_weight",
            o.controlnet_weight,
            (0.0, 2.0),
        ),
    ] {
        if !(low.is_finite() && high.is_finite() && low < high && low >= floor && high <= ceiling) {
            return Err(fail(
                key,
                format!(
                    "expected [low, high] with {floor} <= low < high <= {ceiling}, got [{low}, {high}]"
                ),
            ));
        }
    }
    if !(o.xi.is_finite() && (0.0..=2.0).contains(&o.xi)) {
        return Err(fail(
            "optimizer.xi",
            format!("expected 0 to 2 stars, got {}", o.xi),
        ));
    }
    if !(o.space_filling.is_finite() && (0.0..=1.0).contains(&o.space_filling)) {
        return Err(fail(
            "optimizer.space_filling",
            format!("expected 0 to 1, got {}", o.space_filling),
        ));
    }
    if !(50..=5000).contains(&o.max_model_points) {
        return Err(fail(
            "optimizer.max_model_points",
            format!("expected 50 to 5000, got {}", o.max_model_points),
        ));
    }
    if !(16..=4096).contains(&o.candidates) {
        return Err(fail(
            "optimizer.candidates",
            format!("expected 16 to 4096, got {}", o.candidates),
        ));
    }
    let v = &config.evolution;
    let checks: [(&str, bool, &str); 7] = [
        ("evolution.every", v.every >= 1, "expected at least 1"),
        (
            "evolution.skip_above",
            v.skip_above.is_finite() && (1.0..=5.0).contains(&v.skip_above),
            "expected 1 to 5 stars",
        ),
        (
            "evolution.challenger_share",
            v.challenger_share.is_finite() && v.challenger_share > 0.0 && v.challenger_share < 1.0,
            "expected a share above 0 and below 1",
        ),
        (
            "evolution.min_ratings",
            v.min_ratings >= 2 && v.min_ratings <= v.max_ratings,
            "expected at least 2 and at most max_ratings",
        ),
        (
            "evolution.promote_margin",
            v.promote_margin.is_finite() && (0.0..=4.0).contains(&v.promote_margin),
            "expected 0 to 4 stars",
        ),
        (
            "evolution.reject_margin",
            v.reject_margin.is_finite() && (-4.0..=0.0).contains(&v.reject_margin),
            "expected -4 to 0 stars",
        ),
        (
            "evolution.confidence",
            v.confidence.is_finite() && (0.5..1.0).contains(&v.confidence),
            "expected at least 0.5 and below 1",
        ),
    ];
    for (key, ok, expected) in checks {
        if !ok {
            return Err(fail(key, expected.to_string()));
        }
    }
    let llm = &v.llm;
    let llm_checks: [(&str, bool, &str); 5] = [
        (
            "evolution.llm.base_url",
            llm.base_url.starts_with("http://") || llm.base_url.starts_with("https://"),
            "expected an http:// or https:// URL",
        ),
        (
            "evolution.llm.model",
            !llm.model.trim().is_empty(),
            "expected a model name",
        ),
        (
            "evolution.llm.temperature",
            llm.temperature.is_finite() && (0.0..=2.0).contains(&llm.temperature),
            "expected 0 to 2",
        ),
        (
            "evolution.llm.max_attempts",
            (1..=10).contains(&llm.max_attempts) && llm.max_tokens >= 1,
            "expected max_attempts 1 to 10 and max_tokens at least 1",
        ),
        (
            "evolution.llm.timeout_secs",
            llm.timeout_secs > 0,
            "expected at least 1",
        ),
    ];
    for (key, ok, expected) in llm_checks {
        if !ok {
            return Err(fail(key, expected.to_string()));
        }
    }
    if let Some(e) = &v.embeddings {
        let embeddings_checks: [(&str, bool, &str); 4] = [
            (
                "evolution.embeddings.base_url",
                e.base_url.starts_with("http://") || e.base_url.starts_with("https://"),
                "expected an http:// or https:// URL",
            ),
            (
                "evolution.embeddings.model",
                !e.model.trim().is_empty(),
                "expected a model name",
            ),
            (
                "evolution.embeddings.threshold",
                e.threshold.is_finite() && (-1.0..=1.0).contains(&e.threshold),
                "expected a cosine similarity from -1 to 1",
            ),
            (
                "evolution.embeddings.timeout_secs",
                e.timeout_secs > 0,
                "expected at least 1",
            ),
        ];
        for (key, ok, expected) in embeddings_checks {
            if !ok {
                return Err(fail(key, expected.to_string()));
            }
        }
    }
    if config.providers.is_empty() {
        return Err(fail(
            "providers",
            "expected at least one [[providers]] entry".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for provider in &config.providers {
        let name = provider.name();
        let valid = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(fail(
                "providers.name",
                format!("expected 1-40 letters, digits, '-' or '_', got {name:?}"),
            ));
        }
        validate_provider(provider).map_err(|message| {
            fail(
                "providers",
                format!("provider {name:?} ({}): {message}", provider.kind()),
            )
        })?;
        if !seen.insert(name) {
            return Err(fail(
                "providers.name",
                format!("provider name {name:?} is used twice"),
            ));
        }
    }
    Ok(())
}

/// Checks one provider's settings; the message says what was expected.
fn validate_provider(provider: &ProviderConfig) -> std::result::Result<(), String> {
    if let Some(url) = provider.base_url()
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!(
            "base_url: expected an http:// or https:// URL, got {url:?}"
        ));
    }
    let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
    let price = |p: Option<f64>| p.is_none_or(|v| v.is_finite() && v >= 0.0);
    match provider {
        ProviderConfig::BuiltinTone(_) | ProviderConfig::BuiltinDetail(_) => Ok(()),
        ProviderConfig::SdWebui(c) => {
            check(
                (1..=150).contains(&c.steps)
                    && (64..=4096).contains(&c.max_side)
                    && c.timeout_secs > 0,
                "expected steps 1-150, max_side 64-4096, timeout_secs > 0",
            )?;
            check(
                price(c.price_per_image),
                "price_per_image: expected a number >= 0",
            )
        }
        ProviderConfig::Leonardo(c) => {
            check(
                (10..=60).contains(&c.steps),
                "steps: expected 10-60 (num_inference_steps)",
            )?;
            check(
                (64..=1536).contains(&c.max_side),
                "max_side: expected 64-1536",
            )?;
            check(
                c.poll_interval_secs.is_finite()
                    && (0.01..=60.0).contains(&c.poll_interval_secs)
                    && c.timeout_secs > 0,
                "expected poll_interval_secs 0.01-60 and timeout_secs > 0",
            )?;
            check(
                !c.model_id.trim().is_empty(),
                "model_id: expected a model id",
            )?;
            check(
                !c.api_key_env.is_empty(),
                "api_key_env: expected a variable name",
            )?;
            check(
                price(c.price_per_image),
                "price_per_image: expected a number >= 0",
            )
        }
        ProviderConfig::Replicate(c) => {
            check(
                !(c.version.is_some() && c.model.is_some()),
                "set either version or model, not both",
            )?;
            if let Some(model) = &c.model {
                check(
                    model.split('/').count() == 2 && !model.contains(':'),
                    "model: expected owner/name (an official model)",
                )?;
            }
            if let Some(version) = &c.version {
                let hex = version.rsplit(':').next().unwrap_or_default();
                check(
                    hex.len() == 64 && hex.chars().all(|ch| ch.is_ascii_hexdigit()),
                    "version: expected owner/name:<64 hex digits> or the 64 hex digits",
                )?;
            }
            check(
                (1..=500).contains(&c.steps) && (64..=2048).contains(&c.max_side),
                "expected steps 1-500 and max_side 64-2048",
            )?;
            check((1..=60).contains(&c.wait_secs), "wait_secs: expected 1-60")?;
            check(
                c.poll_interval_secs.is_finite()
                    && (0.01..=60.0).contains(&c.poll_interval_secs)
                    && c.timeout_secs > 0,
                "expected poll_interval_secs 0.01-60 and timeout_secs > 0",
            )?;
            check(
                !c.token_env.is_empty(),
                "token_env: expected a variable name",
            )?;
            if let Some(key) = c
                .extra_input
                .keys()
                .find(|k| providers::REPLICATE_RESERVED_INPUTS.contains(&k.as_str()))
            {
                return Err(format!(
                    "extra_input.{key}: latina sets this input (from the photo, the prompts, \
                     the optimizer or `steps`); remove it"
                ));
            }
            check(
                price(c.price_per_image) && price(c.price_per_second),
                "price_per_image / price_per_second: expected numbers >= 0",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ENV: [(&str, &str); 0] = [];

    fn message(result: Result<Config>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn shipped_example_parses_and_equals_the_defaults() {
        let text = include_str!("../../latina.toml.example");
        let parsed = parse("latina.toml.example", text, NO_ENV).unwrap();
        assert_eq!(parsed, Config::default());
    }

    /// Every commented-out provider block of the example, uncommented, is a
    /// valid config: the documentation cannot drift from the schema.
    #[test]
    fn the_examples_commented_provider_blocks_parse_when_uncommented() {
        let text = include_str!("../../latina.toml.example");
        let mut blocks = Vec::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let uncommented = line.strip_prefix("# ").unwrap_or("");
            if uncommented == "[[providers]]" {
                current = Some(String::from("[[providers]]\n"));
                continue;
            }
            if let Some(block) = current.as_mut() {
                if line.trim().is_empty() {
                    blocks.push(current.take().unwrap_or_default());
                } else if uncommented.split_once(" = ").is_some_and(|(key, _)| {
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                }) {
                    block.push_str(uncommented);
                    block.push('\n');
                }
            }
        }
        blocks.extend(current);
        let kinds: Vec<&str> = blocks
            .iter()
            .map(|b| {
                let config =
                    parse("example block", b, NO_ENV).unwrap_or_else(|e| panic!("{e}\n{b}"));
                config.providers[0].kind()
            })
            .collect();
        assert_eq!(kinds, ["sd-webui", "leonardo", "replicate"]);
    }

    /// The example's commented `[evolution.embeddings]` block, uncommented,
    /// is valid; bad values are refused with the key named.
    #[test]
    fn the_examples_embeddings_block_parses_when_uncommented_and_is_checked() {
        let text = include_str!("../../latina.toml.example");
        let start = text
            .find("# [evolution.embeddings]")
            .expect("the example documents [evolution.embeddings]");
        let block: String = text[start..]
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with('[')
                    || l.split_once(" = ")
                        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let config =
            parse("example block", &block, NO_ENV).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let embeddings = config.evolution.embeddings.expect("configured");
        assert_eq!(embeddings, EmbeddingsConfig::default());
        for (bad, key) in [
            ("threshold = 1.5", "evolution.embeddings.threshold"),
            ("model = \" \"", "evolution.embeddings.model"),
            ("base_url = \"ftp://x\"", "evolution.embeddings.base_url"),
            ("timeout_secs = 0", "evolution.embeddings.timeout_secs"),
        ] {
            let text = format!("[evolution.embeddings]\n{bad}\n");
            let msg = message(parse("f.toml", &text, NO_ENV));
            assert!(msg.contains(key), "{msg}");
        }
        let msg = message(parse(
            "f.toml",
            "[evolution.embeddings]\nmodel = \"m\"\nkey = \"sk-x\"\n",
            NO_ENV,
        ));
        assert!(msg.contains("line 3") && msg.contains("key"), "{msg}");
        let msg = message(parse(
            "f.toml",
            "[evolution.embeddings]\ndimensions = \"many\"\n",
            NO_ENV,
        ));
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(parse("x", "", NO_ENV).unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_names_file_line_and_section() {
        let msg = message(parse(
            "/etc/latina.toml",
            "[enhance]\nvarients = 3\n",
            NO_ENV,
        ));
        assert!(msg.starts_with("config /etc/latina.toml: line 2"), "{msg}");
        assert!(msg.contains("varients"), "{msg}");
        assert!(msg.contains("variants"), "suggests the valid keys: {msg}");
    }

    #[test]
    fn wrong_type_names_the_key_and_what_was_expected() {
        let msg = message(parse("f.toml", "[enhance]\nvariants = \"two\"\n", NO_ENV));
        assert!(msg.contains("key `enhance.variants`"), "{msg}");
        assert!(msg.contains("expected u32"), "{msg}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let msg = message(parse("f.toml", "[enhance\n", NO_ENV));
        assert!(msg.starts_with("config f.toml: line 1"), "{msg}");
    }

    #[test]
    fn out_of_range_values_are_rejected_with_the_key() {
        let msg = message(parse("f.toml", "[enhance]\nvariants = 0\n", NO_ENV));
        assert!(
            msg.contains("key `enhance.variants`: expected 1 to 8"),
            "{msg}"
        );
        let msg = message(parse(
            "f.toml",
            "[optimizer]\ninit_strength = [0.5, 0.1]\n",
            NO_ENV,
        ));
        assert!(msg.contains("optimizer.init_strength"), "{msg}");
    }

    #[test]
    fn providers_are_a_tagged_list_with_unique_names() {
        let text = "[[providers]]\nname = \"a\"\ntype = \"builtin-tone\"\n";
        let config = parse("f", text, NO_ENV).unwrap();
        assert_eq!(
            config.providers,
            vec![ProviderConfig::BuiltinTone(BuiltinConfig {
                name: "a".into()
            })]
        );
        let twice = format!("{text}{text}");
        assert!(message(parse("f", &twice, NO_ENV)).contains("used twice"));
        let unknown = "[[providers]]\nname = \"a\"\ntype = \"dalle\"\n";
        let msg = message(parse("f", unknown, NO_ENV));
        assert!(msg.contains("dalle"), "{msg}");
    }

    #[test]
    fn a_webui_provider_needs_a_url_and_gets_defaults() {
        let text = "[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"http://10.0.0.5:7860\"\ncontrolnet_model = \"control_v11p_sd15_mlsd\"\n";
        let config = parse("f", text, NO_ENV).unwrap();
        match &config.providers[0] {
            ProviderConfig::SdWebui(c) => {
                assert_eq!(
                    (c.steps, c.sampler.as_str(), c.timeout_secs),
                    (25, "Euler a", 300)
                );
            }
            other => panic!("{other:?}"),
        }
        let bad = text.replace("http://10.0.0.5:7860", "10.0.0.5:7860");
        let msg = message(parse("f", &bad, NO_ENV));
        assert!(msg.contains("base_url: expected an http"), "{msg}");
        let typo = format!("{text}stepz = 3\n");
        assert!(message(parse("f", &typo, NO_ENV)).contains("stepz"));
    }

    #[test]
    fn hosted_providers_get_vendor_defaults_and_key_variable_names() {
        let text = "[[providers]]\nname = \"leo\"\ntype = \"leonardo\"\n\n[[providers]]\nname = \"rep\"\ntype = \"replicate\"\nextra_input = { scheduler = \"K_EULER\" }\n";
        let config = parse("f", text, NO_ENV).unwrap();
        let ProviderConfig::Leonardo(leo) = &config.providers[0] else {
            panic!("{:?}", config.providers[0]);
        };
        assert_eq!(leo.base_url, "https://cloud.leonardo.ai/api/rest/v1");
        assert_eq!(leo.api_key_env, "LEONARDO_API_KEY");
        assert_eq!(leo.preprocessor_id, 19);
        assert!(!leo.alchemy);
        let ProviderConfig::Replicate(rep) = &config.providers[1] else {
            panic!("{:?}", config.providers[1]);
        };
        assert_eq!(rep.token_env, "REPLICATE_API_TOKEN");
        assert_eq!(
            rep.create_target(),
            (
                "/predictions".to_string(),
                Some(providers::REPLICATE_DEFAULT_VERSION.to_string())
            )
        );
        assert_eq!(rep.extra_input["scheduler"], "K_EULER");
        let official = text.replace("extra_input", "model = \"acme/sdxl\"\nextra_input");
        let config = parse("f", &official, NO_ENV).unwrap();
        let ProviderConfig::Replicate(rep) = &config.providers[1] else {
            panic!();
        };
        assert_eq!(
            rep.create_target(),
            ("/models/acme/sdxl/predictions".to_string(), None)
        );
        let both = official.replace("model =", "version = \"abc\"\nmodel =");
        assert!(message(parse("f", &both, NO_ENV)).contains("either version or model"));
        let short = text.replace("extra_input", "version = \"acme/x:abc\"\nextra_input");
        assert!(message(parse("f", &short, NO_ENV)).contains("64 hex digits"));
        let reserved = text.replace("scheduler", "prompt_strength");
        assert!(
            message(parse("f", &reserved, NO_ENV)).contains("extra_input.prompt_strength"),
            "the optimizer's knob cannot be pinned"
        );
        let steps = text.replace("type = \"leonardo\"", "type = \"leonardo\"\nsteps = 5");
        assert!(message(parse("f", &steps, NO_ENV)).contains("steps: expected 10-60"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = [
            ("LATINA_ENHANCE__VARIANTS", "3"),
            ("LATINA_OPTIMIZER__INIT_STRENGTH", "[0.2, 0.4]"),
            ("LATINA_RATER", "ignored: a flag twin, not a key"),
            ("HOME", "/root"),
        ];
        let config = parse("f", "[enhance]\nvariants = 4\n", env).unwrap();
        assert_eq!(config.enhance.variants, 3);
        assert_eq!(config.optimizer.init_strength, [0.2, 0.4]);
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let msg = message(parse("f", "", [("LATINA_ENHANCE__VARIANTS", "lots")]));
        assert!(
            msg.starts_with("config environment LATINA_ENHANCE__VARIANTS: key `enhance.variants`"),
            "{msg}"
        );
        let msg = message(parse("f", "", [("LATINA_ENHANCE__VARIANTS", "99")]));
        assert!(msg.contains("expected 1 to 8"), "{msg}");
    }

    #[test]
    fn locate_prefers_explicit_then_cwd_then_user_dir() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("cwd");
        let user = dir.path().join("user");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&user).unwrap();
        assert_eq!(
            locate(None, &cwd, Some(&user)).unwrap(),
            ConfigSource::Defaults
        );
        std::fs::write(user.join("latina.toml"), "").unwrap();
        assert_eq!(
            locate(None, &cwd, Some(&user)).unwrap(),
            ConfigSource::File(user.join("latina.toml"))
        );
        std::fs::write(cwd.join("latina.toml"), "").unwrap();
        assert_eq!(
            locate(None, &cwd, Some(&user)).unwrap(),
            ConfigSource::File(cwd.join("latina.toml"))
        );
        let missing = dir.path().join("nope.toml");
        assert!(locate(Some(&missing), &cwd, Some(&user)).is_err());
    }
}
