//! Where the bytes of files left on the server live. [`BlobStore`] is all the rest of the
//! server asks of it, so a store of another kind (S3-compatible) can take the place of
//! [`FsBlobs`], the embedded default: uploads in progress as `partial/<upload id>`, finished
//! content as `sha256/<first two hex digits>/<hex SHA-256>`, one file per distinct content.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why bytes could not be added to an upload.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The upload holds this many bytes, not the offset the client sent.
    #[error("the upload is at byte {0}")]
    Offset(u64),
    #[error(transparent)]
    Io(#[from] io::Error),
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Bytes an upload in progress holds (0 before the first).
    async fn received(&self, upload: &str) -> io::Result<u64>;
    /// Adds `data` at `offset`, which must be what the upload holds; returns the new length.
    /// Writers of one upload take turns, on any node sharing the store.
    async fn append(&self, upload: &str, offset: u64, data: &[u8]) -> Result<u64, AppendError>;
    /// Stores a finished upload of exactly `size` bytes as a blob; returns its SHA-256 (hex).
    /// Nothing can be added to it any more, and an existing blob of the same content is kept
    /// as it is.
    async fn seal(&self, upload: &str, size: u64) -> Result<String, AppendError>;
    /// Stores `data` as a blob (thumbnails, pictures); returns its SHA-256 (hex).
    async fn put(&self, data: &[u8]) -> io::Result<String>;
    /// The first `len` bytes of a blob (to recognise its type).
    async fn head(&self, hash: &str, len: usize) -> io::Result<Vec<u8>>;
    /// A blob's bytes.
    async fn read(&self, hash: &str) -> io::Result<Vec<u8>>;
    /// A blob to stream and its length.
    async fn open(&self, hash: &str) -> io::Result<(tokio::fs::File, u64)>;
    /// Whether a blob is there.
    async fn exists(&self, hash: &str) -> io::Result<bool>;
    /// Forgets an upload in progress.
    async fn discard(&self, upload: &str) -> io::Result<()>;
    /// Deletes a blob no row names, unless it was stored less than `grace` ago: an upload of
    /// the same content may be about to name it (its row is written after its bytes).
    /// Returns whether it went.
    async fn delete(&self, hash: &str, grace: Duration) -> io::Result<bool>;
    /// Blobs stored more than `grace` ago, for the sweep that removes those no row names.
    async fn older_than(&self, grace: Duration) -> io::Result<Vec<String>>;
}

/// Blobs as files in a directory.
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    pub fn open(root: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(root.join("partial"))?;
        std::fs::create_dir_all(root.join("sha256"))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// Upload ids and hashes are made by the server; checked again so no name can leave the
    /// directory.
    fn partial(&self, upload: &str) -> io::Result<PathBuf> {
        if upload.is_empty()
            || upload.len() > 64
            || !upload
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad upload id"));
        }
        Ok(self.root.join("partial").join(upload))
    }

    fn blob(&self, hash: &str) -> io::Result<PathBuf> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad hash"));
        }
        Ok(self.root.join("sha256").join(&hash[..2]).join(hash))
    }
}

/// Moves `file` (content `hash`) into place at `target`, unless a blob of that content is
/// there already (then `file` goes: an existing blob is never replaced, so nothing written to
/// a replaced file could reach it). The directory is synced, so a row that names the blob
/// after this never outlives it in a crash.
fn place(file: &Path, target: &Path) -> io::Result<()> {
    let dir = target.parent().unwrap_or(target);
    std::fs::create_dir_all(dir)?;
    // A hard link fails where the target exists: no replacing, atomically.
    match std::fs::hard_link(file, target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Stored again now: the collector's grace starts over.
            let _ = std::fs::File::options()
                .append(true)
                .open(target)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
        Err(e) => return Err(e),
    }
    std::fs::remove_file(file)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Runs file work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppendError> + Send + 'static,
) -> Result<T, AppendError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppendError::Io(io::Error::other(e)))?
}

fn io_only<T>(result: Result<T, AppendError>) -> io::Result<T> {
    result.map_err(|e| match e {
        AppendError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    })
}

#[async_trait]
impl BlobStore for FsBlobs {
    async fn received(&self, upload: &str) -> io::Result<u64> {
        match tokio::fs::metadata(self.partial(upload)?).await {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    async fn append(&self, upload: &str, offset: u64, data: &[u8]) -> Result<u64, AppendError> {
        let path = self.partial(upload)?;
        let data = data.to_vec();
        blocking(move || {
            let mut file = std::fs::File::options()
                .create(true)
                .append(true)
                .open(&path)?;
            // One writer at a time (a lock of the file, so across nodes sharing it too); a
            // file sealed meanwhile was moved away, and its length is past any offset.
            file.lock()?;
            let moved = std::fs::metadata(&path).map_or(true, |now| {
                use std::os::unix::fs::MetadataExt;
                file.metadata().map_or(true, |mine| mine.ino() != now.ino())
            });
            let len = file.metadata()?.len();
            if moved || len != offset {
                return Err(AppendError::Offset(len));
            }
            file.write_all(&data)?;
            // Acknowledged bytes are on disk: a resumed upload continues from what was
            // confirmed.
            file.sync_data()?;
            Ok(len + data.len() as u64)
        })
        .await
    }

    async fn seal(&self, upload: &str, size: u64) -> Result<String, AppendError> {
        let path = self.partial(upload)?;
        let root = self.root.clone();
        blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            // Waits for a chunk being written; any writer after this finds the file moved.
            file.lock()?;
            let len = file.metadata()?.len();
            if len != size {
                return Err(AppendError::Offset(len));
            }
            let mut hasher = Sha256::new();
            let mut buffer = vec![0; 256 * 1024];
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            let hash = hex(&hasher.finalize());
            let target = root.join("sha256").join(&hash[..2]).join(&hash);
            place(&path, &target)?;
            Ok(hash)
        })
        .await
    }

    async fn put(&self, data: &[u8]) -> io::Result<String> {
        let hash = hex(&Sha256::digest(data));
        let target = self.blob(&hash)?;
        let mut name = [0u8; 12];
        getrandom::fill(&mut name).map_err(io::Error::other)?;
        let temporary = self
            .root
            .join("partial")
            .join(format!("put-{}", hex(&name)));
        let data = data.to_vec();
        io_only(
            blocking(move || {
                let mut file = std::fs::File::create(&temporary)?;
                file.write_all(&data)?;
                file.sync_data()?;
                place(&temporary, &target)?;
                Ok(())
            })
            .await,
        )?;
        Ok(hash)
    }

    async fn head(&self, hash: &str, len: usize) -> io::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let file = tokio::fs::File::open(self.blob(hash)?).await?;
        let mut head = Vec::with_capacity(len);
        file.take(len as u64).read_to_end(&mut head).await?;
        Ok(head)
    }

    async fn read(&self, hash: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.blob(hash)?).await
    }

    async fn open(&self, hash: &str) -> io::Result<(tokio::fs::File, u64)> {
        let file = tokio::fs::File::open(self.blob(hash)?).await?;
        let len = file.metadata().await?.len();
        Ok((file, len))
    }

    async fn exists(&self, hash: &str) -> io::Result<bool> {
        tokio::fs::try_exists(self.blob(hash)?).await
    }

    async fn discard(&self, upload: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.partial(upload)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn delete(&self, hash: &str, grace: Duration) -> io::Result<bool> {
        let path = self.blob(hash)?;
        let stored = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.modified()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(e),
        };
        if stored.elapsed().unwrap_or_default() < grace {
            return Ok(false);
        }
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(true),
        }
    }

    async fn older_than(&self, grace: Duration) -> io::Result<Vec<String>> {
        let root = self.root.join("sha256");
        io_only(
            blocking(move || {
                let mut found = Vec::new();
                for dir in std::fs::read_dir(root)? {
                    for file in std::fs::read_dir(dir?.path())? {
                        let file = file?;
                        let old = file
                            .metadata()?
                            .modified()?
                            .elapsed()
                            .is_ok_and(|age| age >= grace);
                        if old && let Some(name) = file.file_name().to_str() {
                            found.push(name.to_owned());
                        }
                    }
                }
                Ok(found)
            })
            .await,
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn uploads_resume_at_their_length_and_seal_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        assert_eq!(blobs.received("u1").await.unwrap(), 0);
        assert_eq!(blobs.append("u1", 0, b"hello ").await.unwrap(), 6);
        // A repeated or skipped chunk is refused with where the upload stands.
        assert!(matches!(
            blobs.append("u1", 0, b"hello ").await,
            Err(AppendError::Offset(6))
        ));
        // Sealing checks the size.
        assert!(matches!(
            blobs.seal("u1", 11).await,
            Err(AppendError::Offset(6))
        ));
        assert_eq!(blobs.append("u1", 6, b"world").await.unwrap(), 11);
        let hash = blobs.seal("u1", 11).await.unwrap();
        assert_eq!(
            hash,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(blobs.read(&hash).await.unwrap(), b"hello world");
        assert_eq!(blobs.head(&hash, 5).await.unwrap(), b"hello");
        assert_eq!(blobs.received("u1").await.unwrap(), 0);
        // The same content again is one blob, and the first one is kept as it is.
        assert_eq!(blobs.put(b"hello world").await.unwrap(), hash);
        assert_eq!(blobs.append("u2", 0, b"hello world").await.unwrap(), 11);
        assert_eq!(blobs.seal("u2", 11).await.unwrap(), hash);
        // A blob just stored is not deleted (an upload may be about to name it); later it is.
        assert!(!blobs.delete(&hash, Duration::from_secs(60)).await.unwrap());
        assert!(
            blobs
                .older_than(Duration::from_secs(60))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            blobs.older_than(Duration::ZERO).await.unwrap(),
            std::slice::from_ref(&hash)
        );
        assert!(blobs.delete(&hash, Duration::ZERO).await.unwrap());
        assert!(blobs.read(&hash).await.is_err());
        // Names that could leave the directory are refused.
        assert!(blobs.received("../chat.db").await.is_err());
        assert!(blobs.read("../../etc/passwd").await.is_err());
    }

    #[tokio::test]
    async fn two_writers_of_one_upload_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = std::sync::Arc::new(FsBlobs::open(dir.path()).unwrap());
        let chunk = vec![7u8; 1 << 20];
        let (a, b) = tokio::join!(blobs.append("u", 0, &chunk), blobs.append("u", 0, &chunk));
        // Exactly one of them wrote; the other learns where the upload stands.
        assert_eq!(
            [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "{a:?} {b:?}"
        );
        assert_eq!(blobs.received("u").await.unwrap(), 1 << 20);
    }
}
