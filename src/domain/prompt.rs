//! Prompt versions and the champion/challenger vocabulary: a version's
//! text, its status, the decisions that end a trial, and when two texts
//! are the same prompt. The store persists these; `evolve` makes them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One version of the generation prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptVersion {
    /// Semantic version, e.g. `1.0.0`.
    pub version: String,
    /// The positive prompt.
    pub prompt: String,
    /// The negative prompt.
    pub negative_prompt: String,
    /// The version this one was evolved from.
    pub parent: Option<String>,
    /// Why it was written.
    pub reasoning: Option<String>,
    /// What changed, one line each.
    pub changes: Vec<String>,
}

impl PromptVersion {
    /// Whether `prompt` and `negative_prompt` are this version's texts up to
    /// case, whitespace and the spacing around punctuation: a proposal that
    /// is only respaced is not a new prompt.
    pub fn same_text(&self, prompt: &str, negative_prompt: &str) -> bool {
        normalised_text(&self.prompt) == normalised_text(prompt)
            && normalised_text(&self.negative_prompt) == normalised_text(negative_prompt)
    }
}

/// Lowercase, one space between words, and punctuation set apart, so that
/// `Bright, airy` and `bright ,airy` compare equal.
pub fn normalised_text(text: &str) -> String {
    let mut spaced = String::with_capacity(text.len() + 8);
    for c in text.chars().flat_map(char::to_lowercase) {
        if matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | '(' | ')') {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptStatus {
    /// The version renders use by default (exactly one).
    Champion,
    /// On trial against the champion (at most one).
    Challenger,
    /// Was champion, or expired undecided.
    Retired,
    /// Rolled back: did worse than the champion, or by hand.
    Rejected,
}

impl PromptStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptStatus::Champion => "champion",
            PromptStatus::Challenger => "challenger",
            PromptStatus::Retired => "retired",
            PromptStatus::Rejected => "rejected",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<PromptStatus> {
        [
            PromptStatus::Champion,
            PromptStatus::Challenger,
            PromptStatus::Retired,
            PromptStatus::Rejected,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl fmt::Display for PromptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What to do with the challenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Not enough ratings, or not clear yet.
    KeepCollecting,
    /// Clearly better: it becomes the champion.
    Promote,
    /// Clearly worse: rolled back.
    Reject,
    /// Reached the cap undecided: retired, the champion stays.
    Expire,
}

impl Decision {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::KeepCollecting => "keep_collecting",
            Decision::Promote => "promote",
            Decision::Reject => "reject",
            Decision::Expire => "expire",
        }
    }
}

/// One side's ratings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    /// Ratings.
    pub n: usize,
    /// Mean stars (0 when none).
    pub mean: f64,
    /// Sample variance (unbiased; 0 with fewer than two ratings).
    pub variance: f64,
}

impl ArmStats {
    /// From star ratings.
    pub fn of(stars: &[u8]) -> ArmStats {
        let n = stars.len();
        if n == 0 {
            return ArmStats {
                n,
                mean: 0.0,
                variance: 0.0,
            };
        }
        let mean = stars.iter().map(|&s| f64::from(s)).sum::<f64>() / n as f64;
        let variance = if n > 1 {
            stars
                .iter()
                .map(|&s| (f64::from(s) - mean).powi(2))
                .sum::<f64>()
                / (n - 1) as f64
        } else {
            0.0
        };
        ArmStats { n, mean, variance }
    }
}

/// The test's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The champion's ratings in the period.
    pub champion: ArmStats,
    /// The challenger's ratings.
    pub challenger: ArmStats,
    /// Challenger mean − champion mean.
    pub difference: f64,
    /// Welch's t (with floored variances).
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Probability that the challenger's true mean is higher.
    pub prob_challenger_better: f64,
}

/// The rules of a challenge (config `[evolution]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChallengeRules {
    /// Challenger ratings before any decision.
    pub min_ratings: usize,
    /// Champion ratings in the same period before any decision.
    pub min_champion_ratings: usize,
    /// Promote only when the challenger's mean is at least this much higher.
    pub promote_margin: f64,
    /// Reject when the challenger's mean is at least this much lower (negative).
    pub reject_margin: f64,
    /// Probability (one-sided) required for either decision.
    pub confidence: f64,
    /// Challenger ratings after which an undecided challenger is retired.
    pub max_ratings: usize,
}

impl Default for ChallengeRules {
    fn default() -> Self {
        ChallengeRules {
            min_ratings: 10,
            min_champion_ratings: 5,
            promote_margin: 0.1,
            reject_margin: -0.2,
            confidence: 0.8,
            max_ratings: 40,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_compare_up_to_case_spaces_and_punctuation_spacing() {
        let v = PromptVersion {
            version: "1.1.0".into(),
            prompt: "Bright, airy room , natural light.".into(),
            negative_prompt: "cartoon".into(),
            parent: None,
            reasoning: None,
            changes: Vec::new(),
        };
        assert!(v.same_text("bright ,airy  room, natural LIGHT .", " Cartoon"));
        assert!(!v.same_text("bright airy room, natural light", "cartoon"));
        assert!(!v.same_text("bright, airy room, natural light.", "cartoon, blur"));
    }

    #[test]
    fn statuses_round_trip_through_their_text() {
        for s in [
            PromptStatus::Champion,
            PromptStatus::Challenger,
            PromptStatus::Retired,
            PromptStatus::Rejected,
        ] {
            assert_eq!(PromptStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PromptStatus::parse("winner"), None);
    }
}
