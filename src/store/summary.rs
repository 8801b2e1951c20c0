//! Aggregates for `latina status`, computed in SQL over the latest ratings.

use super::Store;
use crate::error::Result;

/// The learning state at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Experiments with at least one rating (each counted once, latest rating).
    pub total_samples: u64,
    /// Highest latest rating.
    pub best_rating: Option<u8>,
    /// Mean of the latest ratings.
    pub avg_rating: Option<f64>,
    /// Rendered or proposed experiments not yet rated.
    pub unrated: u64,
    /// Renders that failed.
    pub failed: u64,
    /// One row per provider that has experiments, by name.
    pub providers: Vec<ProviderSummary>,
}

/// One provider arm's record.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSummary {
    /// The arm's name.
    pub name: String,
    /// Rated experiments.
    pub count: u64,
    /// Mean latest rating, if any.
    pub avg_rating: Option<f64>,
    /// Renders that finished.
    pub renders: u64,
    /// Renders that failed.
    pub failed: u64,
    /// Total provider time over finished and failed renders, milliseconds.
    pub total_latency_ms: u64,
    /// Total cost of the renders whose cost is known, US dollars.
    pub total_cost_usd: f64,
    /// Finished renders whose cost is unknown (no price configured).
    pub renders_without_cost: u64,
}

impl Store {
    /// Computes the summary in one read transaction.
    pub fn summary(&mut self) -> Result<Summary> {
        let tx = self.conn.transaction()?;
        let (total, best, avg): (i64, Option<i64>, Option<f64>) = tx.query_row(
            "SELECT count(*), max(stars), avg(stars) FROM latest_ratings",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (unrated, failed): (i64, i64) = tx.query_row(
            "SELECT
                 coalesce(sum(e.status IN ('done', 'proposed') AND lr.id IS NULL), 0),
                 coalesce(sum(e.status = 'failed'), 0)
             FROM experiments e LEFT JOIN latest_ratings lr ON lr.experiment_id = e.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let providers = {
            let mut stmt = tx.prepare(
                "SELECT e.provider, count(lr.id), avg(lr.stars),
                     coalesce(sum(e.status = 'done'), 0), coalesce(sum(e.status = 'failed'), 0),
                     coalesce(sum(e.latency_ms), 0), coalesce(sum(e.cost_usd), 0.0),
                     coalesce(sum(e.status = 'done' AND e.cost_usd IS NULL), 0)
                 FROM experiments e LEFT JOIN latest_ratings lr ON lr.experiment_id = e.id
                 GROUP BY e.provider ORDER BY e.provider",
            )?;
            stmt.query_map([], |r| {
                Ok(ProviderSummary {
                    name: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                    avg_rating: r.get(2)?,
                    renders: r.get::<_, i64>(3)? as u64,
                    failed: r.get::<_, i64>(4)? as u64,
                    total_latency_ms: r.get::<_, i64>(5)? as u64,
                    total_cost_usd: r.get(6)?,
                    renders_without_cost: r.get::<_, i64>(7)? as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok(Summary {
            total_samples: total as u64,
            best_rating: best.map(|b| b as u8),
            avg_rating: avg,
            unrated: unrated as u64,
            failed: failed as u64,
            providers,
        })
    }
}
