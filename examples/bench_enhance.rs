//! Benchmark of `latina enhance` on a 12-megapixel photo: the whole process
//! (wall time, CPU time and peak memory, via `/usr/bin/time`) and each
//! pipeline stage in-process, as medians over several runs.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_enhance -- [PHOTO] [RUNS]
//! ```
//! Without PHOTO it uses `../shared/fixtures/bench/room_4000x3000.jpg` when
//! present, else makes `target/bench/room_4000x3000.jpg` the same way (the
//! sample desk photo upscaled to 4000x3000 with photo-like grain, JPEG q90).

use latina::domain::Params;
use latina::imaging::{Analysis, Engine, LoadLimits, StyleIntent, encode, load, preview, render};
use latina::prompts::base_prompt;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let photo = match args.next() {
        Some(p) => PathBuf::from(p),
        None => default_photo()?,
    };
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    whole_process(&photo, runs)?;
    stages(&photo, runs)?;
    Ok(())
}

fn default_photo() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let shared = PathBuf::from("../shared/fixtures/bench/room_4000x3000.jpg");
    if shared.is_file() {
        return Ok(shared);
    }
    let made = PathBuf::from("target/bench/room_4000x3000.jpg");
    if !made.is_file() {
        let small = image::open("examples/rooms/room_hotel_desk.jpg")?.into_rgb8();
        let mut big =
            image::imageops::resize(&small, 4000, 3000, image::imageops::FilterType::Lanczos3);
        let mut rng = rand::rngs::StdRng::seed_from_u64(12345);
        for px in big.pixels_mut() {
            // Box–Muller grain: luma σ 5 plus per-channel σ 2.5.
            let mut normal = || {
                let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
            };
            let luma = 5.0 * normal();
            for c in px.0.iter_mut() {
                *c = (*c as f64 + luma + 2.5 * normal())
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
        std::fs::create_dir_all(made.parent().unwrap())?;
        std::fs::write(&made, encode::jpeg(&big, 90))?;
    }
    Ok(made)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn whole_process(photo: &Path, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let binary = Path::new("target/release/latina");
    if !binary.is_file() || !Path::new("/usr/bin/time").is_file() {
        println!(
            "(skipping the whole-process figures: needs target/release/latina and /usr/bin/time)"
        );
        return Ok(());
    }
    let data = tempfile_dir()?;
    let (mut wall, mut cpu, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%e %U %S %M"])
            .arg(binary)
            .args([
                "--data-dir",
                data.to_str().unwrap(),
                "-q",
                "enhance",
                "--no-rate",
            ])
            .arg(photo)
            .output()?;
        if !out.status.success() {
            return Err(format!("latina failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let fields: Vec<f64> = stderr
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        wall.push(fields[0]);
        cpu.push(fields[1] + fields[2]);
        rss.push(fields[3] / 1024.0);
    }
    let _ = std::fs::remove_dir_all(&data);
    println!(
        "latina enhance {} (2 variants, preview, encodes), median of {runs} runs:",
        photo.display()
    );
    println!(
        "  wall {:.2} s   cpu {:.2} s   peak RSS {:.0} MB",
        median(wall),
        median(cpu),
        median(rss)
    );
    Ok(())
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("latina-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn stages(photo: &Path, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let base = base_prompt();
    let style = StyleIntent::from_prompt(&base.prompt, &base.negative_prompt);
    let params = Params {
        init_strength: 0.3,
        guidance_scale: 8.5,
        controlnet_weight: 0.85,
    };
    let names = [
        "decode + checks + hash",
        "shared analysis",
        "render, tone engine",
        "render, detail engine",
        "encode one render",
        "preview",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut clock = |i: usize, t: Instant| times[i].push(t.elapsed().as_secs_f64() * 1000.0);
    for _ in 0..runs {
        let t = Instant::now();
        let loaded = load::load(photo, &LoadLimits::default())?;
        clock(0, t);
        let t = Instant::now();
        let analysis = Analysis::of(&loaded.rgb);
        clock(1, t);
        let mut outs = Vec::new();
        for (i, engine) in [(2, Engine::Tone), (3, Engine::Detail)] {
            let t = Instant::now();
            let plan = engine.plan(&params, &style, &analysis.stats, false);
            outs.push(render::render(&loaded.rgb, &analysis, &plan));
            clock(i, t);
        }
        let t = Instant::now();
        std::hint::black_box(encode::jpeg(&outs[0], 90));
        clock(4, t);
        let t = Instant::now();
        let sheet = preview::side_by_side(&[&loaded.rgb, &outs[0], &outs[1]], 480);
        std::hint::black_box(encode::jpeg(&sheet, 85));
        clock(5, t);
    }
    println!(
        "stages in-process ({} rayon threads), median ms of {runs} runs:",
        rayon::current_num_threads()
    );
    for (name, t) in names.iter().zip(times) {
        println!("  {name:<24} {:>7.1}", median(t));
    }
    Ok(())
}
