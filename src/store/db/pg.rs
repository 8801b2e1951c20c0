//! The PostgreSQL connection: a `postgres` client on its own thread.
//!
//! The store is synchronous and is called from inside the tokio runtime the
//! ops run on; the `postgres` crate's blocking client panics there (it
//! drives its own runtime). So each connection lives on a plain thread that
//! owns the client, and the store's calls are sent to it over a channel and
//! wait for the answer, the way a rusqlite call blocks on the file. The
//! thread also keeps the prepared statements, keyed by the store's SQLite
//! text, translated once.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use postgres::types::{FromSql, IsNull, ToSql, Type};

use super::translate;
use super::value::{ColumnRef, Value};
use crate::error::{Conflict, Error, Result};

/// Where a studio's database is, and who connects: the URL without its
/// password (which is never printed) plus the password, if any.
#[derive(Clone)]
pub struct PgTarget {
    config: postgres::Config,
    /// `host:port/database`, for messages.
    shown: String,
    /// What `sslmode` and `sslrootcert` asked (see [`super::pg_tls`]).
    tls: super::pg_tls::TlsRequest,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgTarget({})", self.shown)
    }
}

/// How long connecting may take before it is reported as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl PgTarget {
    /// Parses a `postgres://user@host:port/db` URL. The password comes from
    /// the URL, else the environment variable `password_env` names, else
    /// `PGPASSWORD`, else `~/.pgpass` (PostgreSQL's own rules).
    ///
    /// # Errors
    /// [`Error::DatabaseUrl`] for a URL `postgres` cannot read.
    pub fn parse(url: &str, password_env: Option<&str>) -> Result<Self> {
        let (plain_url, tls) = super::pg_tls::split_url(url, &|name| std::env::var(name).ok())?;
        let mut config =
            postgres::Config::from_str(&plain_url).map_err(|e| Error::DatabaseUrl {
                reason: redact(&e.to_string(), url),
            })?;
        if config.get_user().is_none()
            && let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER"))
        {
            config.user(&user);
        }
        if config.get_dbname().is_none()
            && let Some(user) = config.get_user()
        {
            let user = user.to_string();
            config.dbname(&user);
        }
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => {
                config.host("localhost");
                "localhost".into()
            }
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let dbname = config.get_dbname().unwrap_or_default().to_string();
        if config.get_password().is_none() {
            let from_env = password_env
                .and_then(|name| std::env::var(name).ok())
                .or_else(|| std::env::var("PGPASSWORD").ok())
                .filter(|p| !p.is_empty());
            let password = from_env.or_else(|| {
                pgpass_lookup(&host, port, &dbname, config.get_user().unwrap_or_default())
            });
            if let Some(password) = password {
                config.password(password);
            }
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("latina");
        // No JIT: the history and report queries are estimated costly
        // enough for PostgreSQL to compile them with LLVM (0.3 s before the
        // first row at 100,000 experiments) although they stream from
        // indexes. Sent at login, no extra round trip; options in the URL
        // come after and win.
        let options = match config.get_options() {
            Some(own) => format!("-c jit=off {own}"),
            None => "-c jit=off".to_string(),
        };
        config.options(&options);
        Ok(PgTarget {
            config,
            shown: format!("{host}:{port}/{dbname}"),
            tls,
        })
    }

    /// `host:port/database`, safe to print.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The login's password, if any (only to tell logins apart in the pool).
    pub(super) fn password(&self) -> Option<&[u8]> {
        self.config.get_password()
    }

    /// The login's user name.
    pub(super) fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
    }
}

/// The password `~/.pgpass` (or `PGPASSFILE`) gives for this server, if any.
fn pgpass_lookup(host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let port = port.to_string();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split_pgpass(line);
            let [h, p, d, u, password] = fields.as_slice() else {
                return None;
            };
            let fits = |field: &str, value: &str| field == "*" || field == value;
            (fits(h, host) && fits(p, &port) && fits(d, dbname) && fits(u, user))
                .then(|| password.clone())
        })
}

/// `.pgpass` fields split on unescaped `:` (`\:` and `\\` are literal).
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// Removes a password the text might echo from the URL it came from.
fn redact(text: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => text.replace(p, "***"),
        None => text.to_string(),
    }
}

enum Job {
    Query(String, Vec<Value>),
    Declare(String, Vec<Value>),
    Fetch(String),
    Execute(String, Vec<Value>),
    Batch(String),
    Raw(String),
    Columns(String),
}

enum Reply {
    Rows(Vec<postgres::Row>),
    Count(u64),
    Done,
}

type Answer = std::result::Result<Reply, postgres::Error>;

/// One connection to the server, on its own thread.
pub struct PgClient {
    jobs: mpsc::Sender<(Job, mpsc::Sender<Answer>)>,
    shown: String,
    /// Where this connection goes when dropped: back to the pool, or
    /// (`None`) closed.
    returns_to: Option<super::pool::PoolKey>,
    /// Whether a `BEGIN` this client sent is still open: a cursor needs a
    /// transaction and opens its own only outside one.
    in_transaction: AtomicBool,
    /// Cursors opened so far: the next one's name.
    cursors: AtomicUsize,
}

impl Drop for PgClient {
    fn drop(&mut self) {
        // Only a connection outside any transaction is worth keeping.
        if let Some(key) = self.returns_to.take()
            && !self.in_transaction.load(Ordering::Relaxed)
        {
            // The connection's thread lives as long as one sender does.
            super::pool::give_back(
                key,
                PgClient {
                    jobs: self.jobs.clone(),
                    shown: self.shown.clone(),
                    returns_to: None,
                    in_transaction: AtomicBool::new(false),
                    cursors: AtomicUsize::new(self.cursors.load(Ordering::Relaxed)),
                },
            );
        }
    }
}

impl PgClient {
    /// Connects (on the connection's own thread).
    ///
    /// # Errors
    /// [`Error::DatabaseUnavailable`] when the server cannot be reached or
    /// refuses the login.
    pub fn connect(target: &PgTarget) -> Result<Self> {
        let (jobs, inbox) = mpsc::channel::<(Job, mpsc::Sender<Answer>)>();
        let (ready_tx, ready) = mpsc::channel();
        let config = target.config.clone();
        let tls = super::pg_tls::connector(&target.tls)?;
        std::thread::Builder::new()
            .name("latina-postgres".into())
            .spawn(move || {
                let client = match config.connect(tls) {
                    Ok(client) => {
                        let _ = ready_tx.send(Ok(()));
                        client
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                serve(client, inbox);
            })
            .map_err(|e| Error::DatabaseUnavailable {
                server: target.shown.clone(),
                reason: format!("cannot start its connection thread: {e}"),
            })?;
        match ready.recv() {
            Ok(Ok(())) => Ok(PgClient {
                jobs,
                shown: target.shown.clone(),
                returns_to: None,
                in_transaction: AtomicBool::new(false),
                cursors: AtomicUsize::new(0),
            }),
            Ok(Err(e)) => Err(unavailable(&target.shown, &e)),
            Err(_) => Err(Error::DatabaseUnavailable {
                server: target.shown.clone(),
                reason: "its connection thread stopped".into(),
            }),
        }
    }

    /// `host:port/database`.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Sends this connection back to the pool when it is dropped.
    pub fn return_to_pool(&mut self, key: super::pool::PoolKey) {
        self.returns_to = Some(key);
    }

    fn ask(&self, job: Job) -> Result<Reply> {
        let opens_or_ends = match &job {
            Job::Batch(sql) | Job::Raw(sql) => {
                let word = sql.trim_start();
                let starts = |w: &str| {
                    word.get(..w.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(w))
                };
                if starts("BEGIN") {
                    Some(true)
                } else if starts("COMMIT") || starts("ROLLBACK") {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        };
        let answer = self.ask_server(job);
        if let Some(open) = opens_or_ends {
            // A failed COMMIT or ROLLBACK ends the transaction too.
            self.in_transaction
                .store(open && answer.is_ok(), Ordering::Relaxed);
        }
        answer
    }

    fn ask_server(&self, job: Job) -> Result<Reply> {
        let what = match &job {
            Job::Query(sql, _)
            | Job::Execute(sql, _)
            | Job::Declare(sql, _)
            | Job::Fetch(sql)
            | Job::Columns(sql) => sql.chars().take(300).collect::<String>(),
            Job::Batch(sql) | Job::Raw(sql) => sql.chars().take(80).collect(),
        };
        let (reply_tx, reply) = mpsc::channel();
        let lost = || Error::DatabaseUnavailable {
            server: self.shown.clone(),
            reason: "the connection was closed".into(),
        };
        self.jobs.send((job, reply_tx)).map_err(|_| lost())?;
        match reply.recv() {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                // The statement's text is ours (never a parameter), so -vv may show it.
                tracing::debug!(statement = %what, error = %e, "PostgreSQL refused a statement");
                Err(map_error(&self.shown, &e))
            }
            Err(_) => Err(lost()),
        }
    }

    /// Runs a query; every row.
    pub fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<postgres::Row>> {
        match self.ask(Job::Query(sql.to_string(), params))? {
            Reply::Rows(rows) => Ok(rows),
            _ => Ok(Vec::new()),
        }
    }

    /// Runs a statement; the rows it changed.
    pub fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64> {
        match self.ask(Job::Execute(sql.to_string(), params))? {
            Reply::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// Runs statements without parameters (translated, but not prepared).
    pub fn batch(&self, sql: &str) -> Result<()> {
        self.ask(Job::Batch(sql.to_string())).map(|_| ())
    }

    /// Runs statements exactly as written (PostgreSQL's own text: schema files).
    pub fn raw_batch(&self, sql: &str) -> Result<()> {
        self.ask(Job::Raw(sql.to_string())).map(|_| ())
    }

    /// Opens a cursor over a query, for reading it a chunk at a time: a
    /// reader that stops early (`history --json | head`) waits for the rows
    /// it read, not for the whole result. Outside a transaction the cursor
    /// runs in one of its own, ended when the cursor is dropped.
    pub fn open_cursor(&self, sql: &str, params: Vec<Value>) -> Result<PgCursor<'_>> {
        let began = !self.in_transaction.load(Ordering::Relaxed);
        if began {
            self.batch("BEGIN")?;
        }
        let number = self.cursors.fetch_add(1, Ordering::Relaxed);
        let mut cursor = PgCursor {
            client: self,
            name: format!("latina_cursor_{number}"),
            began,
            declared: false,
            done: false,
            chunk: FIRST_CHUNK,
        };
        // Declared and fetched unprepared: the names are new each time, and
        // a prepared FETCH would keep the columns of the cursor it was
        // prepared on.
        self.ask(Job::Declare(
            format!("DECLARE {} NO SCROLL CURSOR FOR {sql}", cursor.name),
            params,
        ))?;
        cursor.declared = true;
        Ok(cursor)
    }

    /// How many columns a query returns.
    pub fn column_count(&self, sql: &str) -> Result<usize> {
        match self.ask(Job::Columns(sql.to_string()))? {
            Reply::Count(n) => Ok(n as usize),
            _ => Ok(0),
        }
    }
}

/// The connection thread: runs jobs until the [`PgClient`] is dropped.
fn serve(mut client: postgres::Client, inbox: mpsc::Receiver<(Job, mpsc::Sender<Answer>)>) {
    let mut prepared: HashMap<String, postgres::Statement> = HashMap::new();
    let mut prepare = |client: &mut postgres::Client, sql: &str| {
        if let Some(stmt) = prepared.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = client.prepare(&translate::to_postgres(sql))?;
        prepared.insert(sql.to_string(), stmt.clone());
        Ok::<_, postgres::Error>(stmt)
    };
    while let Ok((job, reply)) = inbox.recv() {
        let answer = match job {
            Job::Query(sql, params) => prepare(&mut client, &sql)
                .and_then(|stmt| client.query(&stmt, &refs(&params)).map(Reply::Rows)),
            Job::Execute(sql, params) => prepare(&mut client, &sql)
                .and_then(|stmt| client.execute(&stmt, &refs(&params)).map(Reply::Count)),
            Job::Declare(sql, params) => client
                .execute(&translate::to_postgres(&sql), &refs(&params))
                .map(Reply::Count),
            Job::Fetch(sql) => client.query(&sql, &[]).map(Reply::Rows),
            Job::Batch(sql) => client
                .batch_execute(&translate::to_postgres(&sql))
                .map(|()| Reply::Done),
            Job::Raw(sql) => client.batch_execute(&sql).map(|()| Reply::Done),
            Job::Columns(sql) => {
                prepare(&mut client, &sql).map(|stmt| Reply::Count(stmt.columns().len() as u64))
            }
        };
        let _ = reply.send(answer);
    }
}

/// Rows the first `FETCH` asks for: enough for a screen, quick to arrive.
const FIRST_CHUNK: usize = 64;
/// Rows each later `FETCH` asks for: few round trips, bounded memory.
const LATER_CHUNK: usize = 2048;

/// An open cursor (see [`PgClient::open_cursor`]); closed when dropped.
pub struct PgCursor<'a> {
    client: &'a PgClient,
    name: String,
    began: bool,
    declared: bool,
    done: bool,
    chunk: usize,
}

impl PgCursor<'_> {
    /// The next rows; empty once the result is exhausted.
    pub fn fetch(&mut self) -> Result<Vec<postgres::Row>> {
        if self.done {
            return Ok(Vec::new());
        }
        let rows = match self.client.ask(Job::Fetch(format!(
            "FETCH {} FROM {}",
            self.chunk, self.name
        )))? {
            Reply::Rows(rows) => rows,
            _ => Vec::new(),
        };
        self.done = rows.len() < self.chunk;
        self.chunk = LATER_CHUNK;
        Ok(rows)
    }
}

impl Drop for PgCursor<'_> {
    fn drop(&mut self) {
        // Best effort: a broken connection has ended both already.
        if self.declared {
            let _ = self.client.batch(&format!("CLOSE {}", self.name));
        }
        if self.began {
            let _ = self.client.batch("COMMIT");
        }
    }
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// A failure to reach or log in to the server, as one line.
fn unavailable(server: &str, e: &postgres::Error) -> Error {
    let reason = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    };
    Error::DatabaseUnavailable {
        server: server.to_string(),
        reason,
    }
}

/// Maps the server's errors to the ones the store reports for SQLite too.
fn map_error(server: &str, e: &postgres::Error) -> Error {
    use postgres::error::SqlState;
    let Some(db) = e.as_db_error() else {
        return unavailable(server, e);
    };
    let rule = match *db.code() {
        SqlState::UNIQUE_VIOLATION => Some("unique"),
        SqlState::FOREIGN_KEY_VIOLATION => Some("foreign key"),
        SqlState::NOT_NULL_VIOLATION => Some("not null"),
        SqlState::CHECK_VIOLATION => Some("check"),
        _ => None,
    };
    if let Some(rule) = rule {
        return Error::Conflict(Conflict::Schema {
            table: db.table().unwrap_or("?").to_string(),
            rule,
        });
    }
    if matches!(
        *db.code(),
        SqlState::ADMIN_SHUTDOWN | SqlState::CRASH_SHUTDOWN | SqlState::CANNOT_CONNECT_NOW
    ) {
        return unavailable(server, e);
    }
    Error::Postgres(format!("{} ({})", db.message(), db.code().code()))
}

/// Column `index` of a PostgreSQL row as one of SQLite's storage classes.
pub fn column<'a>(row: &'a postgres::Row, index: usize) -> Result<ColumnRef<'a>> {
    if index >= row.len() {
        return Err(Error::StoredValue(format!(
            "no column {index} (the row has {})",
            row.len()
        )));
    }
    row.try_get::<_, ColumnRef<'a>>(index)
        .map_err(|e| Error::StoredValue(e.to_string()))
}

impl<'a> FromSql<'a> for ColumnRef<'a> {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => ColumnRef::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => ColumnRef::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => ColumnRef::Int(i16::from_sql(ty, raw)?.into()),
            Type::OID => ColumnRef::Int(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => ColumnRef::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => ColumnRef::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => ColumnRef::Real(f32::from_sql(ty, raw)?.into()),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => ColumnRef::Blob(raw),
            _ => ColumnRef::Text(<&str>::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(ColumnRef::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A `numeric` (what PostgreSQL's `sum` and `avg` give) as SQLite would
/// give it: an integer when it is whole and fits, else a float.
fn numeric(
    raw: &[u8],
) -> std::result::Result<ColumnRef<'static>, Box<dyn std::error::Error + Sync + Send>> {
    let word = |i: usize| -> std::result::Result<u16, Box<dyn std::error::Error + Sync + Send>> {
        raw.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a truncated numeric".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16;
    let sign = word(4)?;
    let scale = word(6)?;
    if sign == 0xC000 {
        return Ok(ColumnRef::Real(f64::NAN));
    }
    let mut whole: Option<i128> = Some(0);
    let mut value = 0.0f64;
    for i in 0..ndigits {
        let digit = word(8 + 2 * i)?;
        let power = i32::from(weight) - i as i32;
        value += f64::from(digit) * 10_000f64.powi(power);
        whole = match (whole, power) {
            (Some(w), p) if p >= 0 => 10_000i128
                .checked_pow(p as u32)
                .and_then(|m| w.checked_add(i128::from(digit) * m)),
            (w, _) if digit == 0 => w,
            _ => None,
        };
    }
    let negative = sign == 0x4000;
    if scale == 0
        && let Some(w) = whole.map(|w| if negative { -w } else { w })
        && let Ok(i) = i64::try_from(w)
    {
        return Ok(ColumnRef::Int(i));
    }
    Ok(ColumnRef::Real(if negative { -value } else { value }))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT4) => (*i as f32).to_sql(ty, out),
            (Value::Int(i), _) => i.to_string().as_str().to_sql(&Type::TEXT, out),
            (Value::Real(x), &Type::FLOAT4) => (*x as f32).to_sql(ty, out),
            (Value::Real(x), &Type::FLOAT8) => x.to_sql(ty, out),
            (Value::Real(x), _) => x.to_string().as_str().to_sql(&Type::TEXT, out),
            (Value::Text(s), &Type::BYTEA) => s.as_bytes().to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(&Type::TEXT, out),
            (Value::Blob(b), _) => b.as_slice().to_sql(&Type::BYTEA, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(ndigits: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for w in [ndigits, weight as u16, sign, scale] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            raw.extend_from_slice(&d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numerics_read_as_integers_when_whole_and_floats_otherwise() {
        // 123456789 = 1·10000² + 2345·10000 + 6789
        let raw = numeric_bytes(3, 2, 0, 0, &[1, 2345, 6789]);
        assert_eq!(numeric(&raw).unwrap(), ColumnRef::Int(123_456_789));
        // −20000: one digit 2 at weight 1, trailing zeros dropped
        let raw = numeric_bytes(1, 1, 0x4000, 0, &[2]);
        assert_eq!(numeric(&raw).unwrap(), ColumnRef::Int(-20_000));
        // 3.25 = 3 + 2500·10000⁻¹, scale 2
        let raw = numeric_bytes(2, 0, 0, 2, &[3, 2500]);
        assert_eq!(numeric(&raw).unwrap(), ColumnRef::Real(3.25));
        // 0 has no digits
        assert_eq!(
            numeric(&numeric_bytes(0, 0, 0, 0, &[])).unwrap(),
            ColumnRef::Int(0)
        );
        assert!(numeric(&[0, 1]).is_err());
    }

    #[test]
    fn a_pgpass_line_matches_with_wildcards_and_escapes() {
        assert_eq!(
            split_pgpass(r"h:5432:*:u:pa\:ss\\"),
            vec!["h", "5432", "*", "u", r"pa:ss\"]
        );
    }

    #[test]
    fn a_bad_url_is_reported_without_its_password() {
        let err = PgTarget::parse("postgres://ana:hunter2@host:notaport/db", None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let target = PgTarget::parse("postgres://ana:hunter2@db.studio:6543/latina", None).unwrap();
        assert_eq!(target.shown(), "db.studio:6543/latina");
        assert!(!format!("{target:?}").contains("hunter2"));
    }
}
