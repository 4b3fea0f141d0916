//! Where the bytes of files left on the server live. [`BlobStore`] is all the rest of the
//! server asks of it, so a store of another kind (S3-compatible) can take the place of
//! [`FsBlobs`], the embedded default: uploads in progress as `partial/<upload id>`, finished
//! content as `sha256/<first two hex digits>/<hex SHA-256>`, one file per distinct content.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

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
    async fn append(&self, upload: &str, offset: u64, data: &[u8]) -> Result<u64, AppendError>;
    /// Stores a finished upload's bytes as a blob; returns their SHA-256 (hex).
    async fn seal(&self, upload: &str) -> io::Result<String>;
    /// Stores `data` as a blob (thumbnails); returns its SHA-256 (hex).
    async fn put(&self, data: &[u8]) -> io::Result<String>;
    /// A blob's bytes.
    async fn read(&self, hash: &str) -> io::Result<Vec<u8>>;
    /// A blob to stream and its length.
    async fn open(&self, hash: &str) -> io::Result<(tokio::fs::File, u64)>;
    /// Forgets an upload in progress.
    async fn discard(&self, upload: &str) -> io::Result<()>;
    /// Deletes a blob (no row names it any more).
    async fn delete(&self, hash: &str) -> io::Result<()>;
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

    /// Moves a file whose content is `hash` into place (a blob of that content may be there
    /// already: same bytes, so either copy will do).
    async fn place(&self, file: &Path, hash: &str) -> io::Result<()> {
        let target = self.blob(hash)?;
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::rename(file, &target).await
    }
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
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        let len = file.metadata().await?.len();
        if len != offset {
            return Err(AppendError::Offset(len));
        }
        file.write_all(data).await?;
        // Acknowledged bytes are on disk: a resumed upload continues from what was confirmed.
        file.sync_data().await?;
        Ok(len + data.len() as u64)
    }

    async fn seal(&self, upload: &str) -> io::Result<String> {
        let path = self.partial(upload)?;
        let reading = path.clone();
        let hash = tokio::task::spawn_blocking(move || -> io::Result<String> {
            let mut file = std::fs::File::open(reading)?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0; 256 * 1024];
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            Ok(hex(&hasher.finalize()))
        })
        .await
        .map_err(io::Error::other)??;
        self.place(&path, &hash).await?;
        Ok(hash)
    }

    async fn put(&self, data: &[u8]) -> io::Result<String> {
        let hash = hex(&Sha256::digest(data));
        let temporary = self
            .root
            .join("partial")
            .join(format!("put-{}", &hash[..16]));
        let mut file = tokio::fs::File::create(&temporary).await?;
        file.write_all(data).await?;
        file.sync_data().await?;
        self.place(&temporary, &hash).await?;
        Ok(hash)
    }

    async fn read(&self, hash: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.blob(hash)?).await
    }

    async fn open(&self, hash: &str) -> io::Result<(tokio::fs::File, u64)> {
        let file = tokio::fs::File::open(self.blob(hash)?).await?;
        let len = file.metadata().await?.len();
        Ok((file, len))
    }

    async fn discard(&self, upload: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.partial(upload)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn delete(&self, hash: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.blob(hash)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
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
        assert_eq!(blobs.append("u1", 6, b"world").await.unwrap(), 11);
        let hash = blobs.seal("u1").await.unwrap();
        assert_eq!(
            hash,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(blobs.read(&hash).await.unwrap(), b"hello world");
        assert_eq!(blobs.received("u1").await.unwrap(), 0);
        // The same content again is one blob.
        assert_eq!(blobs.put(b"hello world").await.unwrap(), hash);
        blobs.delete(&hash).await.unwrap();
        assert!(blobs.read(&hash).await.is_err());
        // Names that could leave the directory are refused.
        assert!(blobs.received("../chat.db").await.is_err());
        assert!(blobs.read("../../etc/passwd").await.is_err());
    }
}
