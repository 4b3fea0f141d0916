//! File offers that wait for their receiver. A `files` signal is relayed at once and also kept
//! (in the database, so any node can hand it over); a receiver who was not connected gets it
//! when a socket of theirs opens, after the welcome. It is forgotten when either side answers
//! the session (the receiver's WebRTC `offer` accepts, a `bye` declines or withdraws), after
//! [`OFFER_KEPT_MS`], and it is handed over only while its sender is connected (the files
//! live in the sender's browser).

use super::connection::SocketContext;
use crate::now_ms;
use crate::state::AppState;
use crate::store::{FileOffer, NamedUser, UserId};
use shared::RoomId;
use shared::calls::SignalData;
use shared::rooms::Presence;
use shared::ws::ServerMessage;

/// How long an unanswered offer is kept for a receiver who is away.
pub const OFFER_KEPT_MS: i64 = 60 * 60 * 1000;

/// Keeps or forgets an offer as a signal between the asker and `target` passes by. Failures
/// are logged, not returned: the signal itself is relayed either way.
pub async fn on_signal(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    target: &NamedUser,
    session: &str,
    data: &SignalData,
) {
    let done = match data {
        SignalData::Files { files } => {
            let Ok(files) = serde_json::to_string(files) else {
                return;
            };
            let offer = FileOffer {
                room: room.clone(),
                from: NamedUser {
                    id: ctx.authed.user,
                    name: ctx.authed.username.clone(),
                },
                to: target.id,
                session: session.to_owned(),
                files,
                created_ms: now_ms(),
            };
            state.store.put_file_offer(&offer).await
        }
        SignalData::Offer { .. } | SignalData::Bye => {
            state
                .store
                .remove_file_offer(session, ctx.authed.user, target.id)
                .await
        }
        _ => return,
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, "file offer not kept");
    }
}

/// The offers waiting for `user` that could still be answered, as the signals they were: the
/// sender is connected, both are still in the room (the lobby only while it may carry offers)
/// and neither blocked the other. The others stay until they expire or are answered.
pub async fn waiting_for(state: &AppState, user: UserId) -> Vec<ServerMessage> {
    let offers = match state
        .store
        .file_offers_for(user, now_ms() - OFFER_KEPT_MS)
        .await
    {
        Ok(offers) => offers,
        Err(e) => {
            tracing::warn!(error = %e, "file offers not read");
            return Vec::new();
        }
    };
    let mut signals = Vec::new();
    for offer in offers {
        if state.hub.presence(offer.from.id) == Presence::Offline
            || (offer.room.is_lobby() && !state.open_directory)
            || !still_reachable(state, &offer, user).await
        {
            continue;
        }
        let Ok(files) = serde_json::from_str(&offer.files) else {
            continue;
        };
        signals.push(ServerMessage::Signal {
            room: offer.room,
            from: offer.from.name,
            session: offer.session,
            data: SignalData::Files { files },
        });
    }
    signals
}

/// Both are still members of the offer's room and neither blocked the other (a failed read
/// counts as no).
async fn still_reachable(state: &AppState, offer: &FileOffer, user: UserId) -> bool {
    let member = |who: UserId| state.store.membership(&offer.room, who);
    matches!(member(user).await, Ok(Some(_)))
        && matches!(member(offer.from.id).await, Ok(Some(_)))
        && matches!(
            state.store.blocked_either_way(user, offer.from.id).await,
            Ok(false)
        )
}
