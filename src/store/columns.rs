//! How the domain's typed values are stored: ids as their text, the
//! fixed word sets (status, method, arm rule, prompt status) as their words.
//! Rows read back through these, so an unknown word in the database is a
//! conversion error naming the value, never a silent default.

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

use crate::domain::{ArmRule, BatchId, ExperimentId, ExperimentStatus, Method, PromptStatus};

/// Stores a word enum as `as_str()` and reads it back with `parse()`.
macro_rules! word_column {
    ($type:ty, $what:literal) => {
        impl ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $type {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                <$type>::parse(text).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} {text:?}", $what).into())
                })
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
        impl ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $type {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                Ok(<$type>::from_stored(value.as_str()?.to_string()))
            }
        }
    };
}

id_column!(ExperimentId);
id_column!(BatchId);

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn words_and_ids_round_trip_and_unknown_words_are_errors() {
        let conn = Connection::open_in_memory().unwrap();
        let back: (ExperimentStatus, Method, ArmRule, PromptStatus) = conn
            .query_row(
                "SELECT ?1, ?2, ?3, ?4",
                rusqlite::params![
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
        let unknown = conn.query_row("SELECT 'sideways'", [], |r| r.get::<_, Method>(0));
        let message = unknown.unwrap_err().to_string();
        assert!(message.contains("unknown method \"sideways\""), "{message}");
    }
}
