//! A temp home, data dir and working directory per test, a scrubbed
//! environment, and the real `latina` binary.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

use crate::backend::{self, Studio};

pub struct Env {
    root: TempDir,
    studio: Option<Studio>,
}

impl Env {
    /// A temp home, cwd and data dir; the store is the SQLite file there,
    /// or in the studio pass a fresh database and bucket prefix (see
    /// [`backend`]).
    pub fn new() -> Self {
        let mut env = Env::on_sqlite();
        if backend::studio_requested() {
            env.studio = Some(Studio::create());
        }
        env
    }

    /// Always the SQLite file, for the tests that are about the file
    /// itself (its corruption, its schema, copying it between laptops).
    pub fn on_sqlite() -> Self {
        let root = tempfile::tempdir().unwrap();
        for dir in ["home", "cwd", "data"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        Env { root, studio: None }
    }

    /// The studio store this test runs on, if any.
    pub fn studio(&self) -> Option<&Studio> {
        self.studio.as_ref()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// The SQLite file of this test's store (absent in the studio pass:
    /// tests that open it use [`Env::on_sqlite`] or [`Env::rows`]).
    pub fn db_path(&self) -> PathBuf {
        self.data().join("latina.db")
    }

    /// The variables that point `latina` at this test's store: none for
    /// the SQLite file, the server's and the bucket's in the studio pass.
    /// For the tests that build their own command line (on a terminal,
    /// killed mid-write).
    pub fn store_vars(&self) -> Vec<(&'static str, String)> {
        self.studio.as_ref().map(Studio::vars).unwrap_or_default()
    }

    fn point_at_store<C: EnvSetter>(&self, cmd: &mut C) {
        for (k, v) in self.store_vars() {
            cmd.set(k, &v);
        }
    }

    /// `latina` with a clean environment, run from the temp cwd, data under the temp dir.
    pub fn latina(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latina"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("USER", "tester")
            // Offline, `enhance` renders 8 candidates and shows 2; the
            // tests count A/B batches, so they pin N to the shown count
            // (`--candidates` and a test's own environment still win).
            // `offline_enhance_renders_eight_candidates_by_default` runs
            // without the pin.
            .env("LATINA_ENHANCE__CANDIDATES", "2")
            .current_dir(self.path("cwd"))
            .arg("--data-dir")
            .arg(self.data());
        self.point_at_store(&mut cmd);
        cmd
    }

    /// The same as [`Env::latina`] as a plain `std` command, for tests that
    /// spawn the process and signal it.
    pub fn latina_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_latina"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("USER", "tester")
            // Offline, `enhance` renders 8 candidates and shows 2; the
            // tests count A/B batches, so they pin N to the shown count
            // (`--candidates` and a test's own environment still win).
            // `offline_enhance_renders_eight_candidates_by_default` runs
            // without the pin.
            .env("LATINA_ENHANCE__CANDIDATES", "2")
            .current_dir(self.path("cwd"))
            .arg("--data-dir")
            .arg(self.data());
        self.point_at_store(&mut cmd);
        cmd
    }

    /// Runs `latina --json <args>` expecting success and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.latina().arg("--json").args(args).assert().success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// Enhances a fixture with --json and returns the report.
    pub fn enhance(&self, fixture_name: &str) -> Value {
        self.json(&["enhance", fixture(fixture_name).to_str().unwrap()])
    }

    /// The bytes of a file a row or report names: a local path, or in the
    /// studio pass an `s3://` object, read from the bucket (not through
    /// latina). `None` when it is not there.
    pub fn stored_file(&self, reference: &str) -> Option<Vec<u8>> {
        match (self.object_key(reference), &self.studio) {
            (Some(key), Some(studio)) => {
                let folder = key.rsplit_once('/').map_or("", |(dir, _)| dir);
                let listed = studio.s3.list(folder).contains(&key);
                listed.then(|| studio.s3.get(&key))
            }
            _ => std::fs::read(reference).ok(),
        }
    }

    /// Deletes a stored file wherever a command could find it: in the
    /// studio pass the object and the data dir's cached copy of it (named
    /// by either), else the local file.
    pub fn delete_stored(&self, reference: &str) {
        match (self.object_key(reference), &self.studio) {
            (Some(key), Some(studio)) => {
                studio.s3.delete(&key);
                let rel = key.strip_prefix(&format!("{}/", studio.prefix)).unwrap();
                let _ = std::fs::remove_file(self.data().join(rel));
            }
            _ => std::fs::remove_file(reference).unwrap(),
        }
    }

    /// The bucket key of an `s3://` reference, or of a cached copy under
    /// the data dir (the cache mirrors the prefix: `renders/<name>`).
    fn object_key(&self, reference: &str) -> Option<String> {
        let studio = self.studio.as_ref()?;
        if let Some(key) = reference.strip_prefix(&format!("s3://{}/", studio.s3.bucket)) {
            return Some(key.to_string());
        }
        let rel = Path::new(reference).strip_prefix(self.data()).ok()?;
        Some(format!("{}/{}", studio.prefix, rel.to_str()?))
    }

    /// Rows in `table` of this test's store (0 before the store exists).
    pub fn count(&self, table: &str) -> i64 {
        if self.studio.is_none() && !self.db_path().exists() {
            return 0;
        }
        if let Some(studio) = &self.studio
            && !studio.db.has_table(table)
        {
            return 0;
        }
        self.scalar(&format!("SELECT count(*) FROM {table}"))
    }

    /// One query's rows from this test's store, each column as text (as
    /// PostgreSQL's text format gives it: integers in decimal, reals in
    /// the shortest form that reads back, NULL as `None`). The SQL must
    /// read the same on both (no `?` parameters: tests write literals).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        if let Some(studio) = &self.studio {
            return studio.db.rows(sql);
        }
        use rusqlite::types::ValueRef;
        let conn = rusqlite::Connection::open(self.db_path()).unwrap();
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
        let columns = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..columns)
                .map(|i| match r.get_ref(i).unwrap() {
                    ValueRef::Null => None,
                    ValueRef::Integer(n) => Some(n.to_string()),
                    ValueRef::Real(x) => Some(x.to_string()),
                    ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Some(format!("{b:?}")),
                })
                .collect())
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// The first column of each row, parsed.
    pub fn column<T: std::str::FromStr>(&self, sql: &str) -> Vec<Option<T>>
    where
        T::Err: std::fmt::Debug,
    {
        self.rows(sql)
            .into_iter()
            .map(|row| row[0].as_ref().map(|v| v.parse().unwrap()))
            .collect()
    }

    /// A query that gives one value, parsed.
    pub fn scalar<T: std::str::FromStr>(&self, sql: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        let rows = self.rows(sql);
        assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
        let value = rows[0][0]
            .as_deref()
            .unwrap_or_else(|| panic!("{sql}: NULL"));
        value
            .parse()
            .unwrap_or_else(|e| panic!("{sql}: {value:?}: {e:?}"))
    }

    /// Runs statements that change this test's store behind latina's back
    /// (to set up a fault); the SQL must read the same on both.
    pub fn execute(&self, sql: &str) {
        match &self.studio {
            Some(studio) => {
                studio.db.rows(sql);
            }
            None => {
                let conn = rusqlite::Connection::open(self.db_path()).unwrap();
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{e}: {sql}"));
            }
        }
    }
}

/// `env` on both kinds of command the harness builds.
trait EnvSetter {
    fn set(&mut self, key: &str, value: &str);
}

impl EnvSetter for Command {
    fn set(&mut self, key: &str, value: &str) {
        self.env(key, value);
    }
}

impl EnvSetter for std::process::Command {
    fn set(&mut self, key: &str, value: &str) {
        self.env(key, value);
    }
}

/// The schema version a fresh store reaches: one per migration file in
/// `src/store/<dir>` (`sql` for SQLite, `pg` for the server).
pub fn migration_count(dir: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/store")
        .join(dir);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn sample_room() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rooms/room_hotel_desk.jpg")
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts a clean failure: exit code 1, exactly one line on stderr starting
/// with `latina: `, no panic or backtrace; returns that line.
pub fn one_line_failure(output: &std::process::Output) -> String {
    let stderr = stderr_of(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("latina: "), "{stderr}");
    lines[0].to_string()
}

/// Where [`assert_secret_nowhere`] looked.
pub struct Searched {
    /// Files under the data dir (the SQLite database among them).
    pub files: Vec<PathBuf>,
    /// Objects under the test's bucket prefix (studio pass).
    pub objects: Vec<String>,
    /// Whether the database was searched (the file, or every row on the server).
    pub database: bool,
}

impl Searched {
    /// Files and objects searched.
    pub fn places(&self) -> usize {
        self.files.len() + self.objects.len()
    }
}

/// Asserts that `secret` is in neither output stream, nor any file under
/// the data dir (the SQLite database included), nor in the studio pass any
/// row on the server or object in the bucket; says where it looked.
pub fn assert_secret_nowhere(env: &Env, out: &std::process::Output, secret: &str) -> Searched {
    let contains = |bytes: &[u8]| bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
    assert!(!contains(&out.stdout), "the secret is on stdout");
    assert!(!contains(&out.stderr), "the secret is on stderr");
    let mut files = Vec::new();
    let mut stack = vec![env.data()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                assert!(
                    !contains(&std::fs::read(&p).unwrap()),
                    "the secret is in {p:?}"
                );
                files.push(p);
            }
        }
    }
    let mut objects = Vec::new();
    let database = match env.studio() {
        Some(studio) => {
            assert!(
                !contains(studio.db.dump().as_bytes()),
                "the secret is in the server's rows"
            );
            for key in studio.s3.list(&studio.prefix) {
                assert!(
                    !contains(&studio.s3.get(&key)),
                    "the secret is in the object {key}"
                );
                objects.push(key);
            }
            true
        }
        None => files.contains(&env.db_path()),
    };
    Searched {
        files,
        objects,
        database,
    }
}

/// A multi-threaded runtime for the fake provider servers a test starts
/// beside the binary it runs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A small solid-colour PNG, as a fake provider answers with.
pub fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb(rgb));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    bytes
}
