//! Reading an export back: line by line, each record validated and matched
//! against the database and the lines before it, all in one transaction
//! that commits only when every line is good.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use super::format::{Counts, FORMAT, FORMAT_VERSION, Header, Kind};
use super::validate::{
    validate_batch, validate_decision, validate_embedding, validate_evolution, validate_experiment,
    validate_image, validate_preference, validate_prompt_version, validate_rating,
};
use crate::error::{Error, LineProblem, Result};
use crate::store::{
    Applied, Importer, PreferenceRow, PromptDecisionRow, RatingRow, Refusal, SCHEMA_VERSION, Store,
};

/// The longest line an import reads: far above any record latina writes
/// (prompts, comments and errors are a few KiB at most), and small enough
/// that a file of one endless line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// One line read by [`read_line_capped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineRead {
    /// Bytes consumed, the newline included (0 at the end of the input).
    bytes: u64,
    /// The line was longer than the cap: `buf` holds only its start, the
    /// rest was read and dropped.
    too_long: bool,
}

/// Reads one line into `buf`, keeping at most `max` bytes of it in memory;
/// the rest of a longer line is consumed and dropped.
fn read_line_capped(
    input: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    let mut bytes = std::io::Read::take(&mut *input, max as u64).read_until(b'\n', buf)? as u64;
    if buf.len() < max || buf.ends_with(b"\n") {
        return Ok(LineRead {
            bytes,
            too_long: false,
        });
    }
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let (used, found) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        input.consume(used);
        bytes += used as u64;
        if found {
            break;
        }
    }
    // Exactly `max` bytes and then the end of the input is still a line
    // that fits.
    Ok(LineRead {
        too_long: bytes > max as u64,
        bytes,
    })
}

/// Opens (creating if needed) the database for an import, without seeding
/// the base prompt: the file brings its own prompt history.
pub fn open_for_import(ws: &crate::ops::Workspace) -> Result<Store> {
    Store::open_at(&ws.paths.database, crate::store::OpenMode::CreateIfMissing)
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
        let read = read_line_capped(input, &mut buf, MAX_LINE_BYTES)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if read.bytes == 0 {
            break;
        }
        line_no += 1;
        bytes += read.bytes;
        if line_no.is_multiple_of(2048) {
            progress(bytes);
        }
        if read.too_long {
            run.problems.add(
                line_no,
                format!(
                    "a line of {} bytes, longer than any record latina writes (at most {} MiB): not a latina export line",
                    read.bytes,
                    MAX_LINE_BYTES >> 20
                ),
            );
            if header.is_none() {
                return Err(refused(run.problems));
            }
            continue;
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
                            "unknown record type {word:?} (expected image, prompt_version, batch, experiment, embedding, rating, preference, evolution, prompt_decision or end)"
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
            Kind::Rating
            | Kind::Preference
            | Kind::Evolution
            | Kind::PromptDecision
            | Kind::Embedding => "",
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
            Kind::Embedding => self
                .row(line, kind, value, validate_embedding)
                .map(|r| self.importer.embedding(&r))
                .transpose()?,
            Kind::Rating => match self.row(line, kind, value, validate_rating) {
                Some(r) => Some(self.rating(&r)?),
                None => None,
            },
            Kind::Preference => match self.row(line, kind, value, validate_preference) {
                Some(r) => Some(self.preference(&r)?),
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

    /// Preferences are matched like ratings.
    fn preference(&mut self, row: &PreferenceRow) -> Result<Applied> {
        let present = self.importer.preferences_present(row)?;
        if present > 0 && self.seen_again(format!("p{row:?}"), present) {
            return Ok(Applied::Present);
        }
        self.importer.preference(row)
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
            ("embeddings", end.counts.embeddings, self.in_file.embeddings),
            ("ratings", end.counts.ratings, self.in_file.ratings),
            (
                "preferences",
                end.counts.preferences,
                self.in_file.preferences,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8], max: usize) -> Vec<(String, LineRead)> {
        let mut reader = std::io::BufReader::with_capacity(3, input);
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            let read = read_line_capped(&mut reader, &mut buf, max).unwrap();
            if read.bytes == 0 {
                return out;
            }
            out.push((String::from_utf8(buf).unwrap(), read));
        }
    }

    #[test]
    fn a_line_over_the_cap_is_dropped_and_the_next_line_read_whole() {
        let lines = lines_of(b"short\nthis one is far too long\nok\n", 8);
        let kept: Vec<&str> = lines.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(kept, ["short\n", "this one", "ok\n"]);
        let flags: Vec<(u64, bool)> = lines.iter().map(|(_, r)| (r.bytes, r.too_long)).collect();
        assert_eq!(flags, [(6, false), (25, true), (3, false)]);
    }

    #[test]
    fn a_line_of_exactly_the_cap_fits_with_or_without_its_newline() {
        assert_eq!(
            lines_of(b"12345678", 8)[0].1,
            LineRead {
                bytes: 8,
                too_long: false
            }
        );
        let lines = lines_of(b"1234567\nabc", 8);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|(_, r)| !r.too_long));
        // Eight bytes and a newline: the ninth byte is the newline, past the cap.
        assert!(lines_of(b"12345678\n", 8)[0].1.too_long);
    }
}
