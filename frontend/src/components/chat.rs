//! The chat screen: header with connection status, the message log, and the composer.
//!
//! Sending never waits for the network: a typed message enters the timeline as pending and is
//! sent now if the socket is open, else after the next Welcome. Every Welcome resends all pending
//! messages; the server's idempotency on client ids makes the resend harmless.

use super::message::MessageRow;
use crate::api;
use crate::connection::{ConnState, Connection, Event};
use crate::ids::new_client_id;
use crate::timeline::Timeline;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::limits::{MAX_BODY_CHARS, check_body};
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, MessageId, RoomId};

/// Messages fetched per history page.
const PAGE: u32 = 50;
/// How close to the bottom (px) counts as "reading the newest messages".
const STICKY_PX: i32 = 80;

fn request_history(connection: &Connection, before: Option<MessageId>) {
    connection.send(&ClientMessage::History {
        room: RoomId::lobby(),
        before,
        limit: PAGE,
    });
}

fn request_catch_up(connection: &Connection, after: MessageId) {
    connection.send(&ClientMessage::CatchUp {
        room: RoomId::lobby(),
        after,
        limit: PAGE,
    });
}

fn send_message(connection: &Connection, client_id: ClientMsgId, body: String) {
    connection.send(&ClientMessage::Send {
        room: RoomId::lobby(),
        client_id,
        body,
    });
}

#[component]
pub fn ChatView(username: String, on_logged_out: Callback<Option<String>>) -> impl IntoView {
    let timeline = RwSignal::new(Timeline::default());
    let state = RwSignal::new(ConnState::Connecting);
    let connection = StoredValue::new_local(None::<Connection>);
    let me = StoredValue::new(username.clone());

    let handle = move |event: Event| match event {
        Event::State(ConnState::LoggedOut) => {
            state.set(ConnState::LoggedOut);
            on_logged_out.run(Some("Your session ended. Log in again.".to_owned()));
        }
        Event::State(new_state) => {
            state.set(new_state);
            if matches!(new_state, ConnState::Offline { .. }) {
                check_session_still_valid(state, connection, on_logged_out);
            }
        }
        Event::Server(message) => on_server_message(message, timeline, connection, me),
    };
    connection.set_value(Some(Connection::start(handle)));
    on_cleanup(move || {
        if let Some(c) = connection.get_value() {
            c.stop();
        }
    });

    let draft = RwSignal::new(String::new());
    let composer_error = RwSignal::new(None::<String>);
    let composer: NodeRef<html::Textarea> = NodeRef::new();
    let submit = move || {
        let body = draft.get_untracked();
        if let Err(why) = check_body(&body) {
            composer_error.set(Some(why.explain()));
            return;
        }
        composer_error.set(None);
        let client_id = new_client_id();
        let sender = me.get_value();
        let now = js_sys::Date::now() as i64;
        timeline.update(|t| t.add_pending(client_id.clone(), &sender, body.clone(), now));
        draft.set(String::new());
        if let Some(c) = connection.get_value() {
            send_message(&c, client_id, body);
        }
        if let Some(el) = composer.get_untracked() {
            let _ = el.focus();
        }
    };
    let retry = Callback::new(move |client_id: ClientMsgId| {
        let sender = me.get_value();
        let body = timeline.with_untracked(|t| {
            t.entries()
                .iter()
                .find(|e| e.client_id == client_id && e.sender == sender)
                .map(|e| e.body.clone())
        });
        timeline.update(|t| t.retry(&client_id, &sender));
        if let (Some(body), Some(c)) = (body, connection.get_value()) {
            send_message(&c, client_id, body);
        }
    });

    let log_out = move |_| {
        spawn_local(async move {
            let result = api::log_out().await;
            if let Some(c) = connection.get_value() {
                c.stop();
            }
            on_logged_out.run(result.err().map(|p| p.0));
        });
    };

    // Keep the newest message in view unless the user scrolled up to read older ones.
    let log: NodeRef<html::Div> = NodeRef::new();
    let stick_to_bottom = RwSignal::new(true);
    Effect::new(move |_| {
        timeline.track();
        if stick_to_bottom.get_untracked()
            && let Some(el) = log.get_untracked()
        {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = log.get_untracked() {
            let distance = el.scroll_height() - el.scroll_top() - el.client_height();
            stick_to_bottom.set(distance < STICKY_PX);
        }
    };
    let load_older = move |_| {
        stick_to_bottom.set(false);
        let before = timeline.with_untracked(Timeline::oldest_id);
        if let Some(c) = connection.get_value() {
            request_history(&c, before);
        }
    };

    let status_class = move || match state.get() {
        ConnState::Online => "status online",
        ConnState::Connecting => "status connecting",
        _ => "status offline",
    };
    let remaining = move || MAX_BODY_CHARS as i64 - draft.with(|d| d.chars().count()) as i64;

    view! {
        <section class="chat">
            <header class="topbar">
                <div class="room">
                    <h1>"# lobby"</h1>
                    <span class=status_class role="status">{move || state.get().describe()}</span>
                </div>
                <div class="me">
                    <span class="whoami">"Signed in as " <strong>{username}</strong></span>
                    <button type="button" on:click=log_out>"Log out"</button>
                </div>
            </header>
            <div class="log" node_ref=log role="log" aria-label="Chat history" aria-live="polite" on:scroll=on_scroll>
                <Show when=move || {
                    timeline.with(|t| !t.reached_start && t.oldest_id().is_some())
                        && state.get() == ConnState::Online
                }>
                    <button type="button" class="older" on:click=load_older>"Load older messages"</button>
                </Show>
                <Show when=move || timeline.with(|t| t.entries().is_empty() && t.reached_start)>
                    <p class="empty">"No messages yet. Say hello!"</p>
                </Show>
                <For
                    each=move || timeline.with(|t| t.entries().to_vec())
                    key=|entry| (entry.key(), entry.id, format!("{:?}", entry.delivery))
                    children=move |entry| {
                        let own = entry.sender == me.get_value();
                        view! { <MessageRow entry own retry /> }
                    }
                />
            </div>
            <form class="composer" on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <label for="composer" class="visually-hidden">"Message"</label>
                <textarea
                    id="composer"
                    node_ref=composer
                    rows="1"
                    placeholder="Message #lobby"
                    maxlength=MAX_BODY_CHARS.to_string()
                    bind:value=draft
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            submit();
                        }
                    }
                ></textarea>
                <button type="submit" class="primary">"Send"</button>
                <Show when=move || remaining() < 200>
                    <span class="counter">{remaining}</span>
                </Show>
                <Show when=move || composer_error.get().is_some()>
                    <p class="error" role="alert">{move || composer_error.get()}</p>
                </Show>
            </form>
        </section>
    }
}

/// A refused upgrade (expired or revoked session) looks like any other failed connection to the
/// WebSocket API, so ask the server directly: an answer without a session means log in again,
/// no answer means we are offline and the reconnect loop goes on.
fn check_session_still_valid(
    state: RwSignal<ConnState>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    on_logged_out: Callback<Option<String>>,
) {
    spawn_local(async move {
        if let Ok(None) = api::current_session().await
            && state.get_untracked() != ConnState::Online
        {
            if let Some(c) = connection.get_value() {
                c.stop();
            }
            on_logged_out.run(Some("Your session ended. Log in again.".to_owned()));
        }
    });
}

fn on_server_message(
    message: ServerMessage,
    timeline: RwSignal<Timeline>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    me: StoredValue<String>,
) {
    match message {
        ServerMessage::Welcome { .. } => {
            let Some(c) = connection.get_value() else {
                return;
            };
            // A first connect loads the newest page; a reconnect fetches exactly what was
            // missed, so the list never has a hole in the middle.
            match timeline.with_untracked(Timeline::newest_id) {
                Some(newest) => request_catch_up(&c, newest),
                None => request_history(&c, None),
            }
            let pending: Vec<_> = timeline.with_untracked(|t| {
                t.pending()
                    .map(|e| (e.client_id.clone(), e.body.clone()))
                    .collect()
            });
            for (client_id, body) in pending {
                send_message(&c, client_id, body);
            }
        }
        ServerMessage::Message { message } | ServerMessage::Ack { message, .. } => {
            timeline.update(|t| t.insert_stored(message));
        }
        ServerMessage::History {
            messages, complete, ..
        } => timeline.update(|t| {
            let older_than_all = match (messages.first(), t.oldest_id()) {
                (Some(first), Some(oldest)) => first.id < oldest,
                _ => true,
            };
            for message in messages {
                t.insert_stored(message);
            }
            if complete && older_than_all {
                t.reached_start = true;
            }
        }),
        ServerMessage::Error {
            client_id: Some(client_id),
            message,
            ..
        } => {
            let sender = me.get_value();
            timeline.update(|t| t.mark_failed(&client_id, &sender, message));
        }
        ServerMessage::Error { message, .. } => {
            leptos::logging::warn!("server refused a request: {message}");
        }
        ServerMessage::CaughtUp {
            messages,
            up_to_date,
            ..
        } => {
            let last = messages.last().map(|m| m.id);
            timeline.update(|t| {
                for message in messages {
                    t.insert_stored(message);
                }
            });
            if let (false, Some(last), Some(c)) = (up_to_date, last, connection.get_value()) {
                request_catch_up(&c, last);
            }
        }
        ServerMessage::Pong { .. } => {}
    }
}
