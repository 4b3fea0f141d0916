//! File transfers on screen: the "Send files" button, and one card per transfer in the room
//! with accept / decline, progress with speed and time left, cancel, and the received files
//! (images previewed inline).

use crate::connection::ConnState;
use crate::rtc::{Stage, TransferView};
use crate::sync::ChatSync;
use leptos::html;
use leptos::prelude::*;
use shared::RoomId;
use shared::rooms::{Presence, RoomKind};

/// Most people one "Send files" reaches in a group: each gets their own direct connection.
const MAX_RECIPIENTS: usize = 10;
/// Received images up to this size are previewed inline.
const PREVIEW_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// "532 B", "1.5 MB": decimal units, one decimal place. Integer arithmetic on purpose: float
/// formatting would add several KB of code to the WebAssembly for this one label.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut unit = 0;
    let mut scale: u64 = 1;
    while bytes / scale >= 1000 && unit + 1 < UNITS.len() {
        scale *= 1000;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let tenths = (u128::from(bytes) * 10 + u128::from(scale / 2)) / u128::from(scale);
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

fn human_duration(seconds: f64) -> String {
    let s = seconds.ceil() as u64;
    if s >= 3600 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// Who the files chosen in `room` go to directly: everyone else in the room, when this tab is
/// connected and all of them are too, and they are few. Otherwise (`None`) they are left on
/// the server (public/upload.js), where each finds them whenever they come.
fn direct_recipients(sync: ChatSync, room: &RoomId) -> Option<Vec<String>> {
    if sync.state.get_untracked() != ConnState::Online {
        return None;
    }
    let me = sync.me()?;
    let summary = sync.rooms.with_untracked(|r| r.get(room).cloned())?;
    let others: Vec<String> = if summary.kind == RoomKind::Direct {
        vec![summary.name]
    } else {
        sync.members.with_untracked(|m| {
            m.get(room).map(|list| {
                list.iter()
                    .filter(|m| m.username != me)
                    .map(|m| m.username.clone())
                    .collect()
            })
        })?
    };
    let online = sync.presence.with_untracked(|p| {
        others
            .iter()
            .all(|o| p.get(o).is_some_and(|s| *s != Presence::Offline))
    });
    (online && !others.is_empty() && others.len() <= MAX_RECIPIENTS).then_some(others)
}

#[component]
pub fn SendFilesButton(sync: ChatSync, room: RoomId) -> impl IntoView {
    let input: NodeRef<html::Input> = NodeRef::new();
    let room = StoredValue::new(room);
    let on_change = move |_| {
        let Some(el) = input.get_untracked() else {
            return;
        };
        let files: Vec<web_sys::File> = el
            .files()
            .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            match room.with_value(|r| direct_recipients(sync, r)) {
                Some(to) => sync.rtc.send_files(room.get_value(), to, files),
                // index.html hands the chosen files to public/upload.js.
                None => {
                    if let Ok(leave) = web_sys::Event::new("leave") {
                        let _ = el.dispatch_event(&leave);
                    }
                }
            }
        }
        el.set_value("");
    };
    view! {
        <label class="button attach" title="Attach files: directly to people who are online, kept on the server for the others">
            <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/></svg>
            <span class="visually-hidden">"Attach files"</span>
            <input node_ref=input type="file" multiple=true class="visually-hidden" data-room=room.get_value().0 on:change=on_change />
        </label>
        // public/upload.js records it and leaves it on the server for the room.
        <button type="button" class="button attach" data-part="upload" data-room=room.get_value().0 aria-pressed="false">
            <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z"/></svg>
            <span class="visually-hidden">"Record a voice note"</span>
        </button>
    }
}

#[component]
pub fn TransferList(sync: ChatSync, room: RoomId) -> impl IntoView {
    let room = StoredValue::new(room);
    let ids = move || {
        sync.rtc.transfers.with(|all| {
            all.iter()
                .filter(|t| room.with_value(|r| &t.room == r))
                .map(|t| t.id.clone())
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="transfers" aria-label="File transfers" hidden=move || ids().is_empty()>
            <For each=ids key=|id| id.clone() children=move |id| view! { <TransferCard sync id /> } />
        </section>
    }
}

#[component]
fn TransferCard(sync: ChatSync, id: String) -> impl IntoView {
    let rtc = sync.rtc;
    let id = StoredValue::new(id);
    let view_of = Memo::new(move |_| {
        rtc.transfers
            .with(|all| id.with_value(|id| all.iter().find(|t| &t.id == id).cloned()))
    });
    move || {
        view_of.get().map(|t| {
            let heading = heading(&t);
            let stage = t.stage.clone();
            let stage_name = stage.name();
            let showing_progress = matches!(stage, Stage::Moving | Stage::Resuming);
            // Per mille in integers: formatting a float would pull float printing into the wasm.
            let permille = (u128::from(t.done_bytes) * 1000)
                .checked_div(u128::from(t.total_bytes))
                .unwrap_or(1000);
            let detail = detail(&t);
            let moving = matches!(stage, Stage::Connecting | Stage::Moving | Stage::Resuming | Stage::Waiting);
            view! {
                <article class="transfer" data-stage=stage_name>
                    <p class="transfer-title">{heading}</p>
                    <ul class="transfer-files">
                        {t.files.iter().enumerate().map(|(i, f)| {
                            let saved = t.saved.get(i).cloned().flatten();
                            let preview = saved.clone().filter(|_| f.is_image() && f.size <= PREVIEW_MAX_BYTES);
                            let name = f.safe_name();
                            view! {
                                <li>
                                    {match saved {
                                        Some(url) => view! {
                                            <a href=url download=name.clone()>{format!("Save {name}")}</a>
                                        }.into_any(),
                                        None => view! { <span>{name.clone()}</span> }.into_any(),
                                    }}
                                    <span class="size">{format!(" · {}", human_bytes(f.size))}</span>
                                    {preview.map(|url| view! { <img class="preview" src=url alt=name.clone() /> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {showing_progress.then(|| view! {
                        <progress max="1000" value=permille.to_string() aria-label="Transfer progress"></progress>
                    })}
                    <p class="transfer-detail" role="status">{detail}</p>
                    <div class="transfer-actions">
                        {(t.stage == Stage::Offered).then(|| view! {
                            <button type="button" class="primary" on:click=move |_| id.with_value(|id| rtc.accept_transfer(id))>"Accept"</button>
                            <button type="button" on:click=move |_| id.with_value(|id| rtc.decline_transfer(id))>"Decline"</button>
                        })}
                        {moving.then(|| view! {
                            <button type="button" on:click=move |_| id.with_value(|id| rtc.cancel_transfer(id))>"Cancel"</button>
                        })}
                        {t.stage.is_over().then(|| view! {
                            <button type="button" class="link" on:click=move |_| id.with_value(|id| rtc.dismiss_transfer(id))>"Close"</button>
                        })}
                    </div>
                </article>
            }
        })
    }
}

fn heading(t: &TransferView) -> String {
    let count = match t.files.len() {
        1 => "a file".to_owned(),
        n => format!("{n} files"),
    };
    if t.outgoing {
        format!("Sending {count} to {}", t.peer)
    } else {
        format!("{} sends you {count}", t.peer)
    }
}

fn detail(t: &TransferView) -> String {
    let total = human_bytes(t.total_bytes);
    match &t.stage {
        Stage::Offered => format!("{total}. Accept to receive it directly from {}.", t.peer),
        Stage::Waiting => format!("Waiting for {} to accept…", t.peer),
        Stage::Connecting => "Connecting…".to_owned(),
        Stage::Moving => {
            let mut text = format!("{} of {total}", human_bytes(t.done_bytes));
            if t.bytes_per_sec > 0.0 {
                text.push_str(&format!(" · {}/s", human_bytes(t.bytes_per_sec as u64)));
            }
            if let Some(left) = t.seconds_left() {
                text.push_str(&format!(" · {} left", human_duration(left)));
            }
            text
        }
        Stage::Resuming => format!(
            "Connection lost at {} of {total}. Resuming…",
            human_bytes(t.done_bytes)
        ),
        Stage::Done if t.outgoing => format!("Delivered to {} and verified.", t.peer),
        Stage::Done => format!("Received {total}, verified (SHA-256)."),
        Stage::Declined if t.outgoing => format!("{} declined.", t.peer),
        Stage::Declined => "Declined.".to_owned(),
        Stage::Cancelled => "Cancelled.".to_owned(),
        Stage::Failed(why) => why.clone(),
    }
}
