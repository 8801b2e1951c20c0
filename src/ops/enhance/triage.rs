//! The step after the renders of one `enhance` land: how many candidates
//! to render (flag, config, budget), the structure guard's and the reward
//! model's view of each, and the shortlist's verdicts put on the reports.

use super::{EnhanceOptions, NewExperiment, VariantReport};
use crate::domain::evidence::RoomContext;
use crate::domain::{ExperimentId, ExperimentStatus, RenderFeatures};
use crate::error::Result;
use crate::ops::Workspace;
use crate::ops::shortlist::{CandidateView, Guard};
use crate::store::Store;
use std::time::Instant;

/// Candidates rendered when neither `--candidates` nor the config says and
/// every arm is a built-in engine: free, and 8 renders of a 12-megapixel
/// photo take under 2 s, so the reward model and the structure guard get a
/// choice at no cost.
pub const OFFLINE_CANDIDATES: usize = 8;

/// How many candidates to render: `--candidates`, else the config's, else
/// [`OFFLINE_CANDIDATES`] when every arm is built in (the shown count
/// otherwise: paid renders are not spent unasked); at least as many as are
/// shown, capped by the photo's budget on paid arms.
pub(super) fn candidate_count(
    ws: &Workspace,
    store: &mut Store,
    flag: Option<u32>,
    show: usize,
) -> Result<(usize, Option<String>)> {
    let cfg = &ws.config.enhance;
    let all_builtin = ws.config.providers.iter().all(|p| p.is_builtin());
    let default = if all_builtin {
        OFFLINE_CANDIDATES
    } else {
        show
    };
    let wanted = flag
        .or(cfg.candidates)
        .map_or(default, |n| n as usize)
        .max(show);
    if cfg.budget_usd.is_none() || wanted == show {
        return Ok((wanted, None));
    }
    let prices = crate::ops::budget::arm_prices(&ws.config.providers, &store.summary()?.providers);
    let (count, note) = crate::ops::budget::cap_candidates(wanted, show, cfg.budget_usd, &prices);
    if let Some(note) = &note {
        tracing::warn!("{note}");
    }
    Ok((count, note))
}

/// Asks the reward model for each rendered candidate's predicted stars
/// (for the designer the batch is for); returns the reason the optimizer's
/// order stands when there is no model yet.
pub(super) fn score(
    ws: &Workspace,
    store: &Store,
    views: &mut [CandidateView],
    experiments: &[NewExperiment],
    features: &[Option<RenderFeatures>],
    context: &RoomContext,
    options: &EnhanceOptions,
) -> Result<String> {
    let started = Instant::now();
    let scorer = match crate::ops::reward::fit(ws, store)? {
        crate::ops::reward::Fitted::Ready(scorer) => scorer,
        crate::ops::reward::Fitted::TooFew(n) => {
            return Ok(format!(
                "the optimizer's pick (the reward model ranks renders after {} ratings or \
                 preferences of measured renders; {n} so far)",
                crate::ops::reward::MIN_RATINGS
            ));
        }
    };
    for ((view, e), f) in views.iter_mut().zip(experiments).zip(features) {
        if let (true, Some(f)) = (view.rendered, f) {
            view.reward = scorer.predict(
                &e.id,
                &e.trial,
                f,
                context.features,
                options.designer.as_deref(),
            );
        }
    }
    tracing::info!(
        judgements = scorer.ratings(),
        ms = started.elapsed().as_millis() as u64,
        "reward model fitted and candidates scored"
    );
    Ok("the optimizer's pick (the reward model could not score it)".into())
}

/// The shortlist's view of each candidate, in the optimizer's order, with
/// the structure guard's verdict on each measured render.
pub(super) fn candidate_views(
    experiments: &[NewExperiment],
    reports: &[VariantReport],
    features: &[Option<RenderFeatures>],
    guard: Option<&Guard>,
) -> Vec<CandidateView> {
    experiments
        .iter()
        .zip(features)
        .map(|(e, features)| CandidateView {
            experiment: e.id.clone(),
            rendered: reports
                .iter()
                .any(|r| r.experiment_id == e.id && r.status == ExperimentStatus::Done),
            guard: guard.zip(features.as_ref()).map(|(g, f)| g.judge(f)),
            reward: None,
        })
        .collect()
}

/// Puts the recorded verdicts and labels on the reports, shown ones first
/// in the order shown.
pub(super) fn apply_verdicts(
    reports: &mut [VariantReport],
    verdicts: &[crate::store::ShortlistVerdict],
    labels: &[(ExperimentId, String)],
) {
    for r in reports.iter_mut() {
        if let Some(v) = verdicts.iter().find(|v| v.experiment == r.experiment_id) {
            r.shown = v.shown;
            r.guarded = v.guarded;
            r.shortlist = Some(v.reason.clone());
        }
        if let Some((_, label)) = labels.iter().find(|(id, _)| *id == r.experiment_id) {
            r.option = label.clone();
        }
    }
    let rank = |r: &VariantReport| {
        labels
            .iter()
            .position(|(id, _)| *id == r.experiment_id)
            .unwrap_or(usize::MAX)
    };
    reports.sort_by_key(|r| (!r.shown, rank(r)));
}
