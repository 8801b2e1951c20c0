//! The rule-based evolver, the offline default: rewrites the prompt from
//! the reported issues with a curated phrase bank.
//!
//! The bank (`prompts/phrase_bank.json`, compiled in) gives each lexicon
//! issue tiers of phrases that fix it (the first tier is the fix, later
//! tiers reinforce it), phrases that cause it (dropped from the prompt) and
//! terms for the negative prompt. Issues that pull in opposite directions
//! (`too_dark` / `too_bright`) are declared as conflicts: each drops the
//! other's fixes, and when both are reported only the more reported one is
//! followed.
//!
//! A prompt is handled as comma-separated segments. A phrase is present
//! when its words appear in order inside one segment, ignoring case,
//! accents and hyphens; a segment that is part of a new phrase is replaced
//! by it (`sense of depth` → `strong sense of depth`) rather than kept
//! twice; new phrases go before the closing "keep the room …" instruction;
//! only whole segments are dropped. Nothing is added past
//! [`MAX_PROMPT_CHARS`].
//!
//! Versions: MINOR when an issue gets its first fix, PATCH when only
//! reinforcing wording changed (bumped again past any version that exists,
//! e.g. a rejected sibling), and [`EvolveError::NothingToChange`] when there is
//! nothing left to change. Detecting the issues is in `issues`.

mod phrase_bank;
mod segments;

pub use phrase_bank::{IssuePhrases, PhraseBank, PhraseBankError};
use segments::*;

use super::issues::{self, Lexicon, TokenKind};
use super::{
    BoxFuture, Bump, EvolutionInput, EvolveError, Evolver, IssueCount, MAX_PROMPT_CHARS, Proposal,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

/// How much the rule-based evolver changes at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesOptions {
    /// Most issues addressed in one version: small steps keep a
    /// champion/challenger comparison attributable to its changes.
    pub max_issues: usize,
    /// Fewest comments reporting an issue for it to be addressed.
    pub min_count: usize,
}

impl Default for RulesOptions {
    fn default() -> Self {
        RulesOptions {
            max_issues: 3,
            min_count: 1,
        }
    }
}

/// The offline evolver: phrase-bank rewrites, deterministic.
#[derive(Debug, Clone)]
pub struct RuleEvolver {
    bank: PhraseBank,
    options: RulesOptions,
}

impl Default for RuleEvolver {
    fn default() -> Self {
        RuleEvolver::new(PhraseBank::builtin().clone(), RulesOptions::default())
    }
}

/// What happened to one issue.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Its first-tier fix went in.
    Fixed,
    /// Its fix was already there; stronger wording went in.
    Reinforced,
    /// Its fixes are all in; nothing left.
    Exhausted,
    /// Its next fix does not fit within [`MAX_PROMPT_CHARS`].
    NoRoom,
    /// It conflicts with a more reported issue.
    SetAside { winner: String },
    /// The bank has no phrases for it.
    Unknown,
    /// Below [`RulesOptions::min_count`].
    TooRare,
    /// The version already addresses [`RulesOptions::max_issues`].
    Deferred,
}

impl RuleEvolver {
    /// An evolver with this bank and these options.
    pub fn new(bank: PhraseBank, options: RulesOptions) -> RuleEvolver {
        RuleEvolver { bank, options }
    }

    /// Proposes the next version of `input.parent` from `input.issues`
    /// (most reported first), validated with [`Proposal::validate`].
    ///
    /// The rewrite is deterministic, so the same champion and complaints
    /// would give a rejected sibling's text again: when the rewrite repeats
    /// an existing version, the issues it addressed are left out one at a
    /// time (most reported last) and the first new text is proposed.
    ///
    /// # Errors
    /// [`EvolveError::NothingToChange`] when no issue leads to a change
    /// (none reported, all fixes already in, no room left) or every rewrite
    /// repeats an existing version; [`EvolveError::Invalid`] when the
    /// result breaks a proposal rule.
    pub fn evolve(&self, input: &EvolutionInput) -> Result<Proposal, EvolveError> {
        let (proposal, addressed) = self.rewrite(input, None)?;
        let Some(repeated) = input.repeats(&proposal.new_prompt, &proposal.negative_prompt) else {
            return Ok(proposal);
        };
        for left_out in addressed.iter().rev() {
            if let Ok((mut alternative, _)) = self.rewrite(input, Some(left_out))
                && input
                    .repeats(&alternative.new_prompt, &alternative.negative_prompt)
                    .is_none()
            {
                alternative.reasoning = format!(
                    "{} Version {} ({}) already tried this rewrite with {left_out}; this one leaves {left_out} out.",
                    alternative.reasoning, repeated.version, repeated.status
                );
                return Ok(alternative);
            }
        }
        Err(EvolveError::NothingToChange(format!(
            "every rewrite of the reported issues repeats an existing version ({}, {})",
            repeated.version, repeated.status
        )))
    }

    /// One rewrite, leaving out the issue `skip`; returns the proposal and
    /// the issues that changed it, most reported first.
    fn rewrite(
        &self,
        input: &EvolutionInput,
        skip: Option<&str>,
    ) -> Result<(Proposal, Vec<String>), EvolveError> {
        let parent = &input.parent;
        let mut prompt = Segments::parse(&parent.prompt);
        let mut negative = Segments::parse(&parent.negative_prompt);
        let mut changes = Vec::new();
        let mut left_out = Vec::new();
        let mut outcomes: Vec<(&IssueCount, Outcome)> = Vec::new();

        let mut ranked: Vec<&IssueCount> = Vec::new();
        for issue in input
            .issues
            .iter()
            .filter(|i| Some(i.issue.as_str()) != skip)
        {
            // A key listed twice would be fixed and reinforced at once.
            if !ranked.iter().any(|r| r.issue == issue.issue) {
                ranked.push(issue);
            }
        }
        ranked.sort_by_key(|i| std::cmp::Reverse(i.count));
        let mut addressed = 0;
        let mut changed_by = Vec::new();
        for (position, issue) in ranked.iter().enumerate() {
            let outcome = if issue.count < self.options.min_count {
                Outcome::TooRare
            } else if let Some(winner) = self.conflict_winner(issue, position, &ranked) {
                Outcome::SetAside {
                    winner: winner.issue.clone(),
                }
            } else if addressed >= self.options.max_issues {
                Outcome::Deferred
            } else if let Some(phrases) = self.bank.phrases(&issue.issue) {
                let before = changes.len();
                let outcome = apply(
                    &issue.issue,
                    phrases,
                    &mut prompt,
                    &mut negative,
                    &mut changes,
                    &mut left_out,
                );
                if changes.len() > before {
                    addressed += 1;
                    changed_by.push(issue.issue.clone());
                }
                outcome
            } else {
                Outcome::Unknown
            };
            outcomes.push((*issue, outcome));
        }

        if changes.is_empty() {
            return Err(EvolveError::NothingToChange(nothing_to_change(
                &outcomes, &left_out,
            )));
        }
        let bump = if outcomes.iter().any(|(_, o)| *o == Outcome::Fixed) {
            Bump::Minor
        } else {
            Bump::Patch
        };
        Proposal {
            new_version: input.free_version(bump),
            new_prompt: prompt.render(),
            negative_prompt: negative.render(),
            reasoning: reasoning(input, &outcomes, &left_out),
            changes,
        }
        .validate(parent)
        .map(|p| (p, changed_by))
    }

    /// The issue that beats `issue` in a declared conflict, if any: more
    /// reports win, then a lower mean rating, then the earlier in the list.
    fn conflict_winner<'a>(
        &self,
        issue: &IssueCount,
        position: usize,
        ranked: &[&'a IssueCount],
    ) -> Option<&'a IssueCount> {
        ranked
            .iter()
            .enumerate()
            .find_map(|(other_position, other)| {
                let contender = other_position != position
                    && other.count >= self.options.min_count
                    && self.bank.conflict(&issue.issue, &other.issue);
                let beats = other
                    .count
                    .cmp(&issue.count)
                    .then_with(|| issue.mean_stars.total_cmp(&other.mean_stars))
                    .then_with(|| position.cmp(&other_position))
                    .is_gt();
                (contender && beats).then_some(*other)
            })
    }
}

impl Evolver for RuleEvolver {
    fn name(&self) -> String {
        "rules".into()
    }

    fn propose(self: Arc<Self>, input: EvolutionInput) -> BoxFuture<Result<Proposal, EvolveError>> {
        Box::pin(async move { self.evolve(&input) })
    }
}

/// Applies one issue's phrases: drops, then the first tier not fully
/// present, then negative terms.
fn apply(
    key: &str,
    phrases: &IssuePhrases,
    prompt: &mut Segments,
    negative: &mut Segments,
    changes: &mut Vec<String>,
    left_out: &mut Vec<String>,
) -> Outcome {
    let before = changes.len();
    let mut prompt_added = 0;
    for phrase in &phrases.drop {
        if let Some(removed) = prompt.remove(phrase) {
            changes.push(format!("removed: {removed} ({key})"));
        }
    }
    let tier = phrases
        .add
        .iter()
        .position(|tier| tier.iter().any(|p| !prompt.contains(p)));
    if let Some(tier) = tier {
        for phrase in &phrases.add[tier] {
            match prompt.add(phrase) {
                Added::Present => {}
                Added::Inserted => {
                    prompt_added += 1;
                    changes.push(format!("added: {phrase} ({key})"));
                }
                Added::Replaced(old) => {
                    prompt_added += 1;
                    changes.push(format!("changed: {old} → {phrase} ({key})"));
                }
                Added::TooLong => left_out.push(format!("{phrase} ({key})")),
            }
        }
    }
    for term in &phrases.negative {
        match negative.add(term) {
            Added::Present => {}
            Added::Inserted => changes.push(format!("negative: added {term} ({key})")),
            Added::Replaced(old) => {
                changes.push(format!("negative: changed {old} → {term} ({key})"));
            }
            Added::TooLong => left_out.push(format!("negative {term} ({key})")),
        }
    }
    match tier {
        Some(0) if prompt_added > 0 => Outcome::Fixed,
        _ if changes.len() > before => Outcome::Reinforced,
        // A phrase was missing and none went in: none fitted.
        Some(_) => Outcome::NoRoom,
        None => Outcome::Exhausted,
    }
}

/// `flat_look (3 comments, mean 2.00★)`
fn described(issue: &IssueCount) -> String {
    let comments = if issue.count == 1 {
        "comment"
    } else {
        "comments"
    };
    format!(
        "{} ({} {comments}, mean {:.2}★)",
        issue.issue, issue.count, issue.mean_stars
    )
}

fn reasoning(
    input: &EvolutionInput,
    outcomes: &[(&IssueCount, Outcome)],
    left_out: &[String],
) -> String {
    let parent = &input.parent.version;
    let mut text = format!(
        "Rule-based evolution of v{parent} from {} recent comments (mean {:.2}★).",
        input.comments.len(),
        input.recent_mean
    );
    let mut deferred = Vec::new();
    for (issue, outcome) in outcomes {
        let what = described(issue);
        let _ = match outcome {
            Outcome::Fixed => write!(text, " {what}: first fix from the phrase bank."),
            Outcome::Reinforced => write!(
                text,
                " {what}: v{parent} already addresses it, so its wording is reinforced."
            ),
            Outcome::Exhausted => write!(text, " {what}: every fix is already in the prompt."),
            Outcome::NoRoom => write!(text, " {what}: no room left for its next fix."),
            Outcome::SetAside { winner } => write!(
                text,
                " {what}: set aside, it pulls against {winner}, which is followed."
            ),
            Outcome::Unknown => write!(text, " {what}: no phrases for it in the bank."),
            Outcome::TooRare => write!(text, " {what}: too few reports to act on."),
            Outcome::Deferred => {
                deferred.push(issue.issue.as_str());
                Ok(())
            }
        };
    }
    if !deferred.is_empty() {
        let _ = write!(
            text,
            " Left for a later version (small steps keep the comparison clear): {}.",
            deferred.join(", ")
        );
    }
    if !left_out.is_empty() {
        let _ = write!(
            text,
            " Left out to stay within {MAX_PROMPT_CHARS} characters: {}.",
            left_out.join("; ")
        );
    }
    text
}

fn nothing_to_change(outcomes: &[(&IssueCount, Outcome)], left_out: &[String]) -> String {
    if outcomes.is_empty() {
        return "no issues were reported".into();
    }
    if !left_out.is_empty() {
        return format!(
            "no room left within {MAX_PROMPT_CHARS} characters for {}",
            left_out.join("; ")
        );
    }
    let exhausted: Vec<&str> = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Exhausted)
        .map(|(i, _)| i.issue.as_str())
        .collect();
    if exhausted.is_empty() {
        let all: Vec<String> = outcomes.iter().map(|(i, _)| i.issue.clone()).collect();
        format!("no reported issue can be acted on ({})", all.join(", "))
    } else {
        format!(
            "every fix for {} is already in the prompt",
            exhausted.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evolve::{ParentPrompt, RatedComment};

    /// The shipped base prompt as a parent.
    fn base_parent() -> ParentPrompt {
        #[derive(Deserialize)]
        struct Shipped {
            version: crate::evolve::Version,
            prompt: String,
            negative_prompt: String,
        }
        let s: Shipped =
            serde_json::from_str(include_str!("../../../prompts/versions/v1.0.0.json")).unwrap();
        ParentPrompt {
            version: s.version,
            prompt: s.prompt,
            negative_prompt: s.negative_prompt,
        }
    }

    fn rated(items: &[(u8, &str)]) -> Vec<RatedComment> {
        items
            .iter()
            .map(|&(stars, comment)| RatedComment {
                stars,
                comment: comment.into(),
            })
            .collect()
    }

    fn input_from(parent: ParentPrompt, comments: Vec<RatedComment>) -> EvolutionInput {
        let mean = if comments.is_empty() {
            0.0
        } else {
            comments.iter().map(|c| f64::from(c.stars)).sum::<f64>() / comments.len() as f64
        };
        EvolutionInput {
            parent,
            issues: issues::summarise(&comments),
            comments,
            recent_mean: mean,
            taken_versions: Vec::new(),
            existing_prompts: Vec::new(),
        }
    }

    fn count(issue: &str, count: usize, mean_stars: f64) -> IssueCount {
        IssueCount {
            issue: issue.into(),
            count,
            mean_stars,
        }
    }

    fn input_with(parent: ParentPrompt, issues: Vec<IssueCount>) -> EvolutionInput {
        EvolutionInput {
            parent,
            issues,
            comments: Vec::new(),
            recent_mean: 2.0,
            taken_versions: Vec::new(),
            existing_prompts: Vec::new(),
        }
    }

    fn as_parent(p: &Proposal) -> ParentPrompt {
        ParentPrompt {
            version: p.new_version,
            prompt: p.new_prompt.clone(),
            negative_prompt: p.negative_prompt.clone(),
        }
    }

    /// No segment said twice, and the closing instruction stays last.
    fn assert_well_formed(prompt: &str) {
        let segments = Segments::parse(prompt);
        let mut seen: Vec<Vec<String>> = segments.0.iter().map(|s| words(s)).collect();
        let n = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n, "duplicate segment in {prompt:?}");
        assert!(
            prompt.ends_with("furniture and materials exactly as they are"),
            "{prompt}"
        );
        assert!(prompt.chars().count() <= MAX_PROMPT_CHARS);
    }

    #[test]
    fn shipped_phrase_bank_is_valid_and_covers_every_issue() {
        let bank = PhraseBank::parse(
            include_str!("../../../prompts/phrase_bank.json"),
            Lexicon::builtin(),
        )
        .unwrap();
        for key in Lexicon::builtin().keys() {
            assert!(bank.phrases(key).is_some(), "{key}");
        }
        assert!(bank.conflict("too_bright", "too_dark"));
        assert!(!bank.conflict("flat_look", "too_dark"));
        // Phrases to add never repeat what the base negative prompt
        // forbids.
        let negative = Segments::parse(&base_parent().negative_prompt);
        for phrases in bank.issues.values() {
            for add in phrases.add.iter().flatten() {
                for term in &negative.0 {
                    assert!(
                        !contains_words(&words(add), &words(term)),
                        "{add:?} contains the base negative term {term:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_phrase_banks_say_what_is_wrong() {
        let shipped: serde_json::Value =
            serde_json::from_str(include_str!("../../../prompts/phrase_bank.json")).unwrap();
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = shipped.clone();
            f(&mut v);
            v.to_string()
        };
        let cases: Vec<(String, &str)> = vec![
            (
                edit(&|v| {
                    v["issues"].as_object_mut().unwrap().remove("blurry");
                }),
                "the bank does not",
            ),
            (
                edit(&|v| v["issues"]["unknown"] = v["issues"]["blurry"].clone()),
                "not an issue of the lexicon",
            ),
            (
                edit(&|v| v["issues"]["blurry"]["add"] = serde_json::json!([[]])),
                "first tier",
            ),
            (
                edit(&|v| v["issues"]["blurry"]["add"][0][0] = "sharp, crisp".into()),
                "comma",
            ),
            (
                edit(&|v| v["issues"]["artifacts"]["add"][0][0] = "noise-free image".into()),
                "say what is wanted",
            ),
            (
                edit(&|v| v["issues"]["blurry"]["add"][0][0] = "layered lighting".into()),
                "also added by",
            ),
            (
                edit(&|v| v["issues"]["too_dark"]["drop"] = serde_json::json!(["dusk"])),
                "must drop",
            ),
            (
                edit(&|v| v["issues"]["blurry"]["drop"] = serde_json::json!(["layered lighting"])),
                "which flat_look adds",
            ),
            (
                edit(&|v| v["issues"]["blurry"]["negative"] = serde_json::json!(["depth"])),
                "contradicts",
            ),
            (
                edit(&|v| v["conflicts"] = serde_json::json!([["too_dark", "nope"]])),
                "unknown issue",
            ),
            ("[]".into(), "not valid"),
        ];
        for (json, expected) in cases {
            let err = PhraseBank::parse(&json, Lexicon::builtin())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn flat_and_dark_comments_give_a_minor_version_with_depth_and_light() {
        let comments = rated(&[
            (2, "Se ve muy plano"),
            (1, "muy oscuro, falta luz"),
            (2, "flat, no depth"),
            (3, "too dark"),
            (2, "plano y sin profundidad"),
            (4, "la iluminación está bien"),
        ]);
        let input = input_from(base_parent(), comments);
        assert_eq!(input.issues[0].issue, "flat_look");
        assert_eq!(input.issues[1].issue, "too_dark");
        let p = RuleEvolver::default().evolve(&input).unwrap();
        assert_eq!(p.new_version.to_string(), "1.1.0");
        for phrase in [
            "strong sense of depth",
            "layered lighting",
            "defined contrast between planes",
            "bright well-exposed interior",
            "abundant natural daylight",
        ] {
            assert!(
                p.new_prompt.contains(phrase),
                "{phrase} in {}",
                p.new_prompt
            );
        }
        // The base's weaker `sense of depth` became the stronger phrase.
        assert_eq!(p.new_prompt.matches("sense of depth").count(), 1);
        assert_well_formed(&p.new_prompt);
        assert!(p.negative_prompt.contains("underexposed"));
        assert!(p.negative_prompt.starts_with("cartoon, illustration"));
        assert!(
            p.changes
                .contains(&"changed: sense of depth → strong sense of depth (flat_look)".into())
        );
        assert!(
            p.changes
                .contains(&"added: abundant natural daylight (too_dark)".into())
        );
        assert!(
            p.changes
                .contains(&"negative: added flat look (flat_look)".into())
        );
        assert!(p.reasoning.contains("6 recent comments"), "{}", p.reasoning);
        assert!(
            p.reasoning
                .contains("flat_look (3 comments, mean 2.00★): first fix"),
            "{}",
            p.reasoning
        );
        assert!(
            p.reasoning.contains("too_dark (2 comments, mean 2.00★)"),
            "{}",
            p.reasoning
        );
        // validate() already ran inside; running it again changes nothing.
        assert_eq!(p.clone().validate(&base_parent()).unwrap(), p);
    }

    #[test]
    fn evolving_its_own_output_reinforces_with_patches_then_stops_cleanly() {
        let evolver = RuleEvolver::default();
        let issues = vec![count("flat_look", 4, 2.0), count("too_dark", 2, 2.5)];
        let mut parent = base_parent();
        let mut versions = Vec::new();
        let err = loop {
            match evolver.evolve(&input_with(parent.clone(), issues.clone())) {
                Ok(p) => {
                    assert!(p.new_version > parent.version);
                    assert_well_formed(&p.new_prompt);
                    versions.push(p.new_version.to_string());
                    parent = as_parent(&p);
                }
                Err(e) => break e,
            }
            assert!(versions.len() < 10, "never stops: {versions:?}");
        };
        assert_eq!(versions, ["1.1.0", "1.1.1", "1.1.2"]);
        let EvolveError::NothingToChange(message) = err else {
            panic!("{err:?}")
        };
        assert!(message.starts_with("every fix for"), "{message}");
        assert!(message.contains("flat_look, too_dark"), "{message}");
        // Every tier of both issues ended up in the prompt, once.
        for key in ["flat_look", "too_dark"] {
            for phrase in PhraseBank::builtin()
                .phrases(key)
                .unwrap()
                .add
                .iter()
                .flatten()
            {
                assert_eq!(
                    parent.prompt.matches(phrase.as_str()).count(),
                    1,
                    "{phrase}"
                );
            }
        }
    }

    #[test]
    fn a_new_issue_on_a_reinforced_prompt_is_a_minor_bump() {
        let evolver = RuleEvolver::default();
        let first = evolver
            .evolve(&input_with(base_parent(), vec![count("blurry", 3, 2.0)]))
            .unwrap();
        let second = evolver
            .evolve(&input_with(
                as_parent(&first),
                vec![count("blurry", 3, 2.0)],
            ))
            .unwrap();
        assert_eq!(second.new_version.to_string(), "1.1.1");
        let third = evolver
            .evolve(&input_with(
                as_parent(&second),
                vec![count("blurry", 3, 2.0), count("shadows", 1, 3.0)],
            ))
            .unwrap();
        assert_eq!(third.new_version.to_string(), "1.2.0");
        assert!(
            third
                .new_prompt
                .contains("natural contact shadows under furniture")
        );
        assert!(
            third
                .new_prompt
                .contains("sharp edges on furniture and architecture")
        );
    }

    #[test]
    fn conflicting_issues_follow_the_more_reported_and_undo_the_other() {
        let evolver = RuleEvolver::default();
        let dark = evolver
            .evolve(&input_with(
                base_parent(),
                vec![count("too_dark", 3, 2.0), count("too_bright", 1, 3.0)],
            ))
            .unwrap();
        assert!(dark.new_prompt.contains("abundant natural daylight"));
        assert!(!dark.new_prompt.contains("controlled highlights"));
        assert!(
            dark.reasoning.contains(
                "too_bright (1 comment, mean 3.00★): set aside, it pulls against too_dark"
            ),
            "{}",
            dark.reasoning
        );

        let bright = evolver
            .evolve(&input_with(
                as_parent(&dark),
                vec![count("too_bright", 4, 2.0)],
            ))
            .unwrap();
        assert_eq!(bright.new_version.to_string(), "1.2.0");
        assert!(!bright.new_prompt.contains("abundant natural daylight"));
        assert!(!bright.new_prompt.contains("bright well-exposed interior"));
        assert!(bright.new_prompt.contains("controlled highlights"));
        assert!(
            bright
                .changes
                .contains(&"removed: abundant natural daylight (too_bright)".into())
        );
        assert_well_formed(&bright.new_prompt);

        // A tie in reports goes to the lower rating.
        let tie = evolver
            .evolve(&input_with(
                base_parent(),
                vec![count("too_dark", 2, 3.0), count("too_bright", 2, 1.5)],
            ))
            .unwrap();
        assert!(tie.new_prompt.contains("controlled highlights"));
        assert!(!tie.new_prompt.contains("abundant natural daylight"));
    }

    #[test]
    fn at_most_max_issues_are_addressed_and_the_rest_are_named() {
        let evolver = RuleEvolver::new(
            PhraseBank::builtin().clone(),
            RulesOptions {
                max_issues: 2,
                min_count: 2,
            },
        );
        let p = evolver
            .evolve(&input_with(
                base_parent(),
                vec![
                    count("blurry", 5, 2.0),
                    count("artifacts", 4, 2.0),
                    count("shadows", 3, 2.0),
                    count("colors", 1, 2.0),
                    count("made_up", 3, 2.0),
                ],
            ))
            .unwrap();
        assert!(p.new_prompt.contains("tack-sharp focus"));
        assert!(p.new_prompt.contains("pristine clean image"));
        assert!(!p.new_prompt.contains("contact shadows"));
        assert!(
            p.reasoning.contains("Left for a later version")
                && p.reasoning.contains("shadows, made_up"),
            "{}",
            p.reasoning
        );
        assert!(
            p.reasoning
                .contains("colors (1 comment, mean 2.00★): too few reports")
        );
    }

    #[test]
    fn an_issue_listed_twice_is_addressed_once() {
        let evolver = RuleEvolver::default();
        let once = evolver
            .evolve(&input_with(base_parent(), vec![count("blurry", 3, 2.0)]))
            .unwrap();
        let twice = evolver
            .evolve(&input_with(
                base_parent(),
                vec![count("blurry", 3, 2.0), count("blurry", 1, 4.0)],
            ))
            .unwrap();
        assert_eq!(twice.new_prompt, once.new_prompt);
        assert_eq!(twice.changes, once.changes);
    }

    #[test]
    fn unknown_issues_are_named_and_nothing_to_do_is_an_error() {
        let evolver = RuleEvolver::default();
        let err = evolver
            .evolve(&input_with(base_parent(), vec![]))
            .unwrap_err();
        assert_eq!(
            err,
            EvolveError::NothingToChange("no issues were reported".into())
        );
        let err = evolver
            .evolve(&input_with(base_parent(), vec![count("made_up", 3, 2.0)]))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no reported issue can be acted on (made_up)")
        );
    }

    #[test]
    fn never_grows_the_prompt_past_the_length_bound() {
        let mut parent = base_parent();
        // Pad the prompt until only a short phrase still fits.
        let room = 30;
        let padding = MAX_PROMPT_CHARS - parent.prompt.chars().count() - room;
        parent.prompt = format!("{}, {}", "x".repeat(padding - 2), parent.prompt);
        assert_eq!(parent.prompt.chars().count(), MAX_PROMPT_CHARS - room);
        let evolver = RuleEvolver::default();
        let p = evolver
            .evolve(&input_with(parent.clone(), vec![count("too_dark", 3, 2.0)]))
            .unwrap();
        assert!(p.new_prompt.chars().count() <= MAX_PROMPT_CHARS);
        // "bright well-exposed interior" (28 + 2) fits; the next does not.
        assert!(p.new_prompt.contains("bright well-exposed interior"));
        assert!(!p.new_prompt.contains("abundant natural daylight"));
        assert!(
            p.reasoning
                .contains("Left out to stay within 2000 characters"),
            "{}",
            p.reasoning
        );
        // Now full, with the negatives already in: nothing can change.
        let full = as_parent(&p);
        assert_eq!(full.prompt.chars().count(), MAX_PROMPT_CHARS);
        let err = evolver
            .evolve(&input_with(full, vec![count("too_dark", 3, 2.0)]))
            .unwrap_err();
        assert!(err.to_string().contains("no room left"), "{err}");
    }

    #[test]
    fn segments_match_words_not_spelling() {
        let mut s = Segments::parse("Photorealistic,  Well Exposed Interior , keep it as it is");
        assert!(s.contains("well-exposed interior"));
        assert!(s.contains("WELL EXPOSED"));
        assert!(!s.contains("exposed well"));
        assert_eq!(
            s.add("bright well-exposed interior"),
            Added::Replaced("Well Exposed Interior".into())
        );
        assert_eq!(s.add("layered lighting"), Added::Inserted);
        assert_eq!(s.add("Layered  lighting"), Added::Present);
        // A one-word segment is not replaced: it says something on its own.
        assert_eq!(s.add("photorealistic textures"), Added::Inserted);
        assert_eq!(
            s.render(),
            "Photorealistic, bright well-exposed interior, layered lighting, \
             photorealistic textures, keep it as it is"
        );
        assert_eq!(
            s.remove("LAYERED LIGHTING"),
            Some("layered lighting".into())
        );
        assert_eq!(s.remove("layered"), None);
    }

    #[tokio::test]
    async fn works_through_the_evolver_interface() {
        let evolver = Arc::new(RuleEvolver::default());
        assert_eq!(evolver.name(), "rules");
        let input = input_with(base_parent(), vec![count("cgi_look", 2, 1.5)]);
        let direct = evolver.evolve(&input).unwrap();
        let through = evolver.clone().propose(input).await.unwrap();
        assert_eq!(direct, through);
        assert_eq!(through.new_version.to_string(), "1.1.0");
    }

    #[test]
    fn evolution_is_deterministic() {
        let input = input_with(
            base_parent(),
            vec![
                count("colors", 2, 2.0),
                count("textures", 2, 2.0),
                count("lighting", 2, 2.0),
            ],
        );
        let first = RuleEvolver::default().evolve(&input).unwrap();
        for _ in 0..3 {
            assert_eq!(RuleEvolver::default().evolve(&input).unwrap(), first);
        }
    }

    #[test]
    fn the_version_skips_past_numbers_that_exist_already() {
        let mut input = input_with(base_parent(), vec![count("flat_look", 3, 2.0)]);
        input.taken_versions = ["1.0.0", "1.1.0", "1.2.0", "1.0.1"]
            .map(|v| v.parse().unwrap())
            .to_vec();
        let minor = RuleEvolver::default().evolve(&input).unwrap();
        assert_eq!(minor.new_version.to_string(), "1.3.0");
        // Reinforcing only is a patch bump, past 1.3.1 too.
        let mut again = input_with(as_parent(&minor), vec![count("flat_look", 3, 2.0)]);
        again.taken_versions = ["1.3.1"].map(|v| v.parse().unwrap()).to_vec();
        let patch = RuleEvolver::default().evolve(&again).unwrap();
        assert_eq!(patch.new_version.to_string(), "1.3.2");
    }

    #[test]
    fn a_rewrite_that_repeats_an_existing_version_is_never_proposed() {
        let evolver = RuleEvolver::default();
        let issues = vec![count("flat_look", 4, 2.0), count("too_dark", 3, 2.0)];
        let first = evolver
            .evolve(&input_with(base_parent(), issues.clone()))
            .unwrap();
        // The same complaints after `first` was rejected: its text, only
        // respaced and upper-cased, is taken.
        let mut input = input_with(base_parent(), issues);
        input.taken_versions = vec![first.new_version];
        input.existing_prompts = vec![crate::evolve::ExistingPrompt {
            version: first.new_version.to_string(),
            status: crate::domain::PromptStatus::Rejected,
            prompt: first.new_prompt.to_uppercase().replace(", ", " ,  "),
            negative_prompt: first.negative_prompt.clone(),
        }];
        let second = evolver.evolve(&input).unwrap();
        assert!(
            input
                .repeats(&second.new_prompt, &second.negative_prompt)
                .is_none()
        );
        assert_ne!(second.new_version, first.new_version);
        assert!(second.reasoning.contains("leaves"), "{}", second.reasoning);
        // With every alternative taken as well, there is nothing new to say.
        let mut all = input.clone();
        let mut parent_only = input.clone();
        parent_only.existing_prompts.clear();
        for skip in ["too_dark", "flat_look"] {
            let mut narrowed = parent_only.clone();
            narrowed.issues.retain(|i| i.issue != skip);
            let p = evolver.evolve(&narrowed).unwrap();
            all.existing_prompts.push(crate::evolve::ExistingPrompt {
                version: format!("9.9.{}", all.existing_prompts.len()),
                status: crate::domain::PromptStatus::Retired,
                prompt: p.new_prompt,
                negative_prompt: p.negative_prompt,
            });
        }
        let err = evolver.evolve(&all).unwrap_err();
        assert!(matches!(err, EvolveError::NothingToChange(_)), "{err}");
    }
}
