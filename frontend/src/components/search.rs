//! Search across the history stored on this device.

use crate::sync::ChatSync;
use leptos::prelude::*;

/// Results shown at most.
const RESULTS: usize = 30;

#[component]
pub fn Search(sync: ChatSync, on_open: Callback<()>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Vec<(shared::RoomId, String, String)>>);
    let run = move || {
        let text = query.get_untracked().trim().to_owned();
        if text.is_empty() {
            results.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            let found = sync.search(&text, RESULTS).await;
            let named = found
                .into_iter()
                .map(|(room, entry)| {
                    let name = sync
                        .rooms
                        .with_untracked(|r| r.get(&room).map(|r| r.name.clone()))
                        .unwrap_or_else(|| room.0.clone());
                    (room, name, format!("{}: {}", entry.sender, entry.body))
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
                        {found.into_iter().map(|(room, name, text)| view! {
                            <li>
                                <button type="button" class="room-link" on:click=move |_| {
                                    query.set(String::new());
                                    results.set(None);
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
