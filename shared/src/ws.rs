//! WebSocket messages, one JSON object per text frame, tagged by `"type"`.
//!
//! A socket is authenticated by the session cookie during the HTTP upgrade, so the first frame
//! the client receives is always [`ServerMessage::Welcome`]. After that the client may send any
//! [`ClientMessage`]. A frame the server cannot parse or accept gets a [`ServerMessage::Error`]
//! and the connection stays open. `docs/PROTOCOL.md` describes the exchanges and guarantees.
//!
//! Every request that changes a room carries a `client_id` (see [`ClientMsgId`]) and is answered
//! by [`ServerMessage::Ack`] with the event it produced once that event is durable, or by an
//! error carrying the same `client_id`. Other members receive the event as
//! [`ServerMessage::Event`].

use crate::calls::{IceServer, SignalData};
use crate::events::{Event, Role};
use crate::ids::{ClientMsgId, RoomId, Seq};
use crate::rooms::{Member, NotifyLevel, Presence, RoomSummary};
use serde::{Deserialize, Serialize};

/// Close codes the server uses besides the standard ones (1001 going away on shutdown, 1008
/// policy violation after sustained flooding, 1009 message too big, 1011 internal error).
pub mod close {
    /// The session was logged out: do not reconnect, show the log-in screen.
    pub const LOGGED_OUT: u16 = 4001;
    /// Nothing arrived (not even the pong to the server's WebSocket ping) for the server's idle
    /// limit (25 s by default): the client is gone.
    pub const IDLE: u16 = 4002;
    /// The client did not read its messages fast enough; reconnect and catch up.
    pub const TOO_SLOW: u16 = 4003;
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Post a message; `reply_to` quotes an earlier message of the same room.
    Send {
        room: RoomId,
        client_id: ClientMsgId,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<Seq>,
        /// An upload of mine to this room, finished (see `shared::api::Upload`): the message
        /// carries the file. The body may then be empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<String>,
    },
    /// Replace the text of one of my messages.
    Edit {
        room: RoomId,
        client_id: ClientMsgId,
        target: Seq,
        body: String,
    },
    /// Delete one of my messages, leaving a tombstone.
    Delete {
        room: RoomId,
        client_id: ClientMsgId,
        target: Seq,
    },
    /// Put (`add: true`) or take back a reaction.
    React {
        room: RoomId,
        client_id: ClientMsgId,
        target: Seq,
        emoji: String,
        add: bool,
    },
    /// Up to `limit` timeline entries (messages and room notices, operations folded in) older
    /// than `before`; the newest page when `None`. Answered by [`ServerMessage::History`].
    History {
        room: RoomId,
        before: Option<Seq>,
        limit: u32,
    },
    /// Up to `limit` events (all kinds) after `after`, oldest first: how a client that was away
    /// receives what it missed, page by page, until [`ServerMessage::CaughtUp`] says
    /// `up_to_date`.
    CatchUp {
        room: RoomId,
        after: Seq,
        limit: u32,
    },
    /// Answered by [`ServerMessage::Rooms`].
    ListRooms,
    /// Answered by [`ServerMessage::Members`].
    ListMembers { room: RoomId },
    /// Create a group room with me as owner. Acked with its `created` event.
    CreateRoom {
        client_id: ClientMsgId,
        name: String,
        #[serde(default)]
        topic: String,
    },
    /// Admins and the owner.
    Rename {
        room: RoomId,
        client_id: ClientMsgId,
        name: String,
    },
    /// Admins and the owner.
    SetTopic {
        room: RoomId,
        client_id: ClientMsgId,
        topic: String,
    },
    /// Any member who is not muted adds someone by username.
    AddMember {
        room: RoomId,
        client_id: ClientMsgId,
        user: String,
    },
    /// Admins remove members below their role.
    RemoveMember {
        room: RoomId,
        client_id: ClientMsgId,
        user: String,
    },
    /// Admins mute or unmute members below their role.
    Mute {
        room: RoomId,
        client_id: ClientMsgId,
        user: String,
        muted: bool,
    },
    /// The owner makes a member an admin or an admin a member.
    SetRole {
        room: RoomId,
        client_id: ClientMsgId,
        user: String,
        role: Role,
    },
    /// Leave a group room. An owner who leaves passes ownership on.
    Leave {
        room: RoomId,
        client_id: ClientMsgId,
    },
    /// A link token that lets anyone with an account join. Answered by
    /// [`ServerMessage::Invite`].
    CreateInvite { room: RoomId },
    /// Revoke the room's invite link `token` (its creator or an admin may), or, without a
    /// token, every link of the room (admins). Answered by [`ServerMessage::InvitesRevoked`].
    RevokeInvites {
        room: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Admins ban (`banned: true`) someone ranked below them, member or not: a member is
    /// removed, their invite links stop working, and they can neither be added nor join by a
    /// link until the ban is lifted (`banned: false`). Acked with the `banned` event.
    Ban {
        room: RoomId,
        client_id: ClientMsgId,
        user: String,
        banned: bool,
    },
    /// Join the room of an invite token. Acked with the `joined` event.
    JoinByInvite {
        client_id: ClientMsgId,
        token: String,
    },
    /// Open (or find) the direct conversation with `user`. Acked with its `created` event.
    OpenDirect {
        client_id: ClientMsgId,
        user: String,
    },
    /// Block or unblock a user: a blocked user cannot open a direct conversation with me, write
    /// in ours, or add me to rooms. Answered by [`ServerMessage::Blocked`].
    Block { user: String, blocked: bool },
    /// Which messages of `room` notify me. Answered by [`ServerMessage::RoomUpdated`] to every
    /// socket of mine, with the summary's `notify` changed.
    SetNotify { room: RoomId, level: NotifyLevel },
    /// My devices have everything up to `seq`. Monotonic; lower values are ignored.
    MarkDelivered { room: RoomId, seq: Seq },
    /// I have read up to `seq` (implies delivered). Monotonic.
    MarkRead { room: RoomId, seq: Seq },
    /// I am typing in `room`. Send at most every few seconds while typing; the server drops
    /// repeats within [`TYPING_THROTTLE_MS`].
    Typing { room: RoomId },
    /// This session is active (`online`) or idle/hidden (`away`). `offline` is refused.
    SetPresence { status: Presence },
    /// Start a voice or video call in `room`. Acked with its `call_started` event; members
    /// see it and may join.
    StartCall {
        room: RoomId,
        client_id: ClientMsgId,
        call: String,
        video: bool,
    },
    /// I am in the call now (answered, or joined one in progress). Answered by
    /// [`ServerMessage::CallState`] to the room.
    JoinCall { room: RoomId, call: String },
    /// I left the call (hung up). When the last participant leaves, the server records
    /// `call_ended`.
    LeaveCall { room: RoomId, call: String },
    /// I will not answer this call. In a direct conversation that ends a call nobody answered
    /// (recorded as declined); in a group the others can still answer.
    DeclineCall { room: RoomId, call: String },
    /// Pass `data` to `to`'s sockets, for the WebRTC session `session` (a call or a file
    /// transfer). Both must be members of `room`.
    Signal {
        room: RoomId,
        to: String,
        session: String,
        data: SignalData,
    },
    /// Answered by [`ServerMessage::IceServers`]. STUN servers for anyone; TURN credentials
    /// (a relay costs the operator bandwidth) only for a WebRTC session the asker is part of:
    /// the call `call` going on in `room`, or a transfer with `peer`, who shares `room` and
    /// does not block (and is not blocked by) the asker.
    IceServers {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<String>,
    },
    /// Liveness probe; answered by [`ServerMessage::Pong`] with the same nonce.
    Ping { nonce: u64 },
}

impl ClientMessage {
    /// The request's idempotency key, for requests that carry one: what an error answering
    /// the request names.
    pub fn client_id(&self) -> Option<&ClientMsgId> {
        use ClientMessage as C;
        match self {
            C::Send { client_id, .. }
            | C::Edit { client_id, .. }
            | C::Delete { client_id, .. }
            | C::React { client_id, .. }
            | C::CreateRoom { client_id, .. }
            | C::Rename { client_id, .. }
            | C::SetTopic { client_id, .. }
            | C::AddMember { client_id, .. }
            | C::RemoveMember { client_id, .. }
            | C::Mute { client_id, .. }
            | C::Ban { client_id, .. }
            | C::SetRole { client_id, .. }
            | C::Leave { client_id, .. }
            | C::JoinByInvite { client_id, .. }
            | C::OpenDirect { client_id, .. }
            | C::StartCall { client_id, .. } => Some(client_id),
            _ => None,
        }
    }
}

/// Repeated typing notices from one socket for one room within this window are dropped.
pub const TYPING_THROTTLE_MS: u64 = 2_000;
/// Clients show "typing" for this long after the last notice.
pub const TYPING_SHOWN_MS: u64 = 6_000;

/// Server → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    try_from = "crate::wire::ServerWire"
)]
pub enum ServerMessage {
    /// First frame on every socket.
    Welcome {
        username: String,
        rooms: Vec<RoomSummary>,
        /// Users I have blocked.
        blocked: Vec<String>,
    },
    /// A new event in one of my rooms (including mine, from my other devices).
    Event {
        event: Event,
    },
    /// The request with this `client_id` is durable. For a repeated request this carries the
    /// event stored the first time, in its current state.
    Ack {
        client_id: ClientMsgId,
        event: Event,
    },
    /// A page of history, oldest first. `complete` is true when nothing older exists.
    History {
        room: RoomId,
        /// The request's `before`: `None` marks the newest page.
        #[serde(default)]
        before: Option<Seq>,
        events: Vec<Event>,
        complete: bool,
        /// The room's newest seq when the page was read: after the newest page, a client's
        /// cursor may move here, since operations newer than the page are already folded in.
        last_seq: Seq,
        /// Every event up to here was deleted by the room's retention: clients drop their
        /// copies up to it (0, left out, when nothing was).
        #[serde(default, skip_serializing_if = "Seq::is_zero")]
        floor: Seq,
    },
    /// Answer to [`ClientMessage::CatchUp`]: events after `after`, oldest first.
    /// `up_to_date` is true when nothing newer than the last one exists (yet). `floor` as in
    /// `history`: a cursor below it skips what retention deleted.
    CaughtUp {
        room: RoomId,
        after: Seq,
        events: Vec<Event>,
        up_to_date: bool,
        #[serde(default, skip_serializing_if = "Seq::is_zero")]
        floor: Seq,
    },
    Rooms {
        rooms: Vec<RoomSummary>,
    },
    /// I am now in this room (created, added, joined, opened), or my role or mute there changed.
    /// Name and topic changes arrive as events of the room.
    RoomUpdated {
        room: RoomSummary,
    },
    /// I am no longer in this room (I left, or was removed). Its history stays readable only
    /// from the client's own copy.
    RoomRemoved {
        room: RoomId,
    },
    Members {
        room: RoomId,
        members: Vec<Member>,
    },
    Invite {
        room: RoomId,
        token: String,
        expires_at_ms: i64,
    },
    Blocked {
        user: String,
        blocked: bool,
    },
    /// How many invite links of `room` a [`ClientMessage::RevokeInvites`] ended.
    InvitesRevoked {
        room: RoomId,
        revoked: u64,
    },
    /// `user`'s devices have received up to `delivered_seq` and read up to `read_seq`.
    Receipt {
        room: RoomId,
        user: String,
        delivered_seq: Seq,
        read_seq: Seq,
    },
    /// `user` is typing in `room`: show it for [`TYPING_SHOWN_MS`] unless a message from them
    /// arrives first.
    Typing {
        room: RoomId,
        user: String,
    },
    /// Someone I share a room with came online, went away or went offline.
    Presence {
        user: String,
        status: Presence,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen_ms: Option<i64>,
    },
    /// Who is in a call now; sent to the room whenever that changes (empty: the call ended),
    /// and after the welcome for every call going on in the user's rooms.
    CallState {
        room: RoomId,
        call: String,
        /// Started as a video call (else voice only).
        #[serde(default)]
        video: bool,
        /// Who started it (empty once it ended).
        #[serde(default)]
        caller: String,
        participants: Vec<String>,
    },
    /// A signaling message from `from` for session `session`.
    Signal {
        room: RoomId,
        from: String,
        session: String,
        data: SignalData,
    },
    /// STUN/TURN servers with credentials valid until `expires_at_ms`.
    IceServers {
        servers: Vec<IceServer>,
        expires_at_ms: i64,
    },
    Pong {
        nonce: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
        /// Set when the error answers a request with a `client_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientMsgId>,
    },
}

/// Why a frame was refused. All but `RateLimited` and `Internal` are final: retrying the same
/// request unchanged gets the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not valid JSON, or not a known message.
    BadFrame,
    /// Binary frames are not part of the protocol.
    UnsupportedFrame,
    /// A field broke a rule in [`crate::limits`] (body too long, bad emoji, bad client id...).
    InvalidMessage,
    /// The room does not exist or I am not in it (deliberately indistinguishable).
    NoSuchRoom,
    /// The target message does not exist in that room, or is deleted.
    NoSuchMessage,
    NoSuchUser,
    /// I am in the room but my role, a mute or a block does not allow this.
    Forbidden,
    /// The user is already a member.
    AlreadyMember,
    /// The invite token is unknown or expired.
    InvalidInvite,
    /// The call ended (or never existed).
    NoSuchCall,
    /// The `client_id` was already used for a request in another room.
    ClientIdReused,
    /// Too many rooms, reactions, ... (see the message).
    LimitReached,
    RateLimited,
    Internal,
}

#[cfg(test)]
mod tests {
    //! Literal JSON pins the wire format: a change here breaks deployed clients.

    use super::*;
    use crate::calls::{IceServer, SignalData};
    use crate::events::{EventKind, Reaction};
    use crate::rooms::{Preview, RoomKind};
    use serde_json::{Value, json};

    fn event(seq: i64, kind: EventKind) -> Event {
        Event {
            room: RoomId("r1".into()),
            seq: Seq(seq),
            sender: "alice".into(),
            at_ms: 1_700_000_000_000,
            client_id: Some(ClientMsgId("c1".into())),
            kind,
        }
    }

    fn message() -> Event {
        event(
            7,
            EventKind::Message {
                attachment: None,
                body: "hi @bob".into(),
                reply_to: Some(Seq(3)),
                mentions: vec!["bob".into()],
                edited_at_ms: None,
                deleted: false,
                reactions: vec![Reaction {
                    emoji: "👍".into(),
                    users: vec!["bob".into()],
                }],
            },
        )
    }

    fn summary() -> RoomSummary {
        RoomSummary {
            id: RoomId("r1".into()),
            kind: RoomKind::Group,
            name: "Design".into(),
            topic: String::new(),
            role: Role::Owner,
            muted: false,
            member_count: 2,
            last_seq: Seq(7),
            read_seq: Seq(5),
            unread: 1,
            unread_mentions: 0,
            last_message: Some(Preview {
                seq: Seq(7),
                sender: "bob".into(),
                text: "hi".into(),
                deleted: false,
                at_ms: 5,
            }),
            notify: NotifyLevel::All,
        }
    }

    /// Checks `value` serializes to `expected` and that both `expected` and the encoded text parse
    /// back to `value`.
    fn pin<T>(value: &T, expected: Value)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_value(value).unwrap(), expected);
        // A `Value` yields its keys sorted; the text keeps the encoder's order (tag first).
        assert_eq!(&serde_json::from_value::<T>(expected).unwrap(), value);
        let text = serde_json::to_string(value).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), value);
    }

    #[test]
    fn client_messages() {
        let r = || RoomId("r1".into());
        let c = || ClientMsgId("c1".into());
        let cases = [
            (
                ClientMessage::Send {
                    attachment: None,
                    room: r(),
                    client_id: c(),
                    body: "hi".into(),
                    reply_to: None,
                },
                json!({"type": "send", "room": "r1", "client_id": "c1", "body": "hi"}),
            ),
            (
                ClientMessage::Edit {
                    room: r(),
                    client_id: c(),
                    target: Seq(4),
                    body: "fixed".into(),
                },
                json!({"type": "edit", "room": "r1", "client_id": "c1", "target": 4, "body": "fixed"}),
            ),
            (
                ClientMessage::Delete {
                    room: r(),
                    client_id: c(),
                    target: Seq(4),
                },
                json!({"type": "delete", "room": "r1", "client_id": "c1", "target": 4}),
            ),
            (
                ClientMessage::React {
                    room: r(),
                    client_id: c(),
                    target: Seq(4),
                    emoji: "👍".into(),
                    add: true,
                },
                json!({"type": "react", "room": "r1", "client_id": "c1", "target": 4, "emoji": "👍", "add": true}),
            ),
            (
                ClientMessage::History {
                    room: r(),
                    before: None,
                    limit: 50,
                },
                json!({"type": "history", "room": "r1", "before": null, "limit": 50}),
            ),
            (
                ClientMessage::CatchUp {
                    room: r(),
                    after: Seq(9),
                    limit: 100,
                },
                json!({"type": "catch_up", "room": "r1", "after": 9, "limit": 100}),
            ),
            (ClientMessage::ListRooms, json!({"type": "list_rooms"})),
            (
                ClientMessage::ListMembers { room: r() },
                json!({"type": "list_members", "room": "r1"}),
            ),
            (
                ClientMessage::CreateRoom {
                    client_id: c(),
                    name: "Design".into(),
                    topic: "pixels".into(),
                },
                json!({"type": "create_room", "client_id": "c1", "name": "Design", "topic": "pixels"}),
            ),
            (
                ClientMessage::Rename {
                    room: r(),
                    client_id: c(),
                    name: "D".into(),
                },
                json!({"type": "rename", "room": "r1", "client_id": "c1", "name": "D"}),
            ),
            (
                ClientMessage::SetTopic {
                    room: r(),
                    client_id: c(),
                    topic: "t".into(),
                },
                json!({"type": "set_topic", "room": "r1", "client_id": "c1", "topic": "t"}),
            ),
            (
                ClientMessage::AddMember {
                    room: r(),
                    client_id: c(),
                    user: "bob".into(),
                },
                json!({"type": "add_member", "room": "r1", "client_id": "c1", "user": "bob"}),
            ),
            (
                ClientMessage::RemoveMember {
                    room: r(),
                    client_id: c(),
                    user: "bob".into(),
                },
                json!({"type": "remove_member", "room": "r1", "client_id": "c1", "user": "bob"}),
            ),
            (
                ClientMessage::Mute {
                    room: r(),
                    client_id: c(),
                    user: "bob".into(),
                    muted: true,
                },
                json!({"type": "mute", "room": "r1", "client_id": "c1", "user": "bob", "muted": true}),
            ),
            (
                ClientMessage::SetRole {
                    room: r(),
                    client_id: c(),
                    user: "bob".into(),
                    role: Role::Admin,
                },
                json!({"type": "set_role", "room": "r1", "client_id": "c1", "user": "bob", "role": "admin"}),
            ),
            (
                ClientMessage::Leave {
                    room: r(),
                    client_id: c(),
                },
                json!({"type": "leave", "room": "r1", "client_id": "c1"}),
            ),
            (
                ClientMessage::CreateInvite { room: r() },
                json!({"type": "create_invite", "room": "r1"}),
            ),
            (
                ClientMessage::JoinByInvite {
                    client_id: c(),
                    token: "t0k".into(),
                },
                json!({"type": "join_by_invite", "client_id": "c1", "token": "t0k"}),
            ),
            (
                ClientMessage::RevokeInvites {
                    room: r(),
                    token: Some("t0k".into()),
                },
                json!({"type": "revoke_invites", "room": "r1", "token": "t0k"}),
            ),
            (
                ClientMessage::RevokeInvites {
                    room: r(),
                    token: None,
                },
                json!({"type": "revoke_invites", "room": "r1"}),
            ),
            (
                ClientMessage::Ban {
                    room: r(),
                    client_id: c(),
                    user: "eve".into(),
                    banned: true,
                },
                json!({"type": "ban", "room": "r1", "client_id": "c1", "user": "eve", "banned": true}),
            ),
            (
                ClientMessage::OpenDirect {
                    client_id: c(),
                    user: "bob".into(),
                },
                json!({"type": "open_direct", "client_id": "c1", "user": "bob"}),
            ),
            (
                ClientMessage::Block {
                    user: "bob".into(),
                    blocked: true,
                },
                json!({"type": "block", "user": "bob", "blocked": true}),
            ),
            (
                ClientMessage::SetNotify {
                    room: r(),
                    level: NotifyLevel::Mentions,
                },
                json!({"type": "set_notify", "room": "r1", "level": "mentions"}),
            ),
            (
                ClientMessage::MarkDelivered {
                    room: r(),
                    seq: Seq(7),
                },
                json!({"type": "mark_delivered", "room": "r1", "seq": 7}),
            ),
            (
                ClientMessage::MarkRead {
                    room: r(),
                    seq: Seq(7),
                },
                json!({"type": "mark_read", "room": "r1", "seq": 7}),
            ),
            (
                ClientMessage::Typing { room: r() },
                json!({"type": "typing", "room": "r1"}),
            ),
            (
                ClientMessage::SetPresence {
                    status: Presence::Away,
                },
                json!({"type": "set_presence", "status": "away"}),
            ),
            (
                ClientMessage::StartCall {
                    room: r(),
                    client_id: c(),
                    call: "k1".into(),
                    video: true,
                },
                json!({"type": "start_call", "room": "r1", "client_id": "c1", "call": "k1", "video": true}),
            ),
            (
                ClientMessage::JoinCall {
                    room: r(),
                    call: "k1".into(),
                },
                json!({"type": "join_call", "room": "r1", "call": "k1"}),
            ),
            (
                ClientMessage::LeaveCall {
                    room: r(),
                    call: "k1".into(),
                },
                json!({"type": "leave_call", "room": "r1", "call": "k1"}),
            ),
            (
                ClientMessage::DeclineCall {
                    room: r(),
                    call: "k1".into(),
                },
                json!({"type": "decline_call", "room": "r1", "call": "k1"}),
            ),
            (
                ClientMessage::Signal {
                    room: r(),
                    to: "bob".into(),
                    session: "k1".into(),
                    data: SignalData::Candidate {
                        candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                        sdp_mid: Some("0".into()),
                        sdp_m_line_index: Some(0),
                    },
                },
                json!({"type": "signal", "room": "r1", "to": "bob", "session": "k1",
                       "data": {"kind": "candidate", "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                                "sdp_mid": "0", "sdp_m_line_index": 0}}),
            ),
            (
                ClientMessage::IceServers {
                    room: None,
                    call: None,
                    peer: None,
                },
                json!({"type": "ice_servers"}),
            ),
            (
                ClientMessage::IceServers {
                    room: Some(RoomId::lobby()),
                    call: None,
                    peer: Some("bob".into()),
                },
                json!({"type": "ice_servers", "room": "lobby", "peer": "bob"}),
            ),
            (
                ClientMessage::Ping { nonce: 3 },
                json!({"type": "ping", "nonce": 3}),
            ),
        ];
        for (message, expected) in cases {
            pin(&message, expected);
        }
    }

    #[test]
    fn events() {
        pin(
            &message(),
            json!({"room": "r1", "seq": 7, "sender": "alice", "at_ms": 1_700_000_000_000_i64,
                   "client_id": "c1", "kind": "message", "body": "hi @bob", "reply_to": 3,
                   "mentions": ["bob"], "reactions": [{"emoji": "👍", "users": ["bob"]}]}),
        );
        let base = |kind: Value| {
            let mut v = json!({"room": "r1", "seq": 8, "sender": "alice",
                               "at_ms": 1_700_000_000_000_i64, "client_id": "c1"});
            v.as_object_mut()
                .unwrap()
                .extend(kind.as_object().unwrap().clone());
            v
        };
        let cases = [
            (
                EventKind::Message {
                    attachment: None,
                    body: String::new(),
                    reply_to: None,
                    mentions: vec![],
                    edited_at_ms: Some(9),
                    deleted: true,
                    reactions: vec![],
                },
                json!({"kind": "message", "body": "", "edited_at_ms": 9, "deleted": true}),
            ),
            (
                EventKind::Edit {
                    target: Seq(7),
                    body: "x".into(),
                },
                json!({"kind": "edit", "target": 7, "body": "x"}),
            ),
            (
                EventKind::Delete { target: Seq(7) },
                json!({"kind": "delete", "target": 7}),
            ),
            (
                EventKind::Reaction {
                    target: Seq(7),
                    emoji: "🎉".into(),
                    added: false,
                },
                json!({"kind": "reaction", "target": 7, "emoji": "🎉", "added": false}),
            ),
            (
                EventKind::Banned {
                    user: "eve".into(),
                    banned: true,
                },
                json!({"kind": "banned", "user": "eve", "banned": true}),
            ),
            (
                EventKind::Created { name: "D".into() },
                json!({"kind": "created", "name": "D"}),
            ),
            (
                EventKind::Renamed { name: "E".into() },
                json!({"kind": "renamed", "name": "E"}),
            ),
            (
                EventKind::TopicChanged { topic: "t".into() },
                json!({"kind": "topic_changed", "topic": "t"}),
            ),
            (EventKind::Joined, json!({"kind": "joined"})),
            (
                EventKind::Added { user: "bob".into() },
                json!({"kind": "added", "user": "bob"}),
            ),
            (EventKind::Left, json!({"kind": "left"})),
            (
                EventKind::Removed { user: "bob".into() },
                json!({"kind": "removed", "user": "bob"}),
            ),
            (
                EventKind::RoleChanged {
                    user: "bob".into(),
                    role: Role::Admin,
                },
                json!({"kind": "role_changed", "user": "bob", "role": "admin"}),
            ),
            (
                EventKind::Muted {
                    user: "bob".into(),
                    muted: true,
                },
                json!({"kind": "muted", "user": "bob", "muted": true}),
            ),
            (
                EventKind::CallStarted {
                    call: "k1".into(),
                    video: false,
                },
                json!({"kind": "call_started", "call": "k1", "video": false}),
            ),
            (
                EventKind::CallEnded {
                    call: "k1".into(),
                    duration_ms: 61_000,
                    missed: false,
                    declined: false,
                },
                json!({"kind": "call_ended", "call": "k1", "duration_ms": 61_000, "missed": false}),
            ),
            (
                EventKind::CallEnded {
                    call: "k1".into(),
                    duration_ms: 4_000,
                    missed: true,
                    declined: true,
                },
                json!({"kind": "call_ended", "call": "k1", "duration_ms": 4_000, "missed": true,
                       "declined": true}),
            ),
        ];
        for (kind, expected) in cases {
            pin(&event(8, kind), base(expected));
        }
    }

    #[test]
    fn server_messages() {
        let r = || RoomId("r1".into());
        let summary_json = json!({"id": "r1", "kind": "group", "name": "Design", "topic": "",
            "role": "owner", "muted": false, "member_count": 2, "last_seq": 7, "read_seq": 5,
            "unread": 1, "unread_mentions": 0,
            "last_message": {"seq": 7, "sender": "bob", "text": "hi", "deleted": false, "at_ms": 5}});
        let message_json = serde_json::to_value(message()).unwrap();
        let cases = [
            (
                ServerMessage::Welcome {
                    username: "alice".into(),
                    rooms: vec![summary()],
                    blocked: vec!["eve".into()],
                },
                json!({"type": "welcome", "username": "alice", "rooms": [summary_json.clone()], "blocked": ["eve"]}),
            ),
            (
                ServerMessage::Event { event: message() },
                json!({"type": "event", "event": message_json.clone()}),
            ),
            (
                ServerMessage::Ack {
                    client_id: ClientMsgId("c1".into()),
                    event: message(),
                },
                json!({"type": "ack", "client_id": "c1", "event": message_json.clone()}),
            ),
            (
                ServerMessage::History {
                    room: r(),
                    before: None,
                    events: vec![message()],
                    complete: true,
                    last_seq: Seq(9),
                    floor: Seq(0),
                },
                json!({"type": "history", "room": "r1", "before": null, "events": [message_json.clone()], "complete": true, "last_seq": 9}),
            ),
            (
                ServerMessage::History {
                    room: r(),
                    before: Some(Seq(9)),
                    events: vec![],
                    complete: true,
                    last_seq: Seq(9),
                    floor: Seq(4),
                },
                json!({"type": "history", "room": "r1", "before": 9, "events": [], "complete": true, "last_seq": 9, "floor": 4}),
            ),
            (
                ServerMessage::CaughtUp {
                    room: r(),
                    after: Seq(6),
                    events: vec![message()],
                    up_to_date: false,
                    floor: Seq(0),
                },
                json!({"type": "caught_up", "room": "r1", "after": 6, "events": [message_json], "up_to_date": false}),
            ),
            (
                ServerMessage::Rooms {
                    rooms: vec![summary()],
                },
                json!({"type": "rooms", "rooms": [summary_json.clone()]}),
            ),
            (
                ServerMessage::RoomUpdated { room: summary() },
                json!({"type": "room_updated", "room": summary_json}),
            ),
            (
                ServerMessage::RoomRemoved { room: r() },
                json!({"type": "room_removed", "room": "r1"}),
            ),
            (
                ServerMessage::Members {
                    room: r(),
                    members: vec![Member {
                        username: "bob".into(),
                        display_name: "Bob B.".into(),
                        role: Role::Member,
                        muted: false,
                        presence: Presence::Offline,
                        last_seen_ms: Some(4),
                        delivered_seq: Seq(7),
                        read_seq: Seq(6),
                    }],
                },
                json!({"type": "members", "room": "r1", "members": [{"username": "bob",
                    "display_name": "Bob B.", "role": "member", "muted": false, "presence": "offline", "last_seen_ms": 4,
                    "delivered_seq": 7, "read_seq": 6}]}),
            ),
            (
                ServerMessage::Invite {
                    room: r(),
                    token: "t".into(),
                    expires_at_ms: 5,
                },
                json!({"type": "invite", "room": "r1", "token": "t", "expires_at_ms": 5}),
            ),
            (
                ServerMessage::Blocked {
                    user: "eve".into(),
                    blocked: true,
                },
                json!({"type": "blocked", "user": "eve", "blocked": true}),
            ),
            (
                ServerMessage::InvitesRevoked {
                    room: r(),
                    revoked: 2,
                },
                json!({"type": "invites_revoked", "room": "r1", "revoked": 2}),
            ),
            (
                ServerMessage::Receipt {
                    room: r(),
                    user: "bob".into(),
                    delivered_seq: Seq(7),
                    read_seq: Seq(6),
                },
                json!({"type": "receipt", "room": "r1", "user": "bob", "delivered_seq": 7, "read_seq": 6}),
            ),
            (
                ServerMessage::Typing {
                    room: r(),
                    user: "bob".into(),
                },
                json!({"type": "typing", "room": "r1", "user": "bob"}),
            ),
            (
                ServerMessage::Presence {
                    user: "bob".into(),
                    status: Presence::Online,
                    last_seen_ms: None,
                },
                json!({"type": "presence", "user": "bob", "status": "online"}),
            ),
            (
                ServerMessage::CallState {
                    room: r(),
                    call: "k1".into(),
                    video: true,
                    caller: "alice".into(),
                    participants: vec!["alice".into()],
                },
                json!({"type": "call_state", "room": "r1", "call": "k1", "video": true,
                       "caller": "alice", "participants": ["alice"]}),
            ),
            (
                ServerMessage::Signal {
                    room: r(),
                    from: "alice".into(),
                    session: "k1".into(),
                    data: SignalData::Offer { sdp: "v=0".into() },
                },
                json!({"type": "signal", "room": "r1", "from": "alice", "session": "k1",
                       "data": {"kind": "offer", "sdp": "v=0"}}),
            ),
            (
                ServerMessage::Signal {
                    room: r(),
                    from: "alice".into(),
                    session: "t1".into(),
                    data: SignalData::Files {
                        files: vec![crate::transfer::FileMeta {
                            name: "cat.png".into(),
                            size: 2048,
                            mime: "image/png".into(),
                        }],
                    },
                },
                json!({"type": "signal", "room": "r1", "from": "alice", "session": "t1",
                       "data": {"kind": "files", "files": [{"name": "cat.png", "size": 2048, "mime": "image/png"}]}}),
            ),
            (
                ServerMessage::Signal {
                    room: r(),
                    from: "alice".into(),
                    session: "t1".into(),
                    data: SignalData::Bye,
                },
                json!({"type": "signal", "room": "r1", "from": "alice", "session": "t1",
                       "data": {"kind": "bye"}}),
            ),
            (
                ServerMessage::Signal {
                    room: r(),
                    from: "alice".into(),
                    session: "k1".into(),
                    data: SignalData::Muted { muted: true },
                },
                json!({"type": "signal", "room": "r1", "from": "alice", "session": "k1",
                       "data": {"kind": "muted", "muted": true}}),
            ),
            (
                ServerMessage::IceServers {
                    servers: vec![IceServer {
                        urls: vec!["turn:turn.example.org:3478".into()],
                        username: Some("1700000000:alice".into()),
                        credential: Some("c2VjcmV0".into()),
                    }],
                    expires_at_ms: 1_700_000_000_000,
                },
                json!({"type": "ice_servers", "servers": [{"urls": ["turn:turn.example.org:3478"],
                       "username": "1700000000:alice", "credential": "c2VjcmV0"}],
                       "expires_at_ms": 1_700_000_000_000_i64}),
            ),
            (
                ServerMessage::Pong { nonce: 3 },
                json!({"type": "pong", "nonce": 3}),
            ),
            (
                ServerMessage::Error {
                    code: ErrorCode::NoSuchRoom,
                    message: "x".into(),
                    client_id: Some(ClientMsgId("c1".into())),
                },
                json!({"type": "error", "code": "no_such_room", "message": "x", "client_id": "c1"}),
            ),
        ];
        for (message, expected) in cases {
            pin(&message, expected);
        }
    }

    #[test]
    fn every_error_code_has_a_stable_name() {
        let names = [
            (ErrorCode::BadFrame, "bad_frame"),
            (ErrorCode::UnsupportedFrame, "unsupported_frame"),
            (ErrorCode::InvalidMessage, "invalid_message"),
            (ErrorCode::NoSuchRoom, "no_such_room"),
            (ErrorCode::NoSuchMessage, "no_such_message"),
            (ErrorCode::NoSuchUser, "no_such_user"),
            (ErrorCode::Forbidden, "forbidden"),
            (ErrorCode::AlreadyMember, "already_member"),
            (ErrorCode::InvalidInvite, "invalid_invite"),
            (ErrorCode::NoSuchCall, "no_such_call"),
            (ErrorCode::ClientIdReused, "client_id_reused"),
            (ErrorCode::LimitReached, "limit_reached"),
            (ErrorCode::RateLimited, "rate_limited"),
            (ErrorCode::Internal, "internal"),
        ];
        for (code, name) in names {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(name));
        }
    }

    #[test]
    fn unknown_types_and_missing_fields_are_rejected() {
        for bad in [
            json!({"type": "launch_missiles"}),
            json!({"type": "send", "room": "r1", "body": "no client id"}),
            json!({"room": "r1"}),
        ] {
            assert!(serde_json::from_value::<ClientMessage>(bad).is_err());
        }
    }
}
