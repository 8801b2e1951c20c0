//! `latina status`

use clap::Args;
use std::process::ExitCode;

use super::ui::Ui;
use crate::domain::TargetOutlook;
use crate::ops::Workspace;
use crate::ops::status::status;
use crate::store::OpenMode;

/// Arguments of `latina status`.
#[derive(Debug, Args)]
pub struct StatusArgs {}

/// "40 ms", "2.5 s", "3.2 min".
fn duration_text(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.1} min", ms / 60_000.0)
    }
}

/// Prints the learning state.
pub fn run(ws: &Workspace, ui: &Ui, _args: StatusArgs) -> anyhow::Result<ExitCode> {
    let mut store = ws.open_store(OpenMode::ReadOnly)?;
    let report = status(ws, &mut store)?;
    if ui.json {
        ui.json_pretty(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let p = &report.phase1;
    ui.out(format!(
        "{} {} rated samples, best {}, average {}, convergence {:.0}% {}",
        ui.bold(format!("Phase {}:", p.phase)),
        p.total_samples,
        if p.total_samples == 0 {
            "-".to_string()
        } else {
            ui.stars(p.best_rating as u8)
        },
        report
            .avg_rating
            .map_or("-".to_string(), |a| format!("{a:.2}")),
        p.convergence * 100.0,
        ui.dim(format!("({})", p.phase_reason.reason()))
    ))?;
    if report.preferences > 0 {
        ui.out(format!(
            "{} {} preference{} between variants",
            ui.bold("Preferences:"),
            report.preferences,
            if report.preferences == 1 { "" } else { "s" }
        ))?;
    }
    if !report.performance_by_api.is_empty() {
        ui.out(ui.bold("Providers:"))?;
        for (name, perf) in &report.performance_by_api {
            ui.out(format!(
                "  {name:<10} {:>4} rated  avg {:<5} 4+ {:>4}  wins {:<16} {}",
                perf.count,
                if perf.count == 0 {
                    "-".to_string()
                } else {
                    format!("{:.2}", perf.avg_rating)
                },
                if perf.count == 0 {
                    "-".to_string()
                } else {
                    format!("{:.0}%", perf.success_rate * 100.0)
                },
                perf.win_rate.map_or("-".to_string(), |w| format!(
                    "{:.0}% of {}",
                    w * 100.0,
                    perf.comparisons
                )),
                ui.dim(format!(
                    "{} renders, {} failed{}{}",
                    perf.renders,
                    perf.failed,
                    if perf.fell_back > 0 {
                        format!(" ({} rendered by the fallback)", perf.fell_back)
                    } else {
                        String::new()
                    },
                    perf.avg_latency_ms
                        .map(|ms| format!(
                            ", {} each, {} in all",
                            duration_text(ms),
                            duration_text(perf.total_latency_ms as f64)
                        ))
                        .unwrap_or_default()
                        + &cost_text(perf.total_cost_usd, perf.renders_without_cost)
                ))
            ))?;
            if let Some(b) = &perf.best {
                ui.out(ui.dim(format!(
                    "  {:<10} best known: {} → predicted {:.2} ± {:.2}",
                    "",
                    super::ui::params_text(&b.trial.params),
                    b.predicted_mean,
                    b.predicted_sd
                )))?;
            }
        }
    }
    if let Some(t) = report.cost_tradeoff.as_ref().filter(|t| t.arms.len() > 1) {
        ui.out(ui.bold("Quality against cost (each arm at its best known settings):"))?;
        for a in &t.arms {
            ui.out(format!(
                "  {:<10} {:.2} stars  {:<18} {:<10} {}",
                a.best.trial.provider,
                a.best.predicted_mean,
                match (a.price_usd, a.price_source) {
                    (_, Some("free")) => "free".to_string(),
                    (Some(p), source) => format!(
                        "${p:.4}/render{}",
                        source
                            .filter(|s| *s != "measured")
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    ),
                    (None, _) => "price unknown".to_string(),
                },
                a.seconds
                    .map_or("-".to_string(), |s| duration_text(s * 1000.0)),
                if a.on_front {
                    ui.green("on the front")
                } else {
                    ui.dim("beaten on every count")
                }
            ))?;
        }
        ui.out(ui.dim(format!(
            "  {}",
            match &t.cheapest_at_target {
                Some(arm) => format!("cheapest way to {:.0} stars: {arm}", t.target),
                None => format!(
                    "no arm of known price is predicted to reach {:.0} stars yet",
                    t.target
                ),
            }
        )))?;
    }
    if !report.rating_trend.is_empty() {
        // The sparkline shows the latest buckets that fit on one line.
        let shown = &report.rating_trend[report.rating_trend.len().saturating_sub(40)..];
        let last = &report.rating_trend[report.rating_trend.len() - 1];
        ui.out(format!(
            "{} {}  samples {}-{} by 10s, moving avg {:.2} (last 50), last bucket {:.2}",
            ui.bold("Trend:"),
            sparkline(shown.iter().map(|b| b.avg)),
            shown[0].bucket.split('-').next().unwrap_or("1"),
            last.bucket.rsplit('-').next().unwrap_or("0"),
            last.moving_avg,
            last.avg
        ))?;
    }
    if let Some(m) = &report.model {
        ui.out(format!(
            "{} best settings tried predicted {:.2} ± {:.2} stars ({}, {})",
            ui.bold("Model:"),
            m.predicted_mean,
            m.predicted_sd,
            m.best.provider,
            super::ui::params_text(&m.best.params)
        ))?;
        ui.out(format!(
            "       {}",
            match report.phase1.target {
                TargetOutlook::Reached => format!(
                    "a {:.0}-star render has been rated (best {})",
                    m.target, p.best_rating
                ),
                TargetOutlook::Trials(1) => format!(
                    "about 1 more trial until a {:.0}-star render is more likely than not",
                    m.target
                ),
                TargetOutlook::Trials(n) => format!(
                    "about {n} more trials until a {:.0}-star render is more likely than not",
                    m.target
                ),
                TargetOutlook::OutOfReach | TargetOutlook::Unknown =>
                    format!("a {:.0}-star render looks out of reach so far", m.target),
            }
        ))?;
    }
    let pe = &report.prompt_evolution;
    let next = match (&pe.challenger, pe.overdue) {
        (_, false) => format!("next evolution at sample {}", pe.next_evolution_at_sample),
        (Some(c), true) => format!(
            "next evolution due since sample {}, after challenger {}'s decision",
            pe.next_evolution_at_sample, c.challenger
        ),
        (None, true) if !ws.config.evolution.on_rate => format!(
            "next evolution due since sample {}: run `latina evolve`",
            pe.next_evolution_at_sample
        ),
        (None, true) => format!(
            "next evolution due since sample {}, with the next rating",
            pe.next_evolution_at_sample
        ),
    };
    ui.out(format!(
        "{} {} champion; {next} ({} since the last)",
        ui.bold("Prompt:"),
        pe.current_version.as_deref().unwrap_or("-"),
        pe.samples_since_last
    ))?;
    if let Some(c) = &pe.challenger {
        ui.out(format!(
            "        challenger {} on trial: {}",
            c.challenger,
            match &c.comparison {
                Some(n) => format!(
                    "{} ratings, mean {:.2} vs champion {:.2} ({} in the same period), P(better) {:.2} — {}",
                    n.challenger.n,
                    n.challenger.mean,
                    n.champion.mean,
                    n.champion.n,
                    n.prob_challenger_better,
                    c.decision.as_str().replace('_', " ")
                ),
                None => "no ratings yet".to_string(),
            }
        ))?;
    }
    if let Some(ir) = &report.inter_rater {
        ui.out(format!(
            "{} {} shared renders, ICC {}, Fleiss' kappa {}",
            ui.bold("Raters:"),
            ir.shared_experiments,
            ir.icc.map_or("-".to_string(), |v| format!("{v:.2}")),
            ir.fleiss_kappa
                .map_or("-".to_string(), |v| format!("{v:.2}")),
        ))?;
        ui.out(format!("  {}", ir.meaning))?;
        for r in &ir.raters {
            let reading = r.model.map_or(String::new(), |m| {
                format!(
                    "  model: offset {:+.2} ± {:.2} stars, scale {:.2}",
                    m.offset, m.offset_sd, m.scale
                )
            });
            ui.out(format!(
                "  {:<10} {:>4} rated  avg {:.2}  {}{}",
                r.name,
                r.count,
                r.avg_rating,
                ui.dim(
                    r.offset
                        .map_or("no shared renders".to_string(), |o| format!(
                            "{o:+.2} vs others on {} shared",
                            r.shared
                        ))
                ),
                reading
            ))?;
        }
    }
    ui.out(format!(
        "Unrated: {}   Failed renders: {}   Spent: ${:.2}",
        report.unrated, report.failed, report.total_cost_usd
    ))?;
    let b = &report.photos_by_brightness;
    if b.dark + b.normal + b.bright + b.unmeasured > 0 {
        ui.out(format!(
            "Photos: {} dark, {} normal, {} bright{}",
            b.dark,
            b.normal,
            b.bright,
            if b.unmeasured > 0 {
                ui.dim(format!(
                    ", {} not measured yet (the next suggest or enhance measures them)",
                    b.unmeasured
                ))
            } else {
                String::new()
            }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One block character per value on the 1–5 star scale.
fn sparkline(values: impl Iterator<Item = f64>) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .map(|v| BLOCKS[(((v - 1.0) / 4.0 * 7.0).round().clamp(0.0, 7.0)) as usize])
        .collect()
}

/// `, $0.42` or `, $0.42 + 3 renders unpriced`; nothing for free arms.
fn cost_text(total: f64, unpriced: u64) -> String {
    match (total > 0.0, unpriced) {
        (false, 0) => String::new(),
        (true, 0) => format!(", ${total:.2}"),
        (false, n) => format!(", cost unknown ({n} renders unpriced)"),
        (true, n) => format!(", ${total:.2} + {n} renders unpriced"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_maps_one_to_five_stars_onto_the_eight_blocks() {
        assert_eq!(sparkline([1.0, 5.0, 3.0, 0.0, 9.0].into_iter()), "▁█▅▁█");
        assert_eq!(sparkline(std::iter::empty()), "");
    }
}
