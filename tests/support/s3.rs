//! The S3-compatible server the storage tests run against (SeaweedFS,
//! started by `.ci/start-s3`), found through `LATINA_TEST_S3_*`, and an
//! independent client to look into the bucket: the tests check what is
//! really there, not what latina's own code says.
//!
//! Without `LATINA_TEST_S3_ENDPOINT` a test prints a note and skips, unless
//! `LATINA_REQUIRE_S3` is set (CI sets it), when it fails.

#![allow(dead_code)]

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct S3 {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    client: AmazonS3,
    rt: tokio::runtime::Runtime,
}

/// The test server, or `None` (after a printed note) when there is none.
pub fn server(test: &str) -> Option<S3> {
    let Ok(endpoint) = std::env::var("LATINA_TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var_os("LATINA_REQUIRE_S3").is_none(),
            "LATINA_REQUIRE_S3 is set but LATINA_TEST_S3_ENDPOINT is not: run `eval \"$(.ci/start-s3)\"`"
        );
        eprintln!(
            "\n!!!!!!!! SKIPPED {test}: no S3 server (eval \"$(.ci/start-s3)\" first; CI sets LATINA_REQUIRE_S3=1) !!!!!!!!\n"
        );
        return None;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let (bucket, access_key, secret_key) = (
        var("LATINA_TEST_S3_BUCKET"),
        var("LATINA_TEST_S3_ACCESS_KEY"),
        var("LATINA_TEST_S3_SECRET_KEY"),
    );
    let client = AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(&bucket)
        .with_access_key_id(&access_key)
        .with_secret_access_key(&secret_key)
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    Some(S3 {
        endpoint,
        bucket,
        access_key,
        secret_key,
        client,
        rt,
    })
}

impl S3 {
    /// A prefix no other test (or earlier run) uses.
    pub fn unique_prefix(&self, test: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!(
            "{test}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The variables latina reads: endpoint, region, keys, plain http.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Every key under `prefix`, sorted.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        use futures_util::TryStreamExt;
        let prefix = Key::from(prefix);
        let mut keys: Vec<String> = self
            .rt
            .block_on(
                self.client
                    .list(Some(&prefix))
                    .map_ok(|m| m.location.to_string())
                    .try_collect(),
            )
            .unwrap();
        keys.sort();
        keys
    }

    pub fn get(&self, key: &str) -> Vec<u8> {
        self.rt
            .block_on(async { self.client.get(&Key::from(key)).await?.bytes().await })
            .unwrap()
            .to_vec()
    }

    pub fn put(&self, key: &str, bytes: &[u8]) {
        self.rt
            .block_on(self.client.put(&Key::from(key), bytes.to_vec().into()))
            .unwrap();
    }

    pub fn delete(&self, key: &str) {
        self.rt
            .block_on(self.client.delete(&Key::from(key)))
            .unwrap();
    }
}

/// A TCP port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
