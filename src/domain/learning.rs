//! How far the learning has come: the original system's two phases, its
//! convergence score, and how the model's outlook is told so that it agrees
//! with the phase. Written once here; `status` and `report` both use it.

use serde::Serialize;

/// Rated samples after which Phase 1 ("fast learning") ends, as in the original.
pub const PHASE1_SAMPLES: u64 = 50;
/// Best observed rating at which Phase 1 ends early, as in the original.
pub const PHASE1_TARGET: f64 = 4.0;

/// The learning phase. DESIGN.md: "Phase 1 ends at 50 samples or when the
/// best rating reaches 4.0". "Best" is the best *observed* (latest) rating
/// of any experiment, as in the original: a designer has actually seen a
/// 4-star render. The model's prediction never moves the phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Phase 1: fewer than [`PHASE1_SAMPLES`] samples and nothing rated
    /// [`PHASE1_TARGET`] or more yet.
    FastLearning,
    /// Phase 2, because a render was rated at the target or above.
    TargetRated,
    /// Phase 2, because [`PHASE1_SAMPLES`] samples were rated (the target
    /// may still be unmet).
    SamplesReached,
}

impl Phase {
    /// The phase after `samples` rated experiments whose best latest rating
    /// is `best_rating` (0 when none).
    pub fn of(samples: u64, best_rating: f64) -> Phase {
        if best_rating >= PHASE1_TARGET {
            Phase::TargetRated
        } else if samples >= PHASE1_SAMPLES {
            Phase::SamplesReached
        } else {
            Phase::FastLearning
        }
    }

    /// 1 or 2, as the original numbers them.
    pub fn number(self) -> u8 {
        match self {
            Phase::FastLearning => 1,
            Phase::TargetRated | Phase::SamplesReached => 2,
        }
    }

    /// Why the phase is what it is, in words.
    pub fn reason(self) -> String {
        match self {
            Phase::FastLearning => format!(
                "learning fast until {PHASE1_SAMPLES} samples or a {PHASE1_TARGET:.0}-star rating"
            ),
            Phase::TargetRated => format!("a render was rated {PHASE1_TARGET:.0} stars or more"),
            Phase::SamplesReached => format!("{PHASE1_SAMPLES} samples rated"),
        }
    }
}

/// The original's convergence score, in [0, 1]:
/// `0.6·min(samples/50, 1) + 0.4·min(best_rating/4.0, 1)`.
pub fn convergence(samples: u64, best_rating: f64) -> f64 {
    0.6 * (samples as f64 / PHASE1_SAMPLES as f64).min(1.0)
        + 0.4 * (best_rating / PHASE1_TARGET).min(1.0)
}

/// How far a [`PHASE1_TARGET`] render looks, told consistently with
/// [`Phase`]: once one was rated the target is reached, whatever the model
/// predicts; before that at least one more trial is needed, even when the
/// model is already confident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "trials")]
pub enum TargetOutlook {
    /// A render was rated at the target or above.
    Reached,
    /// About this many more trials (at least 1) until a render at the
    /// target is more likely than not.
    Trials(u32),
    /// The model gives every setting less than a 1% chance.
    OutOfReach,
    /// No model yet.
    Unknown,
}

impl TargetOutlook {
    /// Reconciles the observed best rating with the model's estimate
    /// (`None`: no model; `Some(None)`: out of reach; `Some(Some(n))`:
    /// `n` trials, 0 when the model is confident).
    pub fn of(best_rating: f64, model_trials: Option<Option<u32>>) -> TargetOutlook {
        if best_rating >= PHASE1_TARGET {
            return TargetOutlook::Reached;
        }
        match model_trials {
            None => TargetOutlook::Unknown,
            Some(None) => TargetOutlook::OutOfReach,
            Some(Some(n)) => TargetOutlook::Trials(n.max(1)),
        }
    }

    /// The number `status --json` reports as `estimated_trials_remaining`:
    /// 0 once reached, null when unknown or out of reach.
    pub fn trials_remaining(self) -> Option<u32> {
        match self {
            TargetOutlook::Reached => Some(0),
            TargetOutlook::Trials(n) => Some(n),
            TargetOutlook::OutOfReach | TargetOutlook::Unknown => None,
        }
    }
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

    #[test]
    fn phase_two_starts_at_fifty_samples_or_a_four_star_rating() {
        assert_eq!(Phase::of(0, 0.0), Phase::FastLearning);
        assert_eq!(Phase::of(49, 3.0), Phase::FastLearning);
        assert_eq!(Phase::of(2, 4.0), Phase::TargetRated);
        assert_eq!(Phase::of(50, 3.0), Phase::SamplesReached);
        assert_eq!(Phase::of(50, 3.0).number(), 2);
    }

    #[test]
    fn the_outlook_agrees_with_the_phase() {
        for samples in [1u64, 2, 49, 50, 80] {
            for best in [0.0, 2.0, 3.0, 4.0, 5.0] {
                for model in [
                    None,
                    Some(None),
                    Some(Some(0)),
                    Some(Some(1)),
                    Some(Some(7)),
                ] {
                    let outlook = TargetOutlook::of(best, model);
                    let target_phase = Phase::of(samples, best) == Phase::TargetRated;
                    assert_eq!(outlook == TargetOutlook::Reached, target_phase);
                    assert_eq!(outlook.trials_remaining() == Some(0), target_phase);
                }
            }
        }
    }
}
