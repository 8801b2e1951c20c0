//! The curated phrase bank (`prompts/phrase_bank.json`, compiled in):
//! per lexicon issue, tiers of phrases that fix it, phrases that cause it,
//! negative-prompt terms, and the issues that conflict; checked against the
//! lexicon when loaded.

use super::*;

/// Longest phrase accepted in the bank, in characters.
pub(super) const MAX_PHRASE_CHARS: usize = 80;

/// Words a phrase to add must not contain: image models weigh the words,
/// not the negation (`noise-free` asks for noise).
pub(super) const NEGATING_WORDS: &[&str] = &["no", "not", "without", "free", "non", "never"];

/// What fixes one issue and what causes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuePhrases {
    /// Tiers of phrases to add: the first fixes the issue, each later one
    /// reinforces it.
    pub add: Vec<Vec<String>>,
    /// Phrases that cause the issue, removed from the prompt.
    pub drop: Vec<String>,
    /// Terms added to the negative prompt.
    pub negative: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhraseBankFile {
    pub(super) conflicts: Vec<(String, String)>,
    pub(super) issues: BTreeMap<String, IssuePhrases>,
}

/// The curated phrases per issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhraseBank {
    pub(super) issues: BTreeMap<String, IssuePhrases>,
    pub(super) conflicts: Vec<(String, String)>,
}

/// Why a phrase bank was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhraseBankError {
    /// Not the expected JSON shape.
    #[error("the phrase bank is not valid: {0}")]
    Json(String),
    /// An issue entry breaks a rule.
    #[error("phrase bank, issue {key:?}: {reason}")]
    Issue {
        /// The issue key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Two issues' phrases work against each other.
    #[error("phrase bank, issues {first:?} and {second:?}: {reason}")]
    Conflict {
        /// One issue.
        first: String,
        /// The other.
        second: String,
        /// What is wrong.
        reason: String,
    },
}

impl PhraseBank {
    /// The bank shipped in `prompts/phrase_bank.json`.
    pub fn builtin() -> &'static PhraseBank {
        static BANK: OnceLock<PhraseBank> = OnceLock::new();
        BANK.get_or_init(|| {
            PhraseBank::parse(
                include_str!("../../../prompts/phrase_bank.json"),
                Lexicon::builtin(),
            )
            .expect("the shipped phrase bank is valid (checked by a test)")
        })
    }

    /// Parses and checks a bank against the lexicon: exactly the lexicon's
    /// issues; every issue has a non-empty first tier and no empty tier;
    /// phrases are non-empty, at most 80 characters, without commas (they
    /// are prompt segments), and phrases to add are unique across the bank
    /// and free of negating words; no phrase to add is dropped by an issue
    /// it does not conflict with, nor contains a negative term; each side
    /// of a conflict drops all the other's phrases to add.
    ///
    /// # Errors
    /// [`PhraseBankError`] naming the first broken rule.
    pub fn parse(json: &str, lexicon: &Lexicon) -> Result<PhraseBank, PhraseBankError> {
        let file: PhraseBankFile =
            serde_json::from_str(json).map_err(|e| PhraseBankError::Json(e.to_string()))?;
        let bank = PhraseBank {
            issues: file.issues,
            conflicts: file.conflicts,
        };
        bank.check(lexicon)?;
        Ok(bank)
    }

    /// The phrases for an issue, if the bank has them.
    pub fn phrases(&self, issue: &str) -> Option<&IssuePhrases> {
        self.issues.get(issue)
    }

    /// Whether two issues are declared to pull in opposite directions.
    pub fn conflict(&self, a: &str, b: &str) -> bool {
        self.conflicts
            .iter()
            .any(|(x, y)| (x == a && y == b) || (x == b && y == a))
    }

    pub(super) fn check(&self, lexicon: &Lexicon) -> Result<(), PhraseBankError> {
        let issue_error = |key: &str, reason: String| PhraseBankError::Issue {
            key: key.to_string(),
            reason,
        };
        for key in lexicon.keys() {
            if !self.issues.contains_key(key) {
                return Err(issue_error(
                    key,
                    "the lexicon has it, the bank does not".into(),
                ));
            }
        }
        for (a, b) in &self.conflicts {
            if !self.issues.contains_key(a) || !self.issues.contains_key(b) || a == b {
                return Err(PhraseBankError::Conflict {
                    first: a.clone(),
                    second: b.clone(),
                    reason: "a conflict names an unknown issue or the same issue twice".into(),
                });
            }
        }
        let mut seen_adds: BTreeMap<Vec<String>, &str> = BTreeMap::new();
        for (key, phrases) in &self.issues {
            if lexicon.label(key).is_none() {
                return Err(issue_error(key, "not an issue of the lexicon".into()));
            }
            if phrases.add.first().is_none_or(Vec::is_empty)
                || phrases.add.iter().any(Vec::is_empty)
            {
                return Err(issue_error(
                    key,
                    "needs a first tier and no empty tier".into(),
                ));
            }
            let all = phrases
                .add
                .iter()
                .flatten()
                .chain(&phrases.drop)
                .chain(&phrases.negative);
            for phrase in all {
                if words(phrase).is_empty()
                    || phrase.contains(',')
                    || phrase.chars().count() > MAX_PHRASE_CHARS
                {
                    return Err(issue_error(
                        key,
                        format!("{phrase:?} is empty, has a comma or is too long"),
                    ));
                }
            }
            for phrase in phrases.add.iter().flatten() {
                let w = words(phrase);
                if let Some(negating) = w.iter().find(|x| NEGATING_WORDS.contains(&x.as_str())) {
                    return Err(issue_error(
                        key,
                        format!("{phrase:?} says {negating:?}; say what is wanted instead"),
                    ));
                }
                if let Some(other) = seen_adds.insert(w, key) {
                    return Err(issue_error(
                        key,
                        format!("{phrase:?} is also added by {other}"),
                    ));
                }
            }
        }
        for (a, pa) in &self.issues {
            for (b, pb) in &self.issues {
                let conflict_error = |reason: String| PhraseBankError::Conflict {
                    first: a.clone(),
                    second: b.clone(),
                    reason,
                };
                for add in pb.add.iter().flatten() {
                    let add_words = words(add);
                    let dropped = pa.drop.iter().any(|d| words(d) == add_words);
                    if self.conflict(a, b) && !dropped {
                        return Err(conflict_error(format!("{a} must drop {add:?}")));
                    }
                    if a != b && !self.conflict(a, b) && dropped {
                        return Err(conflict_error(format!("{a} drops {add:?}, which {b} adds")));
                    }
                    if let Some(term) = pa
                        .negative
                        .iter()
                        .find(|t| contains_words(&add_words, &words(t)))
                    {
                        return Err(conflict_error(format!(
                            "{b} adds {add:?}, which {a}'s negative term {term:?} contradicts"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}
