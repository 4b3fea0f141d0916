//! One authenticated socket: a single task that alternates between the client's frames, the
//! hub's queued events, and the signals that end it (kick, shutdown, idle timeout).
//!
//! A frame is handled to completion (including the durable write) before the next is read, so
//! acks come back in the order the client sent its messages.

use super::dispatch::{encode, handle_text};
use crate::hub::{ConnId, KickReason};
use crate::request::Authed;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, RateLimiter};
use shared::RoomId;
use shared::ws::{ErrorCode, ServerMessage, close};
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout};

/// A client that cannot take a frame within this long is treated as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What the dispatcher needs to know about the socket it serves.
pub struct SocketContext {
    pub conn: ConnId,
    pub authed: Authed,
    pub limiter: DefaultDirectRateLimiter,
}

enum Ending {
    ClientLeft,
    Close(u16, &'static str),
    Broken,
}

pub async fn run(socket: WebSocket, state: AppState, authed: Authed) {
    let registration = state.hub.register(authed.user, authed.session_hash);
    let conn = registration.id;
    tracing::debug!(user = authed.user.0, "socket open");
    let ctx = SocketContext {
        conn,
        authed,
        limiter: RateLimiter::direct(state.socket_quota),
    };
    let ending = serve(
        socket,
        &state,
        &ctx,
        registration.outbound,
        registration.kick,
    )
    .await;
    state.hub.unregister(conn);
    tracing::debug!(user = ctx.authed.user.0, ending = ?ending_name(&ending), "socket closed");
}

async fn serve(
    socket: WebSocket,
    state: &AppState,
    ctx: &SocketContext,
    mut outbound: tokio::sync::mpsc::Receiver<Utf8Bytes>,
    kick: crate::hub::Kick,
) -> Ending {
    let (mut sink, mut stream) = socket.split();
    let idle_limit = Duration::from_secs(close::IDLE_TIMEOUT_SECS);
    let welcome = ServerMessage::Welcome {
        username: ctx.authed.username.clone(),
        rooms: vec![RoomId::lobby()],
    };
    if send(&mut sink, Message::Text(encode(&welcome)))
        .await
        .is_err()
    {
        return Ending::Broken;
    }
    let mut deadline = Instant::now() + idle_limit;
    let ending = loop {
        tokio::select! {
            reason = kick.kicked() => break match reason {
                KickReason::LoggedOut => Ending::Close(close::LOGGED_OUT, "logged out"),
                KickReason::TooSlow => Ending::Close(close::TOO_SLOW, "too slow reading messages"),
            },
            () = state.shutdown.cancelled() => break Ending::Close(1001, "server shutting down"),
            () = sleep_until(deadline) => break Ending::Close(close::IDLE, "idle timeout"),
            frame = outbound.recv() => match frame {
                Some(frame) => {
                    if send(&mut sink, Message::Text(frame)).await.is_err() {
                        break Ending::Broken;
                    }
                }
                None => break Ending::Broken,
            },
            incoming = stream.next() => {
                deadline = Instant::now() + idle_limit;
                let reply = match incoming {
                    None | Some(Ok(Message::Close(_))) => break Ending::ClientLeft,
                    Some(Err(e)) => break read_failure(&e),
                    Some(Ok(Message::Text(text))) => handle_text(state, ctx, text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => super::dispatch::error(
                        ErrorCode::UnsupportedFrame,
                        "Binary frames are not supported; send JSON text.",
                        None,
                    ),
                    // The WebSocket layer answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                };
                if send(&mut sink, Message::Text(encode(&reply))).await.is_err() {
                    break Ending::Broken;
                }
            }
        }
    };
    if let Ending::Close(code, reason) = ending {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = send(&mut sink, Message::Close(Some(frame))).await;
    }
    ending
}

/// tungstenite reports an over-long message as a capacity error; tell the client why with 1009
/// instead of dropping the connection silently. Anything else is a broken transport.
fn read_failure(e: &axum::Error) -> Ending {
    let text = e.to_string();
    if text.contains("too long") || text.contains("Space limit") {
        tracing::info!("closing socket: message over the size limit");
        Ending::Close(1009, "message too big")
    } else {
        tracing::debug!(error = %text, "socket read failed");
        Ending::Broken
    }
}

async fn send<S>(sink: &mut S, message: Message) -> Result<(), ()>
where
    S: futures_util::Sink<Message, Error = axum::Error> + Unpin,
{
    match timeout(SEND_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

fn ending_name(ending: &Ending) -> &'static str {
    match ending {
        Ending::ClientLeft => "client left",
        Ending::Close(_, reason) => reason,
        Ending::Broken => "transport broken",
    }
}
