//! One row of the message log.

use crate::timeline::{Delivery, Entry};
use leptos::prelude::*;
use shared::ClientMsgId;

/// Local wall-clock time as HH:MM.
fn clock(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

#[component]
pub fn MessageRow(
    entry: Entry,
    own: bool,
    /// Same sender as the row above, moments later: the header is only for screen readers.
    continued: bool,
    retry: Callback<ClientMsgId>,
) -> impl IntoView {
    let class = match (own, continued) {
        (true, true) => "message own continued",
        (true, false) => "message own",
        (false, true) => "message continued",
        (false, false) => "message",
    };
    let client_id = entry.client_id.clone();
    let delivery = match entry.delivery {
        Delivery::Sent => None,
        Delivery::Pending => Some(view! { <span class="delivery pending">"Sending…"</span> }.into_any()),
        Delivery::Failed(reason) => Some(
            view! {
                <span class="delivery failed">
                    "Not sent: " {reason} " "
                    <button type="button" class="link" on:click=move |_| retry.run(client_id.clone())>"Retry"</button>
                </span>
            }
            .into_any(),
        ),
    };
    view! {
        <article class=class data-sender=entry.sender.clone()>
            <header class:visually-hidden=continued>
                <span class="sender">{entry.sender.clone()}</span>
                <time>{clock(entry.sent_at_ms)}</time>
            </header>
            {if entry.deleted {
                view! { <p class="body deleted">"This message was deleted."</p> }.into_any()
            } else {
                view! { <p class="body">{entry.body}</p> }.into_any()
            }}
            {entry.edited.then(|| view! { <span class="edited">"(edited)"</span> })}
            {delivery}
        </article>
    }
}
