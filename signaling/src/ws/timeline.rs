//! Messages and the operations on them, and reading a room's timeline.

use super::access::{blocked, may_post, member_of, muted};
use super::connection::SocketContext;
use super::dispatch::error;
use super::dispatch::{Refused, Reply};
use super::mutate::{Outcome, append_mine, check_client_id, earlier_ack, mutate, too_many};
use crate::admin::abuse::{self, Verdict};
use crate::commit::Receipt;
use crate::state::AppState;
use crate::store::{Appended, Draft, PendingMessage};
use shared::events::{Attachment, Event};
use shared::limits::{
    MAX_HISTORY_PAGE, MAX_REACTIONS_PER_MESSAGE, check_body, check_caption, check_emoji,
    mentioned_names,
};
use shared::ws::{ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};

/// Bytes of events one history or catch-up reply may carry. Pages are cut short to fit (and
/// say they are incomplete), so a reply always fits the socket's write buffer.
pub const PAGE_BYTE_BUDGET: usize = 128 * 1024;
/// Mentions looked up per message; more are left as plain text.
const MAX_MENTIONS: usize = 20;

pub async fn history(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    before: Option<Seq>,
    limit: u32,
) -> Result<Reply, Refused> {
    member_of(state, ctx, &room).await?;
    let limit = limit.clamp(1, MAX_HISTORY_PAGE);
    let (events, complete, last_seq) = state.store.history(&room, before, limit).await?;
    let (mut events, cut) = fit_page(events, true);
    // Read after the page, and what the page holds at or below it left out: retention that
    // ran meanwhile must not hand the client back what it tells it to drop.
    let floor = state.store.history_floor(&room).await?;
    events.retain(|e| e.seq > floor);
    Ok(Some(ServerMessage::History {
        room,
        before,
        events,
        complete: complete && !cut,
        last_seq,
        floor,
    }))
}

pub async fn catch_up(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    after: Seq,
    limit: u32,
) -> Result<Reply, Refused> {
    member_of(state, ctx, &room).await?;
    let limit = limit.clamp(1, MAX_HISTORY_PAGE);
    let (events, up_to_date) = state.store.events_after(&room, after, limit).await?;
    let (mut events, cut) = fit_page(events, false);
    let floor = state.store.history_floor(&room).await?;
    events.retain(|e| e.seq > floor);
    Ok(Some(ServerMessage::CaughtUp {
        room,
        after,
        events,
        up_to_date: up_to_date && !cut,
        floor,
    }))
}

/// The server's abuse controls on a message's text (`crate::admin::abuse`): an account
/// silenced for flooding posts nothing; blocked words refuse the message or are masked; a
/// young account's links are counted; and a new message that repeats the same text too often
/// silences its sender on every room for a while.
async fn screen(
    state: &AppState,
    ctx: &SocketContext,
    body: String,
    new_message: bool,
) -> Result<String, Refused> {
    let now = crate::now_ms();
    let user = ctx.authed.user;
    // A silence held here is checked against the store, where an administrator may have
    // lifted it from another node (silenced accounts only: no read for everyone else).
    if let Some(until) = state.admin.flood.silenced_until(user, now)
        && state.store.silenced_until(user).await? > now
    {
        let minutes = (until - now).div_euclid(60_000) + 1;
        return Err(Refused::new(
            ErrorCode::Forbidden,
            format!("You sent the same message too often. You can post again in {minutes} min."),
        ));
    }
    if state.admin.flood.silenced_until(user, now).is_some() {
        // Lifted elsewhere.
        state.admin.flood.lift(user);
    }
    let current = state.admin.current();
    let settings = &current.settings;
    let body = match current.words.check(&body) {
        Verdict::Pass => body,
        Verdict::Masked(masked) => masked,
        Verdict::Refused(why) => return Err(Refused::new(ErrorCode::InvalidMessage, why)),
    };
    abuse::check_links(settings, &body, ctx.authed.account_created_ms, now)
        .map_err(|why| Refused::new(ErrorCode::Forbidden, why))?;
    // A file sent without words is not a repeated text.
    if new_message
        && !body.trim().is_empty()
        && state.admin.flood.is_flood(settings, user, &body, now)
    {
        let until = now + i64::from(settings.flood_mute_minutes.max(1)) * 60_000;
        state.admin.flood.silence(user, until);
        if let Err(e) = state.store.set_silenced(user, until).await {
            tracing::warn!(error = %e, "could not store a flood silence; it holds on this node");
        }
        crate::admin::audit(
            state,
            "server",
            "silence for flooding",
            &ctx.authed.username,
            &format!(
                "{} times the same text within {} s; {} min",
                settings.flood_repeats, settings.flood_window_secs, settings.flood_mute_minutes
            ),
        )
        .await;
        return Err(Refused::new(
            ErrorCode::Forbidden,
            format!(
                "You sent the same message too often. You can post again in {} min.",
                settings.flood_mute_minutes.max(1)
            ),
        ));
    }
    Ok(body)
}

/// The mentioned names that belong to members of `room`, as they spell their names.
async fn mentions(state: &AppState, room: &RoomId, body: &str) -> Result<Vec<String>, Refused> {
    let mut found = Vec::new();
    for name in mentioned_names(body).into_iter().take(MAX_MENTIONS) {
        let Some(user) = state.store.user_by_name(name).await? else {
            continue;
        };
        if state.store.membership(room, user.id).await?.is_some() {
            found.push(user.name);
        }
    }
    Ok(found)
}

/// A message takes the group-commit path ([`crate::commit`]) instead of [`mutate`], in two
/// steps so a socket can have several in flight: [`start_send`] checks it and queues it (in
/// the order the frames arrived), [`finish_send`] waits for its batch and makes the reply.
/// The writer re-checks membership, mutes, blocks and the client id inside the transaction, so
/// nothing checked here can go stale before the message is stored.
pub async fn send(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    body: String,
    reply_to: Option<Seq>,
    attachment: Option<String>,
) -> Result<Reply, Refused> {
    let sending = start_send(state, ctx, room, client_id, body, reply_to, attachment).await;
    Ok(finish_send(state, ctx, sending).await)
}

/// A message checked and queued for the group commit (or refused before that).
pub struct Sending {
    room: RoomId,
    client_id: ClientMsgId,
    queued: Result<Receipt, Refused>,
    /// When the frame arrived, for the delivery latency on the insight page.
    started: std::time::Instant,
}

pub async fn start_send(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    body: String,
    reply_to: Option<Seq>,
    attachment: Option<String>,
) -> Sending {
    let started = std::time::Instant::now();
    let queued = queue_message(state, ctx, &room, &client_id, body, reply_to, attachment).await;
    Sending {
        room,
        client_id,
        queued,
        started,
    }
}

/// The ack once the message is stored, or the error frame that names it.
pub async fn finish_send(state: &AppState, ctx: &SocketContext, sending: Sending) -> Reply {
    let Sending {
        room,
        client_id,
        queued,
        started,
    } = sending;
    let stored = match queued {
        Ok(receipt) => match receipt.outcome().await {
            Ok(Appended::New(event)) => Ok(event),
            Ok(Appended::NotMember) => Err(Refused::no_such_room()),
            Ok(Appended::Muted) => Err(muted()),
            Ok(Appended::Blocked) => Err(blocked()),
            // Sent twice at once (two tabs resending): answered with the stored one below.
            Ok(Appended::Earlier) => Err(Refused::new(
                ErrorCode::ClientIdReused,
                "This client_id was already used.",
            )),
            Err(e) => Err(e.into()),
        },
        Err(refused) => Err(refused),
    };
    let refused = match stored {
        Ok(event) => {
            // Stored and handed to every socket that follows the room (fan-out runs before
            // the acks): that is the delivery the insight page times.
            let latency = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            state
                .admin
                .activity
                .message(&event.room, event.at_ms, latency);
            crate::support::desk::on_message(state, &event);
            return Some(ServerMessage::Ack { client_id, event });
        }
        Err(refused) => refused,
    };
    if !client_id.is_valid() {
        // An invalid key is not echoed back: the error names no request.
        return Some(error(refused.code, refused.message, None));
    }
    // A resend of a message that was stored is answered with it, whatever changed since (a
    // quota, a removal): the client must learn that it arrived.
    match earlier_ack(state, ctx, &client_id, Some(&room)).await {
        Ok(Some(ack)) => Some(ack),
        Ok(None) => Some(error(refused.code, refused.message, Some(client_id))),
        Err(other) => Some(error(other.code, other.message, Some(client_id))),
    }
}

async fn queue_message(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    client_id: &ClientMsgId,
    body: String,
    reply_to: Option<Seq>,
    attachment: Option<String>,
) -> Result<Receipt, Refused> {
    if attachment.is_some() {
        check_caption(&body).map_err(Refused::invalid)?;
    } else {
        check_body(&body).map_err(Refused::invalid)?;
    }
    check_client_id(client_id)?;
    if state
        .user_event_limiter
        .check_key(&ctx.authed.user)
        .is_err()
    {
        return Err(too_many());
    }
    if ctx.authed.guest && !crate::support::guests::may_send_now(state, ctx.authed.user) {
        return Err(Refused::new(
            ErrorCode::RateLimited,
            "A guest may send a message every few seconds; wait a moment.",
        ));
    }
    let body = screen(state, ctx, body, true).await?;
    // A socket follows exactly its user's rooms, so the common case needs no database read
    // here: the group commit checks membership, mutes and blocks in its transaction anyway.
    // Otherwise the full checks give the precise refusal.
    if !state.hub.follows(ctx.conn, room) {
        may_post(state, ctx, room).await?;
    }
    if let Some(quoted) = reply_to
        && state
            .store
            .message_info(room, quoted, None)
            .await?
            .is_none()
    {
        return Err(Refused::new(
            ErrorCode::NoSuchMessage,
            "The message you reply to is not in this room.",
        ));
    }
    let attachment = match attachment {
        Some(id) => Some(my_upload(state, ctx, room, &id).await?),
        None => None,
    };
    let mentions = if body.contains('@') {
        mentions(state, room, &body).await?
    } else {
        Vec::new()
    };
    let message = PendingMessage {
        room: room.clone(),
        sender: ctx.me(),
        client_id: client_id.clone(),
        body,
        reply_to,
        mentions,
        attachment,
    };
    state
        .room_log
        .submit(message, ctx.conn)
        .await
        .map_err(Refused::from)
}

/// The finished upload `id` of mine to `room` that no message carries yet. (Two messages sent
/// at once could both carry it; both are mine and in that room, so nobody sees more.)
async fn my_upload(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    id: &str,
) -> Result<Box<Attachment>, Refused> {
    let file = state.store.stored_file(id).await?;
    match file {
        Some(file)
            if file.owner == ctx.authed.user
                && &file.room == room
                && file.hash.is_some()
                && !file.released
                && !file.carried =>
        {
            Ok(file.attachment())
        }
        _ => Err(Refused::new(
            ErrorCode::InvalidMessage,
            "That file is not an upload of yours to this room that finished and was not sent \
             yet.",
        )),
    }
}

/// The message `target` if it is there, not deleted, and mine.
async fn own_message(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    target: Seq,
    verb: &str,
) -> Result<(), Refused> {
    let info = state.store.message_info(room, target, None).await?;
    match info {
        Some(info) if !info.deleted => {
            if info.sender == ctx.authed.user {
                Ok(())
            } else {
                Err(Refused::new(
                    ErrorCode::Forbidden,
                    format!("You can only {verb} your own messages."),
                ))
            }
        }
        _ => Err(no_such_message()),
    }
}

fn no_such_message() -> Refused {
    Refused::new(
        ErrorCode::NoSuchMessage,
        "That message does not exist in this room or was deleted.",
    )
}

pub async fn edit(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    target: Seq,
    body: String,
) -> Result<Reply, Refused> {
    check_body(&body).map_err(Refused::invalid)?;
    let body = screen(state, ctx, body, false).await?;
    mutate(state, ctx, client_id.clone(), Some(&room), async |order| {
        may_post(state, ctx, &room).await?;
        own_message(state, ctx, &room, target, "edit").await?;
        let draft = Draft::Edit { target, body };
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await?;
        Ok(Outcome::event(event))
    })
    .await
}

pub async fn delete(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    target: Seq,
) -> Result<Reply, Refused> {
    mutate(state, ctx, client_id.clone(), Some(&room), async |order| {
        // Muted members and blocked people may still take their own words back.
        member_of(state, ctx, &room).await?;
        own_message(state, ctx, &room, target, "delete").await?;
        let event = append_mine(
            state,
            order,
            ctx,
            &room,
            &client_id,
            Draft::Delete { target },
        )
        .await?;
        // A file it carried is released with it: collected now, not on the next round.
        if let Some(media) = &state.media {
            media.wake_collector();
        }
        Ok(Outcome::event(event))
    })
    .await
}

pub async fn react(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    target: Seq,
    emoji: String,
    add: bool,
) -> Result<Reply, Refused> {
    check_emoji(&emoji).map_err(Refused::invalid)?;
    mutate(state, ctx, client_id.clone(), Some(&room), async |order| {
        may_post(state, ctx, &room).await?;
        let info = state
            .store
            .message_info(&room, target, Some(&emoji))
            .await?;
        let info = match info {
            Some(info) if !info.deleted => info,
            _ => return Err(no_such_message()),
        };
        if add && !info.emoji_present && info.reaction_kinds >= MAX_REACTIONS_PER_MESSAGE {
            return Err(Refused::new(
                ErrorCode::LimitReached,
                format!(
                    "A message can carry at most {MAX_REACTIONS_PER_MESSAGE} different reactions."
                ),
            ));
        }
        let draft = Draft::Reaction {
            target,
            emoji,
            added: add,
        };
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await?;
        Ok(Outcome::event(event))
    })
    .await
}

/// Keeps the longest run of `events` (oldest first) that fits [`PAGE_BYTE_BUDGET`], taken from
/// the newest end (`keep_newest`, for backward pages) or the oldest end (for catch-up), and says
/// whether anything was dropped.
fn fit_page(mut events: Vec<Event>, keep_newest: bool) -> (Vec<Event>, bool) {
    let cost = |e: &Event| serde_json::to_vec(e).map_or(usize::MAX, |v| v.len());
    let mut used = 0usize;
    let mut fits = |e: &Event| {
        used = used.saturating_add(cost(e));
        used <= PAGE_BYTE_BUDGET
    };
    let keep = if keep_newest {
        events.iter().rev().take_while(|e| fits(e)).count()
    } else {
        events.iter().take_while(|e| fits(e)).count()
    };
    // Always return at least one event so paging makes progress.
    let keep = keep.max(1).min(events.len());
    let dropped = keep < events.len();
    if keep_newest {
        events.drain(..events.len() - keep);
    } else {
        events.truncate(keep);
    }
    (events, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::events::EventKind;

    fn message(seq: i64, body_len: usize) -> Event {
        Event {
            room: RoomId::lobby(),
            seq: Seq(seq),
            sender: "s".into(),
            at_ms: 0,
            client_id: None,
            kind: EventKind::Message {
                attachment: None,
                body: "x".repeat(body_len),
                reply_to: None,
                mentions: vec![],
                edited_at_ms: None,
                deleted: false,
                reactions: vec![],
            },
        }
    }

    #[test]
    fn pages_are_cut_to_the_byte_budget_from_the_right_end() {
        let big = PAGE_BYTE_BUDGET / 3;
        let page: Vec<_> = (1..=5).map(|seq| message(seq, big)).collect();
        let (newest, cut) = fit_page(page.clone(), true);
        assert!(cut);
        assert_eq!(newest.iter().map(|m| m.seq.0).collect::<Vec<_>>(), [4, 5]);
        let (oldest, cut) = fit_page(page, false);
        assert!(cut);
        assert_eq!(oldest.iter().map(|m| m.seq.0).collect::<Vec<_>>(), [1, 2]);
        let (small, cut) = fit_page(vec![message(1, 10), message(2, 10)], true);
        assert!(!cut);
        assert_eq!(small.len(), 2);
        assert!(fit_page(Vec::new(), true).0.is_empty());
    }
}
