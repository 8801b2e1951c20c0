//! The numbers behind `latina status`. Totals per provider, per rater and
//! for rater agreement are kept by triggers (migration 8) and read as a
//! handful of rows; only the trend's latest stars are read per rating, from
//! a covering index. `status` must stay under 100 ms with years of ratings.

use std::collections::BTreeMap;

use super::Store;
use crate::domain::tally::{AgreementTally, WinRecord};
use crate::error::Result;
use crate::store::db::{Row, Sql};

/// The learning state at a glance, plus what the trend and inter-rater
/// statistics are computed from.
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
    /// Variants that failed: no render, not even a fallback's.
    pub failed: u64,
    /// One row per provider that has experiments or failed before a
    /// fallback, by name.
    pub providers: Vec<ProviderSummary>,
    /// Latest stars of the rated experiments, in the order they were made.
    pub stars_in_order: Vec<u8>,
    /// Per named rater: ratings given (re-ratings included) and the sum of
    /// their stars.
    pub raters: BTreeMap<String, (u64, u64)>,
    /// Experiments rated by two or more named raters (each rater's latest
    /// stars), tallied by how many raters.
    pub agreement: Vec<AgreementTally>,
    /// Per named rater: shared experiments and the sum of their offsets
    /// from the others' mean there.
    pub rater_offsets: BTreeMap<String, (u64, f64)>,
}

impl Summary {
    /// Experiments rated by two or more named raters.
    pub fn shared_experiments(&self) -> u64 {
        self.agreement.iter().map(|t| t.items).sum()
    }
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
    /// Renders that failed, including those a fallback arm then rendered
    /// (the variant is the fallback's; the failed attempt is this one's).
    pub failed: u64,
    /// Of `failed`, the attempts whose variant a fallback arm rendered.
    pub fell_back: u64,
    /// Total provider time over finished and failed renders, the time
    /// waited before a fallback included, milliseconds.
    pub total_latency_ms: u64,
    /// Total cost of the renders whose cost is known, US dollars.
    pub total_cost_usd: f64,
    /// Finished renders whose cost is unknown (no price configured).
    pub renders_without_cost: u64,
    /// Same-photo pairs against other providers (variants of one batch,
    /// both rated).
    pub wins: WinRecord,
}

/// The latest stars in the order the renders were made; reads the covering
/// index `experiments_rated_stars` alone (a tenth of the table's pages).
const TREND_SQL: &str = "SELECT stars FROM experiments WHERE stars IS NOT NULL ORDER BY seq";

fn count(r: &Row<'_>, i: usize) -> Result<u64> {
    Ok(r.get::<i64>(i)?.max(0) as u64)
}

impl Store {
    /// A mark that changes whenever a rating, a preference or an
    /// experiment is added: the highest row ids of the three tables (each
    /// one probe of its primary key), for views that redraw only on change.
    pub fn activity_mark(&self) -> Result<[i64; 3]> {
        self.conn.query_row(
            "SELECT (SELECT ifnull(max(id), 0) FROM ratings),
                    (SELECT ifnull(max(id), 0) FROM preferences),
                    (SELECT ifnull(max(seq), 0) FROM experiments)",
            [],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]),
        )
    }

    /// Computes the summary in one read transaction.
    pub fn summary(&mut self) -> Result<Summary> {
        let tx = self.conn.transaction()?;
        let mut s = Summary::default();
        let mut star_sum = 0u64;
        {
            let mut stmt = tx.prepare(
                "SELECT provider, rated, successes, star_sum, unrated, renders, failed,
                        latency_ms, cost_nano_usd, renders_without_cost, comparisons, wins, ties,
                        fallbacks, fallback_latency_ms
                 FROM provider_tallies WHERE experiments > 0 OR fallbacks > 0 ORDER BY provider",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let r = &r;
                let rated = count(r, 1)?;
                let stars = count(r, 3)?;
                star_sum += stars;
                s.unrated += count(r, 4)?;
                s.failed += count(r, 6)?;
                s.providers.push(ProviderSummary {
                    name: r.get(0)?,
                    count: rated,
                    successes: count(r, 2)?,
                    avg_rating: (rated > 0).then(|| stars as f64 / rated as f64),
                    renders: count(r, 5)?,
                    failed: count(r, 6)? + count(r, 13)?,
                    fell_back: count(r, 13)?,
                    total_latency_ms: count(r, 7)? + count(r, 14)?,
                    total_cost_usd: r.get::<i64>(8)? as f64 / 1e9,
                    renders_without_cost: count(r, 9)?,
                    wins: WinRecord {
                        comparisons: count(r, 10)?,
                        wins: count(r, 11)?,
                        ties: count(r, 12)?,
                    },
                });
            }
        }
        {
            let mut stmt = tx.prepare(TREND_SQL)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let r = &r;
                let stars = r.get::<i64>(0)?.clamp(1, 5) as u8;
                s.best_rating = s.best_rating.max(Some(stars));
                s.stars_in_order.push(stars);
            }
            s.total_samples = s.stars_in_order.len() as u64;
        }
        s.avg_rating = (s.total_samples > 0).then(|| star_sum as f64 / s.total_samples as f64);
        {
            let mut stmt = tx.prepare(
                "SELECT rated_by, ratings, star_sum FROM rater_tallies WHERE ratings > 0",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let r = &r;
                s.raters.insert(r.get(0)?, (count(r, 1)?, count(r, 2)?));
            }
        }
        {
            let mut stmt = tx.prepare(
                "SELECT raters, items, star_sum, item_sum_sq, star_sq, category_sq,
                        n1, n2, n3, n4, n5
                 FROM agreement_tallies WHERE items > 0 AND raters >= 2 ORDER BY raters",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let r = &r;
                s.agreement.push(AgreementTally {
                    raters: count(r, 0)?,
                    items: count(r, 1)?,
                    star_sum: r.get(2)?,
                    item_sum_sq: r.get(3)?,
                    star_sq: r.get(4)?,
                    category_sq: r.get(5)?,
                    categories: [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
                });
            }
        }
        {
            let mut stmt = tx.prepare(
                "SELECT rated_by, raters, items, offset_num FROM rater_agreement
                 WHERE items > 0 AND raters >= 2",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let r = &r;
                let k = count(r, 1)?;
                let entry = s.rater_offsets.entry(r.get(0)?).or_default();
                entry.0 += count(r, 2)?;
                // Σ(k·s − T) over items with k raters, each divided by k − 1.
                entry.1 += r.get::<i64>(3)? as f64 / (k - 1) as f64;
            }
        }
        tx.commit()?;
        Ok(s)
    }
}

// On SQLite only (`open_in_memory`, not `open_for_test`): its tests read SQLite query plans and write random histories through rusqlite (tests/pg_schema.rs checks the server's tallies).
#[cfg(test)]
mod tests {
    use super::super::migrations::SCHEMA_VERSION;
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
                    crate::store::db::params![e, stars, by],
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
            .collect::<crate::error::Result<_>>()
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
            .collect::<crate::error::Result<_>>()
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
        // Only batch b1 has two rated variants: tone 5 beats detail 2.
        let tone = s.providers.iter().find(|p| p.name == "tone").unwrap();
        assert_eq!((tone.count, tone.successes, tone.renders), (2, 2, 2));
        assert_eq!(tone.total_latency_ms, 300);
        assert_eq!(
            tone.wins,
            WinRecord {
                comparisons: 1,
                wins: 1,
                ties: 0
            }
        );
        let detail = s.providers.iter().find(|p| p.name == "detail").unwrap();
        assert_eq!((detail.count, detail.failed, detail.renders), (1, 1, 1));
        assert_eq!((detail.wins.comparisons, detail.wins.wins), (1, 0));
        // Ratings given, re-ratings included.
        assert_eq!(s.raters["ana"], (3, 11));
        assert_eq!(s.raters["luis"], (2, 8));
        // e1 is shared: ana's latest 5, luis 3; T = 8, offsets ±2.
        assert_eq!(s.shared_experiments(), 1);
        assert_eq!(
            s.agreement,
            vec![AgreementTally {
                raters: 2,
                items: 1,
                star_sum: 8,
                item_sum_sq: 64,
                star_sq: 34,
                category_sq: 2,
                categories: [0, 0, 1, 0, 1],
            }]
        );
        assert_eq!(s.rater_offsets["ana"], (1, 2.0));
        assert_eq!(s.rater_offsets["luis"], (1, -2.0));
    }

    #[test]
    fn the_trend_reads_only_its_covering_index() {
        let store = store_with(&[("e1", 4, None)]);
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {TREND_SQL}"))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<crate::error::Result<_>>()
            .unwrap();
        assert_eq!(
            plan,
            vec!["SCAN experiments USING COVERING INDEX experiments_rated_stars"]
        );
    }

    /// Everything status reads straight from the rows, the slow way: the
    /// oracle for the tallies the triggers keep.
    fn recount(store: &Store) -> Summary {
        use crate::optim::stats::{agreement_tallies, win_records};
        let conn = &store.conn;
        struct Row {
            id: String,
            batch: String,
            provider: String,
            status: String,
            latency: Option<i64>,
            cost: Option<f64>,
            fallback_from: Option<String>,
            waited: Option<i64>,
        }
        let experiments: Vec<Row> = conn
            .prepare(
                "SELECT id, batch_id, provider, status, latency_ms, cost_usd,
                        fallback_from, fallback_latency_ms
                 FROM experiments ORDER BY seq",
            )
            .unwrap()
            .query_map([], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    batch: r.get(1)?,
                    provider: r.get(2)?,
                    status: r.get(3)?,
                    latency: r.get(4)?,
                    cost: r.get(5)?,
                    fallback_from: r.get(6)?,
                    waited: r.get(7)?,
                })
            })
            .unwrap()
            .collect::<crate::error::Result<_>>()
            .unwrap();
        let ratings: Vec<(i64, String, u8, Option<String>)> = conn
            .prepare("SELECT id, experiment_id, stars, rated_by FROM ratings ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<crate::error::Result<_>>()
            .unwrap();
        let latest = |e: &str| ratings.iter().rev().find(|r| r.1 == e).map(|r| r.2);
        let mut s = Summary::default();
        let mut by_provider: BTreeMap<String, (ProviderSummary, u64)> = BTreeMap::new();
        let mut batches: BTreeMap<&str, Vec<(String, u8)>> = BTreeMap::new();
        let blank = |name: &str| {
            (
                ProviderSummary {
                    name: name.to_string(),
                    ..ProviderSummary::default()
                },
                0,
            )
        };
        for e in &experiments {
            // The failed attempt before a fallback is the failed provider's:
            // one failed render and the time waited on it.
            if let Some(from) = &e.fallback_from {
                let (p, _) = by_provider
                    .entry(from.clone())
                    .or_insert_with(|| blank(from));
                p.failed += 1;
                p.fell_back += 1;
                p.total_latency_ms += e.waited.unwrap_or(0).max(0) as u64;
            }
            let (p, sum) = by_provider
                .entry(e.provider.clone())
                .or_insert_with(|| blank(&e.provider));
            p.total_latency_ms += e.latency.unwrap_or(0).max(0) as u64;
            p.total_cost_usd += e.cost.unwrap_or(0.0);
            p.renders += u64::from(e.status == "done");
            p.failed += u64::from(e.status == "failed");
            s.failed += u64::from(e.status == "failed");
            p.renders_without_cost += u64::from(e.status == "done" && e.cost.is_none());
            match latest(&e.id) {
                Some(stars) => {
                    p.count += 1;
                    p.successes += u64::from(stars >= 4);
                    *sum += u64::from(stars);
                    s.stars_in_order.push(stars);
                    batches
                        .entry(&e.batch)
                        .or_default()
                        .push((e.provider.clone(), stars));
                }
                None => s.unrated += u64::from(matches!(e.status.as_str(), "done" | "proposed")),
            }
        }
        let wins = win_records(batches.values().map(Vec::as_slice));
        s.providers = by_provider
            .into_values()
            .map(|(mut p, sum)| {
                p.avg_rating = (p.count > 0).then(|| sum as f64 / p.count as f64);
                p.wins = wins.get(&p.name).copied().unwrap_or_default();
                p
            })
            .collect();
        s.total_samples = s.stars_in_order.len() as u64;
        s.best_rating = s.stars_in_order.iter().copied().max();
        let total: u64 = s.stars_in_order.iter().map(|&x| u64::from(x)).sum();
        s.avg_rating = (s.total_samples > 0).then(|| total as f64 / s.total_samples as f64);
        let mut per_item: BTreeMap<&str, BTreeMap<&str, u8>> = BTreeMap::new();
        for (_, e, stars, by) in &ratings {
            if let Some(by) = by {
                let t = s.raters.entry(by.clone()).or_default();
                t.0 += 1;
                t.1 += u64::from(*stars);
                per_item.entry(e).or_default().insert(by, *stars);
            }
        }
        let items: Vec<Vec<u8>> = per_item
            .values()
            .map(|m| m.values().copied().collect())
            .collect();
        s.agreement = agreement_tallies(&items);
        for m in per_item.values().filter(|m| m.len() >= 2) {
            let t: f64 = m.values().map(|&x| f64::from(x)).sum();
            for (who, &mine) in m {
                let e = s.rater_offsets.entry(who.to_string()).or_default();
                e.0 += 1;
                e.1 += f64::from(mine) - (t - f64::from(mine)) / (m.len() - 1) as f64;
            }
        }
        s
    }

    /// Writes a random history: batches of one to three variants on three
    /// providers, ratings by no one or three named raters (re-ratings
    /// included), status and cost changes, and the hand edits latina never
    /// makes (deleting and editing ratings, moving or clearing a fallback,
    /// deleting unrated experiments). A third of the variants fell back
    /// from a failed provider; the wait is written to its column when
    /// `schema` has it (10 and later), and always at the end of the error
    /// text, as `enhance` writes it, except for some rows that predate that
    /// suffix.
    fn random_history(conn: &rusqlite::Connection, seed: u64, steps: usize, schema: i64) {
        use rand::rngs::StdRng;
        use rand::{RngExt, SeedableRng};
        let mut rng = StdRng::seed_from_u64(seed);
        // The fourth only ever fails before a fallback: a row of its own.
        let providers = ["tone", "detail", "leonardo", "replicate"];
        let raters = [None, Some("ana"), Some("luis"), Some("marta")];
        let statuses = ["proposed", "running", "done", "failed"];
        let mut ids: Vec<String> = Vec::new();
        for step in 0..steps {
            match rng.random_range(0..12) {
                0 | 1 => {
                    let batch = format!("b{seed}-{step}");
                    conn.execute("INSERT INTO batches (id) VALUES (?1)", [&batch])
                        .unwrap();
                    for option in ["A", "B", "C"].iter().take(rng.random_range(1..4)) {
                        let id = format!("e{seed}-{step}{option}");
                        let cost = (rng.random_range(0..3) > 0)
                            .then(|| f64::from(rng.random_range(1..500)) / 1e4);
                        let fell_back = rng.random_range(0..3) == 0;
                        let from = fell_back.then(|| providers[rng.random_range(0..4)]);
                        let waited = (fell_back && rng.random_range(0..5) > 0)
                            .then(|| rng.random_range(0..9000i64));
                        let error = from.map(|f| match waited {
                            Some(ms) => format!("{f}: HTTP 500 (failed after {ms} ms)"),
                            None => format!("{f}: HTTP 500"),
                        });
                        conn.execute(
                            "INSERT INTO experiments (id, batch_id, option, provider,
                                 init_strength, guidance_scale, controlnet_weight,
                                 prompt_version, method, status, latency_ms, cost_usd,
                                 fallback_from, error)
                             VALUES (?1, ?2, ?3, ?4, 0.3, 8, 0.8, '1.0.0', 'random', ?5, ?6, ?7,
                                     ?8, ?9)",
                            rusqlite::params![
                                id,
                                batch,
                                option,
                                providers[rng.random_range(0..3)],
                                statuses[rng.random_range(0..4)],
                                (rng.random_range(0..4) > 0).then(|| rng.random_range(0..5000i64)),
                                cost,
                                from,
                                error
                            ],
                        )
                        .unwrap();
                        if schema >= 10 {
                            conn.execute(
                                "UPDATE experiments SET fallback_latency_ms = ?2 WHERE id = ?1",
                                rusqlite::params![id, waited],
                            )
                            .unwrap();
                        }
                        ids.push(id);
                    }
                }
                2..=6 if !ids.is_empty() => {
                    conn.execute(
                        "INSERT INTO ratings (experiment_id, stars, rated_by) VALUES (?1, ?2, ?3)",
                        rusqlite::params![
                            ids[rng.random_range(0..ids.len())],
                            rng.random_range(1..=5),
                            raters[rng.random_range(0..4)]
                        ],
                    )
                    .unwrap();
                }
                7 if !ids.is_empty() => {
                    conn.execute(
                        "UPDATE experiments SET status = ?2, cost_usd = ?3 WHERE id = ?1",
                        rusqlite::params![
                            ids[rng.random_range(0..ids.len())],
                            statuses[rng.random_range(0..4)],
                            f64::from(rng.random_range(1..500)) / 1e4
                        ],
                    )
                    .unwrap();
                }
                8 => {
                    conn.execute(
                        "DELETE FROM ratings WHERE id =
                           (SELECT id FROM ratings ORDER BY random() LIMIT 1)",
                        [],
                    )
                    .unwrap();
                }
                9 => {
                    conn.execute(
                        "UPDATE ratings SET stars = ?1, rated_by = ?2 WHERE id =
                           (SELECT id FROM ratings ORDER BY random() LIMIT 1)",
                        rusqlite::params![rng.random_range(1..=5), raters[rng.random_range(0..4)]],
                    )
                    .unwrap();
                }
                10 if schema >= 10 && !ids.is_empty() => {
                    let fell_back = rng.random_range(0..3) > 0;
                    conn.execute(
                        "UPDATE experiments SET fallback_from = ?2, fallback_latency_ms = ?3
                         WHERE id = ?1",
                        rusqlite::params![
                            ids[rng.random_range(0..ids.len())],
                            fell_back.then(|| providers[rng.random_range(0..4)]),
                            (fell_back && rng.random_range(0..5) > 0)
                                .then(|| rng.random_range(0..9000i64))
                        ],
                    )
                    .unwrap();
                }
                11 if !ids.is_empty() => {
                    let id = ids[rng.random_range(0..ids.len())].clone();
                    let deleted = conn
                        .execute(
                            "DELETE FROM experiments WHERE id = ?1
                               AND NOT EXISTS (SELECT 1 FROM ratings WHERE experiment_id = ?1)",
                            [&id],
                        )
                        .unwrap();
                    if deleted > 0 {
                        ids.retain(|i| *i != id);
                    }
                }
                _ => {}
            }
        }
    }

    /// The summary equals the recount (float sums to rounding).
    fn assert_summary_is_the_recount(store: &mut Store, seed: u64) {
        let expected = recount(store);
        let mut got = store.summary().unwrap();
        assert!(got.shared_experiments() > 0, "seed {seed}: no shared items");
        for (g, e) in got.providers.iter_mut().zip(&expected.providers) {
            assert!(
                (g.total_cost_usd - e.total_cost_usd).abs() < 1e-9,
                "seed {seed}"
            );
            g.total_cost_usd = e.total_cost_usd;
            assert_eq!(g.avg_rating.is_some(), e.avg_rating.is_some());
            if let (Some(a), Some(b)) = (g.avg_rating, e.avg_rating) {
                assert!((a - b).abs() < 1e-12);
            }
            g.avg_rating = e.avg_rating;
        }
        for (name, (n, sum)) in &expected.rater_offsets {
            let (gn, gsum) = got.rater_offsets[name];
            assert_eq!(gn, *n, "seed {seed} {name}");
            assert!(
                (gsum - sum).abs() < 1e-9,
                "seed {seed} {name}: {gsum} vs {sum}"
            );
        }
        got.rater_offsets = expected.rater_offsets.clone();
        got.avg_rating = expected.avg_rating;
        assert_eq!(got, expected, "seed {seed}");
    }

    /// Schema 10 took each fallback's wait from the end of its error text,
    /// and left it unknown where the text has none.
    fn assert_waits_backfilled_from_the_error_text(store: &Store, seed: u64) {
        let rows: Vec<(String, Option<i64>)> = store
            .conn
            .prepare(
                "SELECT error, fallback_latency_ms FROM experiments
                 WHERE fallback_from IS NOT NULL",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<crate::error::Result<_>>()
            .unwrap();
        assert!(rows.iter().any(|r| r.1.is_some()), "seed {seed}");
        assert!(rows.iter().any(|r| r.1.is_none()), "seed {seed}");
        for (error, waited) in rows {
            let from_text = error
                .strip_suffix(" ms)")
                .and_then(|t| t.rsplit_once("(failed after "))
                .and_then(|(_, n)| n.parse::<i64>().ok());
            assert_eq!(waited, from_text, "seed {seed}: {error}");
        }
    }

    const SEED_PROMPT: &str =
        "INSERT INTO prompt_versions (version, prompt, negative_prompt, status)
                               VALUES ('1.0.0', 'p', '', 'champion');";

    /// Random histories written through the triggers: the tallies always
    /// equal a recount.
    #[test]
    fn tallies_kept_by_triggers_equal_a_recount_after_any_history() {
        for seed in 0..8 {
            let mut store = Store::open_in_memory().unwrap();
            store.conn.execute_batch(SEED_PROMPT).unwrap();
            random_history(store.conn.sqlite().unwrap(), seed, 300, SCHEMA_VERSION);
            assert_summary_is_the_recount(&mut store, seed);
        }
    }

    /// A database written before schema 8 gets its tallies from the
    /// migration's backfill, and the triggers carry on from there.
    #[test]
    fn the_migration_backfills_tallies_that_equal_a_recount() {
        use super::super::migrations::MIGRATIONS;
        for seed in 0..4 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("latina.db");
            {
                let conn = rusqlite::Connection::open(&path).unwrap();
                for sql in &MIGRATIONS[..7] {
                    conn.execute_batch(sql).unwrap();
                }
                conn.pragma_update(None, "user_version", 7).unwrap();
                conn.execute_batch(SEED_PROMPT).unwrap();
                random_history(&conn, seed, 300, 7);
            }
            let mut store = Store::open(&path, super::super::OpenMode::MustExist).unwrap();
            assert_waits_backfilled_from_the_error_text(&store, seed);
            assert_summary_is_the_recount(&mut store, seed);
            random_history(
                store.conn.sqlite().unwrap(),
                seed + 100,
                100,
                SCHEMA_VERSION,
            );
            assert_summary_is_the_recount(&mut store, seed);
        }
    }
}
