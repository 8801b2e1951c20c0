//! Where latina's image files live: originals, renders, previews and
//! thumbnails.
//!
//! Without `storage` in the config they live in the data dir and rows
//! record their absolute paths, exactly as before. With
//! `storage = "s3://bucket/prefix"` every file is written through to the
//! bucket (under `prefix/originals/…`, `prefix/renders/…`, …) before a row
//! may name it, rows record the object's URL (`s3://bucket/prefix/renders/
//! x.jpg`), and the data dir is a cache: [`Storage::local_copy`] gives every
//! reader a local file, downloading it on a miss. Downloads land by temp
//! file + rename, so a killed process never leaves half a file that a later
//! run trusts. Local paths recorded before the switch still read as paths.
//!
//! The S3 client is `object_store`'s (on the reqwest/rustls stack latina
//! already has); the local side is plain files, so an unconfigured latina
//! does not change by a byte. One type, [`Storage`], serves both.

mod atomic;
mod error;
mod remote;

pub use atomic::write_atomically;
pub use error::StorageError;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{S3Config, StorageUrl};
use crate::error::{Error, Result};
use remote::Remote;

/// The kinds of file latina keeps, each in its own folder (locally and in
/// the bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Copies of the designers' photos, named by content hash.
    Originals,
    /// One file per rendered experiment.
    Renders,
    /// One side-by-side sheet per batch.
    Previews,
    /// Small copies for `latina serve`.
    Thumbnails,
}

impl Role {
    /// The folder name, under the data dir and under the prefix.
    pub fn dir(self) -> &'static str {
        match self {
            Role::Originals => "originals",
            Role::Renders => "renders",
            Role::Previews => "previews",
            Role::Thumbnails => "thumbnails",
        }
    }

    const ALL: [Role; 4] = [
        Role::Originals,
        Role::Renders,
        Role::Previews,
        Role::Thumbnails,
    ];
}

/// The image files: the data dir alone, or a bucket cached in the data dir.
/// Cheap to clone (the client is shared).
#[derive(Debug, Clone)]
pub struct Storage {
    data_dir: PathBuf,
    remote: Option<Arc<Remote>>,
}

/// What [`Storage::probe`] did, for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// The bucket URL.
    pub url: String,
    /// The endpoint the requests went to.
    pub endpoint: String,
    /// The probe object's key.
    pub key: String,
}

impl Storage {
    /// Files in `data_dir` only: today's behaviour.
    pub fn local(data_dir: PathBuf) -> Storage {
        Storage {
            data_dir,
            remote: None,
        }
    }

    /// The storage `url` names (none: [`Storage::local`]), its client
    /// configured from `env` (endpoint, region, the key variables `s3`
    /// names). No request is made here.
    ///
    /// # Errors
    /// [`StorageError::MissingKey`] for an unset key variable;
    /// [`StorageError::Client`] for a malformed endpoint.
    pub fn open(
        url: Option<&StorageUrl>,
        s3: &S3Config,
        data_dir: PathBuf,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Storage> {
        let remote = match url {
            None => None,
            Some(url) => Some(Arc::new(Remote::open(url, s3, env)?)),
        };
        Ok(Storage { data_dir, remote })
    }

    /// Whether files go to a bucket.
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// One line for `-v` and `doctor`: the bucket and endpoint, or the
    /// data dir. Never a key.
    pub fn describe(&self) -> String {
        match &self.remote {
            None => format!("data dir {}", self.data_dir.display()),
            Some(r) => format!("{} at {} (region {})", r.url, r.endpoint, r.region),
        }
    }

    /// The local path of `name` in `role`'s folder: the file itself, or
    /// its cached copy.
    pub fn path_of(&self, role: Role, name: &str) -> PathBuf {
        self.data_dir.join(role.dir()).join(name)
    }

    /// Writes `bytes` as `name` in `role`'s folder — locally, and to the
    /// bucket when there is one — and returns the reference a row should
    /// record. Only after this returns may a row name the file: an upload
    /// that fails (after the client's retries) is an error.
    ///
    /// # Errors
    /// [`Error::Io`] for the local write; a [`StorageError`] for the upload.
    pub fn put(&self, role: Role, name: &str, bytes: &[u8]) -> Result<String> {
        check_name(name)?;
        let path = self.path_of(role, name);
        write_atomically(&path, bytes)?;
        match &self.remote {
            None => Ok(path.display().to_string()),
            Some(remote) => {
                let rel = format!("{}/{name}", role.dir());
                remote.put(&remote.key_of(&rel), bytes.to_vec())?;
                Ok(remote.reference_of(&rel))
            }
        }
    }

    /// [`Storage::put`] for content-addressed files (originals): when the
    /// file is already there (locally, or in the bucket with the same
    /// size) nothing is written or sent again.
    ///
    /// # Errors
    /// As [`Storage::put`].
    pub fn put_once(&self, role: Role, name: &str, bytes: &[u8]) -> Result<String> {
        check_name(name)?;
        let path = self.path_of(role, name);
        match &self.remote {
            None if path.is_file() => Ok(path.display().to_string()),
            None => self.put(role, name, bytes),
            Some(remote) => {
                let rel = format!("{}/{name}", role.dir());
                if remote.size(&remote.key_of(&rel))? == Some(bytes.len() as u64) {
                    if !path.is_file() {
                        write_atomically(&path, bytes)?;
                    }
                    Ok(remote.reference_of(&rel))
                } else {
                    self.put(role, name, bytes)
                }
            }
        }
    }

    /// The reference of `name` in `role`'s folder if the file exists
    /// (locally, or in the bucket), without reading it: for caches such
    /// as thumbnails that any client may have made.
    ///
    /// # Errors
    /// A [`StorageError`] when the bucket cannot be asked.
    pub fn find(&self, role: Role, name: &str) -> Result<Option<PathBuf>> {
        check_name(name)?;
        let path = self.path_of(role, name);
        if path.is_file() {
            return Ok(Some(path));
        }
        let Some(remote) = &self.remote else {
            return Ok(None);
        };
        let rel = format!("{}/{name}", role.dir());
        match remote.get(&remote.key_of(&rel))? {
            None => Ok(None),
            Some(bytes) => {
                write_atomically(&path, &bytes)?;
                Ok(Some(path))
            }
        }
    }

    /// A local file for `reference` (a path or an `s3://` URL a row
    /// recorded): paths as they are; objects from the cache, downloaded
    /// into it on a miss (temp file + rename).
    ///
    /// # Errors
    /// [`StorageError::NotConfigured`] for an object when no bucket is
    /// configured; [`StorageError::Elsewhere`] for one outside the
    /// configured bucket and prefix; [`StorageError::Missing`] when the
    /// object is gone; others when the server fails.
    pub fn local_copy(&self, reference: &str) -> Result<PathBuf> {
        if !reference.starts_with("s3://") {
            return Ok(PathBuf::from(reference));
        }
        let Some(remote) = &self.remote else {
            return Err(StorageError::NotConfigured {
                reference: reference.to_string(),
            }
            .into());
        };
        let (role, name) = self.split_reference(remote, reference)?;
        let path = self.path_of(role, name);
        if path.is_file() {
            return Ok(path);
        }
        let rel = format!("{}/{name}", role.dir());
        match remote.get(&remote.key_of(&rel))? {
            Some(bytes) => {
                write_atomically(&path, &bytes)?;
                Ok(path)
            }
            None => Err(StorageError::Missing {
                url: remote.url.to_string(),
                endpoint: remote.endpoint.clone(),
                reference: reference.to_string(),
            }
            .into()),
        }
    }

    /// Moves an existing local file up: uploads `local` as its own file
    /// name in `role`'s folder and returns the reference to record in its
    /// row (for `latina migrate`). Idempotent: an object of the same name
    /// and size is not sent again (names are content hashes for originals
    /// and experiment ids for renders, so same name and size is the same
    /// file). Without a bucket it returns the local path unchanged.
    ///
    /// # Errors
    /// [`Error::Io`] when `local` cannot be read; a [`StorageError`] for
    /// the upload.
    pub fn upload_existing(&self, local: &Path, role: Role) -> Result<String> {
        let Some(remote) = &self.remote else {
            return Ok(local.display().to_string());
        };
        let name = local.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            Error::io(
                "cannot upload",
                local,
                std::io::ErrorKind::InvalidInput.into(),
            )
        })?;
        check_name(name)?;
        let rel = format!("{}/{name}", role.dir());
        let key = remote.key_of(&rel);
        let size = std::fs::metadata(local)
            .map_err(|e| Error::io("cannot read", local, e))?
            .len();
        if remote.size(&key)? != Some(size) {
            let bytes = std::fs::read(local).map_err(|e| Error::io("cannot read", local, e))?;
            remote.put(&key, bytes)?;
        }
        Ok(remote.reference_of(&rel))
    }

    /// Lists the prefix, then writes, reads back and deletes a probe object
    /// (for `doctor`). `None` without a bucket.
    ///
    /// # Errors
    /// The [`StorageError`] of the first step that failed.
    pub fn probe(&self) -> Result<Option<ProbeReport>> {
        let Some(remote) = &self.remote else {
            return Ok(None);
        };
        let nonce: u64 = rand::random();
        let key = remote.key_of(&format!(".latina-probe-{nonce:016x}"));
        let body = format!("latina doctor probe {nonce:016x}").into_bytes();
        remote.check_bucket()?;
        remote.put(&key, body.clone())?;
        let back = remote.get(&key)?;
        remote.delete(&key)?;
        if back.as_deref() != Some(body.as_slice()) {
            return Err(StorageError::Failed {
                url: remote.url.to_string(),
                endpoint: remote.endpoint.clone(),
                action: "read back",
                key,
                reason: "the object read back differs from the one written".into(),
            }
            .into());
        }
        Ok(Some(ProbeReport {
            url: remote.url.to_string(),
            endpoint: remote.endpoint.clone(),
            key,
        }))
    }

    /// The role and file name an `s3://` reference names, if it lies in
    /// this bucket and prefix and names a plain file of a known folder.
    fn split_reference<'r>(&self, remote: &Remote, reference: &'r str) -> Result<(Role, &'r str)> {
        let elsewhere = || {
            Error::from(StorageError::Elsewhere {
                reference: reference.to_string(),
                url: remote.url.to_string(),
            })
        };
        let rest = reference
            .strip_prefix("s3://")
            .and_then(|r| r.strip_prefix(remote.url.bucket()))
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(elsewhere)?;
        let rel = if remote.url.prefix().is_empty() {
            rest
        } else {
            rest.strip_prefix(remote.url.prefix())
                .and_then(|r| r.strip_prefix('/'))
                .ok_or_else(elsewhere)?
        };
        let (dir, name) = rel.split_once('/').ok_or_else(elsewhere)?;
        let role = Role::ALL
            .into_iter()
            .find(|r| r.dir() == dir)
            .ok_or_else(elsewhere)?;
        check_name(name).map_err(|_| elsewhere())?;
        Ok((role, name))
    }
}

/// A file name that stays inside its folder: no separators, not hidden,
/// not `.`/`..`, no control characters.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('.')
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
    {
        return Err(Error::NotFound(format!("no file named {name:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_storage_writes_under_the_data_dir_and_records_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf());
        let reference = storage.put(Role::Renders, "x.jpg", b"jpeg").unwrap();
        let want = dir.path().join("renders/x.jpg");
        assert_eq!(reference, want.display().to_string());
        assert_eq!(std::fs::read(&want).unwrap(), b"jpeg");
        assert_eq!(storage.local_copy(&reference).unwrap(), want);
        assert_eq!(
            storage.upload_existing(&want, Role::Renders).unwrap(),
            reference
        );
        assert!(!storage.is_remote());
    }

    #[test]
    fn an_object_reference_without_a_bucket_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf());
        let err = storage
            .local_copy("s3://studio/latina/renders/x.jpg")
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage is not configured"), "{err}");
    }

    #[test]
    fn names_that_leave_their_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf());
        for name in ["", "../x", "a/b", ".hidden", "a\\b"] {
            assert!(storage.put(Role::Renders, name, b"x").is_err(), "{name:?}");
        }
    }
}
