//! Resolves config file, environment and flags into a [`Workspace`].

use anyhow::Context;
use directories::ProjectDirs;

use super::GlobalArgs;
use crate::config;
use crate::ops::{Paths, Workspace};
use crate::storage::Storage;
use crate::store::Location;

/// Flags over environment over config file over defaults.
pub fn resolve(args: &GlobalArgs) -> anyhow::Result<Workspace> {
    let dirs = ProjectDirs::from("", "", "latina");
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let source = config::locate(
        args.config.as_deref(),
        &cwd,
        dirs.as_ref().map(|d| d.config_dir()),
    )?;
    tracing::debug!(?source, "config");
    let config = config::load(&source, config::text_env(std::env::vars_os())?)?;
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .or_else(|| dirs.as_ref().map(|d| d.data_dir().to_path_buf()))
        .context("cannot find a data directory (no home directory): pass --data-dir")?;
    let database = args
        .db
        .clone()
        .or_else(|| {
            env_lookup("LATINA_DATABASE_URL")
                .filter(|u| !u.is_empty())
                .map(Into::into)
        })
        .or_else(|| config.database.clone())
        .unwrap_or_else(|| data_dir.join("latina.db"));
    let database = Location::parse(&database, config.database_password_env.as_deref())?;
    let seed = args.seed.or(config.seed);
    tracing::debug!(data_dir = %data_dir.display(), database = %database.shown(), "paths");
    let storage = Storage::open(
        args.storage.as_ref().or(config.storage.as_ref()),
        &config.s3,
        data_dir.clone(),
        &env_lookup,
    )?;
    tracing::debug!(storage = %storage.describe(), "files");
    Ok(Workspace {
        config,
        storage,
        paths: Paths { data_dir, database },
        seed,
        config_file: match source {
            config::ConfigSource::File(path) => Some(path),
            config::ConfigSource::Defaults => None,
        },
    })
}

/// The process environment as ops read it: by name, values that are not
/// Unicode treated as unset (they cannot be keys or URLs). The one place
/// the commands read it; ops take it as a parameter.
pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var_os(name).and_then(|v| v.into_string().ok())
}
