//! Search across the history stored on this device.

use crate::format::plain_text;
use crate::sync::ChatSync;
use leptos::prelude::*;

/// Results shown at most.
const RESULTS: usize = 30;
/// Typing pause before a search runs.
const SEARCH_PAUSE_MS: i32 = 200;

/// Resolves after `ms` milliseconds.
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[component]
pub fn Search(sync: ChatSync, on_open: Callback<()>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Vec<(shared::RoomId, Option<shared::Seq>, String, String)>>);
    // Each keystroke starts a search after a pause; only the newest one may show its results.
    let generation = StoredValue::new(0u64);
    let run = move || {
        let text = query.get_untracked().trim().to_owned();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        if text.is_empty() {
            results.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            sleep_ms(SEARCH_PAUSE_MS).await;
            if generation.get_value() != mine {
                return;
            }
            let found = sync.search(&text, RESULTS).await;
            if generation.get_value() != mine {
                return;
            }
            let named = found
                .into_iter()
                .map(|(room, entry)| {
                    let name = sync
                        .rooms
                        .with_untracked(|r| r.get(&room).map(|r| r.name.clone()))
                        .unwrap_or_else(|| room.0.clone());
                    let text = format!("{}: {}", entry.sender, plain_text(&entry.body));
                    (room, entry.id, name, text)
                })
                .collect();
            results.set(Some(named));
        });
    };
    view! {
        <form class="search" role="search" on:submit=move |ev| {
            ev.prevent_default();
            run();
        }>
            <label for="search" class="visually-hidden">"Search"</label>
            <input id="search" type="search" placeholder="Search history" autocomplete="off"
                bind:value=query
                on:input=move |_| run()
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        query.set(String::new());
                        results.set(None);
                    }
                } />
        </form>
        {move || results.get().map(|found| {
            if found.is_empty() {
                view! { <p class="search-empty">"Nothing found on this device."</p> }.into_any()
            } else {
                view! {
                    <ul class="search-results" aria-label="Search results">
                        {found.into_iter().map(|(room, seq, name, text)| view! {
                            <li>
                                <button type="button" class="room-link" on:click=move |_| {
                                    query.set(String::new());
                                    results.set(None);
                                    sync.jump_to.set(seq.map(|seq| (room.clone(), seq)));
                                    sync.open(room.clone());
                                    on_open.run(());
                                }>
                                    <span class="room-name"><span class="label">{name}</span></span>
                                    <span class="preview">{text}</span>
                                </button>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }
        })}
    }
}
