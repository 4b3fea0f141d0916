//! Presence: online while any of a user's sockets is active, away when all of them report idle,
//! offline when none is left. Counted per socket, first in and last out, so a second tab does
//! not flicker; going offline is announced only after [`crate::config::Config`]'s grace period,
//! so a reconnecting tab does not flicker either. With several nodes, each node reports its own
//! users' presence to the others ([`crate::fanout::Fanout::presence_here`]) and tells its own
//! sockets about the presence over all nodes, so each change is told once to each socket.
//!
//! Changes are pushed to the user's direct conversations and to rooms of at most
//! [`PUSHED_ROOM_MEMBERS`] members. In bigger rooms (a lobby of thousands) pushing every
//! arrival to everyone costs members² frames while nobody watches a list that long; there the
//! `members` reply carries each member's current presence when someone opens the list.

use crate::frames::encode;
use crate::hub::{Audience, Hub};
use crate::now_ms;
use crate::state::AppState;
use crate::store::{Storage, UserId};
use shared::rooms::Presence;
use shared::ws::ServerMessage;

/// The largest room whose members are told about each other's presence changes.
pub const PUSHED_ROOM_MEMBERS: u32 = 100;

/// After a socket of `user` opened or changed: tells the other nodes, and everyone here who
/// shares a room with the user, if their presence changed.
pub async fn announce_change(state: &AppState, user: UserId, username: &str) {
    let here = state.hub.local_presence(user);
    state.fanout.presence_here(user, username, here, None);
    if let Some(status) = state.hub.presence_change(user) {
        tell_sockets_here(
            state.store.as_ref(),
            &state.hub,
            state.open_directory,
            (user, username),
            status,
            None,
        )
        .await;
    }
}

/// Tells this node's sockets that share a pushed room with `user` about their presence.
pub async fn tell_sockets_here(
    store: &dyn Storage,
    hub: &Hub,
    open_directory: bool,
    (user, username): (UserId, &str),
    status: Presence,
    last_seen_ms: Option<i64>,
) {
    let rooms = match store.small_room_ids(user, PUSHED_ROOM_MEMBERS).await {
        // With a closed directory the lobby does not say who is around.
        Ok(mut rooms) if !open_directory => {
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
    hub.deliver(&Audience::Rooms(rooms), &frame, None);
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
        let Some(change) = state.hub.announce_offline(user, departure) else {
            return;
        };
        let here = state.hub.local_presence(user);
        state
            .fanout
            .presence_here(user, &username, here, Some(seen));
        if let Some(status) = change {
            let last_seen = (status == Presence::Offline).then_some(seen);
            tell_sockets_here(
                state.store.as_ref(),
                &state.hub,
                state.open_directory,
                (user, &username),
                status,
                last_seen,
            )
            .await;
        }
    });
}
