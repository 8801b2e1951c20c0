//! All SQL lives here. [`Store`] owns the SQLite connection.
//!
//! Schema rules: migrations in `sql/NNNN_*.sql` are append-only and tracked
//! by `PRAGMA user_version`; a database newer than this binary is refused.
//! Ratings reference one experiment each and are never updated or deleted:
//! re-rating appends a row and the latest row counts (`experiments.rating_id`, kept by triggers; view `latest_ratings`).
//! For the learning model ([`Store::evidence`]) each designer's latest
//! rating counts, and each designer's latest preference per pair of renders
//! (`preferences`, append-only the same way).
//! Every multi-row write is one transaction, so a crash leaves either all of
//! it or none. Pragmas (WAL, foreign keys, busy timeout, synchronous=FULL)
//! are set on every open, outside migrations.

mod columns;
mod context;
pub mod db;
mod evidence;
mod evolutions;
mod experiments;
mod history;
mod images;
mod migrations;
mod model_cache;
mod owner;
mod pg;
mod preferences;
mod prompts;
mod ratings;
mod render_embeddings;
mod render_features;
mod report;
mod shortlist;
mod summary;
mod transfer;

pub use context::{BrightnessBuckets, ContextDetail, NewContext};
pub use db::PgTarget;

/// From now on a dropped store's server connection is kept for the next
/// store of the same server and mode (a long-running `latina serve`); a
/// one-shot command closes it.
pub fn keep_server_connections() {
    db::pool::enable();
}
pub use evolutions::DecisionRecord;
pub use evolutions::{Challenger, Claim, ClaimId, EvolutionOutcome, EvolutionRecord};
pub use experiments::{ExperimentRecord, ExperimentUpdate, Fallback, NewBatch, NewExperiment};
pub use history::{
    BatchInfo, ExperimentDetail, HistoryOrder, HistoryQuery, HistoryRow, ImageInfo, ImageRef,
    PreferenceEntry, PromptUsed, RatedFilter, RatingEntry,
};
pub use images::{ImageRecord, NewImage};
pub use migrations::SCHEMA_VERSION;
pub use pg::{PG_SCHEMA_VERSION, ServerHealth};
pub use preferences::{NewPreference, PreferenceRecord};
pub use prompts::{PromptVersion, PromptVersionSummary};
pub use ratings::RatingRecord;
pub use render_embeddings::RenderEmbedding;
pub use render_features::{RatedRenderFeatures, RenderToMeasure};
pub use report::{DecisionRow, Extreme, ProviderStars, RatedRow, RenderRow, VersionRow};
pub use shortlist::{ShortlistRecord, ShortlistVerdict};
pub use summary::{ProviderSummary, Summary};
pub use transfer::{
    Applied, BatchRow, EmbeddingRow, EvolutionRow, ExperimentRow, ImageRow, Importer,
    PreferenceRow, PromptDecisionRow, PromptVersionRow, RatingRow, RatingWithTrial, Refusal,
    ShortlistRow, Snapshot,
};

use db::Sql;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// Whether opening may create a new database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and migrate it) if it does not exist.
    CreateIfMissing,
    /// Fail with [`Error::DatabaseMissing`] if it does not exist.
    MustExist,
    /// Read only (status, history, show, report, export, prompts list,
    /// doctor): works on a database the user may not write, and never
    /// changes the file. A database whose schema is older than this binary
    /// is opened for writing once, to migrate it.
    ReadOnly,
}

/// The database's state, for `latina doctor`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// `PRAGMA user_version`.
    pub schema_version: i64,
    /// `ok`, or SQLite's first complaint.
    pub quick_check: String,
    /// Experiment rows.
    pub experiments: u64,
    /// Rating rows (history included).
    pub ratings: u64,
    /// The server's version and the login's rights (PostgreSQL only).
    pub server: Option<ServerHealth>,
}

/// Where the database is: the embedded SQLite file, or a studio's server.
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database (boxed: its connection settings are large).
    Server(Box<PgTarget>),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL names a server (its password
    /// from the URL, the variable `password_env` names, `PGPASSWORD` or
    /// `~/.pgpass`); anything else is a SQLite file.
    ///
    /// # Errors
    /// [`Error::DatabaseUrl`] for a server URL that cannot be read.
    pub fn parse(text: &Path, password_env: Option<&str>) -> Result<Self> {
        match text.to_str() {
            Some(url) if is_server_url(url) => Ok(Location::Server(Box::new(PgTarget::parse(
                url,
                password_env,
            )?))),
            _ => Ok(Location::File(text.to_path_buf())),
        }
    }

    /// The file, or `postgres://host:port/db` (never a password).
    pub fn shown(&self) -> String {
        match self {
            Location::File(path) => path.display().to_string(),
            Location::Server(target) => format!("postgres://{}", target.shown()),
        }
    }

    /// The SQLite file, if this is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::Server(_) => None,
        }
    }
}

/// Two servers are the same when they name the same host, port and database.
impl PartialEq for Location {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Location::File(a), Location::File(b)) => a == b,
            (Location::Server(a), Location::Server(b)) => a.shown() == b.shown(),
            _ => false,
        }
    }
}

impl Eq for Location {}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::File(path)
    }
}

/// Whether `text` is a PostgreSQL URL rather than a file name.
pub fn is_server_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The latina database.
pub struct Store {
    conn: db::Conn,
    path: PathBuf,
    read_only: bool,
}

/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens (and migrates) the database wherever it is.
    ///
    /// # Errors
    /// As [`Store::open`] and [`Store::connect`].
    pub fn open_at(location: &Location, mode: OpenMode) -> Result<Self> {
        match location {
            Location::File(path) => Self::open(path, mode),
            Location::Server(target) => Self::connect(target, mode),
        }
    }

    /// Opens (and migrates) the database at `path`.
    ///
    /// # Errors
    /// [`Error::DatabaseMissing`], [`Error::DatabaseCorrupt`],
    /// [`Error::DatabaseTooNew`], or [`Error::Io`] when the directory cannot be created.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self> {
        if mode == OpenMode::ReadOnly {
            return Self::open_read_only(path);
        }
        let exists = path.exists();
        if !exists && mode == OpenMode::MustExist {
            return Err(Error::DatabaseMissing {
                path: path.to_path_buf(),
            });
        }
        if path.is_dir() {
            return Err(Error::DatabaseCorrupt {
                path: path.to_path_buf(),
                reason: "it is a directory".into(),
            });
        }
        if !exists && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("cannot create directory", parent, e))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
        configure_waiting(&conn).map_err(|e| classify(path, e))?;
        migrations::migrate(&mut conn, path)?;
        let mut store = Store {
            conn: db::Conn::Sqlite(conn),
            path: path.to_path_buf(),
            read_only: false,
        };
        // Every writer cleans up after processes that were killed mid-render.
        store.recover_interrupted()?;
        Ok(store)
    }

    /// Opens without write access, so a database on a read-only file or
    /// directory can be read. A WAL database normally needs its `-shm`
    /// file, which cannot be created in a read-only directory; then the
    /// file is opened as immutable (SQLite reads it without any locking or
    /// shared memory; see <https://sqlite.org/wal.html#readonly>), which is
    /// safe because nobody with our permissions can change it either.
    fn open_read_only(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::DatabaseMissing {
                path: path.to_path_buf(),
            });
        }
        if path.is_dir() {
            return Err(Error::DatabaseCorrupt {
                path: path.to_path_buf(),
                reason: "it is a directory".into(),
            });
        }
        let open = |uri: Option<String>| -> rusqlite::Result<Store> {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = match uri {
                Some(uri) => Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?,
                None => Connection::open_with_flags(path, flags)?,
            };
            configure_read_only(&conn)?;
            Ok(Store {
                conn: db::Conn::Sqlite(conn),
                path: path.to_path_buf(),
                read_only: true,
            })
        };
        let store = match open(None) {
            Ok(store) => store,
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ffi::ErrorCode::CannotOpen | rusqlite::ffi::ErrorCode::ReadOnly)
                ) =>
            {
                tracing::debug!(error = %e, "opening the database as immutable");
                open(Some(immutable_uri(path))).map_err(|e| classify(path, e))?
            }
            Err(e) => return Err(classify(path, e)),
        };
        let version: i64 = store
            .conn
            .sqlite()
            .expect("opened on SQLite")
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(path, e))?;
        if version > migrations::SCHEMA_VERSION {
            return Err(Error::DatabaseTooNew {
                path: path.to_path_buf(),
                found: version,
                supported: migrations::SCHEMA_VERSION,
            });
        }
        if version < migrations::SCHEMA_VERSION {
            // Reading needs the current schema: migrate once, writing.
            drop(store);
            return Self::open(path, OpenMode::MustExist).map_err(|e| match e {
                Error::Io { .. } => Error::io(
                    "cannot upgrade database",
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!(
                            "its schema version {version} must be upgraded to {} once, \
                             by any latina command run with write access to it",
                            migrations::SCHEMA_VERSION
                        ),
                    ),
                ),
                other => other,
            });
        }
        Ok(store)
    }

    /// Whether this connection cannot write (opened with [`OpenMode::ReadOnly`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// What `latina doctor` reports: schema version, SQLite's quick check
    /// and how much is stored.
    pub fn health(&self) -> Result<Health> {
        let server = self.server_health()?;
        let (schema_version, quick_check) = match &server {
            Some(s) => (
                s.schema_version,
                if s.can_write || self.read_only {
                    "ok".to_string()
                } else {
                    "the login may not write every latina table".to_string()
                },
            ),
            None => (
                self.conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))?,
                self.conn
                    .query_row("PRAGMA quick_check", [], |r| r.get(0))?,
            ),
        };
        let count = |table: &str| -> Result<u64> {
            Ok(self
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<i64>(0)
                })? as u64)
        };
        Ok(Health {
            schema_version,
            quick_check,
            experiments: count("experiments")?,
            ratings: count("ratings")?,
            server,
        })
    }

    /// A fresh in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrations::migrate(&mut conn, Path::new(":memory:"))?;
        Ok(Store {
            conn: db::Conn::Sqlite(conn),
            path: PathBuf::from(":memory:"),
            read_only: false,
        })
    }

    /// A fresh store for a unit test: in memory, or with
    /// `LATINA_TEST_STORE=studio` a fresh database on the test server
    /// (`LATINA_TEST_POSTGRES_URL`, `.ci/start-postgres`), so the store's
    /// own tests run on both backends.
    #[cfg(test)]
    pub fn open_for_test() -> Result<Self> {
        match std::env::var("LATINA_TEST_STORE").as_deref() {
            Ok("studio") => pg::fresh_test_database(),
            _ => Self::open_in_memory(),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pragmas of [`configure`] that do not write: the journal mode is
/// whatever the writer set (WAL).
fn configure_read_only(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    Ok(())
}

/// [`configure`], waiting out other processes that open the same new file
/// at the same moment: switching it to WAL takes a lock SQLite reports as
/// busy at once instead of waiting the busy timeout (seen as "database is
/// locked" when six `enhance` runs created one database together).
fn configure_waiting(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match configure(conn) {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Reading the schema first turns "not a database" into an error here.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: a rating that `rate` acknowledged survives power loss, not only kill -9.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Dashboard reads scan every experiment; mapping the file saves a
    // copy of each page per read (about a fifth of `status` at 100,000
    // ratings). Writes still go through the WAL as before.
    conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    Ok(())
}

/// A `file:` URI for `path` with `mode=ro&immutable=1`; characters that
/// mean something in a URI are percent-encoded.
fn immutable_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for byte in absolute.to_string_lossy().bytes() {
        match byte {
            b'?' | b'#' | b'%' => uri.push_str(&format!("%{byte:02X}")),
            _ => uri.push(char::from(byte)),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

/// Maps SQLite's open-time errors to what a user can act on.
fn classify(path: &Path, err: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode;
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            Error::DatabaseCorrupt {
                path: path.to_path_buf(),
                reason: err.to_string(),
            }
        }
        Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::PermissionDenied) => Error::io(
            "cannot open database",
            path,
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, err.to_string()),
        ),
        _ => Error::Sql(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_garbage_reports_corrupt_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latina.db");
        std::fs::write(
            &path,
            b"this is not sqlite, just some text that is long enough to look like a header........",
        )
        .unwrap();
        let err = Store::open(&path, OpenMode::MustExist).err().unwrap();
        assert!(matches!(err, Error::DatabaseCorrupt { .. }), "{err}");
    }

    #[test]
    fn must_exist_does_not_create() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latina.db");
        let err = Store::open(&path, OpenMode::MustExist).err().unwrap();
        assert!(matches!(err, Error::DatabaseMissing { .. }));
        assert!(!path.exists());
    }

    #[test]
    fn reopening_keeps_data_and_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/latina.db");
        Store::open(&path, OpenMode::CreateIfMissing).unwrap();
        let store = Store::open(&path, OpenMode::MustExist).unwrap();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }
}
