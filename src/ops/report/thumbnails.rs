//! Thumbnails of rated renders, inlined as base64 JPEG data URIs. A render
//! whose file is gone or unreadable becomes a placeholder with the reason,
//! never an error: the report is about the ratings, not the files.

use crate::storage::{Storage, StorageError};
use base64::Engine as _;
use image::imageops;
use rayon::prelude::*;
use std::path::Path;

use crate::error::Error;
use crate::imaging::encode;
use crate::imaging::load::{LoadLimits, load};
use crate::store::RenderRow;

/// Longest side of a thumbnail, pixels.
pub const THUMBNAIL_SIDE: u32 = 240;

/// A render and its inlined image (or why there is none).
#[derive(Debug, Clone)]
pub struct Thumbnail {
    /// The render's row.
    pub render: RenderRow,
    /// `data:image/jpeg;base64,…`, or why the file could not be shown.
    pub image: Result<String, String>,
    /// Thumbnail width in pixels (0 without an image).
    pub width: u32,
    /// Thumbnail height in pixels (0 without an image).
    pub height: u32,
}

/// Decodes and shrinks the renders' files in parallel.
pub fn thumbnails(storage: &Storage, renders: Vec<RenderRow>) -> Vec<Thumbnail> {
    renders
        .into_par_iter()
        .map(|render| {
            match storage
                .local_copy(&render.output_path)
                .map_err(why_unreachable)
                .and_then(|local| data_uri(&local))
            {
                Ok((uri, width, height)) => Thumbnail {
                    render,
                    image: Ok(uri),
                    width,
                    height,
                },
                Err(why) => Thumbnail {
                    render,
                    image: Err(why),
                    width: 0,
                    height: 0,
                },
            }
        })
        .collect()
}

/// Why a render's file cannot be fetched, in the report's words: a gone
/// object reads like a gone file; the bucket's endpoint stays out of a
/// page meant to be passed around.
fn why_unreachable(e: Error) -> String {
    match e {
        Error::Storage(StorageError::Missing { .. }) => "file not found in the bucket".to_string(),
        other => other.to_string(),
    }
}

fn data_uri(path: &Path) -> Result<(String, u32, u32), String> {
    let loaded = load(path, &LoadLimits::default()).map_err(|e| match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            "file not found".to_string()
        }
        other => other.to_string(),
    })?;
    let (w, h) = loaded.rgb.dimensions();
    let scale = (THUMBNAIL_SIDE as f64 / w.max(h) as f64).min(1.0);
    let (tw, th) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    let small = if (tw, th) == (w, h) {
        loaded.rgb
    } else {
        imageops::thumbnail(&loaded.rgb, tw, th)
    };
    let jpeg = encode::jpeg(&small, 80);
    Ok((
        format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(jpeg)
        ),
        tw,
        th,
    ))
}
