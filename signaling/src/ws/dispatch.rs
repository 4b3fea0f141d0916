//! Reads one client frame and routes it to the handler for its type. Handlers return
//! `Result<Reply, Refused>`; a refusal becomes an error frame carrying the request's
//! `client_id`, and the socket stays open.

use super::connection::SocketContext;
use super::{calls, live, rooms, timeline};
use crate::commit::WriteError;
use crate::state::AppState;
use crate::store::StoreError;
use axum::extract::ws::Message;
use shared::ClientMsgId;
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use std::borrow::Cow;

/// What a handler answers: a frame for the asking socket, or nothing (receipts, typing and
/// presence are answered by their effect on others).
pub type Reply = Option<ServerMessage>;

/// A request the server will not carry out, and why, in words for the user.
#[derive(Debug)]
pub struct Refused {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
}

impl Refused {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn no_such_room() -> Self {
        Self::new(
            ErrorCode::NoSuchRoom,
            "That room does not exist or you are not a member.",
        )
    }

    /// A field broke one of the shared input rules.
    pub fn invalid(why: shared::limits::InvalidInput) -> Self {
        Self::new(ErrorCode::InvalidMessage, why.explain())
    }

    pub fn busy() -> Self {
        Self::new(
            ErrorCode::Internal,
            "The server is busy. Your request will be retried.",
        )
    }
}

impl From<WriteError> for Refused {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Busy => Self::busy(),
            WriteError::Store => Self::new(
                ErrorCode::Internal,
                "The server could not store that. Try again.",
            ),
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure while handling a frame");
        Self::new(
            ErrorCode::Internal,
            "The server could not handle that. Try again.",
        )
    }
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

/// The answer to a frame refused by the rate limit, naming the request it refused if it can.
pub fn rate_limited(frame: &Message) -> ServerMessage {
    let client_id = match frame {
        Message::Text(text) => serde_json::from_str(text.as_str())
            .ok()
            .and_then(|request: ClientMessage| request.client_id().cloned()),
        _ => None,
    };
    error(
        ErrorCode::RateLimited,
        "Slow down: too many messages.",
        client_id,
    )
}

/// The request in a text frame.
pub fn parse(text: &str) -> Result<ClientMessage, serde_json::Error> {
    serde_json::from_str(text)
}

/// The answer to a frame that is not a request.
pub fn unreadable(e: &serde_json::Error) -> ServerMessage {
    error(ErrorCode::BadFrame, format!("Unreadable frame: {e}"), None)
}

pub async fn handle_request(
    state: &AppState,
    ctx: &SocketContext,
    request: ClientMessage,
) -> Reply {
    // An invalid key is not echoed back: the error names no request.
    let client_id = request.client_id().filter(|id| id.is_valid()).cloned();
    match route(state, ctx, request).await {
        Ok(reply) => reply,
        Err(refused) => Some(error(refused.code, refused.message, client_id)),
    }
}

async fn route(
    state: &AppState,
    ctx: &SocketContext,
    request: ClientMessage,
) -> Result<Reply, Refused> {
    use ClientMessage as C;
    if ctx.authed.confined() && !crate::bots::may_send(&request) {
        return Err(Refused::new(
            ErrorCode::Forbidden,
            if ctx.authed.guest {
                "A guest can only write in their support conversation."
            } else {
                "A bot reads and writes in the rooms an administrator put it in, and does nothing else."
            },
        ));
    }
    match request {
        C::Ping { nonce } => Ok(Some(ServerMessage::Pong { nonce })),
        C::History {
            room,
            before,
            limit,
        } => timeline::history(state, ctx, room, before, limit).await,
        C::CatchUp { room, after, limit } => {
            timeline::catch_up(state, ctx, room, after, limit).await
        }
        C::Send {
            room,
            client_id,
            body,
            reply_to,
            attachment,
        } => timeline::send(state, ctx, room, client_id, body, reply_to, attachment).await,
        C::Edit {
            room,
            client_id,
            target,
            body,
        } => timeline::edit(state, ctx, room, client_id, target, body).await,
        C::Delete {
            room,
            client_id,
            target,
        } => timeline::delete(state, ctx, room, client_id, target).await,
        C::React {
            room,
            client_id,
            target,
            emoji,
            add,
        } => timeline::react(state, ctx, room, client_id, target, emoji, add).await,
        C::ListMembers { room } => rooms::members(state, ctx, room).await,
        C::CreateRoom {
            client_id,
            name,
            topic,
        } => rooms::create(state, ctx, client_id, name, topic).await,
        C::Rename {
            room,
            client_id,
            name,
        } => rooms::rename(state, ctx, room, client_id, name).await,
        C::SetTopic {
            room,
            client_id,
            topic,
        } => rooms::set_topic(state, ctx, room, client_id, topic).await,
        C::AddMember {
            room,
            client_id,
            user,
        } => rooms::add_member(state, ctx, room, client_id, user).await,
        C::RemoveMember {
            room,
            client_id,
            user,
        } => rooms::remove_member(state, ctx, room, client_id, user).await,
        C::Mute {
            room,
            client_id,
            user,
            muted,
        } => rooms::mute(state, ctx, room, client_id, user, muted).await,
        C::SetRole {
            room,
            client_id,
            user,
            role,
        } => rooms::set_role(state, ctx, room, client_id, user, role).await,
        C::Leave { room, client_id } => rooms::leave(state, ctx, room, client_id).await,
        C::CreateInvite { room } => rooms::create_invite(state, ctx, room).await,
        C::RevokeInvites { room, token } => rooms::revoke_invites(state, ctx, room, token).await,
        C::Ban {
            room,
            client_id,
            user,
            banned,
        } => rooms::ban(state, ctx, room, client_id, user, banned).await,
        C::ListRooms => {
            if state.room_list_limiter.check_key(&ctx.authed.user).is_err() {
                return Err(super::mutate::too_many());
            }
            rooms::list(state, ctx).await
        }
        C::JoinByInvite { client_id, token } => {
            rooms::join_by_invite(state, ctx, client_id, token).await
        }
        C::OpenDirect { client_id, user } => rooms::open_direct(state, ctx, client_id, user).await,
        C::Block { user, blocked } => rooms::block(state, ctx, user, blocked).await,
        C::SetNotify { room, level } => rooms::set_notify(state, ctx, room, level).await,
        C::MarkDelivered { room, seq } => live::receipts(state, ctx, room, seq, None).await,
        C::MarkRead { room, seq } => live::receipts(state, ctx, room, seq, Some(seq)).await,
        C::Typing { room } => live::typing(state, ctx, room).await,
        C::SetPresence { status } => live::set_presence(state, ctx, status).await,
        C::StartCall {
            room,
            client_id,
            call,
            video,
        } => calls::start(state, ctx, room, client_id, call, video).await,
        C::JoinCall { room, call } => calls::join(state, ctx, room, call).await,
        C::LeaveCall { room, call } => calls::leave(state, ctx, room, call).await,
        C::DeclineCall { room, call } => calls::decline(state, ctx, room, call).await,
        C::Signal {
            room,
            to,
            session,
            data,
        } => calls::signal(state, ctx, room, to, session, data).await,
        C::IceServers { room, call, peer } => {
            calls::ice_servers(state, ctx, room, call, peer).await
        }
    }
}
