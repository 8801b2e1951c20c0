//! Benchmark of the ONNX embedding path (`imaging::embedding`): loading and
//! optimising a model, and embedding one render, as medians over several
//! runs, for two models built here the same way the tests build theirs:
//!
//! * `tiny`: the test model, 8 × 8 input, two convolutions (203 parameters).
//! * `vit-b32-sized`: a convolutional stand-in with CLIP ViT-B/32's image
//!   tower's input, weight count and multiply-adds: a 32 × 32 stride-32
//!   patch convolution 3 → 768 on 224 × 224 (a 7 × 7 grid), then 12 blocks
//!   of six 1 × 1 convolutions (four 768 → 768, as attention's q, k, v and
//!   output projections, then 768 → 3072 → 768, the MLP), ReLU after each:
//!   87.3 M parameters, 4.3 G multiply-adds. It has no softmax attention or
//!   layer norms (under 2 % of ViT-B/32's work at 50 tokens), so it is
//!   comparable in cost, not in what it computes.
//!
//! Each is timed on a 224 × 224 render (model only) and on a 4000 × 3000
//! render (resize and crop included).
//!
//! ```text
//! cargo run --release --example bench_embedding -- [RUNS]
//! ```

#[path = "../tests/tiny_onnx/mod.rs"]
mod tiny_onnx;

use image::{Rgb, RgbImage};
use latina::imaging::{EmbeddingSettings, ImageEmbedder};
use std::time::{Duration, Instant};
use tiny_onnx::{Batch, ConvLayer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(7)
        .max(1);
    let dir = tempfile::tempdir()?;
    let small = RgbImage::from_fn(224, 224, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
    let large = RgbImage::from_fn(4000, 3000, |x, y| {
        Rgb([(x / 16) as u8, (y / 12) as u8, ((x + y) / 28) as u8])
    });

    let tiny = vec![
        ConvLayer::patterned(3, 6, 3, 1),
        ConvLayer::patterned(6, 5, 1, 2),
    ];
    let mut vit = vec![ConvLayer::patches(3, 768, 32, 1)];
    for block in 0..12u32 {
        for j in 0..4 {
            vit.push(ConvLayer::patterned(768, 768, 1, 10 * block + j));
        }
        vit.push(ConvLayer::patterned(768, 3072, 1, 10 * block + 4));
        vit.push(ConvLayer::patterned(3072, 768, 1, 10 * block + 5));
    }
    println!("runs: {runs} (medians; min–max in brackets)");
    for (name, side, layers) in [("tiny", 8, tiny), ("vit-b32-sized", 224, vit)] {
        let params: usize = layers.iter().map(ConvLayer::params).sum();
        let started = Instant::now();
        let bytes = tiny_onnx::model(Batch::Dynamic, side, side, &layers);
        let path = dir.path().join(format!("{name}.onnx"));
        std::fs::write(&path, &bytes)?;
        let built = started.elapsed();
        let mut load = Vec::new();
        let mut model = None;
        for _ in 0..runs.min(3) {
            let t = Instant::now();
            model = Some(ImageEmbedder::load(&path, &EmbeddingSettings::default())?);
            load.push(t.elapsed());
        }
        let model = model.ok_or("no run")?;
        let time = |img: &RgbImage| -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
            model.embed(img)?; // warm-up
            let mut v = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                std::hint::black_box(model.embed(img)?);
                v.push(t.elapsed());
            }
            Ok(v)
        };
        let on_small = time(&small)?;
        let on_large = time(&large)?;
        println!(
            "{name}: {:.1} M parameters, file {:.1} MB (built in {:.2} s), {}-value embeddings",
            params as f64 / 1e6,
            bytes.len() as f64 / 1e6,
            built.as_secs_f64(),
            model.dims()
        );
        println!("  load + optimise      {}", summary(load));
        println!("  embed 224x224 render {}", summary(on_small));
        println!("  embed 4000x3000      {}", summary(on_large));
    }
    Ok(())
}

/// `median [min–max]` in milliseconds.
fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "{:9.3} ms [{:.3}–{:.3}]",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1])
    )
}
