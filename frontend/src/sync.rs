//! Keeps one room's [`Timeline`] in step with the server over a [`Connection`].
//!
//! Sending never waits for the network: a typed message enters the timeline as pending and is
//! sent now if the socket is open, else after the next Welcome. Every Welcome re-syncs the list
//! (see the timeline's module doc) and resends every pending message; the server's idempotency
//! on client ids makes resends harmless. Refusals worth retrying (rate limit, server trouble)
//! keep the message pending and resend it after [`RETRY_DELAY`]; other refusals mark it failed.
//!
//! [`ChatSync`] is `Copy` (signals and arena handles only), so view closures capture it freely.
//! Every method tolerates the view having been disposed (its signals gone): socket callbacks and
//! timers can outlive it by a moment.

use crate::api;
use crate::connection::{ConnState, Connection, Event};
use crate::ids::new_client_id;
use crate::timeline::{Fetch, Timeline};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::time::Duration;

/// Messages fetched per history or catch-up page.
pub const PAGE: u32 = 50;
/// Wait before resending a message or page the server asked us to retry; doubles per attempt
/// up to 8 times this.
pub const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Automatic resends of one message before it is shown as failed with a Retry button.
pub const MAX_AUTO_RETRIES: u32 = 8;
const SESSION_ENDED: &str = "Your session ended. Log in again.";

#[derive(Clone, Copy)]
pub struct ChatSync {
    pub timeline: RwSignal<Timeline>,
    pub state: RwSignal<ConnState>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    me: StoredValue<String>,
    on_logged_out: Callback<Option<String>>,
}

impl ChatSync {
    /// Creates the state and opens the connection.
    pub fn start(username: String, on_logged_out: Callback<Option<String>>) -> Self {
        let sync = Self {
            timeline: RwSignal::new(Timeline::default()),
            state: RwSignal::new(ConnState::Connecting),
            connection: StoredValue::new_local(None),
            me: StoredValue::new(username),
            on_logged_out,
        };
        let connection = Connection::start(move |event| sync.on_event(event));
        sync.connection.set_value(Some(connection));
        sync
    }

    /// Closes the connection for good.
    pub fn stop(self) {
        if let Some(c) = self.connection() {
            c.stop();
        }
    }

    fn connection(self) -> Option<Connection> {
        self.connection.try_get_value().flatten()
    }

    fn me(self) -> Option<String> {
        self.me.try_get_value()
    }

    /// Adds `body` as a pending message and sends it if the socket is open.
    pub fn send_new(self, body: String) {
        let Some(me) = self.me() else { return };
        let client_id = new_client_id();
        let now = js_sys::Date::now() as i64;
        self.timeline
            .update(|t| t.add_pending(client_id.clone(), &me, body.clone(), now));
        self.send(client_id, body);
    }

    /// Puts a failed message back in the queue and sends it.
    pub fn retry(self, client_id: ClientMsgId) {
        let Some(me) = self.me() else { return };
        self.timeline.update(|t| t.retry(&client_id, &me));
        self.resend_if_pending(client_id);
    }

    pub fn reconnect_now(self) {
        if let Some(c) = self.connection() {
            c.reconnect_now();
        }
    }

    pub fn load_older(self) {
        let before = self.timeline.with_untracked(Timeline::oldest_id);
        self.request(Fetch::Newest, before);
    }

    pub fn log_out(self) {
        // Stop first: the server closes our socket before it answers, and that close must not
        // be taken for a session that ended on its own.
        self.stop();
        let lost = self.unsent_notice();
        let on_logged_out = self.on_logged_out;
        spawn_local(async move {
            let unreachable = api::log_out().await.err().map(|_| {
                "Could not reach the server, so your session may still be active there; \
                 log in and out again to end it."
                    .to_owned()
            });
            let notice: Vec<String> = unreachable.into_iter().chain(lost).collect();
            on_logged_out.run((!notice.is_empty()).then(|| notice.join(" ")));
        });
    }

    /// Leaves the chat because the session is gone, saying what happened to unsent messages.
    fn session_ended(self) {
        self.stop();
        let mut notice = SESSION_ENDED.to_owned();
        if let Some(lost) = self.unsent_notice() {
            notice.push(' ');
            notice.push_str(&lost);
        }
        self.on_logged_out.run(Some(notice));
    }

    /// The outbox lives in memory: say how many messages leaving the chat discards.
    fn unsent_notice(self) -> Option<String> {
        let unsent = self
            .timeline
            .try_with_untracked(|t| t.entries().iter().filter(|e| e.id.is_none()).count())
            .unwrap_or(0);
        match unsent {
            0 => None,
            1 => Some("1 unsent message was discarded.".to_owned()),
            n => Some(format!("{n} unsent messages were discarded.")),
        }
    }

    fn send(self, client_id: ClientMsgId, body: String) {
        if let Some(c) = self.connection() {
            c.send(&ClientMessage::Send {
                room: RoomId::lobby(),
                client_id,
                body,
                reply_to: None,
            });
        }
    }

    fn resend_if_pending(self, client_id: ClientMsgId) {
        let Some(me) = self.me() else { return };
        let body = self
            .timeline
            .try_with_untracked(|t| t.pending_body(&client_id, &me))
            .flatten();
        if let Some(body) = body {
            self.send(client_id, body);
        }
    }

    /// Sends the request for `fetch`; `before` turns `Newest` into an older page.
    fn request(self, fetch: Fetch, before: Option<Seq>) {
        let Some(c) = self.connection() else { return };
        let room = RoomId::lobby();
        c.send(&match fetch {
            Fetch::Newest => ClientMessage::History {
                room,
                before,
                limit: PAGE,
            },
            Fetch::After(after) => ClientMessage::CatchUp {
                room,
                after,
                limit: PAGE,
            },
        });
    }

    fn resync(self) {
        if let Some(fetch) = self.timeline.try_update(Timeline::resync) {
            self.request(fetch, None);
        }
    }

    fn on_event(self, event: Event) {
        match event {
            Event::State(ConnState::LoggedOut) => {
                self.state.set(ConnState::LoggedOut);
                self.session_ended();
            }
            Event::State(new_state) => {
                self.state.set(new_state);
                if matches!(new_state, ConnState::Offline { .. }) {
                    self.check_session_still_valid();
                }
            }
            Event::Server(message) => self.on_server_message(message),
        }
    }

    /// A refused upgrade (expired or revoked session) looks like any other failed connection
    /// to the WebSocket API, so ask the server directly: an answer without a session means log
    /// in again; no answer means we are offline and the reconnect loop goes on.
    fn check_session_still_valid(self) {
        spawn_local(async move {
            if let Ok(None) = api::current_session().await
                && self
                    .state
                    .try_get_untracked()
                    .is_some_and(|s| s != ConnState::Online)
            {
                self.session_ended();
            }
        });
    }

    fn on_server_message(self, message: ServerMessage) {
        match message {
            ServerMessage::Welcome { username, .. } => {
                // Another tab may have logged in as someone else meanwhile (same cookie jar):
                // never send this screen's messages under that name.
                if self.me().is_some_and(|me| me != username) {
                    self.session_ended();
                    return;
                }
                self.resync();
                let pending: Vec<_> = self
                    .timeline
                    .try_with_untracked(|t| t.pending().map(|e| e.client_id.clone()).collect())
                    .unwrap_or_default();
                for client_id in pending {
                    self.resend_if_pending(client_id);
                }
            }
            // Only the lobby is shown until the room list arrives (issue "the chat client").
            ServerMessage::Event { event } if event.room == RoomId::lobby() => {
                self.timeline.update(|t| t.apply_live(event));
            }
            ServerMessage::Ack { event, .. } if event.room == RoomId::lobby() => {
                self.timeline.update(|t| t.apply_ack(event));
            }
            ServerMessage::History {
                room,
                before,
                events,
                complete,
                last_seq,
            } if room == RoomId::lobby() => self
                .timeline
                .update(|t| t.apply_history(before, events, complete, last_seq)),
            ServerMessage::CaughtUp {
                room,
                events,
                up_to_date,
                ..
            } if room == RoomId::lobby() => {
                let next = self
                    .timeline
                    .try_update(|t| t.apply_catch_up(events, up_to_date))
                    .flatten();
                if let Some(next) = next {
                    self.request(next, None);
                }
            }
            ServerMessage::Error {
                code,
                message,
                client_id,
            } => self.on_error(code, message, client_id),
            _ => {}
        }
    }

    fn on_error(self, code: ErrorCode, message: String, client_id: Option<ClientMsgId>) {
        let retryable = matches!(code, ErrorCode::RateLimited | ErrorCode::Internal);
        match (client_id, retryable) {
            (Some(client_id), true) => {
                let Some(me) = self.me() else { return };
                let attempt = self
                    .timeline
                    .try_update(|t| t.count_auto_retry(&client_id, &me))
                    .flatten();
                match attempt {
                    Some(n) if n > MAX_AUTO_RETRIES => self
                        .timeline
                        .update(|t| t.mark_failed(&client_id, &me, message)),
                    Some(n) => set_timeout(
                        move || self.resend_if_pending(client_id),
                        RETRY_DELAY * (1 << (n - 1).min(3)),
                    ),
                    None => {}
                }
            }
            (Some(client_id), false) => {
                if let Some(me) = self.me() {
                    self.timeline
                        .update(|t| t.mark_failed(&client_id, &me, message));
                }
            }
            (None, true) => {
                // Possibly a history or catch-up page: if a re-sync is unfinished, redo it.
                set_timeout(
                    move || {
                        let unfinished = self
                            .timeline
                            .try_with_untracked(Timeline::is_catching_up)
                            .unwrap_or(false);
                        if unfinished && self.state.try_get_untracked() == Some(ConnState::Online) {
                            self.resync();
                        }
                    },
                    RETRY_DELAY,
                );
            }
            (None, false) => leptos::logging::warn!("server refused a request: {message}"),
        }
    }
}
