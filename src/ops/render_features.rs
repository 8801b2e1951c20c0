//! Render features in the workflows: measured once when a render lands
//! ([`record`]), and for renders made before schema 0013 by a bounded
//! backfill ([`backfill_render_features`]) that `enhance` and `suggest` run;
//! and the structure guard's threshold for the studio ([`guard_threshold`]).
//!
//! The measures are imaging's (`imaging::quality`), the rows the store's.

use std::collections::HashMap;
use std::time::Instant;

use image::RgbImage;

use super::Workspace;
use super::context::photo_limits;
use crate::domain::{ExperimentId, RenderFeatures};
use crate::error::Result;
use crate::imaging::load;
use crate::imaging::quality::QualityReference;
use crate::optim::guard;
use crate::store::Store;

/// Renders measured per backfill at most: the cost of one command stays
/// bounded (about 20 ms each for a 12-megapixel render and its photo).
pub const BACKFILL_LIMIT: usize = 50;

/// Measures `render` against the photo behind `reference`, records the
/// features of experiment `id` (a render already measured keeps its first
/// features) and returns them.
///
/// # Errors
/// Database errors.
pub fn record(
    store: &mut Store,
    reference: &QualityReference,
    id: &ExperimentId,
    render: &RgbImage,
) -> Result<RenderFeatures> {
    let started = Instant::now();
    let features = reference.features(render);
    store.set_render_features(id, &features)?;
    tracing::info!(
        experiment = %id.short(),
        ms = started.elapsed().as_millis() as u64,
        structure = features.structure,
        edges = features.edge_agreement,
        "render features measured"
    );
    Ok(features)
}

/// Measures up to [`BACKFILL_LIMIT`] finished renders that have no
/// features, oldest first, from their files and latina's copy of their
/// photo; returns how many were recorded. A render or photo file that is
/// gone or unreadable is skipped with a warning (tried again next time;
/// missing files do not count against the limit).
///
/// # Errors
/// Database errors.
pub fn backfill_render_features(ws: &Workspace, store: &mut Store) -> Result<usize> {
    // Missing files are skipped cheaply, so look further than the limit.
    let candidates = store.renders_without_features(BACKFILL_LIMIT * 20)?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let limits = photo_limits(ws);
    let started = Instant::now();
    let mut references: HashMap<String, Option<QualityReference>> = HashMap::new();
    let (mut attempted, mut measured) = (0usize, 0usize);
    for todo in candidates {
        if attempted >= BACKFILL_LIMIT {
            break;
        }
        let (Ok(render_file), Ok(photo_file)) = (
            ws.storage.local_copy(&todo.output_path),
            ws.storage.local_copy(&todo.original_path),
        ) else {
            tracing::warn!(
                experiment = %todo.id.short(),
                "cannot measure a render: its file or its photo cannot be read"
            );
            continue;
        };
        if !render_file.is_file() || !photo_file.is_file() {
            tracing::warn!(
                experiment = %todo.id.short(),
                "cannot measure a render: its file or its photo is gone"
            );
            continue;
        }
        attempted += 1;
        let reference = references
            .entry(todo.original_path.clone())
            .or_insert_with(|| match load::load(&photo_file, &limits) {
                Ok(photo) => Some(QualityReference::new(&photo.rgb)),
                Err(e) => {
                    tracing::warn!(
                        "cannot measure renders of a stored photo: {}",
                        crate::http::redact::scrub(&e.to_string())
                    );
                    None
                }
            });
        let Some(reference) = reference.as_ref() else {
            continue;
        };
        match load::load(&render_file, &limits) {
            Ok(render) => {
                if store.set_render_features(&todo.id, &reference.features(&render.rgb))? {
                    measured += 1;
                }
            }
            Err(e) => tracing::warn!(
                experiment = %todo.id.short(),
                "cannot measure a render: {}",
                crate::http::redact::scrub(&e.to_string())
            ),
        }
    }
    if attempted > 0 {
        tracing::info!(
            renders = measured,
            ms = started.elapsed().as_millis() as u64,
            "measured the features of renders made before features existed"
        );
    }
    Ok(measured)
}

/// The structure guard's threshold for this studio: `[guard]
/// min_structure` when set, else learned from the rated renders'
/// structure values and latest stars (`optim::guard::learn_threshold`).
/// Pair it with `optim::guard::guard_verdict` on each new render.
///
/// # Errors
/// Database errors.
pub fn guard_threshold(ws: &Workspace, store: &Store) -> Result<guard::Threshold> {
    let settings = ws.config.guard.settings();
    if settings.min_structure.is_some() {
        return Ok(settings.threshold(&[]));
    }
    let observations: Vec<_> = store
        .rated_render_features()?
        .iter()
        .map(|r| (guard::structure_value(&r.features), r.latest_stars))
        .collect();
    Ok(settings.threshold(&observations))
}
