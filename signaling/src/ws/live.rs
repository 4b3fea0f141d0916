//! Ephemeral and per-user state that is not part of a timeline: receipts, typing, presence.
//! None of these answer the asking socket; their effect is what others receive.

use super::access::{may_post, member_of};
use super::connection::SocketContext;
use super::dispatch::{Refused, Reply};
use crate::frames::encode;
use crate::hub::Audience;
use crate::presence;
use crate::state::AppState;
use shared::rooms::Presence;
use shared::ws::{ErrorCode, ServerMessage, TYPING_THROTTLE_MS};
use shared::{RoomId, Seq};
use std::time::{Duration, Instant};

/// Rooms a socket remembers typing times for; beyond it the memory is cleared.
const TYPING_MEMORY: usize = 64;

/// Raises my receipts in `room` (`read` implies delivered) and tells the room if they moved.
pub async fn receipts(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    delivered: Seq,
    read: Option<Seq>,
) -> Result<Reply, Refused> {
    member_of(state, ctx, &room).await?;
    let moved = state
        .store
        .advance_receipts(&room, ctx.authed.user, delivered, read.unwrap_or(Seq(0)))
        .await?;
    if let Some((delivered_seq, read_seq)) = moved {
        let frame = encode(&ServerMessage::Receipt {
            room: room.clone(),
            user: ctx.authed.username.clone(),
            delivered_seq,
            read_seq,
        });
        // With a closed directory, receipts in the lobby would name its members to all.
        let audience = if room.is_lobby() && !state.open_directory {
            Audience::User(ctx.authed.user)
        } else {
            Audience::Room(room)
        };
        state.fanout.send(audience, frame, Some(ctx.conn));
    }
    Ok(None)
}

pub async fn typing(state: &AppState, ctx: &SocketContext, room: RoomId) -> Result<Reply, Refused> {
    if !ctx.typing_allowed(&room) {
        return Ok(None);
    }
    member_of(state, ctx, &room).await?;
    // Muted members and blocked conversations show no typing, silently.
    if may_post(state, ctx, &room).await.is_err() {
        return Ok(None);
    }
    let frame = encode(&ServerMessage::Typing {
        room: room.clone(),
        user: ctx.authed.username.clone(),
    });
    state
        .fanout
        .send(Audience::Room(room), frame, Some(ctx.conn));
    Ok(None)
}

pub async fn set_presence(
    state: &AppState,
    ctx: &SocketContext,
    status: Presence,
) -> Result<Reply, Refused> {
    let away = match status {
        Presence::Online => false,
        Presence::Away => true,
        Presence::Offline => {
            return Err(Refused::new(
                ErrorCode::InvalidMessage,
                "A connected session is online or away; close the socket to go offline.",
            ));
        }
    };
    state.hub.set_away(ctx.conn, away);
    presence::announce_change(state, ctx.authed.user, &ctx.authed.username).await;
    Ok(None)
}

/// When each room last had a typing notice from this socket.
#[derive(Default)]
pub struct TypingThrottle {
    last: std::sync::Mutex<std::collections::HashMap<RoomId, Instant>>,
}

impl TypingThrottle {
    /// True if a notice for `room` may go out now (and records it).
    pub fn allow(&self, room: &RoomId) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let window = Duration::from_millis(TYPING_THROTTLE_MS);
        if last
            .get(room)
            .is_some_and(|at| now.duration_since(*at) < window)
        {
            return false;
        }
        if last.len() >= TYPING_MEMORY {
            last.clear();
        }
        last.insert(room.clone(), now);
        true
    }

    /// A message from this socket in `room` ends its typing notice for everyone (clients hide
    /// it on the message), so the next keystroke's notice must go out, however soon.
    pub fn forget(&self, room: &RoomId) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_notices_are_throttled_per_room() {
        let throttle = TypingThrottle::default();
        let a = RoomId("a".into());
        assert!(throttle.allow(&a));
        assert!(!throttle.allow(&a));
        assert!(throttle.allow(&RoomId("b".into())));
        throttle.forget(&a);
        assert!(throttle.allow(&a), "a message ends the window");
    }
}
