//! Files left on the server, for people who are not there to receive them peer to peer.
//!
//! - A member who may post starts an upload for a room (`POST /api/rooms/{room}/uploads`),
//!   within the per-file and per-account limits (`--max-upload-mb`, `--upload-quota-mb`), and
//!   sends it in chunks (`PATCH /api/uploads/{id}` with `Upload-Offset`); a broken upload
//!   resumes where the server says it stands (`GET /api/uploads/{id}`).
//! - The last chunk seals it: the bytes become a blob named by their SHA-256 ([`blobs`]), an
//!   image is recognised from its bytes and gets a thumbnail ([`images`]), and the row
//!   (`attachments`) records what it turned out to be.
//! - A message of the owner's carries it (`send` with `attachment`); from then on members of
//!   the room may fetch it ([`api::fetch`]). An upload no message carried is visible to its
//!   owner only, and is collected after a day (a crash between upload and message leaves
//!   nothing anyone else sees, and nothing for long).
//! - Deleting the message releases the file; [`collect`] removes released rows and every blob
//!   no row names any more.
//!
//! State is in the database and the blob store, so with several nodes any node serves any
//! request, as long as they share the blob store (`--media-dir` on a shared volume).

pub mod api;
pub mod avatars;
pub mod blobs;
pub mod images;

use crate::now_ms;
use crate::store::Storage;
use axum::http::{HeaderMap, HeaderValue, header};
use blobs::BlobStore;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What a served file, picture or preview image may do if a browser opens it as a page:
/// nothing.
const SERVED_POLICY: &str = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; \
     style-src 'unsafe-inline'";

/// The headers of every response carrying bytes users gave the server (files, pictures,
/// preview images): the type the server decided on, never sniffed, never a page that runs
/// anything, not for other sites to embed, and how a copy may be kept (`cache`).
pub fn protect_served(out: &mut HeaderMap, mime: HeaderValue, cache: &'static str) {
    out.insert(header::CONTENT_TYPE, mime);
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SERVED_POLICY),
    );
    out.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

/// Uploads one account may have unfinished at once.
pub const MAX_OPEN_UPLOADS: u32 = 20;
/// Largest chunk of one `PATCH`.
pub const MAX_CHUNK: usize = 4 * 1024 * 1024;
/// How long an upload no message carries is kept.
pub const UNSENT_KEPT_MS: i64 = 24 * 3600 * 1000;
/// How often the collector looks when nothing wakes it.
const COLLECT_EVERY: Duration = Duration::from_secs(600);
/// Rows collected per round.
const COLLECT_BATCH: u32 = 100;
/// How often the whole store is swept for blobs no row names.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The media store of this process.
pub struct Media {
    pub blobs: Arc<dyn BlobStore>,
    /// Largest file, in bytes (0: leaving files is off).
    pub max_file: u64,
    /// All of one account's files, in bytes.
    pub quota: u64,
    /// How long a blob is kept after it was stored even if no row names it: an upload of the
    /// same content names it only after storing its bytes (see `BlobStore::delete`).
    pub grace: Duration,
    /// Uploads a request of this process is writing to: a second request for one of them is
    /// refused, so two chunks never interleave.
    writing: Mutex<HashSet<String>>,
    /// Wakes the collector (a message with a file was deleted).
    released: Notify,
}

impl Media {
    pub fn new(blobs: Arc<dyn BlobStore>, max_file: u64, quota: u64, grace: Duration) -> Self {
        Self {
            blobs,
            max_file,
            quota,
            grace,
            writing: Mutex::new(HashSet::new()),
            released: Notify::new(),
        }
    }

    /// Claims `upload` for one request; `None` while another holds it.
    pub fn start_writing(&self, upload: &str) -> Option<WritingGuard<'_>> {
        let mut writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        writing.insert(upload.to_owned()).then(|| WritingGuard {
            media: self,
            upload: upload.to_owned(),
        })
    }

    /// A message that carried a file was deleted: collect it now rather than later.
    pub fn wake_collector(&self) {
        self.released.notify_one();
    }

    /// Deletes the blob `hash` if no row names it and it is past its grace (the sweep takes
    /// it later otherwise).
    pub async fn release(&self, store: &dyn Storage, hash: &str) -> Result<(), CollectError> {
        if !store.blob_in_use(hash).await? {
            self.blobs.delete(hash, self.grace).await?;
        }
        Ok(())
    }
}

pub struct WritingGuard<'a> {
    media: &'a Media,
    upload: String,
}

impl Drop for WritingGuard<'_> {
    fn drop(&mut self) {
        let mut writing = self.media.writing.lock().unwrap_or_else(|e| e.into_inner());
        writing.remove(&self.upload);
    }
}

/// Removes released files and stale uploads, and the blobs nobody names any more, until
/// `shutdown`; every [`SWEEP_EVERY`] (and at start) it also sweeps blobs no row names that a
/// round could not delete (within their grace, or left by a crash).
pub async fn run_collector(
    store: Arc<dyn Storage>,
    media: Arc<Media>,
    shutdown: CancellationToken,
) {
    let mut swept = None::<std::time::Instant>;
    loop {
        if let Err(e) = collect(store.as_ref(), &media, now_ms() - UNSENT_KEPT_MS).await {
            tracing::warn!(error = %e, "could not collect files left on the server");
        }
        if swept.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
            swept = Some(std::time::Instant::now());
            match sweep(store.as_ref(), &media).await {
                Ok(0) => {}
                Ok(gone) => tracing::info!(gone, "blobs no row names were deleted"),
                Err(e) => tracing::warn!(error = %e, "could not sweep the media store"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = media.released.notified() => {}
            () = tokio::time::sleep(COLLECT_EVERY) => {}
        }
    }
}

/// One collection of released files and of uploads no message carries made before
/// `stale_before_ms`: returns how many rows went.
pub async fn collect(
    store: &dyn Storage,
    media: &Media,
    stale_before_ms: i64,
) -> Result<usize, CollectError> {
    let mut total = 0;
    loop {
        let gone = store.collect_files(stale_before_ms, COLLECT_BATCH).await?;
        total += gone.len();
        for file in &gone {
            media.blobs.discard(&file.id).await?;
            for hash in file.hash.iter().chain(file.thumb.iter()) {
                // Another row may hold the same content (the store is content-addressed).
                media.release(store, hash).await?;
            }
        }
        if gone.len() < COLLECT_BATCH as usize {
            return Ok(total);
        }
    }
}

/// Deletes the blobs past their grace that no row names; returns how many.
pub async fn sweep(store: &dyn Storage, media: &Media) -> Result<usize, CollectError> {
    let mut gone = 0;
    for hash in media.blobs.older_than(media.grace).await? {
        if !store.blob_in_use(&hash).await? && media.blobs.delete(&hash, media.grace).await? {
            gone += 1;
        }
    }
    Ok(gone)
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
