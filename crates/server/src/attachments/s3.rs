//! Attachments in a bucket of an S3-compatible object store, through
//! `object_store`'s S3 client. Objects are named as the local directory
//! names its files ([`object_name`]), under the bucket's prefix.
//!
//! Uploads stream: a file smaller than one part goes in one PUT, a larger
//! one as a multipart upload, at most [`PARTS_IN_FLIGHT`] parts of
//! [`PART_BYTES`] in memory at once. Downloads read the range asked for.

use std::io;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

use super::location::S3Location;
use super::storage::{FileStorage, Reader, object_name};

/// S3's smallest part but the last; a 25 MB upload is five of them.
pub const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts uploading at once: what an upload holds in memory is bounded by these.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Reads from the spooled upload, copied into the part being filled.
const READ_BYTES: usize = 64 * 1024;

pub struct S3FileStorage {
    store: AmazonS3,
    prefix: Path,
}

impl S3FileStorage {
    pub fn new(location: &S3Location) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket.name)
            .with_access_key_id(&location.credentials.access_key_id)
            .with_secret_access_key(&location.credentials.secret_access_key)
            .with_region(&location.credentials.region)
            // A download streams at its visitor's pace: a whole-request
            // timeout would cut the slow ones off. Connecting stays bounded.
            .with_client_options(
                ClientOptions::new().with_timeout_disabled().with_connect_timeout(Duration::from_secs(5)),
            )
            // A store that is down is told within seconds (at start, by
            // /healthz, to an upload) rather than after minutes of retries.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
            });
        if let Some(endpoint) = &location.endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                anyhow::bail!("--s3-endpoint {endpoint} is not an http:// or https:// URL");
            }
            // Path-style requests (endpoint/bucket/key), which S3-compatible servers take.
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|err| anyhow::anyhow!("configuring the S3 client: {err}"))?;
        Ok(S3FileStorage { store, prefix: Path::from(location.bucket.prefix.as_str()) })
    }

    fn path_of(&self, key: &str) -> Path {
        let (fan_out, name) = object_name(key);
        self.prefix.child(fan_out).child(name)
    }

    /// The rest of `body` as a multipart upload after its first part, `first`.
    async fn put_parts(
        &self,
        path: &Path,
        first: Vec<u8>,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> io::Result<u64> {
        let upload = self.store.put_multipart(path).await.map_err(io_error)?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut total = first.len() as u64;
        parts.write(&first);
        drop(first);
        let mut buffer = vec![0; READ_BYTES];
        let written = async {
            loop {
                let n = body.read(&mut buffer).await?;
                if n == 0 {
                    return Ok::<_, io::Error>(());
                }
                parts.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(io_error)?;
                parts.write(&buffer[..n]);
                total += n as u64;
            }
        }
        .await;
        match written {
            Ok(()) => {
                parts.finish().await.map_err(io_error)?;
                Ok(total)
            }
            Err(err) => {
                // The parts uploaded so far would otherwise be kept, and billed.
                if let Err(abort) = parts.abort().await {
                    tracing::warn!(%abort, %path, "could not abort a failed multipart upload");
                }
                Err(err)
            }
        }
    }
}

#[async_trait]
impl FileStorage for S3FileStorage {
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Send + Unpin)) -> io::Result<u64> {
        let path = self.path_of(key);
        let mut first = Vec::with_capacity(PART_BYTES);
        (&mut *body).take(PART_BYTES as u64).read_to_end(&mut first).await?;
        if first.len() < PART_BYTES {
            let n = first.len() as u64;
            self.store.put(&path, PutPayload::from(first)).await.map_err(io_error)?;
            return Ok(n);
        }
        self.put_parts(&path, first, body).await
    }

    async fn open(&self, key: &str, range: Option<(u64, u64)>) -> io::Result<Option<Reader>> {
        let options = GetOptions {
            range: range.map(|(start, len)| GetRange::Bounded(start..start + len)),
            ..GetOptions::default()
        };
        match self.store.get_opts(&self.path_of(key), options).await {
            Ok(found) => Ok(Some(Box::new(StreamReader::new(found.into_stream().map_err(io_error))))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(io_error(err)),
        }
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match self.store.delete(&self.path_of(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(io_error(err)),
        }
    }

    /// A listing of the prefix: fails when the server, the bucket or the credentials do.
    async fn check(&self) -> io::Result<()> {
        self.store.list_with_delimiter(Some(&self.prefix)).await.map(drop).map_err(io_error)
    }
}

/// `object_store`'s errors name the operation and the object; kept whole.
fn io_error(err: object_store::Error) -> io::Error {
    match err {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, err),
        err => io::Error::other(err),
    }
}
