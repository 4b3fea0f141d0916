//! The chat's browser client: a Leptos CSR app compiled to WebAssembly.
//!
//! Modules with one job each: [`api`] (account HTTP calls), [`connection`] (the self-healing
//! WebSocket), [`sync`] (keeps the timelines in step with the server and IndexedDB),
//! [`components`] (thin views). The models without I/O (timelines, the room list, message
//! formatting) are in the `client-core` crate.

pub mod api;
pub mod components;
pub mod connection;
pub mod db;
pub mod ids;
pub mod notify;
pub mod route;
pub mod rtc;
pub mod sync;

// The logic without I/O lives in the client core; re-exported under its old paths.
pub use client_core::{format, rooms, timeline};

/// Mounts the app on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
