//! Benchmark of `storage = "s3://…"` against the test SeaweedFS on this
//! machine: the write-through `put` of a render-sized file (local write +
//! upload), a cache miss (`local_copy` downloading into an empty data dir),
//! and a cache hit, each as the median and spread over several runs.
//!
//! ```text
//! eval "$(.ci/start-s3)"
//! cargo run --example bench_storage        # prints medians in ms
//! .ci/stop-s3
//! ```

use latina::config::{S3Config, StorageUrl};
use latina::storage::{Role, Storage};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let var = |name: &str| {
        std::env::var(name)
            .map_err(|_| anyhow::anyhow!("{name} is not set: eval \"$(.ci/start-s3)\""))
    };
    let vars = [
        ("AWS_ENDPOINT_URL", var("LATINA_TEST_S3_ENDPOINT")?),
        ("AWS_ACCESS_KEY_ID", var("LATINA_TEST_S3_ACCESS_KEY")?),
        ("AWS_SECRET_ACCESS_KEY", var("LATINA_TEST_S3_SECRET_KEY")?),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ];
    let env = move |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let url: StorageUrl = format!(
        "s3://{}/bench-{}",
        var("LATINA_TEST_S3_BUCKET")?,
        std::process::id()
    )
    .parse()
    .map_err(|e: String| anyhow::anyhow!(e))?;
    let runs = 15;
    for size_kb in [300usize, 3000] {
        let bytes: Vec<u8> = (0..size_kb * 1024).map(|i| (i * 31 % 251) as u8).collect();
        let (mut put, mut miss, mut hit) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let writer_dir = tempfile::tempdir()?;
            let writer = Storage::open(
                Some(&url),
                &S3Config::default(),
                writer_dir.path().into(),
                &env,
            )?;
            let name = format!("r{size_kb}-{run}.jpg");
            let started = Instant::now();
            let reference = writer.put(Role::Renders, &name, &bytes)?;
            put.push(started.elapsed().as_secs_f64() * 1e3);

            let reader_dir = tempfile::tempdir()?;
            let reader = Storage::open(
                Some(&url),
                &S3Config::default(),
                reader_dir.path().into(),
                &env,
            )?;
            let started = Instant::now();
            let local = reader.local_copy(&reference)?;
            miss.push(started.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(std::fs::read(&local)?.len() == bytes.len());
            let started = Instant::now();
            reader.local_copy(&reference)?;
            hit.push(started.elapsed().as_secs_f64() * 1e3);
        }
        for (what, mut xs) in [
            ("put (write-through)", put),
            ("local_copy miss", miss),
            ("local_copy hit", hit),
        ] {
            xs.sort_by(f64::total_cmp);
            println!(
                "{size_kb:>5} KB  {what:<20} median {:>8.2} ms  (min {:.2}, max {:.2}, {runs} runs)",
                xs[xs.len() / 2],
                xs[0],
                xs[xs.len() - 1]
            );
        }
    }
    Ok(())
}
