//! Finding the config file and reading it: defaults, then the file, then
//! the `LATINA_*` overrides, each checked, with errors naming the file (or
//! variable), the line and the key.

use std::path::{Path, PathBuf};

use super::env::{env_overrides, insert_path};
use super::validate::{validate, validate_files};
use super::{Config, ProviderConfig};
use crate::error::{Error, Result};

/// Where the configuration was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// No file was found; defaults (plus environment) apply.
    Defaults,
    /// This file.
    File(PathBuf),
}

/// Finds the config file: the explicit path (which must exist), else
/// `./latina.toml`, else `<config dir>/latina.toml`, else none.
///
/// # Errors
/// [`Error::Io`] when an explicit path cannot be read.
pub fn locate(
    explicit: Option<&Path>,
    cwd: &Path,
    user_config_dir: Option<&Path>,
) -> Result<ConfigSource> {
    if let Some(path) = explicit {
        return explicit_source(path);
    }
    let local = cwd.join("latina.toml");
    if local.is_file() {
        return Ok(ConfigSource::File(local));
    }
    if let Some(dir) = user_config_dir {
        let user = dir.join("latina.toml");
        if user.is_file() {
            return Ok(ConfigSource::File(user));
        }
    }
    Ok(ConfigSource::Defaults)
}

/// Checks an explicit `--config` path and says what is wrong with it:
/// missing, a directory, or not a regular file (a FIFO or device would
/// block or never end). `/dev/null` is the usual way to say "no config
/// file" and means the defaults.
fn explicit_source(path: &Path) -> Result<ConfigSource> {
    use std::io::ErrorKind;
    let refuse = |kind: ErrorKind, what: &str| {
        Err(Error::io(
            "cannot read config",
            path,
            std::io::Error::new(kind, what.to_string()),
        ))
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(ConfigSource::File(path.to_path_buf())),
        Ok(meta) if meta.is_dir() => refuse(
            ErrorKind::IsADirectory,
            "it is a directory: pass the latina.toml inside it",
        ),
        Ok(_)
            if path
                .canonicalize()
                .is_ok_and(|p| p == Path::new("/dev/null")) =>
        {
            Ok(ConfigSource::Defaults)
        }
        Ok(_) => refuse(ErrorKind::InvalidInput, "not a regular file"),
        Err(e) if e.kind() == ErrorKind::NotFound => refuse(ErrorKind::NotFound, "no such file"),
        Err(e) => Err(Error::io("cannot read config", path, e)),
    }
}

/// Reads and parses the located config, then applies environment overrides.
///
/// Relative paths in the file are resolved against the file's directory.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Config`] if it is invalid.
pub fn load<I, K, V>(source: &ConfigSource, env: I) -> Result<Config>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let (label, text) = match source {
        ConfigSource::Defaults => ("defaults".to_string(), String::new()),
        ConfigSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("cannot read config", path, e))?;
            (path.display().to_string(), text)
        }
    };
    let mut config = parse(&label, &text, env)?;
    if let ConfigSource::File(path) = source {
        let base = path.parent().unwrap_or(Path::new("."));
        for slot in [
            &mut config.data_dir,
            &mut config.database,
            &mut config.reward.embedding_model,
        ] {
            if let Some(p) = slot
                .as_mut()
                .filter(|p| p.is_relative())
                .filter(|p| !p.to_str().is_some_and(crate::store::is_server_url))
            {
                *p = base.join(&*p);
            }
        }
        for provider in &mut config.providers {
            if let ProviderConfig::Comfyui(c) = provider
                && let Some(p) = c.workflow.as_mut().filter(|p| p.is_relative())
            {
                *p = base.join(&*p);
            }
        }
    }
    validate_files(&config, &label)?;
    Ok(config)
}

/// Parses config text (labelled for messages) and applies `LATINA_<SECTION>__<KEY>`
/// overrides from `env`. Pure: no file or process environment access.
///
/// # Errors
/// [`Error::Config`] naming the file or variable, the key, and what was expected.
pub fn parse<I, K, V>(label: &str, text: &str, env: I) -> Result<Config>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let from_file: Config = deserialize_text(label, text)?;
    validate(&from_file, label)?;

    let overrides = env_overrides(env)?;
    if overrides.is_empty() {
        return Ok(from_file);
    }
    // The file already parsed, so it is a valid table.
    let mut table: toml::Table = toml::from_str(text).map_err(|e| Error::Config {
        source_label: label.to_string(),
        location: String::new(),
        message: e.message().to_string(),
    })?;
    for (var, path, value) in &overrides {
        insert_path(&mut table, path, value.clone()).map_err(|message| Error::Config {
            source_label: format!("environment {var}"),
            location: format!("key `{}`: ", path.join(".")),
            message,
        })?;
    }
    let merged: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let var = overrides
                .iter()
                .find(|(_, path, _)| key.starts_with(&path.join(".")))
                .map(|(var, _, _)| var.clone())
                .unwrap_or_else(|| "LATINA_*".into());
            Error::Config {
                source_label: format!("environment {var}"),
                location: format!("key `{key}`: "),
                message: e.inner().to_string(),
            }
        })?;
    validate(&merged, "environment LATINA_*")?;
    Ok(merged)
}

fn deserialize_text<T: serde::de::DeserializeOwned>(label: &str, text: &str) -> Result<T> {
    let line_col = |span: Option<std::ops::Range<usize>>| -> String {
        span.map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {col}, ")
        })
        .unwrap_or_default()
    };
    let deserializer = toml::de::Deserializer::parse(text).map_err(|e| Error::Config {
        source_label: label.to_string(),
        location: line_col(e.span()),
        message: e.message().trim().to_string(),
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." {
            String::new()
        } else {
            format!("key `{key}`: ")
        };
        Error::Config {
            source_label: label.to_string(),
            location: format!("{}{key}", line_col(e.inner().span())),
            message: e.inner().message().trim().to_string(),
        }
    })
}
