//! The reward model in the workflows: fitted from every designer's latest
//! stars on every render whose pixels were measured, and asked for the
//! candidates of one batch before the shortlist picks what to show.
//!
//! The model is optim's ([`crate::optim::reward`]); this file only turns
//! the store's rows into its inputs: a render's measured features, its
//! parameters in the unit cube with a one-hot of its arm, and its room.

use std::collections::HashMap;

use super::Workspace;
use crate::domain::{PhotoFeatures, RenderFeatures, Trial, UNNAMED_DESIGNER};
use crate::error::Result;
use crate::optim::SearchSpace;
use crate::optim::reward::{
    Prediction, RewardInput, RewardModel, RewardObservation, RewardSettings,
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
        trial: &Trial,
        features: &RenderFeatures,
        context: Option<PhotoFeatures>,
        designer: Option<&str>,
    ) -> Option<Prediction> {
        let input = input(&self.space, trial, features, context);
        match self.model.predict(&input, designer) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("the reward model could not score a candidate: {e}");
                None
            }
        }
    }

    /// Ratings the model was fitted on.
    pub fn ratings(&self) -> usize {
        self.model.ratings()
    }
}

/// Fits the reward model on every designer's latest stars of every
/// measured render (a render the structure guard held back counts as the
/// one star the optimizer reads it as).
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
    let observations: Vec<RewardObservation> = evidence
        .stars
        .iter()
        .filter_map(|s| {
            let render = &evidence.renders[s.render];
            let id = render.id.to_string();
            let f = features.get(&id)?;
            let designer = &evidence.designers[s.designer];
            Some(RewardObservation {
                input: input(&space, &render.trial, f, render.context.features),
                stars: f64::from(s.stars.get()),
                designer: (designer != UNNAMED_DESIGNER).then(|| designer.clone()),
            })
        })
        .collect();
    if observations.len() < MIN_RATINGS {
        return Ok(Fitted::TooFew(observations.len()));
    }
    match RewardModel::fit(&observations, &RewardSettings::default()) {
        Ok(model) => Ok(Fitted::Ready(Box::new(RewardScorer { model, space }))),
        Err(e) => {
            tracing::warn!("the reward model could not be fitted: {e}");
            Ok(Fitted::TooFew(observations.len()))
        }
    }
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
