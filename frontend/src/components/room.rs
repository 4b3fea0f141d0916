//! One conversation on screen: its header (name, topic, members, invite), the message log,
//! who is typing, and the composer.

use super::call::CallButtons;
use super::message::{MessageActions, MessageRow};
use super::transfer::{SendFilesButton, TransferList};
use crate::connection::ConnState;
use crate::format::plain_text;
use crate::sync::ChatSync;
use crate::timeline::Entry;
use leptos::html;
use leptos::prelude::*;
use shared::limits::{MAX_BODY_BYTES, check_body};
use shared::rooms::{RoomKind, RoomSummary};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::HashMap;

/// Messages from one sender closer together than this share one header.
const GROUP_WINDOW_MS: i64 = 5 * 60 * 1000;
/// How close to the bottom (px) counts as "reading the newest messages".
const STICKY_PX: i32 = 80;
/// Most messages in the DOM at once, however long the history: the rest stay in memory and in
/// local storage, and come back as the reader scrolls.
pub const WINDOW: usize = 150;
/// Messages the window moves by when the reader nears one of its ends.
const WINDOW_STEP: usize = 50;
/// Distance (px) from an end of the log at which the window moves.
const EDGE_PX: i32 = 400;
/// Scroll events this soon after following new messages are the page's own.
const AUTO_SCROLL_SETTLE_MS: f64 = 250.0;
/// How long a search hit stays pointed out.
const HIT_SHOWN_MS: u64 = 4000;
/// Typing notices are sent at most this often while the user types.
const TYPING_EVERY_MS: f64 = 3000.0;

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
    let topic = move || summary.with(|s| s.as_ref().map(|s| s.topic.clone()).unwrap_or_default());

    // The composer starts with what was typed here before another room was shown.
    let draft = RwSignal::new(sync.draft(&room));
    // The message being answered or rewritten by the composer, if any.
    let replying = RwSignal::new(None::<Seq>);
    let editing = RwSignal::new(None::<Seq>);
    // Kept as the room's draft unless it is an edit in progress (an abandoned edit must not
    // come back as a new message).
    Effect::new(move |_| {
        let text = draft.get();
        if editing.get_untracked().is_none() {
            sync.keep_draft(&room_id.get_value(), text);
        }
    });
    let composer_error = RwSignal::new(None::<String>);
    let composer: NodeRef<html::Textarea> = NodeRef::new();
    let last_typing = StoredValue::new(0.0f64);
    // Edits, deletes and reactions are not queued like messages: say so instead of losing them.
    let online_or_explain = move || {
        let online = state.get_untracked() == ConnState::Online;
        if !online {
            composer_error.set(Some(
                "You are offline. Try again once connected.".to_owned(),
            ));
        }
        online
    };
    let submit = move || {
        let body = draft.get_untracked();
        if let Err(why) = check_body(&body) {
            composer_error.set(Some(why.explain()));
            return;
        }
        if editing.get_untracked().is_some() && !online_or_explain() {
            return;
        }
        composer_error.set(None);
        draft.set(String::new());
        last_typing.set_value(0.0);
        if let Some(target) = editing.get_untracked() {
            editing.set(None);
            sync.edit(room_id.get_value(), target, body);
        } else {
            let reply_to = replying.get_untracked();
            replying.set(None);
            sync.send_new(room_id.get_value(), body, reply_to);
        }
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
    let focus_composer = move || {
        if let Some(el) = composer.get_untracked() {
            let _ = el.focus();
        }
    };
    let actions = MessageActions {
        retry: Callback::new(move |client_id: ClientMsgId| {
            sync.retry(room_id.get_value(), client_id);
        }),
        reply: Callback::new(move |seq: Seq| {
            editing.set(None);
            replying.set(Some(seq));
            focus_composer();
        }),
        edit: Callback::new(move |(seq, body): (Seq, String)| {
            replying.set(None);
            editing.set(Some(seq));
            draft.set(body);
            focus_composer();
        }),
        delete: Callback::new(move |seq: Seq| {
            if online_or_explain() {
                sync.delete(room_id.get_value(), seq);
            }
        }),
        react: Callback::new(move |(seq, emoji, add): (Seq, String, bool)| {
            if online_or_explain() {
                sync.react(room_id.get_value(), seq, emoji, add);
            }
        }),
    };
    let cancel_compose = move || {
        if editing.get_untracked().is_some() {
            draft.set(String::new());
        }
        editing.set(None);
        replying.set(None);
    };
    let composing_about = move || {
        let (verb, seq) = match (editing.get(), replying.get()) {
            (Some(seq), _) => ("Editing", seq),
            (None, Some(seq)) => ("Replying to", seq),
            (None, None) => return None,
        };
        let quoted = timeline.with(|t| {
            t.message(seq)
                .map(|e| (e.sender.clone(), snippet(&plain_text(&e.body))))
        });
        Some(match (verb, quoted) {
            ("Editing", _) => "Editing your message".to_owned(),
            (_, Some((who, text))) => format!("{verb} {who}: {text}"),
            _ => format!("{verb} a message"),
        })
    };

    // One signal per message row drawn, updated when the message changes (an edit, a reaction,
    // its delivery), so the row changes in place instead of being drawn again. Owned by the
    // pane: the list's own updates must not dispose of them.
    let pane_owner = StoredValue::new_local(Owner::current().unwrap_or_default());
    let row_signals = StoredValue::new(HashMap::<String, RwSignal<Entry>>::new());
    let follow = move |entry: &Entry| -> ReadSignal<Entry> {
        let key = entry.key();
        let existing = row_signals.with_value(|m| m.get(&key).copied());
        match existing {
            Some(signal) => {
                if signal.with_untracked(|e| e != entry) {
                    signal.set(entry.clone());
                }
                signal.read_only()
            }
            None => {
                let signal = pane_owner.with_value(|o| o.with(|| RwSignal::new(entry.clone())));
                row_signals.update_value(|m| {
                    m.insert(key, signal);
                });
                signal.read_only()
            }
        }
    };

    // Keep the newest message in view unless the user scrolled up to read older ones.
    let log: NodeRef<html::Div> = NodeRef::new();
    let stick_to_bottom = RwSignal::new(true);
    // The first message in the DOM; `None` follows the newest messages.
    let window_top = RwSignal::new(None::<Seq>);
    let window = move |entries: &[Entry]| -> (usize, usize) {
        let start = match window_top.get_untracked() {
            None => entries.len().saturating_sub(WINDOW),
            Some(top) => entries
                .iter()
                .position(|e| e.id.is_none_or(|id| id >= top))
                .unwrap_or(0),
        };
        (start, (start + WINDOW).min(entries.len()))
    };
    let move_window_to = move |start: usize| {
        let top = timeline.with_untracked(|t| t.entries().get(start).and_then(|e| e.id));
        window_top.set(top);
    };
    // When the newest messages are followed, content changes move the scroll position (rows
    // come and go); scroll events right after such a change are the page's, not the reader's.
    let auto_scrolled_at = StoredValue::new(0.0f64);
    // Where the "New messages" line goes (after this seq), and whether the log was brought
    // to it yet (once per opening).
    let marker = move || {
        sync.unread_marker
            .with(|m| room_id.with_value(|id| in_room(m, id)))
    };
    // The newest message the reader had seen when they scrolled up: what came after it is
    // counted on the "Jump to latest" button.
    let seen_upto = RwSignal::new(None::<Seq>);
    let shown_marker = StoredValue::new(false);
    // A search hit to show: the window moves to it, loading older messages (from this device
    // first) until it is there, then it is scrolled to the middle and pointed out.
    let jump_target = move || {
        sync.jump_to
            .with(|j| room_id.with_value(|id| in_room(j, id)))
    };
    // The oldest message when older ones were last asked for: one load at a time.
    let jump_asked_at = RwSignal::new(None::<Seq>);
    // Runs in the log's effect below; true while a hit is being brought into view.
    let follow_jump = move || -> bool {
        let Some(target) = jump_target() else {
            return false;
        };
        let Some(el) = log.get_untracked() else {
            return true;
        };
        // The hit wins over the "New messages" line.
        shown_marker.set_value(true);
        let (found, len, oldest, reached_start) = timeline.with_untracked(|t| {
            let entries = t.entries();
            (
                entries.iter().position(|e| e.id == Some(target)),
                entries.len(),
                t.oldest_id(),
                t.reached_start,
            )
        });
        let Some(index) = found else {
            if reached_start || oldest.is_some_and(|o| o < target) {
                sync.jump_to.set(None);
            } else if jump_asked_at.get_untracked() != oldest {
                // Each load brings older messages (this device's first), so this ends.
                jump_asked_at.set(oldest);
                sync.load_older(&room_id.get_value());
            }
            return true;
        };
        sync.jump_to.set(None);
        if stick_to_bottom.get_untracked() {
            seen_upto.set(timeline.with_untracked(|t| t.newest_id()));
        }
        stick_to_bottom.set(false);
        if index + WINDOW < len {
            move_window_to(index.saturating_sub(WINDOW / 2));
        }
        scroll_next_frame(el, ScrollTo::Hit(target), auto_scrolled_at, stick_to_bottom);
        true
    };
    Effect::new(move |first: Option<()>| {
        timeline.track();
        if follow_jump() {
            return;
        }
        // After signing up or logging in, the form that had the focus is gone: the composer
        // takes it, so the keyboard is not left on the page's body.
        if first.is_none() {
            let on_body = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| {
                    d.active_element()
                        .is_none_or(|a| Some(a) == d.body().map(Into::into))
                });
            if on_body {
                focus_composer();
            }
        }
        if !shown_marker.get_value()
            && let Some(after) = marker()
            && let Some(el) = log.get_untracked()
        {
            let first_new = timeline.with_untracked(|t| {
                let entries = t.entries();
                me.with_value(|me| first_unread(entries, after, me))
                    .map(|i| (i, entries.len()))
            });
            if let Some((index, len)) = first_new {
                shown_marker.set_value(true);
                // The line and a little before it must be in the window of rows drawn.
                if index + WINDOW < len {
                    move_window_to(index.saturating_sub(10));
                }
                seen_upto.set(Some(after));
                stick_to_bottom.set(false);
                scroll_next_frame(el, ScrollTo::NewMessages, auto_scrolled_at, stick_to_bottom);
                return;
            }
        }
        if stick_to_bottom.get_untracked()
            && let Some(el) = log.get_untracked()
        {
            scroll_next_frame(el, ScrollTo::Bottom, auto_scrolled_at, stick_to_bottom);
        }
    });
    let show_older = move || {
        let (start, _) = timeline.with_untracked(|t| window(t.entries()));
        if start > 0 {
            move_window_to(start.saturating_sub(WINDOW_STEP));
        } else {
            sync.load_older(&room_id.get_value());
        }
    };
    let on_scroll = move |_| {
        let Some(el) = log.get_untracked() else {
            return;
        };
        if stick_to_bottom.get_untracked()
            && js_sys::Date::now() - auto_scrolled_at.get_value() < AUTO_SCROLL_SETTLE_MS
        {
            return;
        }
        let distance = el.scroll_height() - el.scroll_top() - el.client_height();
        let (start, end, len) = timeline.with_untracked(|t| {
            let (start, end) = window(t.entries());
            (start, end, t.entries().len())
        });
        if distance < EDGE_PX && end < len {
            let next = start + WINDOW_STEP;
            if next + WINDOW >= len {
                window_top.set(None);
            } else {
                move_window_to(next);
            }
        } else if el.scroll_top() < EDGE_PX && start > 0 {
            move_window_to(start.saturating_sub(WINDOW_STEP));
        }
        let at_bottom = distance < STICKY_PX && end >= len;
        if !at_bottom && stick_to_bottom.get_untracked() {
            seen_upto.set(timeline.with_untracked(|t| t.newest_id()));
        }
        stick_to_bottom.set(at_bottom);
        if stick_to_bottom.get_untracked() && window_top.get_untracked().is_some() {
            window_top.set(None);
        }
    };
    let load_older = move |_| {
        if stick_to_bottom.get_untracked() {
            seen_upto.set(timeline.with_untracked(|t| t.newest_id()));
        }
        stick_to_bottom.set(false);
        show_older();
    };
    // Messages of others that arrived below what the reader has seen.
    let unseen_below = move || {
        let upto = seen_upto.get()?;
        let count = timeline.with(|t| {
            me.with_value(|me| {
                t.entries()
                    .iter()
                    .filter(|e| {
                        e.id.is_some_and(|id| id > upto) && e.notice.is_none() && &e.sender != me
                    })
                    .count()
            })
        });
        (count > 0).then_some(count)
    };
    let jump_to_latest = move |_| {
        window_top.set(None);
        stick_to_bottom.set(true);
        seen_upto.set(None);
        if let Some(el) = log.get_untracked() {
            scroll_next_frame(el, ScrollTo::Bottom, auto_scrolled_at, stick_to_bottom);
        }
        focus_composer();
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
    // The state of my newest message: sent, delivered to someone, or seen by them.
    let receipt = move || {
        let newest_own = timeline.with(|t| {
            me.with_value(|me| {
                t.entries()
                    .iter()
                    .rev()
                    .find(|e| &e.sender == me)
                    .map(|e| e.id)
            })
        })??;
        sync.members.with(|m| {
            room_id.with_value(|r| {
                let others: Vec<_> = m
                    .get(r)?
                    .iter()
                    .filter(|m| me.with_value(|me| &m.username != me))
                    .collect();
                let readers: Vec<String> = others
                    .iter()
                    .filter(|m| m.read_seq >= newest_own)
                    .map(|m| m.username.clone())
                    .collect();
                Some(if !readers.is_empty() {
                    format!("Seen by {}", short_list(&readers))
                } else if others.iter().any(|m| m.delivered_seq >= newest_own) {
                    "Delivered".to_owned()
                } else {
                    "Sent".to_owned()
                })
            })
        })
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
                        <p class="topic" hidden=move || topic().is_empty()>{topic}</p>
                    </div>
                    // Screen readers hear the state when it changes, not the countdown each second.
                    <span class=status_class>
                        <span role="status">{move || state.get().label()}</span>
                        {move || state.get().countdown(now.get()).map(|c| view! { " " {c} })}
                    </span>
                    <button type="button" class="link" hidden=move || !matches!(state.get(), ConnState::Offline { .. })
                        on:click=move |_| sync.reconnect_now()>
                        "Reconnect now"
                    </button>
                </div>
                <div class="room-actions">
                    <CallButtons sync room=room_id.get_value() />
                </div>
                // The room's people and settings are a module loaded on first use
                // (public/room-panel.js, opened by index.html's loader): the wasm holds only these.
                <div class="room-actions">
                    <button type="button" data-part="threads" data-room=room_id.get_value().0>"Threads"</button>
                    <button type="button" data-part="room-panel" data-tab="people" data-room=room_id.get_value().0
                        aria-haspopup="dialog">"People"</button>
                    <button type="button" data-part="room-panel" data-tab="settings" data-room=room_id.get_value().0
                        aria-haspopup="dialog">"Settings"</button>
                </div>
            </header>
            <div class="log-area">
            <div class="log" node_ref=log role="log" aria-label="Chat history" aria-live="off" on:scroll=on_scroll>
                <button type="button" class="older" on:click=load_older hidden=move || !{
                    window_top.track();
                    timeline.with(|t| {
                        let (start, _) = window(t.entries());
                        start > 0
                            || (!t.reached_start && t.oldest_id().is_some()
                                && (t.more_stored || state.get() == ConnState::Online))
                    })
                }>"Load older messages"</button>
                <p class="empty" hidden=move || !timeline.with(|t| t.entries().is_empty() && t.reached_start)>
                    "No messages yet. Say hello!"
                </p>
                <For
                    each=move || {
                        window_top.track();
                        let marker = marker();
                        let rows = timeline.with(|t| {
                            let (start, end) = window(t.entries());
                            me.with_value(|me| rows(&t.entries()[start..end], marker, me))
                        });
                        // Rows on screen follow their message in place.
                        for row in &rows {
                            if let Row::Message { entry, .. } = row {
                                follow(entry);
                            }
                        }
                        rows
                    }
                    key=|row| row.key()
                    children=move |row| match row {
                        Row::Day(label) => view! {
                            <div class="day" role="separator"><span>{label}</span></div>
                        }.into_any(),
                        Row::NewMessages => view! {
                            <div class="day new-messages" role="separator"><span>"New messages"</span></div>
                        }.into_any(),
                        Row::Notice(_, text) => view! { <p class="notice-row">{text}</p> }.into_any(),
                        Row::Message { entry, continued } => {
                            let own = entry.sender == me.get_value();
                            let quoted_seq = entry.reply_to;
                            let entry = follow(&entry);
                            let quoted = quoted_seq.map(|seq| {
                                timeline.with_untracked(|t| t.message(seq).map(|q| {
                                    let text = if q.deleted { "(deleted)".to_owned() } else { snippet(&plain_text(&q.body)) };
                                    (q.sender.clone(), text)
                                })).unwrap_or_else(|| (String::new(), "an earlier message".to_owned()))
                            });
                            view! { <MessageRow entry own continued quoted me=me.get_value() actions members=sync.members room=room_id /> }.into_any()
                        }
                    }
                />
            </div>
            <button type="button" class="jump-latest" hidden=move || stick_to_bottom.get() on:click=jump_to_latest>
                {move || match unseen_below() {
                    Some(1) => "1 new message · Jump to latest".to_owned(),
                    Some(n) => format!("{n} new messages · Jump to latest"),
                    None => "Jump to latest".to_owned(),
                }}
            </button>
            </div>
            // New messages of others are read out once, here, rather than by the log: history
            // loading, edits and reactions change the log too, and a log region reads every
            // button of a row.
            <p class="visually-hidden" aria-live="polite">{move || sync.announcement.get()}</p>
            <TransferList sync room=room_id.get_value() />
            <p class="typing" aria-live="polite">{typing}</p>
            {move || receipt().map(|s| view! { <p class="seen">{s}</p> })}
            <form class="composer" on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                {move || composing_about().map(|about| view! {
                    <div class="composing">
                        <span>{about}</span>
                        <button type="button" class="link" on:click=move |_| cancel_compose()>"Cancel"</button>
                    </div>
                })}
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
                        } else if ev.key() == "Escape" {
                            cancel_compose();
                        } else if ev.key() == "ArrowUp" && draft.with_untracked(String::is_empty)
                            && editing.get_untracked().is_none()
                            && let Some((seq, body)) = timeline.with_untracked(|t| me.with_value(|me| {
                                t.last_editable(me).map(|(seq, body)| (seq, body.to_owned()))
                            }))
                        {
                            // ↑ in an empty composer edits my last message, as in Slack and Element.
                            ev.prevent_default();
                            actions.edit.run((seq, body));
                        }
                    }
                ></textarea>
                <div class="composer-buttons">
                    <button type="button" class="icon" aria-label="Emoji" aria-haspopup="dialog"
                        data-part="emoji">"☺"</button>
                    <SendFilesButton sync room=room_id.get_value() />
                    <button type="submit" class="primary">"Send"</button>
                </div>
                <span class="counter" hidden={move || remaining() >= 200}>{remaining}</span>
                {move || composer_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </form>
        </section>
    }
    .into_any()
}

/// The message of a (room, message) pointer, if it points into `room`.
fn in_room(pointer: &Option<(RoomId, Seq)>, room: &RoomId) -> Option<Seq> {
    pointer
        .as_ref()
        .filter(|(r, _)| r == room)
        .map(|(_, seq)| *seq)
}

/// Where the log scrolls once the rows drawn this turn are laid out.
#[derive(Clone, Copy)]
enum ScrollTo {
    /// The newest message (the reader follows the conversation).
    Bottom,
    /// The "New messages" line, at the top.
    NewMessages,
    /// A message in the middle, outlined for a moment and focused (a search hit).
    Hit(Seq),
}

/// Scrolls the log on the next frame. One function for every scroll the page makes, so the
/// scroll events that follow are known to be the page's (`auto_scrolled_at`).
fn scroll_next_frame(
    log: web_sys::HtmlDivElement,
    to: ScrollTo,
    auto_scrolled_at: StoredValue<f64>,
    stick_to_bottom: RwSignal<bool>,
) {
    use wasm_bindgen::JsCast;
    auto_scrolled_at.set_value(js_sys::Date::now());
    request_animation_frame(move || {
        auto_scrolled_at.set_value(js_sys::Date::now());
        let find = |selector: &str| {
            log.query_selector(selector)
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        };
        // The log is the rows' offset parent (it is positioned).
        match to {
            ScrollTo::Bottom => log.set_scroll_top(log.scroll_height()),
            ScrollTo::NewMessages => {
                if let Some(line) = find(".new-messages") {
                    log.set_scroll_top((line.offset_top() - 8).max(0));
                }
                // The reader is at the bottom if everything new fits on screen.
                let distance = log.scroll_height() - log.scroll_top() - log.client_height();
                stick_to_bottom.set(distance < STICKY_PX);
            }
            ScrollTo::Hit(seq) => {
                let Some(row) = find(&format!("article[data-seq=\"{}\"]", seq.0)) else {
                    return;
                };
                log.set_scroll_top(
                    row.offset_top() - (log.client_height() - row.offset_height()) / 2,
                );
                let _ = row.set_attribute("data-hit", "");
                let _ = row.focus();
                set_timeout(
                    move || {
                        let _ = row.remove_attribute("data-hit");
                    },
                    std::time::Duration::from_millis(HIT_SHOWN_MS),
                );
            }
        }
    });
}

fn short_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
    }
}

/// A line of the log: a day separator or a message.
#[derive(Clone)]
enum Row {
    Day(String),
    /// Above the first message that was unread when the room was opened.
    NewMessages,
    /// A room change or call, with its stable key.
    Notice(String, String),
    /// `continued`: same sender as the row above, moments later, so the header is not
    /// repeated.
    Message {
        entry: Entry,
        continued: bool,
    },
}

impl Row {
    /// Changes whenever the row must be drawn again.
    fn key(&self) -> String {
        match self {
            Row::Day(label) => format!("day {label}"),
            Row::NewMessages => "new messages".to_owned(),
            Row::Notice(key, text) => format!("notice {key} {text}"),
            // Stable while the message changes: the row follows it in place.
            Row::Message { entry, continued } => format!("message {} {continued}", entry.key()),
        }
    }
}

/// The first message of others after `after`: where the "New messages" line goes.
fn first_unread(entries: &[Entry], after: Seq, me: &str) -> Option<usize> {
    entries
        .iter()
        .position(|e| e.id.is_some_and(|id| id > after) && e.notice.is_none() && e.sender != me)
}

/// The log's rows: a separator where the (local) day changes, the "New messages" line, then
/// messages grouped by sender within [`GROUP_WINDOW_MS`].
fn rows(entries: &[Entry], marker: Option<Seq>, me: &str) -> Vec<Row> {
    let mut rows = Vec::with_capacity(entries.len() + 4);
    let mut previous: Option<&Entry> = None;
    let first_new = marker.and_then(|after| first_unread(entries, after, me));
    for (index, entry) in entries.iter().enumerate() {
        if Some(index) == first_new {
            rows.push(Row::NewMessages);
        }
        let day = day_label(entry.sent_at_ms);
        let new_day = previous.is_none_or(|p| day_label(p.sent_at_ms) != day);
        if new_day {
            rows.push(Row::Day(day));
        }
        if let Some(text) = &entry.notice {
            rows.push(Row::Notice(entry.key(), text.clone()));
            previous = Some(entry);
            continue;
        }
        let continued = !new_day
            && Some(index) != first_new
            && previous.is_some_and(|p| {
                p.notice.is_none()
                    && p.sender == entry.sender
                    && entry.sent_at_ms - p.sent_at_ms < GROUP_WINDOW_MS
            });
        previous = Some(entry);
        rows.push(Row::Message {
            entry: entry.clone(),
            continued,
        });
    }
    rows
}

/// "Today", "Yesterday", or the date in the user's locale.
fn day_label(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let today = js_sys::Date::new_0();
    let same_day = |a: &js_sys::Date, b: &js_sys::Date| {
        a.get_full_year() == b.get_full_year()
            && a.get_month() == b.get_month()
            && a.get_date() == b.get_date()
    };
    if same_day(&date, &today) {
        return "Today".to_owned();
    }
    let yesterday = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        today.get_time() - 86_400_000.0,
    ));
    if same_day(&date, &yesterday) {
        return "Yesterday".to_owned();
    }
    date.to_locale_date_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

/// The start of a message, for quotes.
fn snippet(body: &str) -> String {
    let short: String = body.chars().take(80).collect();
    if short.len() < body.len() {
        format!("{short}…")
    } else {
        short
    }
}
