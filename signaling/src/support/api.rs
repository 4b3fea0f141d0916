//! The support desk's endpoints: a customer opens a conversation, agents read their queue,
//! claim and resolve. Off (404) unless the server has a knowledge base (`--support-kb`).

use super::desk;
use crate::error::ApiFailure;
use crate::request::{Authed, authenticate_metered, check_origin};
use crate::state::AppState;
use crate::store::NamedUser;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use shared::RoomId;

/// Conversations a customer may have open (not resolved) at once.
const MAX_OPEN_PER_CUSTOMER: i64 = 3;
/// Conversations one queue lists.
const QUEUE: u32 = 200;

#[derive(Debug, Serialize)]
pub struct Opened {
    pub room: String,
}

#[derive(Debug, Serialize)]
pub struct QueueItem {
    pub room: String,
    pub name: String,
    pub state: &'static str,
    pub reason: String,
    pub summary: String,
    pub escalated_ms: Option<i64>,
    /// The asking agent has it.
    pub mine: bool,
}

fn me(authed: &Authed) -> NamedUser {
    NamedUser {
        id: authed.user,
        name: authed.username.clone(),
    }
}

async fn agent(state: &AppState, headers: &HeaderMap) -> Result<NamedUser, ApiFailure> {
    check_origin(headers, &state.allowed_origins)?;
    let authed = authenticate_metered(state, headers).await?;
    let desk = state.support.as_ref().ok_or(ApiFailure::NotFound)?;
    let agent = me(&authed);
    if !desk.is_agent(state, &agent).await? {
        return Err(ApiFailure::Forbidden(
            "Only the support team answers customers.",
        ));
    }
    Ok(agent)
}

/// `POST /api/support/conversations`: opens a conversation with the assistant.
pub async fn open(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Opened>), ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate_metered(&state, &headers).await?;
    if state.support.is_none() {
        return Err(ApiFailure::NotFound);
    }
    if state.user_event_limiter.check_key(&authed.user).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    if state.store.open_supports_of(authed.user).await? >= MAX_OPEN_PER_CUSTOMER {
        return Err(ApiFailure::TooMany(
            "open support conversations (go on in one of them)",
            usize::try_from(MAX_OPEN_PER_CUSTOMER).unwrap_or(usize::MAX),
        ));
    }
    let room = desk::open(&state, &me(&authed), &authed.username).await?;
    Ok((StatusCode::CREATED, Json(Opened { room: room.0 })))
}

/// `GET /api/support/queue`: waiting conversations, then the agent's own.
pub async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<QueueItem>>, ApiFailure> {
    let agent = agent(&state, &headers).await?;
    let mut items = Vec::new();
    for conversation in state.store.support_queue(agent.id, QUEUE).await? {
        let name = state
            .store
            .admin_room(&conversation.room)
            .await?
            .map(|r| r.name)
            .unwrap_or_default();
        items.push(QueueItem {
            room: conversation.room.0,
            name,
            state: conversation.state.as_str(),
            reason: conversation.reason,
            summary: conversation.summary,
            escalated_ms: conversation.escalated_ms,
            mine: conversation.agent == Some(agent.id),
        });
    }
    Ok(Json(items))
}

/// `POST /api/support/conversations/{room}/claim`: 204, or 409 when another agent has it.
pub async fn claim(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    let agent = agent(&state, &headers).await?;
    if desk::claim(&state, &agent, &RoomId(room)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiFailure::Conflict(
            "Another agent has this conversation, or it is not waiting for a person.",
        ))
    }
}

/// `POST /api/support/conversations/{room}/resolve`: by the agent who has it.
pub async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    let agent = agent(&state, &headers).await?;
    if desk::resolve(&state, &agent, &RoomId(room)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiFailure::Conflict("You do not have this conversation."))
    }
}

/// `POST /api/support/conversations/{room}/unassign`: the agent who has it puts it back in
/// the queue.
pub async fn unassign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    let agent = agent(&state, &headers).await?;
    if desk::unassign(&state, &agent, &RoomId(room)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiFailure::Conflict("You do not have this conversation."))
    }
}
