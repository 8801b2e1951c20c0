//! Secret redaction: every secret value latina reads (providers' keys and
//! tokens, the LLM and embeddings keys, basic-auth passwords) is registered
//! here when it is read, and [`scrub`] replaces each of them by `***`.
//!
//! It is process-wide on purpose: a provider may echo a key in an error
//! body or header, and the guard must hold wherever an error is built,
//! stored (`experiments.error`) or printed, without threading the values
//! through every layer. The HTTP layer scrubs each error it builds; `ops`
//! scrubs what it stores and `main` what it prints, as a final guard.

use std::sync::{OnceLock, RwLock};

/// Values shorter than this are not registered: replacing a two-letter
/// "secret" everywhere would garble messages and protect nothing.
const MIN_SECRET_CHARS: usize = 4;

fn registry() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

/// Remembers `value` as a secret to redact from now on.
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut secrets = registry().write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn scrub(text: &str) -> String {
    let secrets = registry().read().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// A secret read from the environment. It prints as `***` so that it cannot
/// reach a log or an error message by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value and registers it for redaction ([`register`]): from
    /// now on it is replaced by `***` in every error.
    pub fn new(value: String) -> Self {
        register(&value);
        Secret(value)
    }

    /// The value, for the one header or form field that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_replaced_wherever_they_appear() {
        register("redact-test-key-0001");
        register("redact-test-key-0001-longer");
        register("ab");
        assert_eq!(
            scrub("bad key redact-test-key-0001-longer, redact-test-key-0001!"),
            "bad key ***, ***!"
        );
        assert_eq!(scrub("ab stays"), "ab stays");
    }
}
