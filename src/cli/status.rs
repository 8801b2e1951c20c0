//! `latina status`

use clap::Args;
use std::process::ExitCode;

use super::ui::Ui;
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
    let mut store = ws.open_store(OpenMode::MustExist)?;
    let report = status(ws, &mut store)?;
    if ui.json {
        ui.json_pretty(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let p = &report.phase1;
    ui.out(format!(
        "{} {} rated samples, best {}, average {}, convergence {:.0}%",
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
        p.convergence * 100.0
    ))?;
    if !report.performance_by_api.is_empty() {
        ui.out(ui.bold("Providers:"))?;
        for (name, perf) in &report.performance_by_api {
            ui.out(format!(
                "  {name:<10} {:>4} rated  avg {:<5} {}",
                perf.count,
                if perf.count == 0 {
                    "-".to_string()
                } else {
                    format!("{:.2}", perf.avg_rating)
                },
                ui.dim(format!(
                    "{} renders, {} failed{}",
                    perf.renders,
                    perf.failed,
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
        }
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
            match m.trials_to_target {
                Some(0) => "confident a 4-star render is known".to_string(),
                Some(n) =>
                    format!("about {n} more trials until a 4-star render is more likely than not"),
                None => "a 4-star render looks out of reach so far".to_string(),
            }
        ))?;
    }
    let pe = &report.prompt_evolution;
    ui.out(format!(
        "{} {} champion; next evolution at sample {} ({} since the last)",
        ui.bold("Prompt:"),
        pe.current_version.as_deref().unwrap_or("-"),
        pe.next_evolution_at_sample,
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
    ui.out(format!(
        "Unrated: {}   Failed renders: {}   Spent: ${:.2}",
        report.unrated, report.failed, report.total_cost_usd
    ))?;
    Ok(ExitCode::SUCCESS)
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
