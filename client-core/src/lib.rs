//! The chat client's logic without I/O, shared by the browser client (`frontend`) and native
//! clients, and tested with plain `cargo test`: the client as a state machine ([`client`]:
//! frames, timers and the user's actions in; frames to send, storage writes and view updates
//! out), the send queue ([`outbox`]), a room's timeline and its resync cursor ([`timeline`]),
//! the room list ([`rooms`]), message formatting ([`format`]), what a device's storage must do
//! with the writes ([`store`], with an in-memory implementation for native clients and tests),
//! and the file-transfer protocol's sender and receiver ([`transfer`], also driven by the
//! native peer). Drivers feed them events and render, store or send what they report.

pub mod client;
pub mod format;
pub mod outbox;
pub mod rooms;
pub mod store;
pub mod timeline;
pub mod transfer;
