//! The structure guard: whether a render "breaks the room" (walls bent,
//! furniture invented or lost), from its measured structure agreement with
//! the original, against a threshold that starts at a safe default and
//! moves toward what designers rejected.
//!
//! Pure: the caller measures the render ([`RenderFeatures`]), reads the
//! past (structure value, stars) pairs from the store and the config
//! override, and decides what to do with a guarded render.

use serde::Serialize;

use crate::domain::{RenderFeatures, Stars};

/// The default threshold on [`structure_value`]: every built-in engine at
/// the extremes of its parameters on every fixture photo scores above it,
/// and every render with the room broken on purpose (warped, cropped and
/// rescaled, objects pasted, flipped) below it (tests/structure_guard.rs).
pub const DEFAULT_MIN_STRUCTURE: f64 = 0.75;

/// A learned threshold never leaves this range: below its low end the guard
/// would let a mirrored or warped room through, above its high end it would
/// start rejecting honest renders with strong restyling.
pub const SAFE_RANGE: (f64, f64) = (0.55, 0.85);

/// Ratings of 2 stars or fewer count as rejections.
pub const REJECTED_AT_MOST: u8 = 2;

/// Rejections below a candidate threshold needed before it is learned.
pub const MIN_REJECTIONS: usize = 5;

/// Rated renders above a candidate threshold needed before it is learned:
/// evidence of what designers keep.
pub const MIN_ACCEPTED_ABOVE: usize = 5;

/// How much more common rejections must be below a candidate threshold
/// than above it (as shares of the renders on each side).
pub const MIN_SHARE_GAP: f64 = 0.25;

/// The value the guard judges: the lower of the weakest tile's structure
/// term and the edge-map agreement, so both a local break (an object pasted
/// in or lost) and a global one (a warp, a mirror) pull it down.
pub fn structure_value(features: &RenderFeatures) -> f64 {
    features.structure_local.min(features.edge_agreement)
}

/// Where a threshold came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// [`DEFAULT_MIN_STRUCTURE`]: not enough rejections to learn from.
    Default,
    /// Learned from designers' ratings ([`learn_threshold`]).
    Learned,
    /// `[guard] min_structure` in the config.
    Configured,
}

impl ThresholdSource {
    /// The word shown to users and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdSource::Default => "default",
            ThresholdSource::Learned => "learned",
            ThresholdSource::Configured => "configured",
        }
    }
}

/// A threshold on [`structure_value`] and its origin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    /// Renders whose structure value is below this break the room.
    pub value: f64,
    /// Default, learned or configured.
    pub source: ThresholdSource,
    /// Ratings of 2 stars or fewer below the learned value (0 otherwise).
    pub rejections: usize,
}

impl Threshold {
    /// [`DEFAULT_MIN_STRUCTURE`].
    pub fn default_value() -> Self {
        Threshold {
            value: DEFAULT_MIN_STRUCTURE,
            source: ThresholdSource::Default,
            rejections: 0,
        }
    }

    /// A value set in the config (validated there to lie in 0–1).
    pub fn configured(value: f64) -> Self {
        Threshold {
            value,
            source: ThresholdSource::Configured,
            rejections: 0,
        }
    }
}

/// Learns the threshold from `(structure value, stars)` of rated renders.
///
/// The candidate thresholds are the midpoints between consecutive distinct
/// observed values. A candidate qualifies when, among the renders below
/// it, ratings of [`REJECTED_AT_MOST`] stars or fewer are the majority and
/// number at least [`MIN_REJECTIONS`], at least [`MIN_ACCEPTED_ABOVE`]
/// renders lie above it, and the share rejected below exceeds the share
/// above by [`MIN_SHARE_GAP`] (the low structure is what is rejected, not
/// the studio's general strictness). Of the qualifying candidates, the one
/// that misjudges the fewest renders (kept ones below it plus rejected ones
/// above it; the lowest on a tie, guarding less) is the threshold; without
/// one, [`DEFAULT_MIN_STRUCTURE`]. The result always lies in
/// [`SAFE_RANGE`], so a few ratings can neither switch the guard off nor
/// make it reject every render.
pub fn learn_threshold(observations: &[(f64, Stars)]) -> Threshold {
    let mut sorted: Vec<(f64, bool)> = observations
        .iter()
        .filter(|(value, _)| value.is_finite())
        .map(|(value, stars)| (*value, stars.get() <= REJECTED_AT_MOST))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total_rejected = sorted.iter().filter(|(_, rejected)| *rejected).count();
    let (low, high) = SAFE_RANGE;
    let mut best: Option<(Threshold, usize)> = None;
    let mut rejected_below = 0usize;
    for (i, pair) in sorted.windows(2).enumerate() {
        rejected_below += usize::from(pair[0].1);
        if pair[1].0 <= pair[0].0 {
            continue;
        }
        let candidate = (pair[0].0 + pair[1].0) / 2.0;
        let (below, above) = (i + 1, sorted.len() - i - 1);
        let share_below = rejected_below as f64 / below as f64;
        let share_above = (total_rejected - rejected_below) as f64 / above as f64;
        // Renders the candidate would misjudge: kept ones it guards plus
        // rejected ones it lets through.
        let errors = (below - rejected_below) + (total_rejected - rejected_below);
        let qualifies = rejected_below >= MIN_REJECTIONS
            && above >= MIN_ACCEPTED_ABOVE
            && share_below > 0.5
            && share_below - share_above >= MIN_SHARE_GAP;
        if qualifies && best.is_none_or(|(_, fewest)| errors < fewest) {
            best = Some((
                Threshold {
                    value: candidate.clamp(low, high),
                    source: ThresholdSource::Learned,
                    rejections: rejected_below,
                },
                errors,
            ));
        }
    }
    best.map_or_else(Threshold::default_value, |(threshold, _)| threshold)
}

/// What the guard says about one render.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GuardVerdict {
    /// The render breaks the room: never show it; it counts as a poor outcome.
    pub guarded: bool,
    /// Its [`structure_value`].
    pub value: f64,
    /// The threshold it was held to.
    pub threshold: Threshold,
}

/// The guard's verdict on a render with `features` under `threshold`. A
/// disabled guard ([`GuardSettings::enabled`] false) never guards.
pub fn guard_verdict(
    features: &RenderFeatures,
    settings: &GuardSettings,
    threshold: Threshold,
) -> GuardVerdict {
    let value = structure_value(features);
    GuardVerdict {
        guarded: settings.enabled && value < threshold.value,
        value,
        threshold,
    }
}

/// The guard's configuration, as the optimizer sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardSettings {
    /// Whether renders are guarded at all.
    pub enabled: bool,
    /// A fixed threshold instead of the learned one.
    pub min_structure: Option<f64>,
}

impl GuardSettings {
    /// The threshold to hold renders to: the configured one if set, else
    /// the one learned from `observations` ([`learn_threshold`]).
    pub fn threshold(&self, observations: &[(f64, Stars)]) -> Threshold {
        match self.min_structure {
            Some(value) => Threshold::configured(value),
            None => learn_threshold(observations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stars(n: i64) -> Stars {
        Stars::new(n).unwrap()
    }

    fn features(structure_local: f64, edge_agreement: f64) -> RenderFeatures {
        let mut values = [0.5; RenderFeatures::COUNT];
        values[RenderFeatures::NAMES
            .iter()
            .position(|n| *n == "structure_local")
            .unwrap()] = structure_local;
        values[RenderFeatures::NAMES
            .iter()
            .position(|n| *n == "edge_agreement")
            .unwrap()] = edge_agreement;
        RenderFeatures::from_array(values)
    }

    #[test]
    fn no_ratings_give_the_default() {
        assert_eq!(learn_threshold(&[]), Threshold::default_value());
        // Good ratings only: nothing was rejected.
        let happy: Vec<_> = (0..30).map(|i| (0.3 + i as f64 * 0.02, stars(4))).collect();
        assert_eq!(learn_threshold(&happy), Threshold::default_value());
    }

    #[test]
    fn the_learned_threshold_separates_rejected_from_accepted() {
        // Renders below 0.6 are rated 1–2, those above 3–5: the threshold
        // lands between the last rejected (0.58) and the first accepted (0.62).
        let mut observations = Vec::new();
        for i in 0..10 {
            observations.push((0.40 + i as f64 * 0.02, stars(1 + i % 2)));
            observations.push((0.62 + i as f64 * 0.03, stars(3 + i % 3)));
        }
        let learned = learn_threshold(&observations);
        assert_eq!(learned.source, ThresholdSource::Learned);
        assert!((learned.value - 0.60).abs() < 1e-12, "{learned:?}");
        assert_eq!(learned.rejections, 10);
        for (value, s) in &observations {
            let guarded = *value < learned.value;
            assert_eq!(guarded, s.get() <= 2, "{value} {s:?}");
        }
    }

    #[test]
    fn too_few_rejections_are_not_learned_from() {
        let mut observations: Vec<_> = (0..4).map(|i| (0.45 + 0.01 * i as f64, stars(1))).collect();
        observations.extend((0..20).map(|i| (0.7 + 0.01 * i as f64, stars(4))));
        assert_eq!(learn_threshold(&observations), Threshold::default_value());
        observations.push((0.49, stars(2)));
        assert_eq!(
            learn_threshold(&observations).source,
            ThresholdSource::Learned
        );
    }

    #[test]
    fn a_strict_studio_that_rejects_everywhere_does_not_move_the_guard() {
        // Two thirds rejected at every structure level: rejections are no
        // more common at low structure than at high.
        let observations: Vec<_> = (0..60)
            .map(|i| (0.3 + 0.01 * i as f64, stars(if i % 3 == 0 { 4 } else { 1 })))
            .collect();
        assert_eq!(learn_threshold(&observations), Threshold::default_value());
    }

    #[test]
    fn learned_thresholds_stay_in_the_safe_range() {
        // Everything rejected up to 0.95: capped at the top of the range.
        let mut high: Vec<_> = (0..20).map(|i| (0.5 + 0.02 * i as f64, stars(1))).collect();
        high.extend((0..6).map(|i| (0.95 + 0.005 * i as f64, stars(5))));
        let learned = learn_threshold(&high);
        assert_eq!(learned.value, SAFE_RANGE.1);
        // Rejections only at near-zero structure: raised to the bottom.
        let mut low: Vec<_> = (0..6).map(|i| (0.05 + 0.01 * i as f64, stars(1))).collect();
        low.extend((0..20).map(|i| (0.2 + 0.03 * i as f64, stars(4))));
        let learned = learn_threshold(&low);
        assert_eq!(learned.source, ThresholdSource::Learned);
        assert_eq!(learned.value, SAFE_RANGE.0);
    }

    #[test]
    fn the_verdict_uses_the_weaker_of_local_structure_and_edges() {
        let on = GuardSettings {
            enabled: true,
            min_structure: None,
        };
        let threshold = on.threshold(&[]);
        let kept = guard_verdict(&features(0.9, 0.8), &on, threshold);
        assert!(!kept.guarded);
        assert_eq!(kept.value, 0.8);
        assert_eq!(kept.threshold.source, ThresholdSource::Default);
        let local_break = guard_verdict(&features(0.2, 0.9), &on, threshold);
        assert!(local_break.guarded);
        assert_eq!(local_break.value, 0.2);
        let off = GuardSettings {
            enabled: false,
            min_structure: None,
        };
        assert!(!guard_verdict(&features(0.2, 0.2), &off, threshold).guarded);
        let fixed = GuardSettings {
            enabled: true,
            min_structure: Some(0.85),
        };
        let verdict = guard_verdict(&features(0.9, 0.8), &fixed, fixed.threshold(&[]));
        assert!(verdict.guarded);
        assert_eq!(verdict.threshold.source, ThresholdSource::Configured);
    }
}
