//! Presence: online while any of a user's sockets is active, away when all of them report idle,
//! offline when none is left. Counted per socket, first in and last out, so a second tab does
//! not flicker; going offline is announced only after [`crate::config::Config`]'s grace period,
//! so a reconnecting tab does not flicker either.
//!
//! Changes are pushed to the user's direct conversations and to rooms of at most
//! [`PUSHED_ROOM_MEMBERS`] members. In bigger rooms (a lobby of thousands) pushing every
//! arrival to everyone costs members² frames while nobody watches a list that long; there the
//! `members` reply carries each member's current presence when someone opens the list.

use crate::frames::encode;
use crate::hub::Audience;
use crate::now_ms;
use crate::state::AppState;
use crate::store::UserId;
use shared::rooms::Presence;
use shared::ws::ServerMessage;

/// The largest room whose members are told about each other's presence changes.
pub const PUSHED_ROOM_MEMBERS: u32 = 100;

/// Tells everyone who shares a room with `user` about a presence change, if there is one.
pub async fn announce_change(state: &AppState, user: UserId, username: &str) {
    if let Some(status) = state.hub.presence_change(user, false) {
        announce(state, user, username, status, None).await;
    }
}

async fn announce(
    state: &AppState,
    user: UserId,
    username: &str,
    status: Presence,
    last_seen_ms: Option<i64>,
) {
    let rooms = match state.store.small_room_ids(user, PUSHED_ROOM_MEMBERS).await {
        // With a closed directory the lobby does not say who is around.
        Ok(mut rooms) if !state.open_directory => {
            rooms.retain(|room| !room.is_lobby());
            rooms
        }
        Ok(rooms) => rooms,
        Err(e) => {
            tracing::warn!(error = %e, "presence not announced: room list unavailable");
            return;
        }
    };
    let frame = encode(&ServerMessage::Presence {
        user: username.to_owned(),
        status,
        last_seen_ms,
    });
    state.fanout.send(Audience::Rooms(rooms), frame, None);
}

/// After a socket closed (and left the hub): records when the user was last seen and, if it
/// was their last socket, announces them offline after the grace period unless they are back.
pub async fn socket_closed(state: &AppState, user: UserId, username: &str, departure: Option<u64>) {
    let Some(departure) = departure else {
        announce_change(state, user, username).await;
        return;
    };
    let seen = now_ms();
    if let Err(e) = state.store.set_last_seen(user, seen).await {
        tracing::warn!(error = %e, "could not record last seen");
    }
    let state = state.clone();
    let username = username.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(state.presence_grace).await;
        if let Some(status) = state.hub.announce_offline(user, departure) {
            let last_seen = (status == Presence::Offline).then_some(seen);
            announce(&state, user, &username, status, last_seen).await;
        }
    });
}
