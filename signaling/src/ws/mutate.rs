//! The one path every room-changing request takes: check the key, take the order lock, answer
//! a repeated request with its first result, check the quota, apply the change durably, then
//! tell everyone it concerns, in that order.
//!
//! The ack is written straight to the requesting socket while events for it may still sit in
//! its queue, so an ack can overtake events with lower seqs: clients place events by seq.

use super::connection::SocketContext;
use super::dispatch::{Refused, Reply};
use crate::frames::encode;
use crate::hub::Audience;
use crate::room_log::InOrder;
use crate::state::AppState;
use crate::store::{Draft, UserId};
use shared::events::{Event, EventKind};
use shared::ws::{ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};
use std::time::Duration;

/// Longest wait for the order lock before a request is refused as retryable.
const ORDER_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// What an applied request changed.
pub struct Outcome {
    /// The event the request produced; the requester's ack carries it.
    pub ack: Event,
    /// Every event appended, in order (`ack` included), for the rooms' other sockets.
    pub events: Vec<Event>,
    /// Users who became members: their sockets follow the room before its events go out.
    pub joined: Vec<(UserId, RoomId)>,
    /// Users who stopped being members: unfollowed after the events, then told.
    pub left: Vec<(UserId, RoomId)>,
    /// Users whose view of a room changed (new room, role, mute) and get a fresh summary.
    pub updated: Vec<(UserId, RoomId)>,
}

impl Outcome {
    pub fn event(event: Event) -> Self {
        Self {
            ack: event.clone(),
            events: vec![event],
            joined: Vec::new(),
            left: Vec::new(),
            updated: Vec::new(),
        }
    }

    pub fn joined(mut self, user: UserId) -> Self {
        let room = self.ack.room.clone();
        self.joined.push((user, room.clone()));
        self.updated.push((user, room));
        self
    }

    pub fn left(mut self, user: UserId) -> Self {
        self.left.push((user, self.ack.room.clone()));
        self
    }

    pub fn updated(mut self, user: UserId) -> Self {
        self.updated.push((user, self.ack.room.clone()));
        self
    }
}

/// What [`mutate_once`] did with a request.
pub enum Applied {
    /// Applied now; the reply is its ack.
    New(Reply),
    /// Applied before under the same key: answered with the stored result, nothing changed,
    /// and nothing may be announced for it again.
    Repeat(Reply),
}

impl Applied {
    pub fn reply(self) -> Reply {
        match self {
            Self::New(reply) | Self::Repeat(reply) => reply,
        }
    }
}

/// Runs `apply` for the request `client_id` (about `room`, when the request names one).
/// `apply` is lazy: it runs only after the checks, under the order lock, and only if this key
/// was never applied before.
pub async fn mutate(
    state: &AppState,
    ctx: &SocketContext,
    client_id: ClientMsgId,
    room: Option<&RoomId>,
    apply: impl AsyncFnOnce(&InOrder<'_>) -> Result<Outcome, Refused>,
) -> Result<Reply, Refused> {
    Ok(mutate_once(state, ctx, client_id, room, apply)
        .await?
        .reply())
}

/// [`mutate`], telling a request applied now from a repeat, for handlers with effects beyond
/// the stored event (a call's ringing).
pub async fn mutate_once(
    state: &AppState,
    ctx: &SocketContext,
    client_id: ClientMsgId,
    room: Option<&RoomId>,
    apply: impl AsyncFnOnce(&InOrder<'_>) -> Result<Outcome, Refused>,
) -> Result<Applied, Refused> {
    check_client_id(&client_id)?;
    let Some(in_order) = state.room_log.in_order_within(ORDER_LOCK_TIMEOUT).await else {
        tracing::warn!("order lock busy; asking the client to retry");
        return Err(Refused::busy());
    };
    if let Some(ack) = earlier_ack(state, ctx, &client_id, room).await? {
        return Ok(Applied::Repeat(Some(ack)));
    }
    // Counted only for requests that change something: resending is free.
    if state
        .user_event_limiter
        .check_key(&ctx.authed.user)
        .is_err()
    {
        return Err(too_many());
    }
    let outcome = apply(&in_order).await?;
    for (user, room) in &outcome.joined {
        state.fanout.set_membership(*user, room, true);
    }
    for event in &outcome.events {
        state
            .room_log
            .publish(&in_order, event.clone(), Some(ctx.conn));
    }
    for (user, room) in &outcome.left {
        stop_following(state, *user, room);
    }
    drop(in_order);
    // The change is durable and delivered; a failure from here on must not read as "not
    // applied". The clients load the summary with their next room list instead.
    for (user, room) in &outcome.updated {
        send_summary(state, room, *user).await;
    }
    tracing::debug!(room = %outcome.ack.room, seq = %outcome.ack.seq, "event stored");
    Ok(Applied::New(Some(ServerMessage::Ack {
        client_id,
        event: outcome.ack,
    })))
}

/// `user` is no longer in `room`: their sockets on every node stop following it, and are told.
/// Called after the events that say so went out.
pub fn stop_following(state: &AppState, user: UserId, room: &RoomId) {
    state.fanout.set_membership(user, room, false);
    let frame = encode(&ServerMessage::RoomRemoved { room: room.clone() });
    state.fanout.send(Audience::User(user), frame, None);
}

/// Sends `user`'s sockets, on every node, the room's new summary (their role or mute
/// changed, or they joined). A failure is logged: the next room list carries it.
pub async fn send_summary(state: &AppState, room: &RoomId, user: UserId) {
    match state.store.room_summary(room, user).await {
        Ok(Some(summary)) => {
            let frame = encode(&ServerMessage::RoomUpdated { room: summary });
            state.fanout.send(Audience::User(user), frame, None);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "room summary not sent"),
    }
}

pub fn check_client_id(client_id: &ClientMsgId) -> Result<(), Refused> {
    if client_id.is_valid() {
        Ok(())
    } else {
        Err(Refused::new(
            ErrorCode::InvalidMessage,
            "client_id must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'.",
        ))
    }
}

pub fn too_many() -> Refused {
    Refused::new(ErrorCode::RateLimited, "Slow down: too many messages.")
}

/// The ack of the request stored earlier under `client_id` (a resend), if there is one.
pub async fn earlier_ack(
    state: &AppState,
    ctx: &SocketContext,
    client_id: &ClientMsgId,
    room: Option<&RoomId>,
) -> Result<Reply, Refused> {
    let Some(mut event) = state
        .store
        .event_by_client_id(ctx.authed.user, client_id)
        .await?
    else {
        return Ok(None);
    };
    if room.is_some_and(|r| *r != event.room) {
        return Err(Refused::new(
            ErrorCode::ClientIdReused,
            "This client_id was already used in another room.",
        ));
    }
    // The sender must learn that their request arrived even after they left the room, but
    // not what the room did with it since: others' reactions are the room's, not theirs.
    if state
        .store
        .membership(&event.room, ctx.authed.user)
        .await?
        .is_none()
        && let EventKind::Message { reactions, .. } = &mut event.kind
    {
        reactions.clear();
    }
    Ok(Some(ServerMessage::Ack {
        client_id: client_id.clone(),
        event,
    }))
}

/// Appends an event of mine, stored under the request's key (inside [`mutate`]).
pub async fn append_mine(
    state: &AppState,
    order: &InOrder<'_>,
    ctx: &SocketContext,
    room: &RoomId,
    client_id: &ClientMsgId,
    draft: Draft,
) -> Result<Event, Refused> {
    let drafts = vec![(Some(client_id.clone()), draft)];
    let mut events = state
        .room_log
        .append(order, room, &ctx.me(), drafts)
        .await?;
    events.pop().ok_or_else(Refused::busy)
}
