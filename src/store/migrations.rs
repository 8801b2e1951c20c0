//! Append-only schema migrations tracked by `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

use crate::error::{Error, Result};

/// Every migration ever shipped, in order; index + 1 is the schema version.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("sql/0001_initial.sql"),
    include_str!("sql/0002_explanations.sql"),
    include_str!("sql/0003_fallback.sql"),
    include_str!("sql/0004_cost.sql"),
    include_str!("sql/0005_prompt_trials.sql"),
    include_str!("sql/0006_latest_rating.sql"),
    include_str!("sql/0007_history_indexes.sql"),
    include_str!("sql/0008_status_tallies.sql"),
    include_str!("sql/0009_running_owner.sql"),
    include_str!("sql/0010_fallback_attempts.sql"),
    include_str!("sql/0011_preferences.sql"),
    include_str!("sql/0012_photo_features.sql"),
    include_str!("sql/0013_render_features.sql"),
    include_str!("sql/0014_shortlist.sql"),
    include_str!("sql/0015_render_embeddings.sql"),
    include_str!("sql/0016_judgement_window.sql"),
    include_str!("sql/0017_applied_knobs.sql"),
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`] in one immediate transaction,
/// so two processes starting at once cannot both migrate.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(too_new(path, current));
    }
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read under the lock: another process may have migrated meanwhile.
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(too_new(path, current));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

fn too_new(path: &Path, found: i64) -> Error {
    Error::DatabaseTooNew {
        path: path.to_path_buf(),
        found,
        supported: SCHEMA_VERSION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_reaches_the_latest_version_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn, Path::new("x.db")).unwrap_err();
        assert!(err.to_string().contains("upgrade latina"), "{err}");
    }
}
