//! Issue detection: which known problems a designer's comment reports.
//!
//! The lexicon (`prompts/issues.json`, compiled in) lists, per issue, a
//! label and Spanish and English trigger phrases. A phrase is a run of
//! token patterns, each matched against one whole word: `plan[oa]s?` (a
//! character class, `?` for optional), `(a|b)` groups, `*` for any run of
//! characters; a pattern that can match nothing (`(de)?`) makes its word
//! optional, and `..` skips up to two content words (fillers such as `is`
//! or `se ve` are free; never a negator or `y`/`and`). Patterns and
//! comments are compared after [`normalise`] (lowercase, no diacritics,
//! ñ → n), word by word, so `plano` never matches inside `planograma` nor
//! `dim` inside `dimension`. At each word the longest phrase wins and
//! claims its words (`the lighting looks fake` is lighting, not also the
//! CGI look of `fake`); `ignore` phrases (`primer plano`, `dark wood`)
//! claim words for no issue.
//!
//! A phrase is one of three kinds:
//! * a *symptom*, a complaint by itself (`plano`, `too dark`);
//! * an *absence*, a symptom whose first word is a negator (`sin sombras`,
//!   `no shadows`, `not sharp`): the negation is the complaint, so the
//!   negation rules below look only at the words before it;
//! * a *topic*, a neutral noun (`iluminación`, `shadows`, listed under
//!   `topics`) that is a complaint unless judged well.
//!
//! Negation and praise, within a clause (clauses end at punctuation other
//! than `:` — `Iluminación: mal` — and at `pero`, `but`, `aunque`, …):
//! * a negator (`no`, `nada`, `sin`, `not`, `isn't`, `nothing`, …) at most
//!   [`WINDOW`] content words before a trigger cancels it (`no está plano`,
//!   `not flat`, `no artifacts`, `sin problemas de luz`); filler words
//!   (`está`, `se`, `the`, `is`, …) are not counted, and `y`/`and` end the
//!   reach of a negator (`no está plano y está oscuro` is too dark);
//! * a judgement word nearer than any negator decides instead, itself
//!   flipped by a negator just before it: `nothing wrong with the shadows`
//!   and `no me gusta la luz` read as praise and complaint;
//! * after a topic, the first judgement within [`WINDOW`] content words
//!   decides (`la iluminación está bien`, `lighting isn't great`,
//!   `las sombras no están mal`), reading through `y`/`and` so that
//!   `la iluminación y las sombras están bien` praises both; a judgement
//!   before a topic (`buena iluminación`, `bad lighting`) decides too; a
//!   phrase holding the judgement that decided a topic belongs to that
//!   topic (`los colores no son realistas` is colour, not also CGI look);
//! * after a symptom only praise right after it cancels it (`noise free`);
//!   after an absence, a complaint right after it means the defect is what
//!   is absent (`sin sombras raras`, `no hay sombras duras`).

mod negation;
mod pattern;
mod tokens;

use negation::*;
use pattern::*;
pub use tokens::{Token, TokenKind, normalise, tokenise};

use super::{IssueCount, RatedComment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// How many content words a negator or a judgement may be from a trigger.
pub const WINDOW: usize = 3;
/// How many content words a negator may be before the judgement it flips.
const NEGATION_REACH: usize = 2;
/// Most content words a `..` in a phrase skips (fillers are free).
const GAP_WORDS: usize = 2;
/// Most words of any kind a `..` skips.
const GAP_TOKENS: usize = 4;

/// One issue a comment reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueHit {
    /// Issue key, e.g. `flat_look`.
    pub issue: String,
    /// The phrases that reported it, as written in the comment.
    pub words: Vec<String>,
}

/// Why a lexicon was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexiconError {
    /// Not the expected JSON shape.
    #[error("the issue lexicon is not valid: {0}")]
    Json(String),
    /// An issue entry breaks a rule.
    #[error("issue {key:?}: {reason}")]
    Issue {
        /// The issue key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A phrase does not parse or could never match a word.
    #[error("phrase {phrase:?} of {key:?}: {reason}")]
    Phrase {
        /// The issue key, or `ignore`.
        key: String,
        /// The phrase as written.
        phrase: String,
        /// What is wrong.
        reason: String,
    },
}

/// The compiled issue lexicon.
#[derive(Debug, Clone)]
pub struct Lexicon {
    issues: Vec<IssueDef>,
    /// Ignore phrases first, then every issue's, so that ties between
    /// equally long matches go to `ignore`, then to the earlier issue.
    triggers: Vec<Trigger>,
}

#[derive(Debug, Clone)]
struct IssueDef {
    key: String,
    label: String,
}

#[derive(Debug, Clone)]
struct Trigger {
    /// Index into `issues`; `None` for ignore phrases.
    issue: Option<usize>,
    kind: TriggerKind,
    elements: Vec<Element>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TriggerKind {
    Topic,
    Symptom,
    Absence,
}

#[derive(Debug, Clone)]
enum Element {
    Word {
        pattern: WordPattern,
        optional: bool,
    },
    Gap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    ignore: Vec<String>,
    issues: Vec<IssueEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueEntry {
    key: String,
    label: String,
    es: Vec<String>,
    en: Vec<String>,
    #[serde(default)]
    topics: Topics,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Topics {
    #[serde(default)]
    es: Vec<String>,
    #[serde(default)]
    en: Vec<String>,
}

impl Lexicon {
    /// The lexicon shipped in `prompts/issues.json`.
    pub fn builtin() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| {
            Lexicon::parse(include_str!("../../../prompts/issues.json"))
                .expect("the shipped issue lexicon is valid (checked by a test)")
        })
    }

    /// Parses and checks a lexicon: snake_case keys, unique, each with a
    /// label and at least one Spanish and one English phrase; every phrase
    /// parses, has at least one required word, and neither starts nor ends
    /// with `..`.
    ///
    /// # Errors
    /// [`LexiconError`] naming the first broken rule.
    pub fn parse(json: &str) -> Result<Lexicon, LexiconError> {
        let file: LexiconFile =
            serde_json::from_str(json).map_err(|e| LexiconError::Json(e.to_string()))?;
        let mut issues = Vec::new();
        let mut triggers = Vec::new();
        for phrase in &file.ignore {
            triggers.push(compile_trigger(
                None,
                TriggerKind::Symptom,
                "ignore",
                phrase,
            )?);
        }
        for (index, entry) in file.issues.iter().enumerate() {
            let bad = |reason: &str| LexiconError::Issue {
                key: entry.key.clone(),
                reason: reason.to_string(),
            };
            let snake = !entry.key.is_empty()
                && entry
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !snake {
                return Err(bad("the key is not snake_case"));
            }
            if file.issues[..index].iter().any(|e| e.key == entry.key) {
                return Err(bad("the key appears twice"));
            }
            if entry.label.trim().is_empty() {
                return Err(bad("the label is empty"));
            }
            if entry.es.is_empty() || entry.en.is_empty() {
                return Err(bad("needs Spanish and English phrases"));
            }
            let symptoms = entry.es.iter().chain(&entry.en);
            for phrase in symptoms {
                triggers.push(compile_trigger(
                    Some(index),
                    TriggerKind::Symptom,
                    &entry.key,
                    phrase,
                )?);
            }
            for phrase in entry.topics.es.iter().chain(&entry.topics.en) {
                triggers.push(compile_trigger(
                    Some(index),
                    TriggerKind::Topic,
                    &entry.key,
                    phrase,
                )?);
            }
            issues.push(IssueDef {
                key: entry.key.clone(),
                label: entry.label.clone(),
            });
        }
        Ok(Lexicon { issues, triggers })
    }

    /// Issue keys in lexicon order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.issues.iter().map(|i| i.key.as_str())
    }

    /// The label of an issue, if the lexicon knows it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.issues
            .iter()
            .find(|i| i.key == key)
            .map(|i| i.label.as_str())
    }

    /// The issues a comment reports, in lexicon order, each with the
    /// phrases that reported it. Praise and negated mentions are left out
    /// (see the module docs for the rules).
    pub fn detect(&self, comment: &str) -> Vec<IssueHit> {
        let tokens = tokenise(comment);
        let chars: Vec<Vec<char>> = tokens.iter().map(|t| t.text.chars().collect()).collect();
        let mut words: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        // The judgement that decided the last topic: a phrase around it is
        // that topic's predicate (`los colores no son realistas` is about
        // colour, not also the CGI look of `no … realistas`).
        let mut predicate: Option<usize> = None;
        let mut pos = 0;
        while pos < tokens.len() {
            let Some((trigger, end)) = self.longest_match(&tokens, &chars, pos) else {
                pos += 1;
                continue;
            };
            let Some(issue) = trigger.issue else {
                pos = end;
                continue;
            };
            let verdict = judge(trigger.kind, &tokens, pos, end);
            let in_predicate = predicate.is_some_and(|j| (pos..end).contains(&j));
            if trigger.kind == TriggerKind::Topic {
                predicate = verdict.judged_at;
            }
            if verdict.reported && !in_predicate {
                let said = comment[tokens[pos].start..tokens[end - 1].end].to_string();
                let list = words.entry(issue).or_default();
                if !list.contains(&said) {
                    list.push(said);
                }
            }
            pos = end;
        }
        words
            .into_iter()
            .map(|(issue, words)| IssueHit {
                issue: self.issues[issue].key.clone(),
                words,
            })
            .collect()
    }

    /// For each issue, how many comments report it and their mean stars;
    /// most reported first, ties by key.
    pub fn summarise(&self, comments: &[RatedComment]) -> Vec<IssueCount> {
        let mut totals: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for c in comments {
            for hit in self.detect(&c.comment) {
                let entry = totals.entry(hit.issue).or_default();
                entry.0 += 1;
                entry.1 += u64::from(c.stars);
            }
        }
        let mut counts: Vec<IssueCount> = totals
            .into_iter()
            .map(|(issue, (count, stars))| IssueCount {
                issue,
                count,
                mean_stars: stars as f64 / count as f64,
            })
            .collect();
        // The map is ordered by key, and the sort is stable.
        counts.sort_by_key(|c| std::cmp::Reverse(c.count));
        counts
    }

    /// The longest trigger matching at `pos` and where it ends.
    fn longest_match(
        &self,
        tokens: &[Token],
        chars: &[Vec<char>],
        pos: usize,
    ) -> Option<(&Trigger, usize)> {
        let mut best: Option<(&Trigger, usize)> = None;
        for trigger in &self.triggers {
            if let Some(end) = match_end(&trigger.elements, tokens, chars, pos)
                && end > pos
                && best.is_none_or(|(_, b)| end > b)
            {
                best = Some((trigger, end));
            }
        }
        best
    }
}

/// [`Lexicon::detect`] with the shipped lexicon.
pub fn detect(comment: &str) -> Vec<IssueHit> {
    Lexicon::builtin().detect(comment)
}

/// [`Lexicon::summarise`] with the shipped lexicon.
pub fn summarise(comments: &[RatedComment]) -> Vec<IssueCount> {
    Lexicon::builtin().summarise(comments)
}

fn compile_trigger(
    issue: Option<usize>,
    kind: TriggerKind,
    key: &str,
    phrase: &str,
) -> Result<Trigger, LexiconError> {
    let bad = |reason: String| LexiconError::Phrase {
        key: key.to_string(),
        phrase: phrase.to_string(),
        reason,
    };
    let mut elements = Vec::new();
    for word in normalise(phrase).split_whitespace() {
        if word == ".." {
            elements.push(Element::Gap);
            continue;
        }
        let pattern = WordPattern::parse(word).map_err(&bad)?;
        let optional = pattern.matches(&[]);
        elements.push(Element::Word { pattern, optional });
    }
    let required = elements.iter().any(|e| {
        matches!(
            e,
            Element::Word {
                optional: false,
                ..
            }
        )
    });
    if !required {
        return Err(bad("has no required word".into()));
    }
    if matches!(elements.first(), Some(Element::Gap))
        || matches!(elements.last(), Some(Element::Gap))
    {
        return Err(bad("starts or ends with `..`".into()));
    }
    let kind = match elements.first() {
        Some(Element::Word { pattern, .. })
            if kind == TriggerKind::Symptom
                && NEGATORS
                    .iter()
                    .any(|n| pattern.matches(&n.chars().collect::<Vec<_>>())) =>
        {
            TriggerKind::Absence
        }
        _ => kind,
    };
    Ok(Trigger {
        issue,
        kind,
        elements,
    })
}

/// The end of the longest match of `elements` starting at `pos`.
fn match_end(
    elements: &[Element],
    tokens: &[Token],
    chars: &[Vec<char>],
    pos: usize,
) -> Option<usize> {
    let Some((first, rest)) = elements.split_first() else {
        return Some(pos);
    };
    let mut best = None;
    match first {
        Element::Word { pattern, optional } => {
            if tokens.get(pos).is_some_and(|t| t.kind == TokenKind::Word)
                && pattern.matches(&chars[pos])
            {
                best = best.max(match_end(rest, tokens, chars, pos + 1));
            }
            if *optional {
                best = best.max(match_end(rest, tokens, chars, pos));
            }
        }
        Element::Gap => {
            best = best.max(match_end(rest, tokens, chars, pos));
            let mut content = 0;
            for skip in 1..=GAP_TOKENS {
                let i = pos + skip - 1;
                // A negator or a conjunction changes what the phrase says
                // (`lighting is not fake`, `la luz y los colores raros`).
                let Some(w) = word(tokens, i) else { break };
                if is_negator(tokens, i) || is_conjunction(w) {
                    break;
                }
                if !is_filler(w) {
                    content += 1;
                    if content > GAP_WORDS {
                        break;
                    }
                }
                best = best.max(match_end(rest, tokens, chars, pos + skip));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(comment: &str) -> Vec<String> {
        detect(comment).into_iter().map(|h| h.issue).collect()
    }

    #[test]
    fn shipped_lexicon_parses_and_has_every_expected_issue() {
        let lexicon = Lexicon::parse(include_str!("../../../prompts/issues.json")).unwrap();
        let keys: Vec<&str> = lexicon.keys().collect();
        for expected in [
            "flat_look",
            "lighting",
            "colors",
            "textures",
            "shadows",
            "blurry",
            "distorted_geometry",
            "artifacts",
            "cgi_look",
            "too_dark",
            "too_bright",
        ] {
            assert!(keys.contains(&expected), "{expected} missing");
            assert!(!lexicon.label(expected).unwrap().is_empty());
        }
    }

    #[test]
    fn every_shipped_phrase_can_match_some_words() {
        // A phrase that matches nothing is a typo (say `plan[oa]s?` with a
        // stray accent); build a matching comment from each pattern's
        // simplest spelling and check the phrase finds itself.
        let lexicon = Lexicon::builtin();
        for trigger in &lexicon.triggers {
            let words: Vec<String> = trigger
                .elements
                .iter()
                .filter_map(|e| match e {
                    Element::Word {
                        pattern,
                        optional: false,
                    } => Some(simplest(&pattern.0)),
                    _ => None,
                })
                .collect();
            let text = words.join(" ");
            let tokens = tokenise(&text);
            let chars: Vec<Vec<char>> = tokens.iter().map(|t| t.text.chars().collect()).collect();
            assert_eq!(
                match_end(&trigger.elements, &tokens, &chars, 0),
                Some(tokens.len()),
                "{text:?} ({:?})",
                trigger.issue.map(|i| &lexicon.issues[i].key)
            );
        }
    }

    /// The shortest word a pattern matches: first alternative, first class
    /// member, optional parts left out.
    fn simplest(pieces: &[Piece]) -> String {
        let mut out = String::new();
        for piece in pieces.iter().filter(|p| !p.optional) {
            match &piece.atom {
                Atom::Char(c) => out.push(*c),
                Atom::Class(set) => out.push(set[0]),
                Atom::Group(alternatives) => out.push_str(&simplest(&alternatives[0])),
                Atom::AnyRun => {}
            }
        }
        out
    }

    #[test]
    fn bad_lexicons_say_what_is_wrong() {
        let entry = |key: &str, es: &str| {
            format!(
                r#"{{"ignore": [], "issues": [{{"key": "{key}", "label": "L", "es": [{es}], "en": ["x"]}}]}}"#
            )
        };
        let cases = [
            (entry("Flat", r#""plano""#), "snake_case"),
            (entry("flat", ""), "Spanish and English"),
            (entry("flat", r#""plan[oa""#), "not closed"),
            (entry("flat", r#""plan(o|a""#), "not closed"),
            (entry("flat", r#""pla-no""#), "not allowed"),
            (entry("flat", r#""(de)?""#), "no required word"),
            (entry("flat", r#"".. plano""#), "`..`"),
            ("{}".to_string(), "not valid"),
        ];
        for (json, expected) in cases {
            let err = Lexicon::parse(&json).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let twice = r#"{"ignore": [], "issues": [
            {"key": "a", "label": "A", "es": ["x"], "en": ["x"]},
            {"key": "a", "label": "A", "es": ["x"], "en": ["x"]}]}"#;
        assert!(
            Lexicon::parse(twice)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn word_patterns_match_whole_words_only() {
        let p = WordPattern::parse("plan[oa]s?").unwrap();
        let m = |w: &str| p.matches(&w.chars().collect::<Vec<_>>());
        assert!(m("plano") && m("plana") && m("planos") && m("planas"));
        assert!(!m("plan") && !m("planograma") && !m("aplano") && !m("planes"));
        let g = WordPattern::parse("(muy|demasiado)?oscur(o|a|idad)").unwrap();
        let m = |w: &str| g.matches(&w.chars().collect::<Vec<_>>());
        assert!(m("oscuro") && m("muyoscura") && m("oscuridad") && !m("oscur"));
        let any = WordPattern::parse("desatur*").unwrap();
        assert!(any.matches(&"desaturadisimo".chars().collect::<Vec<_>>()));
        assert!(WordPattern::parse("(de)?").unwrap().matches(&[]));
    }

    #[test]
    fn normalising_folds_case_and_accents_consistently() {
        assert_eq!(normalise("ILUMINACIÓN Está"), "iluminacion esta");
        assert_eq!(
            normalise("Diseño, pingüino, façade"),
            "diseno, pinguino, facade"
        );
        // Decomposed é (e + combining acute) folds like the composed one.
        assert_eq!(normalise("iluminacio\u{0301}n"), "iluminacion");
        assert_eq!(normalise("isn’t"), "isn't");
    }

    #[test]
    fn tokens_keep_offsets_into_the_original_text() {
        let text = "¡Está PLANO, isn’t it — no?";
        let tokens = tokenise(text);
        let words: Vec<(&str, TokenKind)> =
            tokens.iter().map(|t| (t.text.as_str(), t.kind)).collect();
        assert_eq!(
            words,
            [
                ("¡", TokenKind::Break),
                ("esta", TokenKind::Word),
                ("plano", TokenKind::Word),
                (",", TokenKind::Break),
                ("isnt", TokenKind::Word),
                ("it", TokenKind::Word),
                ("—", TokenKind::Break),
                ("no", TokenKind::Word),
                ("?", TokenKind::Break),
            ]
        );
        assert_eq!(&text[tokens[2].start..tokens[2].end], "PLANO");
        assert_eq!(&text[tokens[4].start..tokens[4].end], "isn’t");
        let clause = tokenise("bien, sin embargo oscuro");
        assert_eq!(clause[2].kind, TokenKind::Break);
        assert_eq!(clause[3].kind, TokenKind::Break);
        // A hyphen inside a word separates words without ending the clause.
        let hyphen = tokenise("blown-out");
        assert!(hyphen.iter().all(|t| t.kind == TokenKind::Word));
    }

    /// Real-sounding comments, both languages, with the issues they report.
    const CASES: &[(&str, &[&str])] = &[
        // Spanish, word forms, accents and capitals
        ("Se ve muy plano", &["flat_look"]),
        ("Las paredes se ven planas y sin vida", &["flat_look"]),
        ("PLANA, sin profundidad ninguna", &["flat_look"]),
        ("le falta profundidad al salón", &["flat_look"]),
        ("La iluminación es muy artificial", &["lighting"]),
        ("la iluminacion es muy artificial", &["lighting"]),
        ("Mala luz en toda la escena", &["lighting"]),
        ("colores desaturados, muy apagados", &["colors"]),
        ("Los colores se ven lavados", &["colors"]),
        ("poco realista el color del sofá", &["colors"]),
        ("tiene una dominante amarillenta", &["colors"]),
        ("Las texturas de la madera se ven falsas", &["textures"]),
        (
            "materiales falsos, parece plástico",
            &["textures", "cgi_look"],
        ),
        ("No hay sombras debajo de los muebles", &["shadows"]),
        ("sin sombras, los muebles parecen flotar", &["shadows"]),
        ("Sombras muy duras en la pared", &["shadows"]),
        ("La foto está borrosa y desenfocada", &["blurry"]),
        ("le falta nitidez", &["blurry"]),
        ("Las paredes están torcidas", &["distorted_geometry"]),
        (
            "la lámpara está deformada, distorsión en la ventana",
            &["distorted_geometry"],
        ),
        ("Hay manchas y ruido en el techo", &["artifacts"]),
        ("parece un videojuego", &["cgi_look"]),
        ("Parece un render 3D, todo de plástico", &["cgi_look"]),
        ("Demasiado oscura la sala", &["too_dark"]),
        ("MUY OSCURO, falta luz", &["too_dark"]),
        ("la ventana está quemada, sobreexpuesta", &["too_bright"]),
        ("Looks flat and lacks depth", &["flat_look"]),
        ("A bit dull overall", &["flat_look"]),
        ("The lighting is fake", &["lighting"]),
        ("Harsh light from the window", &["lighting"]),
        ("washed out colours", &["colors"]),
        ("Colors are oversaturated", &["colors"]),
        ("the materials look fake", &["textures"]),
        ("Shadows missing under the sofa", &["shadows"]),
        ("no shadows at all", &["shadows"]),
        ("Blurry and out of focus", &["blurry"]),
        ("warped walls, crooked lines", &["distorted_geometry"]),
        (
            "Lots of artifacts and noise near the window",
            &["artifacts"],
        ),
        ("Looks plastic, like CGI", &["cgi_look"]),
        ("Way too dark, underexposed", &["too_dark"]),
        ("Too bright, the windows are blown out", &["too_bright"]),
        ("very dark room", &["too_dark"]),
        // Negation and praise
        ("No está plano", &[]),
        ("no se ve plana", &[]),
        ("nada plano, me gusta", &[]),
        ("sin problemas de luz", &[]),
        ("La iluminación está bien", &[]),
        ("la iluminacion esta perfecta", &[]),
        ("La luz está genial", &[]),
        ("Not flat at all", &[]),
        ("It isn't blurry", &[]),
        ("No artifacts, nice", &[]),
        ("Lighting is fine", &[]),
        ("lighting is great", &[]),
        ("The lighting is perfect", &[]),
        ("nothing wrong with the shadows", &[]),
        ("Great lighting and realistic textures", &[]),
        ("la iluminación y las sombras están bien", &[]),
        ("No hay ruido ni manchas", &[]),
        ("sin sombras raras", &[]),
        ("no harsh shadows", &[]),
        ("Not too dark", &[]),
        ("the colours look natural", &[]),
        ("noise-free and sharp", &[]),
        // Negated praise is a complaint
        ("la iluminación no está bien", &["lighting"]),
        ("No me gusta la luz", &["lighting"]),
        ("the lighting isn't great", &["lighting"]),
        ("I don't like the shadows", &["shadows"]),
        ("No me convence la iluminación", &["lighting"]),
        ("bien iluminado", &[]),
        ("nada de ruido", &[]),
        ("without any noise", &[]),
        ("los colores no son realistas", &["colors"]),
        ("la iluminación no es realista", &["lighting"]),
        ("the shadows look fake", &["shadows"]),
        // Clauses
        ("la luz está bien pero se ve plano", &["flat_look"]),
        ("The lighting is good but it looks flat", &["flat_look"]),
        ("no está plano, está oscuro", &["too_dark"]),
        ("no está plano y está oscuro", &["too_dark"]),
        ("too dark and the lighting is great", &["too_dark"]),
        ("Colours are perfect, although a bit blurry", &["blurry"]),
        (
            "Buena composición, aunque las texturas son pobres",
            &["textures"],
        ),
        // Absence phrases are complaints
        ("sin profundidad", &["flat_look"]),
        ("lacks depth", &["flat_look"]),
        ("no depth", &["flat_look"]),
        ("not sharp enough", &["blurry"]),
        // Whole words only, ignore phrases
        ("El planograma del salón", &[]),
        ("Check the dimensions of the sofa", &[]),
        ("el sofá en primer plano está borroso", &["blurry"]),
        ("dark wood floor looks great", &[]),
        ("la madera oscura se ve falsa", &["textures"]),
        ("Visible wood grain, love it", &[]),
        ("No tiene profundidad", &["flat_look"]),
        ("no hay luz en el pasillo", &["too_dark"]),
        ("Could use more light", &["too_dark"]),
        (
            "Las líneas de las paredes no son rectas",
            &["distorted_geometry"],
        ),
        ("The walls are not straight", &["distorted_geometry"]),
        ("the walls are straight, good", &[]),
        ("Iluminación: mal. Colores: bien.", &["lighting"]),
        (
            "Me gusta mucho, aunque la luz se ve un poco falsa",
            &["lighting"],
        ),
        ("Colores muy bonitos pero se ve borroso", &["blurry"]),
        ("No veo problemas de iluminación ni de sombras", &[]),
        ("Sin ruido, sin manchas, genial", &[]),
        ("no me gustan los colores", &["colors"]),
        // Several issues at once
        (
            "Plano, oscuro y con artefactos",
            &["flat_look", "artifacts", "too_dark"],
        ),
        (
            "Too dark, flat, and the shadows are wrong",
            &["flat_look", "shadows", "too_dark"],
        ),
    ];

    #[test]
    fn detects_the_issues_of_real_comments() {
        let mut failures = Vec::new();
        for (comment, expected) in CASES {
            let got = issues(comment);
            if got != *expected {
                failures.push(format!("{comment:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn hits_carry_the_words_as_written() {
        let hits = detect("Se ve PLANO, muy plano. Las SOMBRAS están fatal");
        assert_eq!(
            hits,
            [
                IssueHit {
                    issue: "flat_look".into(),
                    words: vec!["PLANO".into(), "plano".into()],
                },
                IssueHit {
                    issue: "shadows".into(),
                    words: vec!["SOMBRAS".into()],
                },
            ]
        );
        assert_eq!(
            detect("The lighting looks fake")[0].words,
            ["lighting looks fake"]
        );
    }

    #[test]
    fn summary_counts_comments_not_mentions_and_sorts_by_count_then_key() {
        let c = |stars, comment: &str| RatedComment {
            stars,
            comment: comment.into(),
        };
        let summary = summarise(&[
            c(2, "plano, muy plano, súper plano"),
            c(3, "se ve plano y oscuro"),
            c(1, "too dark"),
            c(4, "blurry"),
            c(5, "perfecto"),
        ]);
        let rows: Vec<(&str, usize, f64)> = summary
            .iter()
            .map(|i| (i.issue.as_str(), i.count, i.mean_stars))
            .collect();
        assert_eq!(
            rows,
            [
                ("flat_look", 2, 2.5),
                ("too_dark", 2, 2.0),
                ("blurry", 1, 4.0),
            ]
        );
        assert!(summarise(&[]).is_empty());
    }
}
