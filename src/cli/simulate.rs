//! `latina simulate`: simulated designers against each optimizer setup.

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::process::ExitCode;

use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::simulate::{Summary, contenders, panel, run_session, scratch_dir, summarize};

/// Arguments of `latina simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Sessions (seeds) per designer and setup
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// Ratings per session
    #[arg(long, default_value_t = 50)]
    pub ratings: usize,
    /// Variants per batch (2 = A/B, as `enhance` shows them)
    #[arg(long, default_value_t = 2)]
    pub batch: usize,
    /// Only these setups (comma-separated labels)
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Print the simulated designers' definitions as JSON and exit (for
    /// running the same designers against other optimizers)
    #[arg(long)]
    pub print_panel: bool,
}

/// Runs every (setup, designer, seed) session, in parallel, and prints the table.
pub fn run(ws: &Workspace, ui: &Ui, args: SimulateArgs) -> anyhow::Result<ExitCode> {
    if args.print_panel {
        ui.json_pretty(&panel())?;
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::ensure!(args.ratings >= 10, "--ratings must be at least 10");
    anyhow::ensure!((1..=8).contains(&args.batch), "--batch must be from 1 to 8");
    let designers = panel();
    let contenders: Vec<_> = contenders()
        .into_iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| o == c.label))
        .collect();
    anyhow::ensure!(!contenders.is_empty(), "no setup matches --only");
    let base_seed = ws.seed.unwrap_or(0);
    let jobs: Vec<(usize, usize, u64)> = (0..contenders.len())
        .flat_map(|c| {
            (0..designers.len()).flat_map(move |d| (0..args.seeds).map(move |s| (c, d, s)))
        })
        .collect();
    let bar = ProgressBar::with_draw_target(
        Some(jobs.len() as u64),
        if ui.quiet || ui.json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} sessions {elapsed}")
            .expect("static template"),
    );
    let results: Vec<_> = jobs
        .par_iter()
        .map(|&(c, d, s)| {
            let dir = scratch_dir(&format!("{c}-{d}-{s}"))?;
            let r = run_session(
                &ws.config,
                &contenders[c],
                &designers[d],
                base_seed + s,
                args.ratings,
                args.batch,
                dir,
            );
            bar.inc(1);
            r.map(|r| (c, d, r))
        })
        .collect::<crate::Result<_>>()?;
    bar.finish_and_clear();
    let mut summaries: Vec<Summary> = Vec::new();
    for (d, designer) in designers.iter().enumerate() {
        for (c, contender) in contenders.iter().enumerate() {
            let runs: Vec<_> = results
                .iter()
                .filter(|(rc, rd, _)| *rc == c && *rd == d)
                .map(|(_, _, r)| r.clone())
                .collect();
            summaries.push(summarize(
                contender.label,
                &designer.name,
                &runs,
                args.ratings,
            ));
        }
    }
    if ui.json {
        ui.json_pretty(&summaries)?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.out(format!(
        "{} sessions of {} ratings in batches of {}, noise sd 0.5 stars; medians over {} seeds",
        jobs.len(),
        args.ratings,
        args.batch,
        args.seeds
    ))?;
    let mut current = String::new();
    for s in &summaries {
        if s.designer != current {
            current = s.designer.clone();
            ui.out(format!(
                "\n{}\n  {:<26} {:>11}  {:>11}  {:>23}  {:>12}",
                ui.bold(format!("designer '{current}'")),
                "setup",
                "to 4.0",
                "to 4.5",
                "best true @10/20/30/50",
                "last 10 seen"
            ))?;
        }
        ui.out(format!(
            "  {:<26} {:>5} {:>5}  {:>5} {:>5}  {:>5.2} {:>5.2} {:>5.2} {:>5.2}     {:>5.2} ({:.2})",
            s.contender,
            s.median_ratings_to_4,
            format!("{}/{}", s.reached_4, s.runs),
            s.median_ratings_to_4_5,
            format!("{}/{}", s.reached_4_5, s.runs),
            s.mean_best_at[0],
            s.mean_best_at[1],
            s.mean_best_at[2],
            s.mean_best_at[3],
            s.mean_seen_last_10,
            s.mean_true_last_10
        ))?;
    }
    ui.out("\n(to 4.0 / to 4.5: median ratings until the best render tried truly reaches that quality, and how many sessions got there; last 10 seen: mean stars given, true quality in brackets)")?;
    Ok(ExitCode::SUCCESS)
}
