//! "Download my data": everything the account wrote and received, as one JSON file.
//!
//! The file is written as it is read, a page of events at a time, so a member of a room with a
//! long history costs the server one page of memory, not the whole history. Its shape:
//!
//! ```json
//! {"format": "chat-export/1", "exported_at_ms": 0, "username": "ann",
//!  "blocked": ["eve"], "sessions": [ {device...} ],
//!  "rooms": [ {"room": {summary...}, "events": [ {event...} ] } ],
//!  "rooms_left": [ {"room": "r1", "messages": [ {event...} ] } ]}
//! ```
//!
//! Events are the room's timeline as the protocol sends it (messages in their current state,
//! with every operation and notice), from the room's first event: what the member can read.
//! Of a room the account left (or was removed from), only its own messages are included: the
//! rest is no longer its to read.
//! Files went peer to peer and were never on the server, so there are none to include.

use crate::error::ApiFailure;
use crate::now_ms;
use crate::request::authenticate;
use crate::state::AppState;
use crate::store::{StoreError, UserId};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;
use shared::{RoomId, Seq};
use std::convert::Infallible;
use tokio::sync::mpsc;

/// Events read per query.
const PAGE: u32 = 500;
/// Bytes gathered before a chunk goes out.
const CHUNK: usize = 64 * 1024;
/// Chunks written ahead of a slow download.
const CHUNKS_AHEAD: usize = 4;

pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let authed = authenticate(&state, &headers).await?;
    // Each export reads every room's whole history.
    if state.export_limiter.check_key(&authed.user).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    let (chunks, body) = mpsc::channel::<Bytes>(CHUNKS_AHEAD);
    let user = authed.user;
    let username = authed.username.clone();
    tokio::spawn(async move {
        let mut out = Writer {
            chunks,
            buffer: Vec::with_capacity(CHUNK),
        };
        match write_export(&state, user, &username, &mut out).await {
            Ok(()) => out.finish().await,
            // The download is cut short, so the file is not valid JSON: the person sees a
            // failed download rather than an incomplete one.
            Err(e) => tracing::error!(user = user.0, error = %e, "export failed"),
        }
    });
    // Fused: the compression layer polls the body once more after its end.
    let stream = futures_util::stream::unfold(body, |mut body| async move {
        body.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), body))
    })
    .fuse();
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The username is 3-32 of [A-Za-z0-9._-] (`shared::limits`): safe in a header.
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"chat-export-{}.json\"",
        authed.username
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// Gathers bytes into chunks for the response body.
struct Writer {
    chunks: mpsc::Sender<Bytes>,
    buffer: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the download was abandoned")]
    Gone,
}

impl Writer {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            let chunk = Bytes::from(std::mem::take(&mut self.buffer));
            self.chunks
                .send(chunk)
                .await
                .map_err(|_| ExportError::Gone)?;
        }
        Ok(())
    }

    async fn json(&mut self, value: &impl serde::Serialize) -> Result<(), ExportError> {
        let bytes = serde_json::to_vec(value).expect("protocol types always serialize");
        self.write(&bytes).await
    }

    async fn finish(self) {
        if !self.buffer.is_empty() {
            let _ = self.chunks.send(Bytes::from(self.buffer)).await;
        }
    }
}

async fn write_export(
    state: &AppState,
    user: UserId,
    username: &str,
    out: &mut Writer,
) -> Result<(), ExportError> {
    let blocked = state.store.blocked_by(user).await?;
    let sessions: Vec<_> = state
        .store
        .sessions_of(user, now_ms())
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "device": s.origin.device,
                "address": s.origin.address,
                "created_ms": s.created_ms,
                "last_used_ms": s.last_used_ms,
            })
        })
        .collect();
    let head = json!({
        "format": "chat-export/1",
        "exported_at_ms": now_ms(),
        "username": username,
        "blocked": blocked,
        "sessions": sessions,
    });
    // The head's closing brace is dropped so the rooms can follow inside the same object.
    let head = serde_json::to_string(&head).expect("JSON values serialize");
    out.write(&head.as_bytes()[..head.len() - 1]).await?;
    out.write(b",\"rooms\":[").await?;
    for (i, room) in state
        .store
        .room_summaries(user)
        .await?
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.write(b",").await?;
        }
        out.write(b"{\"room\":").await?;
        out.json(&room).await?;
        out.write(b",\"events\":").await?;
        write_pages(out, |after| state.store.events_after(&room.id, after, PAGE)).await?;
        out.write(b"}").await?;
    }
    out.write(b"],\"rooms_left\":[").await?;
    let mine: std::collections::HashSet<RoomId> =
        state.store.room_ids(user).await?.into_iter().collect();
    let mut left: Vec<RoomId> = state
        .store
        .live_messages_of(user)
        .await?
        .into_iter()
        .map(|(room, _)| room)
        .filter(|room| !mine.contains(room))
        .collect();
    left.dedup();
    for (i, room) in left.iter().enumerate() {
        if i > 0 {
            out.write(b",").await?;
        }
        out.write(b"{\"room\":").await?;
        out.json(room).await?;
        out.write(b",\"messages\":").await?;
        write_pages(out, |after| {
            state.store.messages_by(room, user, after, PAGE)
        })
        .await?;
        out.write(b"}").await?;
    }
    out.write(b"]}").await?;
    Ok(())
}

/// Writes a JSON array of events read a page at a time by `page` (events after a seq, and
/// whether they reach the newest), so a long history costs one page of memory.
async fn write_pages<F, Fut>(out: &mut Writer, mut page: F) -> Result<(), ExportError>
where
    F: FnMut(Seq) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<shared::events::Event>, bool), StoreError>>,
{
    out.write(b"[").await?;
    let mut after = Seq(0);
    let mut first = true;
    loop {
        let (events, up_to_date) = page(after).await?;
        for event in &events {
            if !first {
                out.write(b",").await?;
            }
            first = false;
            out.json(event).await?;
        }
        match events.last() {
            Some(last) if !up_to_date => after = last.seq,
            _ => break,
        }
    }
    out.write(b"]").await
}
