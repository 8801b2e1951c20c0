//! The reward model in the workflows: fitted from every designer's latest
//! stars and preferences on every render whose pixels were measured, and
//! asked for the
//! candidates of one batch before the shortlist picks what to show.
//!
//! The model is optim's ([`crate::optim::reward`]); this file only turns
//! the store's rows into its inputs: a render's measured features, its
//! parameters in the unit cube with a one-hot of its arm, and its room.

use std::collections::HashMap;

use super::Workspace;
use crate::domain::{ExperimentId, PhotoFeatures, RenderFeatures, Trial, UNNAMED_DESIGNER};
use crate::error::Result;
use crate::optim::SearchSpace;
use crate::optim::reward::{
    Prediction, Projection, RewardComparison, RewardInput, RewardModel, RewardObservation,
    RewardSettings,
};
use crate::store::Store;

/// Ratings of measured renders before the reward model ranks candidates:
/// with fewer, its ranking is guesswork and the optimizer's order stands.
pub const MIN_RATINGS: usize = 8;

/// A fitted reward model with what it needs to read new candidates.
#[derive(Debug)]
pub struct RewardScorer {
    model: RewardModel,
    space: SearchSpace,
    /// Each embedded render's vector, when the model reads embeddings.
    embeddings: Option<HashMap<String, Vec<f64>>>,
}

/// Whether the reward model could be fitted, and from how many ratings.
#[derive(Debug)]
pub enum Fitted {
    /// Ready to score.
    Ready(Box<RewardScorer>),
    /// Too few ratings of measured renders (how many there are).
    TooFew(usize),
}

impl RewardScorer {
    /// The designer's predicted stars for a render (the studio's view when
    /// `designer` is `None` or has no ratings of their own).
    pub fn predict(
        &self,
        id: &ExperimentId,
        trial: &Trial,
        features: &RenderFeatures,
        context: Option<PhotoFeatures>,
        designer: Option<&str>,
    ) -> Option<Prediction> {
        let mut input = input(&self.space, trial, features, context);
        if let Some(embeddings) = &self.embeddings {
            input.extra = embeddings.get(id.as_str())?.clone();
        }
        match self.model.predict(&input, designer) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("the reward model could not score a candidate: {e}");
                None
            }
        }
    }

    /// Judgements (ratings and preferences) the model was fitted on.
    pub fn ratings(&self) -> usize {
        self.model.ratings()
    }
}

/// Fits the reward model on every designer's latest stars of every
/// measured render (a render the structure guard held back counts as the
/// one star the optimizer reads it as) and their latest preference between
/// every pair of measured renders.
///
/// # Errors
/// Database errors. A model that cannot be fitted (degenerate inputs) is
/// logged and reported as [`Fitted::TooFew`].
pub fn fit(ws: &Workspace, store: &Store) -> Result<Fitted> {
    let features: HashMap<String, RenderFeatures> = store
        .all_render_features()?
        .into_iter()
        .map(|(id, f)| (id.to_string(), f))
        .collect();
    let evidence = ws.evidence(store)?;
    let space = ws.search_space()?;
    let embeddings = stored_embeddings(ws, store)?;
    let observations: Vec<(String, RewardObservation)> = evidence
        .stars
        .iter()
        .filter_map(|s| {
            let render = &evidence.renders[s.render];
            let id = render.id.to_string();
            let f = features.get(&id)?;
            let designer = &evidence.designers[s.designer];
            Some((
                id,
                RewardObservation {
                    input: input(&space, &render.trial, f, render.context.features),
                    stars: f64::from(s.stars.get()),
                    designer: (designer != UNNAMED_DESIGNER).then(|| designer.clone()),
                },
            ))
        })
        .collect();
    let comparisons: Vec<((String, String), RewardComparison)> = evidence
        .preferences
        .iter()
        .filter_map(|p| {
            let read = |index: usize| {
                let render = &evidence.renders[index];
                let id = render.id.to_string();
                let f = features.get(&id)?;
                Some((id, input(&space, &render.trial, f, render.context.features)))
            };
            let (better_id, better) = read(p.better)?;
            let (worse_id, worse) = read(p.worse)?;
            let designer = &evidence.designers[p.designer];
            Some((
                (better_id, worse_id),
                RewardComparison {
                    better,
                    worse,
                    tie: p.tie,
                    designer: (designer != UNNAMED_DESIGNER).then(|| designer.clone()),
                },
            ))
        })
        .collect();
    // The stars set the scale (two at least); a preference counts as one
    // judgement toward the minimum.
    let judgements = observations.len() + comparisons.len();
    if judgements < MIN_RATINGS || observations.len() < 2 {
        return Ok(Fitted::TooFew(judgements));
    }
    // With an image model, the judged renders that have its embedding (all
    // of them once it has been configured a while) also read it, reduced
    // by a PCA fitted on every embedded render, rated or not.
    let mut settings = RewardSettings::default();
    let mut reading = None;
    let mut chosen: Vec<RewardObservation> = observations.iter().map(|(_, o)| o.clone()).collect();
    let mut chosen_comparisons: Vec<RewardComparison> =
        comparisons.iter().map(|(_, c)| c.clone()).collect();
    if let Some(embeddings) = embeddings {
        let embedded: Vec<RewardObservation> = observations
            .iter()
            .filter_map(|(id, o)| {
                let mut o = o.clone();
                o.input.extra = embeddings.get(id)?.clone();
                Some(o)
            })
            .collect();
        let embedded_comparisons: Vec<RewardComparison> = comparisons
            .iter()
            .filter_map(|((better, worse), c)| {
                let mut c = c.clone();
                c.better.extra = embeddings.get(better)?.clone();
                c.worse.extra = embeddings.get(worse)?.clone();
                Some(c)
            })
            .collect();
        let rows: Vec<Vec<f64>> = embeddings.values().cloned().collect();
        if embedded.len() + embedded_comparisons.len() >= MIN_RATINGS
            && embedded.len() >= 2
            && let Ok(projection) = Projection::fit(&rows, EMBEDDING_DIMS)
        {
            settings.projection = Some(projection);
            chosen = embedded;
            chosen_comparisons = embedded_comparisons;
            reading = Some(embeddings);
        }
    }
    match RewardModel::fit_with_preferences(&chosen, &chosen_comparisons, &settings) {
        Ok(model) => Ok(Fitted::Ready(Box::new(RewardScorer {
            model,
            space,
            embeddings: reading,
        }))),
        Err(e) => {
            tracing::warn!("the reward model could not be fitted: {e}");
            Ok(Fitted::TooFew(judgements))
        }
    }
}

/// Dimensions an image embedding is reduced to before the model reads it.
pub const EMBEDDING_DIMS: usize = 8;

/// Every render's embedding by the configured image model, by experiment
/// id; `None` without a model.
fn stored_embeddings(ws: &Workspace, store: &Store) -> Result<Option<HashMap<String, Vec<f64>>>> {
    let Some(model) = super::embedding::embedder(ws)? else {
        return Ok(None);
    };
    Ok(Some(
        store
            .render_embeddings_for_model(model.sha256())?
            .into_iter()
            .map(|e| {
                let vector = e.vector.iter().map(|v| f64::from(*v)).collect();
                (e.experiment_id.to_string(), vector)
            })
            .collect(),
    ))
}

/// What the model reads of one render.
fn input(
    space: &SearchSpace,
    trial: &Trial,
    features: &RenderFeatures,
    context: Option<PhotoFeatures>,
) -> RewardInput {
    let mut params = space.unit_reals(&trial.params).to_vec();
    let arm = space.provider_index(&trial.provider);
    params.extend((0..space.providers().len()).map(|i| f64::from(u8::from(arm == Some(i)))));
    RewardInput {
        render: features.as_array().to_vec(),
        params,
        context,
        extra: Vec::new(),
    }
}
