//! `latina show <experiment>`: one experiment in full, with its files.

use clap::Args;
use std::process::ExitCode;

use super::ui::{Ui, params_text};
use crate::domain::{Method, RenderFeatures, time};
use crate::ops::Workspace;
use crate::ops::history::{ExperimentReport, show};
use crate::store::OpenMode;

/// Arguments of `latina show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Experiment id or a unique prefix of it
    #[arg(value_name = "EXPERIMENT")]
    pub experiment: String,
}

/// Prints everything recorded about one experiment and whether its files
/// are still on disk.
pub fn run(ws: &Workspace, ui: &Ui, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let store = ws.open_store(OpenMode::ReadOnly)?;
    let report = show(&ws.storage, &store, &args.experiment)?;
    if ui.json {
        ui.json_pretty(&report)?;
    } else {
        for line in text(ui, &report) {
            ui.out(line)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A render's features in two lines: how it looks, then how it keeps the room.
fn features_lines(f: &RenderFeatures) -> (String, String) {
    let pairs = |names: &[&str]| {
        names
            .iter()
            .map(|name| {
                let i = RenderFeatures::NAMES
                    .iter()
                    .position(|n| n == name)
                    .unwrap_or_default();
                format!("{} {:.2}", name.replace('_', " "), f.as_array()[i])
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    (
        pairs(&[
            "exposure",
            "highlight_clipping",
            "shadow_clipping",
            "contrast",
            "colourfulness",
            "sharpness",
            "noise",
            "colour_cast",
        ]),
        pairs(&[
            "structure",
            "structure_local",
            "edge_agreement",
            "blur",
            "halo",
            "colour_shift",
        ]),
    )
}

fn text(ui: &Ui, report: &ExperimentReport) -> Vec<String> {
    let d = &report.detail;
    let row = &d.row;
    let label = |name: &str| ui.bold(format!("{name:<10}"));
    let mut lines = vec![format!("{} {}", label("experiment"), row.experiment_id)];
    let b = &d.batch;
    let meta: Vec<String> = [
        ("project", &b.project),
        ("type", &b.kind),
        ("room", &b.room),
        ("style", &b.style),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
    .collect();
    lines.push(format!(
        "{} option {} of batch {}{}",
        label("batch"),
        row.option,
        b.id,
        if meta.is_empty() {
            String::new()
        } else {
            format!(" ({})", meta.join(", "))
        }
    ));
    lines.push(format!(
        "{} {}{}",
        label("created"),
        time::format(row.created_at),
        row.finished_at
            .map(|f| format!(", finished {}", time::format(f)))
            .unwrap_or_default()
    ));
    let status = match row.status.as_str() {
        "failed" => ui.red("failed"),
        "done" => ui.green("done"),
        other => other.to_string(),
    };
    lines.push(format!("{} {status}", label("status")));
    let sl = &report.shortlist;
    if sl.reason.is_some() || !sl.shown {
        let verdict = if sl.guarded {
            ui.red("guarded (not shown)")
        } else if sl.shown {
            "shown".to_string()
        } else {
            "not shown (rate it with `latina rate ID STARS` all the same)".to_string()
        };
        lines.push(format!(
            "{} {verdict}{}",
            label("shortlist"),
            sl.reason
                .as_deref()
                .map(|r| format!(": {}", super::display::printable(r)))
                .unwrap_or_default()
        ));
        if let (Some(mean), Some(sd)) = (sl.reward_mean, sl.reward_sd) {
            lines.push(format!(
                "{} {}",
                label(""),
                ui.dim(format!("reward model: {mean:.1} ± {sd:.1} stars"))
            ));
        }
        if let (Some(value), Some(threshold)) = (sl.guard_structure, sl.guard_threshold) {
            lines.push(format!(
                "{} {}",
                label(""),
                ui.dim(format!(
                    "structure {value:.2} (guard threshold {threshold:.2})"
                ))
            ));
        }
    }
    match &d.image_info {
        Some(i) => {
            lines.push(format!(
                "{} {}",
                label("image"),
                super::display::printable(&i.source_path)
            ));
            lines.push(format!(
                "{} {}x{} {}, {} bytes, sha256 {}",
                label(""),
                i.width,
                i.height,
                i.format,
                i.bytes,
                i.sha256.get(..12).unwrap_or(&i.sha256)
            ));
        }
        None => lines.push(format!(
            "{} {}",
            label("image"),
            ui.dim("none (parameters proposed by suggest)")
        )),
    }
    let c = &report.context;
    match (&c.context.features, &d.image_info) {
        (Some(f), _) => {
            lines.push(format!(
                "{} {}",
                label("context"),
                super::suggest::features_text(f)
            ));
            if !c.overridden.is_empty() {
                lines.push(format!(
                    "{} {}",
                    label(""),
                    ui.dim(format!(
                        "set by hand: {}{}",
                        c.overridden.join(", "),
                        c.measured
                            .as_ref()
                            .map(|m| format!("; measured: {}", super::suggest::features_text(m)))
                            .unwrap_or_default()
                    ))
                ));
            }
        }
        (None, Some(_)) => lines.push(format!(
            "{} {}",
            label("context"),
            ui.dim("photo not measured yet (the next suggest or enhance measures it)")
        )),
        (None, None) => {}
    }
    match (&report.render_features, row.status.as_str()) {
        (Some(f), _) => {
            let (first, second) = features_lines(f);
            lines.push(format!("{} {first}", label("features")));
            lines.push(format!("{} {second}", label("")));
        }
        (None, "done") => lines.push(format!(
            "{} {}",
            label("features"),
            ui.dim("not measured yet (the next suggest or enhance measures it)")
        )),
        _ => {}
    }
    lines.push(format!(
        "{} {}{}",
        label("provider"),
        row.provider,
        row.fallback_from
            .as_ref()
            .map(|f| format!(" (fallback: {f} failed)"))
            .unwrap_or_default()
    ));
    lines.push(format!("{} {}", label("params"), params_text(&row.params)));
    match &row.knobs {
        Some(knobs) => lines.push(format!("{} {knobs}", label("knobs"))),
        None if row.status == "done" => lines.push(format!(
            "{} {}",
            label("knobs"),
            ui.dim("not recorded (rendered before latina kept which knobs were applied)")
        )),
        None => {}
    }
    lines.push(format!(
        "{} {}",
        label("chosen"),
        Method::parse(&d.method).map_or_else(|| d.method.clone(), |m| d.explanation.describe(m))
    ));
    lines.push(format!("{} {}", label("prompt"), d.prompt.version));
    lines.push(format!(
        "{} {}",
        label(""),
        d.prompt
            .prompt
            .as_deref()
            .unwrap_or("(version not in the database)")
    ));
    if let Some(negative) = d
        .prompt
        .negative_prompt
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        lines.push(format!("{} {negative}", label("negative")));
    }
    lines.push(format!(
        "{} {}",
        label("latency"),
        row.latency_ms.map_or("-".into(), |ms| format!("{ms} ms"))
    ));
    lines.push(format!(
        "{} {}",
        label("cost"),
        row.cost_usd
            .map_or("unknown".into(), |c| format!("${c:.4}"))
    ));
    if let Some(error) = &row.error {
        lines.push(format!(
            "{} {}",
            label("error"),
            ui.red(super::display::printable(error))
        ));
    }
    if d.ratings.is_empty() {
        lines.push(format!("{} {}", label("ratings"), ui.dim("none")));
    }
    // Each designer's latest rating counts; a re-rating by one designer
    // never replaces another's.
    let several = d.ratings.len() > 1;
    for (i, r) in d.ratings.iter().enumerate() {
        lines.push(format!(
            "{} {} {} {}{}{}",
            label(if i == 0 { "ratings" } else { "" }),
            ui.stars(r.stars),
            ui.dim(time::format(r.rated_at)),
            super::display::printable(r.rated_by.as_deref().unwrap_or("-")),
            r.comment.as_ref().map_or(String::new(), |c| format!(
                "  \"{}\"",
                super::display::printable(&c.replace(['\n', '\r'], " "))
            )),
            if several && r.counts {
                "  (counts)"
            } else {
                ""
            }
        ));
    }
    for (i, p) in d.preferences.iter().enumerate() {
        let relation = match p.outcome {
            "better" => "better than",
            "worse" => "worse than",
            _ => "same as",
        };
        lines.push(format!(
            "{} {relation} {} ({}) {} {}{}{}",
            label(if i == 0 { "preferred" } else { "" }),
            p.other_option,
            p.other_id.short(),
            ui.dim(&p.rated_at),
            super::display::printable(p.rated_by.as_deref().unwrap_or("-")),
            p.comment.as_ref().map_or(String::new(), |c| format!(
                "  \"{}\"",
                super::display::printable(&c.replace(['\n', '\r'], " "))
            )),
            if p.counts {
                ""
            } else {
                "  (replaced by a later choice)"
            }
        ));
    }
    for (i, f) in report.files.iter().enumerate() {
        let state = match (&f.path, f.exists, f.bytes) {
            (None, _, _) => ui.dim("none"),
            (Some(p), true, Some(bytes)) => {
                format!("{}  {bytes} bytes", super::display::printable(p))
            }
            (Some(p), _, _) => format!("{}  {}", super::display::printable(p), ui.red("missing")),
        };
        lines.push(format!(
            "{} {:<8} {state}",
            label(if i == 0 { "files" } else { "" }),
            f.role.as_str()
        ));
    }
    for (i, e) in report.embeddings.iter().enumerate() {
        lines.push(format!(
            "{} {} values by model {} ({})",
            label(if i == 0 { "embedding" } else { "" }),
            e.vector.len(),
            e.model_sha256.get(..12).unwrap_or(&e.model_sha256),
            time::format(e.measured_at)
        ));
    }
    lines
}
