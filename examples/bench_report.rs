//! Benchmark of `latina report` as a whole process on a database of
//! 100,000 rated experiments (filled with plain SQL in one transaction:
//! two providers, varied parameters, ratings from a smooth function plus
//! noise, comments, six prompt versions with decisions, renders pointing at
//! a few real photos and some missing files). Prints the median of five
//! runs, the database size and the HTML size.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_report [-- N]
//! LATINA_BIN=/path/to/latina BENCH_REPORT_KEEP=/tmp/big.html BENCH_REPORT_DIR=/tmp/big \
//!     cargo run --release --example bench_report
//! ```

use latina::prompts::base_prompt;
use latina::store::{OpenMode, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rusqlite::params;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn fill(db: &Path, renders: &[String], n: usize) {
    let mut store = Store::open(db, OpenMode::CreateIfMissing).unwrap();
    store.seed_prompt(&base_prompt()).unwrap();
    drop(store);
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    let base = &base_prompt();
    // 1.0.0 (seeded) → 1.1.0 rejected, 1.2.0 promoted, 1.3.0 expired,
    // 1.4.0 promoted, 1.5.0 on trial.
    let versions = [
        ("1.1.0", "rejected"),
        ("1.2.0", "retired"),
        ("1.3.0", "retired"),
        ("1.4.0", "champion"),
        ("1.5.0", "challenger"),
    ];
    tx.execute(
        "UPDATE prompt_versions SET status = 'retired', created_at = '2025-01-01T00:00:00.000Z'",
        [],
    )
    .unwrap();
    // The champion index allows one champion: insert it last.
    for (k, (v, status)) in versions.iter().enumerate() {
        tx.execute(
            "INSERT INTO prompt_versions (version, prompt, negative_prompt, parent, status, created_at)
             VALUES (?1, ?2, ?3, '1.0.0', ?4, strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', ?5))",
            params![
                v,
                format!("{} v{v}", base.prompt),
                base.negative_prompt,
                if *status == "champion" { "retired" } else { status },
                format!("+{} hours", (k + 1) * n / 6 / 60)
            ],
        )
        .unwrap();
    }
    tx.execute(
        "UPDATE prompt_versions SET status = 'champion' WHERE version = '1.4.0'",
        [],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO images (sha256, stored_path, source_path, format, width, height, bytes)
         VALUES ('00', '/nonexistent', '/nonexistent', 'jpeg', 800, 600, 1)",
        [],
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(6);
    {
        let mut batch = tx
            .prepare("INSERT INTO batches (id, image_id) VALUES (?1, 1)")
            .unwrap();
        let mut exp = tx
            .prepare(
                "INSERT INTO experiments (id, batch_id, option, provider, init_strength,
                     guidance_scale, controlnet_weight, prompt_version, method, status,
                     output_path, latency_ms, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'gp-ei', 'done', ?9, 40,
                         strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', ?10))",
            )
            .unwrap();
        let mut rate = tx
            .prepare(
                "INSERT INTO ratings (experiment_id, stars, comment, rated_by, rated_at)
                 VALUES (?1, ?2, ?3, 'ana', strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', ?4))",
            )
            .unwrap();
        for i in 0..n {
            let batch_id = format!("b{:015x}", i / 2);
            if i % 2 == 0 {
                batch.execute([&batch_id]).unwrap();
            }
            let id = format!("{:032x}", i);
            let provider = if rng.random::<f64>() < 0.6 {
                "tone"
            } else {
                "detail"
            };
            let (s, g, c) = (
                rng.random_range(0.1..0.5),
                rng.random_range(5.0..12.0),
                rng.random_range(0.7..0.99),
            );
            let phase = i * 6 / n;
            let version = match phase {
                0 => "1.0.0",
                1 => "1.1.0",
                2 => "1.2.0",
                3 => "1.3.0",
                4 => "1.4.0",
                _ if i % 2 == 0 => "1.5.0",
                _ => "1.4.0",
            };
            let quality: f64 = 3.0 + 1.2 * (-((s - 0.25) / 0.12f64).powi(2)).exp()
                - 0.08 * (g - 8.0f64).abs()
                + if provider == "tone" { 0.3 } else { 0.0 }
                + 0.3 * (i as f64 / n as f64);
            let noise: f64 = rng.random_range(-1.2..1.2);
            let stars = (quality + noise).round().clamp(1.0, 5.0) as i64;
            let output = if i % 7 == 3 {
                format!("/nonexistent/render-{i}.jpg")
            } else {
                renders[i % renders.len()].clone()
            };
            let when = format!("+{} seconds", i * 60);
            exp.execute(params![
                id,
                batch_id,
                if i % 2 == 0 { "A" } else { "B" },
                provider,
                s,
                g,
                c,
                version,
                output,
                when
            ])
            .unwrap();
            let comment = (i % 5 == 0).then_some("muy plano, falta luz");
            rate.execute(params![
                id,
                stars,
                comment,
                format!("+{} seconds", i * 60 + 30)
            ])
            .unwrap();
        }
    }
    for (k, (champion, challenger, decision)) in [
        ("1.0.0", "1.1.0", "reject"),
        ("1.0.0", "1.2.0", "promote"),
        ("1.2.0", "1.3.0", "expire"),
        ("1.2.0", "1.4.0", "promote"),
    ]
    .iter()
    .enumerate()
    {
        tx.execute(
            "INSERT INTO prompt_decisions (champion, challenger, decision, champion_n,
                 champion_mean, challenger_n, challenger_mean, created_at)
             VALUES (?1, ?2, ?3, 10, 3.0, 10, 3.2, strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', ?4))",
            params![
                champion,
                challenger,
                decision,
                format!("+{} seconds", (k + 2) * n / 6 * 60 - 1)
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("a number of experiments"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = root.join("target/release/latina");
    // LATINA_BIN: a copy of the binary, when the target dir is shared and
    // another build may replace target/release/latina mid-run.
    let binary = std::env::var_os("LATINA_BIN")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(|d| Path::new(&d).join("release/latina"))
                .filter(|p| p.exists())
        })
        .unwrap_or(binary);
    assert!(
        binary.exists(),
        "build the binary first: cargo build --release"
    );
    let temp = tempfile::tempdir().unwrap();
    // BENCH_REPORT_DIR: fill and keep the database there (it must not hold one yet).
    let dir_path = std::env::var_os("BENCH_REPORT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let dir = dir_path.as_path();
    let db = dir.join("latina.db");
    let renders: Vec<String> = ["room_hotel_desk.jpg", "room_hotel_bed.jpg", "coffee.jpg"]
        .iter()
        .map(|f| {
            root.join("tests/fixtures/images")
                .join(f)
                .display()
                .to_string()
        })
        .collect();
    let started = Instant::now();
    fill(&db, &renders, n);
    println!(
        "filled {n} rated experiments in {:.1} s; database {:.1} MB",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&db).unwrap().len() as f64 / 1e6
    );
    let out = dir.join("report.html");
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let status = Command::new(&binary)
            .arg("--db")
            .arg(&db)
            .arg("--data-dir")
            .arg(dir)
            .args(["-q", "report", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .env_remove("LATINA_CONFIG")
            .status()
            .unwrap();
        assert!(status.success());
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "latina report: median {:.0} ms (min {:.0}, max {:.0}) over 5 runs; HTML {:.0} KB",
        times[2],
        times[0],
        times[4],
        std::fs::metadata(&out).unwrap().len() as f64 / 1024.0
    );
    if let Some(keep) = std::env::var_os("BENCH_REPORT_KEEP") {
        std::fs::copy(&out, &keep).unwrap();
        println!("report copied to {}", Path::new(&keep).display());
    }
}
