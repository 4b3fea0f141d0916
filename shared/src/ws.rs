//! WebSocket messages, one JSON object per text frame, tagged by `"type"`.
//!
//! A socket is authenticated by the session cookie during the HTTP upgrade, so the first frame
//! the client receives is always [`ServerMessage::Welcome`]. After that the client may send any
//! [`ClientMessage`]. A frame the server cannot parse or accept gets a [`ServerMessage::Error`]
//! and the connection stays open.

use crate::ids::{ClientMsgId, MessageId, RoomId};
use serde::{Deserialize, Serialize};

/// Close codes the server uses besides the standard ones (1001 going away on shutdown, 1009
/// message too big, 1011 internal error).
pub mod close {
    /// The session was logged out: do not reconnect, show the log-in screen.
    pub const LOGGED_OUT: u16 = 4001;
    /// Nothing arrived for [`IDLE_TIMEOUT_SECS`]: the client's pings stopped. Generous because
    /// browsers run a hidden tab's timers only once a minute.
    pub const IDLE: u16 = 4002;
    /// The client did not read its messages fast enough; reconnect and reload history.
    pub const TOO_SLOW: u16 = 4003;
    /// Seconds of silence after which the server closes a socket. Clients ping well within it.
    pub const IDLE_TIMEOUT_SECS: u64 = 150;
}

/// A message as stored and delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: MessageId,
    pub room: RoomId,
    /// The sender's idempotency key; lets the sender match the echo to its pending copy.
    pub client_id: ClientMsgId,
    pub sender: String,
    pub body: String,
    /// Server time of acceptance, milliseconds since the Unix epoch.
    pub sent_at_ms: i64,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Post `body` to `room`. Answered by [`ServerMessage::Ack`] once the message is durable,
    /// or by [`ServerMessage::Error`] carrying the same `client_id`.
    Send {
        room: RoomId,
        client_id: ClientMsgId,
        body: String,
    },
    /// Ask for up to `limit` messages older than `before` (newest page when `None`).
    History {
        room: RoomId,
        before: Option<MessageId>,
        limit: u32,
    },
    /// Ask for up to `limit` messages newer than `after`, oldest first: how a client that
    /// reconnects fills the gap since the last message it has, page by page, until
    /// [`ServerMessage::CaughtUp`] says `up_to_date`.
    CatchUp {
        room: RoomId,
        after: MessageId,
        limit: u32,
    },
    /// Liveness probe; answered by [`ServerMessage::Pong`] with the same nonce.
    Ping { nonce: u64 },
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame on every socket.
    Welcome {
        username: String,
        rooms: Vec<RoomId>,
    },
    /// A new message in a room the user is in (including the user's own, from other devices).
    Message {
        message: ChatMessage,
    },
    /// The message with this `client_id` is stored durably. For a duplicate send this carries
    /// the message stored the first time.
    Ack {
        client_id: ClientMsgId,
        message: ChatMessage,
    },
    /// A page of history, oldest first. `complete` is true when nothing older exists.
    History {
        room: RoomId,
        /// The request's `before`: `None` marks the newest page.
        #[serde(default)]
        before: Option<MessageId>,
        messages: Vec<ChatMessage>,
        complete: bool,
    },
    /// Answer to [`ClientMessage::CatchUp`]: messages after `after`, oldest first.
    /// `up_to_date` is true when nothing newer than the last one exists (yet).
    CaughtUp {
        room: RoomId,
        after: MessageId,
        messages: Vec<ChatMessage>,
        up_to_date: bool,
    },
    Pong {
        nonce: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
        /// Set when the error answers a `Send`, so the client can mark that message failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientMsgId>,
    },
}

/// Why a frame was refused. All but `Internal` are the client's fault and not worth retrying
/// unchanged; `RateLimited` and `Internal` may be retried later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not valid JSON, or not a known message.
    BadFrame,
    /// Binary frames are not part of the protocol.
    UnsupportedFrame,
    /// The body or client id broke a rule in [`crate::limits`].
    InvalidMessage,
    /// The room does not exist or the user is not in it (deliberately indistinguishable).
    NoSuchRoom,
    RateLimited,
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> ChatMessage {
        ChatMessage {
            id: MessageId(7),
            room: RoomId::lobby(),
            client_id: ClientMsgId("c1".into()),
            sender: "alice".into(),
            body: "hi".into(),
            sent_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn client_messages_have_a_stable_wire_format() {
        let send = ClientMessage::Send {
            room: RoomId::lobby(),
            client_id: ClientMsgId("c1".into()),
            body: "hi".into(),
        };
        assert_eq!(
            serde_json::to_value(&send).unwrap(),
            json!({"type": "send", "room": "lobby", "client_id": "c1", "body": "hi"})
        );
        let history: ClientMessage = serde_json::from_value(
            json!({"type": "history", "room": "lobby", "before": null, "limit": 50}),
        )
        .unwrap();
        assert_eq!(
            history,
            ClientMessage::History {
                room: RoomId::lobby(),
                before: None,
                limit: 50
            }
        );
    }

    #[test]
    fn server_messages_have_a_stable_wire_format() {
        let ack = ServerMessage::Ack {
            client_id: ClientMsgId("c1".into()),
            message: sample(),
        };
        assert_eq!(
            serde_json::to_value(&ack).unwrap(),
            json!({"type": "ack", "client_id": "c1", "message": {
                "id": 7, "room": "lobby", "client_id": "c1", "sender": "alice",
                "body": "hi", "sent_at_ms": 1_700_000_000_000_i64}})
        );
        let err = ServerMessage::Error {
            code: ErrorCode::BadFrame,
            message: "x".into(),
            client_id: None,
        };
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"type": "error", "code": "bad_frame", "message": "x"})
        );
    }

    #[test]
    fn every_server_message_round_trips() {
        let all = [
            ServerMessage::Welcome {
                username: "a".into(),
                rooms: vec![RoomId::lobby()],
            },
            ServerMessage::Message { message: sample() },
            ServerMessage::History {
                room: RoomId::lobby(),
                before: Some(MessageId(9)),
                messages: vec![sample()],
                complete: true,
            },
            ServerMessage::CaughtUp {
                room: RoomId::lobby(),
                after: MessageId(6),
                messages: vec![sample()],
                up_to_date: false,
            },
            ServerMessage::Pong { nonce: 3 },
        ];
        for msg in all {
            let text = serde_json::to_string(&msg).unwrap();
            assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), msg);
        }
    }
}
