//! Server frames as they go on the wire. Encoded once, below the socket layer, by whatever
//! sends them (the commit task, presence, the request handlers), and shared by every socket
//! that receives the same frame.

use axum::extract::ws::Utf8Bytes;
use shared::ws::ServerMessage;

/// A frame outside [`ServerMessage`] (a `notice`, which the wasm client does not read).
pub fn encode_value(message: &impl serde::Serialize) -> Utf8Bytes {
    serde_json::to_string(message)
        .expect("protocol types always serialize")
        .into()
}

pub fn encode(message: &ServerMessage) -> Utf8Bytes {
    encode_value(message)
}
