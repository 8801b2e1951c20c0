//! `storage = "s3://bucket/prefix"` and `[s3]`: where latina keeps its
//! image files when a studio shares them, and which environment variables
//! hold the object store's keys. The keys themselves never appear here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A checked `s3://bucket[/prefix]` URL: a bucket name S3 accepts and a
/// prefix of plain path segments (no empty, `.` or `..` segment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StorageUrl {
    bucket: String,
    prefix: String,
}

impl StorageUrl {
    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix inside the bucket, without leading or trailing `/`
    /// (empty for the bucket's root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl FromStr for StorageUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{text:?} is not an s3://bucket/prefix URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules: 3-63 lower-case letters, digits, dots
        // and hyphens, starting and ending with a letter or digit.
        let edges_ok = |b: &str| {
            b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())
        };
        if !(3..=63).contains(&bucket.len())
            || !bucket
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
            || !edges_ok(bucket)
        {
            return Err(format!(
                "{text:?}: the bucket name {bucket:?} must be 3-63 lower-case letters, digits, '.' or '-'"
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == ".." || s.chars().any(char::is_control))
        {
            return Err(format!(
                "{text:?}: the prefix must be plain path segments (no empty, '.' or '..' part)"
            ));
        }
        if text.contains(['?', '#', '@']) {
            return Err(format!(
                "{text:?}: no credentials, query or fragment in the URL (keys come from the environment)"
            ));
        }
        Ok(StorageUrl {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl TryFrom<String> for StorageUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<StorageUrl> for String {
    fn from(url: StorageUrl) -> String {
        url.to_string()
    }
}

/// `[s3]`: the names of the environment variables that hold the object
/// store's access key and secret (the standard AWS ones by default).
/// Endpoint and region come from `AWS_ENDPOINT_URL` and
/// `AWS_REGION`/`AWS_DEFAULT_REGION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// The variable that holds the access key id.
    pub access_key_env: String,
    /// The variable that holds the secret access key.
    pub secret_key_env: String,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            access_key_env: "AWS_ACCESS_KEY_ID".into(),
            secret_key_env: "AWS_SECRET_ACCESS_KEY".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_prefix_are_split_and_printed_back() {
        let url: StorageUrl = "s3://studio-renders/latina/main/".parse().unwrap();
        assert_eq!(url.bucket(), "studio-renders");
        assert_eq!(url.prefix(), "latina/main");
        assert_eq!(url.to_string(), "s3://studio-renders/latina/main");
        let root: StorageUrl = "s3://abc".parse().unwrap();
        assert_eq!((root.bucket(), root.prefix()), ("abc", ""));
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        for (text, reason) in [
            ("https://bucket/x", "not an s3://"),
            ("s3://", "bucket name"),
            ("s3://ab", "bucket name"),
            ("s3://Upper/x", "bucket name"),
            ("s3://-dash/x", "bucket name"),
            ("s3://bucket/a//b", "plain path segments"),
            ("s3://bucket/../b", "plain path segments"),
            ("s3://bucket/x?token=1", "no credentials"),
        ] {
            let err = text.parse::<StorageUrl>().unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }
}
