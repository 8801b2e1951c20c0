//! `latina simulate`: simulated designers against each optimizer setup.

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::process::ExitCode;

use super::ui::Ui;
use crate::ops::Workspace;
use crate::ops::simulate::{Summary, contenders, panel, run_session, scratch_dir, summarize};
use crate::ops::simulate_evolution::{
    PromptSession, PromptSummary, prompt_panel, run_prompt_session, summarize_prompt_sessions,
};

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
    /// Simulate prompt evolution instead: designers whose ratings depend on
    /// the prompt each variant was served with, the rule-based evolver, and
    /// the champion/challenger decisions it leads to
    #[arg(long, conflicts_with_all = ["only", "print_panel"])]
    pub prompt_evolution: bool,
    /// Simulate a studio instead: several designers with hidden offsets,
    /// scales and tastes, photos of several contexts, stars and
    /// preferences, with the studio model and with the first model
    #[arg(long, conflicts_with_all = ["only", "print_panel", "prompt_evolution"])]
    pub studio: bool,
    /// Simulate a designer who looks at pixels instead: real renders of
    /// the built-in engines rated by a hidden taste over image properties;
    /// the reward model's pairwise accuracy and best k of N against A/B
    #[arg(long, conflicts_with_all = ["only", "print_panel", "prompt_evolution", "studio"])]
    pub reward: bool,
    /// Compare searching only each arm's own knobs with searching all
    /// three, on designers whose better arm ignores one or two knobs
    #[arg(long, conflicts_with_all = ["only", "print_panel", "prompt_evolution", "studio", "reward"])]
    pub knobs: bool,
    /// Photos for `--reward` (default: the test fixtures of this source tree)
    #[arg(long, value_name = "DIR", requires = "reward")]
    pub photos: Option<std::path::PathBuf>,
}

/// Runs every (setup, designer, seed) session, in parallel, and prints the table.
pub fn run(ws: &Workspace, ui: &Ui, args: SimulateArgs) -> anyhow::Result<ExitCode> {
    if args.print_panel {
        ui.json_pretty(&panel())?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.prompt_evolution {
        return run_prompt_evolution(ws, ui, &args);
    }
    if args.studio {
        return super::simulate_studio::run(ws, ui, &args);
    }
    if args.reward {
        return super::simulate_reward::run(ws, ui, &args);
    }
    if args.knobs {
        return super::simulate_knobs::run(ws, ui, &args);
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
    let bar = session_bar(ui, jobs.len());
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
        ui.out(ui.dim(format!(
            "  {:<26} to 4.0 quartiles {}–{}, sd of best true {:.2}; per session: {:.2} corner proposals, {:.0}% of ratings 21–50 on a worse arm ({} in sessions that never reached 4.0), {:.2} space-filling after a 4",
            "",
            s.quartiles_ratings_to_4[0],
            s.quartiles_ratings_to_4[1],
            s.sd_best_at_end,
            s.mean_corner_proposals,
            100.0 * s.mean_worse_arm_share,
            s.worse_arm_share_unreached
                .map_or("none".to_string(), |w| format!("{:.0}%", 100.0 * w)),
            s.mean_space_filling_after_4
        )))?;
    }
    ui.out("\n(to 4.0 / to 4.5: median ratings until the best render tried truly reaches that quality, and how many sessions got there; last 10 seen: mean stars given, true quality in brackets; a corner: every parameter within 2% of a bound)")?;
    Ok(ExitCode::SUCCESS)
}

/// `--prompt-evolution`: every (designer, seed) session, in parallel; one
/// line per session with what was created and decided, then a summary.
fn run_prompt_evolution(ws: &Workspace, ui: &Ui, args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.ratings >= 10, "--ratings must be at least 10");
    anyhow::ensure!((1..=8).contains(&args.batch), "--batch must be from 1 to 8");
    let designers = prompt_panel();
    let base_seed = ws.seed.unwrap_or(0);
    let jobs: Vec<(usize, u64)> = (0..designers.len())
        .flat_map(|d| (0..args.seeds).map(move |s| (d, base_seed + s)))
        .collect();
    let sessions: Vec<PromptSession> = jobs
        .par_iter()
        .map(|&(d, seed)| -> anyhow::Result<PromptSession> {
            let dir = scratch_dir(&format!("prompt-{d}-{seed}"))?;
            Ok(crate::ops::runtime::block_on(run_prompt_session(
                &ws.config,
                &designers[d],
                seed,
                args.ratings,
                args.batch,
                dir,
            ))??)
        })
        .collect::<anyhow::Result<_>>()?;
    let summaries: Vec<PromptSummary> = designers
        .iter()
        .map(|d| {
            let mine: Vec<PromptSession> = sessions
                .iter()
                .filter(|s| s.designer == d.name)
                .cloned()
                .collect();
            summarize_prompt_sessions(&d.name, &mine)
        })
        .collect();
    if ui.json {
        ui.json_pretty(&serde_json::json!({
            "designers": designers,
            "sessions": sessions,
            "summaries": summaries,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rules = ws.config.evolution.rules();
    ui.out(format!(
        "{} sessions of {} ratings in batches of {}; evolution every {} ratings (rule-based), \
         challenger share {}, decision after {} challenger ratings (promote +{}, reject {}, P ≥ {})",
        sessions.len(),
        args.ratings,
        args.batch,
        ws.config.evolution.every,
        ws.config.evolution.challenger_share,
        rules.min_ratings,
        rules.promote_margin,
        rules.reject_margin,
        rules.confidence
    ))?;
    for (designer, summary) in designers.iter().zip(&summaries) {
        ui.out(format!(
            "\n{}  {}",
            ui.bold(format!("designer '{}'", designer.name)),
            ui.dim(&designer.story)
        ))?;
        for s in sessions.iter().filter(|s| s.designer == designer.name) {
            ui.out(format!("  seed {}: {}", s.seed, session_line(s)))?;
        }
        let median = |m: Option<f64>| m.map_or_else(|| "-".to_string(), |v| format!("{v}"));
        ui.out(format!(
            "  {} first decision: promoted {}/{}, rolled back {}/{}, undecided {}; median at rating {} \
             on {} challenger ratings; true quality first 10 {:.2} → last 10 {:.2}",
            ui.bold("summary"),
            summary.promoted_first,
            summary.runs,
            summary.rejected_first,
            summary.runs,
            summary.undecided_first,
            median(summary.median_ratings_to_decision),
            median(summary.median_challenger_ratings),
            summary.mean_true_first_10,
            summary.mean_true_last_10
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `1.1.0 at 10 (flat_look, lighting; true 3.80) → promote at 29: 4.00 (n 10) vs 2.89 (n 19), diff +1.11, t 5.1, P 1.00; …`
fn session_line(s: &PromptSession) -> String {
    let mut parts = Vec::new();
    for v in &s.versions {
        let mut part = format!(
            "{} at {} ({}; true {:.2})",
            v.version,
            v.at_rating,
            v.issues.join(", "),
            v.true_quality
        );
        if let Some(d) = s
            .decisions
            .iter()
            .find(|d| d.record.challenger == v.version)
        {
            let r = &d.record;
            part.push_str(&format!(
                " → {} at {}: {:.2} (n {}) vs {:.2} (n {}), diff {:+.2}, t {:.1}, P(better) {:.2}",
                r.decision,
                d.at_rating.map_or_else(|| "?".into(), |a| a.to_string()),
                r.challenger_mean,
                r.challenger_n,
                r.champion_mean,
                r.champion_n,
                r.difference.unwrap_or(f64::NAN),
                r.t.unwrap_or(f64::NAN),
                r.prob_better.unwrap_or(f64::NAN)
            ));
        } else {
            part.push_str(" → on trial");
        }
        parts.push(part);
    }
    if parts.is_empty() {
        parts.push("no version created".into());
    }
    let failed = if s.evolutions_failed.is_empty() {
        String::new()
    } else {
        format!(
            "; {} evolution(s) made no version",
            s.evolutions_failed.len()
        )
    };
    format!(
        "{}; champion {}{failed}",
        parts.join("; "),
        s.final_champion
    )
}

/// A bar counting sessions on stderr (hidden with `--quiet` or `--json`).
pub(super) fn session_bar(ui: &Ui, sessions: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(sessions as u64),
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
    bar
}
