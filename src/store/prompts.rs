//! The `prompt_versions` table. The shipped JSON files only seed it.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::Result;

/// One version of the generation prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptVersion {
    /// Semantic version, e.g. `1.0.0`.
    pub version: String,
    /// The positive prompt.
    pub prompt: String,
    /// The negative prompt.
    pub negative_prompt: String,
    /// The version this one was evolved from.
    pub parent: Option<String>,
    /// Why it was written.
    pub reasoning: Option<String>,
    /// What changed, one line each.
    pub changes: Vec<String>,
}

impl Store {
    /// Makes `base` the champion if the database has no prompt yet; a no-op otherwise.
    pub fn seed_prompt(&mut self, base: &PromptVersion) -> Result<()> {
        let tx = self.conn.transaction()?;
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
        Ok(self
            .conn
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
            .optional()?)
    }
}
