//! Threads over HTTP: the list of a room's threads and the messages of one, for the thread
//! panel (public/threads.js). Replies are ordinary messages with `reply_to`, sent over the
//! socket; these are reads, charged to the same per-user quota as socket frames, and only for
//! members of the room.

use crate::error::ApiFailure;
use crate::request::authenticate_metered;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use shared::api::{ThreadPage, Threads};
use shared::limits::MAX_HISTORY_PAGE;
use shared::{RoomId, Seq};

/// Threads listed at most (the most recently answered).
const THREADS_LISTED: u32 = 50;
/// Messages of a thread per page at most.
const THREAD_PAGE: u32 = 50;

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<u32>,
}

/// Who asks, if they may read `room`: a member, within their quota.
async fn reader(state: &AppState, headers: &HeaderMap, room: &RoomId) -> Result<(), ApiFailure> {
    let authed = authenticate_metered(state, headers).await?;
    // A room I am not in looks the same as one that does not exist.
    match state.store.membership(room, authed.user).await? {
        Some(_) => Ok(()),
        None => Err(ApiFailure::NotFound),
    }
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<Json<Threads>, ApiFailure> {
    let room = RoomId(room);
    reader(&state, &headers, &room).await?;
    let threads = state.store.threads(&room, THREADS_LISTED).await?;
    Ok(Json(Threads { threads }))
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((room, root)): Path<(String, i64)>,
    Query(query): Query<PageQuery>,
) -> Result<Json<ThreadPage>, ApiFailure> {
    let room = RoomId(room);
    reader(&state, &headers, &room).await?;
    let limit = query
        .limit
        .unwrap_or(THREAD_PAGE)
        .clamp(1, THREAD_PAGE.min(MAX_HISTORY_PAGE));
    let (events, complete) = state
        .store
        .thread(&room, Seq(root), Seq(query.after.max(0)), limit)
        .await?;
    Ok(Json(ThreadPage { events, complete }))
}
