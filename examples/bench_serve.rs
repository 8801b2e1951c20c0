//! Benchmark of `latina serve`: how long the queue page takes with about
//! 1,000 unrated renders and the dashboard (status numbers, the status
//! JSON it polls, and the framed report charts) on a 100,000-rating
//! history. It starts the real binary on the database and times whole HTTP
//! requests over loopback; prints the median, min and max of each.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example gen_history -- --experiments 100000 --out /tmp/h.jsonl
//! target/release/latina --db /tmp/h.db --data-dir /tmp/h import /tmp/h.jsonl
//! cargo run --release --example bench_serve -- /tmp/h.db [RUNS]
//! ```
//! `LATINA_BIN` names another binary (default: `target/release/latina`).
//! gen_history's 100,000 rated experiments come with 1 % unrated ones on
//! top: the 1,000 unrated renders of the queue.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let db = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bench_serve DB [RUNS]"))?;
    let runs: usize = args.next().map_or(Ok(9), |r| r.parse())?;
    let bin = std::env::var("LATINA_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/latina").to_string()
    });
    let data = tempfile::tempdir()?;
    let mut child = Command::new(&bin)
        .args(["--db", &db, "--data-dir"])
        .arg(data.path())
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let base = line
        .trim()
        .strip_prefix("latina serve: ")
        .ok_or_else(|| anyhow::anyhow!("no URL printed: {line:?}"))?
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    let status: serde_json::Value = rt.block_on(async {
        client
            .get(format!("{base}api/status"))
            .send()
            .await?
            .json()
            .await
    })?;
    println!(
        "database {db}: {} rated samples, {} unrated renders; {runs} runs each, after one warm-up",
        status["phase1"]["total_samples"], status["unrated"]
    );
    for path in ["", "dashboard", "api/status", "dashboard/report", "history"] {
        let mut ms = Vec::with_capacity(runs);
        let mut bytes = 0;
        for run in 0..=runs {
            let started = Instant::now();
            let body = rt.block_on(async {
                let r = client.get(format!("{base}{path}")).send().await?;
                anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
                Ok(r.bytes().await?)
            })?;
            if run > 0 {
                ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            bytes = body.len();
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "GET /{path:<18} median {:7.1} ms   min {:7.1}   max {:7.1}   {:>8} bytes",
            ms[ms.len() / 2],
            ms[0],
            ms[ms.len() - 1],
            bytes
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
