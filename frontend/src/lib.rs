//! The chat's browser client: a Leptos CSR app compiled to WebAssembly.
//!
//! Modules with one job each: [`api`] (account HTTP calls), [`connection`] (the self-healing
//! WebSocket), [`timeline`] (the message list model, no DOM), [`sync`] (keeps a timeline in step
//! with the server), [`components`] (thin views).

pub mod api;
pub mod components;
pub mod connection;
pub mod db;
pub mod format;
pub mod ids;
pub mod notify;
pub mod rooms;
pub mod rtc;
pub mod sync;
pub mod timeline;

/// Mounts the app on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
