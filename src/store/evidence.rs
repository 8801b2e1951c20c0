//! Reading the learning model's [`Evidence`]: each designer's latest stars
//! per render, each designer's latest preference per pair of renders, and
//! the renders they judge with their room's tags.
//!
//! One query per table (ratings, preferences, then the judged experiments
//! with their batches), never one per render. Photo features are left
//! `None` here; they come from the photo, not from these tables.

use std::collections::HashMap;

use super::Store;
use crate::domain::{
    Evidence, ExperimentId, Params, PreferenceJudgement, RenderPoint, RoomContext, StarJudgement,
    Stars, Trial,
};
use crate::error::Result;
use crate::store::db::Sql;

/// A designer's latest stars for one experiment, as read.
struct LatestStars {
    experiment: String,
    designer: String,
    stars: i64,
    rated_at: String,
}

/// A designer's latest choice for one pair, as read.
struct LatestPreference {
    better: String,
    worse: String,
    tie: bool,
    designer: String,
    rated_at: String,
}

/// Which judgements to read.
#[derive(Clone, Copy)]
enum Window {
    All,
    Latest(usize),
}

impl Window {
    /// SQLite's LIMIT: a negative limit means none.
    fn limit(self) -> i64 {
        match self {
            Window::All => i64::MAX, // no limit (PostgreSQL refuses LIMIT -1)
            Window::Latest(n) => i64::try_from(n).unwrap_or(i64::MAX),
        }
    }
}

/// Every designer's latest stars per experiment, newest first, with one
/// star for each render the structure guard held back from the designer the
/// batch was made for (unless they rated it). The latest of each designer's
/// ratings of a render is the first of its window, newest id first: the
/// same text runs on SQLite and PostgreSQL.
const LATEST_STARS_ALL: &str = "
    SELECT experiment_id, designer, stars, rated_at FROM (
        SELECT experiment_id, designer, stars, rated_at, latest FROM (
            SELECT experiment_id, coalesce(rated_by, '') AS designer, stars, rated_at,
                   id AS latest,
                   row_number() OVER (PARTITION BY experiment_id, coalesce(rated_by, '')
                                      ORDER BY id DESC) AS nth
            FROM ratings) AS numbered
        WHERE nth = 1
        UNION ALL
        SELECT e.id, coalesce(b.made_for, ''), 1, e.finished_at, 0
        FROM experiments e JOIN batches b ON b.id = e.batch_id
        WHERE e.guarded = 1 AND e.finished_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ratings r
                          WHERE r.experiment_id = e.id
                            AND coalesce(r.rated_by, '') = coalesce(b.made_for, ''))) AS judged
    ORDER BY rated_at DESC, latest DESC LIMIT ?1";

/// The same rows as [`LATEST_STARS_ALL`], only the newest `?1`: walks the
/// ratings from the newest (`ratings_by_time`) keeping a rating unless the
/// same designer rated the render again later, and stops once it has
/// enough, instead of grouping every rating ever given.
const LATEST_STARS_NEWEST: &str = "
    SELECT experiment_id, designer, stars, rated_at FROM (
        SELECT * FROM (
            SELECT r.experiment_id, coalesce(r.rated_by, '') AS designer, r.stars, r.rated_at,
                   r.id AS latest
            FROM ratings r INDEXED BY ratings_by_time
            WHERE NOT EXISTS (SELECT 1 FROM ratings later
                              WHERE later.experiment_id = r.experiment_id
                                AND later.id > r.id
                                AND coalesce(later.rated_by, '') = coalesce(r.rated_by, ''))
            ORDER BY r.rated_at DESC, r.id DESC LIMIT ?1) AS newest
        UNION ALL
        SELECT * FROM (
            SELECT e.id, coalesce(b.made_for, ''), 1, e.finished_at, 0
            FROM experiments e INDEXED BY experiments_guarded_finished
            JOIN batches b ON b.id = e.batch_id
            WHERE e.guarded = 1 AND e.finished_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM ratings r
                              WHERE r.experiment_id = e.id
                                AND coalesce(r.rated_by, '') = coalesce(b.made_for, ''))
            ORDER BY e.finished_at DESC LIMIT ?1) AS guarded) AS judged
    ORDER BY rated_at DESC, latest DESC LIMIT ?1";

/// Every designer's latest choice per unordered pair, newest first.
const LATEST_PREFERENCES_ALL: &str = "
    SELECT better_id, worse_id, tie, designer, rated_at, latest FROM (
        SELECT better_id, worse_id, tie, coalesce(rated_by, '') AS designer, rated_at,
               id AS latest,
               row_number() OVER (
                   PARTITION BY CASE WHEN better_id < worse_id THEN better_id ELSE worse_id END,
                                CASE WHEN better_id < worse_id THEN worse_id ELSE better_id END,
                                coalesce(rated_by, '')
                   ORDER BY id DESC) AS nth
        FROM preferences) AS numbered
    WHERE nth = 1
    ORDER BY latest DESC LIMIT ?1";

/// The same rows as [`LATEST_PREFERENCES_ALL`], only the newest `?1`,
/// walking back from the newest preference.
const LATEST_PREFERENCES_NEWEST: &str = "
    SELECT p.better_id, p.worse_id, p.tie, coalesce(p.rated_by, '') AS designer, p.rated_at,
           p.id AS latest
    FROM preferences p
    WHERE NOT EXISTS (SELECT 1 FROM preferences later
                      WHERE later.id > p.id
                        AND ((later.better_id = p.better_id AND later.worse_id = p.worse_id)
                          OR (later.better_id = p.worse_id AND later.worse_id = p.better_id))
                        AND coalesce(later.rated_by, '') = coalesce(p.rated_by, ''))
    ORDER BY p.id DESC LIMIT ?1";

impl Store {
    /// Everything the learning model is told, oldest first: every designer's
    /// latest stars for every render they rated (ratings without a name are
    /// one more designer, [`crate::domain::UNNAMED_DESIGNER`]), one star for
    /// each render the structure guard held back from the designer it was
    /// made for, and every designer's latest preference per unordered pair
    /// of renders.
    pub fn evidence(&self) -> Result<Evidence> {
        self.read_evidence(Window::All)
    }

    /// The latest `limit` judgements (stars and preferences together, by
    /// when they were given), oldest first, and how many judgements exist in
    /// all: the model's window, as [`Store::rated_trials_tail`] is for the
    /// one-designer model.
    pub fn evidence_tail(&self, limit: usize) -> Result<(Evidence, u64)> {
        // The tallies count each designer's (render) and (pair) once; the
        // renders held back by the guard are few and indexed.
        let total: i64 = self.conn.query_row(
            "SELECT t.star_groups + t.preference_groups
                  + (SELECT count(*) FROM experiments e JOIN batches b ON b.id = e.batch_id
                     WHERE e.guarded = 1 AND e.finished_at IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM ratings r
                                       WHERE r.experiment_id = e.id
                                         AND coalesce(r.rated_by, '') = coalesce(b.made_for, '')))
             FROM judgement_tallies t WHERE t.id = 1",
            [],
            |r| r.get(0),
        )?;
        Ok((self.read_evidence(Window::Latest(limit))?, total as u64))
    }

    fn read_evidence(&self, window: Window) -> Result<Evidence> {
        let mut stars = self.latest_stars(window)?;
        let mut preferences = self.latest_preferences(window)?;
        if let Window::Latest(limit) = window {
            // Both lists are newest first; keep the newest `limit` of the two.
            let (mut s, mut p, mut kept) = (0, 0, 0);
            while kept < limit && (s < stars.len() || p < preferences.len()) {
                let take_star = match (stars.get(s), preferences.get(p)) {
                    (Some(a), Some(b)) => a.rated_at >= b.rated_at,
                    (Some(_), None) => true,
                    _ => false,
                };
                if take_star {
                    s += 1;
                } else {
                    p += 1;
                }
                kept += 1;
            }
            stars.truncate(s);
            preferences.truncate(p);
        }
        stars.reverse();
        preferences.reverse();

        let judged: Vec<&str> = stars
            .iter()
            .map(|s| s.experiment.as_str())
            .chain(preferences.iter().flat_map(|p| [&*p.better, &*p.worse]))
            .collect();
        let mut evidence = Evidence {
            renders: self.render_points(&judged)?,
            ..Evidence::default()
        };
        let index: HashMap<String, usize> = evidence
            .renders
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str().to_string(), i))
            .collect();
        for s in stars {
            // Foreign keys make a rating of a missing experiment impossible.
            let Some(&render) = index.get(&s.experiment) else {
                continue;
            };
            let designer = evidence.designer_index(&s.designer);
            evidence.stars.push(StarJudgement {
                render,
                designer,
                stars: Stars::new(s.stars)?,
            });
        }
        for p in preferences {
            let (Some(&better), Some(&worse)) = (index.get(&p.better), index.get(&p.worse)) else {
                continue;
            };
            let designer = evidence.designer_index(&p.designer);
            evidence.preferences.push(PreferenceJudgement {
                better,
                worse,
                designer,
                tie: p.tie,
            });
        }
        Ok(evidence)
    }

    /// Each designer's latest stars per experiment, newest first.
    fn latest_stars(&self, window: Window) -> Result<Vec<LatestStars>> {
        let sql = match window {
            Window::All => LATEST_STARS_ALL,
            Window::Latest(_) => LATEST_STARS_NEWEST,
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map([window.limit()], |r| {
                Ok(LatestStars {
                    experiment: r.get(0)?,
                    designer: r.get(1)?,
                    stars: r.get(2)?,
                    rated_at: r.get(3)?,
                })
            })?
            .collect::<Result<_>>()?;
        Ok(rows)
    }

    /// Each designer's latest choice per unordered pair, newest first.
    fn latest_preferences(&self, window: Window) -> Result<Vec<LatestPreference>> {
        let sql = match window {
            Window::All => LATEST_PREFERENCES_ALL,
            Window::Latest(_) => LATEST_PREFERENCES_NEWEST,
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map([window.limit()], |r| {
                Ok(LatestPreference {
                    better: r.get(0)?,
                    worse: r.get(1)?,
                    tie: r.get(2)?,
                    designer: r.get(3)?,
                    rated_at: r.get(4)?,
                })
            })?
            .collect::<Result<_>>()?;
        Ok(rows)
    }

    /// The experiments named, in the order they were proposed, with their
    /// batch's room tags; one query whatever the number.
    fn render_points(&self, ids: &[&str]) -> Result<Vec<RenderPoint>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::Value::from(ids).to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.provider, e.init_strength, e.guidance_scale, e.controlnet_weight,
                    b.room, b.style
             FROM experiments e JOIN batches b ON b.id = e.batch_id
             WHERE e.id IN (SELECT value FROM json_each(?1))
             ORDER BY e.seq",
        )?;
        let rows = stmt
            .query_map([list], |r| {
                Ok(RenderPoint {
                    id: r.get::<ExperimentId>(0)?,
                    trial: Trial {
                        provider: r.get(1)?,
                        params: Params {
                            init_strength: r.get(2)?,
                            guidance_scale: r.get(3)?,
                            controlnet_weight: r.get(4)?,
                        },
                    },
                    context: RoomContext {
                        features: None,
                        room: r.get(5)?,
                        style: r.get(6)?,
                    },
                })
            })?
            .collect::<Result<_>>()?;
        Ok(rows)
    }
}

// On SQLite only (`open_in_memory`, not `open_for_test`): its tests read SQLite query plans and hand-edit through rusqlite.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ExperimentStatus, UNNAMED_DESIGNER};
    use crate::store::preferences::NewPreference;
    use crate::store::preferences::tests::batch;

    fn store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        store
    }

    fn stars(n: i64) -> Stars {
        Stars::new(n).unwrap()
    }

    /// (designer name, stars) per star judgement, in order.
    fn judged(e: &Evidence) -> Vec<(String, u8)> {
        e.stars
            .iter()
            .map(|s| (e.designers[s.designer].clone(), s.stars.get()))
            .collect()
    }

    #[test]
    fn two_designers_rating_one_render_give_two_judgements() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed]);
        store
            .add_rating(&ids[0], stars(2), None, Some("ana"))
            .unwrap();
        store
            .add_rating(&ids[0], stars(4), None, Some("luis"))
            .unwrap();
        let e = store.evidence().unwrap();
        assert_eq!(e.renders.len(), 1);
        assert_eq!(e.renders[0].id, ids[0]);
        assert_eq!(
            judged(&e),
            vec![("ana".to_string(), 2), ("luis".to_string(), 4)]
        );
    }

    #[test]
    fn a_re_rating_replaces_only_the_designers_own() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed]);
        store
            .add_rating(&ids[0], stars(2), None, Some("ana"))
            .unwrap();
        store
            .add_rating(&ids[0], stars(4), None, Some("luis"))
            .unwrap();
        store
            .add_rating(&ids[0], stars(5), None, Some("ana"))
            .unwrap();
        let e = store.evidence().unwrap();
        assert_eq!(
            judged(&e),
            vec![("luis".to_string(), 4), ("ana".to_string(), 5)]
        );
    }

    #[test]
    fn unnamed_ratings_count_as_one_designer() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed; 2]);
        store.add_rating(&ids[0], stars(1), None, None).unwrap();
        store.add_rating(&ids[0], stars(3), None, None).unwrap();
        store.add_rating(&ids[1], stars(4), None, None).unwrap();
        let e = store.evidence().unwrap();
        assert_eq!(e.designers, vec![UNNAMED_DESIGNER.to_string()]);
        assert_eq!(
            judged(&e),
            vec![(String::new(), 3), (String::new(), 4)],
            "the unnamed designer's re-rating replaced their first"
        );
    }

    #[test]
    fn each_designers_latest_preference_per_pair_counts() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed; 2]);
        let pref = |better, worse, tie, by| NewPreference {
            better,
            worse,
            tie,
            comment: None,
            rated_by: by,
        };
        store
            .add_preference(&pref(&ids[0], &ids[1], false, Some("ana")))
            .unwrap();
        store
            .add_preference(&pref(&ids[1], &ids[0], true, Some("luis")))
            .unwrap();
        // Ana changes her mind, naming the pair the other way round.
        store
            .add_preference(&pref(&ids[1], &ids[0], false, Some("ana")))
            .unwrap();
        let e = store.evidence().unwrap();
        assert_eq!(e.renders.len(), 2, "judged by preference only");
        assert!(e.stars.is_empty());
        let seen: Vec<(&str, &ExperimentId, bool)> = e
            .preferences
            .iter()
            .map(|p| {
                (
                    e.designers[p.designer].as_str(),
                    &e.renders[p.better].id,
                    p.tie,
                )
            })
            .collect();
        assert_eq!(seen, vec![("luis", &ids[1], true), ("ana", &ids[1], false)]);
    }

    #[test]
    fn the_tail_keeps_the_newest_judgements_and_counts_all() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed; 3]);
        store
            .add_rating(&ids[0], stars(1), None, Some("ana"))
            .unwrap();
        store
            .add_rating(&ids[1], stars(2), None, Some("ana"))
            .unwrap();
        store
            .add_preference(&NewPreference {
                better: &ids[2],
                worse: &ids[1],
                tie: false,
                comment: None,
                rated_by: Some("ana"),
            })
            .unwrap();
        // Three judgements in one millisecond would tie: spread them out.
        store
            .conn
            .execute_batch(
                "UPDATE ratings SET rated_at = '2026-01-01T00:00:0' || id || '.000Z';
                 UPDATE preferences SET rated_at = '2026-01-01T00:00:09.000Z';",
            )
            .unwrap();
        let (tail, total) = store.evidence_tail(2).unwrap();
        assert_eq!(total, 3);
        assert_eq!(tail.judgements(), 2);
        assert_eq!(judged(&tail), vec![("ana".to_string(), 2)]);
        assert_eq!(tail.preferences.len(), 1);
        assert_eq!(
            tail.renders.len(),
            2,
            "the first render is outside the window"
        );
        assert_eq!(
            store.evidence_tail(10).unwrap().0,
            store.evidence().unwrap()
        );
    }

    /// A random history: named and unnamed designers re-rating, rating
    /// times out of id order (as after an import), guarded renders some
    /// designers rated anyway, preferences given both ways round.
    fn random_history(seed: u64) -> Store {
        let mut store = store();
        fill_randomly(&mut store, seed);
        store
    }

    fn fill_randomly(store: &mut Store, seed: u64) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.extend(batch(store, &[ExperimentStatus::Proposed; 3]));
        }
        let designers = [None, Some("ana"), Some("luis"), Some("eva")];
        for step in 0..rng.random_range(20..60) {
            let by = designers[rng.random_range(0..designers.len())];
            let a = rng.random_range(0..ids.len());
            if rng.random_bool(0.3) {
                // Pairs within a batch: the writer refuses other pairs.
                let b = a / 3 * 3 + (a % 3 + rng.random_range(1..3)) % 3;
                store
                    .add_preference(&NewPreference {
                        better: &ids[a],
                        worse: &ids[b],
                        tie: rng.random_bool(0.2),
                        comment: None,
                        rated_by: by,
                    })
                    .unwrap();
            } else {
                store
                    .add_rating(&ids[a], stars(rng.random_range(1..=5)), None, by)
                    .unwrap();
            }
            // Times that repeat and run backwards, as imports leave them.
            let minute = rng.random_range(0..30);
            store
                .conn
                .execute_batch(&format!(
                    "UPDATE ratings SET rated_at = '2026-01-01T00:{minute:02}:00.000Z'
                     WHERE id = (SELECT max(id) FROM ratings) AND {step} % 2 = 0;
                     UPDATE preferences SET rated_at = '2026-01-01T00:{minute:02}:30.000Z'
                     WHERE id = (SELECT max(id) FROM preferences) AND {step} % 2 = 1;"
                ))
                .unwrap();
        }
        store
            .conn
            .execute_batch(
                "UPDATE experiments SET guarded = 1,
                        finished_at = '2026-01-01T00:' || printf('%02d', seq % 30) || ':15.000Z'
                 WHERE seq % 4 = 0;
                 UPDATE batches SET made_for = 'ana' WHERE rowid % 2 = 0;",
            )
            .unwrap();
    }

    /// What a full read gives, trimmed the way the tail is: the reference
    /// the index walk must match.
    fn full_then_trimmed(store: &Store, limit: usize) -> Evidence {
        let mut stars = store.latest_stars(Window::All).unwrap();
        let mut preferences = store.latest_preferences(Window::All).unwrap();
        let (mut s, mut p) = (0, 0);
        while s + p < limit && (s < stars.len() || p < preferences.len()) {
            match (stars.get(s), preferences.get(p)) {
                (Some(a), Some(b)) if a.rated_at >= b.rated_at => s += 1,
                (Some(_), None) => s += 1,
                _ => p += 1,
            }
        }
        stars.truncate(s);
        preferences.truncate(p);
        let names = |v: &Vec<LatestStars>| -> Vec<(String, String, i64)> {
            v.iter()
                .map(|x| (x.experiment.clone(), x.designer.clone(), x.stars))
                .collect()
        };
        let newest = store.latest_stars(Window::Latest(limit)).unwrap();
        assert_eq!(
            names(&newest)[..s],
            names(&stars)[..],
            "stars, limit {limit}"
        );
        let pairs = |v: &[LatestPreference]| -> Vec<(String, String, String)> {
            v.iter()
                .map(|x| (x.better.clone(), x.worse.clone(), x.designer.clone()))
                .collect()
        };
        let newest = store.latest_preferences(Window::Latest(limit)).unwrap();
        assert_eq!(
            pairs(&newest)[..p],
            pairs(&preferences)[..],
            "preferences, limit {limit}"
        );
        store.evidence_tail(limit).unwrap().0
    }

    #[test]
    fn the_index_walk_reads_what_grouping_every_judgement_reads() {
        for seed in 0..40 {
            let store = random_history(seed);
            let everything = store.evidence().unwrap();
            let all = everything.judgements();
            for limit in [1, 2, 5, 13, all, all + 7] {
                full_then_trimmed(&store, limit);
            }
            let (tail, total) = store.evidence_tail(all + 7).unwrap();
            assert_eq!(tail, everything, "seed {seed}");
            assert_eq!(total as usize, all, "seed {seed}: the tallied total");
        }
    }

    #[test]
    fn the_tally_is_recounted_after_a_hand_edit_and_backfilled_by_the_migration() {
        let store = random_history(7);
        let all = store.evidence().unwrap().judgements() as u64;
        store
            .conn
            .execute_batch(
                "DELETE FROM ratings WHERE id % 3 = 0;
                 DELETE FROM preferences WHERE id % 2 = 0;
                 UPDATE ratings SET rated_by = 'tom' WHERE id % 5 = 0;",
            )
            .unwrap();
        let after = store.evidence().unwrap().judgements() as u64;
        assert_ne!(after, all, "the edit changed the count");
        assert_eq!(store.evidence_tail(1).unwrap().1, after);

        // A database written before schema 16 gets the tally from a count.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latina.db");
        let counted = {
            let mut store = Store::open(&path, super::super::OpenMode::CreateIfMissing).unwrap();
            store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
            fill_randomly(&mut store, 8);
            let counted = store.evidence().unwrap().judgements() as u64;
            store
                .conn
                .execute_batch(
                    "DROP TRIGGER judgement_tallies_rating_insert;
                     DROP TRIGGER judgement_tallies_preference_insert;
                     DROP TRIGGER judgement_tallies_rating_delete;
                     DROP TRIGGER judgement_tallies_rating_update;
                     DROP TRIGGER judgement_tallies_preference_delete;
                     DROP TRIGGER judgement_tallies_preference_update;
                     DROP TABLE judgement_tallies;
                     DROP INDEX ratings_by_time;
                     DROP INDEX experiments_guarded_finished;
                     ALTER TABLE experiments DROP COLUMN applied_knobs;
                     PRAGMA user_version = 15;",
                )
                .unwrap();
            counted
        };
        let store = Store::open(&path, super::super::OpenMode::MustExist).unwrap();
        assert_eq!(store.evidence_tail(1).unwrap().1, counted);
    }

    #[test]
    fn rooms_and_styles_come_from_the_batch() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed]);
        store
            .conn
            .execute("UPDATE batches SET room = 'kitchen', style = 'nordic'", [])
            .unwrap();
        store.add_rating(&ids[0], stars(3), None, None).unwrap();
        let context = &store.evidence().unwrap().renders[0].context;
        assert_eq!(context.room.as_deref(), Some("kitchen"));
        assert_eq!(context.style.as_deref(), Some("nordic"));
        assert_eq!(context.features, None);
    }

    #[test]
    fn two_thousand_ratings_are_read_in_a_few_milliseconds() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Proposed; 400]);
        let tx = store.conn.transaction().unwrap();
        for (i, id) in ids.iter().enumerate() {
            for designer in ["ana", "luis", "eva", "tom", "mar"] {
                tx.execute(
                    "INSERT INTO ratings (experiment_id, stars, rated_by) VALUES (?1, ?2, ?3)",
                    crate::store::db::params![id, 1 + (i % 5) as i64, designer],
                )
                .unwrap();
            }
        }
        tx.commit().unwrap();
        store.evidence().unwrap();
        let start = std::time::Instant::now();
        let e = store.evidence().unwrap();
        let took = start.elapsed();
        eprintln!("evidence() with 2,000 ratings: {took:?}");
        assert_eq!(e.stars.len(), 2000);
        assert_eq!(e.designers.len(), 5);
        // Generous for a loaded debug build; measured in the report.
        assert!(took.as_millis() < 500, "{took:?}");
    }
}
