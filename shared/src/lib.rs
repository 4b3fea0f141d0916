//! The wire contract between the chat server (`signaling`) and the browser client (`frontend`).
//!
//! Depends on serde alone so it compiles unchanged for native and wasm32. Two one-way enums carry
//! the WebSocket traffic ([`ws::ClientMessage`] up, [`ws::ServerMessage`] down); [`api`] holds the
//! JSON bodies of the HTTP account endpoints; [`limits`] holds the validation both sides apply,
//! so the client can explain a problem before the server has to reject it.

pub mod admin;
pub mod api;
pub mod calls;
pub mod events;
pub mod ids;
pub mod limits;
pub mod rooms;
pub mod transfer;
pub mod wire;
pub mod ws;

pub use ids::{ClientMsgId, RoomId, Seq};
