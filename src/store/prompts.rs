//! The `prompt_versions` table. The shipped JSON files only seed it.

use serde::Serialize;

use super::Store;
use crate::domain::PromptStatus;
pub use crate::domain::PromptVersion;
use crate::store::db::{Behavior, OptionalExtension, Sql, params};

use crate::error::Result;

impl Store {
    /// Makes `base` the champion if the database has no prompt yet; a no-op otherwise.
    pub fn seed_prompt(&mut self, base: &PromptVersion) -> Result<()> {
        // Immediate: a read that turns into a write inside a deferred
        // transaction fails at once with "database is locked" when another
        // process wrote meanwhile (several first `enhance` runs at once).
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let count: i64 = tx.query_row("SELECT count(*) FROM prompt_versions", [], |r| r.get(0))?;
        if count == 0 {
            tx.execute(
                "INSERT INTO prompt_versions (version, prompt, negative_prompt, parent, status, reasoning, changes)
                 VALUES (?1, ?2, ?3, ?4, 'champion', ?5, ?6)",
                params![
                    base.version,
                    base.prompt,
                    base.negative_prompt,
                    base.parent,
                    base.reasoning,
                    serde_json::to_string(&base.changes).expect("strings serialise"),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The current champion prompt, if one was seeded.
    pub fn champion_prompt(&self) -> Result<Option<PromptVersion>> {
        self.conn
            .query_row(
                "SELECT version, prompt, negative_prompt, parent, reasoning, changes
                 FROM prompt_versions WHERE status = 'champion'",
                [],
                |r| {
                    let changes: String = r.get(5)?;
                    Ok(PromptVersion {
                        version: r.get(0)?,
                        prompt: r.get(1)?,
                        negative_prompt: r.get(2)?,
                        parent: r.get(3)?,
                        reasoning: r.get(4)?,
                        changes: serde_json::from_str(&changes).unwrap_or_default(),
                    })
                },
            )
            .optional()
    }
}

/// One version with its standing, for `latina prompts list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptVersionSummary {
    /// The version and its text.
    #[serde(flatten)]
    pub prompt: PromptVersion,
    /// Champion, challenger, retired or rejected.
    pub status: PromptStatus,
    /// When it was created.
    #[serde(with = "crate::domain::time::millis")]
    pub created_at: jiff::Timestamp,
    /// Rated experiments that used it.
    pub ratings: u64,
    /// Their mean latest rating.
    pub mean_rating: Option<f64>,
}

impl Store {
    /// Every version, oldest first, with its ratings.
    pub fn prompt_versions(&self) -> Result<Vec<PromptVersionSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.version, p.prompt, p.negative_prompt, p.parent, p.reasoning, p.changes,
                    p.status, p.created_at, count(lr.id), avg(lr.stars)
             FROM prompt_versions p
             LEFT JOIN experiments e ON e.prompt_version = p.version
             LEFT JOIN ratings lr ON lr.id = e.rating_id
             GROUP BY p.version ORDER BY p.created_at, p.rowid",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let changes: String = r.get(5)?;
                Ok(PromptVersionSummary {
                    prompt: PromptVersion {
                        version: r.get(0)?,
                        prompt: r.get(1)?,
                        negative_prompt: r.get(2)?,
                        parent: r.get(3)?,
                        reasoning: r.get(4)?,
                        changes: serde_json::from_str(&changes).unwrap_or_default(),
                    },
                    status: r.get(6)?,
                    created_at: super::columns::stamp(r, 7)?,
                    ratings: r.get::<i64>(8)? as u64,
                    mean_rating: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Makes `version` the champion by hand (`activate`, or `rollback` to
    /// the previous champion): the current champion is retired, a challenger
    /// being activated leaves its trial, and the change is recorded.
    /// Returns the champion that was replaced, or `None` if `version`
    /// already was the champion.
    pub fn set_champion(&mut self, version: &str, why: &str) -> Result<Option<String>> {
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let exists: i64 = tx.query_row(
            "SELECT count(*) FROM prompt_versions WHERE version = ?1",
            [version],
            |r| r.get(0),
        )?;
        if exists == 0 {
            return Err(crate::error::Error::NotFound(format!(
                "no prompt version {version:?} (see `latina prompts list`)"
            )));
        }
        let champion: String = tx.query_row(
            "SELECT version FROM prompt_versions WHERE status = 'champion'",
            [],
            |r| r.get(0),
        )?;
        if champion == version {
            return Ok(None);
        }
        tx.execute(
            "UPDATE prompt_versions SET status = 'retired' WHERE version = ?1",
            [&champion],
        )?;
        tx.execute(
            "UPDATE prompt_versions SET status = 'champion' WHERE version = ?1",
            [version],
        )?;
        tx.execute(
            "INSERT INTO prompt_decisions (champion, challenger, decision, champion_n, champion_mean,
                 challenger_n, challenger_mean)
             VALUES (?1, ?2, ?3, 0, 0, 0, 0)",
            params![champion, version, why],
        )?;
        tx.commit()?;
        Ok(Some(champion))
    }

    /// Ends the challenger's trial by hand (`latina prompts rollback` while
    /// one is on trial): it is rejected and the decision recorded.
    pub fn reject_challenger(&mut self, version: &str) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let champion: String = tx.query_row(
            "SELECT version FROM prompt_versions WHERE status = 'champion'",
            [],
            |r| r.get(0),
        )?;
        let changed = tx.execute(
            "UPDATE prompt_versions SET status = 'rejected' WHERE version = ?1 AND status = 'challenger'",
            [version],
        )?;
        if changed == 1 {
            tx.execute(
                "INSERT INTO prompt_decisions (champion, challenger, decision, champion_n, champion_mean,
                     challenger_n, challenger_mean)
                 VALUES (?1, ?2, 'rollback', 0, 0, 0, 0)",
                params![champion, version],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The champion before the current one: the one the latest promotion,
    /// activation or rollback replaced, else the current one's parent.
    pub fn previous_champion(&self) -> Result<Option<String>> {
        let current = self.champion_prompt()?;
        let Some(current) = current else {
            return Ok(None);
        };
        let replaced: Option<String> = self
            .conn
            .query_row(
                "SELECT champion FROM prompt_decisions
                 WHERE challenger = ?1 AND decision IN ('promote', 'activate', 'rollback')
                 ORDER BY id DESC LIMIT 1",
                [&current.version],
                |r| r.get(0),
            )
            .optional()?;
        Ok(replaced.or(current.parent))
    }
}
