//! The chat screen: header with connection status, the message log, and the composer. A thin
//! view over [`ChatSync`], which owns the protocol logic.

use super::message::MessageRow;
use crate::connection::ConnState;
use crate::sync::ChatSync;
use crate::timeline::Entry;
use leptos::html;
use leptos::prelude::*;
use shared::ClientMsgId;
use shared::limits::{MAX_BODY_BYTES, check_body};

/// Messages from one sender closer together than this share one header.
const GROUP_WINDOW_MS: i64 = 5 * 60 * 1000;
/// How close to the bottom (px) counts as "reading the newest messages".
const STICKY_PX: i32 = 80;

#[component]
pub fn ChatView(username: String, on_logged_out: Callback<Option<String>>) -> impl IntoView {
    let sync = ChatSync::start(username.clone(), on_logged_out);
    let ChatSync {
        timeline, state, ..
    } = sync;
    let me = StoredValue::new(username.clone());
    on_cleanup(move || sync.stop());

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
        draft.set(String::new());
        sync.send_new(body);
        if let Some(el) = composer.get_untracked() {
            let _ = el.focus();
        }
    };
    let retry = Callback::new(move |client_id: ClientMsgId| sync.retry(client_id));
    let log_out = move |_| sync.log_out();

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
        sync.load_older();
    };

    // Ticks once a second so the reconnect countdown counts.
    let now = RwSignal::new(js_sys::Date::now() as u64);
    if let Ok(ticker) = set_interval_with_handle(
        move || now.set(js_sys::Date::now() as u64),
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || ticker.clear());
    }
    let status_class = move || match state.get() {
        ConnState::Online => "status online",
        ConnState::Connecting => "status connecting",
        _ => "status offline",
    };
    let remaining = move || MAX_BODY_BYTES as i64 - draft.with(|d| d.len()) as i64;

    view! {
        <section class="chat">
            <header class="topbar">
                <div class="room">
                    <h1>"# lobby"</h1>
                    <span class=status_class role="status">{move || state.get().describe(now.get())}</span>
                    <Show when=move || matches!(state.get(), ConnState::Offline { .. })>
                        <button type="button" class="link" on:click=move |_| sync.reconnect_now()>
                            "Reconnect now"
                        </button>
                    </Show>
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
                    each=move || timeline.with(|t| grouped(t.entries()))
                    key=|(entry, continued)| {
                        (entry.key(), entry.id, format!("{:?}", entry.delivery), *continued)
                    }
                    children=move |(entry, continued)| {
                        let own = entry.sender == me.get_value();
                        view! { <MessageRow entry own continued retry /> }
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
                    maxlength=MAX_BODY_BYTES.to_string()
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

/// Pairs each entry with whether it continues the previous one (same sender, within
/// [`GROUP_WINDOW_MS`]), in which case its header is not repeated.
fn grouped(entries: &[Entry]) -> Vec<(Entry, bool)> {
    let mut previous: Option<&Entry> = None;
    entries
        .iter()
        .map(|entry| {
            let continued = previous.is_some_and(|p| {
                p.sender == entry.sender && entry.sent_at_ms - p.sent_at_ms < GROUP_WINDOW_MS
            });
            previous = Some(entry);
            (entry.clone(), continued)
        })
        .collect()
}
