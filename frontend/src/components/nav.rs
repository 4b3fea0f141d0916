//! The sidebar: the room list (unread counts, presence of DM partners, last message) and the
//! two ways to start a conversation.

use super::forms::{UsernameForm, request_error};
use crate::sync::{ChatSync, RequestOutcome};
use leptos::prelude::*;
use shared::limits::check_room_name;
use shared::rooms::{Presence, RoomKind, RoomSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Closed,
    NewRoom,
    NewDirect,
}

#[component]
pub fn RoomNav(sync: ChatSync, on_open: Callback<()>) -> impl IntoView {
    let panel = RwSignal::new(Panel::Closed);
    let toggle = move |which: Panel| {
        sync.clear_request();
        panel.update(|p| *p = if *p == which { Panel::Closed } else { which });
    };
    // A finished request closes its panel; a refusal stays visible in it.
    Effect::new(move |_| {
        if sync.request.get() == Some(RequestOutcome::Done)
            && panel.get_untracked() != Panel::Closed
        {
            panel.set(Panel::Closed);
            sync.clear_request();
            on_open.run(());
        }
    });
    view! {
        <nav class="rooms" aria-label="Rooms">
            <div class="nav-actions">
                <button type="button" aria-expanded=move || (panel.get() == Panel::NewRoom).to_string()
                    on:click=move |_| toggle(Panel::NewRoom)>"New room"</button>
                <button type="button" aria-expanded=move || (panel.get() == Panel::NewDirect).to_string()
                    on:click=move |_| toggle(Panel::NewDirect)>"New direct message"</button>
            </div>
            {move || match panel.get() {
                Panel::Closed => ().into_any(),
                Panel::NewRoom => view! { <NewRoomForm sync panel /> }.into_any(),
                Panel::NewDirect => view! { <NewDirectForm sync panel /> }.into_any(),
            }}
            <ul class="room-list">
                <For
                    each=move || sync.rooms.with(|r| r.all().to_vec())
                    // Any change redraws the link: its JSON (the same code that stores the
                    // room list), not a Debug string, which would cost the first load.
                    key=|room| serde_json::to_string(room).unwrap_or_default()
                    children=move |room| view! { <RoomLink sync room on_open /> }
                />
            </ul>
        </nav>
    }
}

#[component]
fn RoomLink(sync: ChatSync, room: RoomSummary, on_open: Callback<()>) -> impl IntoView {
    let id = room.id.clone();
    let active_id = StoredValue::new(room.id.clone());
    let active = move || {
        sync.current
            .with(|c| active_id.with_value(|id| c.as_ref() == Some(id)))
    };
    let direct = room.kind == RoomKind::Direct;
    let peer = StoredValue::new(room.name.clone());
    let presence = move || {
        sync.presence
            .with(|p| peer.with_value(|peer| p.get(peer).copied()))
            .unwrap_or(Presence::Offline)
    };
    let dot_class = move || match presence() {
        Presence::Online => "dot online",
        Presence::Away => "dot away",
        Presence::Offline => "dot offline",
    };
    let (label, picture) = if direct {
        (room.name.clone(), format!("/api/avatars/{}", room.name))
    } else {
        (
            format!("# {}", room.name),
            format!("/api/rooms/{}/avatar", room.id.0),
        )
    };
    let preview = room.last_message.as_ref().map(|m| {
        if m.deleted {
            format!("{}: message deleted", m.sender)
        } else {
            format!("{}: {}", m.sender, crate::format::plain_text(&m.text))
        }
    });
    let unread = room.unread;
    let unread_label = if unread > 998 {
        "999+".to_owned()
    } else {
        unread.to_string()
    };
    let mentioned = room.unread_mentions > 0;
    view! {
        <li>
            <button type="button" class="room-link" class:active=active
                aria-current=move || active().then_some("page")
                on:click=move |_| {
                    sync.open(id.clone());
                    on_open.run(());
                }>
                <span class="room-name">
                    <img class="avatar" src=picture alt="" />
                    {direct.then(|| view! {
                        <span class=dot_class title=move || match presence() {
                            Presence::Online => "Online",
                            Presence::Away => "Away",
                            Presence::Offline => "Offline",
                        }></span>
                    })}
                    <span class="label">{label}</span>
                    {(unread > 0).then(|| view! {
                        <span class="badge" class:mention=mentioned>
                            {unread_label}<span class="visually-hidden">" unread"</span>
                        </span>
                    })}
                </span>
                {preview.map(|p| view! { <span class="preview">{p}</span> })}
            </button>
        </li>
    }
}

#[component]
fn NewRoomForm(sync: ChatSync, panel: RwSignal<Panel>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = name.get_untracked();
        if let Err(why) = check_room_name(&value) {
            problem.set(Some(why.explain()));
            return;
        }
        problem.set(None);
        sync.create_room(value.trim().to_owned());
    };
    // A form that appears on a click takes the keyboard (autofocus works only at page load);
    // Escape closes it like Cancel.
    super::focus("new-room-name");
    view! {
        <form class="panel" on:submit=submit on:keydown=move |ev| {
            if ev.key() == "Escape" {
                panel.set(Panel::Closed);
            }
        }>
            <label for="new-room-name">"Room name"</label>
            <input id="new-room-name" autocomplete="off" maxlength="64" bind:value=name autofocus />
            <div class="panel-actions">
                <button type="submit" class="primary"
                    disabled=move || sync.request.get() == Some(RequestOutcome::Waiting)>"Create"</button>
                <button type="button" on:click=move |_| panel.set(Panel::Closed)>"Cancel"</button>
            </div>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            {request_error(sync)}
        </form>
    }
}

#[component]
fn NewDirectForm(sync: ChatSync, panel: RwSignal<Panel>) -> impl IntoView {
    view! {
        <UsernameForm sync id="direct-user" submit_label="Start" class="panel"
            on_submit=Callback::new(move |user| sync.open_direct(user))
            on_cancel=Callback::new(move |()| panel.set(Panel::Closed)) />
    }
}
