//! Views. They hold no protocol logic: they read signals and call into `api`, `connection` and
//! `timeline`.

mod auth;
mod call;
pub(crate) mod chat;
mod forms;
mod message;
mod nav;
mod room;
mod transfer;

use leptos::prelude::*;
use leptos::task::spawn_local;

pub use auth::AuthForm;
pub use chat::ChatView;
pub use transfer::human_bytes;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    Loading,
    SignedOut,
    Chat(String),
}

#[component]
pub fn App() -> impl IntoView {
    // Whoever used this device last and did not log out: their stored chats are drawn at once,
    // while the server is asked about the session (offline, that answer never comes).
    let remembered = crate::sync::remembered_user();
    let first = remembered.clone().map_or(Screen::Loading, Screen::Chat);
    let screen = RwSignal::new(first.clone());
    // Whether the server answered for the session on screen (or could not be reached): until
    // then the chat shows what is stored and does not connect.
    let confirmed = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    spawn_local(async move {
        let answer = crate::api::current_session().await;
        // Logged out (or in again) from the stored chats meanwhile: that stands.
        if screen.get_untracked() != first {
            return;
        }
        let next = match answer {
            Ok(Some(session)) => Screen::Chat(session.username),
            Ok(None) => {
                crate::sync::remember_user(None);
                Screen::SignedOut
            }
            // Offline (or the server is down): open the stored chats of whoever used this
            // device last; the connection catches up when the server is reachable again.
            Err(problem) => match remembered {
                Some(user) => Screen::Chat(user),
                None => {
                    notice.set(Some(problem.0));
                    Screen::SignedOut
                }
            },
        };
        if matches!(next, Screen::Chat(_)) {
            confirmed.set(true);
        }
        if next != first {
            screen.set(next);
        }
    });
    let on_authed = Callback::new(move |username: String| {
        notice.set(None);
        confirmed.set(true);
        screen.set(Screen::Chat(username));
    });
    let on_logged_out = Callback::new(move |why: Option<String>| {
        notice.set(why);
        screen.set(Screen::SignedOut);
    });
    let confirmed = confirmed.read_only();
    view! {
        <main class="app">
            {move || match screen.get() {
                Screen::Loading => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                Screen::SignedOut => view! { <AuthForm on_authed notice /> }.into_any(),
                Screen::Chat(username) => view! { <ChatView username confirmed on_logged_out /> }.into_any(),
            }}
        </main>
    }
}

/// Moves the keyboard focus to the element `id` once it is on the page.
pub(crate) fn focus(id: &'static str) {
    request_animation_frame(move || {
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
        {
            let _ = element.focus();
        }
    });
}
