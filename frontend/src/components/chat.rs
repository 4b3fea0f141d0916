//! The signed-in screen: the sidebar with the room list next to the open room. On a phone-sized
//! screen one of the two is shown at a time. A thin view over [`ChatSync`], which owns the
//! protocol logic.

use super::call::{CallBanner, CallPanel};
use super::nav::RoomNav;
use super::room::RoomPane;
use crate::connection::ConnState;
use crate::notify::Permission;
use crate::route::{self, take_invite_token};
use crate::sync::{ChatSync, RequestOutcome};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

#[component]
pub fn ChatView(
    username: String,
    /// The server answered for this session (or could not be reached): see [`ChatSync::start`].
    confirmed: ReadSignal<bool>,
    on_logged_out: Callback<Option<String>>,
) -> impl IntoView {
    let sync = ChatSync::start(username.clone(), confirmed, on_logged_out);
    on_cleanup(move || sync.stop());

    // Ticks once a second so the reconnect countdown counts.
    let now = RwSignal::new(js_sys::Date::now() as u64);
    if let Ok(ticker) = set_interval_with_handle(
        move || now.set(js_sys::Date::now() as u64),
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || ticker.clear());
    }

    // An invite link opened the app (or was opened in it): join once connected, then forget
    // the token.
    let invite = RwSignal::new(take_invite_token());
    // Whether a join by invite link was sent: its refusal (revoked, expired, banned) is shown
    // above the room, where the person who opened the link looks.
    let joining = RwSignal::new(false);
    // The address follows the room on screen; back, forward and a typed or linked address
    // open the room they name (when the user is in it). (One effect for both: each effect
    // costs first-load bytes.) Not before the session is confirmed: the sign-in form that
    // follows an ended session keeps the address it was opened at.
    let shown_before = StoredValue::new(false);
    Effect::new(move |_| {
        if sync.state.get() == ConnState::Online
            && let Some(token) = invite.get()
        {
            invite.set(None);
            joining.set(true);
            sync.join_by_invite(token);
        }
        if confirmed.get()
            && let Some(room) = sync.current.get()
        {
            // The first room of a visit takes the place of the address it started at.
            route::show_room_in_address(&room, shown_before.get_value());
            shown_before.set_value(true);
            if let Some(me) = sync.me() {
                route::remember_last_room(&me, &room);
            }
        }
    });
    // Phones show the list or the room; wider screens show both.
    let show_list = RwSignal::new(false);
    let hash_listener = window_event_listener(leptos::ev::hashchange, move |_| {
        if let Some(token) = take_invite_token() {
            invite.set(Some(token));
        } else if let Some(room) = route::room_in_address() {
            // A search hit (public/search.js): the room shows that message.
            if let Some(seq) = route::message_in_address() {
                sync.jump_to.set(Some((room.clone(), seq)));
                show_list.set(false);
                route::show_room_in_address(&room, false);
            }
            if sync.current.get_untracked().as_ref() == Some(&room) {
                return;
            }
            if sync.rooms.with_untracked(|r| r.get(&room).is_some()) {
                sync.open(room);
            } else if let Some(current) = sync.current.get_untracked() {
                route::show_room_in_address(&current, false);
            }
        }
    });
    on_cleanup(move || hash_listener.remove());

    // Presence follows whether this tab is in front of the user.
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let doc = document.clone();
        let on_visibility = Closure::<dyn FnMut()>::new(move || {
            sync.set_visible(doc.visibility_state() == web_sys::VisibilityState::Visible);
        });
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            on_visibility.as_ref().unchecked_ref(),
        );
        let listener = send_wrapper::SendWrapper::new((document, on_visibility));
        on_cleanup(move || {
            let (document, closure) = listener.take();
            let _ = document.remove_event_listener_with_callback(
                "visibilitychange",
                closure.as_ref().unchecked_ref(),
            );
        });
    }

    let notifications = RwSignal::new(crate::notify::permission());

    let on_open = Callback::new(move |()| show_list.set(false));
    let on_show_rooms = Callback::new(move |()| show_list.set(true));
    let log_out = move |_| sync.log_out();
    // (Not before the session is confirmed: a sign-in form after an ended session shows none.)
    let title_unread = move || {
        confirmed
            .get()
            .then(|| sync.rooms.with(|r| r.total_unread()))
    };
    Effect::new(move |_| {
        let Some(unread) = title_unread() else {
            return;
        };
        crate::notify::set_badge(unread);
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&if unread > 0 {
                format!("({unread}) Chat")
            } else {
                "Chat".to_owned()
            });
        }
    });

    view! {
        <section class="chat" class:list-open=move || show_list.get()>
            // The first tab stop: straight to writing, past the sidebar.
            <button type="button" class="skip-link" on:click=move |_| {
                show_list.set(false);
                if let Some(el) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("composer"))
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                }
            }>"Skip to message composer"</button>
            <aside class="sidebar">
                <header class="sidebar-top">
                    <span class="whoami">"Signed in as " <strong>{username}</strong></span>
                    <a class="account-link" href="/account.html">"Account"</a>
                    <button type="button" on:click=log_out>"Log out"</button>
                </header>
                // public/push.js (data-part) subscribes this browser to Web Push once allowed.
                <button type="button" class="link enable-notifications" data-part="push"
                    hidden=move || notifications.get() != Permission::NotAsked on:click=move |_| {
                    leptos::task::spawn_local(async move {
                        notifications.set(crate::notify::request().await);
                    });
                }>"Enable notifications"</button>
                // Typing here loads public/search.js (index.html), which searches this device.
                <div class="search" role="search">
                    <label for="search" class="visually-hidden">"Search"</label>
                    <input id="search" type="search" placeholder="Search history" autocomplete="off" />
                </div>
                <RoomNav sync on_open />
                <button type="button" class="link shortcuts-link" aria-haspopup="dialog"
                    data-part="shortcuts">"Keyboard shortcuts"</button>
            </aside>
            <div class="main">
                {move || match (joining.get(), sync.request.get()) {
                    (true, Some(RequestOutcome::Refused(why))) => Some(view! {
                        <p class="error join-error" role="alert">{why} " "
                            <button type="button" class="link" on:click=move |_| {
                                joining.set(false);
                                sync.clear_request();
                            }>"Dismiss"</button>
                        </p>
                    }),
                    _ => None,
                }}
                <CallBanner sync />
                <CallPanel sync />
                {move || match sync.current.get() {
                    Some(room) => view! { <RoomPane sync room now on_show_rooms /> }.into_any(),
                    None => view! {
                        <section class="room-pane">
                            <p class="loading"><span role="status">{move || sync.state.get().label()}</span>
                                {move || sync.state.get().countdown(now.get()).map(|c| view! { " " {c} })}</p>
                        </section>
                    }.into_any(),
                }}
            </div>
        </section>
    }
}
