//! Times each stage of the built-in enhance pipeline on one photo, several
//! runs, and prints the medians. Whole-command figures come from timing the
//! real binary (see README "Performance").
//!
//! ```text
//! cargo run --release --example bench_enhance -- ../shared/fixtures/bench/room_4000x3000.jpg 5
//! ```

use latina::domain::Params;
use latina::imaging::{Analysis, Engine, LoadLimits, StyleIntent, encode, load, preview, render};
use latina::prompts::base_prompt;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .unwrap_or("examples/rooms/room_hotel_desk.jpg".into());
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let base = base_prompt();
    let style = StyleIntent::from_prompt(&base.prompt, &base.negative_prompt);
    let params = Params {
        init_strength: 0.3,
        guidance_scale: 8.5,
        controlnet_weight: 0.85,
    };
    let stages = [
        "load+check+hash",
        "analysis",
        "render (1 variant)",
        "encode (1 variant)",
        "preview",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); stages.len()];
    for _ in 0..runs {
        let t = Instant::now();
        let photo = load::load(input.as_ref(), &LoadLimits::default())?;
        times[0].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let analysis = Analysis::of(&photo.rgb);
        times[1].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let plan = Engine::Detail.plan(&params, &style, &analysis.stats, false);
        let out = render::render(&photo.rgb, &analysis, &plan);
        times[2].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let bytes = encode::jpeg(&out, 90);
        times[3].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let sheet = preview::side_by_side(&[&photo.rgb, &out, &out], 480);
        let _ = encode::jpeg(&sheet, 85);
        times[4].push(t.elapsed().as_secs_f64());
        std::hint::black_box(bytes);
    }
    println!(
        "{input}: median of {runs} runs, {} rayon threads",
        rayon::current_num_threads()
    );
    for (name, mut t) in stages.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        println!("  {name:<22} {:>7.1} ms", t[t.len() / 2] * 1000.0);
    }
    Ok(())
}
