//! The storage layer's typed error. Every message names the bucket URL and
//! the endpoint so a studio knows which server is meant, and never a key:
//! reasons from the server are scrubbed of the configured secrets.

/// Every way reading or writing an image file can fail.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A variable the `[s3]` config names for a key is unset or empty.
    #[error("storage {url}: the environment variable {variable} (the {what}) is unset or empty")]
    MissingKey {
        /// The configured bucket URL.
        url: String,
        /// The variable's name (never its value).
        variable: String,
        /// "access key id" or "secret access key".
        what: &'static str,
    },

    /// The client could not be built (e.g. a malformed `AWS_ENDPOINT_URL`).
    #[error("storage {url} at {endpoint}: {reason}")]
    Client {
        /// The configured bucket URL.
        url: String,
        /// The endpoint, as configured.
        endpoint: String,
        /// Why.
        reason: String,
    },

    /// No answer from the server (refused, timed out, DNS).
    #[error("storage {url} at {endpoint}: the server cannot be reached ({action} {key}): {reason}")]
    Unreachable {
        /// The configured bucket URL.
        url: String,
        /// The endpoint.
        endpoint: String,
        /// What latina was doing: "upload", "download", ...
        action: &'static str,
        /// The object's key.
        key: String,
        /// The transport's reason.
        reason: String,
    },

    /// The server refused the credentials or the operation.
    #[error(
        "storage {url} at {endpoint}: access denied ({action} {key}): check the keys in {key_variables}"
    )]
    Denied {
        /// The configured bucket URL.
        url: String,
        /// The endpoint.
        endpoint: String,
        /// What latina was doing.
        action: &'static str,
        /// The object's key.
        key: String,
        /// The names of the variables that hold the keys.
        key_variables: String,
    },

    /// The bucket does not exist on that server.
    #[error("storage {url} at {endpoint}: the bucket {bucket} does not exist")]
    NoBucket {
        /// The configured bucket URL.
        url: String,
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
    },

    /// The object a row names is not in the bucket.
    #[error("storage {url} at {endpoint}: {reference} is not in the bucket")]
    Missing {
        /// The configured bucket URL.
        url: String,
        /// The endpoint.
        endpoint: String,
        /// The reference the database recorded.
        reference: String,
    },

    /// Any other failure the server reported.
    #[error("storage {url} at {endpoint}: {action} {key} failed: {reason}")]
    Failed {
        /// The configured bucket URL.
        url: String,
        /// The endpoint.
        endpoint: String,
        /// What latina was doing.
        action: &'static str,
        /// The object's key.
        key: String,
        /// The server's reason, scrubbed.
        reason: String,
    },

    /// A row names an object, but this client has no bucket configured.
    #[error(
        "{reference} is in an object store, but storage is not configured here: set storage = \"s3://…\" in the config or LATINA_STORAGE"
    )]
    NotConfigured {
        /// The reference the database recorded.
        reference: String,
    },

    /// A row names an object outside the configured bucket and prefix, or
    /// a key that could name a file outside the cache.
    #[error("{reference} is not a file of the configured storage {url}")]
    Elsewhere {
        /// The reference the database recorded.
        reference: String,
        /// The configured bucket URL.
        url: String,
    },
}
