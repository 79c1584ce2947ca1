//! Where `serve` keeps attachments: `--files DIR` (by default the data
//! directory's `files`) or `--files s3://BUCKET[/prefix]`, with
//! `--s3-endpoint` for S3-compatible servers. Checked when parsed, and the
//! storage is reached once before the server listens, so that a wrong
//! setting stops the start with what is wrong.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;

use super::s3::S3FileStorage;
use super::storage::{FileStorage, LocalFileStorage};

/// The value of `--files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesArg {
    Dir(PathBuf),
    S3(Bucket),
}

/// `s3://BUCKET[/prefix]`: the bucket and the prefix of every object's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    /// Without leading or trailing slashes; empty for the bucket's root.
    pub prefix: String,
}

impl FromStr for FilesArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((scheme, rest)) = text.split_once("://") else { return Ok(FilesArg::Dir(text.into())) };
        if scheme != "s3" {
            return Err(format!("unknown scheme {scheme}://: --files takes a directory or s3://BUCKET[/prefix]"));
        }
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if name.is_empty() {
            return Err(format!("{text} names no bucket: --files takes s3://BUCKET[/prefix]"));
        }
        // S3's rules for bucket names: 3 to 63 lowercase letters, digits, dots and hyphens.
        let valid = (3..=63).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(format!("{name:?} is not a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens"));
        }
        let prefix = prefix.trim_matches('/');
        object_store::path::Path::parse(prefix).map_err(|err| format!("the prefix {prefix:?} of {text}: {err}"))?;
        Ok(FilesArg::S3(Bucket { name: name.to_owned(), prefix: prefix.to_owned() }))
    }
}

/// Where attachments are, as `serve` takes it.
#[derive(Debug, Clone)]
pub enum FilesLocation {
    Dir(PathBuf),
    S3(S3Location),
}

/// A bucket, the server that holds it, and the credentials to reach it.
#[derive(Debug, Clone)]
pub struct S3Location {
    pub bucket: Bucket,
    /// An S3-compatible server, e.g. http://127.0.0.1:9000; AWS's by default.
    pub endpoint: Option<String>,
    pub credentials: S3Credentials,
}

/// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION`.
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

/// The region when `AWS_REGION` is not set, as AWS's own tools assume.
pub const DEFAULT_REGION: &str = "us-east-1";

impl S3Credentials {
    /// The standard AWS variables; both keys are required.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(access_key_id), Some(secret_access_key)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            anyhow::bail!("--files s3://… needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set");
        };
        let region = var("AWS_REGION").unwrap_or_else(|| DEFAULT_REGION.to_owned());
        Ok(S3Credentials { access_key_id, secret_access_key, region })
    }
}

/// The secret stays out of logs and error messages.
impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl FilesLocation {
    /// `--files` and `--s3-endpoint` as given; without `--files`, `default_dir`.
    pub fn from_args(files: Option<FilesArg>, endpoint: Option<String>, default_dir: PathBuf) -> anyhow::Result<Self> {
        match (files, endpoint) {
            (Some(FilesArg::S3(bucket)), endpoint) => {
                Ok(FilesLocation::S3(S3Location { bucket, endpoint, credentials: S3Credentials::from_env()? }))
            }
            (_, Some(_)) => anyhow::bail!("--s3-endpoint is for --files s3://BUCKET[/prefix], and --files is not one"),
            (Some(FilesArg::Dir(dir)), None) => Ok(FilesLocation::Dir(dir)),
            (None, None) => Ok(FilesLocation::Dir(default_dir)),
        }
    }

    /// The storage, once it has answered.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn FileStorage>> {
        let storage: Arc<dyn FileStorage> = match self {
            FilesLocation::Dir(dir) => Arc::new(
                LocalFileStorage::new(dir)
                    .with_context(|| format!("creating the files directory {}", dir.display()))?,
            ),
            FilesLocation::S3(location) => Arc::new(S3FileStorage::new(location)?),
        };
        storage.check().await.with_context(|| format!("reaching the attachments' storage, {self}"))?;
        Ok(storage)
    }
}

impl fmt::Display for FilesLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilesLocation::Dir(dir) => write!(f, "the directory {}", dir.display()),
            FilesLocation::S3(S3Location { bucket, endpoint, .. }) => {
                write!(f, "s3://{}/{} at {}", bucket.name, bucket.prefix, endpoint.as_deref().unwrap_or("AWS"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FilesArg, String> {
        text.parse()
    }

    #[test]
    fn directories_and_buckets_parse() {
        assert_eq!(parse("./data/files"), Ok(FilesArg::Dir("./data/files".into())));
        assert_eq!(
            parse("s3://chat-files"),
            Ok(FilesArg::S3(Bucket { name: "chat-files".into(), prefix: String::new() }))
        );
        assert_eq!(
            parse("s3://chat.files/site/a/"),
            Ok(FilesArg::S3(Bucket { name: "chat.files".into(), prefix: "site/a".into() }))
        );
    }

    #[test]
    fn bad_locations_say_what_is_wrong() {
        assert_eq!(
            parse("gs://bucket").unwrap_err(),
            "unknown scheme gs://: --files takes a directory or s3://BUCKET[/prefix]"
        );
        assert_eq!(parse("s3://").unwrap_err(), "s3:// names no bucket: --files takes s3://BUCKET[/prefix]");
        assert_eq!(
            parse("s3:///prefix").unwrap_err(),
            "s3:///prefix names no bucket: --files takes s3://BUCKET[/prefix]"
        );
        assert!(parse("s3://Upper_Case").unwrap_err().contains("is not a bucket name"));
        assert!(parse("s3://bucket/a//b").unwrap_err().starts_with("the prefix \"a//b\""));
    }

    #[test]
    fn an_endpoint_needs_a_bucket() {
        let err = FilesLocation::from_args(Some(FilesArg::Dir("f".into())), Some("http://x".into()), "d".into());
        assert!(err.unwrap_err().to_string().starts_with("--s3-endpoint is for --files s3://"));
        assert!(
            matches!(FilesLocation::from_args(None, None, "d".into()), Ok(FilesLocation::Dir(d)) if d.as_os_str() == "d")
        );
    }

    #[test]
    fn the_secret_is_not_shown() {
        let credentials =
            S3Credentials { access_key_id: "AKIA".into(), secret_access_key: "hunter2".into(), region: "eu".into() };
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }
}
