//! Deleting an account, for good.
//!
//! Every message the account ever wrote becomes a tombstone through an ordinary `delete` event,
//! appended to its room like any other, so each room's sequence stays gap-free and every
//! client's offline copy learns it on its next catch-up. The account then leaves its group
//! rooms (an owner hands the room on, as when leaving), its sessions and sockets end at once,
//! and what is left of it is forgotten (see [`crate::store::Storage::forget_account`]).

use crate::error::ApiFailure;
use crate::hub::Audience;
use crate::rules;
use crate::state::AppState;
use crate::store::{Draft, NamedUser};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use shared::api::PasswordConfirm;
use shared::events::Role;
use shared::rooms::RoomKind;
use shared::ws::ServerMessage;
use shared::{ClientMsgId, RoomId};
use std::collections::BTreeMap;

/// Events appended per transaction while tombstoning: a prolific account does not hold the
/// order lock for one huge transaction.
const DRAFTS_PER_APPEND: usize = 500;

pub async fn delete_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasswordConfirm>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let authed = crate::accounts::owner_confirmed(&state, &headers, body).await?;
    let me = NamedUser {
        id: authed.user,
        name: authed.username.clone(),
    };
    // Sessions first: nothing new can be written by this account while it is taken apart.
    let sessions = state.store.end_sessions(me.id, None).await?;
    for hash in &sessions {
        if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            state.fanout.disconnect_session(&hash);
        }
    }
    let mut rooms: BTreeMap<RoomId, Vec<(Option<ClientMsgId>, Draft)>> = BTreeMap::new();
    for (room, seq) in state.store.live_messages_of(me.id).await? {
        rooms
            .entry(room)
            .or_default()
            .push((None, Draft::Delete { target: seq }));
    }
    for room in state.store.room_ids(me.id).await? {
        rooms.entry(room).or_default();
    }
    for (room, drafts) in rooms {
        tombstone_and_leave(&state, &me, &room, drafts).await?;
    }
    state.store.forget_account(me.id).await?;
    // The picture goes too; the files of deleted messages were released with them and the
    // collector takes them now.
    if let Some(media) = &state.media {
        if let Some(old) = state.store.set_user_avatar(me.id, None).await? {
            media
                .release(state.store.as_ref(), &old)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "could not delete a deleted account's picture");
                    ApiFailure::Internal
                })?;
        }
        media.wake_collector();
    }
    tracing::info!(user = me.id.0, "account deleted");
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(axum::http::header::SET_COOKIE, state.session_cookie.clear());
    Ok(response)
}

/// Appends the deletes of `me`'s messages in `room` and, in a group `me` is in, the departure
/// (after handing an owned room on); every event goes to the room like any other.
async fn tombstone_and_leave(
    state: &AppState,
    me: &NamedUser,
    room: &RoomId,
    mut drafts: Vec<(Option<ClientMsgId>, Draft)>,
) -> Result<(), ApiFailure> {
    let membership = state.store.membership(room, me.id).await?;
    let mut heir = None;
    if let Some(membership) = membership
        && membership.kind == RoomKind::Group
    {
        if membership.role == Role::Owner {
            let members = state.store.members(room).await?;
            if let Some(next) = rules::successor(&members, me.id) {
                heir = Some(next.user.id);
                drafts.push((
                    None,
                    Draft::RoleChanged {
                        user: next.user.clone(),
                        role: Role::Owner,
                    },
                ));
            }
        }
        drafts.push((None, Draft::Left));
    }
    let leaves = drafts.iter().any(|(_, d)| matches!(d, Draft::Left));
    while !drafts.is_empty() {
        let rest = drafts.split_off(drafts.len().min(DRAFTS_PER_APPEND));
        let batch = std::mem::replace(&mut drafts, rest);
        let in_order = state.room_log.in_order().await;
        let events = state.room_log.append(&in_order, room, me, batch).await?;
        for event in events {
            state.room_log.publish(&in_order, event, None);
        }
        drop(in_order);
    }
    if leaves {
        state.fanout.set_membership(me.id, room, false);
    }
    if let Some(heir) = heir
        && let Ok(Some(summary)) = state.store.room_summary(room, heir).await
    {
        let frame = crate::frames::encode(&ServerMessage::RoomUpdated { room: summary });
        state.fanout.send(Audience::User(heir), frame, None);
    }
    Ok(())
}
