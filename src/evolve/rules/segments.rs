//! A prompt as its comma-separated segments: whether a phrase is present
//! (words in order, ignoring case, accents and hyphens), adding a phrase
//! before the closing instruction, dropping whole segments.

use super::*;

/// First words of the closing instruction new phrases go before.
pub(super) const CLOSING_WORDS: &[&str] = &["keep", "preserve", "maintain", "retain"];

/// A prompt as its comma-separated segments.
#[derive(Debug, Clone)]
pub(super) struct Segments(pub(super) Vec<String>);

/// What adding a phrase did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Added {
    Present,
    Inserted,
    Replaced(String),
    TooLong,
}

impl Segments {
    pub(super) fn parse(text: &str) -> Segments {
        Segments(
            text.split(',')
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    pub(super) fn render(&self) -> String {
        self.0.join(", ")
    }

    pub(super) fn contains(&self, phrase: &str) -> bool {
        let wanted = words(phrase);
        self.0.iter().any(|s| contains_words(&words(s), &wanted))
    }

    /// Removes every segment equal to `phrase`; the first as written.
    pub(super) fn remove(&mut self, phrase: &str) -> Option<String> {
        let unwanted = words(phrase);
        let mut removed = None;
        self.0.retain(|s| {
            let equal = words(s) == unwanted;
            if equal && removed.is_none() {
                removed = Some(s.clone());
            }
            !equal
        });
        removed
    }

    pub(super) fn add(&mut self, phrase: &str) -> Added {
        if self.contains(phrase) {
            return Added::Present;
        }
        let wanted = words(phrase);
        let mut next = self.clone();
        // A segment of two or more words that the phrase contains is its
        // weaker form: replace it in place rather than say both.
        let weaker = self.0.iter().position(|s| {
            let w = words(s);
            w.len() >= 2 && contains_words(&wanted, &w)
        });
        let added = match weaker {
            Some(i) => Added::Replaced(std::mem::replace(&mut next.0[i], phrase.to_string())),
            None => {
                let at = self
                    .0
                    .iter()
                    .position(|s| {
                        words(s)
                            .first()
                            .is_some_and(|w| CLOSING_WORDS.contains(&w.as_str()))
                    })
                    .unwrap_or(self.0.len());
                next.0.insert(at, phrase.to_string());
                Added::Inserted
            }
        };
        if next.render().chars().count() > MAX_PROMPT_CHARS {
            return Added::TooLong;
        }
        *self = next;
        added
    }
}

/// The normalised words of a text (`Well-Exposed` → `well`, `exposed`).
pub(super) fn words(text: &str) -> Vec<String> {
    issues::tokenise(text)
        .into_iter()
        .filter(|t| t.kind == TokenKind::Word)
        .map(|t| t.text)
        .collect()
}

/// Whether `needle` occurs as a contiguous run in `haystack`.
pub(super) fn contains_words(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
