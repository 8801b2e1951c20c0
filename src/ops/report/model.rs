//! The model behind the parameter charts: the GP rebuilt from the
//! database, its best tried settings, and its predicted mean ± sd along
//! each parameter with the other two held there.
//!
//! The GP is the one `status` shows: fitted on the most recent
//! `optimizer.max_model_points` ratings (a GP costs O(n³) to fit).

use super::super::Workspace;
use crate::domain::{Params, Trial};
use crate::error::Result;
use crate::store::Store;

/// Points along each parameter's curve.
pub const CURVE_POINTS: usize = 61;

/// The GP's prediction at one value of a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// The parameter's value.
    pub x: f64,
    /// Predicted rating (stars).
    pub mean: f64,
    /// Its standard deviation (stars).
    pub sd: f64,
}

/// What the model says, for the header and the parameter charts.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelView {
    /// The provider of the best tried settings.
    pub provider: String,
    /// The best tried settings (highest posterior mean).
    pub fixed: Params,
    /// Predicted rating there.
    pub mean: f64,
    /// Its standard deviation.
    pub sd: f64,
    /// Along init_strength, guidance_scale, controlnet_weight.
    pub curves: [Vec<CurvePoint>; 3],
    /// Ratings the GP was fitted on.
    pub observations: usize,
    /// Whether those are only the most recent ratings.
    pub subset: bool,
}

/// Fits the model on the latest ratings (the window `status` and
/// `suggest` use). `None` before two ratings of configured providers exist.
///
/// # Errors
/// A database error, or the GP failing to factorise.
pub fn fit(ws: &Workspace, store: &Store) -> Result<Option<ModelView>> {
    let mut optimizer = ws.model_only_optimizer(store)?;
    let subset = (optimizer.model_window().len() as u64) < store.rated_samples(1)?.0;
    let Some(model) = optimizer.model()? else {
        return Ok(None);
    };
    let space = optimizer.space().clone();
    let gp = model.gp();
    let mut best: Option<(Trial, f64, f64)> = None;
    let mut observations = 0;
    for o in optimizer.model_window() {
        let Some(x) = space.encode(&o.trial) else {
            continue;
        };
        observations += 1;
        let p = gp.predict(&x);
        if best.as_ref().is_none_or(|b| p.mean > b.1) {
            best = Some((o.trial.clone(), p.mean, p.sd));
        }
    }
    let Some((trial, mean, sd)) = best else {
        return Ok(None);
    };
    let curves = [0, 1, 2].map(|d| {
        (0..CURVE_POINTS)
            .map(|k| {
                let mut unit = space.unit_reals(&trial.params);
                unit[d] = k as f64 / (CURVE_POINTS - 1) as f64;
                let params = space.params_from_unit(unit);
                let x = space
                    .encode(&Trial {
                        provider: trial.provider.clone(),
                        params,
                    })
                    .expect("the best trial's provider is an arm of the space");
                let p = gp.predict(&x);
                CurvePoint {
                    x: [
                        params.init_strength,
                        params.guidance_scale,
                        params.controlnet_weight,
                    ][d],
                    mean: p.mean,
                    sd: p.sd,
                }
            })
            .collect()
    });
    Ok(Some(ModelView {
        provider: trial.provider,
        fixed: trial.params,
        mean,
        sd,
        curves,
        observations,
        subset,
    }))
}
