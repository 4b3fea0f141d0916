//! The chat client's logic without I/O, shared by the browser client (`frontend`) and native
//! clients, and tested with plain `cargo test`: a room's timeline and its resync cursor
//! ([`timeline`]), the room list ([`rooms`]), message formatting ([`format`]), and the
//! file-transfer protocol's sender and receiver ([`transfer`], also driven by the native peer).
//! Drivers feed them events and render, store or send what they report.

pub mod format;
pub mod rooms;
pub mod timeline;
pub mod transfer;
