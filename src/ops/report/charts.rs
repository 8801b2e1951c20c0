//! The report's six charts as inline SVG: rating over time, ratings per
//! provider, the three parameters against rating with the GP's curve, and
//! the prompt-version timeline. Series are downsampled here so the page
//! stays small however long the history is.

use std::fmt::Write;

use super::html::escape;
use super::series::{best_so_far_steps, downsample, jitter, moving_average, subsample_indices};
use super::svg::{Anchor, AxesSpec, Plot, Svg, ticks};
use super::{ModelState, ReportData, VersionSpan};

/// Above this many ratings the time chart draws bucket means, not dots.
pub const MAX_SERIES_POINTS: usize = 1000;
/// At most this many observed points per parameter chart.
pub const MAX_SCATTER_POINTS: usize = 2000;
/// Moving-average window of the time chart, in ratings.
pub const MOVING_AVERAGE_WINDOW: usize = 10;
/// Prompt versions drawn in the timeline (the most recent ones).
pub const MAX_TIMELINE_ROWS: usize = 40;

const WIDTH: f64 = 1140.0;
const PROVIDER_COLOURS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999933", "#882255",
];
const STAR_COLOURS: [&str; 5] = ["#d7301f", "#fc8d59", "#fee08b", "#a6d96a", "#1a9850"];

/// The charts, ready to embed, with their explanatory notes.
pub struct Charts {
    /// Rating over time.
    pub ratings: String,
    /// What the time chart shows (depends on downsampling).
    pub ratings_note: String,
    /// Star distribution per provider.
    pub providers: String,
    /// init_strength, guidance_scale, controlnet_weight against rating.
    pub params: Vec<String>,
    /// What the parameter charts show.
    pub params_note: String,
    /// HTML legend under the parameter charts (already escaped).
    pub params_legend: String,
    /// Prompt-version timeline.
    pub timeline: String,
    /// What the timeline shows.
    pub timeline_note: String,
}

/// Dot radius and opacity: large and solid for a few points, small and
/// translucent when thousands overlap.
fn dot_style(count: usize) -> (f64, f64) {
    match count {
        0..=100 => (4.0, 0.8),
        101..=500 => (3.0, 0.6),
        _ => (2.2, 0.45),
    }
}

/// A provider's colour: by its place among all provider names, sorted, so
/// every chart uses the same colour for it.
pub fn provider_colour(names: &[String], name: &str) -> &'static str {
    let i = names.iter().position(|n| n == name).unwrap_or(0);
    PROVIDER_COLOURS[i % PROVIDER_COLOURS.len()]
}

/// Draws every chart.
pub fn draw(data: &ReportData) -> Charts {
    let (ratings, ratings_note) = rating_over_time(&data.stars);
    let (params, params_note, params_legend) = parameter_charts(data);
    let (timeline, timeline_note) = timeline(data);
    Charts {
        ratings,
        ratings_note,
        providers: providers(data),
        params,
        params_note,
        params_legend,
        timeline,
        timeline_note,
    }
}

fn x_ticks_for(n: usize, max: usize) -> Vec<f64> {
    let t: Vec<f64> = ticks(1.0, n.max(2) as f64, max)
        .into_iter()
        .filter(|&v| v >= 1.0)
        .collect();
    if t.is_empty() { vec![1.0] } else { t }
}

/// Ratings in rating order, the trailing moving average and the best so far.
fn rating_over_time(stars: &[f64]) -> (String, String) {
    let n = stars.len();
    let height = 340.0;
    // Half a rating of margin keeps the first and last dots off the axes.
    let plot = Plot::new(
        (64.0, 40.0, WIDTH - 24.0, height - 52.0),
        (0.5, n.max(2) as f64 + 0.5),
        (0.5, 5.5),
    );
    let mut svg = Svg::new(WIDTH, height, "Rating over time");
    plot.axes(
        &mut svg,
        &AxesSpec {
            x_label: "rating number (in the order the ratings were given)",
            y_label: "stars",
            x_ticks: x_ticks_for(n, 12),
            y_ticks: vec![1.0, 2.0, 3.0, 4.0, 5.0],
        },
    );
    let ma = moving_average(stars, MOVING_AVERAGE_WINDOW);
    let note = if n <= MAX_SERIES_POINTS {
        let (r, opacity) = dot_style(n);
        for (i, &s) in stars.iter().enumerate() {
            let tip = format!("rating {}: {s} stars", i + 1);
            svg.circle(
                plot.at((i + 1) as f64, s),
                r,
                &format!(r##"fill="#7a8793" fill-opacity="{opacity}""##),
                Some(&tip),
            );
        }
        let line: Vec<(f64, f64)> = ma
            .iter()
            .enumerate()
            .map(|(i, &m)| plot.at((i + 1) as f64, m))
            .collect();
        svg.polyline(&line, r##"stroke="#0072B2" stroke-width="2""##);
        format!(
            "Each dot is one rated experiment ({n} in all); the blue line is the moving average of the last {MOVING_AVERAGE_WINDOW} ratings, the green steps the best rating so far."
        )
    } else {
        let buckets = downsample(stars, MAX_SERIES_POINTS);
        let ma_buckets = downsample(&ma, MAX_SERIES_POINTS);
        let upper: Vec<(f64, f64)> = ma_buckets
            .iter()
            .map(|b| plot.at(b.x + 1.0, b.max))
            .collect();
        let lower: Vec<(f64, f64)> = ma_buckets
            .iter()
            .map(|b| plot.at(b.x + 1.0, b.min))
            .collect();
        svg.band(&upper, &lower, r##"fill="#0072B2" fill-opacity="0.15""##);
        let line: Vec<(f64, f64)> = buckets.iter().map(|b| plot.at(b.x + 1.0, b.mean)).collect();
        svg.polyline(&line, r##"stroke="#0072B2" stroke-width="1.6""##);
        let per_bucket = (n - 2).div_ceil(MAX_SERIES_POINTS - 2);
        format!(
            "{n} ratings, drawn as the mean of about {per_bucket} consecutive ratings per point (blue line); the shaded band is the range of the {MOVING_AVERAGE_WINDOW}-rating moving average within each of those groups; the green steps are the best rating so far."
        )
    };
    let steps = best_so_far_steps(stars);
    let mut best_line = Vec::with_capacity(2 * steps.len() + 1);
    for (k, &(i, v)) in steps.iter().enumerate() {
        if k > 0 {
            best_line.push(plot.at((i + 1) as f64, steps[k - 1].1));
        }
        best_line.push(plot.at((i + 1) as f64, v));
    }
    if let Some(&(_, v)) = steps.last() {
        best_line.push(plot.at(n.max(1) as f64, v));
    }
    svg.polyline(
        &best_line,
        r##"stroke="#1a9850" stroke-width="2" stroke-dasharray="6 3""##,
    );
    // Legend above the plot, clear of the data.
    let y = 20.0;
    let mut x = plot.left;
    let moving = if n <= MAX_SERIES_POINTS {
        format!("moving average ({MOVING_AVERAGE_WINDOW})")
    } else {
        "mean per group; band: moving-average range".to_string()
    };
    if n <= MAX_SERIES_POINTS {
        svg.circle((x + 5.0, y - 4.0), 3.0, r##"fill="#7a8793""##, None);
        svg.text((x + 13.0, y), Anchor::Start, "small", "rating");
        x += 70.0;
    }
    svg.line(
        (x, y - 4.0),
        (x + 22.0, y - 4.0),
        r##"stroke="#0072B2" stroke-width="2""##,
    );
    svg.text((x + 28.0, y), Anchor::Start, "small", &moving);
    x += 40.0 + 6.5 * moving.len() as f64;
    svg.line(
        (x, y - 4.0),
        (x + 22.0, y - 4.0),
        r##"stroke="#1a9850" stroke-width="2" stroke-dasharray="6 3""##,
    );
    svg.text((x + 28.0, y), Anchor::Start, "small", "best so far");
    (svg.finish(), note)
}

/// One 100% stacked bar of star shares per provider, with n and the mean.
fn providers(data: &ReportData) -> String {
    let rows = &data.providers;
    let row_h = 34.0;
    let top = 44.0;
    let height = top + row_h * rows.len().max(1) as f64 + 44.0;
    let plot = Plot::new(
        (150.0, top, WIDTH - 210.0, height - 44.0),
        (0.0, 100.0),
        (0.0, 1.0),
    );
    let mut svg = Svg::new(WIDTH, height, "Ratings per provider");
    for (s, colour) in STAR_COLOURS.iter().enumerate() {
        let x = plot.left + s as f64 * 70.0;
        svg.rect(
            (x, 12.0),
            (12.0, 12.0),
            &format!(r#"fill="{colour}""#),
            None,
        );
        svg.text(
            (x + 17.0, 22.0),
            Anchor::Start,
            "small",
            &format!("{} ★", s + 1),
        );
    }
    for t in ticks(0.0, 100.0, 5) {
        let x = plot.x.map(t);
        svg.line((x, plot.top - 4.0), (x, plot.bottom), r#"class="grid""#);
        svg.text(
            (x, plot.bottom + 16.0),
            Anchor::Middle,
            "tick",
            &format!("{t:.0}%"),
        );
    }
    svg.text(
        ((plot.left + plot.right) / 2.0, plot.bottom + 34.0),
        Anchor::Middle,
        "label",
        "share of the provider's ratings",
    );
    for (r, p) in rows.iter().enumerate() {
        let y = top + r as f64 * row_h;
        let n: u64 = p.counts.iter().sum();
        let mean = if n == 0 {
            0.0
        } else {
            p.counts
                .iter()
                .enumerate()
                .map(|(s, &c)| (s + 1) as f64 * c as f64)
                .sum::<f64>()
                / n as f64
        };
        let colour = provider_colour(&data.provider_names, &p.provider);
        svg.rect(
            (plot.left - 136.0, y + 10.0),
            (10.0, 10.0),
            &format!(r#"fill="{colour}""#),
            None,
        );
        svg.text(
            (plot.left - 120.0, y + 19.0),
            Anchor::Start,
            "label",
            &p.provider,
        );
        let mut acc = 0u64;
        for (s, &c) in p.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let x0 = plot.x.map(100.0 * acc as f64 / n as f64);
            acc += c;
            let x1 = plot.x.map(100.0 * acc as f64 / n as f64);
            let share = 100.0 * c as f64 / n as f64;
            let tip = format!("{}: {} ★ given {c} times ({share:.1}%)", p.provider, s + 1);
            svg.rect(
                (x0, y + 4.0),
                (x1 - x0, row_h - 8.0),
                &format!(
                    r##"fill="{}" stroke="#fff" stroke-width="1""##,
                    STAR_COLOURS[s]
                ),
                Some(&tip),
            );
            let label = c.to_string();
            if x1 - x0 > 8.0 + 7.0 * label.len() as f64 {
                svg.text(
                    ((x0 + x1) / 2.0, y + row_h / 2.0 + 4.0),
                    Anchor::Middle,
                    "inbar",
                    &label,
                );
            }
        }
        svg.text(
            (plot.right + 12.0, y + 19.0),
            Anchor::Start,
            "label",
            &format!("n {n} · mean {mean:.2}"),
        );
    }
    svg.finish()
}

const PARAM_NAMES: [&str; 3] = ["init_strength", "guidance_scale", "controlnet_weight"];

/// Observed points (jittered, coloured per provider) and the GP's mean ±
/// sd along each parameter, the others held at the best settings.
fn parameter_charts(data: &ReportData) -> (Vec<String>, String, String) {
    let p = &data.params;
    let indices = subsample_indices(p.points.len(), MAX_SCATTER_POINTS);
    let (w, h) = (372.0, 300.0);
    let mut charts = Vec::with_capacity(3);
    let (radius, opacity) = dot_style(indices.len());
    for d in 0..3 {
        let (mut lo, mut hi) = (p.bounds[d].low, p.bounds[d].high);
        for &i in &indices {
            lo = lo.min(p.points[i].values[d]);
            hi = hi.max(p.points[i].values[d]);
        }
        let pad = (hi - lo) * 0.03;
        let plot = Plot::new(
            (58.0, 14.0, w - 12.0, h - 50.0),
            (lo - pad, hi + pad),
            (0.5, 5.5),
        );
        let mut svg = Svg::new(w, h, &format!("{} against rating", PARAM_NAMES[d]));
        plot.axes(
            &mut svg,
            &AxesSpec {
                x_label: PARAM_NAMES[d],
                y_label: "stars",
                x_ticks: ticks(lo, hi, 5),
                y_ticks: vec![1.0, 2.0, 3.0, 4.0, 5.0],
            },
        );
        for &i in &indices {
            let pt = &p.points[i];
            let colour = provider_colour(&data.provider_names, &p.providers[pt.provider]);
            svg.circle(
                plot.at(pt.values[d], f64::from(pt.stars) + jitter(i as u64, 0.22)),
                radius,
                &format!(r#"fill="{colour}" fill-opacity="{opacity}""#),
                None,
            );
        }
        if let ModelState::Fitted(m) = &data.model {
            let clamp = |v: f64| v.clamp(0.5, 5.5);
            let curve = &m.curves[d];
            let upper: Vec<(f64, f64)> = curve
                .iter()
                .map(|c| plot.at(c.x, clamp(c.mean + c.sd)))
                .collect();
            let lower: Vec<(f64, f64)> = curve
                .iter()
                .map(|c| plot.at(c.x, clamp(c.mean - c.sd)))
                .collect();
            let mean: Vec<(f64, f64)> = curve.iter().map(|c| plot.at(c.x, clamp(c.mean))).collect();
            svg.band(&upper, &lower, r##"fill="#333" fill-opacity="0.13""##);
            svg.polyline(&mean, r##"stroke="#222" stroke-width="2""##);
            let fixed = [
                m.fixed.init_strength,
                m.fixed.guidance_scale,
                m.fixed.controlnet_weight,
            ][d];
            svg.line(
                plot.at(fixed, 0.5),
                plot.at(fixed, 5.5),
                r##"stroke="#222" stroke-width="1" stroke-dasharray="3 3""##,
            );
        }
        charts.push(svg.finish());
    }
    let shown = if indices.len() < p.points.len() {
        format!(
            "{} of {} rated experiments shown, evenly spread over the history",
            indices.len(),
            p.points.len()
        )
    } else {
        format!("all {} rated experiments shown", p.points.len())
    };
    let note = match &data.model {
        ModelState::Fitted(m) => format!(
            "Dots are rated experiments ({shown}; stars jittered vertically so equal ratings do not hide each other). The grey band is the GP's predicted mean ± one sd along each parameter for {}, with the other two held at the best settings tried (dashed line).",
            m.provider
        ),
        _ => format!(
            "Dots are rated experiments ({shown}; stars jittered vertically). No model curve: {}.",
            match &data.model {
                ModelState::Failed(why) => format!("the model could not be fitted ({why})"),
                _ => "it needs at least two ratings of configured providers".to_string(),
            }
        ),
    };
    let mut legend = String::new();
    for name in &p.providers {
        let _ = write!(
            legend,
            r#"<span><span class="swatch" style="background:{}"></span>{}</span>"#,
            provider_colour(&data.provider_names, name),
            escape(name)
        );
    }
    if let ModelState::Fitted(m) = &data.model {
        let _ = write!(
            legend,
            r#"<span><span class="swatch band" style="background:#bbb"></span>GP mean ± sd ({})</span>"#,
            escape(&m.provider)
        );
    }
    (charts, note, legend)
}

fn status_colour(status: &str) -> &'static str {
    match status {
        "champion" => "#1a9850",
        "challenger" => "#E69F00",
        "rejected" => "#d7301f",
        _ => "#9e9e9e",
    }
}

fn decision_colour(decision: &str) -> &'static str {
    match decision {
        "promote" => "#1a9850",
        "reject" => "#d7301f",
        "activate" => "#0072B2",
        "rollback" => "#CC79A7",
        _ => "#666666",
    }
}

/// One row per prompt version: its span in rating order, mean and status,
/// with the champion/challenger decisions marked.
fn timeline(data: &ReportData) -> (String, String) {
    let n = data.stars.len();
    let all = &data.versions;
    let skipped = all.len().saturating_sub(MAX_TIMELINE_ROWS);
    let rows: &[VersionSpan] = &all[skipped..];
    let row_h = 26.0;
    let top = 48.0;
    let height = top + row_h * rows.len().max(1) as f64 + 52.0;
    let plot = Plot::new(
        (104.0, top, WIDTH - 250.0, height - 52.0),
        (1.0, n.max(2) as f64),
        (0.0, 1.0),
    );
    let mut svg = Svg::new(WIDTH, height, "Prompt versions");
    // Legend: statuses, then decisions.
    let mut x = plot.left;
    for status in ["champion", "challenger", "retired", "rejected"] {
        svg.rect(
            (x, 12.0),
            (14.0, 10.0),
            &format!(r#"fill="{}""#, status_colour(status)),
            None,
        );
        svg.text((x + 19.0, 21.0), Anchor::Start, "small", status);
        x += 30.0 + 7.0 * status.len() as f64;
    }
    x += 20.0;
    for decision in ["promote", "reject", "expire", "activate", "rollback"] {
        svg.polygon(
            &marker(x + 5.0, 12.0),
            &format!(r#"fill="{}""#, decision_colour(decision)),
            None,
        );
        svg.text((x + 14.0, 21.0), Anchor::Start, "small", decision);
        x += 24.0 + 7.0 * decision.len() as f64;
    }
    for t in x_ticks_for(n, 12) {
        let px = plot.x.map(t);
        svg.line((px, plot.top - 6.0), (px, plot.bottom), r#"class="grid""#);
        svg.line(
            (px, plot.bottom),
            (px, plot.bottom + 4.0),
            r#"class="axis""#,
        );
        svg.text(
            (px, plot.bottom + 17.0),
            Anchor::Middle,
            "tick",
            &format!("{t:.0}"),
        );
    }
    svg.line(
        (plot.left, plot.bottom),
        (plot.right, plot.bottom),
        r#"class="axis""#,
    );
    svg.text(
        ((plot.left + plot.right) / 2.0, plot.bottom + 36.0),
        Anchor::Middle,
        "label",
        "rating number",
    );
    for (r, v) in rows.iter().enumerate() {
        let y = top + r as f64 * row_h;
        svg.text(
            (plot.left - 10.0, y + 17.0),
            Anchor::End,
            "label",
            &format!("v{}", v.version),
        );
        let colour = status_colour(&v.status);
        let right = match v.span {
            Some((first, last, count, mean)) => {
                let x0 = plot.x.map((first + 1) as f64);
                let x1 = plot.x.map((last + 1) as f64).max(x0 + 3.0);
                let tip = format!(
                    "v{} ({}): ratings {}–{}, {count} rated, mean {mean:.2}",
                    v.version,
                    v.status,
                    first + 1,
                    last + 1
                );
                svg.rect(
                    (x0, y + 6.0),
                    (x1 - x0, row_h - 12.0),
                    &format!(r#"fill="{colour}" rx="3""#),
                    Some(&tip),
                );
                format!("mean {mean:.2} · n {count} · {}", v.status)
            }
            None => format!("no ratings · {}", v.status),
        };
        svg.rect(
            (plot.right + 12.0, y + 9.0),
            (8.0, 8.0),
            &format!(r#"fill="{colour}""#),
            None,
        );
        svg.text(
            (plot.right + 26.0, y + 17.0),
            Anchor::Start,
            "label",
            &right,
        );
    }
    for d in &data.decisions {
        let Some(r) = rows.iter().position(|v| v.version == d.challenger) else {
            continue;
        };
        let y = top + r as f64 * row_h;
        let px = plot.x.map(d.position.clamp(1, n.max(1)) as f64);
        let colour = decision_colour(&d.decision);
        if matches!(d.decision.as_str(), "promote" | "activate" | "rollback") {
            svg.line(
                (px, plot.top - 4.0),
                (px, plot.bottom),
                &format!(r#"stroke="{colour}" stroke-width="1" stroke-opacity="0.5""#),
            );
        }
        let tip = format!(
            "{} v{} (champion v{}) after rating {}",
            d.decision, d.challenger, d.champion, d.position
        );
        svg.polygon(
            &marker(px, y - 1.0),
            &format!(r##"fill="{colour}" stroke="#fff" stroke-width="0.8""##),
            Some(&tip),
        );
    }
    let mut note = "Each bar spans a prompt version's rated experiments in rating order; the right column gives its mean rating, count and status. Triangles mark champion/challenger decisions (hover for details); a vertical line marks a change of champion.".to_string();
    if skipped > 0 {
        note.push_str(&format!(
            " The {} most recent of {} versions are shown.",
            rows.len(),
            all.len()
        ));
    }
    (svg.finish(), note)
}

/// A small downward triangle with its tip at `(x, y + 9)`.
fn marker(x: f64, y: f64) -> [(f64, f64); 3] {
    [(x - 5.0, y), (x + 5.0, y), (x, y + 9.0)]
}
