//! The chat client's logic without I/O, shared by the browser client (`frontend`) and native
//! clients, and tested with plain `cargo test`: a room's timeline and its resync cursor
//! ([`timeline`]), the room list ([`rooms`]), and message formatting ([`format`]). Drivers
//! feed them events and render or store what they report.

pub mod format;
pub mod rooms;
pub mod timeline;
pub mod transfer;
