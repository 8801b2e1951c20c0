//! The page around the charts: escaping, the header with the headline
//! numbers, sections, thumbnails and the inline stylesheet. Everything is
//! inline (system fonts, no scripts, no links), so the file opens offline
//! and can be mailed as one attachment.

use std::fmt::Write;

use super::thumbnails::Thumbnail;
use super::{ModelState, ReportData};

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #f6f5f2; color: #222;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 6px; }
.meta, .note { color: #666; font-size: 13px; margin: 0 0 10px; overflow-wrap: anywhere; }
section, header { background: #fff; border: 1px solid #e3e1dc; border-radius: 8px; padding: 16px 18px; margin: 0 0 16px; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 8px; }
.stat { flex: 1 1 140px; background: #faf9f7; border: 1px solid #eceae5; border-radius: 6px; padding: 8px 12px; }
.stat .value { font-size: 24px; font-weight: 600; }
.stat .name { color: #666; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 13px; color: #444; margin: 6px 0 0; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 50%; margin-right: 5px; vertical-align: -1px; }
.swatch.band { border-radius: 2px; width: 18px; opacity: .7; }
svg { display: block; max-width: 100%; height: auto; }
svg .tick { font-size: 11px; fill: #555; }
svg .label { font-size: 12px; fill: #333; }
svg .small { font-size: 11px; fill: #444; }
svg .inbar { font-size: 11px; fill: #1b1b1b; }
svg .grid { stroke: #eeece8; stroke-width: 1; }
svg .axis { stroke: #8a8a8a; stroke-width: 1; }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 12px; }
figure { margin: 0; background: #faf9f7; border: 1px solid #eceae5; border-radius: 6px; padding: 6px; }
figure img, .placeholder { display: block; width: 100%; max-width: 240px; margin: 0 auto; border-radius: 4px; }
.placeholder { aspect-ratio: 4 / 3; background: repeating-linear-gradient(45deg, #eee, #eee 8px, #e4e4e4 8px, #e4e4e4 16px);
  color: #777; font-size: 12px; display: flex; align-items: center; justify-content: center; text-align: center; padding: 8px; box-sizing: border-box; overflow-wrap: anywhere; }
figcaption { font-size: 12px; color: #444; margin-top: 6px; overflow-wrap: anywhere; }
figcaption .stars { color: #c98a00; font-size: 14px; letter-spacing: 1px; }
figcaption .comment { color: #222; font-style: italic; }
footer { color: #888; font-size: 12px; text-align: center; }
"#;

/// The whole page from the gathered data and the rendered charts.
pub fn page(data: &ReportData, charts: &super::charts::Charts) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let h = &data.headline;
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>latina report</title><style>{STYLE}</style></head>
<body><main>
<header><h1>latina · learning report</h1>
<p class="meta">Generated {generated} from {database}</p>
<div class="stats">
<div class="stat"><div class="value" id="stat-samples">{samples}</div><div class="name">rated samples</div></div>
<div class="stat"><div class="value" id="stat-best">{best}</div><div class="name">best rating</div></div>
<div class="stat"><div class="value" id="stat-average">{average:.2}</div><div class="name">average rating</div></div>
<div class="stat"><div class="value" id="stat-convergence">{convergence:.0}%</div><div class="name">convergence · phase {phase}</div></div>
</div>
"#,
        generated = escape(&data.generated_at),
        database = escape(&data.database),
        samples = h.samples,
        best = h.best,
        average = h.average,
        convergence = h.convergence * 100.0,
        phase = h.phase,
    );
    let model_line = match &data.model {
        ModelState::Fitted(m) => format!(
            "The model's best settings tried: <b>{}</b> at init_strength {:.2}, guidance_scale {:.1}, controlnet_weight {:.2}, predicted {:.2} ± {:.2} stars ({} ratings modelled{}).",
            escape(&m.provider),
            m.fixed.init_strength,
            m.fixed.guidance_scale,
            m.fixed.controlnet_weight,
            m.mean,
            m.sd,
            m.observations,
            if m.subset { ", the most recent" } else { "" }
        ),
        ModelState::NotEnough => {
            "The model needs at least two ratings of configured providers.".to_string()
        }
        ModelState::Failed(why) => format!("The model could not be fitted: {}", escape(why)),
    };
    let _ = writeln!(
        out,
        r#"<p class="note">Convergence is 0.6·min(samples/50, 1) + 0.4·min(best/4, 1). {model_line}</p></header>"#
    );
    section(
        &mut out,
        "Rating over time",
        &charts.ratings_note,
        &charts.ratings,
    );
    section(
        &mut out,
        "Ratings per provider",
        "Share of each star rating per provider (latest ratings), with the count inside each bar.",
        &charts.providers,
    );
    let _ = writeln!(
        out,
        r#"<section><h2>Parameters against rating</h2><p class="note">{}</p><div class="charts">{}</div><div class="legend">{}</div></section>"#,
        escape(&charts.params_note),
        charts.params.join(""),
        charts.params_legend
    );
    section(
        &mut out,
        "Prompt versions",
        &charts.timeline_note,
        &charts.timeline,
    );
    if let Some(t) = &data.cost_tradeoff {
        cost_table(&mut out, t);
    }
    thumbnails(&mut out, "Best rated renders", &data.best);
    thumbnails(&mut out, "Worst rated renders", &data.worst);
    let _ = write!(
        out,
        "<footer>latina {} · self-contained report: no scripts, no network</footer>\n</main></body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// Each arm's predicted quality at its best settings against its price
/// and time, the Pareto front marked.
fn cost_table(out: &mut String, t: &crate::ops::status::CostTradeoff) {
    let _ = write!(
        out,
        r#"<section><h2>Quality against cost</h2><p class="note">Each arm at the best settings the model knows, its price per render (measured, configured or free) and mean time per render. An arm on the front is beaten by no other arm on quality, price and time together. {}</p><table id="cost-tradeoff"><tr><th>arm</th><th>settings</th><th>predicted stars</th><th>price per render</th><th>time per render</th><th>front</th></tr>"#,
        match &t.cheapest_at_target {
            Some(arm) => format!(
                "The cheapest way to {:.0} stars: <b>{}</b>.",
                t.target,
                escape(arm)
            ),
            None => format!(
                "No arm of known price is predicted to reach {:.0} stars yet.",
                t.target
            ),
        }
    );
    for a in &t.arms {
        let p = &a.best.trial.params;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>init_strength {:.2}, guidance_scale {:.1}, controlnet_weight {:.2}</td><td>{:.2} ± {:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&a.best.trial.provider),
            p.init_strength,
            p.guidance_scale,
            p.controlnet_weight,
            a.best.predicted_mean,
            a.best.predicted_sd,
            match (a.price_usd, a.price_source) {
                (_, Some("free")) => "free".to_string(),
                (Some(usd), Some(source)) => format!("${usd:.4} ({source})"),
                (Some(usd), None) => format!("${usd:.4}"),
                (None, _) => "unknown".to_string(),
            },
            a.seconds.map_or("-".to_string(), |s| format!("{s:.1} s")),
            if a.on_front { "on the front" } else { "beaten" }
        );
    }
    out.push_str("</table></section>");
}

fn section(out: &mut String, title: &str, note: &str, svg: &str) {
    let _ = writeln!(
        out,
        r#"<section><h2>{}</h2><p class="note">{}</p>{svg}</section>"#,
        escape(title),
        escape(note)
    );
}

fn thumbnails(out: &mut String, title: &str, items: &[Thumbnail]) {
    let _ = write!(out, "<section><h2>{}</h2>", escape(title));
    if items.is_empty() {
        out.push_str(r#"<p class="note">No rated renders with a file yet.</p></section>"#);
        return;
    }
    out.push_str(r#"<div class="thumbs">"#);
    for t in items {
        let r = &t.render;
        let file_name = std::path::Path::new(&r.output_path)
            .file_name()
            .map_or_else(
                || r.output_path.clone(),
                |n| n.to_string_lossy().into_owned(),
            );
        out.push_str("<figure>");
        match &t.image {
            Ok(uri) => {
                let _ = write!(
                    out,
                    r#"<img src="{uri}" alt="{}" width="{}" height="{}">"#,
                    escape(&file_name),
                    t.width,
                    t.height
                );
            }
            Err(why) => {
                let _ = write!(
                    out,
                    r#"<div class="placeholder">{}<br>{}</div>"#,
                    escape(&file_name),
                    escape(why)
                );
            }
        }
        let _ = write!(
            out,
            r#"<figcaption><span class="stars">{}{}</span> {}<br>{} · init {:.2} · guidance {:.1} · structure {:.2} · v{}<br>{}"#,
            "★".repeat(r.stars as usize),
            "☆".repeat(5 - r.stars as usize),
            escape(&r.provider),
            escape(&file_name),
            r.params.init_strength,
            r.params.guidance_scale,
            r.params.controlnet_weight,
            escape(&r.prompt_version),
            match (&r.comment, &r.rated_by) {
                (Some(c), Some(by)) => format!(
                    r#"<span class="comment">“{}”</span> — {}"#,
                    escape(c),
                    escape(by)
                ),
                (Some(c), None) => format!(r#"<span class="comment">“{}”</span>"#, escape(c)),
                (None, Some(by)) => format!("rated by {}", escape(by)),
                (None, None) => String::new(),
            }
        );
        out.push_str("</figcaption></figure>");
    }
    out.push_str("</div></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("muy plano, falta luz ñ"), "muy plano, falta luz ñ");
    }
}
