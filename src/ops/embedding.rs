//! Learned embeddings of renders: the user's ONNX image model
//! (`reward.embedding_model`), loaded once per command and kept here, embeds
//! each render and the vector is stored with its experiment.
//!
//! Nothing here downloads anything; without a configured model every call
//! is a no-op. `enhance` calls [`embedder`] before it writes anything (a
//! broken model fails the command up front) and [`embed_and_store`] for each
//! finished render.

use image::RgbImage;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::Workspace;
use crate::config::RewardConfig;
use crate::domain::ExperimentId;
use crate::error::Result;
use crate::imaging::{EmbeddingSettings, ImageEmbedder};
use crate::store::Store;

/// The model loaded by this process, with what it was loaded from: parsing
/// and optimising a CLIP-sized graph takes seconds, so a command does it once.
static LOADED: Mutex<Option<(PathBuf, EmbeddingSettings, Arc<ImageEmbedder>)>> = Mutex::new(None);

/// The normalisation `[reward]` asks for.
pub fn settings(config: &RewardConfig) -> EmbeddingSettings {
    let f = |v: [f64; 3]| v.map(|x| x as f32);
    EmbeddingSettings {
        mean: f(config.embedding_mean),
        std: f(config.embedding_std),
    }
}

/// The configured model, loaded (and optimised) on the first call of this
/// process and shared afterwards; `None` when none is configured.
///
/// # Errors
/// [`crate::Error::EmbeddingModel`] when the file cannot be used.
pub fn embedder(ws: &Workspace) -> Result<Option<Arc<ImageEmbedder>>> {
    let reward = &ws.config.reward;
    let Some(path) = &reward.embedding_model else {
        return Ok(None);
    };
    let wanted = settings(reward);
    // A poisoned lock only means a panic elsewhere while it was held; the
    // value inside is a finished load or nothing, both still sound.
    let mut slot = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((p, s, model)) = slot.as_ref()
        && p == path
        && *s == wanted
    {
        return Ok(Some(Arc::clone(model)));
    }
    let model = Arc::new(ImageEmbedder::load(path, &wanted)?);
    *slot = Some((path.clone(), wanted, Arc::clone(&model)));
    Ok(Some(model))
}

/// What [`embed_and_store`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEmbedding {
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// The vector's length.
    pub dims: usize,
}

/// Embeds `render` with the configured model and stores the vector with
/// `experiment_id`; `None` (and nothing written) when no model is
/// configured.
///
/// # Errors
/// [`crate::Error::EmbeddingModel`] when the model cannot be loaded or fails
/// on this render (nothing is written then), database errors.
pub fn embed_and_store(
    ws: &Workspace,
    store: &mut Store,
    experiment_id: &ExperimentId,
    render: &RgbImage,
) -> Result<Option<StoredEmbedding>> {
    let Some(model) = embedder(ws)? else {
        return Ok(None);
    };
    let started = std::time::Instant::now();
    let vector = model.embed(render)?;
    store.save_render_embedding(experiment_id, model.sha256(), &vector)?;
    tracing::info!(
        experiment = %experiment_id,
        dims = vector.len(),
        ms = started.elapsed().as_millis() as u64,
        "render embedded"
    );
    Ok(Some(StoredEmbedding {
        model_sha256: model.sha256().to_string(),
        dims: vector.len(),
    }))
}
