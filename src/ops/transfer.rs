//! `latina export` and `latina import`: the whole history as JSON Lines (and
//! the ratings as CSV), and back, validated line by line.
//!
//! The file format (version [`FORMAT_VERSION`]) is one JSON object per line,
//! each with a `type`:
//!
//! 1. `header`: `{"type":"header","format":"latina-export","version":1,"schema_version":N}`,
//!    where N is the database schema it was written from;
//! 2. the rows, parents before children: `image`, `prompt_version`,
//!    `batch`, `experiment`, `rating` (every rating, oldest first: the
//!    history, whose last rating of an experiment is the one that counts),
//!    `evolution`, `prompt_decision` — each with the table's columns under
//!    their own names (see [`crate::store::ExperimentRow`] and its siblings),
//!    references by natural key (`batch_id`, `experiment_id`,
//!    `image_sha256`, versions);
//! 3. `end`: `{"type":"end","counts":{...}}` with the number of records of
//!    each type, so a file cut at a line boundary is still caught.
//!
//! The file holds no export time, so exporting a database, importing the file
//! into a fresh one and exporting that gives the same bytes.
//!
//! An import validates every line (JSON, type, fields, ranges, references to
//! rows in the database or earlier in the file, conflicts with existing
//! rows) inside one transaction and commits only if all of them are good;
//! see [`crate::store::Importer`] for how rows are matched.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::domain::{ArmRule, ExperimentStatus, Method};
use crate::error::{Error, LineProblem, Result};
use crate::evolve::version::Version;
use crate::store::{
    Applied, BatchRow, EvolutionRow, ExperimentRow, ImageRow, Importer, PromptDecisionRow,
    PromptVersionRow, RatingRow, Refusal, SCHEMA_VERSION, Store,
};

/// The `format` of the header line.
pub const FORMAT: &str = "latina-export";
/// The version of the record shapes this latina writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The ratings CSV's columns.
pub const CSV_COLUMNS: [&str; 11] = [
    "experiment_id",
    "provider",
    "init_strength",
    "guidance_scale",
    "controlnet_weight",
    "prompt_version",
    "stars",
    "comment",
    "rated_by",
    "rated_at",
    "latest",
];

/// The parameters' hard limits, as `latina.toml` allows them for the search
/// space (`[optimizer]` in config validation): a value outside cannot be
/// a latina experiment.
const PARAM_LIMITS: [(&str, f64, f64); 3] = [
    ("init_strength", 0.0, 1.0),
    ("guidance_scale", 1.0, 30.0),
    ("controlnet_weight", 0.0, 2.0),
];

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version, [`FORMAT_VERSION`] when written by this latina.
    pub version: u32,
    /// The schema version of the database it was written from.
    pub schema_version: i64,
}

/// Records per type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// `image` records.
    pub images: u64,
    /// `prompt_version` records.
    pub prompt_versions: u64,
    /// `batch` records.
    pub batches: u64,
    /// `experiment` records.
    pub experiments: u64,
    /// `rating` records.
    pub ratings: u64,
    /// `evolution` records.
    pub evolutions: u64,
    /// `prompt_decision` records.
    pub prompt_decisions: u64,
}

impl Counts {
    fn slot(&mut self, kind: Kind) -> &mut u64 {
        match kind {
            Kind::Image => &mut self.images,
            Kind::PromptVersion => &mut self.prompt_versions,
            Kind::Batch => &mut self.batches,
            Kind::Experiment => &mut self.experiments,
            Kind::Rating => &mut self.ratings,
            Kind::Evolution => &mut self.evolutions,
            Kind::PromptDecision => &mut self.prompt_decisions,
        }
    }

    /// All records.
    pub fn total(&self) -> u64 {
        self.images
            + self.prompt_versions
            + self.batches
            + self.experiments
            + self.ratings
            + self.evolutions
            + self.prompt_decisions
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    PromptVersion,
    Batch,
    Experiment,
    Rating,
    Evolution,
    PromptDecision,
}

impl Kind {
    fn parse(word: &str) -> Option<Kind> {
        Some(match word {
            "image" => Kind::Image,
            "prompt_version" => Kind::PromptVersion,
            "batch" => Kind::Batch,
            "experiment" => Kind::Experiment,
            "rating" => Kind::Rating,
            "evolution" => Kind::Evolution,
            "prompt_decision" => Kind::PromptDecision,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::PromptVersion => "prompt_version",
            Kind::Batch => "batch",
            Kind::Experiment => "experiment",
            Kind::Rating => "rating",
            Kind::Evolution => "evolution",
            Kind::PromptDecision => "prompt_decision",
        }
    }
}

/// One line of an export, as written.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Record<'a> {
    Header(&'a Header),
    Image(&'a ImageRow),
    PromptVersion(&'a PromptVersionRow),
    Batch(&'a BatchRow),
    Experiment(&'a ExperimentRow),
    Rating(&'a RatingRow),
    Evolution(&'a EvolutionRow),
    PromptDecision(&'a PromptDecisionRow),
    End { counts: &'a Counts },
}

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
    snapshot.ratings(|row| out.rating(&row))?;
    snapshot.evolutions(|row| out.evolution(&row))?;
    snapshot.prompt_decisions(|row| out.prompt_decision(&row))?;
    out.finish()
}

/// Writes an export file record by record: the header when created, the
/// end record with the counts when finished. The caller writes the rows in
/// the file's order (images, prompt versions, batches, experiments,
/// ratings, evolutions, decisions; parents before children).
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
        ];
        finite_or_refuse("experiment", &row.id, &floats)?;
        self.counts.experiments += 1;
        line(&mut self.out, &Record::Experiment(row))
    }

    /// Writes a `rating` record.
    pub fn rating(&mut self, row: &RatingRow) -> Result<()> {
        self.counts.ratings += 1;
        line(&mut self.out, &Record::Rating(row))
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

/// Opens (creating if needed) the database for an import, without seeding
/// the base prompt: the file brings its own prompt history.
pub fn open_for_import(ws: &super::Workspace) -> Result<Store> {
    Store::open(&ws.paths.database, crate::store::OpenMode::CreateIfMissing)
}

/// How an import behaves.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Bad lines listed in the error; the rest are counted.
    pub max_problems: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { max_problems: 20 }
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The file (`-` for standard input).
    pub file: String,
    /// Lines read.
    pub lines: u64,
    /// The schema version in the file's header.
    pub schema_version: i64,
    /// Records added, by type.
    pub imported: Counts,
    /// Records skipped because the same row was already in the database.
    pub already_present: Counts,
    /// Whether the database held only the base prompt seeded on first use,
    /// which the file's prompt history replaced.
    pub replaced_seed_prompt: bool,
}

/// Imports an export read from `input` (named `path` in messages) in one
/// transaction. `progress` is called now and then with the bytes read.
///
/// # Errors
/// [`Error::ImportRefused`] listing the bad lines when any line is bad (then
/// nothing is imported); [`Error::Io`] when the input cannot be read;
/// database errors.
pub fn import(
    store: &mut Store,
    input: &mut dyn BufRead,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport> {
    let (importer, replaced_seed_prompt) = store.begin_import(&crate::prompts::base_prompt())?;
    let mut run = ImportRun {
        importer,
        problems: Problems {
            listed: Vec::new(),
            more: 0,
            max: options.max_problems.max(1),
        },
        in_file: Counts::default(),
        imported: Counts::default(),
        present: Counts::default(),
        failed_keys: HashSet::new(),
        seen_duplicates: HashMap::new(),
    };
    let refused = |problems: Problems| Error::ImportRefused {
        path: path.to_path_buf(),
        problems: problems.listed,
        more: problems.more,
    };
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut bytes = 0u64;
    let mut header: Option<Header> = None;
    let mut end_line: Option<u64> = None;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bytes += n as u64;
        if line_no.is_multiple_of(2048) {
            progress(bytes);
        }
        let last_line_complete = buf.ends_with(b"\n");
        let Ok(text) = std::str::from_utf8(&buf) else {
            run.problems.add(line_no, "not UTF-8 text".into());
            continue;
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        if header.is_none() {
            match read_header(text) {
                Ok(h) => header = Some(h),
                Err(message) => {
                    run.problems.add(line_no, message);
                    return Err(refused(run.problems));
                }
            }
            continue;
        }
        if let Some(end) = end_line {
            run.problems.add(
                line_no,
                format!("a record after the end record on line {end}"),
            );
            continue;
        }
        let cut_off = if last_line_complete {
            ""
        } else {
            " (the file ends inside this line: is it truncated?)"
        };
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                run.problems.add(
                    line_no,
                    format!("invalid JSON: {}{cut_off}", json_message(&e)),
                );
                continue;
            }
        };
        let kind = match value.get("type") {
            Some(serde_json::Value::String(word)) if word == "end" => {
                end_line = Some(line_no);
                run.check_end(line_no, value);
                continue;
            }
            Some(serde_json::Value::String(word)) => match Kind::parse(word) {
                Some(kind) => kind,
                None => {
                    run.problems.add(
                        line_no,
                        format!(
                            "unknown record type {word:?} (expected image, prompt_version, batch, experiment, rating, evolution, prompt_decision or end)"
                        ),
                    );
                    continue;
                }
            },
            Some(_) => {
                run.problems.add(line_no, "`type` is not a string".into());
                continue;
            }
            None => {
                run.problems
                    .add(line_no, "a record without a `type` field".into());
                continue;
            }
        };
        run.record(line_no, kind, value)?;
    }
    progress(bytes);
    let Some(header) = header else {
        run.problems.add(
            1,
            "the file is empty: a latina export starts with a header line".into(),
        );
        return Err(refused(run.problems));
    };
    if end_line.is_none() {
        run.problems.add(
            line_no,
            "the file ends without its end record: it is truncated or incomplete".into(),
        );
    }
    if run.problems.is_empty() && run.importer.lacks_champion()? {
        run.problems.add(
            line_no,
            "the database would have prompt versions but no champion".into(),
        );
    }
    if !run.problems.is_empty() {
        return Err(refused(run.problems));
    }
    run.importer.commit()?;
    Ok(ImportReport {
        file: path.display().to_string(),
        lines: line_no,
        schema_version: header.schema_version,
        imported: run.imported,
        already_present: run.present,
        replaced_seed_prompt,
    })
}

/// The first line: a header of a format and version this latina reads.
fn read_header(text: &str) -> std::result::Result<Header, String> {
    let not_export = "not a latina export: the first line must be its header, like {\"type\":\"header\",\"format\":\"latina-export\",\"version\":1,\"schema_version\":6}";
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return Err(not_export.into());
    };
    if map.remove("type") != Some(serde_json::Value::String("header".into())) {
        return Err(not_export.into());
    }
    match map.get("format") {
        Some(serde_json::Value::String(f)) if f == FORMAT => {}
        Some(other) => {
            return Err(format!(
                "not a latina export: format {other}, expected \"{FORMAT}\""
            ));
        }
        None => return Err(not_export.into()),
    }
    let header: Header = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| format!("header: {}", json_message(&e)))?;
    if header.version > FORMAT_VERSION {
        return Err(format!(
            "export format version {} is newer than this latina reads ({FORMAT_VERSION}): upgrade latina",
            header.version
        ));
    }
    if header.version == 0 {
        return Err("export format version 0 does not exist".into());
    }
    if header.schema_version > SCHEMA_VERSION {
        return Err(format!(
            "the file comes from a database with schema version {}, but this latina understands up to {SCHEMA_VERSION}: upgrade latina",
            header.schema_version
        ));
    }
    Ok(header)
}

/// serde_json's message without its "at line 1 column N" (the line is ours).
fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => format!("{} (column {})", &text[..at], err.column()),
        None => text,
    }
}

struct Problems {
    listed: Vec<LineProblem>,
    more: u64,
    max: usize,
}

impl Problems {
    fn add(&mut self, line: u64, message: String) {
        if self.listed.len() < self.max {
            self.listed.push(LineProblem { line, message });
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.listed.is_empty() && self.more == 0
    }
}

struct ImportRun<'a> {
    importer: Importer<'a>,
    problems: Problems,
    in_file: Counts,
    imported: Counts,
    present: Counts,
    /// Keys of rows that were refused: references to them are not reported
    /// again, so one bad experiment is one line, not one per rating.
    failed_keys: HashSet<String>,
    /// Ratings and decisions equal to rows already in the database, with how
    /// often the file has had them so far.
    seen_duplicates: HashMap<String, u64>,
}

impl ImportRun<'_> {
    fn record(&mut self, line: u64, kind: Kind, mut value: serde_json::Value) -> Result<()> {
        *self.in_file.slot(kind) += 1;
        let key_field = match kind {
            Kind::Image => "sha256",
            Kind::PromptVersion => "version",
            Kind::Batch | Kind::Experiment => "id",
            Kind::Rating | Kind::Evolution | Kind::PromptDecision => "",
        };
        let key = value
            .get(key_field)
            .and_then(|k| k.as_str())
            .map(str::to_string);
        if let Some(map) = value.as_object_mut() {
            map.remove("type");
        }
        let applied = match kind {
            Kind::Image => self
                .row(line, kind, value, validate_image)
                .map(|r| self.importer.image(&r))
                .transpose()?,
            Kind::PromptVersion => self
                .row(line, kind, value, validate_prompt_version)
                .map(|r| self.importer.prompt_version(&r))
                .transpose()?,
            Kind::Batch => self
                .row(line, kind, value, validate_batch)
                .map(|r| self.importer.batch(&r))
                .transpose()?,
            Kind::Experiment => self
                .row(line, kind, value, validate_experiment)
                .map(|r| self.importer.experiment(&r))
                .transpose()?,
            Kind::Rating => match self.row(line, kind, value, validate_rating) {
                Some(r) => Some(self.rating(&r)?),
                None => None,
            },
            Kind::Evolution => self
                .row(line, kind, value, validate_evolution)
                .map(|r| self.importer.evolution(&r))
                .transpose()?,
            Kind::PromptDecision => match self.row(line, kind, value, validate_decision) {
                Some(r) => Some(self.decision(&r)?),
                None => None,
            },
        };
        match applied {
            Some(Applied::Inserted) => *self.imported.slot(kind) += 1,
            Some(Applied::Present) => *self.present.slot(kind) += 1,
            Some(Applied::Refused(refusal)) => {
                let echo = matches!(&refusal, Refusal::MissingReference { key, .. }
                    if self.failed_keys.contains(key));
                if !echo {
                    // Only a dangling reference needs to say which record it is.
                    let message = match &refusal {
                        Refusal::MissingReference { .. } => {
                            format!("{} {refusal}", kind.word().replace('_', " "))
                        }
                        _ => refusal.to_string(),
                    };
                    self.problems.add(line, message);
                }
                self.failed_keys.extend(key);
            }
            None => self.failed_keys.extend(key),
        }
        Ok(())
    }

    /// The typed row, or `None` after recording why it is bad.
    fn row<T: serde::de::DeserializeOwned>(
        &mut self,
        line: u64,
        kind: Kind,
        value: serde_json::Value,
        validate: fn(&T) -> Vec<String>,
    ) -> Option<T> {
        let what = kind.word().replace('_', " ");
        match serde_path_to_error::deserialize::<_, T>(value) {
            Err(e) => {
                let path = e.path().to_string();
                let mut message = e.into_inner().to_string();
                // "unknown field `x`, expected one of …" lists every field: keep the point.
                if let Some(cut) = message.find(", expected one of") {
                    message.truncate(cut);
                }
                let message = if path == "." || message.starts_with("missing field") {
                    message
                } else {
                    format!("{path}: {message}")
                };
                self.problems.add(line, format!("{what} {message}"));
                None
            }
            Ok(row) => {
                let problems = validate(&row);
                if problems.is_empty() {
                    Some(row)
                } else {
                    self.problems
                        .add(line, format!("{what} {}", problems.join("; ")));
                    None
                }
            }
        }
    }

    /// Ratings have no key: a rating equal to `n` ratings already in the
    /// database is present for its first `n` occurrences in the file.
    fn rating(&mut self, row: &RatingRow) -> Result<Applied> {
        let present = self.importer.ratings_present(row)?;
        if present > 0 && self.seen_again(format!("r{row:?}"), present) {
            return Ok(Applied::Present);
        }
        self.importer.rating(row)
    }

    /// Decisions are matched like ratings.
    fn decision(&mut self, row: &PromptDecisionRow) -> Result<Applied> {
        let present = self.importer.prompt_decisions_present(row)?;
        if present > 0 && self.seen_again(format!("d{row:?}"), present) {
            return Ok(Applied::Present);
        }
        self.importer.prompt_decision(row)
    }

    /// Counts one more occurrence of `key`; whether it is within the `present` ones.
    fn seen_again(&mut self, key: String, present: u64) -> bool {
        let seen = self.seen_duplicates.entry(key).or_insert(0);
        *seen += 1;
        *seen <= present
    }

    /// The end record's counts must match the records read.
    fn check_end(&mut self, line: u64, mut value: serde_json::Value) {
        if let Some(map) = value.as_object_mut() {
            map.remove("type");
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct End {
            counts: Counts,
        }
        let end: End = match serde_json::from_value(value) {
            Ok(end) => end,
            Err(e) => {
                self.problems.add(line, format!("end {e}"));
                return;
            }
        };
        let pairs = [
            ("images", end.counts.images, self.in_file.images),
            (
                "prompt versions",
                end.counts.prompt_versions,
                self.in_file.prompt_versions,
            ),
            ("batches", end.counts.batches, self.in_file.batches),
            (
                "experiments",
                end.counts.experiments,
                self.in_file.experiments,
            ),
            ("ratings", end.counts.ratings, self.in_file.ratings),
            ("evolutions", end.counts.evolutions, self.in_file.evolutions),
            (
                "prompt decisions",
                end.counts.prompt_decisions,
                self.in_file.prompt_decisions,
            ),
        ];
        for (what, said, found) in pairs {
            if said != found {
                self.problems.add(
                    line,
                    format!("the end record counts {said} {what}, but the file has {found} (lines lost or added?)"),
                );
            }
        }
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`, as SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ')`
/// writes it: one shape, so times compare correctly as text.
fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 24 {
        return false;
    }
    let shape = b"dddd-dd-ddTdd:dd:dd.dddZ";
    if !b.iter().zip(shape).all(|(c, s)| match s {
        b'd' => c.is_ascii_digit(),
        s => c == s,
    }) {
        return false;
    }
    let num = |from: usize, to: usize| text[from..to].parse::<u32>().unwrap_or(u32::MAX);
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    (1..=days).contains(&day) && num(11, 13) < 24 && num(14, 16) < 60 && num(17, 19) < 60
}

/// Collects one line's problems.
#[derive(Default)]
struct Check(Vec<String>);

impl Check {
    fn fail(&mut self, message: String) {
        self.0.push(message);
    }
    fn hex(&mut self, field: &str, value: &str, len: usize) {
        if !is_hex(value, len) {
            self.fail(format!(
                "{field} {value:?} is not {len} lowercase hex digits"
            ));
        }
    }
    fn time(&mut self, field: &str, value: &str) {
        if !is_timestamp(value) {
            self.fail(format!(
                "{field} {value:?} is not a UTC time like 2026-11-26T21:48:31.123Z"
            ));
        }
    }
    fn opt_time(&mut self, field: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.time(field, v);
        }
    }
    fn version(&mut self, field: &str, value: &str) {
        match value.parse::<Version>() {
            Ok(v) if v.to_string() == value => {}
            _ => self.fail(format!("{field} {value:?} is not a version like 1.2.3")),
        }
    }
    fn one_of(&mut self, field: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.fail(format!(
                "{field} {value:?} is not one of {}",
                allowed.join(", ")
            ));
        }
    }
    fn not_empty(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(format!("{field} is empty"));
        }
    }
    fn range_f(&mut self, field: &str, value: f64, low: f64, high: f64) {
        if !(value.is_finite() && (low..=high).contains(&value)) {
            self.fail(format!("{field} {value} out of range {low}–{high}"));
        }
    }
    fn non_negative(&mut self, field: &str, value: Option<f64>) {
        if let Some(v) = value
            && !(v.is_finite() && v >= 0.0)
        {
            self.fail(format!("{field} {v} is not a finite number ≥ 0"));
        }
    }
    fn at_least(&mut self, field: &str, value: i64, low: i64) {
        if value < low {
            self.fail(format!("{field} {value} is below {low}"));
        }
    }
    fn done(self) -> Vec<String> {
        self.0
    }
}

fn validate_image(r: &ImageRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("sha256", &r.sha256, 64);
    c.not_empty("stored_path", &r.stored_path);
    c.not_empty("format", &r.format);
    c.at_least("width", r.width, 1);
    c.at_least("height", r.height, 1);
    c.at_least("bytes", r.bytes, 1);
    c.time("created_at", &r.created_at);
    c.done()
}

fn validate_prompt_version(r: &PromptVersionRow) -> Vec<String> {
    let mut c = Check::default();
    c.version("version", &r.version);
    if let Some(parent) = &r.parent {
        c.version("parent", parent);
        if parent == &r.version {
            c.fail("parent is the version itself".into());
        }
    }
    c.not_empty("prompt", &r.prompt);
    c.one_of(
        "status",
        &r.status,
        &["champion", "challenger", "retired", "rejected"],
    );
    c.time("created_at", &r.created_at);
    c.done()
}

fn validate_batch(r: &BatchRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("id", &r.id, 32);
    if let Some(sha) = &r.image_sha256 {
        c.hex("image_sha256", sha, 64);
    }
    c.time("created_at", &r.created_at);
    c.done()
}

fn validate_experiment(r: &ExperimentRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("id", &r.id, 32);
    c.hex("batch_id", &r.batch_id, 32);
    c.not_empty("option", &r.option);
    c.not_empty("provider", &r.provider);
    let values = [r.init_strength, r.guidance_scale, r.controlnet_weight];
    for ((field, low, high), value) in PARAM_LIMITS.iter().zip(values) {
        c.range_f(field, value, *low, *high);
    }
    c.version("prompt_version", &r.prompt_version);
    if Method::parse(&r.method).is_none() {
        c.one_of(
            "method",
            &r.method,
            &[
                "initial_design",
                "random",
                "gp_ei",
                "gp_exploit",
                "space_filling",
            ],
        );
    }
    if ExperimentStatus::parse(&r.status).is_none() {
        c.one_of(
            "status",
            &r.status,
            &["proposed", "running", "done", "failed"],
        );
    }
    if let Some(rule) = &r.arm_rule
        && ArmRule::parse(rule).is_none()
    {
        c.one_of(
            "arm_rule",
            rule,
            &[
                "design",
                "thompson",
                "ucb1",
                "acquisition",
                "best_prediction",
            ],
        );
    }
    if let Some(ms) = r.latency_ms {
        c.at_least("latency_ms", ms, 0);
    }
    c.non_negative("cost_usd", r.cost_usd);
    c.non_negative("predicted_sd", r.predicted_sd);
    c.non_negative("expected_improvement", r.expected_improvement);
    for (field, value) in [
        ("arm_score", r.arm_score),
        ("predicted_mean", r.predicted_mean),
    ] {
        if let Some(v) = value
            && !v.is_finite()
        {
            c.fail(format!("{field} {v} is not a finite number"));
        }
    }
    c.time("created_at", &r.created_at);
    c.opt_time("finished_at", &r.finished_at);
    c.done()
}

fn validate_rating(r: &RatingRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("experiment_id", &r.experiment_id, 32);
    if !(1..=5).contains(&r.stars) {
        c.fail(format!("stars {} out of range 1–5", r.stars));
    }
    if let Some(comment) = &r.comment
        && comment.chars().count() > super::rate::MAX_COMMENT_CHARS
    {
        c.fail(format!(
            "comment longer than {} characters",
            super::rate::MAX_COMMENT_CHARS
        ));
    }
    if let Some(by) = &r.rated_by {
        c.not_empty("rated_by", by);
    }
    c.time("rated_at", &r.rated_at);
    c.done()
}

fn validate_evolution(r: &EvolutionRow) -> Vec<String> {
    let mut c = Check::default();
    c.at_least("trigger_sample", r.trigger_sample, 0);
    c.version("parent_version", &r.parent_version);
    if let Some(v) = &r.new_version {
        c.version("new_version", v);
    }
    c.not_empty("evolver", &r.evolver);
    c.one_of(
        "outcome",
        &r.outcome,
        &["pending", "created", "failed", "skipped"],
    );
    if r.outcome == "created" && r.new_version.is_none() {
        c.fail("outcome created without a new_version".into());
    }
    c.time("created_at", &r.created_at);
    c.opt_time("finished_at", &r.finished_at);
    c.done()
}

fn validate_decision(r: &PromptDecisionRow) -> Vec<String> {
    let mut c = Check::default();
    c.version("champion", &r.champion);
    c.version("challenger", &r.challenger);
    c.one_of(
        "decision",
        &r.decision,
        &["promote", "reject", "expire", "activate", "rollback"],
    );
    c.at_least("champion_n", r.champion_n, 0);
    c.at_least("challenger_n", r.challenger_n, 0);
    c.range_f("champion_mean", r.champion_mean, 0.0, 5.0);
    c.range_f("challenger_mean", r.challenger_mean, 0.0, 5.0);
    if let Some(p) = r.prob_better {
        c.range_f("prob_better", p, 0.0, 1.0);
    }
    for (field, value) in [("difference", r.difference), ("t", r.t), ("df", r.df)] {
        if let Some(v) = value
            && !v.is_finite()
        {
            c.fail(format!("{field} {v} is not a finite number"));
        }
    }
    c.time("created_at", &r.created_at);
    c.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_must_have_the_databases_shape_and_a_real_date() {
        assert!(is_timestamp("2026-11-26T21:48:31.123Z"));
        assert!(is_timestamp("2024-02-29T00:00:00.000Z"));
        for bad in [
            "2026-11-26T21:48:31Z",
            "2026-11-26 21:48:31.123Z",
            "2023-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-26T24:00:00.000Z",
            "yesterday",
            "2026-11-26T21:48:31.123+01:00",
        ] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }

    #[test]
    fn a_rating_out_of_range_is_named_with_its_field() {
        let row = RatingRow {
            experiment_id: "0".repeat(32),
            stars: 7,
            comment: None,
            rated_by: Some("  ".into()),
            rated_at: "2026-11-26T21:48:31.123Z".into(),
        };
        assert_eq!(
            validate_rating(&row),
            ["stars 7 out of range 1–5", "rated_by is empty"]
        );
    }

    #[test]
    fn versions_must_be_written_canonically() {
        let mut c = Check::default();
        c.version("v", "1.2.3");
        c.version("v", "v1.2.3");
        c.version("v", "1.2");
        assert_eq!(c.done().len(), 2);
    }
}
