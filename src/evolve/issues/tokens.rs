//! Normalising (lowercase, no diacritics, ñ → n) and tokenising comments
//! into words and clause breaks, as the lexicon matches them.

/// Lowercase, diacritics removed (é → e, ü → u, ç → c), ñ folded to n —
/// designers type `iluminacion` and `diseno` as often as the accented
/// forms — and typographic apostrophes made plain. Combining marks (text
/// in decomposed form) are dropped.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_folded(c, &mut out);
    }
    out
}

pub(super) fn push_folded(c: char, out: &mut String) {
    for lower in c.to_lowercase() {
        let folded = match lower {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'ē' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'ī' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'ū' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'ý' | 'ÿ' => 'y',
            '’' | '‘' | 'ʼ' => '\'',
            '\u{0300}'..='\u{036f}' => continue,
            other => other,
        };
        out.push(folded);
    }
}

/// A word or a clause break in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The normalised word (apostrophes inside it removed: `isnt`), or the
    /// break character or word.
    pub text: String,
    /// Word or break.
    pub kind: TokenKind,
    /// Byte offset of its first character in the original text.
    pub start: usize,
    /// Byte offset just past its last character in the original text.
    pub end: usize,
}

/// What a [`Token`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A run of letters and digits.
    Word,
    /// Punctuation or a word that ends a clause (`pero`, `but`, …).
    Break,
}

/// Splits a comment into normalised words and clause breaks. Words are
/// runs of letters and digits; an apostrophe between letters joins
/// (`isn't` → `isnt`); other characters separate words, and punctuation,
/// a spaced dash and the words in `CLAUSE_WORDS` break clauses.
pub fn tokenise(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut word_start = 0;
    let mut word_end = 0;
    let mut chars = text.char_indices().peekable();
    let mut previous: Option<char> = None;
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let joins_word = matches!(c, '\'' | '’' | 'ʼ')
            && !word.is_empty()
            && next.is_some_and(char::is_alphabetic);
        let combining = ('\u{0300}'..='\u{036f}').contains(&c);
        if c.is_alphanumeric() || ((joins_word || combining) && !word.is_empty()) {
            if word.is_empty() {
                word_start = at;
            }
            if c.is_alphanumeric() {
                push_folded(c, &mut word);
            }
            word_end = at + c.len_utf8();
        } else {
            if !word.is_empty() {
                tokens.push(Token {
                    text: std::mem::take(&mut word),
                    kind: TokenKind::Word,
                    start: word_start,
                    end: word_end,
                });
            }
            let spaced_dash = matches!(c, '-' | '–' | '—')
                && previous.is_none_or(char::is_whitespace)
                && next.is_none_or(char::is_whitespace);
            if spaced_dash || BREAK_CHARS.contains(&c) {
                tokens.push(Token {
                    text: c.to_string(),
                    kind: TokenKind::Break,
                    start: at,
                    end: at + c.len_utf8(),
                });
            }
        }
        previous = Some(c);
    }
    if !word.is_empty() {
        tokens.push(Token {
            text: word,
            kind: TokenKind::Word,
            start: word_start,
            end: word_end,
        });
    }
    for i in 0..tokens.len() {
        let pair = tokens
            .get(i + 1)
            .map(|next| [tokens[i].text.as_str(), next.text.as_str()]);
        if matches!(pair, Some(["sin", "embargo"] | ["no", "obstante"])) {
            tokens[i].kind = TokenKind::Break;
            tokens[i + 1].kind = TokenKind::Break;
        }
        if CLAUSE_WORDS.contains(&tokens[i].text.as_str()) {
            tokens[i].kind = TokenKind::Break;
        }
    }
    tokens
}

/// Clause-ending characters. Not `:`, which introduces the judgement in
/// `Iluminación: mal`.
pub(super) const BREAK_CHARS: &[char] = &[
    '.', ',', ';', '!', '?', '¡', '¿', '(', ')', '[', ']', '{', '}', '"', '“', '”', '«', '»', '…',
    '\n', '\r', '|', '—',
];

/// Words that start a new clause: a judgement never reaches across them.
pub(super) const CLAUSE_WORDS: &[&str] = &[
    "pero", "aunque", "sino", "salvo", "excepto", "mientras", "but", "although", "though",
    "however", "whereas", "except",
];
