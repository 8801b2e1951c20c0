//! Writing files so that a reader never sees half of one, and two writers
//! never trip over each other: every file latina keeps, and every object
//! downloaded into the cache, lands by temp file + rename.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to a uniquely named temporary file beside `path`, syncs
/// it, and renames it into place.
///
/// The temporary name is unique per call (not per target), so several
/// processes writing the same content-addressed file at once each finish
/// with a complete file in place; the last rename wins, and the contents
/// are the same. A failed write leaves no temporary file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    let prefix = format!(
        ".{}.",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    // NamedTempFile defaults to 0600; renders and copies are shared files,
    // so they get the same mode as `File::create` (0666 less the umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let result = (|| {
        let mut file = builder.tempfile_in(dir)?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    result.map_err(|e: std::io::Error| Error::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writers_of_the_same_file_all_succeed_and_leave_no_parts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/same.jpg");
        let bytes = vec![7u8; 256 * 1024];
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| write_atomically(&path, &bytes).unwrap());
            }
        });
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("same.jpg")]);
    }

    #[test]
    fn a_failed_write_names_the_target() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blocker"), "a file").unwrap();
        let err = write_atomically(&dir.path().join("blocker/x.jpg"), b"x").unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
    }
}
