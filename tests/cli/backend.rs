//! Where the CLI tests keep their state. By default each test's store is
//! a SQLite file in its temp data dir. With `LATINA_TEST_STORE=studio`
//! (CI's second pass), each test gets a fresh database on the test
//! PostgreSQL server (`.ci/start-postgres`) and a fresh prefix in the test
//! bucket (`.ci/start-s3`), and every `latina` the harness starts is
//! pointed at them through `LATINA_DATABASE_URL`, `PGPASSWORD`,
//! `LATINA_STORAGE` and the AWS variables: the same tests, the studio
//! store. Tests read what was stored through `Env::rows`, independently
//! of latina's own code (rusqlite on the file, the `postgres` client on
//! the server).

use serde_json::Value;

use crate::harness::Env;
use crate::s3_support;

/// True in the studio pass (`LATINA_TEST_STORE=studio`).
pub fn studio_requested() -> bool {
    match std::env::var("LATINA_TEST_STORE").as_deref() {
        Ok("studio") => true,
        Ok("" | "sqlite") | Err(_) => false,
        Ok(other) => panic!("LATINA_TEST_STORE={other}: expected `sqlite` or `studio`"),
    }
}

/// A test's place on the studio store: its own database and bucket prefix.
pub struct Studio {
    pub db: ServerDb,
    pub storage: String,
    pub s3: s3_support::S3,
    pub prefix: String,
}

impl Studio {
    /// A fresh database and prefix; panics when the servers are missing,
    /// since the studio pass was asked for.
    pub fn create() -> Studio {
        let db = ServerDb::create()
            .expect("LATINA_TEST_STORE=studio needs LATINA_TEST_POSTGRES_URL (.ci/start-postgres)");
        let s3 = s3_support::server("studio pass")
            .expect("LATINA_TEST_STORE=studio needs LATINA_TEST_S3_ENDPOINT (.ci/start-s3)");
        let prefix = s3.unique_prefix("cli");
        let storage = format!("s3://{}/{prefix}", s3.bucket);
        Studio {
            db,
            storage,
            s3,
            prefix,
        }
    }

    /// The variables that point a `latina` process at this place.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("LATINA_DATABASE_URL", self.db.url()),
            ("PGPASSWORD", self.db.password.clone()),
            ("LATINA_STORAGE", self.storage.clone()),
        ];
        vars.extend(self.s3.vars());
        vars
    }
}

/// A fresh, empty database on the test server, dropped when this goes.
pub struct ServerDb {
    admin: String,
    pub password: String,
    name: String,
}

impl ServerDb {
    /// `None` (after a note) when no server is configured.
    pub fn create() -> Option<ServerDb> {
        let Ok(admin) = std::env::var("LATINA_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("LATINA_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "LATINA_REQUIRE_POSTGRES=1 but LATINA_TEST_POSTGRES_URL is not set"
            );
            eprintln!("skipped: LATINA_TEST_POSTGRES_URL is not set (see README → Development)");
            return None;
        };
        let password = std::env::var("LATINA_TEST_PGPASSWORD").unwrap_or_default();
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "latina_cli_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let db = ServerDb {
            admin,
            password,
            name,
        };
        db.admin_sql(&format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'",
            db.name
        ));
        Some(db)
    }

    pub fn admin_sql(&self, sql: &str) {
        let mut config: postgres::Config = self.admin.parse().unwrap();
        config.password(&self.password);
        let mut client = config.connect(postgres::NoTls).unwrap();
        client.batch_execute(sql).unwrap();
    }

    /// `postgres://latina@host:port/<fresh db>`, without the password.
    pub fn url(&self) -> String {
        let base = self.admin.rsplit_once('/').unwrap().0;
        format!("{base}/{}", self.name)
    }

    /// `latina --db <url>` with the password in `PGPASSWORD`.
    pub fn latina(&self, env: &Env) -> assert_cmd::Command {
        let mut cmd = env.latina();
        cmd.env("PGPASSWORD", &self.password)
            .arg("--db")
            .arg(self.url());
        cmd
    }

    /// Runs `latina --json <args>` against the server; stdout parsed.
    pub fn json(&self, env: &Env, args: &[&str]) -> Value {
        let out = self.latina(env).arg("--json").args(args).assert().success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }

    /// Whether the table exists yet (latina creates the schema on first use).
    pub fn has_table(&self, table: &str) -> bool {
        self.rows(&format!("SELECT to_regclass('{table}') IS NOT NULL"))
            == vec![vec![Some("t".to_string())]]
    }

    /// Every row of every table as text, to search for what must not be
    /// stored (keys a provider echoed back).
    pub fn dump(&self) -> String {
        let tables = self.rows(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        );
        let mut text = String::new();
        for table in tables.into_iter().filter_map(|r| r[0].clone()) {
            for row in self.rows(&format!("SELECT t::text FROM \"{table}\" t")) {
                text.push_str(row[0].as_deref().unwrap_or(""));
                text.push('\n');
            }
        }
        text
    }

    /// One query's rows, each column as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut config: postgres::Config = self.url().parse().unwrap();
        config.password(&self.password);
        let mut client = config.connect(postgres::NoTls).unwrap();
        client
            .simple_query(sql)
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    }
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        let mut config: postgres::Config = match self.admin.parse() {
            Ok(c) => c,
            Err(_) => return,
        };
        config.password(&self.password);
        if let Ok(mut client) = config.connect(postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
