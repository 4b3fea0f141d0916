//! Whether this socket's user may read, post or manage in a room, loaded from the store: the
//! one place every handler asks (the role rules themselves are pure, in [`crate::rules`]).
//! Refusals never reveal whether a room the user is not in exists.

use super::connection::SocketContext;
use super::dispatch::Refused;
use crate::state::AppState;
use crate::store::Membership;
use shared::RoomId;
use shared::rooms::RoomKind;
use shared::ws::ErrorCode;

/// My membership of `room` (I may read it), or the refusal that does not reveal whether the
/// room exists.
pub async fn member_of(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
) -> Result<Membership, Refused> {
    state
        .store
        .membership(room, ctx.authed.user)
        .await?
        .ok_or_else(Refused::no_such_room)
}

/// I may post in `room` (messages, edits, reactions, calls): a member, not muted, and in a
/// direct conversation neither side blocked the other.
pub async fn may_post(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
) -> Result<Membership, Refused> {
    let membership = member_of(state, ctx, room).await?;
    not_muted(membership)?;
    not_blocked(state, ctx, room, membership).await?;
    Ok(membership)
}

/// I may change who is in `room` (invite, add): a member of a group room, not muted. Who may
/// remove, mute or promote whom is [`crate::rules`]'.
pub async fn may_invite(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
) -> Result<Membership, Refused> {
    let membership = member_of(state, ctx, room).await?;
    group_only(membership)?;
    not_muted(membership)?;
    // A support conversation is the customer's with the team: the team brings people in.
    if crate::support::desk::is_support_room(room)
        && membership.role == shared::events::Role::Member
    {
        return Err(Refused::new(
            ErrorCode::Forbidden,
            "The support team brings people into a support conversation.",
        ));
    }
    Ok(membership)
}

/// Refuses what needs a group room: a direct conversation has exactly its two people.
pub fn group_only(membership: Membership) -> Result<(), Refused> {
    match membership.kind {
        RoomKind::Group => Ok(()),
        RoomKind::Direct => Err(Refused::new(
            ErrorCode::Forbidden,
            "A direct conversation has no members to manage.",
        )),
    }
}

fn not_muted(membership: Membership) -> Result<(), Refused> {
    if membership.muted {
        Err(muted())
    } else {
        Ok(())
    }
}

/// In a direct conversation, refuses writing if either side blocked the other.
async fn not_blocked(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    membership: Membership,
) -> Result<(), Refused> {
    if membership.kind != RoomKind::Direct {
        return Ok(());
    }
    let members = state.store.members(room).await?;
    for other in members.iter().filter(|m| m.user.id != ctx.authed.user) {
        if state
            .store
            .blocked_either_way(ctx.authed.user, other.user.id)
            .await?
        {
            return Err(blocked());
        }
    }
    Ok(())
}

pub fn muted() -> Refused {
    Refused::new(ErrorCode::Forbidden, "An admin muted you in this room.")
}

pub fn blocked() -> Refused {
    Refused::new(ErrorCode::Forbidden, "You cannot write to this person.")
}
