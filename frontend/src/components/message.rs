//! One row of the message log: header, quoted reply, formatted text, reactions, delivery state
//! and the actions on it.
//!
//! A row is drawn once and then follows its message (edits, reactions, delivery) in place: a
//! row drawn again would be announced again by screen readers and would lose the focus. For the
//! keyboard a message's actions are one toolbar with one tab stop; arrow keys move along it.

use super::transfer::human_bytes;
use crate::format::{Piece, parse};
use crate::timeline::{Delivery, Entry};
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
/// A message's time as the row shows it ("14:05"), its full date and time in the reader's
/// locale for the tooltip, and the machine-readable form for `<time datetime>`.
fn clock(ms: i64) -> (String, String, String) {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    (
        format!("{:02}:{:02}", date.get_hours(), date.get_minutes()),
        date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
            .into(),
        date.to_iso_string().into(),
    )
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
    // Plain closures where redrawing a part costs nothing; memos only where a redraw would
    // move the focus (the toolbar, the reaction buttons). Each memo type costs first-load bytes.
    let seq = move || entry.with(|e| e.id);
    let deleted = move || entry.with(|e| e.deleted);
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
        if let Some(seq) = entry.with_untracked(|e| e.id) {
            let add = !mine(&emoji);
            actions.react.run((seq, emoji, add));
        }
    };
    let body_view = move || {
        if deleted() {
            view! { <p class="body deleted">"This message was deleted."</p> }.into_any()
        } else {
            let text = me.with_value(|me| entry.with(|e| formatted(&e.body, me)));
            view! { <p class="body">{text}</p> }.into_any()
        }
    };
    // A file left on the server: an image inline in the place its size reserves, a voice
    // note as a player, anything else as a download.
    let attachment_view = move || {
        entry.with(|e| e.attachment.clone()).map(|a| {
            let url = format!("/api/attachments/{}", a.id);
            let label = format!("{} · {} · kept on the server", a.name, human_bytes(a.size));
            if let (Some(w), Some(h)) = (a.width, a.height) {
                // Shown within 320 × 320 pixels (the thumbnail's shape), never enlarged.
                let (w, h) = if w >= h {
                    let shown = w.min(320);
                    (shown, (h * shown / w).max(1))
                } else {
                    let shown = h.min(320);
                    ((w * shown / h).max(1), shown)
                };
                let thumb = format!("{url}/thumb");
                view! { <a class="file image" href=url target="_blank" title=label><img src=thumb width=w height=h alt=a.name /></a> }.into_any()
            } else if a.mime.starts_with("audio/") {
                view! { <audio class="file" controls=true preload="metadata" src=url title=label.clone() aria-label=label></audio> }.into_any()
            } else {
                view! { <a class="file" href=url download=a.name>{label}</a> }.into_any()
            }
        })
    };
    let delivery_view = move || match entry.with(|e| e.delivery.clone()) {
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
    // The buttons are drawn again only when the set of emojis changes; counts and who reacted
    // change in place (the focus stays on a pressed button).
    let chips = move || {
        emojis
            .get()
            .into_iter()
            .map(|emoji| {
                let emoji = StoredValue::new(emoji);
                let state = move || {
                    entry
                        .with(|e| {
                            emoji.with_value(|emoji| {
                                e.reactions.iter().find(|r| &r.emoji == emoji).map(|r| {
                                    let mine = me.with_value(|me| r.users.iter().any(|u| u == me));
                                    (r.users.len(), r.users.join(", "), mine)
                                })
                            })
                        })
                        .unwrap_or_default()
                };
                view! {
                    <button type="button" class="reaction"
                        aria-pressed=move || state().2.to_string()
                        aria-label=move || {
                            let (count, who, _) = state();
                            format!("{} {count}, by {who}", emoji.get_value())
                        }
                        title=move || state().1
                        on:click=move |_| react(emoji.get_value())>
                        {emoji.get_value()} " " {move || state().0}
                    </button>
                }
            })
            .collect::<Vec<_>>()
    };
    // The actions exist once the server has the message, and not for a deleted one.
    let actionable = Memo::new(move |_| seq().filter(|_| !deleted()));
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
            <div class="actions" role="toolbar" aria-label="Actions" on:keydown=roving_focus>
                <button type="button" class="icon" aria-label=format!("Reply to {sender}")
                    on:click=move |_| actions.reply.run(seq)>"↩"</button>
                {quick}
                // The picker is public/emoji.js, loaded on first use (index.html's loader).
                <button type="button" class="icon" tabindex="-1" aria-label="More reactions" aria-haspopup="dialog"
                    data-part="emoji" data-seq=seq.0.to_string() data-room=room.get_value().0>"☺"</button>
                <button type="button" class="icon" tabindex="-1" aria-label="Open thread"
                    data-part="threads" data-seq=seq.0.to_string() data-room=room.get_value().0>"🧵"</button>
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
                // public/report.js asks for the reason and files the report (it reads the
                // message from the row's data-seq and the room from the room's header).
                {(!own).then(|| view! {
                    <button type="button" class="icon" tabindex="-1" aria-label="Report" data-part="report">"⚑"</button>
                })}
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
    let picture = format!("/api/avatars/{sender}");
    view! {
        <article class=class tabindex="-1" data-sender=sender data-seq=move || seq().map(|s| s.0.to_string())>
            <header class:visually-hidden=continued>
                <img class="avatar" src=picture alt="" />
                <span class="sender">{display_sender}</span>
                {let (shown, full, iso) = clock(sent_at_ms);
                    view! { <time datetime=iso title=full>{shown}</time> }}
            </header>
            {quoted.map(|(who, text)| view! {
                <blockquote class="quote"><span class="sender">{who}</span> " " {text}</blockquote>
            })}
            {body_view}
            {attachment_view}
            {move || entry.with(|e| e.edited && !e.deleted).then(|| view! { <span class="edited">"(edited)"</span> })}
            <div class="reactions" hidden=move || emojis.with(Vec::is_empty)>{chips}</div>
            {delivery_view}
            {toolbar}
        </article>
    }
}

/// Arrow keys, Home and End move the focus along a toolbar (one tab stop for all its buttons).
fn roving_focus(ev: web_sys::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let step: i32 = match ev.key().as_str() {
        "ArrowRight" | "ArrowDown" => 1,
        "ArrowLeft" | "ArrowUp" => -1,
        "Home" => -1000,
        "End" => 1000,
        _ => return,
    };
    let Some(bar) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(buttons) = bar.query_selector_all("button") else {
        return;
    };
    let buttons: Vec<web_sys::HtmlElement> = (0..buttons.length())
        .filter_map(|i| buttons.item(i)?.dyn_into().ok())
        .collect();
    let active = bar.owner_document().and_then(|d| d.active_element());
    let at = buttons
        .iter()
        .position(|b| {
            active
                .as_ref()
                .is_some_and(|a| a == b.as_ref() as &web_sys::Element)
        })
        .unwrap_or(0) as i32;
    let last = buttons.len() as i32 - 1;
    if let Some(next) = buttons.get((at + step).clamp(0, last.max(0)) as usize) {
        ev.prevent_default();
        let _ = next.focus();
    }
}
