//! The S3 side of [`super::Storage`]: the `object_store` client built from
//! the config and the environment, a small runtime of its own (so sync and
//! async callers alike can use it), and the mapping of the crate's errors
//! onto [`StorageError`] with every reason scrubbed of the keys.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::StorageError;
use crate::config::{S3Config, StorageUrl};
use crate::error::{Error, Result};
use crate::http::redact;

/// Region used when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set
/// (S3-compatible servers usually ignore it, but it is signed).
const DEFAULT_REGION: &str = "us-east-1";

/// A bucket and prefix on one S3-compatible server.
pub(super) struct Remote {
    pub(super) url: StorageUrl,
    /// Where requests go, for messages (`AWS_ENDPOINT_URL` or AWS itself).
    pub(super) endpoint: String,
    pub(super) region: String,
    key_variables: String,
    store: Arc<AmazonS3>,
    worker: Worker,
}

impl std::fmt::Debug for Remote {
    // Deliberately not the client's own Debug: names, never keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url.to_string())
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish()
    }
}

impl Remote {
    /// Builds the client; no request is made.
    pub(super) fn open(
        url: &StorageUrl,
        s3: &S3Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Remote> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let key = |variable: &str, what: &'static str| {
            let value = var(variable).ok_or_else(|| StorageError::MissingKey {
                url: url.to_string(),
                variable: variable.to_string(),
                what,
            })?;
            // A server may echo a header or a signed string in an error
            // body; the scrubber replaces the value wherever it appears.
            redact::register(&value);
            Ok::<_, Error>(value)
        };
        let access_key = key(&s3.access_key_env, "access key id")?;
        let secret_key = key(&s3.secret_key_env, "secret access key")?;
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        let endpoint = var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL"));
        let allow_http =
            var("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let shown_endpoint = endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(url.bucket())
            .with_region(&region)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            .with_allow_http(allow_http)
            .with_retry(RetryConfig {
                // Transient faults (5xx, resets) are retried a few times,
                // quickly: a dead server is reported within seconds.
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            );
        if let Some(token) = var("AWS_SESSION_TOKEN") {
            redact::register(&token);
            builder = builder.with_token(token);
        }
        if let Some(endpoint) = &endpoint {
            // Path-style requests (`host/bucket/key`): what MinIO, SeaweedFS
            // and most S3-compatible servers expect at a bare endpoint.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|e| StorageError::Client {
            url: url.to_string(),
            endpoint: shown_endpoint.clone(),
            reason: scrub_reason(&e),
        })?;
        Ok(Remote {
            url: url.clone(),
            endpoint: shown_endpoint,
            region,
            key_variables: format!("{} and {}", s3.access_key_env, s3.secret_key_env),
            store: Arc::new(store),
            worker: Worker::new()?,
        })
    }

    /// The object key of `rel` (e.g. `renders/x.jpg`) under the prefix.
    pub(super) fn key_of(&self, rel: &str) -> String {
        if self.url.prefix().is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.url.prefix())
        }
    }

    /// The reference rows record for `rel`: the object's full URL.
    pub(super) fn reference_of(&self, rel: &str) -> String {
        format!("s3://{}/{}", self.url.bucket(), self.key_of(rel))
    }

    /// Uploads `bytes` to `key`, replacing what is there.
    pub(super) fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let store = Arc::clone(&self.store);
        let path = self.parse_key(key)?;
        self.wait(async move { store.put(&path, bytes.into()).await.map(drop) })?
            .map_err(|e| self.classify(e, "upload", key))
    }

    /// The object's size, or `None` when there is no such object.
    pub(super) fn size(&self, key: &str) -> Result<Option<u64>> {
        let store = Arc::clone(&self.store);
        let path = self.parse_key(key)?;
        match self.wait(async move { store.head(&path).await })? {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { source, .. })
                if !source.to_string().contains("NoSuchBucket") =>
            {
                Ok(None)
            }
            Err(e) => Err(self.classify(e, "look up", key)),
        }
    }

    /// The object's bytes, whole: a body cut short is an error, never a
    /// shorter file.
    pub(super) fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let store = Arc::clone(&self.store);
        let path = self.parse_key(key)?;
        let fetched = self.wait(async move {
            let got = store.get(&path).await?;
            let expected = got.meta.size;
            let bytes = got.bytes().await?;
            Ok::<_, object_store::Error>((expected, bytes.to_vec()))
        })?;
        match fetched {
            Ok((expected, bytes)) if bytes.len() as u64 == expected => Ok(Some(bytes)),
            Ok((expected, bytes)) => Err(StorageError::Failed {
                url: self.url.to_string(),
                endpoint: self.endpoint.clone(),
                action: "download",
                key: key.to_string(),
                reason: format!("got {} of {expected} bytes", bytes.len()),
            }
            .into()),
            Err(object_store::Error::NotFound { source, .. })
                if !source.to_string().contains("NoSuchBucket") =>
            {
                Ok(None)
            }
            Err(e) => Err(self.classify(e, "download", key)),
        }
    }

    /// Lists one level under the prefix: the request that tells a missing
    /// bucket from refused keys on every server (some refuse a write to a
    /// missing bucket as access denied).
    pub(super) fn check_bucket(&self) -> Result<()> {
        let store = Arc::clone(&self.store);
        let prefix = self.url.prefix().to_string();
        let listed = self.wait(async move {
            let prefix = (!prefix.is_empty()).then(|| Key::from(prefix.as_str()));
            store.list_with_delimiter(prefix.as_ref()).await.map(drop)
        })?;
        listed.map_err(|e| self.classify(e, "list", self.url.prefix()))
    }

    /// Deletes the object (no error when it is already gone).
    pub(super) fn delete(&self, key: &str) -> Result<()> {
        let store = Arc::clone(&self.store);
        let path = self.parse_key(key)?;
        self.wait(async move { store.delete(&path).await })?
            .map_err(|e| self.classify(e, "delete", key))
    }

    fn parse_key(&self, key: &str) -> Result<Key> {
        Key::parse(key).map_err(|e| {
            StorageError::Elsewhere {
                reference: format!("{key} ({e})"),
                url: self.url.to_string(),
            }
            .into()
        })
    }

    /// Runs `future` on the storage runtime and waits for it, from sync
    /// code or from inside another runtime alike.
    fn wait<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        self.worker.wait(future).ok_or_else(|| {
            StorageError::Failed {
                url: self.url.to_string(),
                endpoint: self.endpoint.clone(),
                action: "run",
                key: String::new(),
                reason: "the storage task stopped".into(),
            }
            .into()
        })
    }

    /// Maps an `object_store` error onto what a designer can act on.
    fn classify(&self, error: object_store::Error, action: &'static str, key: &str) -> Error {
        let url = self.url.to_string();
        let endpoint = self.endpoint.clone();
        let key = key.to_string();
        let reason = scrub_reason(&error);
        let chain = error_chain(&error);
        let no_bucket = chain.contains("NoSuchBucket");
        match error {
            _ if no_bucket => StorageError::NoBucket {
                url,
                endpoint,
                bucket: self.url.bucket().to_string(),
            },
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => StorageError::Denied {
                url,
                endpoint,
                action,
                key,
                key_variables: self.key_variables.clone(),
            },
            _ if chain.contains("SignatureDoesNotMatch")
                || chain.contains("InvalidAccessKeyId")
                || chain.contains("AccessDenied") =>
            {
                StorageError::Denied {
                    url,
                    endpoint,
                    action,
                    key,
                    key_variables: self.key_variables.clone(),
                }
            }
            object_store::Error::NotFound { .. } => StorageError::Missing {
                url,
                endpoint,
                reference: self.reference_of_key(&key),
            },
            _ if is_transport(&chain) => StorageError::Unreachable {
                url,
                endpoint,
                action,
                key,
                reason: short(&reason),
            },
            _ => StorageError::Failed {
                url,
                endpoint,
                action,
                key,
                reason: short(&reason),
            },
        }
        .into()
    }

    fn reference_of_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.url.bucket())
    }
}

/// Connection-level failures: nothing answered.
fn is_transport(chain: &str) -> bool {
    let chain = chain.to_ascii_lowercase();
    [
        "connection refused",
        "error sending request",
        "connect",
        "dns error",
        "timed out",
        "timeout",
        "connection reset",
    ]
    .iter()
    .any(|needle| chain.contains(needle))
}

/// The error and its sources, as one string.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The chain, scrubbed of every registered secret.
fn scrub_reason(error: &dyn std::error::Error) -> String {
    redact::scrub(&error_chain(error))
}

/// One line, at most a few hundred characters: a server's XML body does
/// not belong on the terminal whole.
fn short(reason: &str) -> String {
    let line: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.chars().count() > 300 {
        let cut: String = line.chars().take(300).collect();
        format!("{cut}…")
    } else {
        line
    }
}

/// One worker thread running the client's futures. Callers hand it a
/// future and block on a channel (sync code) — which works inside another
/// runtime too, where `block_on` would panic — and the HTTP connection
/// pool lives as long as the client instead of dying with a per-call
/// runtime.
struct Worker {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Worker {
    fn new() -> Result<Worker> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("latina-storage")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        Ok(Worker {
            runtime: Some(runtime),
        })
    }

    /// `None` when the task died (a panic in the client).
    fn wait<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let runtime = self.runtime.as_ref()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Dropping a runtime inside another one panics; this does not.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
