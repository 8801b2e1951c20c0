//! The rows behind `latina status`, read in two passes: one scan of the
//! experiments (with their latest rating, kept on the row by triggers) and
//! one over the few experiments rated more than once. Kept to scans because
//! `status` must stay under 100 ms with years of ratings.

use std::collections::BTreeMap;

use super::Store;
use crate::error::Result;

/// The learning state at a glance, plus what the trend, win rates and
/// inter-rater statistics are computed from.
#[derive(Debug, Clone, PartialEq, Default)]
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
    /// Latest stars of the rated experiments, in the order they were made.
    pub stars_in_order: Vec<u8>,
    /// Per batch (one photo's variants shown together) with at least two
    /// rated variants: `(provider, latest stars)` of each.
    pub rated_batches: Vec<Vec<(String, u8)>>,
    /// Per named rater: ratings given (re-ratings included) and the sum of
    /// their stars.
    pub raters: BTreeMap<String, (u64, u64)>,
    /// Experiments rated by two or more named raters: each rater's latest
    /// stars there.
    pub shared: Vec<Vec<(String, u8)>>,
}

/// One provider arm's record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProviderSummary {
    /// The arm's name.
    pub name: String,
    /// Rated experiments.
    pub count: u64,
    /// Of those, rated 4 or 5 stars.
    pub successes: u64,
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
        let mut s = Summary::default();
        let mut star_sum = 0u64;
        // Names are interned as indices: one allocation per provider or
        // rater, not per row (100,000 rows must scan in tens of ms).
        let mut providers: Vec<(ProviderSummary, u64)> = Vec::new();
        let mut groups: Vec<Vec<(usize, u8)>> = Vec::new();
        let mut batch: Vec<(usize, u8)> = Vec::new();
        let mut batch_id = String::new();
        {
            let mut stmt = tx.prepare(
                "SELECT provider, status, stars, latency_ms, cost_usd, batch_id
                 FROM experiments ORDER BY seq",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let text = |i: usize| r.get_ref(i)?.as_str().map_err(rusqlite::Error::from);
                let provider = text(0)?;
                let index = match providers.iter().position(|(p, _)| p.name == provider) {
                    Some(i) => i,
                    None => {
                        providers.push((
                            ProviderSummary {
                                name: provider.to_string(),
                                ..ProviderSummary::default()
                            },
                            0,
                        ));
                        providers.len() - 1
                    }
                };
                let status = text(1)?;
                let stars: Option<i64> = r.get(2)?;
                let (p, p_sum) = &mut providers[index];
                p.total_latency_ms += r.get::<_, Option<i64>>(3)?.unwrap_or(0).max(0) as u64;
                let cost: Option<f64> = r.get(4)?;
                p.total_cost_usd += cost.unwrap_or(0.0);
                match status {
                    "done" => {
                        p.renders += 1;
                        p.renders_without_cost += u64::from(cost.is_none());
                    }
                    "failed" => {
                        p.failed += 1;
                        s.failed += 1;
                    }
                    _ => {}
                }
                let Some(stars) = stars else {
                    s.unrated += u64::from(matches!(status, "done" | "proposed"));
                    continue;
                };
                let stars = stars.clamp(1, 5) as u8;
                p.count += 1;
                p.successes += u64::from(stars >= 4);
                *p_sum += u64::from(stars);
                star_sum += u64::from(stars);
                s.total_samples += 1;
                s.best_rating = s.best_rating.max(Some(stars));
                s.stars_in_order.push(stars);
                // A batch's variants are inserted in one transaction, so
                // they are consecutive in `seq` order.
                let this_batch = text(5)?;
                if this_batch != batch_id {
                    if batch.len() >= 2 {
                        groups.push(std::mem::take(&mut batch));
                    }
                    batch.clear();
                    batch_id.clear();
                    batch_id.push_str(this_batch);
                }
                batch.push((index, stars));
            }
            if batch.len() >= 2 {
                groups.push(batch);
            }
        }
        {
            let mut stmt = tx.prepare(
                "SELECT rated_by, count(*), sum(stars) FROM ratings
                 WHERE rated_by IS NOT NULL GROUP BY rated_by",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64),
                ))
            })?;
            for row in rows {
                let (name, tally) = row?;
                s.raters.insert(name, tally);
            }
        }
        s.rated_batches = groups
            .into_iter()
            .map(|g| {
                g.into_iter()
                    .map(|(i, stars)| (providers[i].0.name.clone(), stars))
                    .collect()
            })
            .collect();
        {
            let mut stmt = tx.prepare(
                "SELECT e.seq, r.rated_by, r.stars
                 FROM experiments e JOIN ratings r ON r.experiment_id = e.id
                 WHERE e.rating_count >= 2 AND r.rated_by IS NOT NULL
                 ORDER BY e.seq, r.id",
            )?;
            let mut rows = stmt.query([])?;
            let mut current: Option<i64> = None;
            let mut latest: Vec<(String, u8)> = Vec::new();
            let flush = |latest: &mut Vec<(String, u8)>, s: &mut Summary| {
                if latest.len() >= 2 {
                    s.shared.push(std::mem::take(latest));
                }
                latest.clear();
            };
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                if current != Some(seq) {
                    flush(&mut latest, &mut s);
                    current = Some(seq);
                }
                let rater: String = r.get(1)?;
                let stars = r.get::<_, i64>(2)?.clamp(1, 5) as u8;
                // Ordered by rating id: a rater's later rating replaces theirs.
                match latest.iter_mut().find(|(who, _)| *who == rater) {
                    Some(entry) => entry.1 = stars,
                    None => latest.push((rater, stars)),
                }
            }
            flush(&mut latest, &mut s);
        }
        tx.commit()?;
        s.avg_rating = (s.total_samples > 0).then(|| star_sum as f64 / s.total_samples as f64);
        providers.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        s.providers = providers
            .into_iter()
            .map(|(mut p, sum)| {
                p.avg_rating = (p.count > 0).then(|| sum as f64 / p.count as f64);
                p
            })
            .collect();
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with two batches of two variants and the given ratings
    /// `(experiment, stars, rater)`, inserted in that order.
    fn store_with(ratings: &[(&str, i64, Option<&str>)]) -> Store {
        let store = Store::open_in_memory().unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO prompt_versions (version, prompt, negative_prompt, status)
                     VALUES ('1.0.0', 'p', '', 'champion');
                 INSERT INTO batches (id) VALUES ('b1'), ('b2');
                 INSERT INTO experiments (id, batch_id, option, provider, init_strength,
                     guidance_scale, controlnet_weight, prompt_version, method, status, latency_ms)
                 VALUES ('e1', 'b1', 'A', 'tone', 0.2, 7, 0.8, '1.0.0', 'random', 'done', 100),
                        ('e2', 'b1', 'B', 'detail', 0.3, 8, 0.9, '1.0.0', 'random', 'done', 300),
                        ('e3', 'b2', 'A', 'tone', 0.4, 9, 0.7, '1.0.0', 'random', 'done', 200),
                        ('e4', 'b2', 'B', 'detail', 0.1, 6, 0.95, '1.0.0', 'random', 'failed', 50);",
            )
            .unwrap();
        for (e, stars, by) in ratings {
            store
                .conn
                .execute(
                    "INSERT INTO ratings (experiment_id, stars, rated_by) VALUES (?1, ?2, ?3)",
                    rusqlite::params![e, stars, by],
                )
                .unwrap();
        }
        store
    }

    #[test]
    fn the_latest_rating_is_kept_on_the_experiment_by_the_triggers() {
        let mut store = store_with(&[
            ("e1", 2, Some("ana")),
            ("e1", 5, Some("luis")),
            ("e2", 3, Some("ana")),
        ]);
        let latest: Vec<(String, Option<i64>, i64)> = store
            .conn
            .prepare("SELECT id, stars, rating_count FROM experiments ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            latest,
            vec![
                ("e1".into(), Some(5), 2),
                ("e2".into(), Some(3), 1),
                ("e3".into(), None, 0),
                ("e4".into(), None, 0),
            ]
        );
        // The view agrees with the definition it replaced (max id wins).
        let via_view: Vec<(String, i64)> = store
            .conn
            .prepare("SELECT experiment_id, stars FROM latest_ratings ORDER BY experiment_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(via_view, vec![("e1".into(), 5), ("e2".into(), 3)]);
        // A hand edit that deletes the latest rating falls back to the earlier one.
        store
            .conn
            .execute(
                "DELETE FROM ratings WHERE experiment_id = 'e1' AND stars = 5",
                [],
            )
            .unwrap();
        let s = store.summary().unwrap();
        assert_eq!(s.stars_in_order, vec![2, 3]);
    }

    #[test]
    fn summary_counts_pairs_raters_and_shared_ratings() {
        let mut store = store_with(&[
            ("e1", 4, Some("ana")),
            ("e2", 2, Some("ana")),
            ("e1", 3, Some("luis")),
            ("e3", 5, Some("luis")),
            // ana changes her mind on e1: her latest there is 5.
            ("e1", 5, Some("ana")),
        ]);
        let s = store.summary().unwrap();
        assert_eq!(s.total_samples, 3);
        assert_eq!(s.best_rating, Some(5));
        assert_eq!(s.stars_in_order, vec![5, 2, 5]);
        assert!((s.avg_rating.unwrap() - 4.0).abs() < 1e-12);
        assert_eq!(s.unrated, 0);
        assert_eq!(s.failed, 1);
        // Only batch b1 has two rated variants.
        assert_eq!(
            s.rated_batches,
            vec![vec![("tone".to_string(), 5), ("detail".to_string(), 2)]]
        );
        let tone = s.providers.iter().find(|p| p.name == "tone").unwrap();
        assert_eq!((tone.count, tone.successes, tone.renders), (2, 2, 2));
        assert_eq!(tone.total_latency_ms, 300);
        let detail = s.providers.iter().find(|p| p.name == "detail").unwrap();
        assert_eq!((detail.count, detail.failed, detail.renders), (1, 1, 1));
        // Ratings given, re-ratings included.
        assert_eq!(s.raters["ana"], (3, 11));
        assert_eq!(s.raters["luis"], (2, 8));
        // e1 is shared: ana's latest 5, luis 3.
        assert_eq!(
            s.shared,
            vec![vec![("ana".to_string(), 5), ("luis".to_string(), 3)]]
        );
    }
}
