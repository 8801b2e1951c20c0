//! Which of a batch's rendered candidates the designer is shown: the
//! structure guard holds back renders that break the room, then the best k
//! of the rest are shown.
//!
//! Until the reward model can rank renders, the optimizer's own order
//! stands (its first suggestion is its best guess); the candidates beyond
//! k are kept, unshown, for `latina show`.

use super::Workspace;
use crate::domain::{ExperimentId, RenderFeatures};
use crate::error::Result;
use crate::optim::guard::{self, GuardSettings, Threshold};
use crate::optim::reward::{self, Prediction};
use crate::store::{ShortlistVerdict, Store};

/// The structure guard as one enhance applies it: the threshold learned
/// (or configured) once per batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Guard {
    settings: GuardSettings,
    threshold: Threshold,
}

impl Guard {
    /// (measured value, threshold, held back) for a render's features.
    pub fn judge(&self, features: &RenderFeatures) -> (f64, f64, bool) {
        let verdict = guard::guard_verdict(features, &self.settings, self.threshold);
        (verdict.value, verdict.threshold.value, verdict.guarded)
    }
}

/// The guard for this batch, `None` when `[guard] enabled = false`. The
/// threshold is learned from every rated render's structure and stars
/// unless the config fixes it.
///
/// # Errors
/// Database errors.
pub(super) fn guard(ws: &Workspace, store: &Store) -> Result<Option<Guard>> {
    let config = &ws.config.guard;
    if !config.enabled {
        return Ok(None);
    }
    let settings = GuardSettings {
        enabled: true,
        min_structure: config.min_structure,
    };
    let observations: Vec<_> = if config.min_structure.is_some() {
        Vec::new()
    } else {
        store
            .rated_render_features()?
            .iter()
            .map(|r| (guard::structure_value(&r.features), r.latest_stars))
            .collect()
    };
    let threshold = settings.threshold(&observations);
    tracing::info!(
        threshold = threshold.value,
        source = threshold.source.as_str(),
        "structure guard"
    );
    Ok(Some(Guard {
        settings,
        threshold,
    }))
}

/// One candidate as the shortlist sees it.
#[derive(Debug, Clone)]
pub(super) struct CandidateView {
    /// The experiment.
    pub experiment: ExperimentId,
    /// Whether a render exists (a failed one is never shown).
    pub rendered: bool,
    /// The structure guard's (measured value, threshold, held back).
    pub guard: Option<(f64, f64, bool)>,
    /// The reward model's prediction of the designer's stars.
    pub reward: Option<Prediction>,
}

/// The reward model's choice of what to show, as `(candidate, reason)`
/// best first, among the rendered candidates it could score; `None` when
/// it scored none (no model yet).
pub(super) fn ranked_by_reward(
    candidates: &[CandidateView],
    show: usize,
) -> Option<Vec<(usize, String)>> {
    let scored: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].rendered && candidates[i].reward.is_some())
        .collect();
    if scored.is_empty() {
        return None;
    }
    let views: Vec<reward::Candidate> = scored
        .iter()
        .map(|&i| reward::Candidate {
            prediction: candidates[i].reward.unwrap_or(Prediction {
                mean: 0.0,
                sd: 0.0,
                noise_sd: 1.0,
            }),
            guard: candidates[i]
                .guard
                .filter(|g| g.2)
                .map(|(value, threshold, _)| reward::GuardVerdict { value, threshold }),
        })
        .collect();
    let list = reward::shortlist(&views, show);
    Some(
        list.ranked()
            .into_iter()
            .map(|(j, text)| (scored[j], text))
            .collect(),
    )
}

/// Decides the verdicts of one batch, candidates in the optimizer's order.
/// `ranked` is the reward model's choice (indices into `candidates`, best
/// first, with the reason of each), when it had one.
pub(super) fn decide(
    candidates: &[CandidateView],
    show: usize,
    ranked: Option<Vec<(usize, String)>>,
    unranked: &str,
) -> Vec<ShortlistVerdict> {
    let eligible = |c: &CandidateView| c.rendered && !c.guard.is_some_and(|g| g.2);
    let chosen: Vec<(usize, String)> = match ranked {
        Some(ranked) => ranked
            .into_iter()
            .filter(|(i, _)| candidates.get(*i).is_some_and(eligible))
            .take(show)
            .collect(),
        None => candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| eligible(c))
            .take(show)
            .map(|(i, _)| (i, unranked.to_string()))
            .collect(),
    };
    let mut verdicts: Vec<ShortlistVerdict> = chosen
        .iter()
        .map(|(i, reason)| verdict(&candidates[*i], true, reason.clone()))
        .collect();
    for (i, c) in candidates.iter().enumerate() {
        if chosen.iter().any(|(j, _)| *j == i) {
            continue;
        }
        let reason = match c.guard {
            _ if !c.rendered => "the render failed".to_string(),
            Some((value, threshold, true)) => format!(
                "guarded: structure {value:.2} < {threshold:.2}, the room's layout was not kept"
            ),
            _ => match c.reward {
                Some(p) => format!(
                    "not among the best {show}: predicted {:.1} ± {:.1} stars",
                    p.mean, p.sd
                ),
                None => format!("not among the {show} shown"),
            },
        };
        verdicts.push(verdict(c, false, reason));
    }
    verdicts
}

fn verdict(c: &CandidateView, shown: bool, reason: String) -> ShortlistVerdict {
    ShortlistVerdict {
        experiment: c.experiment.clone(),
        shown,
        reason,
        reward: c.reward.map(|p| (p.mean, p.sd)),
        guard: c.guard.map(|(value, threshold, _)| (value, threshold)),
        guarded: c.guard.is_some_and(|g| g.2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(rendered: bool, guarded: bool) -> CandidateView {
        CandidateView {
            experiment: ExperimentId::random(),
            rendered,
            guard: Some((if guarded { 0.3 } else { 0.9 }, 0.5, guarded)),
            reward: None,
        }
    }

    #[test]
    fn without_a_model_the_optimizers_first_renders_are_shown_skipping_guarded_and_failed() {
        let c = vec![
            candidate(true, true),
            candidate(false, false),
            candidate(true, false),
            candidate(true, false),
            candidate(true, false),
        ];
        let v = decide(&c, 2, None, "the optimizer's pick");
        let shown: Vec<&ExperimentId> = v
            .iter()
            .filter(|v| v.shown)
            .map(|v| &v.experiment)
            .collect();
        assert_eq!(shown, [&c[2].experiment, &c[3].experiment]);
        assert_eq!(v.len(), 5);
        let guarded = v.iter().find(|v| v.experiment == c[0].experiment).unwrap();
        assert!(guarded.guarded && !guarded.shown);
        assert!(guarded.reason.starts_with("guarded: structure 0.30 < 0.50"));
        let failed = v.iter().find(|v| v.experiment == c[1].experiment).unwrap();
        assert_eq!(failed.reason, "the render failed");
    }

    #[test]
    fn the_reward_models_ranking_decides_and_never_shows_a_guarded_render() {
        let c = vec![
            candidate(true, false),
            candidate(true, true),
            candidate(true, false),
        ];
        let ranked = vec![
            (1, "best".into()),
            (2, "second".into()),
            (0, "third".into()),
        ];
        let v = decide(&c, 2, Some(ranked), "the optimizer's pick");
        assert!(v[0].shown && v[0].experiment == c[2].experiment && v[0].reason == "second");
        assert!(v[1].shown && v[1].experiment == c[0].experiment);
        assert!(!v[2].shown && v[2].guarded);
    }

    #[test]
    fn fewer_eligible_renders_than_slots_shows_what_there_is() {
        let c = vec![candidate(true, true), candidate(true, false)];
        let v = decide(&c, 2, None, "the optimizer's pick");
        assert_eq!(v.iter().filter(|v| v.shown).count(), 1);
    }
}
