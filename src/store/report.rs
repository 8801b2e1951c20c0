//! Reads for `latina report`: every latest rating in rating order (streamed,
//! so a large history costs no allocation per row here), star counts per
//! provider, prompt versions and decisions, and the best and worst renders.
//! Charts and numbers are made from these in `ops::report`.

use jiff::Timestamp;

use super::Store;
use super::columns::stamp;
use crate::domain::Params;
use crate::error::Result;
use crate::store::db::{Row, Sql, params};

/// One rated experiment as the report streams it, borrowed from the row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatedRow<'a> {
    /// The latest rating, 1–5.
    pub stars: u8,
    /// The provider arm that rendered it.
    pub provider: &'a str,
    /// The prompt version it used.
    pub prompt_version: &'a str,
    /// Its parameters.
    pub params: Params,
    /// When the latest rating was given.
    pub rated_at: Timestamp,
}

/// How often each star count was given to one provider (latest ratings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderStars {
    /// The arm's name.
    pub provider: String,
    /// `counts[s - 1]` ratings of `s` stars.
    pub counts: [u64; 5],
}

/// A prompt version with its status, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// Semantic version.
    pub version: String,
    /// `champion`, `challenger`, `retired` or `rejected`.
    pub status: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A champion/challenger decision, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    /// The champion at the time.
    pub champion: String,
    /// The version decided about.
    pub challenger: String,
    /// `promote`, `reject`, `expire`, `activate` or `rollback`.
    pub decision: String,
    /// When.
    pub created_at: Timestamp,
}

/// A rated render, for the thumbnails.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderRow {
    /// The experiment's id.
    pub experiment_id: String,
    /// The latest rating, 1–5.
    pub stars: u8,
    /// Its comment.
    pub comment: Option<String>,
    /// Who rated.
    pub rated_by: Option<String>,
    /// The provider arm.
    pub provider: String,
    /// Its parameters.
    pub params: Params,
    /// The prompt version.
    pub prompt_version: String,
    /// The render file as recorded.
    pub output_path: String,
}

/// Which end of the rating scale [`Store::extreme_renders`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    /// Highest rated first (latest first among equals).
    Best,
    /// Lowest rated first (latest first among equals).
    Worst,
}

/// Column `i` as borrowed text.
fn text<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str> {
    match row.column(i)? {
        crate::store::db::ColumnRef::Text(s) => Ok(s),
        other => Err(other.mismatch("text")),
    }
}

impl Store {
    /// Calls `f` for every rated experiment with its latest rating, in
    /// rating order (the latest rating's id), inside one read transaction.
    pub fn for_each_rated(&mut self, mut f: impl FnMut(RatedRow<'_>)) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "SELECT lr.stars, e.provider, e.prompt_version, e.init_strength,
                        e.guidance_scale, e.controlnet_weight, lr.rated_at
                 FROM latest_ratings lr JOIN experiments e ON e.id = lr.experiment_id
                 ORDER BY lr.id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let r = &r;
                let stars: i64 = r.get(0)?;
                f(RatedRow {
                    // The schema's CHECK keeps stars in 1..=5.
                    stars: stars.clamp(1, 5) as u8,
                    provider: text(r, 1)?,
                    prompt_version: text(r, 2)?,
                    params: Params {
                        init_strength: r.get(3)?,
                        guidance_scale: r.get(4)?,
                        controlnet_weight: r.get(5)?,
                    },
                    rated_at: stamp(r, 6)?,
                });
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Star counts of the latest ratings per provider, by provider name.
    pub fn star_counts_by_provider(&self) -> Result<Vec<ProviderStars>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.provider, lr.stars, count(*)
             FROM latest_ratings lr JOIN experiments e ON e.id = lr.experiment_id
             GROUP BY e.provider, lr.stars ORDER BY e.provider",
        )?;
        let mut rows = stmt.query([])?;
        let mut out: Vec<ProviderStars> = Vec::new();
        while let Some(r) = rows.next()? {
            let r = &r;
            let provider: String = r.get(0)?;
            let stars: i64 = r.get(1)?;
            let count: i64 = r.get(2)?;
            if out.last().is_none_or(|p| p.provider != provider) {
                out.push(ProviderStars {
                    provider,
                    counts: [0; 5],
                });
            }
            let last = out.last_mut().expect("pushed above");
            last.counts[(stars.clamp(1, 5) - 1) as usize] += count.max(0) as u64;
        }
        Ok(out)
    }

    /// Every prompt version, oldest first.
    pub fn version_rows(&self) -> Result<Vec<VersionRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT version, status, created_at FROM prompt_versions ORDER BY created_at, rowid",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(VersionRow {
                    version: r.get(0)?,
                    status: r.get(1)?,
                    created_at: stamp(r, 2)?,
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every champion/challenger decision, oldest first.
    pub fn decision_rows(&self) -> Result<Vec<DecisionRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT champion, challenger, decision, created_at FROM prompt_decisions ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DecisionRow {
                    champion: r.get(0)?,
                    challenger: r.get(1)?,
                    decision: r.get(2)?,
                    created_at: stamp(r, 3)?,
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Up to `limit` rated renders (experiments with an output file) from
    /// one end of the scale, skipping the experiments in `exclude`.
    pub fn extreme_renders(
        &self,
        which: Extreme,
        limit: usize,
        exclude: &[String],
    ) -> Result<Vec<RenderRow>> {
        let order = match which {
            Extreme::Best => "lr.stars DESC, lr.id DESC",
            Extreme::Worst => "lr.stars ASC, lr.id DESC",
        };
        // The exclusions are the other end's few ids, passed as one JSON array.
        let exclude = serde_json::to_string(exclude).expect("strings serialise");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT e.id, lr.stars, lr.comment, lr.rated_by, e.provider, e.init_strength,
                    e.guidance_scale, e.controlnet_weight, e.prompt_version, e.output_path
             FROM latest_ratings lr JOIN experiments e ON e.id = lr.experiment_id
             WHERE e.output_path IS NOT NULL
               AND e.id NOT IN (SELECT value FROM json_each(?2))
             ORDER BY {order} LIMIT ?1"
        ))?;
        let rows = stmt
            .query_map(params![limit as i64, exclude], |r| {
                Ok(RenderRow {
                    experiment_id: r.get(0)?,
                    stars: r.get::<i64>(1)?.clamp(1, 5) as u8,
                    comment: r.get(2)?,
                    rated_by: r.get(3)?,
                    provider: r.get(4)?,
                    params: Params {
                        init_strength: r.get(5)?,
                        guidance_scale: r.get(6)?,
                        controlnet_weight: r.get(7)?,
                    },
                    prompt_version: r.get(8)?,
                    output_path: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        BatchId, ExperimentId, ExperimentStatus, Explanation, ImageMeta, Method, Stars, Trial,
    };
    use crate::prompts::base_prompt;
    use crate::store::{ExperimentUpdate, NewBatch, NewExperiment};

    /// Experiments rendered by `providers[i]`, with a render file named `r{i}.jpg`.
    fn store_with(providers: &[&str]) -> (Store, Vec<ExperimentId>) {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&base_prompt()).unwrap();
        let ids: Vec<ExperimentId> = providers.iter().map(|_| ExperimentId::random()).collect();
        let batch = NewBatch {
            id: BatchId::random(),
            image: None,
            meta: ImageMeta::default(),
            experiments: providers
                .iter()
                .zip(&ids)
                .enumerate()
                .map(|(i, (p, id))| NewExperiment {
                    id: id.clone(),
                    option: crate::domain::option_label(i),
                    trial: Trial {
                        provider: p.to_string(),
                        params: Params {
                            init_strength: 0.1 + 0.01 * i as f64,
                            guidance_scale: 7.0,
                            controlnet_weight: 0.8,
                        },
                    },
                    prompt_version: "1.0.0".into(),
                    method: Method::InitialDesign,
                    explanation: Explanation::design(),
                    status: ExperimentStatus::Running,
                })
                .collect(),
        };
        store.create_batch(&batch).unwrap();
        for (i, id) in ids.iter().enumerate() {
            store
                .finish_experiment(
                    id,
                    &ExperimentUpdate::Done {
                        output_path: format!("r{i}.jpg"),
                        latency_ms: 1,
                        fallback: None,
                        cost_usd: None,
                        knobs: None,
                    },
                )
                .unwrap();
        }
        (store, ids)
    }

    fn rate(store: &mut Store, id: &ExperimentId, stars: i64) {
        store
            .add_rating(id, Stars::new(stars).unwrap(), None, None)
            .unwrap();
    }

    #[test]
    fn rated_rows_follow_the_latest_rating_and_count_each_experiment_once() {
        let (mut store, ids) = store_with(&["tone", "detail", "tone"]);
        rate(&mut store, &ids[0], 2);
        rate(&mut store, &ids[1], 4);
        rate(&mut store, &ids[0], 5); // re-rated: now last, with 5 stars
        let mut seen = Vec::new();
        store
            .for_each_rated(|r| {
                seen.push((r.provider.to_string(), r.stars, r.params.init_strength))
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![
                ("detail".to_string(), 4, 0.11),
                ("tone".to_string(), 5, 0.1)
            ]
        );
        assert_eq!(
            store.star_counts_by_provider().unwrap(),
            vec![
                ProviderStars {
                    provider: "detail".into(),
                    counts: [0, 0, 0, 1, 0]
                },
                ProviderStars {
                    provider: "tone".into(),
                    counts: [0, 0, 0, 0, 1]
                },
            ]
        );
    }

    #[test]
    fn best_and_worst_renders_come_from_each_end_without_repeats() {
        let (mut store, ids) = store_with(&["tone", "tone", "tone", "detail"]);
        for (id, stars) in ids.iter().zip([3, 5, 1, 3]) {
            rate(&mut store, id, stars);
        }
        let best = store.extreme_renders(Extreme::Best, 2, &[]).unwrap();
        let best_files: Vec<&str> = best.iter().map(|r| r.output_path.as_str()).collect();
        // 5 first, then the later of the two 3s.
        assert_eq!(best_files, vec!["r1.jpg", "r3.jpg"]);
        let exclude: Vec<String> = best.iter().map(|r| r.experiment_id.clone()).collect();
        let worst = store.extreme_renders(Extreme::Worst, 4, &exclude).unwrap();
        let worst_files: Vec<&str> = worst.iter().map(|r| r.output_path.as_str()).collect();
        assert_eq!(worst_files, vec!["r2.jpg", "r0.jpg"]);
    }
}
