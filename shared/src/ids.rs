//! Newtypes for every identifier that crosses the wire.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Server-assigned id of a stored message. Strictly increasing in the order the server
/// accepted messages, so it doubles as the position in a room's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

/// A client-chosen id that makes sending idempotent.
///
/// Contract: the key is (sender, room, client id). A second `Send` with the same key is not
/// stored again; the server answers it with an `Ack` carrying the message stored the first time
/// (same [`MessageId`], same body) and does not broadcast it again. Keys are remembered for as
/// long as the message is, i.e. forever today. At most [`ClientMsgId::MAX_LEN`] characters of
/// `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMsgId(pub String);

impl ClientMsgId {
    pub const MAX_LEN: usize = 64;

    pub fn is_valid(&self) -> bool {
        !self.0.is_empty()
            && self.0.len() <= Self::MAX_LEN
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

/// Name of a room. Only the shared `lobby` exists at this stage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub String);

impl RoomId {
    pub const LOBBY: &'static str = "lobby";

    pub fn lobby() -> Self {
        Self(Self::LOBBY.to_owned())
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_accept_uuid_like_strings_and_reject_the_rest() {
        assert!(ClientMsgId("0f8c2a1e-7d3b-4c5a-9e6f-1a2b3c4d5e6f".into()).is_valid());
        assert!(ClientMsgId("a_B-9".into()).is_valid());
        assert!(!ClientMsgId(String::new()).is_valid());
        assert!(!ClientMsgId("has space".into()).is_valid());
        assert!(!ClientMsgId("é".into()).is_valid());
        assert!(!ClientMsgId("x".repeat(65)).is_valid());
    }
}
