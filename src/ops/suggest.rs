//! `latina suggest`: the optimizer without a render. Each suggestion is
//! recorded as a `proposed` experiment that `latina rate` can rate later.
//!
//! With `--image` the photo is checked and kept exactly as `enhance` does
//! (same loader, same refusals, nothing recorded for a rejected photo) and
//! its room context measured, so the suggestion is asked for that room and
//! its batch points at the photo; nothing is rendered.

use serde::Serialize;
use std::path::PathBuf;

use super::Workspace;
use super::context::{ContextOverrides, ask_in_context, backfill_photo_features, photo_limits};
use super::enhance::{keep_photo, measure};
use crate::domain::evidence::RoomContext;
use crate::domain::{
    BatchId, ExperimentId, ExperimentStatus, Explanation, ImageMeta, Method, Params, option_label,
};
use crate::error::{Error, Result};
use crate::imaging::load;
use crate::store::{NewBatch, NewContext, NewExperiment, Store};

/// What to suggest for.
#[derive(Debug, Clone, Default)]
pub struct SuggestOptions {
    /// How many suggestions (1–100).
    pub count: usize,
    /// A room photo whose context the suggestions are for.
    pub image: Option<PathBuf>,
    /// Room and style tags (project and type too, recorded with the batch).
    pub meta: ImageMeta,
    /// `--context key=value` settings.
    pub context: ContextOverrides,
    /// Whose scale and taste to suggest for (`--by`); `None`: the studio's.
    pub designer: Option<String>,
    /// Features of a photo measured elsewhere (the simulated studio's
    /// photos), used as if `image` had been measured; ignored with `image`.
    pub measured: Option<crate::domain::PhotoFeatures>,
}

/// One recorded suggestion.
#[derive(Debug, Clone, Serialize)]
pub struct SuggestionReport {
    /// Rate it with this id.
    pub experiment_id: ExperimentId,
    /// A, B, … within this call.
    pub option: String,
    /// The provider arm to use.
    pub provider: String,
    /// The parameters to try.
    pub params: Params,
    /// How the point was chosen.
    pub method: Method,
    /// The model's prediction and the arm choice behind it.
    pub explanation: Explanation,
    /// The prompt version it belongs to.
    pub prompt_version: String,
    /// The room context it was asked for (room, style, photo features).
    pub context: RoomContext,
}

/// Asks for `count` suggestions without a photo or tags and records them
/// in one transaction.
pub fn suggest(ws: &Workspace, store: &mut Store, count: usize) -> Result<Vec<SuggestionReport>> {
    suggest_for(
        ws,
        store,
        &SuggestOptions {
            count,
            ..SuggestOptions::default()
        },
    )
}

/// Asks for suggestions in a room context and records them (with the
/// photo, if any) in one transaction.
///
/// # Errors
/// [`Error::Optimizer`] for a count out of range, [`Error::Context`] for
/// conflicting tags or features without a photo, [`Error::Image`] for a
/// rejected photo; nothing is recorded then.
pub fn suggest_for(
    ws: &Workspace,
    store: &mut Store,
    options: &SuggestOptions,
) -> Result<Vec<SuggestionReport>> {
    let count = options.count;
    if !(1..=100).contains(&count) {
        return Err(Error::Optimizer(format!(
            "--count must be from 1 to 100, got {count}"
        )));
    }
    let meta = options.context.tags(&options.meta)?;
    if options.image.is_none() && options.measured.is_none() {
        // Refused before anything else: features without a photo.
        options.context.features(None)?;
    }
    let photo = match &options.image {
        Some(path) => {
            let loaded = load::load(path, &photo_limits(ws))?;
            let measured = measure(&loaded);
            let (_, image) = keep_photo(ws, path, &loaded)?;
            Some((image, measured))
        }
        None => None,
    };
    let measured = photo.as_ref().map(|(_, m)| *m).or(options.measured);
    let context = RoomContext {
        features: options.context.features(measured)?,
        room: meta.room.clone(),
        style: meta.style.clone(),
    };

    backfill_photo_features(ws, store)?;
    super::render_features::backfill_render_features(ws, store)?;
    let prompts = ws.prompts_for(store, count)?;
    let experiments: Vec<NewExperiment> =
        ask_in_context(ws, store, count, &context, options.designer.as_deref())?
            .into_iter()
            .zip(prompts)
            .enumerate()
            .map(|(i, (s, prompt))| NewExperiment {
                id: ExperimentId::random(),
                option: option_label(i),
                trial: s.trial,
                prompt_version: prompt.version,
                method: s.method,
                explanation: s.explanation,
                status: ExperimentStatus::Proposed,
            })
            .collect();
    store.create_batch_in_context(
        &NewBatch {
            id: BatchId::random(),
            image: photo.map(|(image, _)| image),
            meta,
            experiments: experiments.clone(),
        },
        &NewContext {
            photo: measured,
            batch: context.features,
            overridden: options.context.overridden(),
            made_for: options.designer.clone(),
        },
    )?;
    Ok(experiments
        .into_iter()
        .map(|e| SuggestionReport {
            experiment_id: e.id,
            option: e.option,
            provider: e.trial.provider,
            params: e.trial.params,
            method: e.method,
            explanation: e.explanation,
            prompt_version: e.prompt_version,
            context: context.clone(),
        })
        .collect())
}
