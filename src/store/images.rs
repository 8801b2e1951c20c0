//! The `images` table: each distinct photo once, by content hash.

use super::Store;
use crate::error::Result;
use crate::store::db::{OptionalExtension, Sql, Tx, params};

/// A photo to record.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The copy under the data dir.
    pub stored_path: String,
    /// Where the designer's file was when first enhanced.
    pub source_path: String,
    /// Decoded format, e.g. `jpeg`.
    pub format: String,
    /// Upright width in pixels.
    pub width: u32,
    /// Upright height in pixels.
    pub height: u32,
    /// File size.
    pub bytes: u64,
}

/// A recorded photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// Row id.
    pub id: i64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The copy under the data dir.
    pub stored_path: String,
    /// Where the designer's file was when first enhanced.
    pub source_path: String,
}

impl Store {
    /// The image with this content hash, if recorded.
    pub fn image_by_hash(&self, sha256: &str) -> Result<Option<ImageRecord>> {
        self.conn
            .query_row(
                "SELECT id, sha256, stored_path, source_path FROM images WHERE sha256 = ?1",
                [sha256],
                |r| {
                    Ok(ImageRecord {
                        id: r.get(0)?,
                        sha256: r.get(1)?,
                        stored_path: r.get(2)?,
                        source_path: r.get(3)?,
                    })
                },
            )
            .optional()
    }
}

/// Inserts the image unless its hash is known; returns its id either way.
pub(super) fn upsert(tx: &Tx<'_>, image: &NewImage) -> Result<i64> {
    tx.execute(
        "INSERT INTO images (sha256, stored_path, source_path, format, width, height, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (sha256) DO NOTHING",
        params![
            image.sha256,
            image.stored_path,
            image.source_path,
            image.format,
            image.width,
            image.height,
            image.bytes as i64
        ],
    )?;
    tx.query_row(
        "SELECT id FROM images WHERE sha256 = ?1",
        [&image.sha256],
        |r| r.get(0),
    )
}
