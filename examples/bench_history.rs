//! Benchmark of `latina history` on a database of 100,000 rated experiments:
//! the whole process of `latina history --json | head`, the default table
//! (20 rows and a count of the rest) and a few filters, median of 7 each,
//! plus SQLite's plan for each query.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_history
//! LATINA_BIN=/path/to/latina cargo run --release --example bench_history -- 100000
//! ```
//!
//! The database is generated here, in one transaction of plain SQL on a
//! schema made by `Store::open`: 50,000 enhance batches of two variants over
//! 500 photos and two years, four providers, five prompt versions, every
//! experiment rated (one in ten re-rated by someone else), comments on 40%.

use latina::domain::time;

/// Unix milliseconds as the database's timestamp text.
fn format_utc_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| String::new(), time::format)
}
use latina::store::{HistoryOrder, HistoryQuery, OpenMode, RatedFilter, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const PROVIDERS: [&str; 4] = ["tone", "detail", "leonardo", "replicate"];
const VERSIONS: [&str; 5] = ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"];
const RATERS: [&str; 4] = ["ana", "ben", "carla", "diego"];
const COMMENTS: [&str; 6] = [
    "muy plano, falta luz en la ventana",
    "los colores están desaturados",
    "great texture on the sofa, shadows a bit harsh",
    "la madera parece plástico",
    "perfecto para el cliente",
    "too dark in the corners",
];

fn generate(db: &Path, experiments: usize) -> Result<(), Box<dyn std::error::Error>> {
    // The schema and the seeded base prompt, exactly as latina makes them.
    let mut store = Store::open(db, OpenMode::CreateIfMissing)?;
    store.seed_prompt(&latina::prompts::base_prompt())?;
    drop(store);
    let mut conn = rusqlite::Connection::open(db)?;
    let tx = conn.transaction()?;
    let mut rng = StdRng::seed_from_u64(6);
    let start_ms = 1_732_000_000_000i64; // 2024-11-19
    let span_ms = 730 * 86_400_000i64;
    for (i, v) in VERSIONS.iter().enumerate().skip(1) {
        tx.execute(
            "INSERT INTO prompt_versions (version, prompt, negative_prompt, parent, status, created_at)
             VALUES (?1, 'an evolved prompt', 'cartoon', ?2, 'retired', ?3)",
            rusqlite::params![v, VERSIONS[i - 1], format_utc_ms(start_ms + i as i64 * span_ms / 5)],
        )?;
    }
    for i in 0..500 {
        tx.execute(
            "INSERT INTO images (sha256, stored_path, source_path, format, width, height, bytes)
             VALUES (?1, ?2, ?3, 'jpeg', 4000, 3000, 2600000)",
            rusqlite::params![
                format!("{i:064x}"),
                format!("/data/originals/{i:016x}.jpg"),
                format!("/home/ana/proyectos/casa-{}/salon_{i:03}.jpg", i % 37)
            ],
        )?;
    }
    let mut batch = tx.prepare(
        "INSERT INTO batches (id, image_id, room, preview_path, created_at) VALUES (?1, ?2, 'living_room', ?3, ?4)",
    )?;
    let mut experiment = tx.prepare(
        "INSERT INTO experiments (id, batch_id, option, provider, init_strength, guidance_scale,
             controlnet_weight, prompt_version, method, status, output_path, latency_ms, cost_usd,
             arm_rule, created_at, finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'gp_ei', 'done', ?9, ?10, ?11, 'thompson', ?12, ?13)",
    )?;
    let mut rating = tx.prepare(
        "INSERT INTO ratings (experiment_id, stars, comment, rated_by, rated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut rerate = Vec::new();
    for b in 0..experiments.div_ceil(2) {
        let batch_id = format!("{:032x}", rng.random::<u128>());
        let at = start_ms + (b as i64 * span_ms) / (experiments as i64 / 2);
        batch.execute(rusqlite::params![
            batch_id,
            1 + rng.random_range(0..500),
            format!("/data/previews/{batch_id}.jpg"),
            format_utc_ms(at)
        ])?;
        for option in ["A", "B"] {
            let id = format!("{:032x}", rng.random::<u128>());
            let provider = PROVIDERS[rng.random_range(0..PROVIDERS.len())];
            let latency: i64 = rng.random_range(30..40_000);
            experiment.execute(rusqlite::params![
                id,
                batch_id,
                option,
                provider,
                rng.random_range(0.1..0.5),
                rng.random_range(5.0..12.0),
                rng.random_range(0.7..0.99),
                VERSIONS[((at - start_ms) * 5 / span_ms).clamp(0, 4) as usize],
                format!("/data/renders/{id}.jpg"),
                latency,
                if provider == "leonardo" {
                    Some(0.015)
                } else {
                    None
                },
                format_utc_ms(at),
                format_utc_ms(at + latency)
            ])?;
            let comment =
                (rng.random::<f64>() < 0.4).then(|| COMMENTS[rng.random_range(0..COMMENTS.len())]);
            let rated_at = at + 60_000;
            rating.execute(rusqlite::params![
                id,
                rng.random_range(1..=5),
                comment,
                RATERS[rng.random_range(0..RATERS.len())],
                format_utc_ms(rated_at)
            ])?;
            if rng.random::<f64>() < 0.1 {
                rerate.push((id, rated_at + 86_400_000));
            }
        }
    }
    // Re-ratings come later, so their row ids are higher than every first rating.
    for (id, at) in rerate {
        rating.execute(rusqlite::params![
            id,
            rng.random_range(1..=5),
            "revisado",
            RATERS[rng.random_range(0..RATERS.len())],
            format_utc_ms(at)
        ])?;
    }
    drop((batch, experiment, rating));
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Wall time of one whole `latina` process, reading at most `lines` lines
/// of its stdout and then closing it, as `| head -n lines` does.
fn run(binary: &Path, db: &Path, args: &[&str], lines: Option<usize>) -> f64 {
    let t = Instant::now();
    let mut child = Command::new(binary)
        .arg("--db")
        .arg(db)
        .args(["--data-dir", db.parent().unwrap().to_str().unwrap()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("latina runs");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut read = 0;
    while lines.is_none_or(|n| read < n) {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        read += 1;
    }
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let elapsed = t.elapsed().as_secs_f64() * 1000.0;
    // Closing the pipe early must look like success: exit 0, nothing on stderr.
    assert!(
        out.status.success() && (lines.is_none() || out.stderr.is_empty()),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let experiments: usize = std::env::args().nth(1).map_or(Ok(100_000), |n| n.parse())?;
    let dir = std::env::temp_dir().join(format!("latina-bench-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("latina.db");
    let t = Instant::now();
    generate(&db, experiments)?;
    let store = Store::open(&db, OpenMode::MustExist)?;
    let health = store.health()?;
    println!(
        "generated {} experiments, {} ratings in {:.1} s; database {:.1} MB",
        health.experiments,
        health.ratings,
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&db)?.len() as f64 / 1e6
    );
    let now = time::now().as_millisecond();
    let plans = [
        ("newest first", HistoryQuery::default()),
        (
            "--provider --since",
            HistoryQuery {
                provider: Some("tone".into()),
                since: jiff::Timestamp::from_millisecond(now - 30 * 86_400_000).ok(),
                ..HistoryQuery::default()
            },
        ),
        (
            "--unrated --by --oldest-first",
            HistoryQuery {
                rated: Some(RatedFilter::Unrated),
                rated_by: Some("ana".into()),
                order: HistoryOrder::OldestFirst,
                ..HistoryQuery::default()
            },
        ),
    ];
    for (name, query) in plans {
        println!("plan, {name}:");
        for line in store.history_query_plan(&query)? {
            println!("    {line}");
        }
    }
    drop(store);

    let binary: PathBuf = std::env::var_os("LATINA_BIN").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or("target".into());
            PathBuf::from(target).join("release/latina")
        },
        PathBuf::from,
    );
    if !binary.is_file() {
        println!("(build the release binary, or set LATINA_BIN, for the whole-process figures)");
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let cases: [(&str, &[&str], Option<usize>); 8] = [
        ("history --json | head", &["--json", "history"], Some(10)),
        ("history (table, 20 rows + count)", &["history"], None),
        (
            "history --provider tone",
            &["history", "--provider", "tone"],
            None,
        ),
        ("history --since 30d", &["history", "--since", "30d"], None),
        (
            "history --rated --by ana",
            &["history", "--rated", "--by", "ana"],
            None,
        ),
        (
            "history --unrated (none match)",
            &["history", "--unrated"],
            None,
        ),
        (
            "history --json --limit 1000",
            &["--json", "history", "--limit", "1000"],
            None,
        ),
        ("history --json (all rows)", &["--json", "history"], None),
    ];
    println!("whole process, median of 7 (after one warm-up run):");
    for (name, args, lines) in cases {
        run(&binary, &db, args, lines);
        let times: Vec<f64> = (0..7).map(|_| run(&binary, &db, args, lines)).collect();
        println!("  {name:<36} {:>8.1} ms", median(times));
    }
    if std::env::var_os("LATINA_BENCH_KEEP").is_some() {
        println!("kept {}", db.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
