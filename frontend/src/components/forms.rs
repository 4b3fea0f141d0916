//! Small forms shared by the sidebar and the room header.

use crate::sync::{ChatSync, RequestOutcome};
use leptos::prelude::*;

/// The server's refusal of the last room request, if any.
pub fn request_error(sync: ChatSync) -> impl IntoView {
    move || match sync.request.get() {
        Some(RequestOutcome::Refused(why)) => {
            Some(view! { <p class="error" role="alert">{why}</p> })
        }
        _ => None,
    }
}

/// A text box labelled "Username" with a submit and a Cancel button; `on_submit` gets the name
/// without a leading `@`.
#[component]
pub fn UsernameForm(
    sync: ChatSync,
    /// The input's id (unique on the page).
    id: &'static str,
    submit_label: &'static str,
    class: &'static str,
    on_submit: Callback<String>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let user = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = user
            .get_untracked()
            .trim()
            .trim_start_matches('@')
            .to_owned();
        if !value.is_empty() {
            on_submit.run(value);
        }
    };
    // A form that appears on a click takes the keyboard (autofocus works only at page load);
    // Escape closes it like Cancel.
    super::focus(id);
    view! {
        <form class=class on:submit=submit on:keydown=move |ev| {
            if ev.key() == "Escape" {
                on_cancel.run(());
            }
        }>
            <label for=id>"Username"</label>
            <input id=id autocomplete="off" maxlength="32" bind:value=user autofocus />
            <div class="panel-actions">
                <button type="submit" class="primary"
                    disabled=move || sync.request.get() == Some(RequestOutcome::Waiting)>{submit_label}</button>
                <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
            {request_error(sync)}
        </form>
    }
}
