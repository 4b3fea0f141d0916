//! Calls and WebRTC signaling: starting, joining and leaving calls (recorded in the timeline),
//! relaying offers, answers and ICE candidates between members of a room, and handing out ICE
//! servers. Media never passes through here.

use super::access::{may_post, member_of};
use super::connection::SocketContext;
use super::dispatch::{Refused, Reply};
use super::mutate::{Applied, Outcome, append_mine, mutate_once};
use crate::calls::{CallKey, Ended, JoinError, Leaving, Left, RING_TIMEOUT};
use crate::frames::encode;
use crate::hub::{Audience, ConnId};
use crate::now_ms;
use crate::state::AppState;
use crate::store::{Draft, NamedUser};
use shared::calls::{MAX_SIGNAL_BYTES, SignalData, valid_session_id};
use shared::ws::{ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};

fn check_session(id: &str) -> Result<(), Refused> {
    if valid_session_id(id) {
        Ok(())
    } else {
        Err(Refused::new(
            ErrorCode::InvalidMessage,
            "A call or session id is 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'.",
        ))
    }
}

/// Tells the room who is in the call now (nobody: it ended), with how it started.
fn announce(state: &AppState, key: &CallKey, how: (bool, String), participants: Vec<String>) {
    let (video, caller) = how;
    let frame = encode(&ServerMessage::CallState {
        room: key.0.clone(),
        call: key.1.clone(),
        video,
        caller,
        participants,
    });
    state
        .fanout
        .send(Audience::Room(key.0.clone()), frame, None);
}

/// [`announce`] for a call that is still going on (read back for how it started).
async fn announce_current(state: &AppState, key: &CallKey, participants: Vec<String>) {
    match state.calls.info(key).await {
        Ok(Some(info)) => announce(state, key, (info.video, info.caller), participants),
        // Ended meanwhile: its end is announced by whoever ended it.
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "call state not announced"),
    }
}

/// The calls going on in `rooms`, as a newly connected socket needs to see them.
pub async fn in_progress(state: &AppState, rooms: &[RoomId]) -> Vec<ServerMessage> {
    let calls = match state.calls.in_rooms(rooms).await {
        Ok(calls) => calls,
        Err(e) => {
            tracing::warn!(error = %e, "calls in progress not read");
            return Vec::new();
        }
    };
    calls
        .into_iter()
        .map(|info| ServerMessage::CallState {
            room: info.key.0,
            call: info.key.1,
            video: info.video,
            caller: info.caller,
            participants: info.participants,
        })
        .collect()
}

pub async fn start(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    client_id: ClientMsgId,
    call: String,
    video: bool,
) -> Result<Reply, Refused> {
    check_session(&call)?;
    let key: CallKey = (room.clone(), call.clone());
    let applied = mutate_once(state, ctx, client_id.clone(), Some(&room), async |order| {
        may_post(state, ctx, &room).await?;
        let me = ctx.me();
        if !state
            .calls
            .start(&key, ctx.conn, me.id, video, now_ms())
            .await?
        {
            return Err(Refused::new(
                ErrorCode::InvalidMessage,
                "A call with this id is already going on.",
            ));
        }
        let draft = Draft::CallStarted {
            call: call.clone(),
            video,
        };
        let event = append_mine(state, order, ctx, &room, &client_id, draft).await;
        if event.is_ok() {
            metrics::counter!("chat_calls_started_total").increment(1);
        }
        if event.is_err() {
            let _ = state.calls.ring_out(&key, now_ms()).await;
        }
        Ok(Outcome::event(event?))
    })
    .await?;
    // A resent start answers with its first ack only: the call may be long over, and the
    // sender may no longer be a member; announcing it again would ring the room anew.
    let reply = match applied {
        Applied::Repeat(reply) => return Ok(reply),
        Applied::New(reply) => reply,
    };
    let caller = ctx.authed.username.clone();
    announce(state, &key, (video, caller.clone()), vec![caller]);
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(RING_TIMEOUT).await;
        match state.calls.ring_out(&key, now_ms()).await {
            Ok(Some(ended)) => record_end(&state, ended, video).await,
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "a call did not ring out"),
        }
    });
    Ok(reply)
}

pub async fn join(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    call: String,
) -> Result<Reply, Refused> {
    check_session(&call)?;
    member_of(state, ctx, &room).await?;
    let key = (room.clone(), call.clone());
    let who = state
        .calls
        .join(&key, ctx.conn, ctx.authed.user)
        .await?
        .map_err(|e| match e {
            JoinError::NoSuchCall => Refused::new(ErrorCode::NoSuchCall, "That call has ended."),
            JoinError::Full => Refused::new(
                ErrorCode::LimitReached,
                format!(
                    "A call has at most {} participants.",
                    crate::calls::MAX_PARTICIPANTS
                ),
            ),
        })?;
    announce_current(state, &key, who).await;
    Ok(None)
}

pub async fn leave(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    call: String,
) -> Result<Reply, Refused> {
    check_session(&call)?;
    member_of(state, ctx, &room).await?;
    left(state, &(room, call), ctx.conn).await;
    Ok(None)
}

pub async fn decline(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    call: String,
) -> Result<Reply, Refused> {
    check_session(&call)?;
    let membership = member_of(state, ctx, &room).await?;
    // In a group, one person's "no" leaves the call ringing for the others.
    if membership.kind == shared::rooms::RoomKind::Direct {
        let key = (room, call);
        let how = state.calls.info(&key).await?.map(|info| info.video);
        if let Some(ended) = state.calls.decline(&key, ctx.authed.user, now_ms()).await? {
            record_end(state, ended, how.unwrap_or_default()).await;
        }
    }
    Ok(None)
}

/// Takes a socket out of a call and records the end if it was the last one.
async fn left(state: &AppState, key: &CallKey, conn: ConnId) {
    let how = state.calls.info(key).await.ok().flatten().map(|i| i.video);
    match state.calls.leave(key, conn, now_ms()).await {
        Ok(Some(left)) => after_leaving(state, left, how.unwrap_or_default()).await,
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "could not leave a call"),
    }
}

/// A closed socket leaves every call it was in.
pub async fn socket_closed(state: &AppState, conn: ConnId) {
    match state.calls.socket_closed(conn, now_ms()).await {
        Ok(left) => {
            for left in left {
                after_leaving(state, left, false).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "a closed socket's calls not left"),
    }
}

/// The sockets of nodes that are gone leave their calls (see [`crate::cluster::NodeNews`]).
pub async fn nodes_gone(state: &AppState, news: crate::cluster::NodeNews) {
    let running: Vec<i64>;
    let who = match news {
        crate::cluster::NodeNews::Gone(node) => Leaving::Node(node.cast_signed()),
        crate::cluster::NodeNews::Running(nodes) => {
            running = nodes.into_iter().map(u64::cast_signed).collect();
            Leaving::NodesOtherThan(&running)
        }
    };
    match state.calls.nodes_gone(who, now_ms()).await {
        Ok(left) => {
            for left in left {
                after_leaving(state, left, false).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "calls of a stopped node not ended"),
    }
}

/// Tells the room who is left, or records the end.
async fn after_leaving(state: &AppState, left: Left, video: bool) {
    match left.ended {
        Some(ended) => record_end(state, ended, video).await,
        None => announce_current(state, &left.key, left.participants).await,
    }
}

/// Appends `call_ended` to the room's timeline and sends it, in order with other events.
async fn record_end(state: &AppState, ended: Ended, video: bool) {
    let Ended {
        room,
        call,
        caller,
        caller_name,
        duration_ms,
        missed,
        declined,
    } = ended;
    let caller = NamedUser {
        id: caller,
        name: caller_name,
    };
    let outcome = if missed {
        "missed"
    } else if declined {
        "declined"
    } else {
        "answered"
    };
    metrics::counter!("chat_calls_ended_total", "outcome" => outcome).increment(1);
    if !missed && !declined {
        #[allow(clippy::cast_precision_loss)]
        metrics::histogram!("chat_call_duration_seconds").record(duration_ms as f64 / 1000.0);
    }
    let draft = Draft::CallEnded {
        call: call.clone(),
        duration_ms,
        missed,
        declined,
    };
    let in_order = state.room_log.in_order().await;
    match state
        .room_log
        .append(&in_order, &room, &caller, vec![(None, draft)])
        .await
    {
        Ok(events) => {
            for event in events {
                state.room_log.publish(&in_order, event, None);
            }
        }
        Err(e) => tracing::error!(error = %e, room = %room, "could not record the end of a call"),
    }
    let key = (room, call);
    announce(state, &key, (video, caller.name), Vec::new());
}

pub async fn signal(
    state: &AppState,
    ctx: &SocketContext,
    room: RoomId,
    to: String,
    session: String,
    data: SignalData,
) -> Result<Reply, Refused> {
    check_session(&session)?;
    if data.size() > MAX_SIGNAL_BYTES {
        return Err(Refused::new(
            ErrorCode::InvalidMessage,
            format!(
                "A signaling message is at most {} KiB.",
                MAX_SIGNAL_BYTES / 1024
            ),
        ));
    }
    let target = reachable_peer(state, ctx, &room, &to).await?;
    if let SignalData::Files { files } = &data {
        shared::transfer::check_offer(files)
            .map_err(|why| Refused::new(ErrorCode::InvalidMessage, why))?;
        // What the sender says it offers: the bytes themselves go peer to peer.
        metrics::counter!("chat_transfer_offers_total").increment(1);
        metrics::counter!("chat_transfer_offered_bytes_total")
            .increment(files.iter().map(|f| f.size).sum());
    }
    super::offers::on_signal(state, ctx, &room, &target, &session, &data).await;
    let frame = encode(&ServerMessage::Signal {
        room,
        from: ctx.authed.username.clone(),
        session,
        data,
    });
    state.fanout.send(Audience::User(target.id), frame, None);
    Ok(None)
}

/// `to`, if the asker may open a WebRTC session with them in `room`: both members, not the
/// same person, and no block either way.
async fn reachable_peer(
    state: &AppState,
    ctx: &SocketContext,
    room: &RoomId,
    to: &str,
) -> Result<NamedUser, Refused> {
    member_of(state, ctx, room).await?;
    let not_there = || Refused::new(ErrorCode::NoSuchUser, "That person is not in this room.");
    // With a closed directory the lobby must not tell who has an account: offers go through
    // rooms the two share on purpose.
    if room.is_lobby() && !state.open_directory {
        return Err(not_there());
    }
    let target = state.store.user_by_name(to).await?.ok_or_else(not_there)?;
    if target.id == ctx.authed.user {
        return Err(Refused::new(
            ErrorCode::InvalidMessage,
            "Signaling goes to someone else.",
        ));
    }
    if state.store.membership(room, target.id).await?.is_none() {
        return Err(not_there());
    }
    // A block holds in every room the two share, not only in their direct conversation:
    // offers of files and calls are addressed to one person. Said as for someone who left, so
    // the blocked side does not learn of the block.
    if state
        .store
        .blocked_either_way(ctx.authed.user, target.id)
        .await?
    {
        return Err(not_there());
    }
    Ok(target)
}

/// STUN servers for anyone; TURN credentials only for a session the asker is part of: a call
/// going on in a room of theirs, or a transfer with someone they may reach there.
pub async fn ice_servers(
    state: &AppState,
    ctx: &SocketContext,
    room: Option<RoomId>,
    call: Option<String>,
    peer: Option<String>,
) -> Result<Reply, Refused> {
    let relay = match (room, call, peer) {
        // A call that is not going on (over, or its start was refused) gets STUN only, without
        // an error of its own: the refusal of the call already said what went wrong.
        (Some(room), Some(call), _) => {
            check_session(&call)?;
            member_of(state, ctx, &room).await?;
            state.calls.info(&(room, call)).await?.is_some()
        }
        (Some(room), None, Some(peer)) => {
            reachable_peer(state, ctx, &room, &peer).await?;
            true
        }
        _ => false,
    };
    let (servers, expires_at_ms) = state.ice.servers_for(&ctx.authed.username, relay, now_ms());
    Ok(Some(ServerMessage::IceServers {
        servers,
        expires_at_ms,
    }))
}
