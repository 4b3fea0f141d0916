//! What nodes tell each other on NATS: one JSON envelope per message, naming the node that sent
//! it (a node skips its own) and carrying frames already encoded for the sockets.

use crate::hub::Audience;
use crate::store::UserId;
use serde::{Deserialize, Serialize};
use shared::rooms::Presence;
use shared::{RoomId, Seq};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub node: u64,
    #[serde(flatten)]
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Body {
    /// A stored room event, after its commit.
    Event {
        room: RoomId,
        seq: Seq,
        frame: String,
    },
    /// An ephemeral frame (typing, receipts, call signals).
    Frame { to: To, frame: String },
    Membership {
        user: i64,
        room: RoomId,
        joined: bool,
    },
    /// Close the sockets of this session (hex of its hash).
    Disconnect { session: String },
    /// One user's presence on the sending node changed.
    Presence {
        user: i64,
        name: String,
        status: Presence,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seen: Option<i64>,
    },
    /// Every user present on the sending node, sent every few seconds: a node that joins
    /// learns who is around, and one that stops sending it is taken to be gone.
    Present { users: Vec<(i64, String, Presence)> },
}

/// [`Audience`] as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum To {
    Room(RoomId),
    Rooms(Vec<RoomId>),
    User(i64),
}

impl From<&Audience> for To {
    fn from(audience: &Audience) -> Self {
        match audience {
            Audience::Room(r) => Self::Room(r.clone()),
            Audience::Rooms(r) => Self::Rooms(r.clone()),
            Audience::User(u) => Self::User(u.0),
        }
    }
}

impl From<To> for Audience {
    fn from(to: To) -> Self {
        match to {
            To::Room(r) => Self::Room(r),
            To::Rooms(r) => Self::Rooms(r),
            To::User(u) => Self::User(UserId(u)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_survive_the_trip() {
        for body in [
            Body::Event {
                room: RoomId::lobby(),
                seq: Seq(4),
                frame: r#"{"type":"event"}"#.into(),
            },
            Body::Frame {
                to: To::Rooms(vec![RoomId::lobby()]),
                frame: "x".into(),
            },
            Body::Presence {
                user: 3,
                name: "ann".into(),
                status: Presence::Away,
                seen: None,
            },
            Body::Present {
                users: vec![(1, "bo".into(), Presence::Online)],
            },
        ] {
            let envelope = Envelope { node: 9, body };
            let json = serde_json::to_vec(&envelope).unwrap();
            assert_eq!(serde_json::from_slice::<Envelope>(&json).unwrap(), envelope);
        }
    }
}
