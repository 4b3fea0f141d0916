//! Newtypes for every identifier that crosses the wire.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Position of an event in its room's timeline: 1 for the room's first event, then +1 for every
/// event, with no gaps. A message is identified by (room, seq). A client that has applied every
/// event up to `n` resumes with `catch_up { after: n }`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub i64);

impl Seq {
    /// For `skip_serializing_if`: a seq of 0 names no event.
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

/// A client-chosen id that makes sending idempotent.
///
/// Contract: every request that adds an event to a room carries one. The key is (sender,
/// client id) and is bound to the room the first request named: a second request with the same
/// key is not applied again; the server answers it with an `Ack` carrying the event stored the
/// first time (same room, same [`Seq`]) and broadcasts nothing. Reusing a key for another room
/// is refused. Keys are remembered as long as the event is, i.e. forever, so this holds across
/// reconnects and server restarts. At most [`ClientMsgId::MAX_LEN`] characters of
/// `[A-Za-z0-9_-]`; clients use 128 random bits.
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

/// Opaque id of a room or direct conversation. `lobby` is the room every account joins at
/// sign-up; the server names other rooms with 64 random bits in hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub String);

impl RoomId {
    pub const LOBBY: &'static str = "lobby";

    pub fn lobby() -> Self {
        Self(Self::LOBBY.to_owned())
    }

    /// The room every account joins.
    pub fn is_lobby(&self) -> bool {
        self.0 == Self::LOBBY
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Seq {
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
