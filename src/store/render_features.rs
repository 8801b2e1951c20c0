//! `render_features`: what each render looks like, measured once
//! ([`RenderFeatures`]), and the reads the reward model, the structure
//! guard and the backfill need.
//!
//! Measuring is imaging's job (called by ops); this file records and reads
//! the numbers. The column list is [`RenderFeatures::NAMES`], so the table,
//! the inserts and the reads cannot drift apart. A row is written once and
//! never updated.

use crate::store::db::Value;

use super::Store;
use crate::domain::{ExperimentId, Params, RenderFeatures, Stars, Trial};
use crate::error::Result;
use crate::store::db::{OptionalExtension, Row, Sql, params_from_iter};

/// A render that has no features yet, with what measuring it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderToMeasure {
    /// The experiment.
    pub id: ExperimentId,
    /// The render's file.
    pub output_path: String,
    /// The copy of the original photo it was made from.
    pub original_path: String,
}

/// A rated render with its features: one row of the reward model's data.
#[derive(Debug, Clone, PartialEq)]
pub struct RatedRenderFeatures {
    /// The experiment.
    pub id: ExperimentId,
    /// Provider arm and parameters.
    pub trial: Trial,
    /// Its measured features.
    pub features: RenderFeatures,
    /// Its latest rating by anyone (each designer's own latest ratings are
    /// in [`Store::evidence`]).
    pub latest_stars: Stars,
}

fn columns() -> String {
    RenderFeatures::NAMES.join(", ")
}

impl Store {
    /// Records a render's features unless it has some; true when this
    /// call recorded them.
    pub fn set_render_features(
        &mut self,
        id: &ExperimentId,
        features: &RenderFeatures,
    ) -> Result<bool> {
        insert_render_features(&self.conn, id.as_str(), features)
    }

    /// The features of one render, if measured.
    pub fn render_features_of(&self, id: &ExperimentId) -> Result<Option<RenderFeatures>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {} FROM render_features WHERE experiment_id = ?1",
                    columns()
                ),
                [id],
                |r| features_at(r, 0),
            )
            .optional()
    }

    /// Finished renders of a photo with no features yet (made before schema
    /// 0013, or whose measuring failed), oldest first, at most `limit`.
    pub fn renders_without_features(&self, limit: usize) -> Result<Vec<RenderToMeasure>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.output_path, i.stored_path
             FROM experiments e
             JOIN batches b ON b.id = e.batch_id
             JOIN images i ON i.id = b.image_id
             WHERE e.status = 'done' AND e.output_path IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM render_features f WHERE f.experiment_id = e.id)
             ORDER BY e.seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(RenderToMeasure {
                id: r.get(0)?,
                output_path: r.get(1)?,
                original_path: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_>>()
    }

    /// Every measured render's features by experiment id: what the reward
    /// model reads of each render any designer judged.
    pub fn all_render_features(&self) -> Result<Vec<(ExperimentId, RenderFeatures)>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT experiment_id, {} FROM render_features",
            columns()
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, features_at(r, 1)?)))?;
        rows.collect::<Result<_>>()
    }

    /// Every rated render with features, oldest first: the reward model's
    /// training rows and the structure guard's evidence.
    pub fn rated_render_features(&self) -> Result<Vec<RatedRenderFeatures>> {
        let prefixed = prefixed_columns("f");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT e.id, e.provider, e.init_strength, e.guidance_scale, e.controlnet_weight,
                    e.stars, {prefixed}
             FROM experiments e JOIN render_features f ON f.experiment_id = e.id
             WHERE e.rating_id IS NOT NULL ORDER BY e.seq"
        ))?;
        let rows = stmt.query_map([], |r| {
            let stars: i64 = r.get(5)?;
            Ok(RatedRenderFeatures {
                id: r.get(0)?,
                trial: Trial {
                    provider: r.get(1)?,
                    params: Params {
                        init_strength: r.get(2)?,
                        guidance_scale: r.get(3)?,
                        controlnet_weight: r.get(4)?,
                    },
                },
                features: features_at(r, 6)?,
                latest_stars: Stars::new(stars).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        5,
                        rusqlite::types::Type::Integer,
                        Box::new(e),
                    )
                })?,
            })
        })?;
        rows.collect::<Result<_>>()
    }
}

/// Records a render's features unless it has some; true when recorded.
/// (`conn` may be a transaction: the importer records them too.)
pub(super) fn insert_render_features(
    conn: &impl Sql,
    id: &str,
    features: &RenderFeatures,
) -> Result<bool> {
    let marks = (2..=RenderFeatures::COUNT + 1)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO render_features (experiment_id, {}) VALUES (?1, {marks})
         ON CONFLICT (experiment_id) DO NOTHING",
        columns()
    );
    let values: Vec<Value> = std::iter::once(Value::Text(id.to_string()))
        .chain(features.as_array().map(Value::Real))
        .collect();
    Ok(conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(values))?
        == 1)
}

/// The render-feature columns for a join on `render_features` aliased
/// `alias` (NAMES order).
pub(super) fn prefixed_columns(alias: &str) -> String {
    RenderFeatures::NAMES
        .iter()
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Like [`features_at`], `None` when the columns are NULL (no row in a
/// left join).
pub(super) fn optional_features_at(r: &Row<'_>, start: usize) -> Result<Option<RenderFeatures>> {
    if r.get::<Option<f64>>(start)?.is_none() {
        return Ok(None);
    }
    features_at(r, start).map(Some)
}

/// [`RenderFeatures::COUNT`] columns in NAMES order from `start`.
pub(super) fn features_at(r: &Row<'_>, start: usize) -> Result<RenderFeatures> {
    let mut values = [0.0; RenderFeatures::COUNT];
    for (i, value) in values.iter_mut().enumerate() {
        *value = r.get(start + i)?;
    }
    Ok(RenderFeatures::from_array(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BatchId, ExperimentStatus, Explanation, ImageMeta, Method};
    use crate::store::{NewBatch, NewExperiment, NewImage};

    fn features(seed: f64) -> RenderFeatures {
        RenderFeatures::from_array(std::array::from_fn(|i| (seed + i as f64 * 0.05) % 1.0))
    }

    fn store_with_batch(sha: Option<&str>, n: usize) -> (Store, Vec<ExperimentId>) {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        let ids: Vec<ExperimentId> = (0..n).map(|_| ExperimentId::random()).collect();
        let batch = NewBatch {
            id: BatchId::random(),
            image: sha.map(|sha| NewImage {
                sha256: sha.into(),
                stored_path: format!("/data/{sha}.jpg"),
                source_path: format!("/photos/{sha}.jpg"),
                format: "jpg".into(),
                width: 800,
                height: 600,
                bytes: 1000,
            }),
            meta: ImageMeta::default(),
            experiments: ids
                .iter()
                .enumerate()
                .map(|(i, id)| NewExperiment {
                    id: id.clone(),
                    option: crate::domain::option_label(i),
                    trial: Trial {
                        provider: "tone".into(),
                        params: Params {
                            init_strength: 0.2,
                            guidance_scale: 7.0,
                            controlnet_weight: 0.8 + i as f64 * 0.01,
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
        (store, ids)
    }

    #[test]
    fn features_are_written_once_and_read_back_exactly() {
        let (mut store, ids) = store_with_batch(Some("aa"), 1);
        assert_eq!(store.render_features_of(&ids[0]).unwrap(), None);
        assert!(store.set_render_features(&ids[0], &features(0.1)).unwrap());
        assert!(!store.set_render_features(&ids[0], &features(0.7)).unwrap());
        assert_eq!(
            store.render_features_of(&ids[0]).unwrap(),
            Some(features(0.1))
        );
    }

    #[test]
    fn out_of_range_features_are_refused_by_the_schema() {
        let (mut store, ids) = store_with_batch(Some("aa"), 1);
        let mut bad = features(0.1).as_array();
        bad[3] = 1.5;
        assert!(
            store
                .set_render_features(&ids[0], &RenderFeatures::from_array(bad))
                .is_err()
        );
        assert_eq!(store.render_features_of(&ids[0]).unwrap(), None);
    }

    #[test]
    fn the_backfill_lists_finished_renders_of_photos_oldest_first_up_to_the_limit() {
        let (mut store, ids) = store_with_batch(Some("aa"), 3);
        for (i, id) in ids.iter().enumerate() {
            store
                .conn
                .execute(
                    "UPDATE experiments SET status = 'done', output_path = ?2 WHERE id = ?1",
                    crate::store::db::params![id, format!("/r/{i}.jpg")],
                )
                .unwrap();
        }
        store.set_render_features(&ids[0], &features(0.2)).unwrap();
        let todo = store.renders_without_features(1).unwrap();
        assert_eq!(
            todo,
            vec![RenderToMeasure {
                id: ids[1].clone(),
                output_path: "/r/1.jpg".into(),
                original_path: "/data/aa.jpg".into(),
            }]
        );
        assert_eq!(store.renders_without_features(50).unwrap().len(), 2);
        // A suggest's proposals have no photo and no render: never listed.
        let (bare, _) = store_with_batch(None, 2);
        assert!(bare.renders_without_features(50).unwrap().is_empty());
    }

    #[test]
    fn rated_renders_with_features_carry_trial_and_latest_stars() {
        let (mut store, ids) = store_with_batch(Some("aa"), 3);
        store.set_render_features(&ids[0], &features(0.3)).unwrap();
        store.set_render_features(&ids[1], &features(0.6)).unwrap();
        for (id, stars) in [(&ids[0], 2), (&ids[0], 4), (&ids[2], 5)] {
            store
                .conn
                .execute(
                    "INSERT INTO ratings (experiment_id, stars, rated_by) VALUES (?1, ?2, 'ana')",
                    crate::store::db::params![id, stars],
                )
                .unwrap();
        }
        let rows = store.rated_render_features().unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].id, ids[0]);
        assert_eq!(rows[0].features, features(0.3));
        assert_eq!(rows[0].latest_stars.get(), 4);
        assert_eq!(rows[0].trial.params.controlnet_weight, 0.8);
    }
}
