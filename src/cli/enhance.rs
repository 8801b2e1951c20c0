//! `latina enhance <image>...`

use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::display;
use super::rate::{Walkthrough, rate_interactively};
use super::term_image::PreviewDisplay;
use super::ui::{Ui, params_text};
use crate::domain::{ExperimentStatus, ImageMeta};
use crate::ops::Workspace;
use crate::ops::context::ContextOverrides;
use crate::ops::enhance::{EnhanceEvent, EnhanceOptions, EnhanceReport, enhance};
use crate::ops::runtime;
use crate::store::OpenMode;

/// Arguments of `latina enhance`.
#[derive(Debug, Args)]
pub struct EnhanceArgs {
    /// Room photos (JPEG, PNG or WebP)
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Project or client name, recorded with the photo
    #[arg(long)]
    pub project: Option<String>,
    /// What to improve, e.g. surfaces, lighting
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Room type, e.g. living_room, kitchen
    #[arg(long)]
    pub room: Option<String>,
    /// Design style, e.g. scandinavian
    #[arg(long)]
    pub style: Option<String>,
    /// Room context: room=…, style=…, or a measured feature to override
    /// (brightness, contrast, warmth, colourfulness, clutter, window_light;
    /// 0-1). Repeatable
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Render N candidates and show the best `enhance.show` of them (the
    /// rest are kept, unshown) [default: config `enhance.candidates`]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=32))]
    pub candidates: Option<u32>,
    /// Do not prompt for ratings
    #[arg(long)]
    pub no_rate: bool,
    /// Name recorded with the ratings [default: config `rater`, else $USER]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Open each photo's labelled preview in the system viewer instead of
    /// drawing it in the terminal
    #[arg(long)]
    pub open: bool,
}

/// Enhances each photo in turn; a bad photo is reported and the others go on.
pub fn run(ws: &Workspace, ui: &Ui, args: EnhanceArgs) -> anyhow::Result<ExitCode> {
    let mut store = ws.open_store(OpenMode::CreateIfMissing)?;
    let meta = ImageMeta {
        project: args.project.clone(),
        kind: args.kind.clone(),
        room: args.room.clone(),
        style: args.style.clone(),
    };
    // Checked once, before any photo is read or anything recorded.
    let context = ContextOverrides::parse(&args.context)?;
    context.tags(&meta)?;
    let rater = super::rate::rater(ws, args.by.as_deref());
    let interrupts = super::interrupt::Interrupts::install(ui.quiet);
    let mut failures = 0usize;
    // `q` at a rating prompt stops the prompts for every remaining photo;
    // they are still rendered, and can be rated later.
    let mut rating = ui.interactive() && !args.no_rate;
    let display = PreviewDisplay::new(ui, ws.config.ui.images, args.open);
    for image in &args.images {
        let bars = Arc::new(ui.variant_bars());
        let sink = {
            let bars = Arc::clone(&bars);
            Arc::new(move |event: EnhanceEvent| match event {
                EnhanceEvent::Planned { variants } => {
                    for (option, provider) in variants {
                        bars.add(&option, &provider);
                    }
                }
                EnhanceEvent::Stage { option, stage } => bars.stage(&option, stage),
                EnhanceEvent::Finished { option, ok } => bars.finish(&option, ok),
            })
        };
        let options = EnhanceOptions {
            image: image.clone(),
            meta: meta.clone(),
            context: context.clone(),
            designer: rater.clone(),
            candidates: args.candidates,
            cancel: interrupts.token(),
            cancel_reason: interrupts.reason(),
            env: super::workspace::env_lookup,
        };
        interrupts.set_rendering(true);
        let result = runtime::block_on(enhance(ws, &mut store, &options, sink))?;
        interrupts.set_rendering(false);
        bars.clear();
        let report = match result {
            Ok(report) => report,
            Err(err) if args.images.len() == 1 => return Err(err.into()),
            Err(err) => {
                failures += 1;
                eprintln!("latina: {}", display::printable(&err.to_string()));
                continue;
            }
        };
        if report.cancelled {
            // After SIGHUP the terminal may be gone: what cannot be printed
            // is already recorded, and the exit code still says why.
            let _ = if ui.json {
                ui.json_line(&report)
            } else {
                print_report(ui, &report)
            };
            let _ = writeln!(
                std::io::stderr(),
                "latina: {}: cancelled; unfinished variants are recorded as failed",
                display::path(&report.image)
            );
            return Ok(ExitCode::from(interrupts.exit_code()));
        }
        if ui.json {
            ui.json_line(&report)?;
        } else {
            print_report(ui, &report)?;
        }
        if !report.any_succeeded() {
            failures += 1;
            let reason = report
                .variants
                .iter()
                .find_map(|v| v.error.as_deref())
                .unwrap_or("unknown error");
            eprintln!(
                "latina: {}: no variant could be rendered: {}",
                display::path(&report.image),
                display::printable(reason)
            );
            continue;
        }
        if ui.json {
            continue;
        }
        if rating {
            let ids = report
                .variants
                .iter()
                .filter(|v| v.status == ExperimentStatus::Done && v.shown)
                .map(|v| v.experiment_id.clone())
                .collect::<Vec<_>>();
            if rate_interactively(ws, &mut store, ui, &display, &ids, rater.as_deref())?
                == Walkthrough::Stopped
            {
                rating = false;
            }
        } else {
            if args.open
                && let Some(preview) = &report.preview
            {
                // Not rating now, but asked to see it.
                display.show(ui, preview)?;
            }
            if let Some(done) = report
                .variants
                .iter()
                .find(|v| v.status == ExperimentStatus::Done && v.shown)
            {
                ui.note(ui.dim(format!(
                    "rate with: latina rate {} <1-5> --comment \"...\"",
                    done.experiment_id.short()
                )));
            }
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILURE)
    })
}

fn print_report(ui: &Ui, report: &EnhanceReport) -> std::io::Result<()> {
    let shown = report.variants.iter().filter(|v| v.shown).count();
    ui.out(
        if report.candidates > shown || shown < report.variants.len() {
            format!(
                "{} → {shown} of {} candidates shown",
                ui.bold(display::path(&report.image)),
                report.variants.len()
            )
        } else {
            format!(
                "{} → {} variants",
                ui.bold(display::path(&report.image)),
                report.variants.len()
            )
        },
    )?;
    if let Some(note) = &report.budget_note {
        ui.out(format!("  {}", ui.dim(format!("budget: {note}"))))?;
    }
    for v in report.variants.iter().filter(|v| v.shown) {
        let where_ = match (&v.output, &v.error) {
            (Some(path), _) if v.fallback_from.is_some() => format!(
                "{}  (rendered by the fallback: {})",
                display::path(path),
                display::printable(v.fallback_from.as_deref().unwrap_or_default())
            ),
            (Some(path), _) => display::path(path),
            (None, Some(err)) => format!("FAILED: {}", display::printable(err)),
            (None, None) => "FAILED".into(),
        };
        ui.out(format!(
            "  {}  {}  {:<8} {}  {} ms\n     {}\n     {}",
            ui.bold(&v.option),
            v.experiment_id.short(),
            v.provider,
            ui.dim(params_text(&v.params)),
            v.latency_ms,
            ui.dim(v.explanation.describe(v.method)),
            where_
        ))?;
        if let Some(reason) = &v.shortlist {
            ui.out(format!("     {}", ui.dim(format!("shown: {reason}"))))?;
        }
    }
    let unshown: Vec<_> = report.variants.iter().filter(|v| !v.shown).collect();
    if !unshown.is_empty() {
        ui.out(format!(
            "  not shown ({}; look with `latina show ID`):",
            unshown.len()
        ))?;
        for v in unshown {
            ui.out(format!(
                "     {}  {}  {:<8} {}",
                v.option,
                v.experiment_id.short(),
                v.provider,
                ui.dim(display::printable(v.shortlist.as_deref().unwrap_or(""))),
            ))?;
        }
    }
    ui.out(format!(
        "  {}",
        ui.dim(format!(
            "room context: {}",
            super::suggest::context_text(&report.context)
        ))
    ))?;
    if let Some(preview) = &report.preview {
        ui.out(format!(
            "  preview (original | A | B …): {}",
            display::path(preview)
        ))?;
    }
    Ok(())
}
