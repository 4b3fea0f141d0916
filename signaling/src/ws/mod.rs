//! The WebSocket endpoint `/ws`.
//!
//! The upgrade is refused (403 / 401, JSON body) unless the `Origin` is allowed and the session
//! cookie (or a bot's `Authorization: Bearer` token, `crate::bots`) is valid, so an
//! unauthenticated peer never gets a socket. Limits are explicit: frames
//! and messages up to [`MAX_FRAME_BYTES`], small read/write buffers per socket.

mod access;
mod calls;
pub(crate) mod connection;
pub(crate) mod dispatch;
mod live;
pub(crate) mod mutate;
mod offers;
mod rooms;
pub(crate) mod timeline;
mod timer_grid;

pub use calls::nodes_gone;

use crate::error::ApiFailure;
use crate::request::{authenticate_guest_too, check_origin};
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use shared::limits::MAX_FRAME_BYTES;

/// Bytes read from the socket at a time. Chat frames are a few hundred bytes (a message of 300
/// characters is about 450); every socket keeps this buffer for its lifetime, so 512 bytes
/// instead of tungstenite's 128 KiB default is most of what an idle connection costs less
/// (4 KiB -> 1 KiB took 11.3 KiB per socket to 8.5; 1 KiB -> 512 bytes, 0.5 KiB more). A
/// bigger frame grows the buffer to fit it (tungstenite reserves the frame's length).
const READ_BUFFER: usize = 512;
/// Bytes batched before a write is flushed.
const WRITE_BUFFER: usize = 4 * 1024;
/// Unsent bytes a socket may hold before writes fail (the peer stopped reading).
const MAX_WRITE_BUFFER: usize = 4 * MAX_FRAME_BYTES;

pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = if crate::bots::bearer_token(&headers).is_some() {
        crate::bots::authenticate(&state, &headers).await?
    } else {
        // A guest of the support desk too: its socket is confined (`Authed::confined`).
        authenticate_guest_too(&state, &headers).await?
    };
    if state.hub.sockets_of(authed.user) >= state.max_sockets_per_user {
        return Err(ApiFailure::TooManySockets);
    }
    if state.connect_limiter.check_key(&authed.user).is_err() {
        return Err(ApiFailure::ConnectingTooOften);
    }
    let tasks = state.sockets.clone();
    Ok(ws
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| tasks.track_future(connection::run(socket, state, authed)))
        .into_response())
}
