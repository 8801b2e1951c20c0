//! The environment as config overrides: `LATINA_<SECTION>__<KEY>=value`
//! variables, read from a pure list of pairs, and the process environment
//! turned into that list without tripping on text that is not UTF-8.

use crate::error::{Error, Result};

pub(super) type Override = (String, Vec<String>, toml::Value);

/// The config's tables, which an environment variable cannot set as a whole.
const SECTIONS: [&str; 7] = [
    "enhance",
    "s3",
    "optimizer",
    "evolution",
    "guard",
    "ui",
    "providers",
];

/// The process environment as text, for [`super::load()`]: variables whose name or
/// value is not UTF-8 are skipped (a Latin-1 `LANG` is not latina's
/// business), except a `LATINA_<SECTION>__<KEY>` override, which latina
/// would have read. (The flag twins such as `LATINA_DB` are paths, which
/// need not be UTF-8; clap reads them.)
///
/// # Errors
/// [`Error::Config`] naming the override whose value is not UTF-8.
pub fn text_env<I>(vars: I) -> Result<Vec<(String, String)>>
where
    I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
{
    let mut out = Vec::new();
    for (key, value) in vars {
        let Ok(key) = key.into_string() else {
            continue;
        };
        match value.into_string() {
            Ok(value) => out.push((key, value)),
            Err(_) if key.starts_with("LATINA_") && key.contains("__") => {
                return Err(Error::Config {
                    source_label: format!("environment {key}"),
                    location: String::new(),
                    message: "the value is not valid UTF-8".into(),
                });
            }
            Err(_) => {}
        }
    }
    Ok(out)
}

/// Collects `LATINA_<A>__<B>=value` variables as (variable, key path, value).
/// Values are read as TOML when they parse as such (numbers, booleans,
/// arrays), else as plain strings.
pub(super) fn env_overrides<I, K, V>(env: I) -> Result<Vec<Override>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = Vec::new();
    for (key, value) in env {
        let key = key.as_ref();
        let Some(rest) = key.strip_prefix("LATINA_") else {
            continue;
        };
        if !rest.contains("__") {
            // `LATINA_ENHANCE=3` names a whole section: a value cannot
            // replace it, and ignoring it would hide the mistake.
            let name = rest.to_ascii_lowercase();
            if SECTIONS.contains(&name.as_str()) {
                return Err(Error::Config {
                    source_label: format!("environment {key}"),
                    location: String::new(),
                    message: format!(
                        "names the [{name}] section, not a key: set one key with {key}__<KEY>"
                    ),
                });
            }
            continue; // flag twins such as LATINA_DB are handled by the CLI
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(Error::Config {
                source_label: format!("environment {key}"),
                location: String::new(),
                message: "expected LATINA_<SECTION>__<KEY>".into(),
            });
        }
        let raw = value.as_ref();
        let parsed = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        out.push((key.to_string(), path, parsed));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub(super) fn insert_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("paths are non-empty");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a table"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}
