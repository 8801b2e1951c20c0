//! The one place query text differs between the backends: the store writes
//! SQLite's dialect, and PostgreSQL gets it rewritten here. Kept to
//! mechanical rewrites (placeholders, planner hints, type names); anything
//! that needs more is written portably in the query itself or given a
//! compatibility function in the PostgreSQL schema.

/// SQLite text → PostgreSQL text:
/// - `?NNN` → `$NNN`, and a bare `?` → the next number (SQLite's rule);
/// - `INDEXED BY name` (a SQLite planner hint) is dropped;
/// - `CAST(… AS REAL)` → `DOUBLE PRECISION` (PostgreSQL's `real` is 4 bytes),
///   `AS INTEGER` → `BIGINT`;
/// - `json_each(?N)` over a JSON array parameter → `json_array_elements_text`.
///
/// Quoted strings and identifiers are copied untouched.
pub fn to_postgres(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut next_param = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' => {
                let end = closing_quote(bytes, i);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                let end = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'?' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let number = if digits > 0 {
                    let n: usize = sql[i + 1..i + 1 + digits].parse().unwrap_or(0);
                    next_param = next_param.max(n);
                    n
                } else {
                    next_param += 1;
                    next_param
                };
                out.push('$');
                out.push_str(&number.to_string());
                i += 1 + digits;
            }
            _ if word_at(sql, i, "INDEXED") => {
                // `INDEXED BY name`: skip the three words.
                let mut j = i + "INDEXED".len();
                j = skip_space(bytes, j);
                if word_at(sql, j, "BY") {
                    j = skip_space(bytes, j + 2);
                    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')
                    {
                        j += 1;
                    }
                    i = j;
                } else {
                    out.push_str("INDEXED");
                    i += "INDEXED".len();
                }
            }
            _ if word_at(sql, i, "AS") => {
                let j = skip_space(bytes, i + 2);
                if word_at(sql, j, "REAL") {
                    out.push_str("AS DOUBLE PRECISION");
                    i = j + 4;
                } else if word_at(sql, j, "INTEGER") {
                    out.push_str("AS BIGINT");
                    i = j + 7;
                } else {
                    out.push_str(&sql[i..i + 2]);
                    i += 2;
                }
            }
            _ if word_at(sql, i, "json_each") => {
                out.push_str("json_array_elements_text");
                i += "json_each".len();
                let j = skip_space(bytes, i);
                if bytes.get(j) == Some(&b'(') {
                    // The argument is a parameter holding a JSON array as text.
                    let close = sql[j..].find(')').map_or(bytes.len(), |n| j + n);
                    let inner = to_postgres_param_only(&sql[j + 1..close], &mut next_param);
                    out.push_str(&format!("(CAST({inner} AS json))"));
                    i = (close + 1).min(bytes.len());
                }
            }
            _ => {
                // Copy one whole character (the text may hold UTF-8).
                let len = utf8_len(c);
                out.push_str(&sql[i..i + len]);
                i += len;
            }
        }
    }
    out
}

fn to_postgres_param_only(inner: &str, next_param: &mut usize) -> String {
    let translated = to_postgres(inner);
    if let Some(n) = translated
        .strip_prefix('$')
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        *next_param = (*next_param).max(n);
    }
    translated
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn closing_quote(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Whether the keyword `word` (any case) starts at `i` as a whole word.
fn word_at(sql: &str, i: usize, word: &str) -> bool {
    let bytes = sql.as_bytes();
    let end = i + word.len();
    if end > bytes.len() || !sql.is_char_boundary(i) || !sql.is_char_boundary(end) {
        return false;
    }
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    sql[i..end].eq_ignore_ascii_case(word)
        && (i == 0 || !is_ident(bytes[i - 1]))
        && (end == bytes.len() || !is_ident(bytes[end]))
}

#[cfg(test)]
mod tests {
    use super::to_postgres;

    #[test]
    fn numbered_and_bare_placeholders_follow_sqlites_numbering() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1"
        );
        assert_eq!(to_postgres("VALUES (?, ?, ?)"), "VALUES ($1, $2, $3)");
        // A bare `?` after `?5` is the sixth, as in SQLite.
        assert_eq!(to_postgres("?5, ?"), "$5, $6");
    }

    #[test]
    fn strings_identifiers_and_comments_are_left_alone() {
        assert_eq!(
            to_postgres("SELECT '?1 INDEXED BY x', \"as real\" -- ?2 AS REAL\nFROM t"),
            "SELECT '?1 INDEXED BY x', \"as real\" -- ?2 AS REAL\nFROM t"
        );
        assert_eq!(to_postgres("SELECT 'it''s ?'"), "SELECT 'it''s ?'");
        assert_eq!(to_postgres("SELECT 'é' || ?1"), "SELECT 'é' || $1");
    }

    #[test]
    fn planner_hints_go_and_sqlite_type_names_become_postgres_ones() {
        assert_eq!(
            to_postgres("FROM ratings r INDEXED BY ratings_by_time WHERE x"),
            "FROM ratings r  WHERE x"
        );
        assert_eq!(
            to_postgres("CAST(a AS REAL), cast(b as integer), alias AS reality"),
            "CAST(a AS DOUBLE PRECISION), cast(b AS BIGINT), alias AS reality"
        );
        assert_eq!(
            to_postgres("WHERE e.id IN (SELECT value FROM json_each(?2))"),
            "WHERE e.id IN (SELECT value FROM json_array_elements_text(CAST($2 AS json)))"
        );
    }
}
