//! The backend seam: one query API over SQLite (rusqlite) and PostgreSQL.
//!
//! The store's modules write their SQL once, in SQLite's dialect, and run
//! it through [`Sql`] on a [`Conn`] or a [`Tx`]; for PostgreSQL the text is
//! rewritten by [`translate::to_postgres`] and the schema supplies the few
//! functions SQLite has and PostgreSQL lacks. The API mirrors rusqlite's
//! (`query_row`, `prepare`, `query_map`, `optional`) so a query reads the
//! same as before the seam existed; rows are read through [`Row::get`] into
//! any [`FromColumn`] type on either backend.
//!
//! Transactions keep SQLite's meaning on both: an immediate transaction is
//! the only writer while it runs (on PostgreSQL, a transaction-scoped
//! advisory lock that every latina writer takes), and a deferred one reads
//! one snapshot (`REPEATABLE READ`).

mod pg;
mod pg_tls;
pub mod pool;
pub mod translate;
mod value;

use pg::PgCursor;
pub use pg::{PgClient, PgTarget};
pub use value::{ColumnRef, FromColumn, Params, ToValue, Value, params_from_iter};

use crate::error::{Error, Result};

/// Binds parameters of different types, like rusqlite's `params!`.
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::db::ToValue] };
    ($($param:expr),+ $(,)?) => {
        &[$(&$param as &dyn $crate::store::db::ToValue),+] as &[&dyn $crate::store::db::ToValue]
    };
}
pub(crate) use params;

/// An open database connection.
pub enum Conn {
    /// The embedded default.
    Sqlite(rusqlite::Connection),
    /// A studio's server.
    Postgres(PgClient),
}

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// How a transaction begins (SQLite's terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Reads one snapshot; takes the write lock only if it writes.
    Deferred,
    /// The only writer from the start.
    Immediate,
}

/// A borrowed connection, as [`Sql`]'s methods see it.
#[derive(Clone, Copy)]
pub enum Handle<'a> {
    /// SQLite (a connection or a transaction on it).
    Sqlite(&'a rusqlite::Connection),
    /// PostgreSQL (inside a transaction or not).
    Postgres(&'a PgClient),
}

/// The key of the advisory lock every latina writer takes on PostgreSQL.
pub const WRITER_LOCK: i64 = 0x6c61_7469_6e61; // "latina"

/// Queries, on a connection or in a transaction.
pub trait Sql {
    /// The connection to run on.
    fn handle(&self) -> Handle<'_>;

    /// Which database this is.
    fn backend(&self) -> Backend {
        match self.handle() {
            Handle::Sqlite(_) => Backend::Sqlite,
            Handle::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs one statement; returns the rows it changed.
    fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        match self.handle() {
            Handle::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(params.into_values()))?)
            }
            Handle::Postgres(c) => c.execute(sql, params.into_values()).map(|n| n as usize),
        }
    }

    /// The first row of a query, mapped; [`Error::NoRow`] when there is none.
    fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_row(params, f)
    }

    /// A statement to run (cached on SQLite).
    fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            inner: match self.handle() {
                Handle::Sqlite(c) => StatementInner::Sqlite(c.prepare_cached(sql)?),
                Handle::Postgres(c) => StatementInner::Postgres {
                    client: c,
                    sql: sql.to_string(),
                },
            },
        })
    }

    /// Same as [`Sql::prepare`] (every statement is cached).
    fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare(sql)
    }

    /// Runs several statements separated by `;`, without parameters.
    fn execute_batch(&self, sql: &str) -> Result<()> {
        match self.handle() {
            Handle::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Handle::Postgres(c) => c.batch(sql),
        }
    }
}

impl Sql for Conn {
    fn handle(&self) -> Handle<'_> {
        match self {
            Conn::Sqlite(c) => Handle::Sqlite(c),
            Conn::Postgres(c) => Handle::Postgres(c),
        }
    }
}

impl Sql for Handle<'_> {
    fn handle(&self) -> Handle<'_> {
        *self
    }
}

impl Conn {
    /// The SQLite connection, for what only SQLite has (pragmas, its migrations).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    /// The same, mutable.
    pub fn sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    /// A deferred transaction (a consistent read, or writes that may wait).
    pub fn transaction(&mut self) -> Result<Tx<'_>> {
        self.transaction_with_behavior(Behavior::Deferred)
    }

    /// A transaction that begins as [`Behavior`] says.
    pub fn transaction_with_behavior(&mut self, behavior: Behavior) -> Result<Tx<'_>> {
        Ok(Tx {
            inner: match self {
                Conn::Sqlite(c) => {
                    TxInner::Sqlite(c.transaction_with_behavior(match behavior {
                        Behavior::Deferred => rusqlite::TransactionBehavior::Deferred,
                        Behavior::Immediate => rusqlite::TransactionBehavior::Immediate,
                    })?)
                }
                Conn::Postgres(c) => TxInner::Postgres(PgTx::begin(c, behavior)?),
            },
        })
    }
}

/// An open transaction: rolled back when dropped without [`Tx::commit`].
pub struct Tx<'a> {
    inner: TxInner<'a>,
}

enum TxInner<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Postgres(PgTx<'a>),
}

impl Tx<'_> {
    /// Makes the transaction's writes durable and visible.
    pub fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => Ok(tx.commit()?),
            TxInner::Postgres(tx) => tx.commit(),
        }
    }
}

impl Sql for Tx<'_> {
    fn handle(&self) -> Handle<'_> {
        match &self.inner {
            TxInner::Sqlite(tx) => Handle::Sqlite(tx),
            TxInner::Postgres(tx) => Handle::Postgres(tx.client),
        }
    }
}

/// A PostgreSQL transaction: `BEGIN` on creation, `ROLLBACK` on drop.
struct PgTx<'a> {
    client: &'a PgClient,
    open: bool,
}

impl<'a> PgTx<'a> {
    fn begin(client: &'a PgClient, behavior: Behavior) -> Result<Self> {
        match behavior {
            Behavior::Deferred => client.batch("BEGIN ISOLATION LEVEL REPEATABLE READ")?,
            Behavior::Immediate => {
                client.batch("BEGIN")?;
                let tx = PgTx { client, open: true };
                // Every latina writer takes this lock first, so writers run
                // one at a time as on SQLite: read-then-write logic (claims,
                // re-ratings, tallies) needs no other locking.
                client.execute(
                    "SELECT pg_advisory_xact_lock($1)",
                    vec![Value::Int(WRITER_LOCK)],
                )?;
                return Ok(tx);
            }
        }
        Ok(PgTx { client, open: true })
    }

    fn commit(mut self) -> Result<()> {
        self.open = false;
        self.client.batch("COMMIT")
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Best effort: a broken connection has rolled back already.
            let _ = self.client.batch("ROLLBACK");
        }
    }
}

/// A prepared statement.
pub struct Statement<'a> {
    inner: StatementInner<'a>,
}

enum StatementInner<'a> {
    Sqlite(rusqlite::CachedStatement<'a>),
    Postgres { client: &'a PgClient, sql: String },
}

impl Statement<'_> {
    /// Every row, mapped (read in full before returning).
    pub fn query_map<T, P, F>(
        &mut self,
        params: P,
        mut f: F,
    ) -> Result<std::vec::IntoIter<Result<T>>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        let mut out = Vec::new();
        let mut rows = self.query(params)?;
        while let Some(row) = rows.next()? {
            out.push(f(&row));
        }
        Ok(out.into_iter())
    }

    /// The first row, mapped; [`Error::NoRow`] when there is none.
    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(Error::NoRow),
        }
    }

    /// Whether the query returns any row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        Ok(self.query(params)?.next()?.is_some())
    }

    /// Runs the statement; returns the rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.inner {
            StatementInner::Sqlite(s) => {
                Ok(s.execute(rusqlite::params_from_iter(params.into_values()))?)
            }
            StatementInner::Postgres { client, sql } => client
                .execute(sql, params.into_values())
                .map(|n| n as usize),
        }
    }

    /// The rows, one at a time on SQLite (fetched in full on PostgreSQL).
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        Ok(Rows {
            inner: match &mut self.inner {
                StatementInner::Sqlite(s) => {
                    RowsInner::Sqlite(s.query(rusqlite::params_from_iter(params.into_values()))?)
                }
                StatementInner::Postgres { client, sql } => RowsInner::Postgres {
                    rows: client.query(sql, params.into_values())?,
                    next: 0,
                },
            },
        })
    }

    /// The rows, one at a time on both backends: on PostgreSQL through a
    /// cursor read a chunk at a time, for long results whose reader may
    /// stop early. Costs a few more round trips than [`Statement::query`].
    pub fn query_streamed<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        Ok(Rows {
            inner: match &mut self.inner {
                StatementInner::Sqlite(s) => {
                    RowsInner::Sqlite(s.query(rusqlite::params_from_iter(params.into_values()))?)
                }
                StatementInner::Postgres { client, sql } => RowsInner::PgCursor {
                    cursor: client.open_cursor(sql, params.into_values())?,
                    rows: Vec::new(),
                    next: 0,
                },
            },
        })
    }

    /// How many columns each row has.
    pub fn column_count(&self) -> usize {
        match &self.inner {
            StatementInner::Sqlite(s) => s.column_count(),
            StatementInner::Postgres { client, sql } => {
                client.column_count(sql).unwrap_or_default()
            }
        }
    }
}

/// A query's rows, read with [`Rows::next`].
pub struct Rows<'a> {
    inner: RowsInner<'a>,
}

enum RowsInner<'a> {
    Sqlite(rusqlite::Rows<'a>),
    Postgres {
        rows: Vec<postgres::Row>,
        next: usize,
    },
    PgCursor {
        cursor: PgCursor<'a>,
        rows: Vec<postgres::Row>,
        next: usize,
    },
}

impl Rows<'_> {
    /// The next row, or `None` after the last.
    #[allow(clippy::should_implement_trait)] // a lending iterator: the row borrows `self`
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.inner {
            RowsInner::Sqlite(rows) => Ok(rows.next()?.map(|r| Row {
                inner: RowInner::Sqlite(r),
            })),
            RowsInner::Postgres { rows, next } => {
                let row = rows.get(*next);
                *next += 1;
                Ok(row.map(|r| Row {
                    inner: RowInner::Postgres(r),
                }))
            }
            RowsInner::PgCursor { cursor, rows, next } => {
                if *next >= rows.len() {
                    *rows = cursor.fetch()?;
                    *next = 0;
                }
                let row = rows.get(*next);
                *next += 1;
                Ok(row.map(|r| Row {
                    inner: RowInner::Postgres(r),
                }))
            }
        }
    }
}

/// One fetched row.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `index` as `T`.
    ///
    /// # Errors
    /// [`Error::StoredValue`] when it holds something else; [`Error::Sql`] or
    /// [`Error::Postgres`] for a column that does not exist.
    pub fn get<T: FromColumn>(&self, index: usize) -> Result<T> {
        T::from_column(self.column(index)?)
    }

    /// Column `index`, borrowed.
    pub fn column(&self, index: usize) -> Result<ColumnRef<'_>> {
        match &self.inner {
            RowInner::Sqlite(r) => Ok(match r.get_ref(index)? {
                rusqlite::types::ValueRef::Null => ColumnRef::Null,
                rusqlite::types::ValueRef::Integer(i) => ColumnRef::Int(i),
                rusqlite::types::ValueRef::Real(x) => ColumnRef::Real(x),
                rusqlite::types::ValueRef::Text(t) => ColumnRef::Text(
                    std::str::from_utf8(t)
                        .map_err(|e| Error::StoredValue(format!("text that is not UTF-8: {e}")))?,
                ),
                rusqlite::types::ValueRef::Blob(b) => ColumnRef::Blob(b),
            }),
            RowInner::Postgres(r) => pg::column(r, index),
        }
    }

    /// How many columns the row has.
    pub fn column_count(&self) -> usize {
        match &self.inner {
            RowInner::Sqlite(r) => r.as_ref().column_count(),
            RowInner::Postgres(r) => r.len(),
        }
    }
}

/// `.optional()` on a single-row result, as rusqlite has it.
pub trait OptionalExtension<T> {
    /// `Ok(None)` instead of [`Error::NoRow`].
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRow) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}
