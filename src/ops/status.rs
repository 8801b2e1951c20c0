//! `latina status`: how far the learning has come.

use serde::Serialize;

use super::Workspace;
use crate::error::Result;
use crate::optim::bayes::Outlook;
use crate::store::Store;

/// Samples after which Phase 1 ("fast learning") ends, as in the original.
pub const PHASE1_SAMPLES: u64 = 50;
/// Best rating at which Phase 1 ends early, as in the original.
pub const PHASE1_TARGET: f64 = 4.0;

/// The status report; field names follow the original system's JSON.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Phase 1 progress.
    pub phase1: Phase1,
    /// Per provider arm, by name.
    pub performance_by_api: std::collections::BTreeMap<String, ProviderPerformance>,
    /// Mean of all latest ratings.
    pub avg_rating: Option<f64>,
    /// Rateable experiments without a rating.
    pub unrated: u64,
    /// Renders that failed.
    pub failed: u64,
    /// Total known cost over all providers, US dollars.
    pub total_cost_usd: f64,
    /// The model's noise-aware view (absent before two usable ratings).
    pub model: Option<Outlook>,
    /// Where prompt evolution stands.
    pub prompt_evolution: PromptEvolution,
}

/// The prompt evolution block; names follow the original's JSON.
#[derive(Debug, Clone, Serialize)]
pub struct PromptEvolution {
    /// The champion's version.
    pub current_version: Option<String>,
    /// The challenger on trial and how it stands (Welch's test).
    pub challenger: Option<super::evolve::TrialStanding>,
    /// The latest evolution (any outcome).
    pub last_evolution: Option<crate::store::EvolutionRecord>,
    /// The rated-sample count at which the next evolution is due.
    pub next_evolution_at_sample: u64,
    /// Rated samples since the last evolution's trigger.
    pub samples_since_last: u64,
}

/// Phase 1 block.
#[derive(Debug, Clone, Serialize)]
pub struct Phase1 {
    /// Rated experiments.
    pub total_samples: u64,
    /// Highest latest rating (0 when none).
    pub best_rating: f64,
    /// `0.6·min(n/50, 1) + 0.4·min(best/4, 1)`, in [0, 1].
    pub convergence: f64,
    /// 1 while learning fast, 2 after 50 samples or a best of 4.
    pub phase: u8,
    /// The model's estimate of trials until a 4-star render is more likely
    /// than not (0 once it is confident one is known; null when unknown).
    pub estimated_trials_remaining: Option<u32>,
}

/// One provider arm's record.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderPerformance {
    /// Rated experiments.
    pub count: u64,
    /// Mean latest rating (0 when none).
    pub avg_rating: f64,
    /// Renders that finished.
    pub renders: u64,
    /// Renders that failed.
    pub failed: u64,
    /// Mean provider time per render attempt (finished or failed), milliseconds.
    pub avg_latency_ms: Option<f64>,
    /// Total provider time, milliseconds.
    pub total_latency_ms: u64,
    /// Total cost of the renders whose cost is known, US dollars.
    pub total_cost_usd: f64,
    /// Finished renders with no known cost (no price configured for them).
    pub renders_without_cost: u64,
}

/// The original's convergence score.
pub fn convergence(samples: u64, best_rating: f64) -> f64 {
    0.6 * (samples as f64 / PHASE1_SAMPLES as f64).min(1.0)
        + 0.4 * (best_rating / PHASE1_TARGET).min(1.0)
}

/// Builds the report from the database.
pub fn status(ws: &Workspace, store: &mut Store) -> Result<StatusReport> {
    let s = store.summary()?;
    let model = ws.optimizer(store)?.outlook(PHASE1_TARGET)?;
    let best = s.best_rating.map_or(0.0, f64::from);
    let total_cost_usd = s.providers.iter().map(|p| p.total_cost_usd).sum();
    let evolution = &ws.config.evolution;
    let last_evolution = store.evolutions(1)?.into_iter().next();
    let last_trigger = last_evolution.as_ref().map(|e| e.trigger_sample);
    let next_evolution_at_sample = last_trigger
        .map_or(evolution.every.max(evolution.min_samples), |t| {
            (t / evolution.every + 1) * evolution.every
        });
    let prompt_evolution = PromptEvolution {
        current_version: store.champion_prompt()?.map(|p| p.version),
        challenger: super::evolve::standing(ws, store)?,
        samples_since_last: s.total_samples.saturating_sub(last_trigger.unwrap_or(0)),
        last_evolution,
        next_evolution_at_sample,
    };
    let phase = if s.total_samples >= PHASE1_SAMPLES || best >= PHASE1_TARGET {
        2
    } else {
        1
    };
    Ok(StatusReport {
        phase1: Phase1 {
            total_samples: s.total_samples,
            best_rating: best,
            convergence: convergence(s.total_samples, best),
            phase,
            estimated_trials_remaining: model.as_ref().and_then(|m| m.trials_to_target),
        },
        performance_by_api: s
            .providers
            .into_iter()
            .map(|p| {
                (
                    p.name,
                    ProviderPerformance {
                        count: p.count,
                        avg_rating: p.avg_rating.unwrap_or(0.0),
                        renders: p.renders,
                        failed: p.failed,
                        avg_latency_ms: (p.renders + p.failed > 0)
                            .then(|| p.total_latency_ms as f64 / (p.renders + p.failed) as f64),
                        total_latency_ms: p.total_latency_ms,
                        total_cost_usd: p.total_cost_usd,
                        renders_without_cost: p.renders_without_cost,
                    },
                )
            })
            .collect(),
        avg_rating: s.avg_rating,
        unrated: s.unrated,
        failed: s.failed,
        total_cost_usd,
        model,
        prompt_evolution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convergence_matches_the_original_formula() {
        assert_eq!(convergence(0, 0.0), 0.0);
        assert!((convergence(25, 3.0) - (0.6 * 0.5 + 0.4 * 0.75)).abs() < 1e-12);
        assert!((convergence(80, 5.0) - 1.0).abs() < 1e-12);
    }
}
