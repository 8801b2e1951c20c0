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
            Window::All => -1,
            Window::Latest(n) => i64::try_from(n).unwrap_or(i64::MAX),
        }
    }
}

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
        let total: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM
                       (SELECT 1 FROM ratings GROUP BY experiment_id, coalesce(rated_by, '')))
                  + (SELECT count(*) FROM experiments e JOIN batches b ON b.id = e.batch_id
                     WHERE e.guarded = 1 AND e.finished_at IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM ratings r
                                       WHERE r.experiment_id = e.id
                                         AND coalesce(r.rated_by, '') = coalesce(b.made_for, '')))
                  + (SELECT count(*) FROM
                       (SELECT 1 FROM preferences
                        GROUP BY min(better_id, worse_id), max(better_id, worse_id),
                                 coalesce(rated_by, '')))",
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

    /// Each designer's latest stars per experiment, newest first. SQLite
    /// takes the bare columns of a `max()` aggregate from the row holding
    /// the maximum (<https://sqlite.org/lang_select.html#bareagg>).
    fn latest_stars(&self, window: Window) -> Result<Vec<LatestStars>> {
        // A render the structure guard held back is the designer's one star
        // (the designer the batch was made for), unless they rated it.
        let mut stmt = self.conn.prepare_cached(
            "SELECT experiment_id, designer, stars, rated_at FROM (
                 SELECT experiment_id, coalesce(rated_by, '') AS designer, stars, rated_at,
                        max(id) AS latest
                 FROM ratings GROUP BY experiment_id, designer
                 UNION ALL
                 SELECT e.id, coalesce(b.made_for, ''), 1, e.finished_at, 0
                 FROM experiments e JOIN batches b ON b.id = e.batch_id
                 WHERE e.guarded = 1 AND e.finished_at IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM ratings r
                                   WHERE r.experiment_id = e.id
                                     AND coalesce(r.rated_by, '') = coalesce(b.made_for, '')))
             ORDER BY rated_at DESC, latest DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([window.limit()], |r| {
                Ok(LatestStars {
                    experiment: r.get(0)?,
                    designer: r.get(1)?,
                    stars: r.get(2)?,
                    rated_at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Each designer's latest choice per unordered pair, newest first.
    fn latest_preferences(&self, window: Window) -> Result<Vec<LatestPreference>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT better_id, worse_id, tie, coalesce(rated_by, '') AS designer, rated_at,
                    max(id) AS latest
             FROM preferences
             GROUP BY min(better_id, worse_id), max(better_id, worse_id), designer
             ORDER BY latest DESC LIMIT ?1",
        )?;
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
            .collect::<rusqlite::Result<_>>()?;
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
                    id: r.get::<_, ExperimentId>(0)?,
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
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

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
                    rusqlite::params![id, 1 + (i % 5) as i64, designer],
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
