//! One SQLite database made by latina's own migrations and one PostgreSQL
//! database made by src/store/pg/0001_base.sql, side by side: the same SQL
//! text (with `?N` rewritten to `$N` for PostgreSQL) runs on both, and
//! every table and view can be read back from both for comparison.

use postgres::types::private::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Config, NoTls};
use std::error::Error;
use std::sync::atomic::{AtomicU32, Ordering};

/// The PostgreSQL schema under test.
pub const BASE_SQL: &str = include_str!("../../src/store/pg/0001_base.sql");

/// One cell or parameter, as both databases can hold it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Null => ValueRef::Null,
            Val::Int(v) => ValueRef::Integer(*v),
            Val::Real(v) => ValueRef::Real(*v),
            Val::Text(v) => ValueRef::Text(v.as_bytes()),
            Val::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

// PostgreSQL infers each `$N`'s type from the statement; a value is encoded
// as whatever type the server asked for, as SQLite would store it.
impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match (self, ty) {
            (Val::Null, _) => Ok(IsNull::Yes),
            (Val::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Val::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (Val::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (Val::Int(v), _) => v.to_string().to_sql(&Type::TEXT, out),
            (Val::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Val::Real(v), _) => Err(format!("real {v} for a {ty} parameter").into()),
            (Val::Text(v), _) => v.to_sql(&Type::TEXT, out),
            (Val::Blob(v), _) => v.to_sql(&Type::BYTEA, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// `?N` → `$N`, the rewrite the store's backend seam does.
pub fn pg_text(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// The server's address from `LATINA_TEST_POSTGRES_URL` and
/// `LATINA_TEST_PGPASSWORD` (.ci/start-postgres writes both), or `None`
/// with a note when they are not set; with `LATINA_REQUIRE_POSTGRES=1`
/// (CI) a missing server fails the test instead.
pub fn server() -> Option<Config> {
    let Ok(url) = std::env::var("LATINA_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("LATINA_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "LATINA_REQUIRE_POSTGRES=1 but LATINA_TEST_POSTGRES_URL is not set (source the file .ci/start-postgres writes)"
        );
        eprintln!("skipped: LATINA_TEST_POSTGRES_URL is not set (see README, PostgreSQL tests)");
        return None;
    };
    let mut config: Config = url
        .parse()
        .expect("LATINA_TEST_POSTGRES_URL is a postgres:// URL");
    if let Ok(password) = std::env::var("LATINA_TEST_PGPASSWORD") {
        config.password(password);
    }
    Some(config)
}

/// A database of its own on the test server, dropped when this is.
pub struct PgDb {
    admin: Client,
    name: String,
    config: Config,
}

impl PgDb {
    /// Creates an empty database with a name no other test uses and
    /// applies the schema under test to it (in one transaction, as the
    /// migration runner will).
    pub fn create(server: &Config) -> PgDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "latina_pg_schema_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = server.connect(NoTls).expect("connect to the test server");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
            ))
            .expect("create a database");
        let mut config = server.clone();
        config.dbname(&name);
        let db = PgDb {
            admin,
            name,
            config,
        };
        let mut client = db.connect();
        let mut tx = client.transaction().unwrap();
        tx.batch_execute(BASE_SQL).expect("0001_base.sql applies");
        tx.commit().unwrap();
        db
    }

    /// A new connection to this database.
    pub fn connect(&self) -> Client {
        self.config
            .connect(NoTls)
            .expect("connect to the test database")
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// A SQLite database at latina's schema and a PostgreSQL one at
/// 0001_base.sql, written to in lockstep.
pub struct Twin {
    pub lite: rusqlite::Connection,
    pub pg: Client,
    _db: PgDb,
    _dir: tempfile::TempDir,
}

impl Twin {
    pub fn new(server: &Config) -> Twin {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latina.db");
        drop(latina::store::Store::open(&path, latina::store::OpenMode::CreateIfMissing).unwrap());
        let lite = rusqlite::Connection::open(&path).unwrap();
        let db = PgDb::create(server);
        let pg = db.connect();
        Twin {
            lite,
            pg,
            _db: db,
            _dir: dir,
        }
    }

    /// Runs one statement on both; both must succeed (returning the rows
    /// changed, which must agree) or both fail.
    pub fn run(&mut self, sql: &str, params: &[Val]) -> Result<u64, String> {
        let p: Vec<&dyn rusqlite::ToSql> =
            params.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
        let lite = (|| -> rusqlite::Result<u64> {
            let mut stmt = self.lite.prepare(sql)?;
            if stmt.column_count() > 0 {
                // RETURNING makes a query of an UPDATE: step through it.
                let mut rows = stmt.query(p.as_slice())?;
                let mut n = 0;
                while rows.next()?.is_some() {
                    n += 1;
                }
                Ok(n)
            } else {
                Ok(stmt.execute(p.as_slice())? as u64)
            }
        })()
        .map_err(|e| e.to_string());
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let pg = self
            .pg
            .execute(&pg_text(sql), &p)
            .map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_owned(),
                None => e.to_string(),
            });
        match (&lite, &pg) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "rows changed by {sql}");
                Ok(*a)
            }
            (Err(a), Err(b)) => Err(format!("sqlite: {a}; postgres: {b}")),
            _ => panic!("{sql} {params:?}\n  sqlite: {lite:?}\n  postgres: {pg:?}"),
        }
    }

    /// Runs one statement that both must accept.
    pub fn ok(&mut self, sql: &str, params: &[Val]) -> u64 {
        self.run(sql, params)
            .unwrap_or_else(|e| panic!("{sql} {params:?}: {e}"))
    }

    /// Plain statements without parameters (BEGIN, COMMIT, ...) on both.
    pub fn batch(&mut self, sql: &str) {
        self.lite.execute_batch(sql).unwrap();
        self.pg.batch_execute(sql).unwrap();
    }

    /// A query's rows from SQLite.
    pub fn lite_rows(&self, sql: &str) -> Vec<Vec<Val>> {
        let mut stmt = self
            .lite
            .prepare(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = stmt.column_count();
        stmt.query_map([], |row| {
            (0..n)
                .map(|i| {
                    use rusqlite::types::ValueRef;
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => Val::Null,
                        ValueRef::Integer(v) => Val::Int(v),
                        ValueRef::Real(v) => Val::Real(v),
                        ValueRef::Text(v) => Val::Text(String::from_utf8(v.to_vec()).unwrap()),
                        ValueRef::Blob(v) => Val::Blob(v.to_vec()),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    /// A query's rows from PostgreSQL.
    pub fn pg_rows(&mut self, sql: &str) -> Vec<Vec<Val>> {
        pg_rows(&mut self.pg, sql)
    }
}

/// A query's rows from a PostgreSQL client, cells as `Val`s.
pub fn pg_rows(client: &mut Client, sql: &str) -> Vec<Vec<Val>> {
    let rows = client
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, col)| {
                    let ty = col.type_();
                    let v = if *ty == Type::INT8 {
                        row.get::<_, Option<i64>>(i).map(Val::Int)
                    } else if *ty == Type::INT4 {
                        row.get::<_, Option<i32>>(i).map(|v| Val::Int(v.into()))
                    } else if *ty == Type::BOOL {
                        row.get::<_, Option<bool>>(i).map(|v| Val::Int(v.into()))
                    } else if *ty == Type::FLOAT8 {
                        row.get::<_, Option<f64>>(i).map(Val::Real)
                    } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
                        row.get::<_, Option<String>>(i).map(Val::Text)
                    } else if *ty == Type::BYTEA {
                        row.get::<_, Option<Vec<u8>>>(i).map(Val::Blob)
                    } else {
                        panic!("{sql}: column {} has type {ty}", col.name())
                    };
                    v.unwrap_or(Val::Null)
                })
                .collect()
        })
        .collect()
}
