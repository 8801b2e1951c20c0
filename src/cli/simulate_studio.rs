//! `latina simulate --studio`: the simulated studio's scenarios, each with
//! the studio model and with the first model (regression on the latest
//! rating), on the same seeds.

use rayon::prelude::*;
use serde::Serialize;
use std::process::ExitCode;

use super::simulate::{SimulateArgs, session_bar};
use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::simulate::scratch_dir;
use crate::ops::simulate_studio::{Scenario, StudioRun, run_studio_session};
use crate::optim::ModelKind;

/// One scenario under one model, over every seed.
#[derive(Debug, Clone, Serialize)]
pub struct StudioSummary {
    /// Scenario name.
    pub scenario: &'static str,
    /// `studio` or `regression`.
    pub model: &'static str,
    /// Sessions run.
    pub runs: usize,
    /// Median judgements to a true 4.0 (unreached: judgements + 1).
    pub median_judgements_to_4: f64,
    /// 25th and 75th percentiles of the same: the seed-to-seed spread.
    pub quartiles_judgements_to_4: [f64; 2],
    /// Share of sessions that reached 4.0.
    pub reached_4: f64,
    /// Median renders shown until then.
    pub median_renders_to_4: f64,
    /// Mean true quality of the last ten renders each designer saw.
    pub mean_true_last_10: f64,
    /// Mean RMSE of held-out star predictions.
    pub heldout_rmse: f64,
    /// Mean share of held-out ratings inside the 80% interval.
    pub heldout_coverage_80: f64,
}

const MODELS: [(ModelKind, &str); 2] = [
    (ModelKind::Studio, "studio"),
    (ModelKind::Regression, "regression"),
];

/// Runs every (scenario, model, seed) session in parallel and prints the table.
pub fn run(ws: &Workspace, ui: &Ui, args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.ratings >= 10, "--ratings must be at least 10");
    let base_seed = ws.seed.unwrap_or(0);
    let jobs: Vec<(usize, usize, u64)> = (0..Scenario::ALL.len())
        .flat_map(|s| (0..MODELS.len()).flat_map(move |m| (0..args.seeds).map(move |k| (s, m, k))))
        .collect();
    let bar = session_bar(ui, jobs.len());
    let results: Vec<(usize, usize, StudioRun)> = jobs
        .par_iter()
        .map(|&(s, m, k)| {
            let dir = scratch_dir(&format!("studio-{s}-{m}-{k}"))?;
            let run = run_studio_session(
                &ws.config,
                Scenario::ALL[s],
                MODELS[m].0,
                base_seed + k,
                args.ratings,
                dir,
            );
            bar.inc(1);
            run.map(|r| (s, m, r))
        })
        .collect::<crate::Result<_>>()?;
    bar.finish_and_clear();
    let summaries: Vec<StudioSummary> = (0..Scenario::ALL.len())
        .flat_map(|s| (0..MODELS.len()).map(move |m| (s, m)))
        .map(|(s, m)| {
            let runs: Vec<&StudioRun> = results
                .iter()
                .filter(|(rs, rm, _)| *rs == s && *rm == m)
                .map(|(_, _, r)| r)
                .collect();
            summarise(Scenario::ALL[s].name(), MODELS[m].1, &runs, args.ratings)
        })
        .collect();
    if ui.json {
        ui.json_pretty(&summaries)?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.out(format!(
        "{} sessions of {} judgements (batches of 2); medians over {} seeds, [quartiles]",
        jobs.len(),
        args.ratings,
        args.seeds
    ))?;
    ui.out(format!(
        "{:<26} {:<11} {:>9} {:>13} {:>8} {:>9} {:>9} {:>8} {:>6}",
        "scenario", "model", "to 4.0", "[q1, q3]", "reached", "renders", "last 10", "rmse", "cov80"
    ))?;
    for s in &summaries {
        ui.out(format!(
            "{:<26} {:<11} {:>9.1} {:>13} {:>7.0}% {:>9.1} {:>9.2} {:>8.2} {:>5.0}%",
            s.scenario,
            s.model,
            s.median_judgements_to_4,
            format!(
                "[{:.0}, {:.0}]",
                s.quartiles_judgements_to_4[0], s.quartiles_judgements_to_4[1]
            ),
            100.0 * s.reached_4,
            s.median_renders_to_4,
            s.mean_true_last_10,
            s.heldout_rmse,
            100.0 * s.heldout_coverage_80
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn summarise(
    scenario: &'static str,
    model: &'static str,
    runs: &[&StudioRun],
    judgements: usize,
) -> StudioSummary {
    let fill = |v: Option<usize>| v.map_or(judgements as f64 + 1.0, |v| v as f64);
    let to_4: Vec<f64> = runs.iter().map(|r| fill(r.judgements_to_4)).collect();
    let renders: Vec<f64> = runs.iter().map(|r| fill(r.renders_to_4)).collect();
    let n = runs.len().max(1) as f64;
    StudioSummary {
        scenario,
        model,
        runs: runs.len(),
        median_judgements_to_4: quantile(&to_4, 0.5),
        quartiles_judgements_to_4: [quantile(&to_4, 0.25), quantile(&to_4, 0.75)],
        reached_4: runs.iter().filter(|r| r.judgements_to_4.is_some()).count() as f64 / n,
        median_renders_to_4: quantile(&renders, 0.5),
        mean_true_last_10: runs.iter().map(|r| r.true_last_10).sum::<f64>() / n,
        heldout_rmse: runs.iter().map(|r| r.heldout_rmse).sum::<f64>() / n,
        heldout_coverage_80: runs.iter().map(|r| r.heldout_coverage_80).sum::<f64>() / n,
    }
}

/// The `q` quantile by linear interpolation between order statistics.
pub(super) fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let position = q * (v.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (position - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.25) - 1.75).abs() < 1e-12);
    }
}
