//! The studio store on PostgreSQL: opening a [`Store`] on a server, its
//! own migrations, and what `doctor` checks there.
//!
//! The schema (`NNNN_*.sql` here) is the SQLite schema's translation, with
//! the same tables, triggers and tallies, so the store's queries run
//! unchanged (see [`super::db`]). Versions live in `latina_schema`; each
//! migration is applied in one transaction under the writer lock, so two
//! machines starting at once cannot both migrate, and a server whose schema
//! is newer than this binary is refused.

use std::path::PathBuf;

use super::db::pool::{self, PoolKey};
use super::db::{Conn, PgClient, PgTarget, Sql, Value, WRITER_LOCK};
use super::{OpenMode, Store};
use crate::error::{Error, Result};

/// Every PostgreSQL migration ever shipped, in order; index + 1 is the version.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_base.sql"),
    include_str!("0002_deferred_tallies.sql"),
];

/// The PostgreSQL schema version this binary writes.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What `latina doctor` reports about a server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerHealth {
    /// `server_version`, e.g. `15.18`.
    pub server_version: String,
    /// The schema version found.
    pub schema_version: i64,
    /// Whether the login may read and write every table latina uses.
    pub can_write: bool,
    /// The TLS version this connection is encrypted with (`None`: plain).
    pub tls: Option<String>,
}

impl Store {
    /// Connects to a studio's PostgreSQL database, migrating it when this
    /// binary's schema is newer (the first connection creates it).
    ///
    /// # Errors
    /// [`Error::DatabaseUnavailable`], [`Error::DatabaseTooNew`], or the
    /// server's refusal of a migration.
    pub fn connect(target: &PgTarget, mode: OpenMode) -> Result<Self> {
        let shown = PathBuf::from(format!("postgres://{}", target.shown()));
        let key = PoolKey::new(target, mode == OpenMode::ReadOnly);
        let mut client = match pool::take(&key) {
            // Migrated and set up when it was opened.
            Some(client) => client,
            None => {
                let client = PgClient::connect(target)?;
                migrate(&client, &shown)?;
                if mode == OpenMode::ReadOnly {
                    // The session cannot write, whatever a read command does.
                    client.raw_batch("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")?;
                }
                client
            }
        };
        client.return_to_pool(key);
        let mut store = Store {
            conn: Conn::Postgres(client),
            path: shown,
            read_only: mode == OpenMode::ReadOnly,
        };
        if mode != OpenMode::ReadOnly {
            store.recover_interrupted()?;
        }
        Ok(store)
    }

    /// The server's version, the schema version and whether this login may write.
    ///
    /// # Errors
    /// Database errors.
    pub fn server_health(&self) -> Result<Option<ServerHealth>> {
        if self.conn.backend() != super::db::Backend::Postgres {
            return Ok(None);
        }
        let server_version: String = self
            .conn
            .query_row("SHOW server_version", (), |r| r.get(0))?;
        let schema_version = schema_version(&self.conn)?;
        let can_write: bool = self.conn.query_row(
            "SELECT bool_and(has_table_privilege(c.oid, 'INSERT,UPDATE,SELECT'))
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            (),
            |r| Ok(r.get::<Option<bool>>(0)?.unwrap_or(false)),
        )?;
        let tls: Option<String> = self.conn.query_row(
            "SELECT CASE WHEN ssl THEN version END FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            (),
            |r| r.get(0),
        )?;
        Ok(Some(ServerHealth {
            server_version,
            schema_version,
            can_write,
            tls,
        }))
    }
}

fn schema_version(conn: &impl Sql) -> Result<i64> {
    Ok(conn
        .query_row("SELECT max(version) FROM latina_schema", (), |r| {
            r.get::<Option<i64>>(0)
        })?
        .unwrap_or(0))
}

/// Brings the server's schema up to [`PG_SCHEMA_VERSION`], one transaction
/// per migration, under the writer lock.
fn migrate(client: &PgClient, shown: &std::path::Path) -> Result<()> {
    let too_new = |found| Error::DatabaseTooNew {
        path: shown.to_path_buf(),
        found,
        supported: PG_SCHEMA_VERSION,
    };
    let has_table: bool =
        Handle(client).query_row("SELECT to_regclass('latina_schema') IS NOT NULL", (), |r| {
            r.get(0)
        })?;
    if has_table {
        let found = schema_version(&Handle(client))?;
        if found > PG_SCHEMA_VERSION {
            return Err(too_new(found));
        }
        if found == PG_SCHEMA_VERSION {
            return Ok(());
        }
    }
    client.raw_batch("BEGIN")?;
    let applied = (|| {
        client.execute(
            "SELECT pg_advisory_xact_lock($1)",
            vec![Value::Int(WRITER_LOCK)],
        )?;
        // Re-read under the lock: another machine may have migrated meanwhile.
        let exists: bool = Handle(client).query_row(
            "SELECT to_regclass('latina_schema') IS NOT NULL",
            (),
            |r| r.get(0),
        )?;
        let found = if exists {
            schema_version(&Handle(client))?
        } else {
            0
        };
        if found > PG_SCHEMA_VERSION {
            return Err(too_new(found));
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            client.raw_batch(sql)?;
            client.execute("DELETE FROM latina_schema", Vec::new())?;
            client.execute(
                "INSERT INTO latina_schema (version) VALUES ($1)",
                vec![Value::Int(index as i64 + 1)],
            )?;
        }
        Ok(())
    })();
    match applied {
        Ok(()) => client.raw_batch("COMMIT"),
        Err(e) => {
            let _ = client.raw_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// A bare client as a [`Sql`] handle.
struct Handle<'a>(&'a PgClient);

impl Sql for Handle<'_> {
    fn handle(&self) -> super::db::Handle<'_> {
        super::db::Handle::Postgres(self.0)
    }
}

/// A store on a fresh, empty database of the test server (for
/// [`Store::open_for_test`]); the cluster is thrown away after the run.
#[cfg(test)]
pub(super) fn fresh_test_database() -> Result<Store> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let admin = std::env::var("LATINA_TEST_POSTGRES_URL")
        .expect("LATINA_TEST_STORE=studio needs LATINA_TEST_POSTGRES_URL (.ci/start-postgres)");
    let password = std::env::var("LATINA_TEST_PGPASSWORD").unwrap_or_default();
    let name = format!(
        "latina_unit_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (base, _) = admin.rsplit_once('/').expect("a URL with a database");
    let with_password =
        |db: &str| base.replacen("latina@", &format!("latina:{password}@"), 1) + "/" + db;
    // A bare client on the admin database: it only creates the test's own.
    let admin = PgClient::connect(&PgTarget::parse(&with_password("postgres"), None)?)?;
    admin.raw_batch(&format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
    ))?;
    drop(admin);
    Store::connect(
        &PgTarget::parse(&with_password(&name), None)?,
        OpenMode::CreateIfMissing,
    )
}
