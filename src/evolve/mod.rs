//! Prompt evolution: what designers complain about, a better prompt from
//! it, and (elsewhere) a champion/challenger test of that prompt.
//!
//! Two evolvers share one interface ([`Evolver`]): the rule-based one
//! (offline default) and an OpenAI-compatible LLM. Whatever either
//! proposes goes through [`Proposal::validate`] before anything is saved.

pub mod cluster;
pub mod compare;
pub mod issues;
pub mod llm;
pub mod rules;
pub mod version;

pub use version::{BadVersion, Bump, Version};

use serde::{Deserialize, Serialize};

use crate::domain::PromptStatus;
use crate::domain::prompt::normalised_text;
use std::future::Future;
use std::pin::Pin;

/// Longest prompt (and negative prompt) accepted, in characters.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// Longest reasoning kept, in characters.
pub const MAX_REASONING_CHARS: usize = 4000;
/// Most change-list entries kept.
pub const MAX_CHANGES: usize = 30;

/// The prompt being improved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentPrompt {
    /// Its version.
    pub version: Version,
    /// Positive prompt.
    pub prompt: String,
    /// Negative prompt.
    pub negative_prompt: String,
}

/// A designer's comment with the rating it came with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatedComment {
    /// 1–5 stars.
    pub stars: u8,
    /// The comment, as written.
    pub comment: String,
}

/// How often an issue was reported in the recent comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueCount {
    /// Issue key, e.g. `flat_look`.
    pub issue: String,
    /// Comments that report it.
    pub count: usize,
    /// Mean stars of those comments.
    pub mean_stars: f64,
}

/// What an evolver works from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvolutionInput {
    /// The current champion.
    pub parent: ParentPrompt,
    /// Issues detected in the recent comments, most frequent first.
    pub issues: Vec<IssueCount>,
    /// The recent rated comments (newest first).
    pub comments: Vec<RatedComment>,
    /// Mean of the recent ratings.
    pub recent_mean: f64,
    /// Versions that exist already, whatever their status (a rejected
    /// sibling keeps its number): a proposal must pick another.
    #[serde(default)]
    pub taken_versions: Vec<Version>,
    /// Every version's text, whatever its status: a proposal must not
    /// repeat one (after [`normalised_text`]), e.g. a rejected sibling
    /// written again word for word.
    #[serde(default)]
    pub existing_prompts: Vec<ExistingPrompt>,
}

/// A version that exists already, as a proposal must not repeat it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingPrompt {
    /// Its version.
    pub version: String,
    /// Champion, challenger, retired or rejected.
    pub status: PromptStatus,
    /// Positive prompt.
    pub prompt: String,
    /// Negative prompt.
    pub negative_prompt: String,
}

impl EvolutionInput {
    /// Refuses a version that exists already, naming the highest existing
    /// one so that a retry can pick a free number.
    ///
    /// # Errors
    /// [`EvolveError::Invalid`] when `version` is taken.
    pub fn check_free(&self, version: Version) -> Result<(), EvolveError> {
        if !self.taken_versions.contains(&version) {
            return Ok(());
        }
        let highest = self.taken_versions.iter().max().copied().unwrap_or(version);
        Err(EvolveError::Invalid(format!(
            "version {version} already exists (the highest existing version is {highest}); \
             propose a version above {highest}"
        )))
    }

    /// The existing version whose text `prompt` and `negative_prompt`
    /// repeat (up to case, whitespace and punctuation spacing), if any.
    pub fn repeats(&self, prompt: &str, negative_prompt: &str) -> Option<&ExistingPrompt> {
        let (p, n) = (normalised_text(prompt), normalised_text(negative_prompt));
        self.existing_prompts
            .iter()
            .find(|e| normalised_text(&e.prompt) == p && normalised_text(&e.negative_prompt) == n)
    }

    /// [`EvolutionInput::check_free`] for the proposal's version, and a
    /// text that no existing version has.
    ///
    /// # Errors
    /// [`EvolveError::Invalid`] naming the version taken or repeated.
    pub fn check_new(&self, proposal: &Proposal) -> Result<(), EvolveError> {
        self.check_free(proposal.new_version)?;
        match self.repeats(&proposal.new_prompt, &proposal.negative_prompt) {
            None => Ok(()),
            Some(e) => Err(EvolveError::Invalid(format!(
                "the proposed prompt repeats version {} ({}) word for word; \
                 propose a different text",
                e.version, e.status
            ))),
        }
    }

    /// The first of `bump`, `bump` again, … from the parent's version that
    /// is not taken.
    pub fn free_version(&self, bump: Bump) -> Version {
        let mut version = self.parent.version.bumped(bump);
        while self.taken_versions.contains(&version) {
            version = version.bumped(bump);
        }
        version
    }
}

/// A proposed new prompt version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Strictly above the parent's version.
    pub new_version: Version,
    /// Positive prompt.
    pub new_prompt: String,
    /// Negative prompt.
    pub negative_prompt: String,
    /// Why these changes.
    pub reasoning: String,
    /// What changed, one entry per change.
    pub changes: Vec<String>,
}

/// Why an evolution produced nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvolveError {
    /// The proposal broke a rule; nothing is saved.
    #[error("invalid proposal: {0}")]
    Invalid(String),
    /// The comments give nothing to change (no issue, or every fix is in
    /// already, or the only rewrite repeats an existing version): not a
    /// failure, the evolution is recorded as skipped.
    #[error("nothing to change: {0}")]
    NothingToChange(String),
    /// The LLM could not be reached or kept answering badly.
    #[error("the LLM evolver failed: {0}")]
    Llm(String),
}

impl Proposal {
    /// Checks the rules every saved version keeps: the version strictly
    /// above the parent's, prompts non-empty, at most
    /// [`MAX_PROMPT_CHARS`], no control characters (newlines and tabs are
    /// folded to spaces), and a different prompt from the parent's. Trims
    /// reasoning and changes to their bounds.
    ///
    /// # Errors
    /// [`EvolveError::Invalid`] saying which rule was broken.
    pub fn validate(mut self, parent: &ParentPrompt) -> Result<Proposal, EvolveError> {
        if self.new_version <= parent.version {
            return Err(EvolveError::Invalid(format!(
                "version {} is not above {}",
                self.new_version, parent.version
            )));
        }
        for (what, text) in [
            ("prompt", &mut self.new_prompt),
            ("negative prompt", &mut self.negative_prompt),
        ] {
            *text = clean_text(text, what, MAX_PROMPT_CHARS)?;
        }
        if self.new_prompt.is_empty() {
            return Err(EvolveError::Invalid("the prompt is empty".into()));
        }
        if self.new_prompt == parent.prompt && self.negative_prompt == parent.negative_prompt {
            return Err(EvolveError::Invalid(
                "the prompt is unchanged from the parent".into(),
            ));
        }
        self.reasoning = truncate_chars(&fold_whitespace(&self.reasoning), MAX_REASONING_CHARS);
        self.changes = self
            .changes
            .iter()
            .map(|c| truncate_chars(&fold_whitespace(c), 300))
            .filter(|c| !c.is_empty())
            .take(MAX_CHANGES)
            .collect();
        Ok(self)
    }
}

/// Folds newlines and tabs to spaces and refuses other control characters.
fn clean_text(text: &str, what: &str, max_chars: usize) -> Result<String, EvolveError> {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(EvolveError::Invalid(format!(
            "the {what} contains a control character (U+{:04X})",
            c as u32
        )));
    }
    let folded = fold_whitespace(text);
    let length = folded.chars().count();
    if length > max_chars {
        return Err(EvolveError::Invalid(format!(
            "the {what} is {length} characters long (at most {max_chars})"
        )));
    }
    Ok(folded)
}

fn fold_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A boxed future, as evolvers return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Anything that proposes a new prompt from the recent feedback.
pub trait Evolver: Send + Sync {
    /// `rules` or `llm:<model>`, recorded with each evolution.
    fn name(&self) -> String;

    /// Proposes a new version. Implementations validate their own output
    /// with [`Proposal::validate`] (the LLM evolver retries on an invalid
    /// answer).
    ///
    /// # Errors
    /// [`EvolveError`] when no valid proposal could be made.
    fn propose(
        self: std::sync::Arc<Self>,
        input: EvolutionInput,
    ) -> BoxFuture<Result<Proposal, EvolveError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent() -> ParentPrompt {
        ParentPrompt {
            version: "1.0.0".parse().unwrap(),
            prompt: "a room".into(),
            negative_prompt: "cartoon".into(),
        }
    }

    fn proposal(version: &str, prompt: &str) -> Proposal {
        Proposal {
            new_version: version.parse().unwrap(),
            new_prompt: prompt.into(),
            negative_prompt: "cartoon".into(),
            reasoning: "because\nflat".into(),
            changes: vec!["added light".into(), "  ".into()],
        }
    }

    #[test]
    fn a_good_proposal_is_cleaned_and_kept() {
        let p = proposal("1.1.0", "a bright\nroom")
            .validate(&parent())
            .unwrap();
        assert_eq!(p.new_prompt, "a bright room");
        assert_eq!(p.reasoning, "because flat");
        assert_eq!(p.changes, ["added light"]);
    }

    #[test]
    fn bad_proposals_say_which_rule_they_broke() {
        let cases = [
            (proposal("1.0.0", "a bright room"), "not above"),
            (proposal("0.9.0", "a bright room"), "not above"),
            (proposal("1.0.1", "   "), "empty"),
            (proposal("1.0.1", "a room"), "unchanged"),
            (proposal("1.0.1", "a \u{0007} room"), "control character"),
            (
                proposal("1.0.1", &"x".repeat(MAX_PROMPT_CHARS + 1)),
                "characters long",
            ),
        ];
        for (p, expected) in cases {
            let err = p.validate(&parent()).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
