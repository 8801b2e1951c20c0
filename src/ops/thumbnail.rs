//! Thumbnails of renders and originals for `latina serve`: made once from
//! a file the store recorded, cached under the data directory, and read
//! from the cache afterwards. Which file and which key are the caller's
//! business; this module only shrinks and caches.

use image::DynamicImage;
use std::path::PathBuf;

use super::Workspace;
use crate::error::{Error, Result};
use crate::imaging::LoadLimits;
use crate::imaging::{encode, load};
use crate::storage::Role;

/// Longest side of a thumbnail, pixels.
pub const THUMBNAIL_SIDE: u32 = 480;

/// JPEG quality of the cached thumbnails.
const QUALITY: u8 = 82;

/// The cached thumbnail of `source` under `key` (letters, digits, `-` and
/// `_` only: it names the cache file), made now if it is not cached yet.
///
/// # Errors
/// [`Error::NotFound`] for a key that could name another file; the
/// source's load errors; [`Error::Io`] when the cache cannot be written.
pub fn cached(ws: &Workspace, key: &str, source: &str) -> Result<PathBuf> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::NotFound(format!("no thumbnail named {key:?}")));
    }
    let name = format!("{key}-{THUMBNAIL_SIDE}.jpg");
    // Made once per studio: another client may have put it in the bucket.
    if let Some(path) = ws.storage.find(Role::Thumbnails, &name)? {
        return Ok(path);
    }
    let loaded = load::load(&ws.storage.local_copy(source)?, &LoadLimits::default())?;
    let small = DynamicImage::ImageRgb8(loaded.rgb)
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .to_rgb8();
    // Two requests for one new thumbnail may both make it; the atomic
    // write means either copy is whole.
    ws.storage
        .put(Role::Thumbnails, &name, &encode::jpeg(&small, QUALITY))?;
    Ok(ws.storage.path_of(Role::Thumbnails, &name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::ops::Paths;
    use image::RgbImage;
    use std::path::Path;

    fn workspace(dir: &Path) -> Workspace {
        Workspace {
            config: Config::default(),
            paths: Paths {
                data_dir: dir.to_path_buf(),
                database: dir.join("latina.db").into(),
            },
            seed: None,
            config_file: None,
            storage: crate::storage::Storage::local(dir.to_path_buf()),
        }
    }

    #[test]
    fn a_thumbnail_keeps_the_aspect_and_is_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("wide.png");
        RgbImage::from_pixel(1200, 600, image::Rgb([200, 100, 50]))
            .save(&source)
            .unwrap();
        let ws = workspace(dir.path());
        let source = source.display().to_string();
        let first = cached(&ws, "render-abc", &source).unwrap();
        let (w, h) = image::image_dimensions(&first).unwrap();
        assert_eq!((w, h), (480, 240));
        let made = std::fs::metadata(&first).unwrap().modified().unwrap();
        // Once cached, the source is no longer read.
        std::fs::remove_file(&source).unwrap();
        let again = cached(&ws, "render-abc", &source).unwrap();
        assert_eq!(again, first);
        assert_eq!(std::fs::metadata(&again).unwrap().modified().unwrap(), made);
    }

    #[test]
    fn keys_that_could_name_another_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace(dir.path());
        for key in ["", "../x", "a/b", "a.b", "/etc/passwd"] {
            assert!(cached(&ws, key, "/etc/passwd").is_err(), "{key}");
        }
    }
}
