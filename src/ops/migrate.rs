//! `latina migrate --to`: moves the whole history into another store (a
//! studio's PostgreSQL server, or another SQLite file) through the same
//! export and import the commands use, then checks that the target reads
//! back as the source does: the same row counts and the same `status`.
//! With a target bucket, every original, render and preview is uploaded on
//! the way and the rows name the uploaded objects.

use serde::Serialize;
use std::io::BufReader;

use super::Workspace;
use super::status::status;
use super::transfer::{Counts, ExportOptions, ImportOptions, Target, export, import};
use crate::error::{Error, Result};
use crate::storage::{Role, Storage};
use crate::store::{Location, OpenMode, Store};

/// What a migration moved and what it checked.
#[derive(Debug, Clone, Serialize)]
pub struct MigrateReport {
    /// The source (a file, or `postgres://host:port/db`).
    pub from: String,
    /// The target, shown the same way (never a password).
    pub to: String,
    /// Records exported from the source, by type.
    pub exported: Counts,
    /// Records added to the target, by type.
    pub imported: Counts,
    /// Records the target already held (a repeated migration adds nothing).
    pub already_present: Counts,
    /// Experiments in source and target after the move.
    pub experiments: [u64; 2],
    /// Ratings (history included) in source and target after the move.
    pub ratings: [u64; 2],
    /// Whether `status` reads the same on both (the model section aside,
    /// whose fit the target makes afresh).
    pub status_equal: bool,
    /// Files uploaded to the target bucket (0 without one).
    pub files_uploaded: u64,
    /// Files a row names that exist nowhere (left named as they were).
    pub files_missing: Vec<String>,
}

/// Moves everything in `ws`'s database to `to` and verifies it.
///
/// # Errors
/// [`Error::MigrationTarget`] when `to` is the source itself;
/// [`Error::MigrationMismatch`] when the target does not read back as the
/// source (it keeps what was imported, which is one transaction); export,
/// import and database errors.
pub fn migrate(
    ws: &Workspace,
    to: &Location,
    to_storage: Option<&Storage>,
    progress: &mut dyn FnMut(u64),
) -> Result<MigrateReport> {
    if *to == ws.paths.database {
        return Err(Error::MigrationTarget {
            reason: "it is the database latina is already using".into(),
        });
    }
    let mut source = Store::open_at(&ws.paths.database, OpenMode::ReadOnly)?;
    let file = tempfile::Builder::new()
        .prefix(".latina-migrate-")
        .tempfile()
        .map_err(|e| Error::io("cannot create", std::env::temp_dir(), e))?;
    let exported = export(
        &mut source,
        &ExportOptions {
            jsonl: Some(Target::File(file.path().to_path_buf())),
            ratings_csv: None,
        },
        &mut std::io::sink(),
    )?;
    let mut files = FileMove::default();
    let file = match to_storage {
        Some(bucket) => files.rewrite(&file, &ws.storage, bucket)?,
        None => file,
    };
    let mut target = Store::open_at(to, OpenMode::CreateIfMissing)?;
    let reader =
        std::fs::File::open(file.path()).map_err(|e| Error::io("cannot read", file.path(), e))?;
    let imported = import(
        &mut target,
        &mut BufReader::with_capacity(1 << 16, reader),
        file.path(),
        &ImportOptions::default(),
        progress,
    )?;
    let (before, after) = (source.health()?, target.health()?);
    let before_status = comparable(&status(ws, &mut source)?);
    let after_status = comparable(&status(ws, &mut target)?);
    let report = MigrateReport {
        from: ws.paths.database.shown(),
        to: to.shown(),
        exported: exported.records,
        imported: imported.imported,
        already_present: imported.already_present,
        experiments: [before.experiments, after.experiments],
        ratings: [before.ratings, after.ratings],
        status_equal: first_difference(&before_status, &after_status, "status").is_none(),
        files_uploaded: files.uploaded,
        files_missing: files.missing,
    };
    if before.experiments != after.experiments
        || before.ratings != after.ratings
        || !report.status_equal
    {
        return Err(Error::MigrationMismatch {
            to: report.to.clone(),
            detail: format!(
                "source has {} experiments and {} ratings, target {} and {}{}",
                before.experiments,
                before.ratings,
                after.experiments,
                after.ratings,
                if report.status_equal {
                    ""
                } else {
                    "; `status` differs"
                }
            ),
        });
    }
    Ok(report)
}

/// The files of an export, moved to a bucket on the way.
#[derive(Default)]
struct FileMove {
    uploaded: u64,
    missing: Vec<String>,
}

impl FileMove {
    /// Copies the export with every file reference replaced by its object
    /// in `bucket` (uploaded from `source`, which may itself be a bucket).
    fn rewrite(
        &mut self,
        export: &tempfile::NamedTempFile,
        source: &Storage,
        bucket: &Storage,
    ) -> Result<tempfile::NamedTempFile> {
        use std::io::{BufRead, Write};
        let out = tempfile::Builder::new()
            .prefix(".latina-migrate-")
            .tempfile()
            .map_err(|e| Error::io("cannot create", std::env::temp_dir(), e))?;
        let mut writer = std::io::BufWriter::new(out.as_file());
        let reader = std::io::BufReader::new(
            std::fs::File::open(export.path())
                .map_err(|e| Error::io("cannot read", export.path(), e))?,
        );
        for line in reader.lines() {
            let line = line.map_err(|e| Error::io("cannot read", export.path(), e))?;
            let mut record: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| Error::StoredValue(format!("an export line that is not JSON: {e}")))?;
            let field = match record["type"].as_str() {
                Some("image") => Some(("stored_path", Role::Originals)),
                Some("batch") => Some(("preview_path", Role::Previews)),
                Some("experiment") => Some(("output_path", Role::Renders)),
                _ => None,
            };
            if let Some((field, role)) = field
                && let Some(reference) = record[field].as_str().map(str::to_string)
            {
                let moved = self.upload(&reference, role, source, bucket)?;
                record[field] = serde_json::Value::String(moved);
            }
            writeln!(writer, "{record}").map_err(|e| Error::io("cannot write", out.path(), e))?;
        }
        writer
            .flush()
            .map_err(|e| Error::io("cannot write", out.path(), e))?;
        drop(writer);
        Ok(out)
    }

    fn upload(
        &mut self,
        reference: &str,
        role: Role,
        source: &Storage,
        bucket: &Storage,
    ) -> Result<String> {
        let local = match source.local_copy(reference) {
            Ok(path) if path.is_file() => path,
            Ok(_) | Err(Error::Storage(crate::storage::StorageError::Missing { .. })) => {
                self.missing.push(reference.to_string());
                return Ok(reference.to_string());
            }
            Err(e) => return Err(e),
        };
        let moved = bucket.upload_existing(&local, role)?;
        self.uploaded += 1;
        Ok(moved)
    }
}

/// `status` without what is estimated afresh on every read (the model's
/// fit and the Monte Carlo search for each arm's best settings), so two
/// reads of equal histories compare equal.
fn comparable(status: &impl Serialize) -> serde_json::Value {
    let mut status = serde_json::to_value(status).expect("a status report is plain data");
    if let Some(map) = status.as_object_mut() {
        map.remove("model");
        map.remove("cost_tradeoff");
    }
    without_estimates(status)
}

fn without_estimates(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "best" && k != "best_chance")
                .map(|(k, v)| (k, without_estimates(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(without_estimates).collect())
        }
        other => other,
    }
}

/// Where two readings first differ, numbers compared to a relative 1e-6:
/// the designer model's fit starts from the previous fit the store cached,
/// so its last digits depend on how often it was refitted.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64()?, y.as_f64()?);
            ((x - y).abs() > 1e-6 * x.abs().max(y.abs()).max(1.0)).then(|| at.to_string())
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return Some(at.to_string());
            }
            x.iter().find_map(|(k, v)| match y.get(k) {
                Some(w) => first_difference(v, w, &format!("{at}.{k}")),
                None => Some(format!("{at}.{k}")),
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(at.to_string());
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| first_difference(v, w, &format!("{at}[{i}]")))
        }
        _ => (a != b).then(|| at.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::first_difference;
    use serde_json::json;

    #[test]
    fn readings_differ_only_beyond_the_last_digits_of_a_number() {
        let a = json!({"raters": [{"offset": -0.3126164655657245, "name": "ana"}], "n": 2});
        let close = json!({"raters": [{"offset": -0.3126164660727798, "name": "ana"}], "n": 2});
        assert_eq!(first_difference(&a, &close, "status"), None);
        let far = json!({"raters": [{"offset": -0.32, "name": "ana"}], "n": 2});
        assert_eq!(
            first_difference(&a, &far, "status").as_deref(),
            Some("status.raters[0].offset")
        );
        let renamed = json!({"raters": [{"offset": -0.3126164655657245, "name": "eva"}], "n": 2});
        assert_eq!(
            first_difference(&a, &renamed, "status").as_deref(),
            Some("status.raters[0].name")
        );
        assert!(first_difference(&a, &json!({"n": 2}), "status").is_some());
    }
}
