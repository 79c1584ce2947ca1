//! Where attachments' bytes live, behind [`FileStorage`]: a local directory
//! (the default) or an S3-compatible bucket ([`super::s3`]).
//!
//! Keys are the store's `storage_key`s (`<workspace>/<file>/<name>`); a
//! backend maps them to its own names with [`object_name`].

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt};

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;

#[async_trait]
pub trait FileStorage: Send + Sync + 'static {
    /// Stores everything `body` yields under `key`, durably; returns the byte count.
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Send + Unpin)) -> io::Result<u64>;

    /// Stores a finished local file under `key`, consuming it. Backends that
    /// can (the local one: a rename) do better than copying it through `put`.
    async fn put_file(&self, key: &str, path: &Path) -> io::Result<()> {
        let mut file = tokio::fs::File::open(path).await?;
        self.put(key, &mut file).await?;
        tokio::fs::remove_file(path).await
    }

    /// `len` bytes from `start`, or all when `range` is `None`; `None` when there is no such key.
    async fn open(&self, key: &str, range: Option<(u64, u64)>) -> io::Result<Option<Reader>>;

    /// Removes the key's bytes; a missing key is not an error.
    async fn delete(&self, key: &str) -> io::Result<()>;

    /// Whether the storage answers: checked at start and by `/healthz`.
    async fn check(&self) -> io::Result<()>;
}

/// A key's name in a backend, `<2 hex>/<SHA-256 hex>`: no key, however odd
/// its characters or long its name, becomes a path or object name of its own.
pub fn object_name(key: &str) -> (String, String) {
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    (hash[..2].to_owned(), hash)
}

/// Files in a directory, named by [`object_name`].
pub struct LocalFileStorage {
    root: PathBuf,
}

impl LocalFileStorage {
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(LocalFileStorage { root })
    }

    fn path_of(&self, key: &str) -> PathBuf {
        let (fan_out, name) = object_name(key);
        self.root.join(fan_out).join(name)
    }

    async fn parent_of(&self, key: &str) -> io::Result<PathBuf> {
        let path = self.path_of(key);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        Ok(path)
    }
}

#[async_trait]
impl FileStorage for LocalFileStorage {
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Send + Unpin)) -> io::Result<u64> {
        let path = self.parent_of(key).await?;
        // Written aside and renamed, so that a reader never sees half a file.
        let partial = path.with_extension(format!("part-{:016x}", rand::random::<u64>()));
        let written = async {
            let mut file = tokio::fs::File::create(&partial).await?;
            let n = tokio::io::copy(body, &mut file).await?;
            file.flush().await?;
            file.sync_all().await?;
            Ok::<_, io::Error>(n)
        }
        .await;
        match written {
            Ok(n) => {
                tokio::fs::rename(&partial, &path).await?;
                Ok(n)
            }
            Err(err) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(err)
            }
        }
    }

    async fn put_file(&self, key: &str, path: &Path) -> io::Result<()> {
        let target = self.parent_of(key).await?;
        match tokio::fs::rename(path, &target).await {
            Ok(()) => Ok(()),
            // Another file system: copy it through.
            Err(err) if err.kind() == io::ErrorKind::CrossesDevices => {
                let mut file = tokio::fs::File::open(path).await?;
                self.put(key, &mut file).await?;
                tokio::fs::remove_file(path).await
            }
            Err(err) => Err(err),
        }
    }

    async fn open(&self, key: &str, range: Option<(u64, u64)>) -> io::Result<Option<Reader>> {
        let mut file = match tokio::fs::File::open(self.path_of(key)).await {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        Ok(Some(match range {
            Some((start, len)) => {
                file.seek(io::SeekFrom::Start(start)).await?;
                Box::new(tokio::io::AsyncReadExt::take(file, len))
            }
            None => Box::new(file),
        }))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        let path = self.path_of(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        // The fan-out directory goes when empty; failing that is harmless.
        if let Some(dir) = path.parent() {
            let _ = tokio::fs::remove_dir(dir).await;
        }
        Ok(())
    }

    async fn check(&self) -> io::Result<()> {
        match tokio::fs::metadata(&self.root).await?.is_dir() {
            true => Ok(()),
            false => Err(io::Error::other(format!("{} is not a directory", self.root.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn read_all(mut reader: Reader) -> Vec<u8> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn put_open_range_delete() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalFileStorage::new(dir.path().join("files")).unwrap();
        let key = "ws_1/file_1/../../escape?.txt";
        assert_eq!(storage.put(key, &mut &b"hello, world"[..]).await.unwrap(), 12);
        assert_eq!(read_all(storage.open(key, None).await.unwrap().unwrap()).await, b"hello, world");
        assert_eq!(read_all(storage.open(key, Some((7, 5))).await.unwrap().unwrap()).await, b"world");
        assert!(storage.open("ws_1/other", None).await.unwrap().is_none());
        storage.delete(key).await.unwrap();
        storage.delete(key).await.unwrap();
        assert!(storage.open(key, None).await.unwrap().is_none());
        // Nothing escaped the root, nothing is left in it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(std::fs::read_dir(dir.path().join("files")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn put_file_moves_the_file_in() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalFileStorage::new(dir.path().join("files")).unwrap();
        let spooled = dir.path().join("upload.part");
        std::fs::write(&spooled, b"bytes").unwrap();
        storage.put_file("k", &spooled).await.unwrap();
        assert!(!spooled.exists());
        assert_eq!(read_all(storage.open("k", None).await.unwrap().unwrap()).await, b"bytes");
    }
}
