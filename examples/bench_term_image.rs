//! Benchmark of the terminal preview path on the sample room: composing
//! the labelled preview (original | A | B at 480 px), and encoding it for
//! each inline protocol at the size the CLI sends (kitty and iTerm2 at
//! 1600 px wide, sixel at 960 px). Prints the median and the spread of
//! nine runs of each, and the bytes each protocol writes.
//!
//! ```text
//! cargo run --release --example bench_term_image
//! ```

use latina::imaging::preview;
use latina::imaging::term::{Protocol, encode};
use std::time::Instant;

fn median_ms(mut f: impl FnMut() -> usize) -> (f64, f64, f64, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..9 {
        let start = Instant::now();
        size = std::hint::black_box(f());
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[4], times[0], times[8], size)
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/rooms/room_hotel_desk.jpg"
    );
    let photo = image::open(path).expect("the sample room").into_rgb8();
    let (m, lo, hi, _) = median_ms(|| {
        preview::labelled(
            &[&photo, &photo, &photo],
            &["ORIGINAL", "A", "B"],
            "room_hotel_desk.jpg",
            480,
        )
        .width() as usize
    });
    println!("labelled preview 3 panels @480: median {m:.1} ms (min {lo:.1}, max {hi:.1})");
    let sheet = preview::labelled(
        &[&photo, &photo, &photo],
        &["ORIGINAL", "A", "B"],
        "room_hotel_desk.jpg",
        480,
    );
    for (name, protocol, width) in [
        ("kitty", Protocol::Kitty, 1600),
        ("iterm", Protocol::Iterm, 1600),
        ("sixel", Protocol::Sixel, 960),
    ] {
        let height = sheet.height() * width / sheet.width();
        let img = image::imageops::thumbnail(&sheet, width, height);
        let (m, lo, hi, bytes) = median_ms(|| encode(protocol, &img, Some(120)).len());
        println!(
            "{name:<5} {width}x{height}: median {m:.1} ms (min {lo:.1}, max {hi:.1}), {bytes} bytes"
        );
    }
}
