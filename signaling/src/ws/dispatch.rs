//! Turns one client frame into its reply (and, for a new message, a broadcast).

use crate::now_ms;
use crate::request::Authed;
use crate::state::AppState;
use axum::extract::ws::Utf8Bytes;
use shared::limits::{MAX_HISTORY_PAGE, check_body};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};

use super::connection::SocketContext;

/// Whether `user` may read and post in `room`. Only the shared lobby exists at this stage; the
/// check is here, called for every frame, so that private rooms only have to extend it.
fn may_access(_user: &Authed, room: &RoomId) -> bool {
    room.0 == RoomId::LOBBY
}

pub fn error(
    code: ErrorCode,
    message: impl Into<String>,
    client_id: Option<ClientMsgId>,
) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: message.into(),
        client_id,
    }
}

pub async fn handle_text(state: &AppState, ctx: &SocketContext, text: &str) -> ServerMessage {
    let request: ClientMessage = match serde_json::from_str(text) {
        Ok(request) => request,
        Err(e) => return error(ErrorCode::BadFrame, format!("Unreadable frame: {e}"), None),
    };
    if ctx.limiter.check().is_err() {
        let client_id = match &request {
            ClientMessage::Send { client_id, .. } => Some(client_id.clone()),
            _ => None,
        };
        return error(
            ErrorCode::RateLimited,
            "Slow down: too many messages.",
            client_id,
        );
    }
    match request {
        ClientMessage::Ping { nonce } => ServerMessage::Pong { nonce },
        ClientMessage::History {
            room,
            before,
            limit,
        } => {
            if !may_access(&ctx.authed, &room) {
                return no_such_room(None);
            }
            let limit = limit.clamp(1, MAX_HISTORY_PAGE);
            match state.store.history(&room, before, limit).await {
                Ok((messages, complete)) => ServerMessage::History {
                    room,
                    messages,
                    complete,
                },
                Err(e) => internal(e, None),
            }
        }
        ClientMessage::CatchUp { room, after, limit } => {
            if !may_access(&ctx.authed, &room) {
                return no_such_room(None);
            }
            let limit = limit.clamp(1, MAX_HISTORY_PAGE);
            match state.store.messages_after(&room, after, limit).await {
                Ok((messages, up_to_date)) => ServerMessage::CaughtUp {
                    room,
                    after,
                    messages,
                    up_to_date,
                },
                Err(e) => internal(e, None),
            }
        }
        ClientMessage::Send {
            room,
            client_id,
            body,
        } => send(state, ctx, room, client_id, body).await,
    }
}

async fn send(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    body: String,
) -> ServerMessage {
    if !client_id.is_valid() {
        return error(
            ErrorCode::InvalidMessage,
            "client_id must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'.",
            None,
        );
    }
    if !may_access(&ctx.authed, &room) {
        return no_such_room(Some(client_id));
    }
    if let Err(why) = check_body(&body) {
        return error(ErrorCode::InvalidMessage, why.explain(), Some(client_id));
    }
    let stored = state
        .store
        .insert_message(
            &room,
            ctx.authed.user,
            &ctx.authed.username,
            &client_id,
            &body,
            now_ms(),
        )
        .await;
    match stored {
        Ok(inserted) => {
            if inserted.is_new {
                let event = ServerMessage::Message {
                    message: inserted.message.clone(),
                };
                state.hub.broadcast(&encode(&event), Some(ctx.conn));
                tracing::debug!(room = %room, id = %inserted.message.id, "message stored");
            }
            ServerMessage::Ack {
                client_id,
                message: inserted.message,
            }
        }
        Err(e) => internal(e, Some(client_id)),
    }
}

fn no_such_room(client_id: Option<ClientMsgId>) -> ServerMessage {
    error(
        ErrorCode::NoSuchRoom,
        "That room does not exist or you are not a member.",
        client_id,
    )
}

fn internal(e: crate::store::StoreError, client_id: Option<ClientMsgId>) -> ServerMessage {
    tracing::error!(error = %e, "storage failure while handling a frame");
    error(
        ErrorCode::Internal,
        "The server could not handle that. Try again.",
        client_id,
    )
}

pub fn encode(message: &ServerMessage) -> Utf8Bytes {
    serde_json::to_string(message)
        .expect("protocol types always serialize")
        .into()
}
