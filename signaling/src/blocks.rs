//! `GET /api/blocks`: the people I blocked. The socket's welcome carries the same list for the
//! wasm client; the room panel (public/room-panel.js) is loaded later and reads it here.

use crate::error::ApiFailure;
use crate::request::authenticate;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use shared::api::Blocks;

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Blocks>, ApiFailure> {
    let authed = authenticate(&state, &headers).await?;
    let blocked = state.store.blocked_by(authed.user).await?;
    Ok(Json(Blocks { blocked }))
}
