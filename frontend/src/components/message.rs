//! One row of the message log: header, quoted reply, formatted text, reactions, delivery state
//! and the actions on it.
//!
//! A row is drawn once and then follows its message (edits, reactions, delivery) in place: a
//! row drawn again would be announced again by screen readers and would lose the focus. For the
//! keyboard a message has one tab stop for its actions, a menu; the one-click buttons shown on
//! hover are for the pointer.

use crate::format::{Piece, parse};
use crate::timeline::{Delivery, Entry};
use leptos::html;
use leptos::prelude::*;
use shared::rooms::Member;
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::HashMap;

/// The reactions offered with one click.
pub const QUICK_REACTIONS: [&str; 4] = ["👍", "❤️", "😂", "🎉"];

/// What a row can ask the room to do.
#[derive(Clone, Copy)]
pub struct MessageActions {
    pub retry: Callback<ClientMsgId>,
    pub reply: Callback<Seq>,
    pub edit: Callback<(Seq, String)>,
    pub delete: Callback<Seq>,
    /// (message, emoji, add)
    pub react: Callback<(Seq, String, bool)>,
}

/// Local wall-clock time as HH:MM.
fn clock(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// Renders formatted text; every piece becomes a text node, never HTML.
pub fn formatted(body: &str, me: &str) -> Vec<AnyView> {
    parse(body)
        .into_iter()
        .map(|piece| render_piece(piece, me))
        .collect()
}

fn render_piece(piece: Piece, me: &str) -> AnyView {
    let Piece {
        text,
        bold,
        italic,
        code,
        link,
        mention,
    } = piece;
    let inner = if code {
        view! { <code>{text}</code> }.into_any()
    } else if let Some(href) = link {
        view! { <a href=href target="_blank" rel="noopener noreferrer nofollow">{text}</a> }
            .into_any()
    } else if mention {
        let is_me = text[1..].eq_ignore_ascii_case(me);
        view! { <span class="mention" class:to-me=is_me>{text}</span> }.into_any()
    } else {
        text.into_any()
    };
    match (bold, italic) {
        (true, true) => view! { <strong><em>{inner}</em></strong> }.into_any(),
        (true, false) => view! { <strong>{inner}</strong> }.into_any(),
        (false, true) => view! { <em>{inner}</em> }.into_any(),
        (false, false) => inner,
    }
}

#[component]
pub fn MessageRow(
    /// The message, kept current by the log.
    entry: ReadSignal<Entry>,
    own: bool,
    /// Same sender as the row above, moments later: the header is only for screen readers.
    continued: bool,
    /// The quoted message of a reply: (sender, text).
    quoted: Option<(String, String)>,
    me: String,
    actions: MessageActions,
    /// Member lists by room: the sender's display name, shown with the username, which is the
    /// identity (display names are not unique). The list may arrive after the row.
    members: RwSignal<HashMap<RoomId, Vec<Member>>>,
    room: StoredValue<RoomId>,
) -> impl IntoView {
    let class = match (own, continued) {
        (true, true) => "message own continued",
        (true, false) => "message own",
        (false, true) => "message continued",
        (false, false) => "message",
    };
    let (sender, sent_at_ms) = entry.with_untracked(|e| (e.sender.clone(), e.sent_at_ms));
    let me = StoredValue::new(me);
    let seq = Memo::new(move |_| entry.with(|e| e.id));
    let deleted = Memo::new(move |_| entry.with(|e| e.deleted));
    let body = Memo::new(move |_| entry.with(|e| e.body.clone()));
    let delivery = Memo::new(move |_| entry.with(|e| e.delivery.clone()));
    let emojis = Memo::new(move |_| {
        entry.with(|e| {
            if e.deleted {
                Vec::new()
            } else {
                e.reactions.iter().map(|r| r.emoji.clone()).collect()
            }
        })
    });
    // Whether I reacted with `emoji`, read when a button is pressed.
    let mine = move |emoji: &str| {
        entry.with_untracked(|e| {
            me.with_value(|me| {
                e.reactions
                    .iter()
                    .any(|r| r.emoji == emoji && r.users.iter().any(|u| u == me))
            })
        })
    };
    let react = move |emoji: String| {
        if let Some(seq) = seq.get_untracked() {
            let add = !mine(&emoji);
            actions.react.run((seq, emoji, add));
        }
    };
    let body_view = move || {
        if deleted.get() {
            view! { <p class="body deleted">"This message was deleted."</p> }.into_any()
        } else {
            let text = me.with_value(|me| body.with(|b| formatted(b, me)));
            view! { <p class="body">{text}</p> }.into_any()
        }
    };
    let delivery_view = move || match delivery.get() {
        Delivery::Sent => None,
        Delivery::Pending => {
            Some(view! { <span class="delivery pending">"Sending…"</span> }.into_any())
        }
        Delivery::Failed(reason) => Some(
            view! {
                <span class="delivery failed">
                    "Not sent: " {reason} " "
                    <button type="button" class="link" on:click=move |_| {
                        actions.retry.run(entry.with_untracked(|e| e.client_id.clone()));
                    }>"Retry"</button>
                </span>
            }
            .into_any(),
        ),
    };
    let chips = move || {
        view! {
            <For each=move || emojis.get() key=|emoji| emoji.clone() let:emoji>
                {
                    let emoji = StoredValue::new(emoji);
                    let state = Memo::new(move |_| {
                        entry.with(|e| {
                            emoji.with_value(|emoji| {
                                e.reactions.iter().find(|r| &r.emoji == emoji).map(|r| {
                                    let mine = me.with_value(|me| r.users.iter().any(|u| u == me));
                                    (r.users.len(), r.users.join(", "), mine)
                                })
                            })
                        }).unwrap_or_default()
                    });
                    view! {
                        <button type="button" class="reaction" class:mine=move || state.get().2
                            aria-pressed=move || state.get().2.to_string()
                            aria-label=move || {
                                let (count, who, _) = state.get();
                                format!("{} {count}, by {who}", emoji.get_value())
                            }
                            title=move || state.get().1
                            on:click=move |_| react(emoji.get_value())>
                            {emoji.get_value()} " " {move || state.get().0}
                        </button>
                    }
                }
            </For>
        }
    };
    // The actions exist once the server has the message, and not for a deleted one.
    let actionable = Memo::new(move |_| seq.get().filter(|_| !deleted.get()));
    let sender_for_toolbar = sender.clone();
    let toolbar = move || {
        let seq = actionable.get()?;
        let sender = sender_for_toolbar.clone();
        let edit = move || {
            actions
                .edit
                .run((seq, entry.with_untracked(|e| e.body.clone())))
        };
        let confirm_delete = RwSignal::new(false);
        let quick: Vec<_> = QUICK_REACTIONS
            .iter()
            .map(|emoji| {
                let label = format!("React with {emoji}");
                view! {
                    <button type="button" class="icon" tabindex="-1" aria-label=label
                        on:click=move |_| react((*emoji).to_owned())>{*emoji}</button>
                }
            })
            .collect();
        Some(view! {
            <div class="actions">
                <button type="button" class="icon" tabindex="-1" aria-label=format!("Reply to {sender}")
                    on:click=move |_| actions.reply.run(seq)>"↩"</button>
                {quick}
                {own.then(|| view! {
                    <button type="button" class="icon" tabindex="-1" aria-label="Edit"
                        on:click=move |_| edit()>"✎"</button>
                    <button type="button" class="icon" tabindex="-1" class:danger=move || confirm_delete.get()
                        aria-label=move || if confirm_delete.get() { "Confirm delete" } else { "Delete" }
                        on:click=move |_| {
                            if confirm_delete.get_untracked() {
                                actions.delete.run(seq);
                            } else {
                                confirm_delete.set(true);
                            }
                        }>{move || if confirm_delete.get() { "Delete?" } else { "🗑" }}</button>
                })}
                <ActionsMenu seq own actions react=Callback::new(react) edit=Callback::new(move |()| edit()) />
            </div>
        })
    };
    let display_sender = {
        let sender = sender.clone();
        move || {
            members.with(|all| {
                match room
                    .with_value(|r| all.get(r))
                    .and_then(|l| l.iter().find(|m| m.username == sender))
                {
                    Some(m) if !m.display_name.is_empty() => {
                        m.display_name.clone() + " @" + &sender
                    }
                    _ => sender.clone(),
                }
            })
        }
    };
    view! {
        <article class=class data-sender=sender data-seq=move || seq.get().map(|s| s.0.to_string())>
            <header class:visually-hidden=continued>
                <span class="sender">{display_sender}</span>
                <time>{clock(sent_at_ms)}</time>
            </header>
            {quoted.map(|(who, text)| view! {
                <blockquote class="quote"><span class="sender">{who}</span> " " {text}</blockquote>
            })}
            {body_view}
            {move || entry.with(|e| e.edited && !e.deleted).then(|| view! { <span class="edited">"(edited)"</span> })}
            <Show when=move || !emojis.with(Vec::is_empty)>
                <div class="reactions">{chips}</div>
            </Show>
            {delivery_view}
            {toolbar}
        </article>
    }
}

/// The keyboard's way to a message's actions: one button, and a menu that arrow keys move
/// through. Focus returns to the button when the menu closes.
#[component]
fn ActionsMenu(
    seq: Seq,
    own: bool,
    actions: MessageActions,
    react: Callback<String>,
    edit: Callback<()>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);
    let button: NodeRef<html::Button> = NodeRef::new();
    let menu: NodeRef<html::Div> = NodeRef::new();
    let close = move |refocus: bool| {
        open.set(false);
        confirm_delete.set(false);
        if refocus && let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
    };
    let items = move || -> Vec<web_sys::HtmlElement> {
        use wasm_bindgen::JsCast;
        let Some(menu) = menu.get_untracked() else {
            return Vec::new();
        };
        let Ok(list) = menu.query_selector_all("[role=menuitem]") else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
            .collect()
    };
    let move_focus = move |step: i32| {
        let items = items();
        if items.is_empty() {
            return;
        }
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        let at = items
            .iter()
            .position(|i| {
                active
                    .as_ref()
                    .is_some_and(|a| a == i.as_ref() as &web_sys::Element)
            })
            .map_or(0, |p| p as i32 + step);
        let n = items.len() as i32;
        let _ = items[at.rem_euclid(n) as usize].focus();
    };
    Effect::new(move |_| {
        if open.get() {
            request_animation_frame(move || move_focus(0));
        }
    });
    let item = move |label: String, run: Callback<()>| {
        view! {
            <button type="button" role="menuitem" tabindex="-1" on:click=move |_| run.run(())>{label}</button>
        }
    };
    view! {
        <div class="actions-menu"
            on:keydown=move |ev| match ev.key().as_str() {
                "Escape" if open.get_untracked() => {
                    ev.prevent_default();
                    ev.stop_propagation();
                    close(true);
                }
                "ArrowDown" if open.get_untracked() => { ev.prevent_default(); move_focus(1); }
                "ArrowUp" if open.get_untracked() => { ev.prevent_default(); move_focus(-1); }
                _ => {}
            }
            on:focusout=move |ev| {
                use wasm_bindgen::JsCast;
                let inside = ev.related_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
                    .zip(menu.get_untracked())
                    .is_some_and(|(t, m)| m.contains(Some(&t)));
                let on_button = ev.related_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
                    .zip(button.get_untracked())
                    .is_some_and(|(t, b)| b.contains(Some(&t)));
                if open.get_untracked() && !inside && !on_button {
                    close(false);
                }
            }>
            <button type="button" class="icon more" node_ref=button aria-label="More actions"
                aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                on:click=move |_| if open.get_untracked() { close(true) } else { open.set(true) }>"⋯"</button>
            <Show when=move || open.get()>
                <div class="menu" role="menu" aria-label="Message actions" node_ref=menu>
                    {item("Reply".to_owned(), Callback::new(move |()| { close(false); actions.reply.run(seq); }))}
                    {QUICK_REACTIONS.iter().map(|emoji| item(
                        format!("React with {emoji}"),
                        Callback::new(move |()| { react.run((*emoji).to_owned()); close(true); }),
                    )).collect::<Vec<_>>()}
                    {own.then(|| view! {
                        {item("Edit".to_owned(), Callback::new(move |()| { close(false); edit.run(()); }))}
                        <button type="button" role="menuitem" tabindex="-1" class:danger=move || confirm_delete.get()
                            on:click=move |_| {
                                if confirm_delete.get_untracked() {
                                    close(true);
                                    actions.delete.run(seq);
                                } else {
                                    confirm_delete.set(true);
                                }
                            }>{move || if confirm_delete.get() { "Confirm delete" } else { "Delete" }}</button>
                    })}
                </div>
            </Show>
        </div>
    }
}
