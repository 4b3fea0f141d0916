//! One row of the message log: header, quoted reply, formatted text, reactions, delivery state
//! and the actions on it.

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
    entry: Entry,
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
    let client_id = entry.client_id.clone();
    let delivery = match entry.delivery.clone() {
        Delivery::Sent => None,
        Delivery::Pending => Some(view! { <span class="delivery pending">"Sending…"</span> }.into_any()),
        Delivery::Failed(reason) => Some(
            view! {
                <span class="delivery failed">
                    "Not sent: " {reason} " "
                    <button type="button" class="link" on:click=move |_| actions.retry.run(client_id.clone())>"Retry"</button>
                </span>
            }
            .into_any(),
        ),
    };
    let seq = entry.id;
    let reactions = entry.reactions.clone();
    let body_view = if entry.deleted {
        view! { <p class="body deleted">"This message was deleted."</p> }.into_any()
    } else {
        view! { <p class="body">{formatted(&entry.body, &me)}</p> }.into_any()
    };
    let me = StoredValue::new(me);
    let toolbar = seq.filter(|_| !entry.deleted).map(|seq| {
        let sender = entry.sender.clone();
        let body = StoredValue::new(entry.body.clone());
        let confirm_delete = RwSignal::new(false);
        let mine = move |emoji: &str| {
            reactions
                .iter()
                .any(|r| r.emoji == emoji && me.with_value(|me| r.users.iter().any(|u| u == me)))
        };
        let quick: Vec<_> = QUICK_REACTIONS
            .iter()
            .map(|emoji| {
                let add = !mine(emoji);
                let label = format!("React with {emoji}");
                view! {
                    <button type="button" class="icon" aria-label=label
                        on:click=move |_| actions.react.run((seq, (*emoji).to_owned(), add))>{*emoji}</button>
                }
            })
            .collect();
        view! {
            <div class="actions">
                <button type="button" class="icon" aria-label=format!("Reply to {sender}")
                    on:click=move |_| actions.reply.run(seq)>"↩"</button>
                {quick}
                {own.then(|| view! {
                    <button type="button" class="icon" aria-label="Edit"
                        on:click=move |_| actions.edit.run((seq, body.get_value()))>"✎"</button>
                    <button type="button" class="icon" class:danger=move || confirm_delete.get()
                        aria-label=move || if confirm_delete.get() { "Confirm delete" } else { "Delete" }
                        on:click=move |_| {
                            if confirm_delete.get_untracked() {
                                actions.delete.run(seq);
                            } else {
                                confirm_delete.set(true);
                            }
                        }>{move || if confirm_delete.get() { "Delete?" } else { "🗑" }}</button>
                })}
            </div>
        }
    });
    let chips = seq.filter(|_| !entry.deleted && !entry.reactions.is_empty()).map(|seq| {
        entry
            .reactions
            .iter()
            .map(|r| {
                let mine = me.with_value(|me| r.users.iter().any(|u| u == me));
                let emoji = r.emoji.clone();
                let who = r.users.join(", ");
                let label = format!("{} {}, by {who}", r.emoji, r.users.len());
                view! {
                    <button type="button" class="reaction" class:mine=mine aria-pressed=mine.to_string()
                        aria-label=label title=who
                        on:click=move |_| actions.react.run((seq, emoji.clone(), !mine))>
                        {r.emoji.clone()} " " {r.users.len()}
                    </button>
                }
            })
            .collect::<Vec<_>>()
    });
    view! {
        <article class=class data-sender=entry.sender.clone() data-seq=seq.map(|s| s.0.to_string())>
            <header class:visually-hidden=continued>
                <span class="sender">{
                    let sender = entry.sender.clone();
                    move || members.with(|all| {
                        match room.with_value(|r| all.get(r)).and_then(|l| l.iter().find(|m| m.username == sender)) {
                            Some(m) if !m.display_name.is_empty() => m.display_name.clone() + " @" + &sender,
                            _ => sender.clone(),
                        }
                    })
                }</span>
                <time>{clock(entry.sent_at_ms)}</time>
            </header>
            {quoted.map(|(who, text)| view! {
                <blockquote class="quote"><span class="sender">{who}</span> " " {text}</blockquote>
            })}
            {body_view}
            {entry.edited.then(|| view! { <span class="edited">"(edited)"</span> })}
            {chips.map(|c| view! { <div class="reactions">{c}</div> })}
            {delivery}
            {toolbar}
        </article>
    }
}
