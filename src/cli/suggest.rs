//! `latina suggest`

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

use super::ui::{Ui, params_text};
use crate::domain::ImageMeta;
use crate::domain::evidence::{PhotoFeatures, RoomContext};
use crate::ops::Workspace;
use crate::ops::context::{ContextOverrides, brightness_bucket};
use crate::ops::suggest::{SuggestOptions, suggest_for};
use crate::store::OpenMode;

/// Arguments of `latina suggest`.
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// How many parameter sets to propose (1-100)
    #[arg(long, short = 'n', default_value_t = 1)]
    pub count: usize,
    /// A room photo to suggest for: checked and kept like `enhance` does,
    /// its context measured, nothing rendered
    #[arg(long, value_name = "PHOTO")]
    pub image: Option<PathBuf>,
    /// Room type, e.g. living_room, kitchen (same as --context room=…)
    #[arg(long)]
    pub room: Option<String>,
    /// Design style, e.g. scandinavian (same as --context style=…)
    #[arg(long)]
    pub style: Option<String>,
    /// Room context: room=…, style=…, or a measured feature to override
    /// (brightness, contrast, warmth, colourfulness, clutter, window_light;
    /// 0-1). Repeatable
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Suggest for this designer's scale and taste [default: config
    /// `rater`, else $USER]
    #[arg(long)]
    pub by: Option<String>,
}

/// Proposes parameters and records them as pending experiments.
pub fn run(ws: &Workspace, ui: &Ui, args: SuggestArgs) -> anyhow::Result<ExitCode> {
    let options = SuggestOptions {
        count: args.count,
        image: args.image,
        meta: ImageMeta {
            room: args.room,
            style: args.style,
            ..ImageMeta::default()
        },
        context: ContextOverrides::parse(&args.context)?,
        designer: super::rate::rater(ws, args.by.as_deref()),
        measured: None,
    };
    let mut store = ws.open_store(OpenMode::CreateIfMissing)?;
    let suggestions = suggest_for(ws, &mut store, &options)?;
    if ui.json {
        ui.json_pretty(&suggestions)?;
        return Ok(ExitCode::SUCCESS);
    }
    for s in &suggestions {
        ui.out(format!(
            "{}  {:<8} {}\n    {}",
            s.experiment_id.short(),
            s.provider,
            params_text(&s.params),
            ui.dim(s.explanation.describe(s.method))
        ))?;
    }
    if let Some(s) = suggestions
        .first()
        .filter(|s| s.context != RoomContext::default())
    {
        ui.note(ui.dim(format!("room context: {}", context_text(&s.context))));
    }
    ui.note(ui.dim("after trying one: latina rate <id> <1-5>"));
    Ok(ExitCode::SUCCESS)
}

/// One line: tags, then each feature with two decimals (brightness with its
/// bucket), e.g. `room kitchen; brightness 0.19 (dark), contrast 0.41, …`.
pub(super) fn context_text(context: &RoomContext) -> String {
    let mut parts: Vec<String> = [("room", &context.room), ("style", &context.style)]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| format!("{k} {}", super::display::printable(v)))
        })
        .collect();
    match &context.features {
        Some(f) => parts.push(features_text(f)),
        None => parts.push("no photo features".into()),
    }
    parts.join("; ")
}

/// The six features, e.g. `brightness 0.19 (dark), contrast 0.41, …`.
pub(super) fn features_text(f: &PhotoFeatures) -> String {
    PhotoFeatures::NAMES
        .iter()
        .zip(f.as_array())
        .map(|(name, value)| {
            let name = name.replace('_', " ");
            if name == "brightness" {
                format!("{name} {value:.2} ({})", brightness_bucket(value))
            } else {
                format!("{name} {value:.2}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
