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
    let screen = RwSignal::new(Screen::Loading);
    let notice = RwSignal::new(None::<String>);
    spawn_local(async move {
        match crate::api::current_session().await {
            Ok(Some(session)) => screen.set(Screen::Chat(session.username)),
            Ok(None) => {
                crate::sync::remember_user(None);
                screen.set(Screen::SignedOut);
            }
            // Offline (or the server is down): open the stored chats of whoever used this
            // device last; the connection catches up when the server is reachable again.
            Err(problem) => match crate::sync::remembered_user() {
                Some(user) => screen.set(Screen::Chat(user)),
                None => {
                    notice.set(Some(problem.0));
                    screen.set(Screen::SignedOut);
                }
            },
        }
    });
    let on_authed = Callback::new(move |username: String| {
        notice.set(None);
        screen.set(Screen::Chat(username));
    });
    let on_logged_out = Callback::new(move |why: Option<String>| {
        notice.set(why);
        screen.set(Screen::SignedOut);
    });
    view! {
        <main class="app">
            {move || match screen.get() {
                Screen::Loading => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                Screen::SignedOut => view! { <AuthForm on_authed notice /> }.into_any(),
                Screen::Chat(username) => view! { <ChatView username on_logged_out /> }.into_any(),
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
