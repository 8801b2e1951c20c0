//! A temp home, data dir and working directory per test, a scrubbed
//! environment, and the real `latina` binary.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub struct Env {
    root: TempDir,
}

impl Env {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for dir in ["home", "cwd", "data"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        Env { root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    pub fn db_path(&self) -> PathBuf {
        self.data().join("latina.db")
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

    pub fn count(&self, table: &str) -> i64 {
        if !self.db_path().exists() {
            return 0;
        }
        let conn = rusqlite::Connection::open(self.db_path()).unwrap();
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
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

/// Asserts that `secret` is in neither output stream nor any file under the
/// data dir (the database included); returns the files searched.
pub fn assert_secret_nowhere(env: &Env, out: &std::process::Output, secret: &str) -> Vec<PathBuf> {
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
    files
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
