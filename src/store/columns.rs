//! How the domain's typed values are stored: ids as their text, the
//! fixed word sets (status, method, arm rule, prompt status) as their words,
//! instants as `YYYY-MM-DDTHH:MM:SS.sssZ` text ([`Stamp`]).
//! Rows read back through these, so an unknown word or a malformed time in
//! the database is a conversion error naming the value, never a silent
//! default or a panic. The same on SQLite and PostgreSQL (both store text).
//!
//! Why not rusqlite's own `jiff` feature: it writes `Timestamp`'s `Display`
//! (`…:12Z` on a whole second, up to nine fraction digits otherwise) and
//! reads integers and any offset, while every row here, including the ones
//! the SQL defaults write, holds exactly three fraction digits and `Z`; one
//! text form keeps text order equal to time order in SQL comparisons.

use jiff::Timestamp;

use crate::domain::time;
use crate::domain::{ArmRule, BatchId, ExperimentId, ExperimentStatus, Method, PromptStatus};
use crate::error::{Error, Result};
use crate::store::db::{ColumnRef, FromColumn, Row, ToValue, Value};

/// Stores a word enum as `as_str()` and reads it back with `parse()`.
macro_rules! word_column {
    ($type:ty, $what:literal) => {
        impl ToValue for $type {
            fn to_value(&self) -> Value {
                Value::Text(self.as_str().to_string())
            }
        }

        impl FromColumn for $type {
            fn from_column(column: ColumnRef<'_>) -> Result<Self> {
                let text = column.as_str()?;
                <$type>::parse(text)
                    .ok_or_else(|| Error::StoredValue(format!("unknown {} {text:?}", $what)))
            }
        }
    };
}

word_column!(ExperimentStatus, "experiment status");
word_column!(Method, "method");
word_column!(ArmRule, "arm rule");
word_column!(PromptStatus, "prompt status");

/// Stores an id as its text; what is stored was checked when it was made.
macro_rules! id_column {
    ($type:ty) => {
        impl ToValue for $type {
            fn to_value(&self) -> Value {
                Value::Text(self.as_str().to_string())
            }
        }

        impl FromColumn for $type {
            fn from_column(column: ColumnRef<'_>) -> Result<Self> {
                Ok(<$type>::from_stored(column.as_str()?.to_string()))
            }
        }
    };
}

id_column!(ExperimentId);
id_column!(BatchId);

/// A [`Timestamp`] as the database stores it (see [`time::format`]). Bind
/// `Stamp(at)`; read `r.get::<Stamp>(i)?.0` (or `Option<Stamp>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(pub Timestamp);

impl ToValue for Stamp {
    fn to_value(&self) -> Value {
        Value::Text(time::format(self.0))
    }
}

impl FromColumn for Stamp {
    fn from_column(column: ColumnRef<'_>) -> Result<Self> {
        let text = column.as_str()?;
        time::parse(text)
            .map(Stamp)
            .map_err(|e| Error::StoredValue(e.to_string()))
    }
}

/// Reads column `i` as an instant.
pub(crate) fn stamp(r: &Row<'_>, i: usize) -> Result<Timestamp> {
    Ok(r.get::<Stamp>(i)?.0)
}

/// Reads column `i` as an optional instant.
pub(crate) fn stamp_opt(r: &Row<'_>, i: usize) -> Result<Option<Timestamp>> {
    Ok(r.get::<Option<Stamp>>(i)?.map(|s| s.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::{Conn, Sql, params};
    use rusqlite::Connection;

    fn memory() -> Conn {
        Conn::Sqlite(Connection::open_in_memory().unwrap())
    }

    #[test]
    fn words_and_ids_round_trip_and_unknown_words_are_errors() {
        let conn = memory();
        let back: (ExperimentStatus, Method, ArmRule, PromptStatus) = conn
            .query_row(
                "SELECT ?1, ?2, ?3, ?4",
                params![
                    ExperimentStatus::Running,
                    Method::SpaceFilling,
                    ArmRule::Thompson,
                    PromptStatus::Challenger
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            back,
            (
                ExperimentStatus::Running,
                Method::SpaceFilling,
                ArmRule::Thompson,
                PromptStatus::Challenger
            )
        );
        let id = ExperimentId::from_stored("ab".repeat(16));
        let same: ExperimentId = conn.query_row("SELECT ?1", [&id], |r| r.get(0)).unwrap();
        assert_eq!(same, id);
        let stored: String = conn
            .query_row("SELECT ?1", [&Method::GpEi], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, "gp_ei");
        let unknown = conn.query_row("SELECT 'sideways'", [], |r| r.get::<Method>(0));
        let message = unknown.unwrap_err().to_string();
        assert!(message.contains("unknown method \"sideways\""), "{message}");
    }

    #[test]
    fn a_timestamp_with_millis_round_trips_as_todays_text() {
        let conn = memory();
        conn.execute_batch("CREATE TABLE t (at TEXT)").unwrap();
        let at = Timestamp::from_millisecond(1_796_463_912_345).unwrap();
        conn.execute("INSERT INTO t (at) VALUES (?1)", [Stamp(at)])
            .unwrap();
        let text: String = conn
            .query_row("SELECT at FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(text, "2026-12-05T09:45:12.345Z");
        let back = conn
            .query_row("SELECT at FROM t", [], |r| stamp(r, 0))
            .unwrap();
        assert_eq!(back, at);
        // A whole second keeps its three zeros (rusqlite's jiff form would not).
        let whole = Timestamp::from_second(1_796_463_912).unwrap();
        let text: String = conn
            .query_row("SELECT ?1", [Stamp(whole)], |r| r.get(0))
            .unwrap();
        assert_eq!(text, "2026-12-05T09:45:12.000Z");
    }

    #[test]
    fn a_legacy_row_written_by_the_sql_default_reads_back() {
        let conn = memory();
        conn.execute_batch(
            "CREATE TABLE t (n INTEGER, at TEXT NOT NULL
                 DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
             INSERT INTO t (n) VALUES (1);",
        )
        .unwrap();
        let before = Timestamp::now().as_millisecond();
        let (text, at): (String, Timestamp) = conn
            .query_row("SELECT at, at FROM t", [], |r| {
                Ok((r.get(0)?, stamp(r, 1)?))
            })
            .unwrap();
        assert_eq!(time::format(at), text);
        // The default is SQLite's clock: the same instant, to a few seconds.
        assert!((at.as_millisecond() - before).abs() < 5_000, "{text}");
        let none = conn
            .query_row("SELECT NULL", [], |r| stamp_opt(r, 0))
            .unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn a_malformed_stored_time_is_a_typed_conversion_error() {
        let conn = memory();
        for stored in [
            "'yesterday'",
            "'2026-12-05T09:45:12Z'",
            "'2026-02-30T00:00:00.000Z'",
            "42",
        ] {
            let err = conn
                .query_row(&format!("SELECT {stored}"), [], |r| stamp(r, 0))
                .unwrap_err();
            assert!(matches!(err, Error::StoredValue(..)), "{stored}: {err:?}");
        }
        let err = conn
            .query_row("SELECT 'yesterday'", [], |r| stamp(r, 0))
            .unwrap_err();
        assert!(
            err.to_string().contains("\"yesterday\" is not a UTC time"),
            "{err}"
        );
    }
}
