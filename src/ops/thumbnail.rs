//! Thumbnails of renders and originals for `latina serve`: made once from
//! a file the store recorded, cached under the data directory, and read
//! from the cache afterwards. Which file and which key are the caller's
//! business; this module only shrinks and caches.

use image::DynamicImage;
use std::path::{Path, PathBuf};

use super::Workspace;
use super::files::write_atomically;
use crate::error::{Error, Result};
use crate::imaging::LoadLimits;
use crate::imaging::{encode, load};

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
pub fn cached(ws: &Workspace, key: &str, source: &Path) -> Result<PathBuf> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::NotFound(format!("no thumbnail named {key:?}")));
    }
    let dir = ws.paths.thumbnails();
    let path = dir.join(format!("{key}-{THUMBNAIL_SIDE}.jpg"));
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create directory", &dir, e))?;
    let loaded = load::load(source, &LoadLimits::default())?;
    let small = DynamicImage::ImageRgb8(loaded.rgb)
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .to_rgb8();
    // Two requests for one new thumbnail may both make it; the atomic
    // write means either copy is whole.
    write_atomically(&path, &encode::jpeg(&small, QUALITY))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::ops::Paths;
    use image::RgbImage;

    fn workspace(dir: &Path) -> Workspace {
        Workspace {
            config: Config::default(),
            paths: Paths {
                data_dir: dir.to_path_buf(),
                database: dir.join("latina.db").into(),
            },
            seed: None,
            config_file: None,
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
            assert!(cached(&ws, key, Path::new("/etc/passwd")).is_err(), "{key}");
        }
    }
}
