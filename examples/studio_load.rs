//! A studio under load: many designers rating and preferring at once, cron
//! `evolve` loops and `enhance` runs, all as separate `latina` processes
//! against one PostgreSQL server (and bucket), for a fixed time; then the
//! checks a studio cares about: no acknowledged rating lost, no failed
//! command, one prompt version per evolution trigger, every render file
//! reachable from a client with an empty data dir. Optionally the server is
//! restarted once mid-run (`--restart "shell command"`); commands in flight
//! may then fail, each with one line naming the server.
//!
//! ```sh
//! cargo build --release
//! PGPASSWORD=… cargo run --release --example studio_load -- \
//!     --db postgres://latina@127.0.0.1:5432/load --photo room.jpg \
//!     [--storage s3://bucket/prefix] [--seconds 120] [--designers 20] \
//!     [--restart "pg_ctl -D DIR restart -m fast"]
//! ```
//! The database must exist (empty). Prints `rate` round trips (p50/p99) and
//! the counts; exits 1 when a check fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    db: String,
    storage: Option<String>,
    photo: PathBuf,
    seconds: u64,
    designers: usize,
    restart: Option<String>,
    latina: PathBuf,
}

fn parse_args() -> Args {
    let mut args = Args {
        db: String::new(),
        storage: None,
        photo: PathBuf::new(),
        seconds: 120,
        designers: 20,
        restart: None,
        latina: PathBuf::from("target/release/latina"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => args.db = value,
            "--storage" => args.storage = Some(value),
            "--photo" => args.photo = value.into(),
            "--seconds" => args.seconds = value.parse().expect("--seconds N"),
            "--designers" => args.designers = value.parse().expect("--designers N"),
            "--restart" => args.restart = Some(value),
            "--latina" => args.latina = value.into(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!args.db.is_empty(), "--db postgres://… is required");
    assert!(args.photo.is_file(), "--photo must name a photo");
    args
}

/// One finished command: what ran, how long, and whether it worked.
struct Done {
    kind: &'static str,
    took: Duration,
    output: Output,
}

struct Client {
    args: Arc<Args>,
    data_dir: PathBuf,
}

impl Client {
    fn run(&self, kind: &'static str, argv: &[&str]) -> Done {
        let mut cmd = Command::new(&self.args.latina);
        cmd.arg("--db")
            .arg(&self.args.db)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--json")
            .args(argv)
            .env("NO_COLOR", "1");
        if let Some(storage) = &self.args.storage {
            cmd.arg("--storage").arg(storage);
        }
        let started = Instant::now();
        let output = cmd.output().expect("latina runs");
        Done {
            kind,
            took: started.elapsed(),
            output,
        }
    }
}

#[derive(Default)]
struct Tally {
    done: Vec<(&'static str, Duration, bool)>,
    failures: Vec<String>,
    /// Ratings whose `rate` exited 0 (only designers rate here).
    acknowledged: usize,
    rate_times: Vec<Duration>,
}

impl Tally {
    fn record(&mut self, done: &Done) -> Option<serde_json::Value> {
        let ok = done.output.status.success();
        self.done.push((done.kind, done.took, ok));
        if !ok {
            let stderr = String::from_utf8_lossy(&done.output.stderr);
            self.failures.push(format!(
                "{}: {}",
                done.kind,
                stderr.lines().last().unwrap_or("")
            ));
            return None;
        }
        serde_json::from_slice(&done.output.stdout).ok()
    }
}

fn experiments(client: &Client) -> Vec<String> {
    let done = client.run("history", &["history", "--limit", "200"]);
    serde_json::from_slice::<serde_json::Value>(&done.output.stdout)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|r| r["status"] == "done")
        .filter_map(|r| r["experiment_id"].as_str().map(str::to_string))
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args = Arc::new(parse_args());
    let root = tempfile::tempdir().expect("a temp dir");
    let client = |name: &str| Client {
        args: args.clone(),
        data_dir: root.path().join(name),
    };
    let photo = args.photo.to_str().expect("a UTF-8 photo path").to_string();

    // Something to rate before the designers arrive.
    let setup = client("setup");
    for _ in 0..3 {
        let done = setup.run("enhance", &["enhance", "--no-rate", &photo]);
        assert!(
            done.output.status.success(),
            "setup enhance failed: {}",
            String::from_utf8_lossy(&done.output.stderr)
        );
    }

    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut threads = Vec::new();
    for d in 0..args.designers {
        let (tally, me) = (tally.clone(), client(&format!("designer{d}")));
        threads.push(std::thread::spawn(move || {
            let name = format!("designer{d}");
            let mut ids = experiments(&me);
            let mut n = d;
            while Instant::now() < deadline {
                if n % 10 == 0 {
                    ids = experiments(&me);
                }
                n += 1;
                if ids.len() < 2 {
                    std::thread::sleep(Duration::from_millis(200));
                    ids = experiments(&me);
                    continue;
                }
                let a = &ids[(n * 7 + d) % ids.len()];
                if n % 4 == 0 {
                    let b = &ids[(n * 13 + d + 1) % ids.len()];
                    if a != b {
                        let done = me.run("prefer", &["prefer", a, b, "--by", &name]);
                        tally.lock().unwrap().record(&done);
                    }
                    continue;
                }
                let stars = (1 + (n + d) % 5).to_string();
                // Every third rating says what is wrong, so the evolution
                // crons have complaints to evolve from.
                const COMPLAINTS: [&str; 4] = [
                    "too dark",
                    "walls look plastic",
                    "colours oversaturated",
                    "blurry window",
                ];
                let mut argv = vec!["rate", a.as_str(), stars.as_str(), "--by", name.as_str()];
                if n % 3 == 0 {
                    argv.extend(["--comment", COMPLAINTS[(n / 3) % COMPLAINTS.len()]]);
                }
                let done = me.run("rate", &argv);
                let mut t = tally.lock().unwrap();
                if t.record(&done).is_some() {
                    t.rate_times.push(done.took);
                    t.acknowledged += 1;
                }
            }
        }));
    }
    for e in 0..2 {
        let (tally, me) = (tally.clone(), client(&format!("cron{e}")));
        threads.push(std::thread::spawn(move || {
            while Instant::now() < deadline {
                let done = me.run("evolve", &["evolve"]);
                tally.lock().unwrap().record(&done);
                std::thread::sleep(Duration::from_secs(2));
            }
        }));
    }
    for e in 0..2 {
        let (tally, me, photo) = (tally.clone(), client(&format!("enhance{e}")), photo.clone());
        threads.push(std::thread::spawn(move || {
            while Instant::now() < deadline {
                let done = me.run("enhance", &["enhance", "--no-rate", &photo]);
                tally.lock().unwrap().record(&done);
            }
        }));
    }
    if let Some(restart) = args.restart.clone() {
        let half = Duration::from_secs(args.seconds / 2);
        std::thread::sleep(half);
        let status = Command::new("sh").arg("-c").arg(&restart).status();
        eprintln!("restarted the server mid-run: {status:?}");
    }
    for t in threads {
        t.join().expect("a load thread");
    }

    let tally = Arc::try_unwrap(tally)
        .ok()
        .expect("threads joined")
        .into_inner()
        .unwrap();
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (kind, _, ok) in &tally.done {
        let e = by_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += usize::from(!ok);
    }
    let mut rate_times = tally.rate_times.clone();
    rate_times.sort();
    println!("commands (run, failed):");
    for (kind, (n, failed)) in &by_kind {
        println!("  {kind:8} {n:6} {failed:4}");
    }
    println!(
        "rate round trip (whole process): p50 {:.0} ms, p99 {:.0} ms over {} ratings",
        percentile(&rate_times, 0.5).as_secs_f64() * 1e3,
        percentile(&rate_times, 0.99).as_secs_f64() * 1e3,
        rate_times.len()
    );
    let mut failures = tally.failures.clone();
    failures.sort();
    failures.dedup();
    for f in failures.iter().take(10) {
        println!("  failure: {f}");
    }

    // The checks, read back through latina itself from a fresh client.
    let reader = client("reader");
    let export_path = root.path().join("after.jsonl");
    let done = reader.run(
        "export",
        &["export", "--out", export_path.to_str().unwrap()],
    );
    assert!(
        done.output.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&done.output.stderr)
    );
    let text = std::fs::read_to_string(&export_path).expect("the export");
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let ratings = records.iter().filter(|r| r["type"] == "rating").count();
    let mut triggers: BTreeMap<i64, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| r["type"] == "evolution") {
        if r["new_version"].is_string() {
            *triggers
                .entry(r["trigger_sample"].as_i64().unwrap_or(-1))
                .or_default() += 1;
        }
    }
    let doubled: Vec<_> = triggers.iter().filter(|(_, n)| **n > 1).collect();
    let acknowledged = tally.acknowledged;
    println!(
        "ratings acknowledged {acknowledged}, stored {ratings} (lost: {})",
        acknowledged.saturating_sub(ratings)
    );
    println!(
        "evolutions that created a version: {} (triggers with more than one: {})",
        triggers.len(),
        doubled.len()
    );
    let renders: Vec<String> = records
        .iter()
        .filter(|r| r["type"] == "experiment" && r["status"] == "done")
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    let mut unreachable = 0;
    for id in renders.iter().step_by((renders.len() / 20).max(1)) {
        let done = reader.run("show", &["show", id]);
        let shown: serde_json::Value =
            serde_json::from_slice(&done.output.stdout).unwrap_or_default();
        let files = shown["files"].as_array().cloned().unwrap_or_default();
        // The render and its original; a batch whose `enhance` was cut off
        // by a restart has its renders but no preview sheet, by design.
        if !done.output.status.success()
            || files
                .iter()
                .any(|f| f["role"] != "preview" && f["exists"] != true)
        {
            unreachable += 1;
        }
    }
    println!(
        "render files checked from an empty data dir: {} of {} renders, unreachable {unreachable}",
        renders.len().div_ceil((renders.len() / 20).max(1)),
        renders.len()
    );
    let failed = tally.failures.len();
    let ok = acknowledged <= ratings
        && doubled.is_empty()
        && unreachable == 0
        && (failed == 0 || args.restart.is_some());
    if args.restart.is_some() {
        let unclear = tally
            .failures
            .iter()
            .filter(|f| !f.contains("cannot reach the database"))
            .count();
        println!(
            "failed commands during the restart: {failed} (without the one clear line: {unclear})"
        );
    }
    std::process::exit(if ok { 0 } else { 1 });
}
