//! `render_embeddings`: each render's embedding by the user's ONNX image
//! model, keyed by (experiment, SHA-256 of the model file). Vectors are
//! stored as little-endian float32 BLOBs of `dims` values; a BLOB whose
//! length disagrees with `dims` reads back as an error, never as a short
//! vector.

use jiff::Timestamp;
use serde::Serialize;

use super::Store;
use super::columns::stamp;
use crate::domain::{ExperimentId, time};
use crate::error::Result;
use crate::store::db::{OptionalExtension, Row, Sql, params};

/// One render's embedding by one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderEmbedding {
    /// The render's experiment.
    pub experiment_id: ExperimentId,
    /// SHA-256 of the ONNX file (lowercase hex).
    pub model_sha256: String,
    /// The embedding (unit length as `imaging::embedding` writes it).
    pub vector: Vec<f32>,
    /// When it was computed.
    #[serde(with = "time::millis")]
    pub measured_at: Timestamp,
}

const COLUMNS: &str = "experiment_id, model_sha256, dims, vector, measured_at";

impl Store {
    /// Stores `vector` as the embedding of `experiment`'s render by the model
    /// whose file hashes to `model_sha256`, replacing an earlier one.
    ///
    /// # Errors
    /// Database errors; a conflict when the experiment does not exist, the
    /// vector is empty or the hash is not 64 characters (schema checks).
    pub fn save_render_embedding(
        &mut self,
        experiment: &ExperimentId,
        model_sha256: &str,
        vector: &[f32],
    ) -> Result<()> {
        let blob: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.conn.execute(
            "INSERT INTO render_embeddings (experiment_id, model_sha256, dims, vector)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (experiment_id, model_sha256) DO UPDATE SET
                 dims = excluded.dims, vector = excluded.vector,
                 measured_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            params![experiment, model_sha256, vector.len() as i64, blob],
        )?;
        Ok(())
    }

    /// `experiment`'s embedding by the model hashing to `model_sha256`.
    pub fn render_embedding(
        &self,
        experiment: &ExperimentId,
        model_sha256: &str,
    ) -> Result<Option<RenderEmbedding>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM render_embeddings
                     WHERE experiment_id = ?1 AND model_sha256 = ?2"
                ),
                params![experiment, model_sha256],
                read,
            )
            .optional()
    }

    /// Every render's embedding by one model, oldest experiment first.
    pub fn render_embeddings_for_model(&self, model_sha256: &str) -> Result<Vec<RenderEmbedding>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM render_embeddings e
             JOIN experiments x ON x.id = e.experiment_id
             WHERE e.model_sha256 = ?1 ORDER BY x.seq"
        ))?;
        let rows = stmt.query_map([model_sha256], read)?;
        rows.collect::<Result<_>>()
    }

    /// Every embedding of one render (one per model), oldest first.
    pub fn render_embeddings_of(&self, experiment: &ExperimentId) -> Result<Vec<RenderEmbedding>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM render_embeddings WHERE experiment_id = ?1
             ORDER BY measured_at, model_sha256"
        ))?;
        let rows = stmt.query_map([experiment], read)?;
        rows.collect::<Result<_>>()
    }
}

pub(super) fn read(r: &Row<'_>) -> Result<RenderEmbedding> {
    let dims: i64 = r.get(2)?;
    let blob: Vec<u8> = r.get(3)?;
    if dims < 0 || blob.len() as i64 != 4 * dims {
        return Err(crate::error::Error::StoredValue(format!(
            "an embedding of {dims} values stored in {} bytes",
            blob.len()
        )));
    }
    let vector = blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(RenderEmbedding {
        experiment_id: r.get(0)?,
        model_sha256: r.get(1)?,
        vector,
        measured_at: stamp(r, 4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ExperimentStatus;
    use crate::error::Error;
    use crate::store::preferences::tests::batch;

    const MODEL_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const MODEL_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn store() -> Store {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        store
    }

    /// Values survive the BLOB exactly (bit for bit, signs and subnormals
    /// included), keyed by experiment and model; a second save replaces.
    #[test]
    fn vectors_round_trip_bit_for_bit_per_experiment_and_model() {
        let mut s = store();
        let ids = batch(&mut s, &[ExperimentStatus::Done, ExperimentStatus::Done]);
        let a = [0.6f32, -0.8, 0.0, -0.0, 1e-42, f32::MIN_POSITIVE];
        s.save_render_embedding(&ids[0], MODEL_A, &a).unwrap();
        s.save_render_embedding(&ids[1], MODEL_A, &[1.0, 0.0])
            .unwrap();
        s.save_render_embedding(&ids[0], MODEL_B, &[0.0, 1.0, 0.0])
            .unwrap();
        let got = s.render_embedding(&ids[0], MODEL_A).unwrap().unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got.vector), bits(&a));
        assert_eq!(got.model_sha256, MODEL_A);
        assert!(s.render_embedding(&ids[1], MODEL_B).unwrap().is_none());
        let all: Vec<_> = s
            .render_embeddings_for_model(MODEL_A)
            .unwrap()
            .into_iter()
            .map(|e| (e.experiment_id, e.vector.len()))
            .collect();
        assert_eq!(all, vec![(ids[0].clone(), 6), (ids[1].clone(), 2)]);
        assert_eq!(s.render_embeddings_of(&ids[0]).unwrap().len(), 2);
        s.save_render_embedding(&ids[0], MODEL_A, &[0.0, 0.0, 1.0])
            .unwrap();
        let replaced = s.render_embedding(&ids[0], MODEL_A).unwrap().unwrap();
        assert_eq!(replaced.vector, vec![0.0, 0.0, 1.0]);
        assert_eq!(s.render_embeddings_for_model(MODEL_A).unwrap().len(), 2);
    }

    /// The schema refuses what is not an embedding of a known render.
    #[test]
    fn unknown_experiments_empty_vectors_and_bad_hashes_are_refused() {
        let mut s = store();
        let ids = batch(&mut s, &[ExperimentStatus::Done]);
        let ghost = ExperimentId::random();
        for (id, sha, v) in [
            (&ghost, MODEL_A, &[1.0f32][..]),
            (&ids[0], MODEL_A, &[][..]),
            (&ids[0], "abc", &[1.0][..]),
        ] {
            let err = s.save_render_embedding(id, sha, v).unwrap_err();
            assert!(matches!(err, Error::Conflict(_)), "{err:?}");
        }
        assert!(s.render_embeddings_of(&ids[0]).unwrap().is_empty());
    }
}
