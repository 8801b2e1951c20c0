//! The product's vocabulary: experiments, their parameters, ratings; and,
//! in one file per concept, prompt versions and decisions ([`prompt`]), the
//! learning phase and convergence ([`learning`]), the knobs an arm honours
//! ([`knobs`]) and the evolution schedule
//! ([`evolution`]), what the learning model is told ([`evidence`]) and the
//! running win and agreement counts the store keeps ([`tally`]), what a
//! render looks like, measured ([`render_features`]); instants
//! are `jiff` timestamps in one text form ([`time`]).
//!
//! Plain data with validation at construction; no I/O. The store maps these
//! to SQL, the CLI to text and JSON.

pub mod check;
pub mod evidence;
pub mod evolution;
pub mod knobs;
pub mod learning;
pub mod prompt;
pub mod render_features;
pub mod tally;
pub mod time;

pub use check::Check;
pub use evidence::{
    Evidence, PhotoFeatures, PreferenceJudgement, RenderPoint, RoomContext, StarJudgement,
    UNNAMED_DESIGNER,
};
pub use evolution::EvolutionSchedule;
pub use knobs::{AppliedKnob, AppliedKnobs, Knob, Knobs, Mapping};
pub use learning::{Phase, TargetOutlook};
pub use prompt::{ArmStats, ChallengeRules, Comparison, Decision, PromptStatus, PromptVersion};
pub use render_features::RenderFeatures;
pub use tally::{AgreementTally, WinRecord};

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{Error, Result};

/// One experiment (one variant, one render or one proposed parameter set).
///
/// A random 128-bit id printed as 32 lowercase hex digits; users may type any
/// unique prefix. Ratings point at exactly one experiment id, which is what
/// makes "one rating written onto both variants" impossible.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExperimentId(String);

impl ExperimentId {
    /// A fresh random id.
    pub fn random() -> Self {
        ExperimentId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Wraps an id read back from the database.
    pub fn from_stored(id: String) -> Self {
        ExperimentId(id)
    }

    /// The full id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 hex digits: what tables show and what is usually enough to type.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(8)]
    }
}

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `enhance` of one image, or one `suggest` call: the variants proposed together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(String);

impl BatchId {
    /// A fresh random id.
    pub fn random() -> Self {
        BatchId(uuid::Uuid::new_v4().simple().to_string())
    }
    /// Wraps an id read back from the database.
    pub fn from_stored(id: String) -> Self {
        BatchId(id)
    }
    /// The full id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The three continuous generation parameters, in the optimizer's units.
///
/// Their meaning is the same for every provider (DESIGN.md):
/// `init_strength` is how far the render moves from the photo,
/// `guidance_scale` how strongly the prompt (the photorealistic look) is
/// pushed, `controlnet_weight` how much of the room's structure is kept.
/// Providers whose knobs point another way translate them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// 0.1–0.5 by default: how far the render moves from the photo.
    pub init_strength: f64,
    /// 5.0–12.0 by default: how strongly the prompt is followed.
    pub guidance_scale: f64,
    /// 0.7–0.99 by default: how much of the room's structure is kept.
    pub controlnet_weight: f64,
}

/// `init_strength 0.25 guidance_scale 7.5 controlnet_weight 0.80`: what
/// logs and `-v` show (never the `Debug` struct).
impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "init_strength {:.2} guidance_scale {:.1} controlnet_weight {:.2}",
            self.init_strength, self.guidance_scale, self.controlnet_weight
        )
    }
}

/// A star rating: a whole number from 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Stars(u8);

impl Stars {
    /// Validates a rating.
    ///
    /// # Errors
    /// [`Error::RatingOutOfRange`] unless `1 <= value <= 5`.
    pub fn new(value: i64) -> Result<Self> {
        if (1..=5).contains(&value) {
            Ok(Stars(value as u8))
        } else {
            Err(Error::RatingOutOfRange(value.to_string()))
        }
    }

    /// Parses what a user typed ("4"); anything but a whole number 1–5 is rejected.
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim();
        trimmed
            .parse::<i64>()
            .map_err(|_| Error::RatingOutOfRange(trimmed.to_string()))
            .and_then(Stars::new)
    }

    /// The number of stars.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Stars {
    type Error = Error;
    fn try_from(value: i64) -> Result<Self> {
        Stars::new(value)
    }
}

impl From<Stars> for u8 {
    fn from(stars: Stars) -> u8 {
        stars.0
    }
}

/// Where an experiment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Parameters proposed by `suggest`, no image; rateable.
    Proposed,
    /// A render was started and has not finished (or the process was killed).
    Running,
    /// The render exists; rateable.
    Done,
    /// The provider failed; the error is recorded.
    Failed,
}

impl ExperimentStatus {
    /// The word stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Proposed => "proposed",
            ExperimentStatus::Running => "running",
            ExperimentStatus::Done => "done",
            ExperimentStatus::Failed => "failed",
        }
    }

    /// Parses the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "proposed" => ExperimentStatus::Proposed,
            "running" => ExperimentStatus::Running,
            "done" => ExperimentStatus::Done,
            "failed" => ExperimentStatus::Failed,
            _ => return None,
        })
    }

    /// Whether a designer can rate an experiment in this state.
    pub fn is_rateable(self) -> bool {
        matches!(self, ExperimentStatus::Proposed | ExperimentStatus::Done)
    }
}

/// How the optimizer chose a point (recorded with every experiment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Space-filling initial design (Latin hypercube within the batch).
    InitialDesign,
    /// Uniform random search.
    Random,
    /// Expected Improvement on the Gaussian-process model (explores).
    GpEi,
    /// The model's best predicted settings (exploits).
    GpExploit,
    /// The alternative to an exploited variant that maximises the expected
    /// utility of the better of the two (EUBO): the most informative B.
    GpEubo,
    /// A uniformly random arm and point away from everything tried on it:
    /// random search that does not repeat itself.
    SpaceFilling,
}

impl Method {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::InitialDesign => "initial_design",
            Method::Random => "random",
            Method::GpEi => "gp_ei",
            Method::GpExploit => "gp_exploit",
            Method::GpEubo => "gp_eubo",
            Method::SpaceFilling => "space_filling",
        }
    }

    /// Parses the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "initial_design" => Method::InitialDesign,
            "random" => Method::Random,
            "gp_ei" => Method::GpEi,
            "gp_exploit" => Method::GpExploit,
            "gp_eubo" => Method::GpEubo,
            "space_filling" => Method::SpaceFilling,
            _ => return None,
        })
    }
}

/// The original system's metadata about a photo, recorded with each enhance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    /// Project or client name.
    pub project: Option<String>,
    /// What the designer wants improved, e.g. `surfaces`, `lighting`.
    pub kind: Option<String>,
    /// Room type, e.g. `living_room`, `kitchen`.
    pub room: Option<String>,
    /// Design style, e.g. `scandinavian`.
    pub style: Option<String>,
}

/// The label of the i-th variant of a batch: A, B, …, Z, then A2, B2, …
pub fn option_label(index: usize) -> String {
    let letter = (b'A' + (index % 26) as u8) as char;
    match index / 26 {
        0 => letter.to_string(),
        round => format!("{letter}{}", round + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_accept_only_one_to_five() {
        for ok in 1..=5 {
            assert_eq!(Stars::new(ok).unwrap().get() as i64, ok);
        }
        for bad in [0, 6, -1, 100] {
            assert!(matches!(Stars::new(bad), Err(Error::RatingOutOfRange(_))));
        }
        assert!(Stars::parse(" 4 ").is_ok());
        for bad in ["4.5", "four", "", "5stars"] {
            assert!(Stars::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn option_labels_run_a_to_z_then_repeat_with_a_round_number() {
        assert_eq!(option_label(0), "A");
        assert_eq!(option_label(1), "B");
        assert_eq!(option_label(25), "Z");
        assert_eq!(option_label(26), "A2");
    }

    #[test]
    fn experiment_ids_are_32_hex_digits_and_distinct() {
        let a = ExperimentId::random();
        let b = ExperimentId::random();
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(a.short().len(), 8);
    }
}

/// How a suggestion's provider arm was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmRule {
    /// Spread over the initial design or random batch.
    Design,
    /// A Thompson draw from the arms' Beta posteriors.
    Thompson,
    /// A Thompson draw of each arm's best settings from the model's posterior.
    PosteriorMaximum,
    /// The UCB1 index.
    Ucb1,
    /// The arm with the highest acquisition value.
    Acquisition,
    /// The arm of the best predicted settings (the exploiting variant).
    BestPrediction,
    /// The arm with the fewest renders while the first renders are shared
    /// evenly among the arms (`arm_warmup`).
    Warmup,
    /// The arm short of its renders when the providers get a second look
    /// (`second_look`).
    SecondLook,
}

impl ArmRule {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ArmRule::Design => "design",
            ArmRule::Thompson => "thompson",
            ArmRule::PosteriorMaximum => "posterior_maximum",
            ArmRule::Ucb1 => "ucb1",
            ArmRule::Acquisition => "acquisition",
            ArmRule::BestPrediction => "best_prediction",
            ArmRule::Warmup => "warmup",
            ArmRule::SecondLook => "second_look",
        }
    }

    /// Parses the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "design" => ArmRule::Design,
            "thompson" => ArmRule::Thompson,
            "posterior_maximum" => ArmRule::PosteriorMaximum,
            "ucb1" => ArmRule::Ucb1,
            "acquisition" => ArmRule::Acquisition,
            "best_prediction" => ArmRule::BestPrediction,
            "warmup" => ArmRule::Warmup,
            "second_look" => ArmRule::SecondLook,
            _ => return None,
        })
    }
}

/// Why a point was proposed, as far as the model can say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// How the arm was chosen.
    pub arm_rule: ArmRule,
    /// The Thompson draw or UCB index that chose the arm, if any.
    pub arm_score: Option<f64>,
    /// The GP's predicted rating at the point, if a GP was fitted.
    pub predicted_mean: Option<f64>,
    /// Its standard deviation.
    pub predicted_sd: Option<f64>,
    /// Expected Improvement at the point (stars), for GP-EI proposals.
    pub expected_improvement: Option<f64>,
}

impl Explanation {
    /// One line for people: "gp ei via thompson 0.62: predicted 3.9 ± 0.3 stars, EI 0.08".
    pub fn describe(&self, method: Method) -> String {
        let mut text = method.as_str().replace('_', " ");
        if self.arm_rule != ArmRule::Design {
            text.push_str(&format!(
                " (arm by {}",
                self.arm_rule.as_str().replace('_', " ")
            ));
            if let Some(score) = self.arm_score {
                text.push_str(&format!(" {score:.2}"));
            }
            text.push(')');
        }
        if let (Some(mean), Some(sd)) = (self.predicted_mean, self.predicted_sd) {
            text.push_str(&format!(": predicted {mean:.2} ± {sd:.2} stars"));
        }
        if let Some(ei) = self.expected_improvement {
            text.push_str(&format!(", EI {ei:.3}"));
        }
        text
    }

    /// A point from the space-filling design or random search: no model behind it.
    pub fn design() -> Self {
        Explanation {
            arm_rule: ArmRule::Design,
            arm_score: None,
            predicted_mean: None,
            predicted_sd: None,
            expected_improvement: None,
        }
    }
}

/// A point of the search space: which provider arm, with which parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The provider arm's configured name.
    pub provider: String,
    /// The continuous parameters.
    pub params: Params,
}

/// A trial with the latest rating it received: one observation for the optimizer.
#[derive(Debug, Clone, PartialEq)]
pub struct RatedTrial {
    /// What was tried.
    pub trial: Trial,
    /// The latest rating it got.
    pub stars: Stars,
}
