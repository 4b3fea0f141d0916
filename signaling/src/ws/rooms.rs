//! Conversations: creating rooms and direct conversations, membership, roles, invites, blocks,
//! and the lists a client shows.

use super::access::{blocked, group_only, may_invite, member_of};
use super::connection::SocketContext;
use super::dispatch::{Refused, Reply};
use super::mutate::{Applied, Outcome, append_mine, mutate, mutate_once};
use crate::auth::new_session_token;
use crate::now_ms;
use crate::rules;
use crate::state::AppState;
use crate::store::{Draft, Membership, NamedUser, NewRoom, UserId};
use shared::events::Role;
use shared::limits::{MAX_ROOMS_PER_USER, check_room_name, check_room_topic};
use shared::rooms::{Member, NotifyLevel, Presence, RoomKind};
use shared::ws::{ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};

/// How long an invite link works.
const INVITE_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;
/// Longest token worth looking up (ours are 43 characters).
const MAX_TOKEN_LEN: usize = 128;

fn forbidden(message: &'static str) -> Refused {
    Refused::new(ErrorCode::Forbidden, message)
}

fn no_such_user() -> Refused {
    Refused::new(ErrorCode::NoSuchUser, "There is no user with that name.")
}

async fn user_named(state: &AppState, name: &str) -> Result<NamedUser, Refused> {
    state
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(no_such_user)
}

/// Refuses when `user` already chose [`MAX_ROOMS_PER_USER`] rooms (created, joined by a link,
/// opened a direct conversation). Rooms others put them in do not count: nobody can use up
/// someone else's quota.
async fn has_room_for_one_more(state: &AppState, user: UserId) -> Result<(), Refused> {
    let (_, chosen) = state.store.room_counts(user).await?;
    if chosen >= MAX_ROOMS_PER_USER {
        return Err(Refused::new(
            ErrorCode::LimitReached,
            format!("An account can be in at most {MAX_ROOMS_PER_USER} rooms."),
        ));
    }
    Ok(())
}

/// Refuses putting `user` in one more room when others already put them in
/// [`MAX_ROOMS_PER_USER`] rooms beyond those they chose: the room list stays bounded, and the
/// person can still create and join rooms themselves.
async fn may_be_put_in_one_more(state: &AppState, user: &NamedUser) -> Result<(), Refused> {
    let (all, chosen) = state.store.room_counts(user.id).await?;
    if all - chosen.min(all) >= MAX_ROOMS_PER_USER {
        return Err(Refused::new(
            ErrorCode::LimitReached,
            format!("{} cannot be added to more rooms.", user.name),
        ));
    }
    Ok(())
}

/// Requests that store something without an event (links, blocks) count against the user's
/// event quota like those that do.
fn within_event_quota(state: &AppState, ctx: &SocketContext) -> Result<(), Refused> {
    state
        .user_event_limiter
        .check_key(&ctx.authed.user)
        .map_err(|_| super::mutate::too_many())
}

fn banned_here(name: &str) -> Refused {
    forbidden_owned(format!("{name} is banned from this room."))
}

fn forbidden_owned(message: String) -> Refused {
    Refused::new(ErrorCode::Forbidden, message)
}

/// 64 random bits in hex: unguessable enough that ids reveal nothing about other rooms.
fn new_room_id() -> RoomId {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    RoomId(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub async fn list(state: &AppState, ctx: &SocketContext) -> Result<Reply, Refused> {
    let rooms = state.store.room_summaries(ctx.authed.user).await?;
    Ok(Some(ServerMessage::Rooms { rooms }))
}

pub async fn members(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
) -> Result<Reply, Refused> {
    member_of(state, ctx, &room).await?;
    // The lobby holds every account: with a closed directory only administrators list it;
    // anyone else sees only themselves there.
    let directory_closed =
        room.is_lobby() && !state.open_directory && !state.store.is_admin(ctx.authed.user).await?;
    let members = state
        .store
        .members(&room)
        .await?
        .into_iter()
        .filter(|m| !directory_closed || m.user.id == ctx.authed.user)
        .map(|m| {
            let presence = state.hub.presence(m.user.id);
            Member {
                username: m.user.name,
                display_name: m.display_name,
                role: m.role,
                muted: m.muted,
                presence,
                last_seen_ms: m.last_seen_ms.filter(|_| presence == Presence::Offline),
                delivered_seq: m.delivered_seq,
                read_seq: m.read_seq,
            }
        })
        .collect();
    Ok(Some(ServerMessage::Members { room, members }))
}

pub async fn create(
    state: &AppState,
    ctx: &SocketContext,
    client_id: ClientMsgId,
    name: String,
    topic: String,
) -> Result<Reply, Refused> {
    check_room_name(&name).map_err(Refused::invalid)?;
    check_room_topic(&topic).map_err(Refused::invalid)?;
    mutate(state, ctx, client_id.clone(), None, async |order| {
        has_room_for_one_more(state, ctx.authed.user).await?;
        let creator = ctx.me();
        let new = NewRoom {
            id: new_room_id(),
            kind: RoomKind::Group,
            name: name.trim(),
            topic: topic.trim(),
            creator: &creator,
            client_id: &client_id,
            direct: None,
        };
        let event = state.room_log.create_room(order, new).await?;
        Ok(Outcome::event(event).joined(ctx.authed.user))
    })
    .await
}

pub async fn rename(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    name: String,
) -> Result<Reply, Refused> {
    check_room_name(&name).map_err(Refused::invalid)?;
    let draft = Draft::Renamed {
        name: name.trim().to_owned(),
    };
    change_room(state, ctx, room, client_id, draft).await
}

pub async fn set_topic(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    topic: String,
) -> Result<Reply, Refused> {
    check_room_topic(&topic).map_err(Refused::invalid)?;
    let draft = Draft::TopicChanged {
        topic: topic.trim().to_owned(),
    };
    change_room(state, ctx, room, client_id, draft).await
}

/// Renames or sets the topic, for admins and the owner of a group room.
async fn change_room(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    draft: Draft,
) -> Result<Reply, Refused> {
    mutate(state, ctx, client_id.clone(), Some(&room), async |order| {
        let membership = member_of(state, ctx, &room).await?;
        group_only(membership)?;
        if !rules::may_edit_room(membership.role) {
            return Err(forbidden(
                "Only admins can change the room's name and topic.",
            ));
        }
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await?;
        Ok(Outcome::event(event))
    })
    .await
}

pub async fn add_member(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    user: String,
) -> Result<Reply, Refused> {
    mutate(state, ctx, client_id.clone(), Some(&room), async |order| {
        may_invite(state, ctx, &room).await?;
        let user = user_named(state, &user).await?;
        if state.store.is_bot(user.id).await? {
            return Err(bots_by_admins());
        }
        if state.store.is_guest(user.id).await? {
            return Err(guests_stay_in_support());
        }
        if state.store.membership(&room, user.id).await?.is_some() {
            return Err(Refused::new(
                ErrorCode::AlreadyMember,
                format!("{} is already a member.", user.name),
            ));
        }
        // Said the same way as a full room list, so a block stays private.
        if state.store.has_blocked(user.id, ctx.authed.user).await? {
            return Err(forbidden("You cannot add this person."));
        }
        if state.store.is_banned(&room, user.id).await? {
            return Err(banned_here(&user.name));
        }
        may_be_put_in_one_more(state, &user).await?;
        let added = user.id;
        let event =
            append_mine(state, order, ctx, &room, &client_id, Draft::Added { user }).await?;
        Ok(Outcome::event(event).joined(added))
    })
    .await
}

/// A guest of the support desk is in its own conversation and nowhere else.
fn guests_stay_in_support() -> Refused {
    forbidden("A guest of the support desk is only in their support conversation.")
}

/// A bot's rooms are its scope: a server administrator chooses them (`crate::bots`).
fn bots_by_admins() -> Refused {
    forbidden("Bots are put in rooms by a server administrator.")
}

/// The member of `room` called `user`, with their membership.
async fn fellow_member(
    state: &AppState,
    room: &RoomId,
    user: &str,
) -> Result<(NamedUser, Membership), Refused> {
    let target = user_named(state, user).await?;
    match state.store.membership(room, target.id).await? {
        Some(theirs) => Ok((target, theirs)),
        None => Err(Refused::new(
            ErrorCode::NoSuchUser,
            format!("{} is not a member of this room.", target.name),
        )),
    }
}

/// The target of a moderation request: a member ranked below me.
async fn moderated(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    user: &str,
) -> Result<NamedUser, Refused> {
    let membership = member_of(state, ctx, room).await?;
    group_only(membership)?;
    let (target, theirs) = fellow_member(state, room, user).await?;
    if target.id == ctx.authed.user {
        return Err(Refused::new(
            ErrorCode::InvalidMessage,
            "You cannot do that to yourself.",
        ));
    }
    if !rules::may_moderate(membership.role, theirs.role) {
        return Err(forbidden(
            "Only admins can do that, and only to members below them.",
        ));
    }
    Ok(target)
}

pub async fn remove_member(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    user: String,
) -> Result<Reply, Refused> {
    let applied = mutate_once(state, ctx, client_id.clone(), Some(&room), async |order| {
        let target = moderated(state, ctx, &room, &user).await?;
        let removed = target.id;
        let draft = Draft::Removed { user: target };
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await?;
        Ok(Outcome::event(event).left(removed))
    })
    .await?;
    audited(state, ctx, &room, "remove from room", &user, applied).await
}

pub async fn mute(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    user: String,
    muted: bool,
) -> Result<Reply, Refused> {
    let applied = mutate_once(state, ctx, client_id.clone(), Some(&room), async |order| {
        let target = moderated(state, ctx, &room, &user).await?;
        let affected = target.id;
        let draft = Draft::Muted {
            user: target,
            muted,
        };
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await?;
        Ok(Outcome::event(event).updated(affected))
    })
    .await?;
    audited(
        state,
        ctx,
        &room,
        if muted {
            "mute in room"
        } else {
            "unmute in room"
        },
        &user,
        applied,
    )
    .await
}

pub async fn set_role(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    user: String,
    role: Role,
) -> Result<Reply, Refused> {
    let applied = mutate_once(state, ctx, client_id.clone(), Some(&room), async |order| {
        let membership = member_of(state, ctx, &room).await?;
        group_only(membership)?;
        let (target, theirs) = fellow_member(state, &room, &user).await?;
        if role != Role::Member && state.store.is_bot(target.id).await? {
            return Err(forbidden("A bot cannot moderate a room."));
        }
        if !rules::may_set_role(membership.role, theirs.role, role) {
            return Err(forbidden(
                "Only the owner can make admins, and ownership cannot be given away.",
            ));
        }
        let affected = target.id;
        let draft = Draft::RoleChanged { user: target, role };
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await?;
        Ok(Outcome::event(event).updated(affected))
    })
    .await?;
    audited(
        state,
        ctx,
        &room,
        &format!("make {}", role_name(role)),
        &user,
        applied,
    )
    .await
}

pub async fn leave(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
) -> Result<Reply, Refused> {
    mutate(state, ctx, client_id.clone(), Some(&room), async |order| {
        let membership = member_of(state, ctx, &room).await?;
        if membership.kind == RoomKind::Direct {
            return Err(forbidden(
                "A direct conversation cannot be left; block the person instead.",
            ));
        }
        // The handover and the departure are stored together: never a room without an owner
        // or with two.
        let mut drafts = Vec::new();
        let mut heir = None;
        if membership.role == Role::Owner {
            let mut members = state.store.members(&room).await?;
            // A bot cannot moderate: it never inherits a room.
            let bots = state.store.room_bots(&room).await?;
            members.retain(|m| !bots.contains(&m.user.id));
            if let Some(next) = rules::successor(&members, ctx.authed.user) {
                heir = Some(next.user.id);
                let draft = Draft::RoleChanged {
                    user: next.user.clone(),
                    role: Role::Owner,
                };
                drafts.push((None, draft));
            }
        }
        drafts.push((Some(client_id.clone()), Draft::Left));
        let mut events = state
            .room_log
            .append(order, &room, &ctx.me(), drafts)
            .await?;
        let left = events.pop().ok_or_else(Refused::busy)?;
        let mut outcome = Outcome::event(left).left(ctx.authed.user);
        outcome.events.splice(0..0, events);
        if let Some(heir) = heir {
            outcome = outcome.updated(heir);
        }
        Ok(outcome)
    })
    .await
}

pub async fn create_invite(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
) -> Result<Reply, Refused> {
    may_invite(state, ctx, &room).await?;
    within_event_quota(state, ctx)?;
    let (token, hash) = new_session_token();
    let now = now_ms();
    let expires_at_ms = now + INVITE_LIFETIME_MS;
    state
        .store
        .create_invite(&hash, &room, ctx.authed.user, now, expires_at_ms)
        .await?;
    Ok(Some(ServerMessage::Invite {
        room,
        token,
        expires_at_ms,
    }))
}

pub async fn join_by_invite(
    state: &AppState,
    ctx: &SocketContext,
    client_id: ClientMsgId,
    token: String,
) -> Result<Reply, Refused> {
    let invalid_invite = || {
        Refused::new(
            ErrorCode::InvalidInvite,
            "This invite link is not valid or has expired.",
        )
    };
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(invalid_invite());
    }
    mutate(state, ctx, client_id.clone(), None, async |order| {
        let hash = crate::auth::hash_token(&token);
        let Some(room) = state.store.invite_room(&hash, now_ms()).await? else {
            return Err(invalid_invite());
        };
        if state.store.is_banned(&room, ctx.authed.user).await? {
            return Err(forbidden("You are banned from this room."));
        }
        if state
            .store
            .membership(&room, ctx.authed.user)
            .await?
            .is_some()
        {
            return Err(Refused::new(
                ErrorCode::AlreadyMember,
                "You are already a member of this room.",
            ));
        }
        has_room_for_one_more(state, ctx.authed.user).await?;
        let event = append_mine(state, order, ctx, &room, &client_id, Draft::Joined).await?;
        Ok(Outcome::event(event).joined(ctx.authed.user))
    })
    .await
}

pub async fn open_direct(
    state: &AppState,
    ctx: &SocketContext,
    client_id: ClientMsgId,
    user: String,
) -> Result<Reply, Refused> {
    mutate(state, ctx, client_id.clone(), None, async |order| {
        let other = user_named(state, &user).await?;
        if other.id == ctx.authed.user {
            return Err(Refused::new(
                ErrorCode::InvalidMessage,
                "A direct conversation needs someone else.",
            ));
        }
        if state.store.is_bot(other.id).await? {
            return Err(bots_by_admins());
        }
        if state.store.is_guest(other.id).await? {
            return Err(guests_stay_in_support());
        }
        if state
            .store
            .blocked_either_way(ctx.authed.user, other.id)
            .await?
        {
            return Err(blocked());
        }
        let key = rules::direct_key(ctx.authed.user, other.id);
        if let Some(room) = state.store.direct_room(&key).await? {
            // Already open: answer with its first event, and nothing new is stored.
            let (mut first, _) = state.store.events_after(&room, shared::Seq(0), 1).await?;
            let created = first.pop().ok_or_else(Refused::busy)?;
            let mut outcome = Outcome::event(created).updated(ctx.authed.user);
            outcome.events.clear();
            return Ok(outcome);
        }
        has_room_for_one_more(state, ctx.authed.user).await?;
        may_be_put_in_one_more(state, &other).await?;
        let opener = ctx.me();
        let other_id = other.id;
        let new = NewRoom {
            id: new_room_id(),
            kind: RoomKind::Direct,
            name: "",
            topic: "",
            creator: &opener,
            client_id: &client_id,
            direct: Some((&other, key)),
        };
        let event = state.room_log.create_room(order, new).await?;
        Ok(Outcome::event(event)
            .joined(ctx.authed.user)
            .joined(other_id))
    })
    .await
}

pub async fn block(
    state: &AppState,
    ctx: &SocketContext,
    user: String,
    blocked: bool,
) -> Result<Reply, Refused> {
    let target = user_named(state, &user).await?;
    if target.id == ctx.authed.user {
        return Err(Refused::new(
            ErrorCode::InvalidMessage,
            "You cannot block yourself.",
        ));
    }
    within_event_quota(state, ctx)?;
    state
        .store
        .set_blocked(ctx.authed.user, target.id, blocked, now_ms())
        .await?;
    Ok(Some(ServerMessage::Blocked {
        user: target.name,
        blocked,
    }))
}

pub async fn revoke_invites(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    token: Option<String>,
) -> Result<Reply, Refused> {
    let membership = member_of(state, ctx, &room).await?;
    group_only(membership)?;
    let moderator = rules::may_edit_room(membership.role);
    let hash = match &token {
        Some(token) => {
            let hash = crate::auth::hash_token(token);
            let creator = if token.is_empty() || token.len() > MAX_TOKEN_LEN {
                None
            } else {
                state.store.invite_creator(&hash, &room).await?
            };
            match creator {
                None => {
                    return Err(Refused::new(
                        ErrorCode::InvalidInvite,
                        "There is no such invite link for this room.",
                    ));
                }
                Some(creator) if creator != ctx.authed.user && !moderator => {
                    return Err(forbidden(
                        "Only the person who made a link, or an admin, can revoke it.",
                    ));
                }
                Some(_) => Some(hash),
            }
        }
        None if moderator => None,
        None => return Err(forbidden("Only admins can revoke every link of a room.")),
    };
    let revoked = state
        .store
        .revoke_invites(&room, hash.as_ref().map(<[u8; 32]>::as_slice))
        .await?;
    Ok(Some(ServerMessage::InvitesRevoked { room, revoked }))
}

pub async fn ban(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    user: String,
    banned: bool,
) -> Result<Reply, Refused> {
    let applied = mutate_once(state, ctx, client_id.clone(), Some(&room), async |order| {
        let membership = member_of(state, ctx, &room).await?;
        group_only(membership)?;
        let target = user_named(state, &user).await?;
        if target.id == ctx.authed.user {
            return Err(Refused::new(
                ErrorCode::InvalidMessage,
                "You cannot do that to yourself.",
            ));
        }
        // A member must rank below me; someone who is not a member is ranked as a member.
        let theirs = state.store.membership(&room, target.id).await?;
        let was_member = theirs.is_some();
        let theirs = theirs.map_or(Role::Member, |m| m.role);
        if !rules::may_moderate(membership.role, theirs) {
            return Err(forbidden(
                "Only admins can do that, and only to members below them.",
            ));
        }
        if state.store.is_banned(&room, target.id).await? == banned {
            return Err(Refused::new(
                ErrorCode::InvalidMessage,
                if banned {
                    format!("{} is already banned.", target.name)
                } else {
                    format!("{} is not banned.", target.name)
                },
            ));
        }
        let affected = target.id;
        let draft = Draft::Banned {
            user: target,
            banned,
        };
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await?;
        let outcome = Outcome::event(event);
        Ok(if banned && was_member {
            outcome.left(affected)
        } else {
            outcome
        })
    })
    .await?;
    audited(
        state,
        ctx,
        &room,
        if banned {
            "ban from room"
        } else {
            "unban from room"
        },
        &user,
        applied,
    )
    .await
}

/// Which messages of `room` notify me: stored with my membership, then the new summary goes
/// to every socket of mine, on any node, so my other devices follow.
pub async fn set_notify(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    level: NotifyLevel,
) -> Result<Reply, Refused> {
    within_event_quota(state, ctx)?;
    if !state
        .store
        .set_notify(&room, ctx.authed.user, level)
        .await?
    {
        return Err(Refused::no_such_room());
    }
    if let Some(summary) = state.store.room_summary(&room, ctx.authed.user).await? {
        let frame = crate::frames::encode(&ServerMessage::RoomUpdated { room: summary });
        state
            .fanout
            .send(crate::hub::Audience::User(ctx.authed.user), frame, None);
    }
    Ok(None)
}

/// A room moderator's action, applied now (not a repeat), goes to the server's audit log.
async fn audited(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    action: &str,
    user: &str,
    applied: Applied,
) -> Result<Reply, Refused> {
    if let Applied::New(_) = &applied {
        let name = match state.store.room_summary(room, ctx.authed.user).await {
            Ok(Some(summary)) if !summary.name.is_empty() => summary.name,
            _ => format!("room {}", room.0),
        };
        crate::admin::audit(
            state,
            &ctx.authed.username,
            action,
            &format!("{user} in {name}"),
            "",
        )
        .await;
    }
    Ok(applied.reply())
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
        Role::Member => "member",
    }
}
