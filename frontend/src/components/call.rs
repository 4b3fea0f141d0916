//! Calls on screen: the ring / join banner for calls in my rooms, the start buttons in a room's
//! header, and the call panel with one tile per participant and the controls.

use crate::rtc::{CallView, Link, PeerView, Rtc};
use crate::sync::ChatSync;
use leptos::html;
use leptos::prelude::*;
use shared::RoomId;
use shared::rooms::RoomKind;

/// "Voice call" and "Video call" in a room's header; hidden while a call goes on there.
#[component]
pub fn CallButtons(sync: ChatSync, room: RoomId) -> impl IntoView {
    let rtc = sync.rtc;
    let room = StoredValue::new(room);
    let busy = move || {
        room.with_value(|r| rtc.calls.with(|c| c.contains_key(r)))
            || rtc.active.with(Option::is_some)
    };
    view! {
        <button type="button" class="icon-button" title="Start a voice call" hidden=busy
                on:click=move |_| rtc.start_call(room.get_value(), false)>
                <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z"/></svg>
                "Voice call"
            </button>
            <button type="button" class="icon-button" title="Start a video call" hidden=busy
                on:click=move |_| rtc.start_call(room.get_value(), true)>
                <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z"/></svg>
                "Video call"
            </button>
    }
}

/// A call I could join: ringing (only the caller is in it) or in progress.
#[derive(Debug, Clone, PartialEq)]
struct Invitation {
    room: RoomId,
    place: String,
    call: String,
    video: bool,
    caller: String,
    participants: Vec<String>,
}

/// Calls in my rooms that I am not in and did not wave away.
#[component]
pub fn CallBanner(sync: ChatSync) -> impl IntoView {
    let rtc = sync.rtc;
    let me = sync.me().unwrap_or_default();
    let invitations = Memo::new(move |_| {
        let active = rtc.active.with(|a| a.as_ref().map(|a| a.call.clone()));
        let mut found: Vec<Invitation> = rtc.calls.with(|calls| {
            calls
                .iter()
                .filter(|(_, c)| !c.participants.contains(&me))
                .filter(|(_, c)| Some(&c.call) != active.as_ref())
                .filter(|(_, c)| rtc.dismissed.with(|d| !d.contains(&c.call)))
                .map(|(room, c)| Invitation {
                    room: room.clone(),
                    place: sync.rooms.with(|r| match r.get(room) {
                        Some(s) if s.kind == RoomKind::Group => format!(" in #{}", s.name),
                        _ => String::new(),
                    }),
                    call: c.call.clone(),
                    video: c.video,
                    caller: c.caller.clone(),
                    participants: c.participants.clone(),
                })
                .collect()
        });
        found.sort_by(|a, b| a.call.cmp(&b.call));
        found
    });
    view! {
        // Few and rarely changing: drawn again when the list changes, no keyed list needed.
        {move || invitations.get().into_iter().map(|i| {
            let ringing = i.participants.len() == 1 && i.participants[0] == i.caller;
            let kind = if i.video { "video call" } else { "voice call" };
            let text = if ringing {
                format!("{} is calling you ({kind}){}", i.caller, i.place)
            } else {
                format!("A {kind} is going on{} with {}", i.place, i.participants.join(", "))
            };
            let accept_label = if ringing { "Accept" } else { "Join" };
            let decline_label = if ringing { "Decline" } else { "Dismiss" };
            let (room, call, video) = (i.room.clone(), i.call.clone(), i.video);
            let accept = move |_| {
                sync.open(room.clone());
                rtc.join_call(room.clone(), call.clone(), video);
            };
            let (room, call) = (i.room.clone(), i.call.clone());
            let decline = move |_| {
                if ringing {
                    rtc.decline_call(room.clone(), call.clone());
                } else {
                    rtc.dismissed.update(|d| { d.insert(call.clone()); });
                }
            };
            view! {
                <div class="call-banner" class:ringing=ringing role="alert">
                    <span>{text}</span>
                    <button type="button" class="primary" on:click=accept>{accept_label}</button>
                    <button type="button" on:click=decline>{decline_label}</button>
                </div>
            }
        }).collect::<Vec<_>>()}
        {move || rtc.problem.get().map(|why| view! {
            <div class="call-problem" role="alert">
                <span>{why}</span>
                <button type="button" class="link" on:click=move |_| rtc.problem.set(None)>"Dismiss"</button>
            </div>
        })}
    }
}

/// The call I am in: tiles and controls. Built once per call; tiles update in place so their
/// video elements keep playing.
#[component]
pub fn CallPanel(sync: ChatSync) -> impl IntoView {
    let rtc = sync.rtc;
    let me = StoredValue::new(sync.me().unwrap_or_default());
    let call_id = Memo::new(move |_| rtc.active.with(|a| a.as_ref().map(|a| a.call.clone())));
    view! {
        {move || call_id.get().map(|_| view! { <ActiveCall sync me=me.get_value() /> })}
    }
}

fn with_call<T: Default>(rtc: Rtc, read: impl FnOnce(&CallView) -> T) -> T {
    rtc.active
        .with(|a| a.as_ref().map(read))
        .unwrap_or_default()
}

#[component]
fn ActiveCall(sync: ChatSync, me: String) -> impl IntoView {
    let rtc = sync.rtc;
    let status = move || {
        with_call(rtc, |c| {
            if !c.joined {
                "Connecting…".to_owned()
            } else if c.peers.is_empty() && !c.answered {
                "Ringing…".to_owned()
            } else if c.peers.is_empty() {
                "Everyone else left the call".to_owned()
            } else {
                format!("In call · {} people", c.peers.len() + 1)
            }
        })
    };
    let title = move || {
        with_call(rtc, |c| {
            let kind = if c.video { "Video call" } else { "Voice call" };
            let place = sync.rooms.with(|r| match r.get(&c.room) {
                Some(s) if s.kind == RoomKind::Group => format!(" · #{}", s.name),
                Some(s) => format!(" · {}", s.name),
                None => String::new(),
            });
            format!("{kind}{place}")
        })
    };
    let mic_on = move || with_call(rtc, |c| c.mic_on);
    let camera_on = move || with_call(rtc, |c| c.camera_on);
    let sharing = move || with_call(rtc, |c| c.sharing);
    let notice = move || with_call(rtc, |c| c.notice.clone());
    let names = move || {
        with_call(rtc, |c| {
            c.peers.iter().map(|p| p.name.clone()).collect::<Vec<_>>()
        })
    };
    view! {
        <section class="call" aria-label="Call">
            <header class="call-top">
                <strong>{title}</strong>
                <span class="call-status" role="status">{status}</span>
            </header>
            {move || notice().map(|n| view! { <p class="call-notice" role="status">{n}</p> })}
            <div class="tiles">
                <LocalTile rtc name=me />
                <For each=names key=|n| n.clone() children=move |name| view! { <RemoteTile rtc name /> } />
            </div>
            <div class="call-controls">
                <button type="button" aria-pressed=move || (!mic_on()).to_string()
                    on:click=move |_| rtc.toggle_mic()>
                    {move || if mic_on() { "Mute" } else { "Unmute" }}
                </button>
                <button type="button" aria-pressed=move || camera_on().to_string()
                    on:click=move |_| rtc.toggle_camera()>
                    {move || if camera_on() { "Camera off" } else { "Camera on" }}
                </button>
                <button type="button" aria-pressed=move || sharing().to_string()
                    on:click=move |_| rtc.toggle_screen()>
                    {move || if sharing() { "Stop sharing" } else { "Share screen" }}
                </button>
                <button type="button" class="danger" on:click=move |_| rtc.hang_up()>"Hang up"</button>
            </div>
        </section>
    }
}

/// The first letter in upper case, by the browser's own Unicode tables (Rust's would add
/// them to the first load).
fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| js_sys::JsString::from(c.to_string()).to_upper_case().into())
        .unwrap_or_default()
}

#[component]
fn LocalTile(rtc: Rtc, name: String) -> impl IntoView {
    let video: NodeRef<html::Video> = NodeRef::new();
    let rev = Memo::new(move |_| with_call(rtc, |c| c.local_rev));
    let showing = move || with_call(rtc, |c| c.camera_on || c.sharing);
    let speaking = move || with_call(rtc, |c| c.me_speaking);
    let muted = move || with_call(rtc, |c| !c.mic_on);
    Effect::new(move |_| {
        // `get`, not `track`: a memo nobody read yet has no sources to notify it.
        let _ = rev.get();
        if let Some(el) = video.get() {
            el.set_src_object(rtc.local_preview().as_ref());
        }
    });
    let letter = initial(&name);
    view! {
        <figure class="tile self" class:speaking=speaking data-user=name.clone()>
            // My own preview is always muted: hearing yourself echo is worse than useless.
            <video node_ref=video autoplay=true playsinline=true prop:muted=true class:hidden=move || !showing()></video>
            <span class="avatar" aria-hidden="true" hidden=showing>{letter.clone()}</span>
            <figcaption>
                {format!("{name} (you)")}
                <span class="muted-mark" hidden=move || !muted()>" · muted"</span>
            </figcaption>
        </figure>
    }
}

#[component]
fn RemoteTile(rtc: Rtc, name: String) -> impl IntoView {
    let video: NodeRef<html::Video> = NodeRef::new();
    let who = StoredValue::new(name.clone());
    let peer = Memo::new(move |_| {
        rtc.active.with(|a| {
            a.as_ref()
                .and_then(|c| who.with_value(|w| c.peers.iter().find(|p| &p.name == w).cloned()))
        })
    });
    let rev = Memo::new(move |_| peer.with(|p| p.as_ref().map_or(0, |p| p.stream_rev)));
    Effect::new(move |_| {
        // `get`, not `track`: a memo nobody read yet has no sources to notify it.
        let _ = rev.get();
        if let Some(el) = video.get() {
            el.set_src_object(who.with_value(|w| rtc.remote_stream(w)).as_ref());
            // Rejected when the tile goes away mid-start; nothing to do then.
            if let Ok(started) = el.play() {
                leptos::task::spawn_local(async move {
                    let _ = wasm_bindgen_futures::JsFuture::from(started).await;
                });
            }
        }
    });
    let read =
        move |f: fn(&PeerView) -> String| peer.with(|p| p.as_ref().map(f).unwrap_or_default());
    let live = move || peer.with(|p| p.as_ref().is_some_and(|p| p.video_live));
    let speaking = move || peer.with(|p| p.as_ref().is_some_and(|p| p.speaking));
    let muted = move || peer.with(|p| p.as_ref().is_some_and(|p| p.muted));
    let link = move || {
        peer.with(|p| match p.as_ref().map(|p| p.link) {
            Some(Link::Connecting) => " · Connecting…",
            Some(Link::Reconnecting) => " · Reconnecting…",
            _ => "",
        })
    };
    let letter = initial(&name);
    let user = name.clone();
    view! {
        <figure class="tile" class:speaking=speaking data-user=user
            data-frames-decoded=move || read(|p| p.frames_decoded.to_string())
            data-link=move || peer.with(|p| match p.as_ref().map(|p| p.link) {
                Some(Link::Connecting) | None => "connecting",
                Some(Link::Connected) => "connected",
                Some(Link::Reconnecting) => "reconnecting",
            })>
            <video node_ref=video autoplay=true playsinline=true class:hidden=move || !live()></video>
            <span class="avatar" aria-hidden="true" hidden=live>{letter.clone()}</span>
            <figcaption>{name}<span class="muted-mark" hidden=move || !muted()>" · muted"</span>
                <span class="link-state">{link}</span></figcaption>
        </figure>
    }
}
