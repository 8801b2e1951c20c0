//! Benchmark of the render features (issue 15): the features of 8
//! candidates of a 12-megapixel photo, given the decoded renders, the way
//! `enhance` measures them (the photo's reference once, then each render).
//! Reports CPU time (user + system of the process, all threads) and wall
//! time as medians over several runs, and the cost per candidate.
//!
//! ```text
//! cargo run --release --example bench_render_features -- [PHOTO] [RUNS]
//! ```
//! Without PHOTO it uses `/work/shared/fixtures/bench/room_4000x3000.jpg`
//! or `../shared/fixtures/bench/room_4000x3000.jpg`, whichever exists.

use latina::domain::Params;
use latina::imaging::quality::QualityReference;
use latina::imaging::{Analysis, Engine, LoadLimits, StyleIntent, load, render};
use latina::prompts::base_prompt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CANDIDATES: usize = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let photo = match args.next() {
        Some(p) => PathBuf::from(p),
        None => [
            "/work/shared/fixtures/bench/room_4000x3000.jpg",
            "../shared/fixtures/bench/room_4000x3000.jpg",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or("no PHOTO given and the shared 12-megapixel fixture is not there")?,
    };
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(7).max(1);

    let loaded = load::load(&photo, &LoadLimits::default())?;
    let (w, h) = loaded.rgb.dimensions();
    let analysis = Analysis::of(&loaded.rgb);
    let base = base_prompt();
    let style = StyleIntent::from_prompt(&base.prompt, &base.negative_prompt);
    // Eight candidates across both engines and the parameter box.
    let renders: Vec<_> = (0..CANDIDATES)
        .map(|i| {
            let t = i as f64 / (CANDIDATES - 1) as f64;
            let params = Params {
                init_strength: 0.1 + 0.4 * t,
                guidance_scale: 12.0 - 7.0 * t,
                controlnet_weight: 0.7 + 0.29 * ((i * 3) % CANDIDATES) as f64 / 7.0,
            };
            let engine = if i % 2 == 0 {
                Engine::Tone
            } else {
                Engine::Detail
            };
            let plan = engine.plan(&params, &style, &analysis.stats, loaded.grayscale);
            render::render(&loaded.rgb, &analysis, &plan)
        })
        .collect();
    println!(
        "photo {} ({w}x{h}), {CANDIDATES} candidates, {runs} runs, {} threads",
        photo.display(),
        rayon::current_num_threads()
    );

    let (mut cpu_all, mut wall_all, mut cpu_reference, mut cpu_per) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut structure = Vec::new();
    for _ in 0..runs {
        let (cpu0, wall0) = (cpu_time(), Instant::now());
        let reference = QualityReference::new(&loaded.rgb);
        let cpu1 = cpu_time();
        structure = renders
            .iter()
            .map(|r| reference.features(r).structure)
            .collect();
        let cpu2 = cpu_time();
        wall_all.push(wall0.elapsed());
        cpu_all.push(cpu2 - cpu0);
        cpu_reference.push(cpu1 - cpu0);
        cpu_per.push((cpu2 - cpu1) / CANDIDATES as u32);
    }
    println!(
        "features of {CANDIDATES} candidates: CPU median {:.0} ms (min {:.0}, max {:.0}), wall median {:.0} ms",
        ms(median(&mut cpu_all.clone())),
        ms(*cpu_all.iter().min().unwrap_or(&Duration::ZERO)),
        ms(*cpu_all.iter().max().unwrap_or(&Duration::ZERO)),
        ms(median(&mut wall_all))
    );
    println!(
        "  the photo's reference once: CPU median {:.1} ms; each candidate: CPU median {:.1} ms",
        ms(median(&mut cpu_reference)),
        ms(median(&mut cpu_per))
    );
    println!("  structure of the candidates: {structure:.3?}");
    Ok(())
}

/// User + system CPU time of the whole process so far, in steps of 10 ms
/// (Linux's USER_HZ). `getrusage` would need `unsafe`, which the crate
/// forbids, so it is read from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15; after the ")" field 3 is index 0.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let hz = 100;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
