//! The library's error type: one enum, variants carrying typed context.
//!
//! Everything below `cli` returns [`Result`]; the binary adds context with
//! anyhow and prints the chain once, on one line. Messages never contain
//! secrets (the library never sees API key values in this code).

use std::path::PathBuf;

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way a latina operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file (or an environment override) is not valid TOML
    /// or does not match the schema.
    #[error("config {source_label}: {location}{message}")]
    Config {
        /// The file path, or the environment variable, the bad value came from.
        source_label: String,
        /// `key `a.b`: ` or `line 3, column 5: `; empty when unknown.
        location: String,
        /// What was expected.
        message: String,
    },

    /// A file or directory could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What latina was doing, e.g. "cannot write".
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// The database file does not exist (read commands never create it).
    #[error(
        "no database at {}: run `latina enhance` or `latina suggest` first, or pass --db",
        path.display()
    )]
    DatabaseMissing {
        /// Where the database was expected.
        path: PathBuf,
    },

    /// The file exists but is not a SQLite database (or is damaged).
    #[error("database {} is corrupt or not a latina database: {reason}", path.display())]
    DatabaseCorrupt {
        /// The database file.
        path: PathBuf,
        /// SQLite's description.
        reason: String,
    },

    /// The database was written by a newer latina.
    #[error(
        "database {} has schema version {found}, but this latina understands up to {supported}: upgrade latina",
        path.display()
    )]
    DatabaseTooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest schema this binary knows.
        supported: i64,
    },

    /// A query expected a row and found none (inside the store only;
    /// `.optional()` turns it into `None`).
    #[error("database error: the query returned no row")]
    NoRow,

    /// A column held something its reader cannot take (an unknown word, a
    /// malformed time, a number out of range).
    #[error("database holds an unreadable value: {0}")]
    StoredValue(String),

    /// The PostgreSQL server refused a statement (its message and SQLSTATE).
    #[error("database error: {0}")]
    Postgres(String),

    /// The PostgreSQL server cannot be reached, refused the login, or went
    /// away mid-command; nothing unacknowledged was kept.
    #[error("cannot reach the database at {server}: {reason}")]
    DatabaseUnavailable {
        /// `host:port/database` (never the password).
        server: String,
        /// What failed.
        reason: String,
    },

    /// `latina migrate --to` named a target it cannot move into.
    #[error("cannot migrate there: {reason}")]
    MigrationTarget {
        /// Why.
        reason: String,
    },

    /// After `latina migrate`, the target does not read back as the source.
    #[error("the migration to {to} did not verify: {detail}")]
    MigrationMismatch {
        /// The target, shown without a password.
        to: String,
        /// What differs.
        detail: String,
    },

    /// `database` is not a URL or path latina can use.
    #[error("bad database URL: {reason}")]
    DatabaseUrl {
        /// What is wrong with it.
        reason: String,
    },

    /// Any other SQLite failure (constraint violations become
    /// [`Error::Conflict`] instead: see the `From` impl).
    #[error("database error: {0}")]
    Sql(rusqlite::Error),

    /// A write lost a race with another latina process, or would break a
    /// rule the database keeps; nothing was written.
    #[error("{0}")]
    Conflict(Conflict),

    /// An input image was rejected before anything was recorded.
    #[error("{}: {problem}", path.display())]
    Image {
        /// The designer's file.
        path: PathBuf,
        /// Why it cannot be used.
        problem: ImageProblem,
    },

    /// A `--context key=value` (or `--room`/`--style`) that cannot be used;
    /// nothing was recorded.
    #[error("{0}")]
    Context(ContextProblem),

    /// Something named on the command line does not exist.
    #[error("{0}")]
    NotFound(String),

    /// No experiment has this id (or id prefix).
    #[error("no experiment matches id `{0}`")]
    UnknownExperiment(String),

    /// An id prefix matches more than one experiment.
    #[error(
        "id prefix `{prefix}` is ambiguous: it matches {matches} experiments; give more characters"
    )]
    AmbiguousExperiment {
        /// What the user typed.
        prefix: String,
        /// How many experiments it matched.
        matches: usize,
    },

    /// Stars must be a whole number from 1 to 5.
    #[error("rating must be a whole number from 1 to 5 stars, got {0}")]
    RatingOutOfRange(String),

    /// The experiment exists but has nothing that can be rated.
    #[error("experiment {id} cannot be rated: its render {state}")]
    NotRateable {
        /// The experiment.
        id: String,
        /// e.g. "failed: provider timed out".
        state: String,
    },

    /// A preference named the same experiment twice.
    #[error("cannot compare experiment {0} with itself: name two different variants")]
    SelfPreference(String),

    /// A preference between renders of two different photos: a choice
    /// between variants only says something when they show the same room.
    #[error(
        "experiments {better} and {worse} are not variants of the same photo: \
         a preference compares renders of one batch or one photo"
    )]
    DifferentPhotos {
        /// The first experiment named (the better one).
        better: String,
        /// The second experiment named.
        worse: String,
    },

    /// A provider failed to produce a render.
    #[error("provider {provider}: {message}")]
    Provider {
        /// The configured provider name.
        provider: String,
        /// What went wrong, never containing a key.
        message: String,
    },

    /// The search space or optimizer settings are inconsistent.
    #[error("optimizer: {0}")]
    Optimizer(String),

    /// The async runtime the network steps run on could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),

    /// `latina serve` could not listen on its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address and port asked for.
        addr: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },

    /// `serve.bind` or `--bind` is not an IP address.
    #[error("`{0}` is not an IP address to bind (e.g. 127.0.0.1, or 0.0.0.0 for the LAN)")]
    BadBindAddress(String),

    /// Prompt evolution produced nothing (recorded; nothing else saved).
    #[error("prompt evolution: {0}")]
    Evolution(String),

    /// The object store holding the image files failed or refused.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),

    /// The Gaussian-process model could not be fitted.
    #[error("optimizer model: {0}")]
    Gp(#[from] crate::optim::GpError),

    /// The reward model could not be fitted or asked.
    #[error("{0}")]
    Reward(#[from] crate::optim::reward::RewardError),
    /// The user's ONNX image model (`reward.embedding_model`) cannot be
    /// used; nothing about the render it was asked to embed was recorded.
    #[error("embedding model {}: {problem}", path.display())]
    EmbeddingModel {
        /// The ONNX file named in the config.
        path: PathBuf,
        /// What is wrong with it.
        problem: EmbeddingProblem,
    },

    /// `latina report` on a database where nothing is rated yet.
    #[error(
        "nothing to report yet: no rated experiments in {} (rate some renders first with `latina rate`)",
        database.display()
    )]
    NothingToReport {
        /// The database read.
        database: PathBuf,
    },
    /// An import file was refused; nothing from it was imported.
    #[error("{}: {}", path.display(), refusal_summary(problems, *more))]
    ImportRefused {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The first bad lines, in file order.
        problems: Vec<LineProblem>,
        /// Bad lines beyond those listed.
        more: u64,
    },

    /// A stored row cannot be written to an export without changing it.
    #[error("cannot export {what} {key}: {problem}")]
    Unexportable {
        /// e.g. `experiment`.
        what: &'static str,
        /// Its key.
        key: String,
        /// e.g. "init_strength is not a finite number".
        problem: String,
    },
}

/// What a refused write collided with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A prompt version with this number exists already.
    #[error("prompt version {version} exists already (another latina process may have written it)")]
    PromptVersionExists {
        /// The version.
        version: String,
    },
    /// A challenger is already on trial (at most one at a time).
    #[error("challenger {version} is already on trial: one challenger at a time")]
    ChallengerOnTrial {
        /// The challenger on trial.
        version: String,
    },
    /// Any other rule of the schema (a unique key, a check), by table.
    #[error(
        "the database refused a change to {table}: it breaks a rule of the schema ({rule}); \
         another latina process may have changed the same rows, try again"
    )]
    Schema {
        /// The table, as SQLite names it (`?` when it does not say).
        table: String,
        /// `unique`, `check`, `foreign key`, `not null` or `primary key`.
        rule: &'static str,
    },
}

impl From<rusqlite::Error> for Error {
    /// Constraint violations are told as a [`Conflict`], never as SQLite's
    /// own text; everything else stays [`Error::Sql`].
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, message)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let message = message.as_deref().unwrap_or_default();
                let rule = match f.extended_code {
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => "unique",
                    rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => "primary key",
                    rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "foreign key",
                    rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL => "not null",
                    rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => "check",
                    _ => "constraint",
                };
                // SQLite says e.g. "UNIQUE constraint failed: evolutions.trigger_sample".
                let table = message
                    .rsplit(": ")
                    .next()
                    .and_then(|cols| cols.split('.').next())
                    .filter(|t| t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|t| !t.is_empty())
                    .unwrap_or("?")
                    .to_string();
                Error::Conflict(Conflict::Schema { table, rule })
            }
            _ => Error::Sql(e),
        }
    }
}

/// One bad line of an import file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn refusal_summary(problems: &[LineProblem], more: u64) -> String {
    match (problems, more) {
        ([only], 0) => format!("{only}; nothing imported"),
        _ => format!(
            "{} bad lines; nothing imported",
            problems.len() as u64 + more
        ),
    }
}

/// Why a `--context` setting was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ContextProblem {
    /// Not of the form `key=value`.
    #[error("--context expects key=value, got `{0}`")]
    NotKeyValue(String),
    /// A key latina does not know.
    #[error("--context: unknown key `{key}`; known keys: room, style, {}", crate::domain::evidence::PhotoFeatures::NAMES.join(", "))]
    UnknownKey {
        /// The key as given.
        key: String,
    },
    /// A feature value that is not a number from 0 to 1.
    #[error("--context {key}={value}: a feature must be a number from 0 to 1")]
    NotInUnitRange {
        /// The feature.
        key: &'static str,
        /// The value as given.
        value: String,
    },
    /// `room=` or `style=` with nothing after it.
    #[error("--context {key}= needs a value")]
    EmptyTag {
        /// `room` or `style`.
        key: &'static str,
    },
    /// The same key given twice (or `--room` and `--context room=`) with different values.
    #[error("{key} is given twice with different values: `{first}` and `{second}`")]
    Conflicting {
        /// The key.
        key: &'static str,
        /// The first value.
        first: String,
        /// The other value.
        second: String,
    },
    /// Some features set without a photo to measure the others on.
    #[error(
        "--context sets {given} but there is no photo to measure the other features on: \
         add --image PHOTO, or give all six ({})", crate::domain::evidence::PhotoFeatures::NAMES.join(", ")
    )]
    PartialFeatures {
        /// The features given, comma-separated.
        given: String,
    },
}

/// Why an input image was rejected.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ImageProblem {
    /// The content is not a format latina decodes (JPEG, PNG, WebP).
    #[error("not an image latina can read (JPEG, PNG or WebP expected): {0}")]
    NotAnImage(String),
    /// The file ends before the image data does.
    #[error("truncated or corrupt JPEG: the image data ends before its end marker")]
    Truncated,
    /// The decoder found damaged data.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// Larger than the configured limits (checked before decoding).
    #[error("image too large: {0}")]
    TooLarge(String),
    /// Smaller than the configured minimum side.
    #[error("image too small: {width}x{height} pixels (minimum side {min_side})")]
    TooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The configured minimum.
        min_side: u32,
    },
}

/// Why an ONNX image model cannot embed a render.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbeddingProblem {
    /// No file at the configured path (latina never downloads one).
    #[error("no such file (latina never downloads a model: export one to ONNX and name it here)")]
    Missing,
    /// The file could not be read.
    #[error("cannot read it: {0}")]
    Unreadable(String),
    /// The bytes are not an ONNX protobuf, or the graph cannot be built.
    #[error("not a usable ONNX model: {0}")]
    NotOnnx(String),
    /// The model's input is not one float32 image batch `[1, 3, H, W]`.
    #[error("unsupported input {found}: expected one float32 input of shape [1, 3, H, W] (NCHW)")]
    UnsupportedInput {
        /// What the model declares, e.g. `1,224,224,3,F32` or `2 inputs`.
        found: String,
    },
    /// The model failed while running on a render.
    #[error("failed while running: {0}")]
    Runtime(String),
    /// The model's output holds NaN or infinite values.
    #[error("its output has {bad} non-finite values out of {total}")]
    NotFinite {
        /// How many values were NaN or infinite.
        bad: usize,
        /// The output's length.
        total: usize,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done and where.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
