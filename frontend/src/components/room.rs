//! One conversation on screen: its header (name, topic, members, invite), the message log,
//! who is typing, and the composer.

use super::message::MessageRow;
use crate::connection::ConnState;
use crate::sync::{ChatSync, RequestOutcome};
use crate::timeline::Entry;
use leptos::html;
use leptos::prelude::*;
use shared::limits::{MAX_BODY_BYTES, check_body};
use shared::rooms::{RoomKind, RoomSummary};
use shared::{ClientMsgId, RoomId};

/// Messages from one sender closer together than this share one header.
const GROUP_WINDOW_MS: i64 = 5 * 60 * 1000;
/// How close to the bottom (px) counts as "reading the newest messages".
const STICKY_PX: i32 = 80;
/// Typing notices are sent at most this often while the user types.
const TYPING_EVERY_MS: f64 = 3000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Closed,
    AddMember,
    Invite,
}

#[component]
pub fn RoomPane(
    sync: ChatSync,
    room: RoomId,
    now: RwSignal<u64>,
    on_show_rooms: Callback<()>,
) -> impl IntoView {
    let Some(timeline) = sync.timeline(&room) else {
        return ().into_any();
    };
    let state = sync.state;
    let me = StoredValue::new(sync.me().unwrap_or_default());
    let room_id = StoredValue::new(room.clone());
    let summary = Memo::new(move |_| {
        sync.rooms
            .with(|r| room_id.with_value(|id| r.get(id).cloned()))
    });
    let title = move || match summary.get() {
        Some(RoomSummary {
            kind: RoomKind::Direct,
            name,
            ..
        }) => name,
        Some(room) => format!("# {}", room.name),
        None => room_id.with_value(|r| format!("# {r}")),
    };
    let is_group = move || summary.with(|s| s.as_ref().is_some_and(|s| s.kind == RoomKind::Group));
    let topic = move || summary.with(|s| s.as_ref().map(|s| s.topic.clone()).unwrap_or_default());
    let panel = RwSignal::new(Panel::Closed);

    let draft = RwSignal::new(String::new());
    let composer_error = RwSignal::new(None::<String>);
    let composer: NodeRef<html::Textarea> = NodeRef::new();
    let last_typing = StoredValue::new(0.0f64);
    let submit = move || {
        let body = draft.get_untracked();
        if let Err(why) = check_body(&body) {
            composer_error.set(Some(why.explain()));
            return;
        }
        composer_error.set(None);
        draft.set(String::new());
        last_typing.set_value(0.0);
        sync.send_new(room_id.get_value(), body, None);
        if let Some(el) = composer.get_untracked() {
            let _ = el.focus();
        }
    };
    let on_input = move |_| {
        let now = js_sys::Date::now();
        if now - last_typing.get_value() > TYPING_EVERY_MS {
            last_typing.set_value(now);
            sync.typing(room_id.get_value());
        }
    };
    let retry =
        Callback::new(move |client_id: ClientMsgId| sync.retry(room_id.get_value(), client_id));

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
        sync.load_older(&room_id.get_value());
    };
    let status_class = move || match state.get() {
        ConnState::Online => "status online",
        ConnState::Connecting => "status connecting",
        _ => "status offline",
    };
    let remaining = move || MAX_BODY_BYTES as i64 - draft.with(|d| d.len()) as i64;
    let typing = move || {
        let who: Vec<String> = sync.typing.with(|t| {
            room_id.with_value(|r| {
                t.get(r)
                    .map(|list| list.iter().map(|(u, _)| u.clone()).collect())
                    .unwrap_or_default()
            })
        });
        match who.as_slice() {
            [] => String::new(),
            [one] => format!("{one} is typing…"),
            [a, b] => format!("{a} and {b} are typing…"),
            _ => "Several people are typing…".to_owned(),
        }
    };
    let seen_by = move || {
        let newest_own = timeline.with(|t| {
            me.with_value(|me| {
                t.entries()
                    .iter()
                    .rev()
                    .find(|e| &e.sender == me)
                    .and_then(|e| e.id)
            })
        })?;
        let readers: Vec<String> = sync.members.with(|m| {
            room_id.with_value(|r| {
                m.get(r)
                    .map(|members| {
                        members
                            .iter()
                            .filter(|m| me.with_value(|me| &m.username != me))
                            .filter(|m| m.read_seq >= newest_own)
                            .map(|m| m.username.clone())
                            .collect()
                    })
                    .unwrap_or_default()
            })
        });
        (!readers.is_empty()).then(|| format!("Seen by {}", short_list(&readers)))
    };
    let placeholder = move || match summary.get() {
        Some(RoomSummary {
            kind: RoomKind::Direct,
            name,
            ..
        }) => format!("Message {name}"),
        Some(room) => format!("Message #{}", room.name),
        None => "Message".to_owned(),
    };

    view! {
        <section class="room-pane">
            <header class="topbar">
                <div class="room">
                    <button type="button" class="back" on:click=move |_| on_show_rooms.run(())>
                        "Rooms"
                    </button>
                    <div class="room-title">
                        <h1>{title}</h1>
                        <Show when=move || !topic().is_empty()>
                            <p class="topic">{topic}</p>
                        </Show>
                    </div>
                    <span class=status_class role="status">{move || state.get().describe(now.get())}</span>
                    <Show when=move || matches!(state.get(), ConnState::Offline { .. })>
                        <button type="button" class="link" on:click=move |_| sync.reconnect_now()>
                            "Reconnect now"
                        </button>
                    </Show>
                </div>
                <Show when=is_group>
                    <div class="room-actions">
                        <button type="button" on:click=move |_| {
                            sync.clear_request();
                            panel.update(|p| *p = if *p == Panel::AddMember { Panel::Closed } else { Panel::AddMember });
                        }>"Add member"</button>
                        <button type="button" on:click=move |_| {
                            panel.set(Panel::Invite);
                            sync.create_invite(room_id.get_value());
                        }>"Invite link"</button>
                    </div>
                </Show>
            </header>
            {move || match panel.get() {
                Panel::Closed => ().into_any(),
                Panel::AddMember => view! { <AddMemberForm sync room=room_id.get_value() panel /> }.into_any(),
                Panel::Invite => view! { <InvitePanel sync room=room_id.get_value() panel /> }.into_any(),
            }}
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
                        (entry.key(), entry.id, format!("{:?}{}{}", entry.delivery, entry.body, entry.deleted), *continued)
                    }
                    children=move |(entry, continued)| {
                        let own = entry.sender == me.get_value();
                        view! { <MessageRow entry own continued retry /> }
                    }
                />
            </div>
            <p class="typing" aria-live="polite">{typing}</p>
            {move || seen_by().map(|s| view! { <p class="seen">{s}</p> })}
            <form class="composer" on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <label for="composer" class="visually-hidden">"Message"</label>
                <textarea
                    id="composer"
                    node_ref=composer
                    rows="1"
                    placeholder=placeholder
                    maxlength=MAX_BODY_BYTES.to_string()
                    bind:value=draft
                    on:input=on_input
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
    .into_any()
}

#[component]
fn AddMemberForm(sync: ChatSync, room: RoomId, panel: RwSignal<Panel>) -> impl IntoView {
    let user = RwSignal::new(String::new());
    let room = StoredValue::new(room);
    Effect::new(move |_| {
        if sync.request.get() == Some(RequestOutcome::Done) {
            sync.clear_request();
            user.set(String::new());
            panel.set(Panel::Closed);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = user
            .get_untracked()
            .trim()
            .trim_start_matches('@')
            .to_owned();
        if !value.is_empty() {
            sync.add_member(room.get_value(), value);
        }
    };
    view! {
        <form class="panel inline" on:submit=submit>
            <label for="add-member-user">"Username"</label>
            <input id="add-member-user" autocomplete="off" maxlength="32" bind:value=user autofocus />
            <div class="panel-actions">
                <button type="submit" class="primary"
                    disabled=move || sync.request.get() == Some(RequestOutcome::Waiting)>"Add"</button>
                <button type="button" on:click=move |_| panel.set(Panel::Closed)>"Cancel"</button>
            </div>
            {move || match sync.request.get() {
                Some(RequestOutcome::Refused(why)) => Some(view! { <p class="error" role="alert">{why}</p> }),
                _ => None,
            }}
        </form>
    }
}

#[component]
fn InvitePanel(sync: ChatSync, room: RoomId, panel: RwSignal<Panel>) -> impl IntoView {
    let room = StoredValue::new(room);
    let link = move || {
        sync.invite.with(|i| {
            i.as_ref()
                .filter(|(r, _)| room.with_value(|room| r == room))
                .map(|(_, token)| invite_url(token))
        })
    };
    view! {
        <div class="panel inline">
            <label for="invite-link">"Invite link"</label>
            <input id="invite-link" readonly prop:value=move || link().unwrap_or_else(|| "Creating…".to_owned())
                on:focus=move |ev| {
                    use wasm_bindgen::JsCast;
                    if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                        input.select();
                    }
                } />
            <p class="hint">"Anyone with an account who opens this link within 7 days joins the room."</p>
            <div class="panel-actions">
                <button type="button" on:click=move |_| panel.set(Panel::Closed)>"Done"</button>
            </div>
        </div>
    }
}

/// The address that joins with `token` (handled by the app on load).
pub fn invite_url(token: &str) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!("{origin}/#/join/{token}")
}

fn short_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
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
