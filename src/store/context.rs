//! `photo_features` and `batch_contexts`: the room context of each photo
//! (measured once) and of each batch (the features its suggestions were
//! asked for, with the designer's overrides), and the joined read that
//! gives every experiment its [`RoomContext`].
//!
//! Measuring is not done here (that is imaging, called by ops); this file
//! only records and reads the numbers. A batch without a `batch_contexts`
//! row (made before schema 0012) takes its photo's features.

use std::collections::HashMap;

use super::{ImageRecord, Store};
use crate::domain::ExperimentId;
use crate::domain::evidence::{PhotoFeatures, RoomContext};
use crate::error::Result;
use crate::store::db::{Behavior, OptionalExtension, Row, Sql, Tx, params, params_from_iter};

/// The context recorded with a new batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewContext {
    /// The photo's measured features, stored with the photo unless it has
    /// them already (the first measurement is kept).
    pub photo: Option<PhotoFeatures>,
    /// The features the batch was proposed for (the photo's, overrides
    /// applied); `None` when there are none.
    pub batch: Option<PhotoFeatures>,
    /// Names of the features the designer set by hand (`--context`).
    pub overridden: Vec<String>,
    /// The designer the batch is made for (`--by`); `None`: the studio.
    pub made_for: Option<String>,
}

/// An experiment's context with where its features came from, for `show`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ContextDetail {
    /// Room, style and the features the batch was proposed for.
    #[serde(flatten)]
    pub context: RoomContext,
    /// The photo's own measured features (they differ from
    /// `context.features` where the designer overrode one).
    pub measured: Option<PhotoFeatures>,
    /// Names of the features the designer set by hand.
    pub overridden: Vec<String>,
}

/// How many photos fall in each brightness bucket, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BrightnessBuckets {
    /// Brightness below the dark limit.
    pub dark: u64,
    /// Between the limits.
    pub normal: u64,
    /// At or above the bright limit.
    pub bright: u64,
    /// Photos without measured features yet.
    pub unmeasured: u64,
}

const FEATURE_COLUMNS: &str = "brightness, contrast, warmth, colourfulness, clutter, window_light";

/// How many experiment ids go into one `IN (…)` list (SQLite allows 32766
/// parameters; a few hundred keeps each statement small).
const IDS_PER_QUERY: usize = 500;

impl Store {
    /// Photos recorded without measured features (stored before schema
    /// 0012, or whose measuring failed), oldest first.
    pub fn images_without_features(&self) -> Result<Vec<ImageRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT i.id, i.sha256, i.stored_path, i.source_path FROM images i
             WHERE NOT EXISTS (SELECT 1 FROM photo_features f WHERE f.image_id = i.id)
             ORDER BY i.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ImageRecord {
                id: r.get(0)?,
                sha256: r.get(1)?,
                stored_path: r.get(2)?,
                source_path: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_>>()
    }

    /// Records a photo's measured features unless it has them already;
    /// true when this call recorded them.
    pub fn set_photo_features(&mut self, image_id: i64, features: &PhotoFeatures) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let added = insert_photo_features(&tx, image_id, features)?;
        tx.commit()?;
        Ok(added)
    }

    /// The measured features of the photo with this content hash, if both
    /// are recorded.
    pub fn photo_features_by_hash(&self, sha256: &str) -> Result<Option<PhotoFeatures>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {FEATURE_COLUMNS} FROM photo_features f
                     JOIN images i ON i.id = f.image_id WHERE i.sha256 = ?1"
                ),
                [sha256],
                |r| features_at(r, 0),
            )
            .optional()?
            .flatten())
    }

    /// The room context of each of these experiments (ids not found are
    /// left out): its batch's room and style, and the features the batch
    /// was proposed for, else its photo's measured features.
    pub fn render_contexts(
        &self,
        ids: &[ExperimentId],
    ) -> Result<HashMap<ExperimentId, RoomContext>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("{} WHERE e.id IN ({marks})", context_select());
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(chunk), |r| {
                Ok((r.get::<ExperimentId>(0)?, detail_from(r)?.context))
            })?;
            for row in rows {
                let (id, context) = row?;
                out.insert(id, context);
            }
        }
        Ok(out)
    }

    /// One experiment's context, with the measured features and overrides
    /// apart; `None` when there is no such experiment.
    pub fn experiment_context(&self, id: &ExperimentId) -> Result<Option<ContextDetail>> {
        self.conn
            .query_row(
                &format!("{} WHERE e.id = ?1", context_select()),
                [id],
                detail_from,
            )
            .optional()
    }

    /// Photos per brightness bucket: below `dark_below` is dark, from
    /// `bright_from` on is bright.
    pub fn brightness_buckets(
        &self,
        dark_below: f64,
        bright_from: f64,
    ) -> Result<BrightnessBuckets> {
        // `count(*) FILTER`, not `sum()` of a comparison: PostgreSQL has no
        // sum of booleans but the schema's own aggregate, a SQL function
        // called per row (70 ms of `status` at 17,000 photos).
        self.conn.query_row(
            "SELECT count(*) FILTER (WHERE f.brightness < ?1),
                    count(*) FILTER (WHERE f.brightness >= ?1 AND f.brightness < ?2),
                    count(*) FILTER (WHERE f.brightness >= ?2),
                    count(*) FILTER (WHERE f.image_id IS NULL)
             FROM images i LEFT JOIN photo_features f ON f.image_id = i.id",
            params![dark_below, bright_from],
            |r| {
                Ok(BrightnessBuckets {
                    dark: r.get::<i64>(0)? as u64,
                    normal: r.get::<i64>(1)? as u64,
                    bright: r.get::<i64>(2)? as u64,
                    unmeasured: r.get::<i64>(3)? as u64,
                })
            },
        )
    }
}

/// Records the photo's features unless it has some; true when recorded.
pub(super) fn insert_photo_features(tx: &Tx<'_>, image_id: i64, f: &PhotoFeatures) -> Result<bool> {
    let added = tx.execute(
        &format!(
            "INSERT INTO photo_features (image_id, {FEATURE_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (image_id) DO NOTHING"
        ),
        params![
            image_id,
            f.brightness,
            f.contrast,
            f.warmth,
            f.colourfulness,
            f.clutter,
            f.window_light
        ],
    )?;
    Ok(added == 1)
}

/// Records the features a batch was proposed for.
pub(super) fn insert_batch_context(
    tx: &Tx<'_>,
    batch_id: &str,
    f: &PhotoFeatures,
    overridden: &[String],
) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO batch_contexts (batch_id, {FEATURE_COLUMNS}, overridden)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            batch_id,
            f.brightness,
            f.contrast,
            f.warmth,
            f.colourfulness,
            f.clutter,
            f.window_light,
            overridden.join(",")
        ],
    )?;
    Ok(())
}

/// Columns: experiment id, room, style, overridden, then the batch's six
/// features, then the photo's six.
fn context_select() -> String {
    let prefixed = |alias: &str| {
        FEATURE_COLUMNS
            .split(", ")
            .map(|c| format!("{alias}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT e.id, b.room, b.style, c.overridden, {}, {}
         FROM experiments e
         JOIN batches b ON b.id = e.batch_id
         LEFT JOIN batch_contexts c ON c.batch_id = b.id
         LEFT JOIN photo_features p ON p.image_id = b.image_id",
        prefixed("c"),
        prefixed("p")
    )
}

fn detail_from(r: &Row<'_>) -> Result<ContextDetail> {
    let batch = features_at(r, 4)?;
    let measured = features_at(r, 10)?;
    let overridden: Option<String> = r.get(3)?;
    Ok(ContextDetail {
        context: RoomContext {
            features: batch.or(measured),
            room: r.get(1)?,
            style: r.get(2)?,
        },
        measured,
        overridden: overridden
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// Six feature columns from `start`; `None` when they are NULL (no row).
pub(super) fn features_at(r: &Row<'_>, start: usize) -> Result<Option<PhotoFeatures>> {
    let Some(brightness) = r.get::<Option<f64>>(start)? else {
        return Ok(None);
    };
    Ok(Some(PhotoFeatures {
        brightness,
        contrast: r.get(start + 1)?,
        warmth: r.get(start + 2)?,
        colourfulness: r.get(start + 3)?,
        clutter: r.get(start + 4)?,
        window_light: r.get(start + 5)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BatchId, ExperimentStatus, Explanation, ImageMeta, Method, Params, Trial};
    use crate::store::{NewBatch, NewExperiment, NewImage};

    fn features(brightness: f64) -> PhotoFeatures {
        PhotoFeatures {
            brightness,
            contrast: 0.4,
            warmth: 0.6,
            colourfulness: 0.3,
            clutter: 0.1,
            window_light: 0.05,
        }
    }

    fn batch(sha: Option<&str>, room: Option<&str>) -> (NewBatch, ExperimentId) {
        let id = ExperimentId::random();
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
            meta: ImageMeta {
                room: room.map(str::to_string),
                ..ImageMeta::default()
            },
            experiments: vec![NewExperiment {
                id: id.clone(),
                option: "A".into(),
                trial: Trial {
                    provider: "builtin".into(),
                    params: Params {
                        init_strength: 0.5,
                        guidance_scale: 7.0,
                        controlnet_weight: 0.5,
                    },
                },
                prompt_version: "1.0.0".into(),
                method: Method::InitialDesign,
                explanation: Explanation::design(),
                status: ExperimentStatus::Proposed,
            }],
        };
        (batch, id)
    }

    fn store() -> Store {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        store
    }

    #[test]
    fn a_batch_takes_its_overrides_and_falls_back_to_the_photo() {
        let mut store = store();
        let (first, first_id) = batch(Some("aa"), Some("kitchen"));
        store
            .create_batch_in_context(
                &first,
                &NewContext {
                    photo: Some(features(0.2)),
                    batch: Some(features(0.9)),
                    overridden: vec!["brightness".into()],
                    made_for: None,
                },
            )
            .unwrap();
        // Same photo again, recorded without a batch context (as before 0012).
        let (second, second_id) = batch(Some("aa"), None);
        store.create_batch(&second).unwrap();
        let (bare, bare_id) = batch(None, Some("hall"));
        store.create_batch(&bare).unwrap();

        let got = store
            .render_contexts(&[first_id.clone(), second_id.clone(), bare_id.clone()])
            .unwrap();
        assert_eq!(got[&first_id].features, Some(features(0.9)));
        assert_eq!(got[&first_id].room.as_deref(), Some("kitchen"));
        assert_eq!(got[&second_id].features, Some(features(0.2)));
        assert_eq!(got[&bare_id].features, None);
        assert_eq!(got[&bare_id].room.as_deref(), Some("hall"));

        let detail = store.experiment_context(&first_id).unwrap().unwrap();
        assert_eq!(detail.measured, Some(features(0.2)));
        assert_eq!(detail.overridden, vec!["brightness".to_string()]);
    }

    #[test]
    fn the_first_measurement_of_a_photo_is_kept_and_buckets_count_photos() {
        let mut store = store();
        let (old, _) = batch(Some("bb"), None);
        store.create_batch(&old).unwrap();
        let (other, _) = batch(Some("cc"), None);
        store.create_batch(&other).unwrap();
        let missing = store.images_without_features().unwrap();
        assert_eq!(missing.len(), 2);
        assert!(
            store
                .set_photo_features(missing[0].id, &features(0.1))
                .unwrap()
        );
        assert!(
            !store
                .set_photo_features(missing[0].id, &features(0.8))
                .unwrap()
        );
        assert_eq!(
            store.photo_features_by_hash("bb").unwrap(),
            Some(features(0.1))
        );
        let buckets = store.brightness_buckets(0.35, 0.65).unwrap();
        assert_eq!(
            buckets,
            BrightnessBuckets {
                dark: 1,
                normal: 0,
                bright: 0,
                unmeasured: 1
            }
        );
        assert_eq!(store.images_without_features().unwrap().len(), 1);
    }

    #[test]
    fn many_ids_are_read_in_chunks() {
        let mut store = store();
        let mut ids = Vec::new();
        for _ in 0..IDS_PER_QUERY + 3 {
            let (b, id) = batch(None, Some("loft"));
            store.create_batch(&b).unwrap();
            ids.push(id);
        }
        assert_eq!(store.render_contexts(&ids).unwrap().len(), ids.len());
    }
}
