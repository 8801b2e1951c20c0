//! Word patterns of the issue lexicon: `plan[oa]s?`, `(a|b)` groups, `*`,
//! each matched against one whole normalised word.

/// A pattern matched against one whole normalised word.
#[derive(Debug, Clone)]
pub(super) struct WordPattern(pub(super) Vec<Piece>);

#[derive(Debug, Clone)]
pub(super) struct Piece {
    pub(super) atom: Atom,
    pub(super) optional: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Atom {
    Char(char),
    Class(Vec<char>),
    Group(Vec<Vec<Piece>>),
    AnyRun,
}

impl WordPattern {
    pub(super) fn parse(text: &str) -> Result<WordPattern, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut pos = 0;
        let pieces = parse_sequence(&chars, &mut pos, false)?;
        Ok(WordPattern(pieces))
    }

    pub(super) fn matches(&self, word: &[char]) -> bool {
        match_sequence(&self.0, word, 0, &mut |end| end == word.len())
    }
}

pub(super) fn parse_sequence(
    chars: &[char],
    pos: &mut usize,
    in_group: bool,
) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    while let Some(&c) = chars.get(*pos) {
        let atom = match c {
            '|' | ')' if in_group => break,
            '(' => {
                *pos += 1;
                let mut alternatives = vec![parse_sequence(chars, pos, true)?];
                while chars.get(*pos) == Some(&'|') {
                    *pos += 1;
                    alternatives.push(parse_sequence(chars, pos, true)?);
                }
                if chars.get(*pos) != Some(&')') {
                    return Err("a `(` is not closed".into());
                }
                *pos += 1;
                Atom::Group(alternatives)
            }
            '[' => {
                *pos += 1;
                let mut set = Vec::new();
                while let Some(&m) = chars.get(*pos) {
                    *pos += 1;
                    if m == ']' {
                        break;
                    }
                    if !m.is_ascii_lowercase() && !m.is_ascii_digit() {
                        return Err(format!("{m:?} is not allowed in `[…]`"));
                    }
                    set.push(m);
                }
                if set.is_empty() || chars.get(*pos - 1) != Some(&']') {
                    return Err("a `[` is empty or not closed".into());
                }
                Atom::Class(set)
            }
            '*' => {
                *pos += 1;
                Atom::AnyRun
            }
            c if c.is_ascii_lowercase() || c.is_ascii_digit() => {
                *pos += 1;
                Atom::Char(c)
            }
            c => return Err(format!("{c:?} is not allowed in a pattern")),
        };
        let optional = chars.get(*pos) == Some(&'?');
        if optional {
            *pos += 1;
        }
        pieces.push(Piece { atom, optional });
    }
    Ok(pieces)
}

/// Backtracking match of `pieces` at `pos`; `then` is called with each
/// place the sequence could end and says whether the rest matched there.
pub(super) fn match_sequence(
    pieces: &[Piece],
    word: &[char],
    pos: usize,
    then: &mut dyn FnMut(usize) -> bool,
) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return then(pos);
    };
    let mut next = |p: usize| match_sequence(rest, word, p, then);
    if first.optional && next(pos) {
        return true;
    }
    match &first.atom {
        Atom::Char(c) => word.get(pos) == Some(c) && next(pos + 1),
        Atom::Class(set) => word.get(pos).is_some_and(|c| set.contains(c)) && next(pos + 1),
        Atom::Group(alternatives) => alternatives
            .iter()
            .any(|alt| match_sequence(alt, word, pos, &mut next)),
        Atom::AnyRun => (pos..=word.len()).any(&mut next),
    }
}
