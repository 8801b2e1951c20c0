//! `latina suggest`: the optimizer without an image. Each suggestion is
//! recorded as a `proposed` experiment that `latina rate` can rate later.

use serde::Serialize;

use super::Workspace;
use crate::domain::{
    BatchId, ExperimentId, ExperimentStatus, Explanation, ImageMeta, Method, Params, option_label,
};
use crate::error::{Error, Result};
use crate::store::{NewBatch, NewExperiment, Store};

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
}

/// Asks for `count` suggestions and records them in one transaction.
pub fn suggest(ws: &Workspace, store: &mut Store, count: usize) -> Result<Vec<SuggestionReport>> {
    if !(1..=100).contains(&count) {
        return Err(Error::Optimizer(format!(
            "--count must be from 1 to 100, got {count}"
        )));
    }
    let prompts = ws.prompts_for(store, count)?;
    let experiments: Vec<NewExperiment> = ws
        .ask(store, count)?
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
    store.create_batch(&NewBatch {
        id: BatchId::random(),
        image: None,
        meta: ImageMeta::default(),
        experiments: experiments.clone(),
    })?;
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
        })
        .collect())
}
