//! Renders a contact sheet of what the built-in engines do to a photo:
//! one row per engine, columns sweeping one parameter at a time.
//!
//! ```text
//! cargo run --release --example contact_sheet -- examples/rooms/room_hotel_desk.jpg sheet.png
//! ```
//! Columns: the photo; low/high init_strength; low/high guidance_scale;
//! low/high controlnet_weight (others at mid-range); and the base prompt
//! replaced by "warm light, vibrant colors, deep shadows, crisp textures".

use latina::domain::Params;
use latina::imaging::{Analysis, Engine, LoadLimits, StyleIntent, load, preview, render};
use latina::prompts::base_prompt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .unwrap_or("examples/rooms/room_hotel_desk.jpg".into());
    let output = args.next().unwrap_or("contact_sheet.png".into());
    let height: u32 = args.next().and_then(|h| h.parse().ok()).unwrap_or(240);
    let photo = load::load(input.as_ref(), &LoadLimits::default())?;
    let analysis = Analysis::of(&photo.rgb);
    let base = base_prompt();
    let base_style = StyleIntent::from_prompt(&base.prompt, &base.negative_prompt);
    let other_style = StyleIntent::from_prompt(
        "warm light, vibrant colors, deep shadows, crisp textures",
        "",
    );
    let mid = Params {
        init_strength: 0.3,
        guidance_scale: 8.5,
        controlnet_weight: 0.85,
    };
    let columns: Vec<(Params, &StyleIntent)> = vec![
        (
            Params {
                init_strength: 0.1,
                ..mid
            },
            &base_style,
        ),
        (
            Params {
                init_strength: 0.5,
                ..mid
            },
            &base_style,
        ),
        (
            Params {
                guidance_scale: 5.0,
                ..mid
            },
            &base_style,
        ),
        (
            Params {
                guidance_scale: 12.0,
                ..mid
            },
            &base_style,
        ),
        (
            Params {
                controlnet_weight: 0.7,
                ..mid
            },
            &base_style,
        ),
        (
            Params {
                controlnet_weight: 0.99,
                ..mid
            },
            &base_style,
        ),
        (mid, &other_style),
    ];
    let mut rows = Vec::new();
    for engine in [Engine::Tone, Engine::Detail] {
        let renders: Vec<_> = columns
            .iter()
            .map(|(params, style)| {
                let plan = engine.plan(params, style, &analysis.stats, photo.grayscale);
                render::render(&photo.rgb, &analysis, &plan)
            })
            .collect();
        let mut panels = vec![&photo.rgb];
        panels.extend(renders.iter());
        rows.push(preview::side_by_side(&panels, height));
    }
    let width = rows.iter().map(|r| r.width()).max().unwrap_or(1);
    let mut sheet = image::RgbImage::from_pixel(
        width,
        rows.iter().map(|r| r.height()).sum(),
        image::Rgb([255; 3]),
    );
    let mut y = 0;
    for row in &rows {
        image::imageops::replace(&mut sheet, row, 0, y as i64);
        y += row.height();
    }
    sheet.save(&output)?;
    println!("{output}");
    Ok(())
}
