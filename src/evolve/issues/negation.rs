//! Negation, praise and complaint around a trigger phrase: whether a
//! matched phrase is a complaint, cancelled, or praise (rules in the
//! parent module's docs).

use super::*;

/// Words that negate what follows. `poco` negates (`poco realista`) unless
/// it is `un poco` (`un poco oscuro` is a complaint).
pub(super) const NEGATORS: &[&str] = &[
    "no", "nada", "nunca", "ni", "sin", "tampoco", "ningun", "ninguna", "ninguno", "poco", "not",
    "nothing", "never", "nor", "neither", "none", "without", "zero", "isnt", "arent", "wasnt",
    "werent", "doesnt", "dont", "didnt", "hasnt", "havent", "cant", "cannot", "wont", "aint",
];

/// Words that do not count towards a window (Spanish, then English):
/// articles, prepositions, copulas, pronouns, intensifiers.
#[rustfmt::skip]
pub(super) const FILLERS: &[&str] = &[
    "el", "la", "los", "las", "lo", "un", "una", "unos", "unas", "de", "del", "al", "a", "con",
    "en", "por", "para", "que", "se", "me", "te", "le", "les", "nos", "su", "sus", "es", "son",
    "era", "eran", "sea", "sean", "este", "esta", "estan", "estar", "esten", "estaba", "ser",
    "esto", "estos", "estas", "ese", "esa", "eso", "esos", "esas", "aqui", "hay", "tiene",
    "tienen", "ve", "ven", "veo", "parece", "parecen", "queda", "quedan", "quedo", "sale", "salen",
    "salio", "todo", "toda", "todos", "todas", "muy", "bastante", "algo", "tan", "demasiado",
    "demasiada", "mas", "realmente", "totalmente", "ligeramente", "general", "o", "u", "the", "an",
    "of", "with", "in", "on", "at", "to", "for", "about", "this", "that", "these", "those", "it",
    "its", "is", "are", "was", "were", "be", "been", "being", "am", "look", "looks", "looked",
    "seem", "seems", "seemed", "feel", "feels", "appear", "appears", "there", "here", "has",
    "have", "had", "very", "really", "quite", "pretty", "rather", "too", "so", "somewhat",
    "slightly", "bit", "little", "kind", "sort", "overall", "generally", "actually", "just", "all",
    "everything", "whole", "entire", "more", "or", "i", "we", "think", "find", "creo",
];

/// Words that praise what they are said of.
#[rustfmt::skip]
pub(super) const PRAISE: &[&str] = &[
    "bien", "buena", "bueno", "buenas", "buenos", "buen", "perfecta", "perfecto", "perfectas",
    "perfectos", "genial", "geniales", "excelente", "excelentes", "estupenda", "estupendo",
    "estupendas", "estupendos", "correcta", "correcto", "correctas", "correctos", "preciosa",
    "precioso", "preciosas", "preciosos", "bonita", "bonito", "bonitas", "bonitos", "increible",
    "increibles", "natural", "naturales", "realista", "realistas", "convincente", "convincentes",
    "acertada", "acertado", "adecuada", "adecuado", "lograda", "logrado", "conseguida",
    "conseguido", "gusta", "gustan", "encanta", "encantan", "convence", "convencen", "limpia",
    "limpio", "fine", "great", "good", "ok", "okay", "nice", "excellent", "lovely", "beautiful",
    "realistic", "convincing", "accurate", "correct", "spot", "amazing", "awesome", "superb",
    "solid", "free", "love", "loved", "loves", "well", "clean", "perfect", "perfectly", "convince",
    "convinces",
];

/// Words that complain about what they are said of.
#[rustfmt::skip]
pub(super) const COMPLAINT: &[&str] = &[
    "mal", "mala", "malo", "malas", "malos", "pobre", "pobres", "rara", "raro", "raras", "raros",
    "extrana", "extrano", "extranas", "extranos", "fea", "feo", "feas", "feos", "horrible",
    "horribles", "terrible", "terribles", "fatal", "falsa", "falso", "falsas", "falsos",
    "artificial", "artificiales", "irreal", "irreales", "incorrecta", "incorrecto", "incorrectas",
    "incorrectos", "dura", "duro", "duras", "duros", "problema", "problemas", "fallo", "fallos",
    "error", "errores", "mejorable", "falta", "faltan", "bad", "poor", "poorly", "badly", "wrong",
    "weird", "strange", "odd", "off", "awful", "ugly", "harsh", "fake", "unnatural", "unrealistic",
    "problem", "problems", "issue", "issues", "missing", "lacking", "lacks", "unconvincing",
];

/// Words that, before `like`, make it the verb of liking rather than the
/// `looks like` of a comparison.
pub(super) const LIKERS: &[&str] = &[
    "i", "we", "they", "you", "really", "dont", "didnt", "doesnt", "do", "does", "also", "still",
];

/// Adjectives that, right after a topic, belong to it (`luz natural`)
/// rather than judge it.
pub(super) const TOPIC_MODIFIERS: &[&str] = &["natural", "naturales"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Polarity {
    Praise,
    Complaint,
}

impl Polarity {
    pub(super) fn flipped(self) -> Polarity {
        match self {
            Polarity::Praise => Polarity::Complaint,
            Polarity::Complaint => Polarity::Praise,
        }
    }
}

/// What the words before a trigger say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Before {
    Nothing,
    Negator,
    Judged(Polarity),
}

pub(super) fn word(tokens: &[Token], i: usize) -> Option<&str> {
    tokens
        .get(i)
        .filter(|t| t.kind == TokenKind::Word)
        .map(|t| t.text.as_str())
}

pub(super) fn is_filler(w: &str) -> bool {
    FILLERS.contains(&w)
}

pub(super) fn is_conjunction(w: &str) -> bool {
    matches!(w, "y" | "e" | "and")
}

pub(super) fn is_negator(tokens: &[Token], i: usize) -> bool {
    match word(tokens, i) {
        Some("poco") => i == 0 || word(tokens, i - 1) != Some("un"),
        Some(w) => NEGATORS.contains(&w),
        None => false,
    }
}

pub(super) fn judgement(tokens: &[Token], i: usize) -> Option<Polarity> {
    let w = word(tokens, i)?;
    if PRAISE.contains(&w) {
        return Some(Polarity::Praise);
    }
    if COMPLAINT.contains(&w) {
        return Some(Polarity::Complaint);
    }
    let liking = matches!(w, "like" | "likes" | "liked")
        && i > 0
        && word(tokens, i - 1).is_some_and(|p| LIKERS.contains(&p));
    liking.then_some(Polarity::Praise)
}

/// Whether a negator stands at most [`NEGATION_REACH`] content words
/// before word `i`, in the same clause and not before `floor`.
pub(super) fn negated(tokens: &[Token], i: usize, floor: usize) -> bool {
    let mut content = 0;
    let mut j = i;
    while j > floor && content < NEGATION_REACH {
        j -= 1;
        let Some(w) = word(tokens, j) else { break };
        if is_conjunction(w) {
            break;
        }
        if is_negator(tokens, j) {
            return true;
        }
        if !is_filler(w) {
            content += 1;
        }
    }
    false
}

pub(super) fn scan_before(tokens: &[Token], start: usize) -> Before {
    let mut content = 0;
    let mut i = start;
    while i > 0 && content < WINDOW {
        i -= 1;
        let Some(w) = word(tokens, i) else { break };
        if is_conjunction(w) {
            break;
        }
        if is_negator(tokens, i) {
            return Before::Negator;
        }
        if let Some(p) = judgement(tokens, i) {
            return Before::Judged(if negated(tokens, i, 0) {
                p.flipped()
            } else {
                p
            });
        }
        if !is_filler(w) {
            content += 1;
        }
    }
    Before::Nothing
}

/// The first judgement after a trigger ending at `end`.
#[derive(Debug, Clone, Copy)]
pub(super) struct After {
    pub(super) polarity: Polarity,
    /// Content words between the trigger and the judgement.
    pub(super) distance: usize,
    /// Token index of the judgement.
    pub(super) at: usize,
}

pub(super) fn scan_after(tokens: &[Token], end: usize, kind: TriggerKind) -> Option<After> {
    let mut content = 0;
    let mut i = end;
    while content < WINDOW {
        let w = word(tokens, i)?;
        if is_conjunction(w) {
            // `la iluminación y las sombras están bien` praises both, but
            // `too dark and the lighting is great` praises only the light.
            if kind == TriggerKind::Topic {
                i += 1;
                continue;
            }
            return None;
        }
        let modifier = kind == TriggerKind::Topic && i == end && TOPIC_MODIFIERS.contains(&w);
        if !modifier && !is_negator(tokens, i) {
            if let Some(p) = judgement(tokens, i) {
                let polarity = if negated(tokens, i, end) {
                    p.flipped()
                } else {
                    p
                };
                return Some(After {
                    polarity,
                    distance: content,
                    at: i,
                });
            }
            if !is_filler(w) {
                content += 1;
            }
        }
        i += 1;
    }
    None
}

/// Whether a trigger reports its issue, and which later word judged it.
pub(super) struct Verdict {
    pub(super) reported: bool,
    pub(super) judged_at: Option<usize>,
}

/// Reads the trigger at `start..end` in its clause.
pub(super) fn judge(kind: TriggerKind, tokens: &[Token], start: usize, end: usize) -> Verdict {
    let before = scan_before(tokens, start);
    let after = scan_after(tokens, end, kind);
    let after_says = after.map(|a| a.polarity);
    let right_after = after.filter(|a| a.distance == 0).map(|a| a.polarity);
    let reported = match kind {
        TriggerKind::Topic => match before {
            Before::Negator => false,
            Before::Judged(Polarity::Complaint) => true,
            Before::Judged(Polarity::Praise) => after_says == Some(Polarity::Complaint),
            Before::Nothing => after_says != Some(Polarity::Praise),
        },
        TriggerKind::Symptom | TriggerKind::Absence => {
            before != Before::Negator
                && match right_after {
                    Some(Polarity::Praise) => false,
                    // `sin sombras raras`: the defect is what is absent.
                    Some(Polarity::Complaint) => kind != TriggerKind::Absence,
                    None => true,
                }
        }
    };
    Verdict {
        reported,
        judged_at: after.map(|a| a.at),
    }
}
