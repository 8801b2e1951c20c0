//! Concurrency and overhead of network renders, against local fake
//! providers that take 2 s per job: `latina enhance` (the release binary,
//! whole process) with two variants on each provider, concurrently and one
//! at a time, as medians over several runs.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_providers -- [RUNS] [PHOTO]
//! ```
//!
//! The fakes answer like the real APIs: the SD WebUI holds `img2img` for
//! 2 s; Leonardo accepts the upload and the generation at once and reports
//! `COMPLETE` 2 s after creation (latina polls); Replicate holds the create
//! call for 2 s (`Prefer: wait`) and answers `succeeded`. "Overhead" is what
//! latina adds: the whole command's wall time minus the 2 s the provider
//! takes, and each variant's recorded latency minus 2 s (upload prep,
//! request, download, decode; for Leonardo also the polling granularity).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const JOB: Duration = Duration::from_secs(2);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let photo = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "examples/rooms/room_hotel_desk.jpg".into()),
    );
    let binary = PathBuf::from("target/release/latina");
    if !binary.is_file() {
        return Err("build first: cargo build --release".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = runtime.block_on(fake_providers());
    let uri = server.uri();
    println!(
        "photo {}, {runs} runs per row, each fake job takes {} s\n",
        photo.display(),
        JOB.as_secs()
    );
    println!(
        "{:<10} {:>11}  {:>12}  {:>16}  {:>22}",
        "provider", "concurrency", "wall median", "wall - 2 s", "per-variant overhead"
    );
    for (label, provider_toml) in [
        (
            "sd-webui",
            format!("type = \"sd-webui\"\nbase_url = \"{uri}\"\ncontrolnet_model = \"m\"\n"),
        ),
        (
            "leonardo",
            format!("type = \"leonardo\"\nbase_url = \"{uri}\"\npoll_interval_secs = 0.1\n"),
        ),
        (
            "replicate",
            format!("type = \"replicate\"\nbase_url = \"{uri}\"\nprice_per_second = 0.000725\n"),
        ),
    ] {
        for concurrency in [4u32, 1] {
            let (walls, overheads) = measure(&binary, &photo, &provider_toml, concurrency, runs)?;
            let wall = median(walls);
            println!(
                "{label:<10} {concurrency:>11}  {:>10.2} s  {:>13.0} ms  {:>19.0} ms",
                wall,
                (wall - JOB.as_secs_f64()) * 1000.0,
                median(overheads),
            );
        }
    }
    Ok(())
}

/// Runs `enhance` `runs` times; returns wall seconds and per-variant
/// overheads (recorded latency − job time) in milliseconds.
fn measure(
    binary: &Path,
    photo: &Path,
    provider_toml: &str,
    concurrency: u32,
    runs: usize,
) -> Result<(Vec<f64>, Vec<f64>), Box<dyn std::error::Error>> {
    let mut walls = Vec::new();
    let mut overheads = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("latina.toml");
        std::fs::write(
            &config,
            format!(
                "[enhance]\nvariants = 2\nconcurrency = {concurrency}\n\n[[providers]]\nname = \"fake\"\n{provider_toml}"
            ),
        )?;
        let started = Instant::now();
        let out = Command::new(binary)
            .env("LEONARDO_API_KEY", "bench-key")
            .env("REPLICATE_API_TOKEN", "bench-token")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--json", "enhance", "--no-rate"])
            .arg(photo)
            .output()?;
        let wall = started.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!("enhance failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        for v in report["variants"].as_array().ok_or("no variants")? {
            if v["status"] != "done" {
                return Err(format!("variant failed: {}", v["error"]).into());
            }
            let latency = v["latency_ms"].as_f64().ok_or("no latency")?;
            overheads.push(latency - JOB.as_secs_f64() * 1000.0);
        }
        walls.push(wall);
    }
    Ok((walls, overheads))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A 1024×768 render, as PNG bytes.
fn render_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(1024, 768, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .expect("PNG encodes");
    bytes
}

/// Leonardo generations: `PENDING` until `JOB` after creation.
struct Generations {
    created: Mutex<HashMap<String, Instant>>,
    next: AtomicUsize,
    cdn: String,
}

struct CreateGeneration<'a>(&'a Generations);
struct PollGeneration<'a>(&'a Generations);

impl Respond for CreateGeneration<'static> {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let id = format!("gen-{}", self.0.next.fetch_add(1, Ordering::SeqCst));
        self.0
            .created
            .lock()
            .unwrap()
            .insert(id.clone(), Instant::now());
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "sdGenerationJob": {"generationId": id, "cost": {"amount": "0.0120", "unit": "DOLLARS"}}
        }))
    }
}

impl Respond for PollGeneration<'static> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        let created = self.0.created.lock().unwrap().get(id).copied();
        let body = match created {
            None => serde_json::json!({"generations_by_pk": null}),
            Some(at) if at.elapsed() < JOB => {
                serde_json::json!({"generations_by_pk": {"id": id, "status": "PENDING", "generated_images": []}})
            }
            Some(_) => serde_json::json!({"generations_by_pk": {"id": id, "status": "COMPLETE",
                "generated_images": [{"id": "img", "url": format!("{}/cdn/render.png", self.0.cdn), "nsfw": false}]}}),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn fake_providers() -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    let png = render_png();
    // SD WebUI: synchronous, 2 s.
    Mock::given(method("POST"))
        .and(path("/sdapi/v1/img2img"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(JOB)
                .set_body_json(serde_json::json!({"images": [BASE64.encode(&png)], "info": "{}"})),
        )
        .mount(&server)
        .await;
    // Leonardo: presigned upload, then an async generation.
    Mock::given(method("POST"))
        .and(path("/init-image"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "uploadInitImage": {"id": "init-1", "url": format!("{uri}/s3-upload"), "key": "k",
                                "fields": "{\"key\":\"k\",\"policy\":\"p\"}"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/s3-upload"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let generations: &'static Generations = Box::leak(Box::new(Generations {
        created: Mutex::new(HashMap::new()),
        next: AtomicUsize::new(0),
        cdn: uri.clone(),
    }));
    Mock::given(method("POST"))
        .and(path("/generations"))
        .respond_with(CreateGeneration(generations))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/generations/.+$"))
        .respond_with(PollGeneration(generations))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cdn/render.png"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/png")
                .set_body_bytes(png.clone()),
        )
        .mount(&server)
        .await;
    // Replicate: the create call holds for the job (Prefer: wait).
    Mock::given(method("POST"))
        .and(path("/predictions"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_delay(JOB)
                .set_body_json(serde_json::json!({
                    "id": "p1", "status": "succeeded",
                    "output": format!("{uri}/cdn/render.png"), "error": null,
                    "urls": {"get": format!("{uri}/predictions/p1"), "cancel": format!("{uri}/predictions/p1/cancel")},
                    "metrics": {"predict_time": 2.0, "total_time": 2.1}
                })),
        )
        .mount(&server)
        .await;
    server
}
