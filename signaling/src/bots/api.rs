//! The bots' HTTP API, `/api/bot/*` with `Authorization: Bearer <token>`: the same checks and
//! the same write path as the frames of a socket (a request acts as a socket that follows
//! nothing), so a message sent here is stored, numbered and delivered exactly as the app's.
//! Answers are JSON: `{"event": …}` on success, `{"code", "message"}` with a status otherwise.

use crate::error::ApiFailure;
use crate::request::check_origin;
use crate::state::AppState;
use crate::ws::connection::SocketContext;
use crate::ws::dispatch::{Refused, Reply};
use crate::ws::timeline;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::ws::{ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};

#[derive(Debug, Deserialize)]
pub struct NewMessage {
    /// The bot's key for this request: a retry with the same one is answered with the first
    /// result and stores nothing twice. Made up by the server when left out.
    pub client_id: Option<String>,
    pub body: String,
    pub reply_to: Option<Seq>,
}

#[derive(Debug, Deserialize)]
pub struct NewBody {
    pub client_id: Option<String>,
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub struct NewReaction {
    pub client_id: Option<String>,
    pub emoji: String,
    #[serde(default = "yes")]
    pub add: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct Key {
    pub client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    pub after: i64,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub username: String,
    pub rooms: Vec<shared::rooms::RoomSummary>,
}

/// The bot behind the request, charged to its request quota (the one its socket frames use).
async fn bot(state: &AppState, headers: &HeaderMap) -> Result<SocketContext, ApiFailure> {
    check_origin(headers, &state.allowed_origins)?;
    let authed = super::authenticate(state, headers).await?;
    if state.user_frame_limiter.check_key(&authed.user).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    Ok(SocketContext::detached(authed))
}

fn client_id(given: Option<String>) -> ClientMsgId {
    ClientMsgId(given.unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random number generator is available");
        URL_SAFE_NO_PAD.encode(bytes)
    }))
}

/// A socket's answer as an HTTP response.
fn answer(reply: Result<Reply, Refused>) -> Response {
    match reply {
        Ok(Some(ServerMessage::Ack { event, .. })) => {
            Json(json!({ "event": event })).into_response()
        }
        Ok(Some(ServerMessage::CaughtUp {
            events, up_to_date, ..
        })) => Json(json!({ "events": events, "up_to_date": up_to_date })).into_response(),
        Ok(Some(ServerMessage::Error { code, message, .. })) => refusal(code, &message),
        Err(refused) => refusal(refused.code, &refused.message),
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
    }
}

fn refusal(code: ErrorCode, message: &str) -> Response {
    let status = match code {
        ErrorCode::NoSuchRoom | ErrorCode::NoSuchMessage | ErrorCode::NoSuchUser => {
            StatusCode::NOT_FOUND
        }
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::ClientIdReused | ErrorCode::AlreadyMember => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::LimitReached => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Internal => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

fn bad_json(e: &JsonRejection) -> Response {
    refusal(
        ErrorCode::BadFrame,
        &format!("Malformed request: {}", e.body_text()),
    )
}

/// `GET /api/bot/me`: who the token is, and its rooms.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Me>, ApiFailure> {
    let ctx = bot(&state, &headers).await?;
    let rooms = state.store.room_summaries(ctx.authed.user).await?;
    Ok(Json(Me {
        username: ctx.authed.username,
        rooms,
    }))
}

/// `POST /api/bot/rooms/{room}/messages`
pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let ctx = bot(&state, &headers).await?;
    let Json(new) = match body {
        Ok(body) => body,
        Err(e) => return Ok(bad_json(&e)),
    };
    let reply = timeline::send(
        &state,
        &ctx,
        RoomId(room),
        client_id(new.client_id),
        new.body,
        new.reply_to,
        None,
    )
    .await;
    Ok(answer(reply))
}

/// `PUT /api/bot/rooms/{room}/messages/{seq}`: edits one of the bot's messages.
pub async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((room, seq)): Path<(String, i64)>,
    body: Result<Json<NewBody>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let ctx = bot(&state, &headers).await?;
    let Json(new) = match body {
        Ok(body) => body,
        Err(e) => return Ok(bad_json(&e)),
    };
    let reply = timeline::edit(
        &state,
        &ctx,
        RoomId(room),
        client_id(new.client_id),
        Seq(seq),
        new.body,
    )
    .await;
    Ok(answer(reply))
}

/// `DELETE /api/bot/rooms/{room}/messages/{seq}[?client_id=…]`: deletes one of its messages.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((room, seq)): Path<(String, i64)>,
    Query(key): Query<Key>,
) -> Result<Response, ApiFailure> {
    let ctx = bot(&state, &headers).await?;
    let reply = timeline::delete(
        &state,
        &ctx,
        RoomId(room),
        client_id(key.client_id),
        Seq(seq),
    )
    .await;
    Ok(answer(reply))
}

/// `POST /api/bot/rooms/{room}/messages/{seq}/reactions`: adds (or with `"add": false`
/// takes back) a reaction.
pub async fn react(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((room, seq)): Path<(String, i64)>,
    body: Result<Json<NewReaction>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let ctx = bot(&state, &headers).await?;
    let Json(new) = match body {
        Ok(body) => body,
        Err(e) => return Ok(bad_json(&e)),
    };
    let reply = timeline::react(
        &state,
        &ctx,
        RoomId(room),
        client_id(new.client_id),
        Seq(seq),
        new.emoji,
        new.add,
    )
    .await;
    Ok(answer(reply))
}

/// `GET /api/bot/rooms/{room}/events?after=SEQ&limit=N`: the room's events after a seq, oldest
/// first (`up_to_date` once there are no more).
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiFailure> {
    let ctx = bot(&state, &headers).await?;
    let reply = timeline::catch_up(
        &state,
        &ctx,
        RoomId(room),
        Seq(query.after.max(0)),
        query.limit.unwrap_or(100),
    )
    .await;
    Ok(answer(reply))
}
