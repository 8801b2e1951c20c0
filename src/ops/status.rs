//! `latina status`: how far the learning has come.

use serde::Serialize;

use super::Workspace;
use crate::domain::{Phase, TargetOutlook};
use crate::error::Result;
use crate::optim::pareto::{self, Tradeoff};
use crate::optim::stats::{TrendBucket, icc_from_tallies, kappa_from_tallies, rating_trend};
use crate::optim::{ArmBest, Outlook};
use crate::store::{BrightnessBuckets, Store, Summary};

pub use crate::domain::learning::{PHASE1_SAMPLES, PHASE1_TARGET, convergence};

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
    /// Preferences recorded (`latina prefer`, or a/b/= at the rating
    /// prompt), re-choices included.
    pub preferences: u64,
    /// Renders that failed.
    pub failed: u64,
    /// Total known cost over all providers, US dollars.
    pub total_cost_usd: f64,
    /// The model's noise-aware view (absent before two usable ratings).
    pub model: Option<Outlook>,
    /// Latest ratings in buckets of 10 samples, in the order the renders
    /// were made, with a moving average over the last 50.
    pub rating_trend: Vec<TrendBucket>,
    /// Where prompt evolution stands.
    pub prompt_evolution: PromptEvolution,
    /// Each named rater and how they agree (present once two people rated).
    pub inter_rater: Option<InterRater>,
    /// Quality against cost and time per arm, each at its best known
    /// settings (absent before a model).
    pub cost_tradeoff: Option<CostTradeoff>,
    /// Photos per brightness bucket (dark below
    /// [`super::context::DARK_BELOW`], bright from
    /// [`super::context::BRIGHT_FROM`]), and those not measured yet.
    pub photos_by_brightness: BrightnessBuckets,
}

/// Which arm gives what quality at what price and time.
#[derive(Debug, Clone, Serialize)]
pub struct CostTradeoff {
    /// The arms the model has a best setting for.
    pub arms: Vec<ArmTradeoff>,
    /// The stars asked for ([`PHASE1_TARGET`]).
    pub target: f64,
    /// The arm predicted to reach the target at the lowest known price.
    pub cheapest_at_target: Option<String>,
}

/// One arm's quality, price and time.
#[derive(Debug, Clone, Serialize)]
pub struct ArmTradeoff {
    /// The arm, its best known settings and the predicted stars there.
    pub best: ArmBest,
    /// US dollars per render, when known.
    pub price_usd: Option<f64>,
    /// `free`, `measured` or `configured`.
    pub price_source: Option<&'static str>,
    /// Mean seconds per render, when measured.
    pub seconds: Option<f64>,
    /// No other arm is as good, as cheap and as fast with one of them
    /// better.
    pub on_front: bool,
}

/// Ratings per bucket of the trend.
pub const TREND_BUCKET: usize = 10;
/// Ratings in the trend's moving average.
pub const TREND_WINDOW: usize = 50;

/// How the designers who rated compare.
#[derive(Debug, Clone, Serialize)]
pub struct InterRater {
    /// One entry per named rater, by name.
    pub raters: Vec<RaterRecord>,
    /// Experiments rated by two or more of them.
    pub shared_experiments: u64,
    /// One-way ICC(1,1) on the shared experiments (null with fewer than two).
    pub icc: Option<f64>,
    /// Fleiss' kappa on the star categories of the shared experiments.
    pub fleiss_kappa: Option<f64>,
    /// What the two numbers mean for this studio, in words.
    pub meaning: String,
}

/// One rater's record.
#[derive(Debug, Clone, Serialize)]
pub struct RaterRecord {
    /// The name given with `--by` (or the config's / `$USER`).
    pub name: String,
    /// Ratings they gave (re-ratings included).
    pub count: u64,
    /// The mean of those ratings.
    pub avg_rating: f64,
    /// Mean of (their stars − the other raters' mean) on shared
    /// experiments: positive means they rate more generously.
    pub offset: Option<f64>,
    /// Shared experiments the offset is computed on.
    pub shared: u64,
    /// How the studio model reads this designer's stars: offset (stars,
    /// with its posterior sd) and scale; null with the regression model or
    /// before a model.
    pub model: Option<DesignerReading>,
}

/// How the studio model reads one designer's stars.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DesignerReading {
    /// Stars added to what the studio's average designer would give
    /// (negative: stricter).
    pub offset: f64,
    /// Posterior sd of the offset.
    pub offset_sd: f64,
    /// How widely they spread quality differences over the scale (1: like
    /// the studio's average designer).
    pub scale: f64,
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
    /// The next evolution's sample has passed and it has not run: it waits
    /// for the challenger's decision, or for `latina evolve` when
    /// `evolution.on_rate` is off.
    pub overdue: bool,
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
    /// 1 while learning fast, 2 after 50 samples or a rating of 4 or more
    /// ([`Phase`]).
    pub phase: u8,
    /// Why the phase is what it is.
    pub phase_reason: Phase,
    /// How far a 4-star render looks, agreeing with the phase: reached once
    /// one was rated, else the model's estimate (at least 1 trial).
    pub target: TargetOutlook,
    /// Trials until a 4-star render is more likely than not: 0 once one was
    /// rated, at least 1 before; null when unknown or out of reach.
    pub estimated_trials_remaining: Option<u32>,
}

/// One provider arm's record.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderPerformance {
    /// Rated experiments.
    pub count: u64,
    /// Mean latest rating (0 when none).
    pub avg_rating: f64,
    /// Share of same-photo pairs against another provider (variants of one
    /// batch, both rated) where its variant was rated higher; a tie counts
    /// half. Null before any such pair.
    pub win_rate: Option<f64>,
    /// The pairs, wins and ties behind `win_rate`.
    pub comparisons: u64,
    /// Pairs won.
    pub wins: u64,
    /// Pairs tied.
    pub ties: u64,
    /// Share of its ratings that are 4 or 5 stars (0 when none).
    pub success_rate: f64,
    /// The best settings the model knows on this provider and its
    /// predicted rating there (null before a model or a rating on it).
    pub best: Option<ArmBest>,
    /// Renders that finished.
    pub renders: u64,
    /// Renders that failed, the attempts before a fallback arm rendered
    /// the variant included.
    pub failed: u64,
    /// Of `failed`, the attempts whose variant a fallback arm rendered
    /// (that render counts under the fallback arm, with its own time).
    pub fell_back: u64,
    /// Mean provider time per render attempt (finished or failed), milliseconds.
    pub avg_latency_ms: Option<f64>,
    /// Total provider time, the time waited before a fallback included,
    /// milliseconds.
    pub total_latency_ms: u64,
    /// Total cost of the renders whose cost is known, US dollars.
    pub total_cost_usd: f64,
    /// Finished renders with no known cost (no price configured for them).
    pub renders_without_cost: u64,
}

/// Builds the report from the database.
pub fn status(ws: &Workspace, store: &mut Store) -> Result<StatusReport> {
    let s = store.summary()?;
    let (model, best_by_arm, readings) = model_view(ws, store)?;
    let best = s.best_rating.map_or(0.0, f64::from);
    let total_cost_usd = s.providers.iter().map(|p| p.total_cost_usd).sum();
    let last_evolution = store.evolutions(1)?.into_iter().next();
    let last_trigger = store.last_evolution_trigger()?;
    let next_evolution_at_sample = super::evolve::schedule(ws).next_due(last_trigger);
    let prompt_evolution = PromptEvolution {
        current_version: store.champion_prompt()?.map(|p| p.version),
        challenger: super::evolve::standing(ws, store)?,
        samples_since_last: s.total_samples.saturating_sub(last_trigger.unwrap_or(0)),
        last_evolution,
        next_evolution_at_sample,
        overdue: next_evolution_at_sample <= s.total_samples,
    };
    let phase = Phase::of(s.total_samples, best);
    let target = TargetOutlook::of(best, model.as_ref().map(|m| m.trials_to_target));
    let inter_rater = inter_rater(&s, &readings);
    let cost_tradeoff = cost_tradeoff(ws, &s, &best_by_arm);
    Ok(StatusReport {
        phase1: Phase1 {
            total_samples: s.total_samples,
            best_rating: best,
            convergence: convergence(s.total_samples, best),
            phase: phase.number(),
            phase_reason: phase,
            target,
            estimated_trials_remaining: target.trials_remaining(),
        },
        performance_by_api: s
            .providers
            .into_iter()
            .map(|p| {
                let w = p.wins;
                let best = best_by_arm
                    .iter()
                    .find(|b| b.trial.provider == p.name)
                    .cloned();
                (
                    p.name,
                    ProviderPerformance {
                        count: p.count,
                        avg_rating: p.avg_rating.unwrap_or(0.0),
                        win_rate: w.win_rate(),
                        comparisons: w.comparisons,
                        wins: w.wins,
                        ties: w.ties,
                        success_rate: if p.count == 0 {
                            0.0
                        } else {
                            p.successes as f64 / p.count as f64
                        },
                        best,
                        renders: p.renders,
                        failed: p.failed,
                        fell_back: p.fell_back,
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
        preferences: store.preference_count()?,
        failed: s.failed,
        total_cost_usd,
        model,
        rating_trend: rating_trend(&s.stars_in_order, TREND_BUCKET, TREND_WINDOW),
        prompt_evolution,
        inter_rater,
        cost_tradeoff,
        photos_by_brightness: store
            .brightness_buckets(super::context::DARK_BELOW, super::context::BRIGHT_FROM)?,
    })
}

/// Each arm with a best known setting, its price and time, and which of
/// them form the Pareto front.
fn cost_tradeoff(ws: &Workspace, s: &Summary, best_by_arm: &[ArmBest]) -> Option<CostTradeoff> {
    if best_by_arm.is_empty() {
        return None;
    }
    let prices = super::budget::arm_prices(&ws.config.providers, &s.providers);
    let mut arms: Vec<ArmTradeoff> = best_by_arm
        .iter()
        .map(|best| {
            let price = prices.iter().find(|p| p.provider == best.trial.provider);
            ArmTradeoff {
                best: best.clone(),
                price_usd: price.and_then(|p| p.usd),
                price_source: price.and_then(|p| p.source),
                seconds: price.and_then(|p| p.mean_latency_ms).map(|ms| ms / 1000.0),
                on_front: false,
            }
        })
        .collect();
    let points: Vec<Tradeoff> = arms
        .iter()
        .map(|a| Tradeoff {
            quality: a.best.predicted_mean,
            cost_usd: a.price_usd,
            seconds: a.seconds,
        })
        .collect();
    for (arm, on) in arms.iter_mut().zip(pareto::front(&points)) {
        arm.on_front = on;
    }
    let target = PHASE1_TARGET;
    let cheapest_at_target =
        pareto::cheapest_reaching(&points, target).map(|i| arms[i].best.trial.provider.clone());
    Some(CostTradeoff {
        arms,
        target,
        cheapest_at_target,
    })
}

/// The model's outlook and best settings per arm, fitting the GP once. A
/// hyperparameter fit (when the cache is stale) is saved for the next
/// command; a read-only database just skips that.
type ModelView = (
    Option<Outlook>,
    Vec<ArmBest>,
    Vec<(String, DesignerReading)>,
);

fn model_view(ws: &Workspace, store: &mut Store) -> Result<ModelView> {
    let mut optimizer = ws.model_only_optimizer(store)?;
    let Some(model) = optimizer.model()? else {
        return Ok((None, Vec::new(), Vec::new()));
    };
    let readings = match (model.gp().studio(), optimizer.evidence()) {
        (Some(studio), Some(evidence)) => evidence
            .designers
            .iter()
            .zip(studio.designer_scales())
            .map(|(name, s)| {
                (
                    name.clone(),
                    DesignerReading {
                        offset: s.offset,
                        offset_sd: s.offset_sd,
                        scale: s.scale,
                    },
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let outlook = optimizer.outlook_with(&model, PHASE1_TARGET);
    let best = optimizer
        .best_by_arm(&model)
        .into_iter()
        .flatten()
        .collect();
    if let Err(e) = ws.save_fitted(store, &optimizer) {
        tracing::debug!("model cache not saved: {e}");
    }
    Ok((outlook, best, readings))
}

/// Per-rater records and agreement; `None` unless two named raters exist.
fn inter_rater(s: &Summary, readings: &[(String, DesignerReading)]) -> Option<InterRater> {
    if s.raters.len() < 2 {
        return None;
    }
    let raters = s
        .raters
        .iter()
        .map(|(name, (count, sum))| {
            let (shared, offset_sum) = s.rater_offsets.get(name).copied().unwrap_or_default();
            RaterRecord {
                name: name.clone(),
                count: *count,
                avg_rating: if *count == 0 {
                    0.0
                } else {
                    *sum as f64 / *count as f64
                },
                offset: (shared > 0).then(|| offset_sum / shared as f64),
                shared,
                model: readings.iter().find(|(n, _)| n == name).map(|(_, r)| *r),
            }
        })
        .collect();
    let icc = icc_from_tallies(&s.agreement);
    let fleiss_kappa = kappa_from_tallies(&s.agreement);
    Some(InterRater {
        raters,
        shared_experiments: s.shared_experiments(),
        icc,
        fleiss_kappa,
        meaning: agreement_in_words(icc, fleiss_kappa, !readings.is_empty()),
    })
}

/// ICC and kappa in words for a studio: the ICC says whether designers
/// agree on which renders are better (Koo & Li 2016's bands), kappa whether
/// they give the same stars (Landis & Koch 1977's bands); when the first is
/// high and the second low, the difference is their scales, which the
/// studio model reads per designer.
pub fn agreement_in_words(
    icc: Option<f64>,
    kappa: Option<f64>,
    model_reads_scales: bool,
) -> String {
    let (Some(icc), Some(kappa)) = (icc, kappa) else {
        return "too few renders rated by two designers to say how they agree".into();
    };
    let agree = match icc {
        v if v >= 0.9 => "almost always agree",
        v if v >= 0.75 => "mostly agree",
        v if v >= 0.5 => "partly agree",
        _ => "often disagree",
    };
    let same_stars = match kappa {
        v if v > 0.8 => "almost always give the same stars",
        v if v > 0.6 => "usually give the same stars",
        v if v > 0.4 => "give the same stars about half the time beyond chance",
        v if v > 0.2 => "seldom give the same stars",
        _ => "rarely give the same stars beyond chance",
    };
    let why = if icc >= 0.5 && kappa <= 0.4 {
        if model_reads_scales {
            "; they rank alike but use the scale differently, and the model reads each designer's stars on their own scale (offsets below)"
        } else {
            "; they rank alike but use the scale differently (optimizer.model = \"studio\" reads each designer on their own scale)"
        }
    } else if icc < 0.5 {
        "; tastes differ, so the model keeps each designer's own taste beside the studio's"
    } else {
        ""
    };
    format!(
        "designers {agree} on which renders are better (ICC {icc:.2}) and {same_stars} (kappa {kappa:.2}){why}"
    )
}

#[cfg(test)]
mod tests {
    use super::agreement_in_words;

    #[test]
    fn agreement_is_put_in_words_by_the_published_bands() {
        let alike_but_scaled = agreement_in_words(Some(0.8), Some(0.1), true);
        assert!(
            alike_but_scaled.contains("mostly agree"),
            "{alike_but_scaled}"
        );
        assert!(alike_but_scaled.contains("rarely give the same stars"));
        assert!(alike_but_scaled.contains("own scale"));
        let disagree = agreement_in_words(Some(0.2), Some(0.05), true);
        assert!(disagree.contains("often disagree") && disagree.contains("tastes differ"));
        let agree = agreement_in_words(Some(0.95), Some(0.85), true);
        assert!(agree.contains("almost always agree") && !agree.contains(';'));
        assert!(agreement_in_words(None, Some(0.3), true).contains("too few"));
    }
}
