//! Writing an export: the history as JSON Lines, parents before children,
//! and the ratings as CSV, streamed from one read snapshot.

use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::format::{CSV_COLUMNS, Counts, FORMAT, FORMAT_VERSION, Header, Record};
use crate::error::{Error, Result};
use crate::store::{
    BatchRow, EmbeddingRow, EvolutionRow, ExperimentRow, ImageRow, PreferenceRow,
    PromptDecisionRow, PromptVersionRow, RatingRow, SCHEMA_VERSION, Store,
};

/// Where an export goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The writer the caller passes (standard output).
    Stdout,
    /// A file, replaced atomically: readers see the old file or the whole new one.
    File(PathBuf),
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The JSON Lines export.
    pub jsonl: Option<Target>,
    /// The ratings as CSV.
    pub ratings_csv: Option<Target>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The JSON Lines file (`-` for standard output).
    pub out: Option<String>,
    /// Records written, by type.
    pub records: Counts,
    /// The ratings CSV file (`-` for standard output).
    pub ratings_csv: Option<String>,
    /// Data rows of the CSV.
    pub csv_rows: u64,
    /// The database schema version written in the header.
    pub schema_version: i64,
}

/// Exports the database as one consistent snapshot; `stdout` receives
/// whichever output is [`Target::Stdout`].
///
/// # Errors
/// [`Error::Io`] when a file cannot be written (nothing is left half
/// written), [`Error::Unexportable`] for a stored value JSON cannot hold,
/// database errors.
pub fn export(
    store: &mut Store,
    options: &ExportOptions,
    stdout: &mut dyn Write,
) -> Result<ExportReport> {
    let snapshot = store.snapshot()?;
    let mut report = ExportReport {
        out: options.jsonl.as_ref().map(target_label),
        records: Counts::default(),
        ratings_csv: options.ratings_csv.as_ref().map(target_label),
        csv_rows: 0,
        schema_version: SCHEMA_VERSION,
    };
    if let Some(target) = &options.jsonl {
        report.records = write_to(target, stdout, |w| write_jsonl(&snapshot, w))?;
    }
    if let Some(target) = &options.ratings_csv {
        report.csv_rows = write_to(target, stdout, |w| write_ratings_csv(&snapshot, w))?;
    }
    Ok(report)
}

fn target_label(target: &Target) -> String {
    match target {
        Target::Stdout => "-".into(),
        Target::File(path) => path.display().to_string(),
    }
}

/// Runs `write` on a buffered writer for `target` and flushes it; a file
/// is written beside its place and renamed over it only when complete.
fn write_to<T>(
    target: &Target,
    stdout: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| Error::io("cannot write", path, e)
    };
    match target {
        Target::Stdout => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
            let value = write(&mut out)?;
            out.flush().map_err(io(Path::new("-")))?;
            Ok(value)
        }
        Target::File(path) => {
            if path.is_dir() {
                return Err(Error::io(
                    "cannot write",
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::IsADirectory,
                        "it is a directory; give a file name",
                    ),
                ));
            }
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".part-{}", std::process::id()));
            let part = path.with_file_name(name);
            let result = (|| {
                let file = std::fs::File::create(&part).map_err(io(path))?;
                let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
                let value = write(&mut out)?;
                let file = out.into_inner().map_err(|e| io(path)(e.into_error()))?;
                file.sync_all().map_err(io(path))?;
                std::fs::rename(&part, path).map_err(io(path))?;
                Ok(value)
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&part);
            }
            result
        }
    }
}

fn write_jsonl(snapshot: &crate::store::Snapshot<'_>, w: &mut dyn Write) -> Result<Counts> {
    let mut out = ExportWriter::new(w)?;
    snapshot.images(|row| out.image(&row))?;
    snapshot.prompt_versions(|row| out.prompt_version(&row))?;
    snapshot.batches(|row| out.batch(&row))?;
    snapshot.experiments(|row| out.experiment(&row))?;
    snapshot.embeddings(|row| out.embedding(&row))?;
    snapshot.ratings(|row| out.rating(&row))?;
    snapshot.preferences(|row| out.preference(&row))?;
    snapshot.evolutions(|row| out.evolution(&row))?;
    snapshot.prompt_decisions(|row| out.prompt_decision(&row))?;
    out.finish()
}

/// Writes an export file record by record: the header when created, the
/// end record with the counts when finished. The caller writes the rows in
/// the file's order (images, prompt versions, batches, experiments,
/// embeddings, ratings, preferences, evolutions, decisions; parents before children).
pub struct ExportWriter<W: Write> {
    out: W,
    counts: Counts,
}

impl<W: Write> ExportWriter<W> {
    /// Starts a file with its header.
    pub fn new(mut out: W) -> Result<Self> {
        let header = Header {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            schema_version: SCHEMA_VERSION,
        };
        line(&mut out, &Record::Header(&header))?;
        Ok(ExportWriter {
            out,
            counts: Counts::default(),
        })
    }

    /// Writes an `image` record.
    pub fn image(&mut self, row: &ImageRow) -> Result<()> {
        self.counts.images += 1;
        line(&mut self.out, &Record::Image(row))
    }

    /// Writes a `prompt_version` record.
    pub fn prompt_version(&mut self, row: &PromptVersionRow) -> Result<()> {
        self.counts.prompt_versions += 1;
        line(&mut self.out, &Record::PromptVersion(row))
    }

    /// Writes a `batch` record.
    pub fn batch(&mut self, row: &BatchRow) -> Result<()> {
        self.counts.batches += 1;
        line(&mut self.out, &Record::Batch(row))
    }

    /// Writes an `experiment` record.
    ///
    /// # Errors
    /// [`Error::Unexportable`] for a non-finite number.
    pub fn experiment(&mut self, row: &ExperimentRow) -> Result<()> {
        let floats = [
            ("init_strength", Some(row.init_strength)),
            ("guidance_scale", Some(row.guidance_scale)),
            ("controlnet_weight", Some(row.controlnet_weight)),
            ("arm_score", row.arm_score),
            ("predicted_mean", row.predicted_mean),
            ("predicted_sd", row.predicted_sd),
            ("expected_improvement", row.expected_improvement),
            ("cost_usd", row.cost_usd),
            (
                "reward_mean",
                row.shortlist.as_ref().and_then(|s| s.reward_mean),
            ),
            (
                "reward_sd",
                row.shortlist.as_ref().and_then(|s| s.reward_sd),
            ),
            (
                "guard_structure",
                row.shortlist.as_ref().and_then(|s| s.guard_structure),
            ),
            (
                "guard_threshold",
                row.shortlist.as_ref().and_then(|s| s.guard_threshold),
            ),
        ];
        finite_or_refuse("experiment", &row.id, &floats)?;
        self.counts.experiments += 1;
        line(&mut self.out, &Record::Experiment(row))
    }

    /// Writes an `embedding` record.
    ///
    /// # Errors
    /// [`Error::Unexportable`] for a non-finite value.
    pub fn embedding(&mut self, row: &EmbeddingRow) -> Result<()> {
        if let Some(v) = row.values.iter().find(|v| !v.is_finite()) {
            return Err(Error::Unexportable {
                what: "embedding of experiment",
                key: row.experiment_id.clone(),
                problem: format!("a value is {v}, which JSON cannot hold"),
            });
        }
        self.counts.embeddings += 1;
        line(&mut self.out, &Record::Embedding(row))
    }

    /// Writes a `rating` record.
    pub fn rating(&mut self, row: &RatingRow) -> Result<()> {
        self.counts.ratings += 1;
        line(&mut self.out, &Record::Rating(row))
    }

    /// Writes a `preference` record.
    pub fn preference(&mut self, row: &PreferenceRow) -> Result<()> {
        self.counts.preferences += 1;
        line(&mut self.out, &Record::Preference(row))
    }

    /// Writes an `evolution` record.
    pub fn evolution(&mut self, row: &EvolutionRow) -> Result<()> {
        self.counts.evolutions += 1;
        line(&mut self.out, &Record::Evolution(row))
    }

    /// Writes a `prompt_decision` record.
    ///
    /// # Errors
    /// [`Error::Unexportable`] for a non-finite number.
    pub fn prompt_decision(&mut self, row: &PromptDecisionRow) -> Result<()> {
        let floats = [
            ("champion_mean", Some(row.champion_mean)),
            ("challenger_mean", Some(row.challenger_mean)),
            ("difference", row.difference),
            ("t", row.t),
            ("df", row.df),
            ("prob_better", row.prob_better),
        ];
        finite_or_refuse("prompt decision at", &row.created_at, &floats)?;
        self.counts.prompt_decisions += 1;
        line(&mut self.out, &Record::PromptDecision(row))
    }

    /// Writes the end record, flushes, and returns the counts.
    pub fn finish(mut self) -> Result<Counts> {
        line(
            &mut self.out,
            &Record::End {
                counts: &self.counts,
            },
        )?;
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write", "export", e))?;
        Ok(self.counts)
    }
}

/// JSON has no NaN or infinity; serde_json would write `null` and the
/// round trip would silently change the row.
fn finite_or_refuse(what: &'static str, key: &str, floats: &[(&str, Option<f64>)]) -> Result<()> {
    for (name, value) in floats {
        if let Some(v) = value
            && !v.is_finite()
        {
            return Err(Error::Unexportable {
                what,
                key: key.to_string(),
                problem: format!("{name} is {v}, which JSON cannot hold"),
            });
        }
    }
    Ok(())
}

fn line(w: &mut impl Write, record: &Record<'_>) -> Result<()> {
    let mut write = || -> std::io::Result<()> {
        serde_json::to_writer(&mut *w, record).map_err(std::io::Error::from)?;
        w.write_all(b"\n")
    };
    write().map_err(|e| Error::io("cannot write", "export", e))
}

fn write_ratings_csv(snapshot: &crate::store::Snapshot<'_>, w: &mut dyn Write) -> Result<u64> {
    let csv_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::io("cannot write", "ratings CSV", e),
        other => Error::io(
            "cannot write",
            "ratings CSV",
            std::io::Error::other(format!("{other:?}")),
        ),
    };
    let mut out = csv::Writer::from_writer(w);
    out.write_record(CSV_COLUMNS).map_err(csv_error)?;
    let mut rows = 0;
    snapshot.ratings_with_trials(|r| {
        rows += 1;
        out.write_record([
            r.rating.experiment_id.as_str(),
            r.provider.as_str(),
            // Display is the shortest text that reads back as the same f64.
            &r.params[0].to_string(),
            &r.params[1].to_string(),
            &r.params[2].to_string(),
            r.prompt_version.as_str(),
            &r.rating.stars.to_string(),
            r.rating.comment.as_deref().unwrap_or(""),
            r.rating.rated_by.as_deref().unwrap_or(""),
            r.rating.rated_at.as_str(),
            if r.latest { "true" } else { "false" },
        ])
        .map_err(csv_error)
    })?;
    out.flush()
        .map_err(|e| Error::io("cannot write", "ratings CSV", e))?;
    Ok(rows)
}
