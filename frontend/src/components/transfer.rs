//! File transfers on screen: the "Send files" button, and one card per transfer in the room
//! with accept / decline, progress with speed and time left, cancel, and the received files
//! (images previewed inline).

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

/// Who a "Send files" in `room` goes to: the other person of a direct conversation, or the
/// members of a group who are connected now (others could not accept).
fn recipients(sync: ChatSync, room: &RoomId) -> Result<Vec<String>, String> {
    let me = sync.me().unwrap_or_default();
    let summary = sync
        .rooms
        .with_untracked(|r| r.get(room).cloned())
        .ok_or_else(|| "This room is not available.".to_owned())?;
    if summary.kind == RoomKind::Direct {
        return Ok(vec![summary.name]);
    }
    let online: Vec<String> = sync.members.with_untracked(|m| {
        m.get(room)
            .map(|list| {
                list.iter()
                    .filter(|m| m.username != me && m.presence != Presence::Offline)
                    .map(|m| m.username.clone())
                    .collect()
            })
            .unwrap_or_default()
    });
    match online.len() {
        0 => Err("Nobody else in this room is online to receive files.".to_owned()),
        n if n > MAX_RECIPIENTS => Err(format!(
            "Files go directly to each person: at most {MAX_RECIPIENTS} at once. Send them in a direct conversation instead."
        )),
        _ => Ok(online),
    }
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
        el.set_value("");
        if files.is_empty() {
            return;
        }
        match room.with_value(|r| recipients(sync, r)) {
            Ok(to) => sync.rtc.send_files(room.get_value(), to, files),
            Err(why) => sync.rtc.problem.set(Some(why)),
        }
    };
    view! {
        <label class="button attach" title="Attach files: they go directly to the other person">
            <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/></svg>
            <span class="visually-hidden">"Attach files"</span>
            <input node_ref=input type="file" multiple=true class="visually-hidden" on:change=on_change />
        </label>
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
