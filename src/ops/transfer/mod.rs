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
//!    `preference` (every choice between two renders of one photo, oldest
//!    first; each designer's last choice for a pair counts),
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
//!
//! Files: [`format`] (the record shapes and counts), [`export`] (writing),
//! [`import`] (reading, in one transaction) and [`validate`] (the checks
//! each record passes before it is imported).

mod export;
mod format;
mod import;
mod validate;

pub use export::{ExportOptions, ExportReport, ExportWriter, Target, export};
pub use format::{CSV_COLUMNS, Counts, FORMAT, FORMAT_VERSION, Header};
pub use import::{ImportOptions, ImportReport, import, open_for_import};
