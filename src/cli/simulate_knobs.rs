//! `latina simulate --knobs`: searching only each arm's own knobs against
//! searching all three, on the same designers and seeds.

use rayon::prelude::*;
use std::process::ExitCode;

use super::simulate::{SimulateArgs, session_bar};
use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::simulate::scratch_dir;
use crate::ops::simulate_knobs::{
    KnobJob, KnobScenario, KnobSummary, knob_designers, run_knob_session, summarize_knobs,
};

/// Runs every (scenario, search, designer, seed) session in parallel and
/// prints one line per scenario and search.
pub fn run(ws: &Workspace, ui: &Ui, args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.ratings >= 20,
        "--ratings must be at least 20 with --knobs"
    );
    anyhow::ensure!((1..=8).contains(&args.batch), "--batch must be from 1 to 8");
    let designers = knob_designers();
    let base_seed = ws.seed.unwrap_or(0);
    let searches = [true, false];
    let mut jobs = Vec::new();
    for s in 0..KnobScenario::ALL.len() {
        for h in 0..searches.len() {
            for d in 0..designers.len() {
                for k in 0..args.seeds {
                    jobs.push((s, h, d, k));
                }
            }
        }
    }
    let bar = session_bar(ui, jobs.len());
    let results: Vec<_> = jobs
        .par_iter()
        .map(|&(s, h, d, k)| {
            let dir = scratch_dir(&format!("knobs-{s}-{h}-{d}-{k}"))?;
            let job = KnobJob {
                scenario: &KnobScenario::ALL[s],
                designer: &designers[d],
                honoured: searches[h],
                seed: base_seed + k,
            };
            let r = run_knob_session(&ws.config, job, args.ratings, args.batch, dir);
            bar.inc(1);
            r.map(|r| (s, h, r))
        })
        .collect::<crate::Result<_>>()?;
    bar.finish_and_clear();
    let mut summaries: Vec<KnobSummary> = Vec::new();
    for (s, scenario) in KnobScenario::ALL.iter().enumerate() {
        for (h, honoured) in searches.iter().enumerate() {
            let runs: Vec<_> = results
                .iter()
                .filter(|(rs, rh, _)| *rs == s && *rh == h)
                .map(|(_, _, r)| r.clone())
                .collect();
            summaries.push(summarize_knobs(
                scenario.name,
                *honoured,
                &runs,
                args.ratings,
            ));
        }
    }
    if ui.json {
        ui.json_pretty(&summaries)?;
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<&str> = designers.iter().map(|d| d.name.as_str()).collect();
    ui.out(format!(
        "{} sessions of {} ratings in batches of {}, noise sd 0.5 stars; designers {} × {} seeds per line",
        jobs.len(),
        args.ratings,
        args.batch,
        names.join(", "),
        args.seeds
    ))?;
    ui.out(format!(
        "\n  {:<14} {:<15} {:>14} {:>9} {:>14} {:>9}  {:>22}  {:>22}  {:>22}",
        "scenario",
        "search",
        "to 4.0",
        "reached",
        "to 4.5",
        "reached",
        "best true @10",
        "best true @20",
        "best true @50"
    ))?;
    for s in &summaries {
        ui.out(format!(
            "  {:<14} {:<15} {:>4} [{:>4}–{:>4}] {:>9} {:>4} [{:>4}–{:>4}] {:>9}  {:>5.2} [{:.2}–{:.2}]  {:>5.2} [{:.2}–{:.2}]  {:>8.2} [{:.2}–{:.2}]",
            s.scenario,
            s.search,
            s.median_ratings_to_4,
            s.quartiles_ratings_to_4[0],
            s.quartiles_ratings_to_4[1],
            format!("{}/{}", s.reached_4, s.runs),
            s.ratings_to_4_5[0],
            s.ratings_to_4_5[1],
            s.ratings_to_4_5[2],
            format!("{}/{}", s.reached_4_5, s.runs),
            s.best_at_10[0],
            s.best_at_10[1],
            s.best_at_10[2],
            s.best_at_20[0],
            s.best_at_20[1],
            s.best_at_20[2],
            s.best_at_50[0],
            s.best_at_50[1],
            s.best_at_50[2],
        ))?;
    }
    ui.out("\n(to 4.0 / to 4.5: median ratings until the best render tried truly reaches 4.0 / 4.5 stars, quartiles in brackets, unreached sessions counted as ratings + 1; best true: median best true stars so far, quartiles in brackets)")?;
    Ok(ExitCode::SUCCESS)
}
