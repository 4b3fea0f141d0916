//! One authenticated socket: a single task that alternates between the client's frames, the
//! hub's queued events, and the signals that end it (kick, session expiry, shutdown, idle).
//!
//! A frame is handled to completion (including the durable write) before the next is read, so
//! acks come back in the order the client sent its messages.

use super::dispatch::{self, Reply};
use super::live::TypingThrottle;
use super::timeline;
use super::timer_grid::{Deadlines, Due};
use crate::frame_queue::FrameReceiver;
use crate::frames::encode;
use crate::hub::{ConnId, Kick, KickReason, Registration};
use crate::now_ms;
use crate::presence;
use crate::request::Authed;
use crate::state::AppState;
use crate::store::StoreError;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use governor::clock::DefaultClock;
use governor::{DefaultDirectRateLimiter, RateLimiter};
use shared::RoomId;
use shared::ws::{ClientMessage, ErrorCode, ServerMessage, close};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout};

/// A client that cannot take a frame within this long is treated as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing socket waits for the peer's half of the close handshake.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Rate-limited frames in a row after which the client is considered abusive and dropped.
const MAX_LIMITED_IN_A_ROW: u32 = 100;
/// Close code for a policy violation (RFC 6455).
const POLICY_VIOLATION: u16 = 1008;
/// Close code for a frame that broke the WebSocket protocol (RFC 6455).
const PROTOCOL_ERROR: u16 = 1002;
/// Close code for a text frame that is not UTF-8 (RFC 6455).
const INVALID_PAYLOAD: u16 = 1007;

/// What the dispatcher needs to know about the socket it serves.
pub struct SocketContext {
    pub conn: ConnId,
    pub authed: Authed,
    typing: TypingThrottle,
}

impl SocketContext {
    /// The user behind this socket, as events name them.
    pub fn me(&self) -> crate::store::NamedUser {
        crate::store::NamedUser {
            id: self.authed.user,
            name: self.authed.username.clone(),
        }
    }

    /// The context of a request that comes without a socket (a bot's HTTP API call): the
    /// handlers check and do exactly what they do for a socket's frame.
    pub fn detached(authed: Authed) -> Self {
        Self {
            conn: ConnId::DETACHED,
            authed,
            typing: TypingThrottle::default(),
        }
    }

    /// Whether a typing notice for `room` may go out now (see `TYPING_THROTTLE_MS`).
    pub fn typing_allowed(&self, room: &RoomId) -> bool {
        self.typing.allow(room)
    }

    /// This socket sent a message in `room`: its typing notice there is over.
    pub fn typing_ended(&self, room: &RoomId) {
        self.typing.forget(room);
    }
}

#[derive(Debug)]
enum Ending {
    ClientLeft,
    Close(u16, &'static str),
    Broken,
}

impl Ending {
    /// The `reason` label of `chat_disconnects_total`.
    fn reason(&self) -> &'static str {
        match self {
            Ending::ClientLeft => "client_left",
            Ending::Broken => "broken",
            Ending::Close(code, _) => match *code {
                close::LOGGED_OUT => "logged_out",
                close::IDLE => "idle",
                close::TOO_SLOW => "too_slow",
                1001 => "shutdown",
                1008 => "policy",
                1009 => "too_big",
                _ => "server_error",
            },
        }
    }
}

/// Removes the socket from the hub however its task ends, panics included (or if it is
/// dropped before it ever ran).
struct Registered {
    state: AppState,
    id: ConnId,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.state.hub.unregister(self.id);
    }
}

/// The socket's task. The socket is split and registered before the task's future is made,
/// and the future is an `async move` block: an async fn keeps each argument twice in its
/// state (as given and as moved into its body) for as long as it lives, and every idle
/// socket would carry the `WebSocket` (368 bytes) and its `SocketContext` twice.
pub fn run(socket: WebSocket, state: AppState, authed: Authed) -> impl Future<Output = ()> + Send {
    let (sink, stream) = socket.split();
    let Registration { id, outbound, kick } = state.hub.register(authed.user, authed.session_hash);
    let ctx = SocketContext {
        conn: id,
        authed,
        typing: TypingThrottle::default(),
    };
    let registered = Registered { state, id };
    async move {
        let state = &registered.state;
        tracing::debug!(user = ctx.authed.user.0, "socket open");
        metrics::gauge!("chat_sockets_connected").increment(1.0);
        let ending = serve(sink, stream, state, &ctx, outbound, kick).await;
        tracing::debug!(user = ctx.authed.user.0, ?ending, "socket closed");
        metrics::gauge!("chat_sockets_connected").decrement(1.0);
        metrics::counter!("chat_disconnects_total", "reason" => ending.reason()).increment(1);
        let departure = state.hub.unregister(ctx.conn);
        Box::pin(async {
            super::calls::socket_closed(state, ctx.conn).await;
            presence::socket_closed(state, ctx.authed.user, &ctx.authed.username, departure).await;
        })
        .await;
    }
}

type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

/// Makes the socket follow the user's rooms and builds its welcome. The socket is registered
/// first, so a membership change that lands meanwhile reaches it either way.
async fn welcome(state: &AppState, ctx: &SocketContext) -> Result<ServerMessage, StoreError> {
    let user = ctx.authed.user;
    let rooms = state.store.room_ids(user).await?;
    state.hub.follow(ctx.conn, &rooms);
    // A removal stored between that read and the follow unfollowed nothing (this socket did
    // not follow the room yet), so read again now that it does: a removal stored after this
    // read finds the socket following and unfollows it itself. The summaries, one row per
    // membership, are that second read (a query less on every connection's start).
    let summaries = state.store.room_summaries(user).await?;
    let kept: std::collections::HashSet<&RoomId> = summaries.iter().map(|s| &s.id).collect();
    let gone: Vec<RoomId> = rooms.into_iter().filter(|r| !kept.contains(r)).collect();
    state.hub.unfollow(ctx.conn, &gone);
    let newest: Vec<_> = summaries
        .iter()
        .map(|r| (r.id.clone(), r.last_seq))
        .collect();
    state.fanout.following(&newest);
    let blocked = state.store.blocked_by(user).await?;
    // A flood silence set by another node holds here too.
    let silenced = state.store.silenced_until(user).await?;
    if silenced > crate::now_ms() {
        state.admin.flood.silence(user, silenced);
    }
    presence::announce_change(state, user, &ctx.authed.username).await;
    Ok(ServerMessage::Welcome {
        username: ctx.authed.username.clone(),
        rooms: summaries,
        blocked,
    })
}

/// A logout that ran between the upgrade's session check and the hub registration would have
/// missed this socket; look again now that the hub knows it.
async fn session_still_valid(state: &AppState, authed: &Authed) -> bool {
    let found = if authed.bot {
        // A bot's token, replaced or ended the same way.
        state
            .store
            .bot_by_token(&authed.session_hash)
            .await
            .map(|bot| bot.is_some())
    } else {
        state
            .store
            .session_user(&authed.session_hash, now_ms())
            .await
            .map(|session| session.is_some())
    };
    match found {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "could not re-check a session; keeping the socket");
            true
        }
    }
}

/// Relays until the socket ends, then closes it. Not an async fn, for the reason `run` gives.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would keep its arguments twice in every idle socket's task"
)]
fn serve<'a>(
    mut sink: Sink,
    mut stream: Stream,
    state: &'a AppState,
    ctx: &'a SocketContext,
    mut outbound: FrameReceiver,
    kick: Kick,
) -> impl Future<Output = Ending> + Send + 'a {
    async move {
        // The upgrade refused users at their socket cap, but several upgrades can pass that check
        // at once; the hub's count, taken after registering, is exact.
        let ending = if state.hub.sockets_of(ctx.authed.user) > state.max_sockets_per_user {
            Ending::Close(
                POLICY_VIOLATION,
                "too many open connections for this account",
            )
        } else if Box::pin(session_still_valid(state, &ctx.authed)).await {
            relay(&mut sink, &mut stream, state, ctx, &mut outbound, &kick).await
        } else {
            Ending::Close(close::LOGGED_OUT, "logged out")
        };
        match ending {
            Ending::Close(code, reason) => {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                if Box::pin(send(&mut sink, Message::Close(Some(frame))))
                    .await
                    .is_ok()
                {
                    // Let the peer answer so it sees a clean close, not a reset.
                    let _ = Box::pin(timeout(CLOSE_HANDSHAKE_TIMEOUT, async {
                        while let Some(Ok(frame)) = stream.next().await {
                            if matches!(frame, Message::Close(_)) {
                                break;
                            }
                        }
                    }))
                    .await;
                }
            }
            // tungstenite queued its reply to the client's close frame; flush it out.
            Ending::ClientLeft => {
                let _ = Box::pin(timeout(CLOSE_HANDSHAKE_TIMEOUT, sink.close())).await;
            }
            Ending::Broken => {}
        }
        ending
    }
}

/// The clock of every socket's rate limiter. `RateLimiter::direct` makes a clock of its own,
/// which reads the CPU's features (`cpuid`) and calibrates: 2 % of a connection's start in a
/// profile of 19,000 connecting sockets. A copy of one made once costs nothing.
fn socket_clock() -> DefaultClock {
    static CLOCK: OnceLock<DefaultClock> = OnceLock::new();
    CLOCK.get_or_init(DefaultClock::default).clone()
}

async fn relay(
    sink: &mut Sink,
    stream: &mut Stream,
    state: &AppState,
    ctx: &SocketContext,
    outbound: &mut FrameReceiver,
    kick: &Kick,
) -> Ending {
    let limiter: DefaultDirectRateLimiter =
        RateLimiter::direct_with_clock(state.socket_quota, socket_clock());
    let mut limited_in_a_row = 0u32;
    let expires_in = u64::try_from(ctx.authed.expires_at_ms - now_ms()).unwrap_or(0);
    let expiry = Instant::now() + Duration::from_millis(expires_in);
    // Every await that is not the idle loop's own is boxed (the greeting, a frame's handling,
    // the close, the teardown in `run`): this task lives as long as the socket, and its
    // size is that of its largest state, which every idle socket pays for.
    // `tests::a_socket_task_stays_small` holds it to that.
    if let Err(ending) = Box::pin(greet(sink, state, ctx)).await {
        return ending;
    }
    // The timer and signals are made once, not per loop turn: every delivered frame turns
    // the loop, and re-registering timers per frame was a measurable share of its cost. One
    // timer serves the session's end, the idle check and the pings, which fall on a grid
    // shared by every socket (`timer_grid::Deadlines`); it is only moved when it fires.
    let mut deadlines = Deadlines::new(Instant::now(), expiry, state.ws_idle, state.ws_ping);
    let timer = sleep_until(deadlines.next());
    // The server's shutdown arrives as a kick too (see `Kick`).
    let kicked = kick.kicked();
    tokio::pin!(timer, kicked);
    let mut last_heard = Instant::now();
    let mut sends: VecDeque<PendingReply<'_>> = VecDeque::new();
    loop {
        tokio::select! {
            reason = &mut kicked => return match reason {
                KickReason::LoggedOut => Ending::Close(close::LOGGED_OUT, "logged out"),
                KickReason::TooSlow => Ending::Close(close::TOO_SLOW, "too slow reading messages"),
                KickReason::ServerShutdown => Ending::Close(1001, "server shutting down"),
            },
            () = &mut timer => {
                match deadlines.due(Instant::now(), last_heard) {
                    Due::SessionEnded => return Ending::Close(close::LOGGED_OUT, "session expired"),
                    Due::Idle => return Ending::Close(close::IDLE, "idle timeout"),
                    // The client's WebSocket layer answers (a hidden tab's too): its pong
                    // keeps the socket alive, its silence ends it within the idle limit.
                    Due::Ping => {
                        if send(sink, Message::Ping(Default::default())).await.is_err() {
                            return Ending::Broken;
                        }
                    }
                    Due::Nothing => {}
                }
                timer.as_mut().reset(deadlines.next());
            }
            frame = outbound.recv() => match frame {
                Some(frame) => {
                    if send_queued(sink, frame, outbound).await.is_err() {
                        return Ending::Broken;
                    }
                }
                None => return Ending::Broken,
            },
            Some(reply) = next_reply(&mut sends), if !sends.is_empty() => {
                if let Some(reply) = reply
                    && send(sink, Message::Text(reply)).await.is_err()
                {
                    return Ending::Broken;
                }
            }
            // A socket with many sends in flight reads no more until some are answered.
            incoming = stream.next(), if sends.len() < SENDS_IN_FLIGHT => {
                last_heard = Instant::now();
                let frame = match incoming {
                    None | Some(Ok(Message::Close(_))) => return Ending::ClientLeft,
                    Some(Err(e)) => return read_failure(&e),
                    // The WebSocket layer answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(frame)) => frame,
                };
                // Every data frame counts against the quota, parseable or not.
                let over_quota = limiter.check().is_err()
                    || state.user_frame_limiter.check_key(&ctx.authed.user).is_err();
                if over_quota {
                    limited_in_a_row += 1;
                    if limited_in_a_row > MAX_LIMITED_IN_A_ROW {
                        return Ending::Close(POLICY_VIOLATION, "rate limit exceeded");
                    }
                } else {
                    limited_in_a_row = 0;
                }
                if let Err(ending) =
                    Box::pin(handle_frame(sink, state, ctx, &mut sends, frame, over_quota)).await
                {
                    return ending;
                }
            }
        }
    }
}

/// Sends the welcome, then the calls in progress in the socket's rooms and the file offers
/// waiting for its user.
async fn greet(sink: &mut Sink, state: &AppState, ctx: &SocketContext) -> Result<(), Ending> {
    let welcome = match Box::pin(welcome(state, ctx)).await {
        Ok(welcome) => welcome,
        Err(e) => {
            tracing::error!(error = %e, "could not load a socket's rooms");
            return Err(Ending::Close(1011, "server error; reconnect"));
        }
    };
    send(sink, Message::Text(encode(&welcome)))
        .await
        .map_err(|()| Ending::Broken)?;
    let ServerMessage::Welcome { rooms, .. } = welcome else {
        return Ok(());
    };
    let ids: Vec<RoomId> = rooms.into_iter().map(|r| r.id).collect();
    for call in super::calls::in_progress(state, &ids).await {
        send(sink, Message::Text(encode(&call)))
            .await
            .map_err(|()| Ending::Broken)?;
    }
    for offer in super::offers::waiting_for(state, ctx.authed.user).await {
        send(sink, Message::Text(encode(&offer)))
            .await
            .map_err(|()| Ending::Broken)?;
    }
    Ok(())
}

/// Handles one data frame from the client: a message to store joins the sends in flight,
/// anything else is answered once those are (replies keep the order of requests).
async fn handle_frame<'a>(
    sink: &mut Sink,
    state: &'a AppState,
    ctx: &'a SocketContext,
    sends: &mut VecDeque<PendingReply<'a>>,
    frame: Message,
    over_quota: bool,
) -> Result<(), Ending> {
    let reply = if over_quota {
        Some(dispatch::rate_limited(&frame))
    } else {
        match frame {
            Message::Text(text) => match dispatch::parse(text.as_str()) {
                Ok(ClientMessage::Send {
                    room,
                    client_id,
                    body,
                    reply_to,
                    attachment,
                }) => {
                    ctx.typing_ended(&room);
                    let sending = timeline::start_send(
                        state, ctx, room, client_id, body, reply_to, attachment,
                    )
                    .await;
                    sends.push_back(Box::pin(timeline::finish_send(state, ctx, sending)));
                    None
                }
                Ok(request) => {
                    while let Some(reply) = next_reply(sends).await {
                        if let Some(reply) = reply {
                            send(sink, Message::Text(reply))
                                .await
                                .map_err(|()| Ending::Broken)?;
                        }
                    }
                    // Boxed apart: the handlers' futures are large, and a message's send (the
                    // frame most sockets send) should not pay for allocating their room.
                    Box::pin(dispatch::handle_request(state, ctx, request)).await
                }
                Err(e) => Some(dispatch::unreadable(&e)),
            },
            _ => Some(dispatch::error(
                ErrorCode::UnsupportedFrame,
                "Binary frames are not supported; send JSON text.",
                None,
            )),
        }
    };
    if let Some(reply) = reply {
        send(sink, Message::Text(encode(&reply)))
            .await
            .map_err(|()| Ending::Broken)?;
    }
    Ok(())
}

/// Messages one socket may have waiting for their group commit. A client that flushes its
/// outbox after a reconnect gets them stored in a few commits instead of one fsync each.
const SENDS_IN_FLIGHT: usize = 32;

/// A send's reply, once its batch is committed.
type PendingReply<'a> = Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// The reply of the oldest send in flight, encoded (a frame is 16 bytes of the idle loop's
/// state where a `ServerMessage` is over 200). Sends are committed in the order they were
/// queued, so waiting on the oldest loses no time; `None` once none is left.
async fn next_reply(sends: &mut VecDeque<PendingReply<'_>>) -> Option<Option<Utf8Bytes>> {
    let reply = sends.front_mut()?.await;
    sends.pop_front();
    Some(reply.as_ref().map(encode))
}

/// A frame the WebSocket layer refused gets the close code RFC 6455 gives its reason (1009
/// too big, 1007 not UTF-8, 1002 broken framing), so the client learns why instead of seeing
/// the connection drop. Anything else is a broken transport. axum hides tungstenite's error
/// type, so its message is all there is to go by.
fn read_failure(e: &axum::Error) -> Ending {
    let text = e.to_string();
    if text.contains("too long") || text.contains("Space limit") {
        tracing::info!("closing socket: message over the size limit");
        Ending::Close(1009, "message too big")
    } else if text.contains("UTF-8") {
        tracing::info!("closing socket: text frame not UTF-8");
        Ending::Close(INVALID_PAYLOAD, "text frames must be UTF-8")
    } else if text.contains("protocol error") {
        tracing::info!(error = %text, "closing socket: WebSocket protocol violation");
        Ending::Close(PROTOCOL_ERROR, "WebSocket protocol violation")
    } else {
        tracing::debug!(error = %text, "socket read failed");
        Ending::Broken
    }
}

/// Frames written before one flush when several are queued: a busy room's events leave in a
/// few writes instead of one system call each, and the queue still drains promptly.
const FRAMES_PER_FLUSH: usize = 64;

/// Writes `first` and whatever else is already queued (up to [`FRAMES_PER_FLUSH`]), then
/// flushes once.
async fn send_queued<S>(
    sink: &mut S,
    first: Utf8Bytes,
    outbound: &mut FrameReceiver,
) -> Result<(), ()>
where
    S: futures_util::Sink<Message, Error = axum::Error> + Unpin,
{
    let write = async {
        sink.feed(Message::Text(first)).await?;
        for _ in 1..FRAMES_PER_FLUSH {
            match outbound.try_recv() {
                Ok(frame) => sink.feed(Message::Text(frame)).await?,
                Err(_) => break,
            }
        }
        sink.flush().await
    };
    within_send_timeout(write).await
}

async fn send<S>(sink: &mut S, message: Message) -> Result<(), ()>
where
    S: futures_util::Sink<Message, Error = axum::Error> + Unpin,
{
    within_send_timeout(sink.send(message)).await
}

/// A write that fails or takes longer than [`SEND_TIMEOUT`] means the client is gone.
async fn within_send_timeout(
    write: impl Future<Output = Result<(), axum::Error>>,
) -> Result<(), ()> {
    match timeout(SEND_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "socket write failed");
            Err(())
        }
        Err(_) => {
            tracing::info!("socket write timed out; dropping the client");
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future an async fn of three arguments returns, without running it.
    fn future_size<A, B, C, F: Future>(_: impl Fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn a_socket_task_stays_small() {
        // Every connected socket is one such task, allocated at its largest state's size.
        // Issue 21: it was 4,176 bytes of the 10.2 KB an idle socket cost,
        // because awaits outside the idle loop kept their futures inline, the async fns kept
        // the WebSocket and their arguments twice, and the loop held three timers.
        let size = future_size(run);
        assert!(size <= LIMIT, "a socket's task is {size} bytes");
    }

    /// About 1.6 KB in debug and release builds.
    const LIMIT: usize = 2048;
}
