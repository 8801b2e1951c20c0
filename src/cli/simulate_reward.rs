//! `latina simulate --reward`: sessions of the designer who looks at
//! pixels, in parallel, summarised as medians and quartiles over seeds.

use rayon::prelude::*;
use serde::Serialize;
use std::process::ExitCode;
use std::time::Instant;

use super::simulate::{SimulateArgs, session_bar};
use super::simulate_studio::quantile;
use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::simulate_reward::{
    RewardRun, RewardSimOptions, ShownRun, load_photos, run_reward_session,
};

/// Median and quartiles over seeds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// 25th percentile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub q3: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Self {
        Spread {
            q1: quantile(values, 0.25),
            median: quantile(values, 0.5),
            q3: quantile(values, 0.75),
        }
    }

    fn show(&self, percent: bool) -> String {
        let k = if percent { 100.0 } else { 1.0 };
        let digits = if percent { 0 } else { 2 };
        format!(
            "{:.*} [{:.*}, {:.*}]",
            digits,
            k * self.median,
            digits,
            k * self.q1,
            digits,
            k * self.q3
        )
    }
}

/// The accuracy summary at one training size.
#[derive(Debug, Clone, Serialize)]
pub struct AccuracySummary {
    /// Training ratings.
    pub ratings: usize,
    /// Against the designer's picks.
    pub vs_designer: Spread,
    /// Against the true order.
    pub vs_truth: Spread,
}

/// One arm of the k-of-N comparison over seeds.
#[derive(Debug, Clone, Serialize)]
pub struct ArmSummary {
    /// `A/B` or `k of N`.
    pub arm: String,
    /// Mean true quality of everything shown.
    pub mean_true: Spread,
    /// Mean true quality of the last ten shown.
    pub true_last_10: Spread,
    /// Ratings until a shown render was truly ≥ 4 (unreached: ratings + 1).
    pub ratings_to_4: Spread,
    /// Share of sessions that got there.
    pub reached_4: f64,
    /// Mean rounds per session whose last slot went to learning.
    pub informative_slots: f64,
}

/// Everything the run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RewardSummary {
    /// Sessions (seeds).
    pub seeds: usize,
    /// Wall time of the sessions, seconds.
    pub seconds: f64,
    /// The options measured with.
    pub options: RewardSimOptions,
    /// Pairwise accuracy per training size.
    pub accuracy: Vec<AccuracySummary>,
    /// The designer's test–retest agreement (the ceiling).
    pub retest: Spread,
    /// A/B and k of N.
    pub arms: Vec<ArmSummary>,
    /// Every session.
    pub runs: Vec<RewardRun>,
}

/// Runs the sessions and prints the summary.
pub fn run(ws: &Workspace, ui: &Ui, args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.seeds >= 1, "--seeds must be at least 1");
    anyhow::ensure!(args.ratings >= 10, "--ratings must be at least 10");
    let options = RewardSimOptions {
        photos: args
            .photos
            .clone()
            .unwrap_or_else(crate::ops::simulate_reward::default_photos),
        ratings: args.ratings,
        ..RewardSimOptions::default()
    };
    let photos = load_photos(&options.photos, options.side)?;
    let settings = ws.optimizer_settings();
    let bounds = ws.search_space()?.bounds();
    let base_seed = ws.seed.unwrap_or(0);
    let started = Instant::now();
    let bar = session_bar(ui, args.seeds as usize);
    let runs: Vec<RewardRun> = (0..args.seeds)
        .into_par_iter()
        .map(|k| {
            let run = run_reward_session(&settings, bounds, &photos, base_seed + k, &options);
            bar.inc(1);
            run
        })
        .collect::<crate::Result<_>>()?;
    bar.finish_and_clear();
    let summary = summarise(runs, options, started.elapsed().as_secs_f64());
    if ui.json {
        ui.json_pretty(&summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    print(ui, &summary, photos.len())?;
    Ok(ExitCode::SUCCESS)
}

fn summarise(runs: Vec<RewardRun>, options: RewardSimOptions, seconds: f64) -> RewardSummary {
    let accuracy = options
        .training
        .iter()
        .enumerate()
        .map(|(i, &ratings)| AccuracySummary {
            ratings,
            vs_designer: Spread::of(&collect(&runs, |r| r.accuracy[i].vs_designer)),
            vs_truth: Spread::of(&collect(&runs, |r| r.accuracy[i].vs_truth)),
        })
        .collect();
    let arm = |name: String, pick: fn(&RewardRun) -> &ShownRun| {
        let fill = |r: &RewardRun| {
            pick(r)
                .ratings_to_4
                .map_or(options.ratings as f64 + 1.0, |v| v as f64)
        };
        ArmSummary {
            arm: name,
            mean_true: Spread::of(&collect(&runs, |r| pick(r).mean_true)),
            true_last_10: Spread::of(&collect(&runs, |r| pick(r).true_last_10)),
            ratings_to_4: Spread::of(&collect(&runs, fill)),
            reached_4: collect(&runs, |r| {
                f64::from(u8::from(pick(r).ratings_to_4.is_some()))
            })
            .iter()
            .sum::<f64>()
                / runs.len().max(1) as f64,
            informative_slots: collect(&runs, |r| pick(r).informative_slots as f64)
                .iter()
                .sum::<f64>()
                / runs.len().max(1) as f64,
        }
    };
    let arms = vec![
        arm("A/B (2 of 2)".into(), |r| &r.ab),
        arm(
            format!("{} of {} (reward model)", options.show, options.candidates),
            |r| &r.shortlist,
        ),
    ];
    RewardSummary {
        seeds: runs.len(),
        seconds,
        accuracy,
        retest: Spread::of(&collect(&runs, |r| r.retest)),
        arms,
        options,
        runs,
    }
}

fn collect(runs: &[RewardRun], f: impl Fn(&RewardRun) -> f64) -> Vec<f64> {
    runs.iter().map(f).collect()
}

fn print(ui: &Ui, s: &RewardSummary, photos: usize) -> anyhow::Result<()> {
    ui.out(format!(
        "{} sessions (seeds) on {} photos (long side {} px), {:.0} s; median [quartiles] over seeds",
        s.seeds, photos, s.options.side, s.seconds
    ))?;
    ui.out(ui.bold("\npairwise accuracy on held-out pairs of renders of the same photo"))?;
    ui.out(format!(
        "  {:<18} {:>16} {:>16}",
        "training ratings", "vs designer %", "vs true order %"
    ))?;
    for a in &s.accuracy {
        ui.out(format!(
            "  {:<18} {:>16} {:>16}",
            a.ratings,
            a.vs_designer.show(true),
            a.vs_truth.show(true)
        ))?;
    }
    ui.out(format!(
        "  chance 50%; the designer agrees with themselves (test–retest) {}%",
        s.retest.show(true)
    ))?;
    ui.out(ui.bold(format!(
        "\nwhat is shown, {} ratings each, the optimizer proposing",
        s.options.ratings
    )))?;
    ui.out(format!(
        "  {:<26} {:>18} {:>18} {:>16} {:>8} {:>12}",
        "arm", "true, all shown", "true, last 10", "ratings to 4.0", "reached", "learn slots"
    ))?;
    for a in &s.arms {
        ui.out(format!(
            "  {:<26} {:>18} {:>18} {:>16} {:>7.0}% {:>12.1}",
            a.arm,
            a.mean_true.show(false),
            a.true_last_10.show(false),
            a.ratings_to_4.show(false),
            100.0 * a.reached_4,
            a.informative_slots
        ))?;
    }
    ui.out(ui.dim(
        "(ratings to 4.0: ratings until a shown render is truly 4 stars or better; unreached counts as ratings + 1)",
    ))?;
    Ok(())
}
