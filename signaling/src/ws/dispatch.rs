//! Turns one client frame into its reply (and, for a new message, a broadcast).

use crate::now_ms;
use crate::request::Authed;
use crate::state::AppState;
use axum::extract::ws::{Message, Utf8Bytes};
use shared::limits::{MAX_HISTORY_PAGE, check_body};
use shared::ws::{ChatMessage, ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};

use super::connection::SocketContext;

/// Whether `user` may read and post in `room`. Only the shared lobby exists at this stage; the
/// check is here, called for every frame, so that private rooms only have to extend it.
fn may_access(_user: &Authed, room: &RoomId) -> bool {
    room.0 == RoomId::LOBBY
}

/// The page size to serve if the user may read `room` (the client's, bounded), else `None`.
fn readable_page(ctx: &SocketContext, room: &RoomId, limit: u32) -> Option<u32> {
    may_access(&ctx.authed, room).then(|| limit.clamp(1, MAX_HISTORY_PAGE))
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

/// Longest wait for the delivery-order lock before a send is refused as retryable.
const ORDER_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Bytes of message data one history or catch-up reply may carry. Pages are cut short to fit
/// (and say they are incomplete), so a reply always fits the socket's write buffer whatever the
/// messages contain.
pub const PAGE_BYTE_BUDGET: usize = 128 * 1024;
/// Allowance per message for the JSON around its body.
const PER_MESSAGE_OVERHEAD: usize = 256;

/// Keeps the longest run of `messages` (oldest first) that fits [`PAGE_BYTE_BUDGET`], taken from
/// the newest end (`keep_newest`, for backward pages) or the oldest end (for catch-up), and says
/// whether anything was dropped.
fn fit_page(mut messages: Vec<ChatMessage>, keep_newest: bool) -> (Vec<ChatMessage>, bool) {
    let cost = |m: &ChatMessage| m.body.len() * 2 + m.sender.len() + PER_MESSAGE_OVERHEAD;
    let mut used = 0;
    let mut fits = |m: &ChatMessage| {
        used += cost(m);
        used <= PAGE_BYTE_BUDGET
    };
    let keep = if keep_newest {
        messages.iter().rev().take_while(|m| fits(m)).count()
    } else {
        messages.iter().take_while(|m| fits(m)).count()
    };
    // Always return at least one message so paging makes progress.
    let keep = keep.max(1).min(messages.len());
    let dropped = keep < messages.len();
    if keep_newest {
        messages.drain(..messages.len() - keep);
    } else {
        messages.truncate(keep);
    }
    (messages, dropped)
}

/// The answer to a frame refused by the rate limit, naming the message it refused if it was one.
pub fn rate_limited(frame: &Message) -> ServerMessage {
    let client_id = match frame {
        Message::Text(text) => match serde_json::from_str(text.as_str()) {
            Ok(ClientMessage::Send { client_id, .. }) => Some(client_id),
            _ => None,
        },
        _ => None,
    };
    error(
        ErrorCode::RateLimited,
        "Slow down: too many messages.",
        client_id,
    )
}

pub async fn handle_text(state: &AppState, ctx: &SocketContext, text: &str) -> ServerMessage {
    let request: ClientMessage = match serde_json::from_str(text) {
        Ok(request) => request,
        Err(e) => return error(ErrorCode::BadFrame, format!("Unreadable frame: {e}"), None),
    };
    match request {
        ClientMessage::Ping { nonce } => ServerMessage::Pong { nonce },
        ClientMessage::History {
            room,
            before,
            limit,
        } => {
            let Some(limit) = readable_page(ctx, &room, limit) else {
                return no_such_room(None);
            };
            match state.store.history(&room, before, limit).await {
                Ok((messages, complete)) => {
                    let (messages, cut) = fit_page(messages, true);
                    ServerMessage::History {
                        room,
                        before,
                        messages,
                        complete: complete && !cut,
                    }
                }
                Err(e) => internal(e, None),
            }
        }
        ClientMessage::CatchUp { room, after, limit } => {
            let Some(limit) = readable_page(ctx, &room, limit) else {
                return no_such_room(None);
            };
            match state.store.messages_after(&room, after, limit).await {
                Ok((messages, up_to_date)) => {
                    let (messages, cut) = fit_page(messages, false);
                    ServerMessage::CaughtUp {
                        room,
                        after,
                        messages,
                        up_to_date: up_to_date && !cut,
                    }
                }
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
    // Insert and broadcast as one step so that sockets see the room in id order. Bounded: a
    // socket stuck here answers nothing, so past the limit the client is told to retry.
    let Ok(_in_order) = tokio::time::timeout(ORDER_LOCK_TIMEOUT, state.delivery_order.lock()).await
    else {
        tracing::warn!("delivery lock busy; asking the client to retry");
        return error(
            ErrorCode::Internal,
            "The server is busy. Your message will be retried.",
            Some(client_id),
        );
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{ClientMsgId, MessageId};

    fn message(id: i64, body_len: usize) -> ChatMessage {
        ChatMessage {
            id: MessageId(id),
            room: RoomId::lobby(),
            client_id: ClientMsgId(format!("c{id}")),
            sender: "s".into(),
            body: "x".repeat(body_len),
            sent_at_ms: 0,
        }
    }

    #[test]
    fn pages_are_cut_to_the_byte_budget_from_the_right_end() {
        let big = PAGE_BYTE_BUDGET / 2 / 3;
        let page: Vec<_> = (1..=5).map(|id| message(id, big)).collect();
        let (newest, cut) = fit_page(page.clone(), true);
        assert!(cut);
        assert_eq!(newest.iter().map(|m| m.id.0).collect::<Vec<_>>(), [4, 5]);
        let (oldest, cut) = fit_page(page, false);
        assert!(cut);
        assert_eq!(oldest.iter().map(|m| m.id.0).collect::<Vec<_>>(), [1, 2]);
        let (small, cut) = fit_page(vec![message(1, 10), message(2, 10)], true);
        assert!(!cut);
        assert_eq!(small.len(), 2);
        assert!(fit_page(Vec::new(), true).0.is_empty());
    }
}
