//! `model_cache`: derived model state (fitted GP hyperparameters), keyed by
//! what it was fitted for. Deleting it only costs a refit.

use super::Store;
use crate::error::Result;
use crate::store::db::{OptionalExtension, Sql, params};

impl Store {
    /// The cached JSON value for `key` and how many observations it was fitted on.
    pub fn cached_model(&self, key: &str) -> Result<Option<(u64, String)>> {
        self.conn
            .query_row(
                "SELECT observations, value FROM model_cache WHERE key = ?1",
                [key],
                |r| Ok((r.get::<i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
    }

    /// Stores (or replaces) the cached value for `key`.
    pub fn save_model(&mut self, key: &str, observations: u64, value: &str) -> Result<()> {
        if self.read_only {
            return Ok(()); // a cache: a read command refits next time instead
        }
        self.conn.execute(
            "INSERT INTO model_cache (key, observations, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET observations = excluded.observations,
                 value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            params![key, observations as i64, value],
        )?;
        Ok(())
    }
}
