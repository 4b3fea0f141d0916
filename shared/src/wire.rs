//! Decoding of the tagged enums that a client receives, without serde's buffering.
//!
//! serde's derived decoder for an internally tagged enum (`{"type": "ack", ...}`) and for a
//! flattened field reads each object into an intermediate tree first, because the tag may come
//! after the fields. Every payload type is then compiled once per kind of tree as well: in the
//! browser client that was an eighth of the WebAssembly. Here each enum is read as one flat
//! struct holding every field any variant has, then checked and turned into its variant. The
//! JSON is the same; the encoders stay derived. `ws::tests` pins both directions. (An absent
//! `Option` field of a flat struct is `None`: serde needs no `#[serde(default)]` for that.)

use crate::calls::SignalData;
use crate::events::{Attachment, Event, EventKind, Reaction, Role};
use crate::ids::{ClientMsgId, RoomId, Seq};
use crate::rooms::{Member, Presence, RoomSummary};
use crate::transfer::{ChannelMessage, FileMeta};
use crate::ws::{ErrorCode, ServerMessage};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A required field of the variant that was tagged is absent.
#[derive(Debug, PartialEq, Eq)]
pub struct MissingField(pub &'static str);

impl fmt::Display for MissingField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing field `{}`", self.0)
    }
}

fn need<T>(value: Option<T>, field: &'static str) -> Result<T, MissingField> {
    value.ok_or(MissingField(field))
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum EventTag {
    Message,
    Edit,
    Delete,
    Reaction,
    Created,
    Renamed,
    TopicChanged,
    Joined,
    Added,
    Left,
    Removed,
    RoleChanged,
    Muted,
    Banned,
    CallStarted,
    CallEnded,
}

/// [`Event`] with its flattened [`EventKind`] as optional fields.
#[derive(Deserialize)]
pub struct EventWire {
    room: RoomId,
    seq: Seq,
    sender: String,
    at_ms: i64,
    client_id: Option<ClientMsgId>,
    kind: EventTag,
    body: Option<String>,
    reply_to: Option<Seq>,
    #[serde(default)]
    mentions: Vec<String>,
    edited_at_ms: Option<i64>,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    reactions: Vec<Reaction>,
    attachment: Option<Box<Attachment>>,
    target: Option<Seq>,
    emoji: Option<String>,
    added: Option<bool>,
    name: Option<String>,
    topic: Option<String>,
    user: Option<String>,
    role: Option<Role>,
    muted: Option<bool>,
    banned: Option<bool>,
    call: Option<String>,
    video: Option<bool>,
    duration_ms: Option<i64>,
    missed: Option<bool>,
    #[serde(default)]
    declined: bool,
}

impl TryFrom<EventWire> for Event {
    type Error = MissingField;

    fn try_from(w: EventWire) -> Result<Self, MissingField> {
        let kind = match w.kind {
            EventTag::Message => EventKind::Message {
                body: need(w.body, "body")?,
                reply_to: w.reply_to,
                mentions: w.mentions,
                edited_at_ms: w.edited_at_ms,
                deleted: w.deleted,
                reactions: w.reactions,
                attachment: w.attachment,
            },
            EventTag::Edit => EventKind::Edit {
                target: need(w.target, "target")?,
                body: need(w.body, "body")?,
            },
            EventTag::Delete => EventKind::Delete {
                target: need(w.target, "target")?,
            },
            EventTag::Reaction => EventKind::Reaction {
                target: need(w.target, "target")?,
                emoji: need(w.emoji, "emoji")?,
                added: need(w.added, "added")?,
            },
            EventTag::Created => EventKind::Created {
                name: need(w.name, "name")?,
            },
            EventTag::Renamed => EventKind::Renamed {
                name: need(w.name, "name")?,
            },
            EventTag::TopicChanged => EventKind::TopicChanged {
                topic: need(w.topic, "topic")?,
            },
            EventTag::Joined => EventKind::Joined,
            EventTag::Added => EventKind::Added {
                user: need(w.user, "user")?,
            },
            EventTag::Left => EventKind::Left,
            EventTag::Removed => EventKind::Removed {
                user: need(w.user, "user")?,
            },
            EventTag::RoleChanged => EventKind::RoleChanged {
                user: need(w.user, "user")?,
                role: need(w.role, "role")?,
            },
            EventTag::Muted => EventKind::Muted {
                user: need(w.user, "user")?,
                muted: need(w.muted, "muted")?,
            },
            EventTag::Banned => EventKind::Banned {
                user: need(w.user, "user")?,
                banned: need(w.banned, "banned")?,
            },
            EventTag::CallStarted => EventKind::CallStarted {
                call: need(w.call, "call")?,
                video: need(w.video, "video")?,
            },
            EventTag::CallEnded => EventKind::CallEnded {
                call: need(w.call, "call")?,
                duration_ms: need(w.duration_ms, "duration_ms")?,
                missed: need(w.missed, "missed")?,
                declined: w.declined,
            },
        };
        Ok(Event {
            room: w.room,
            seq: w.seq,
            sender: w.sender,
            at_ms: w.at_ms,
            client_id: w.client_id,
            kind,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ServerTag {
    Welcome,
    Event,
    Ack,
    History,
    CaughtUp,
    Rooms,
    RoomUpdated,
    RoomRemoved,
    Members,
    Invite,
    Blocked,
    InvitesRevoked,
    Receipt,
    Typing,
    Presence,
    CallState,
    Signal,
    IceServers,
    Pong,
    Error,
}

/// [`ServerMessage`] with every variant's fields as optional fields. Two names carry different
/// types in different variants: `room` and `blocked`.
#[derive(Deserialize)]
pub struct ServerWire {
    #[serde(rename = "type")]
    tag: ServerTag,
    username: Option<String>,
    rooms: Option<Vec<RoomSummary>>,
    blocked: Option<BlockedField>,
    event: Option<Event>,
    client_id: Option<ClientMsgId>,
    room: Option<RoomField>,
    before: Option<Seq>,
    events: Option<Vec<Event>>,
    complete: Option<bool>,
    last_seq: Option<Seq>,
    after: Option<Seq>,
    up_to_date: Option<bool>,
    #[serde(default)]
    floor: Seq,
    members: Option<Vec<Member>>,
    token: Option<String>,
    expires_at_ms: Option<i64>,
    revoked: Option<u64>,
    user: Option<String>,
    delivered_seq: Option<Seq>,
    read_seq: Option<Seq>,
    status: Option<Presence>,
    last_seen_ms: Option<i64>,
    call: Option<String>,
    #[serde(default)]
    video: bool,
    #[serde(default)]
    caller: String,
    participants: Option<Vec<String>>,
    from: Option<String>,
    session: Option<String>,
    data: Option<SignalData>,
    servers: Option<Vec<crate::calls::IceServer>>,
    nonce: Option<u64>,
    code: Option<ErrorCode>,
    message: Option<String>,
}

/// `room`: an id everywhere except in `room_updated`, where it is the whole summary.
enum RoomField {
    Id(RoomId),
    Summary(Box<RoomSummary>),
}

impl RoomField {
    fn id(field: Option<Self>) -> Result<RoomId, MissingField> {
        match field {
            Some(Self::Id(id)) => Ok(id),
            _ => Err(MissingField("room")),
        }
    }
}

impl<'de> Deserialize<'de> for RoomField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RoomVisitor;
        impl<'de> Visitor<'de> for RoomVisitor {
            type Value = RoomField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a room id or a room summary")
            }
            fn visit_str<E: de::Error>(self, id: &str) -> Result<RoomField, E> {
                Ok(RoomField::Id(RoomId(id.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RoomField, A::Error> {
                let summary = RoomSummary::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RoomField::Summary(Box::new(summary)))
            }
        }
        deserializer.deserialize_any(RoomVisitor)
    }
}

/// `blocked`: my block list in `welcome`, a flag in `blocked`.
enum BlockedField {
    List(Vec<String>),
    Flag(bool),
}

impl<'de> Deserialize<'de> for BlockedField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlockedVisitor;
        impl<'de> Visitor<'de> for BlockedVisitor {
            type Value = BlockedField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of usernames or a boolean")
            }
            fn visit_bool<E: de::Error>(self, flag: bool) -> Result<BlockedField, E> {
                Ok(BlockedField::Flag(flag))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<BlockedField, A::Error> {
                let mut users = Vec::new();
                while let Some(user) = seq.next_element::<String>()? {
                    users.push(user);
                }
                Ok(BlockedField::List(users))
            }
        }
        deserializer.deserialize_any(BlockedVisitor)
    }
}

impl TryFrom<ServerWire> for ServerMessage {
    type Error = MissingField;

    fn try_from(w: ServerWire) -> Result<Self, MissingField> {
        Ok(match w.tag {
            ServerTag::Welcome => ServerMessage::Welcome {
                username: need(w.username, "username")?,
                rooms: need(w.rooms, "rooms")?,
                blocked: match w.blocked {
                    Some(BlockedField::List(users)) => users,
                    _ => return Err(MissingField("blocked")),
                },
            },
            ServerTag::Event => ServerMessage::Event {
                event: need(w.event, "event")?,
            },
            ServerTag::Ack => ServerMessage::Ack {
                client_id: need(w.client_id, "client_id")?,
                event: need(w.event, "event")?,
            },
            ServerTag::History => ServerMessage::History {
                room: RoomField::id(w.room)?,
                before: w.before,
                events: need(w.events, "events")?,
                complete: need(w.complete, "complete")?,
                last_seq: need(w.last_seq, "last_seq")?,
                floor: w.floor,
            },
            ServerTag::CaughtUp => ServerMessage::CaughtUp {
                room: RoomField::id(w.room)?,
                after: need(w.after, "after")?,
                events: need(w.events, "events")?,
                up_to_date: need(w.up_to_date, "up_to_date")?,
                floor: w.floor,
            },
            ServerTag::Rooms => ServerMessage::Rooms {
                rooms: need(w.rooms, "rooms")?,
            },
            ServerTag::RoomUpdated => ServerMessage::RoomUpdated {
                room: match w.room {
                    Some(RoomField::Summary(summary)) => *summary,
                    _ => return Err(MissingField("room")),
                },
            },
            ServerTag::RoomRemoved => ServerMessage::RoomRemoved {
                room: RoomField::id(w.room)?,
            },
            ServerTag::Members => ServerMessage::Members {
                room: RoomField::id(w.room)?,
                members: need(w.members, "members")?,
            },
            ServerTag::Invite => ServerMessage::Invite {
                room: RoomField::id(w.room)?,
                token: need(w.token, "token")?,
                expires_at_ms: need(w.expires_at_ms, "expires_at_ms")?,
            },
            ServerTag::Blocked => ServerMessage::Blocked {
                user: need(w.user, "user")?,
                blocked: match w.blocked {
                    Some(BlockedField::Flag(flag)) => flag,
                    _ => return Err(MissingField("blocked")),
                },
            },
            ServerTag::InvitesRevoked => ServerMessage::InvitesRevoked {
                room: RoomField::id(w.room)?,
                revoked: need(w.revoked, "revoked")?,
            },
            ServerTag::Receipt => ServerMessage::Receipt {
                room: RoomField::id(w.room)?,
                user: need(w.user, "user")?,
                delivered_seq: need(w.delivered_seq, "delivered_seq")?,
                read_seq: need(w.read_seq, "read_seq")?,
            },
            ServerTag::Typing => ServerMessage::Typing {
                room: RoomField::id(w.room)?,
                user: need(w.user, "user")?,
            },
            ServerTag::Presence => ServerMessage::Presence {
                user: need(w.user, "user")?,
                status: need(w.status, "status")?,
                last_seen_ms: w.last_seen_ms,
            },
            ServerTag::CallState => ServerMessage::CallState {
                room: RoomField::id(w.room)?,
                call: need(w.call, "call")?,
                video: w.video,
                caller: w.caller,
                participants: need(w.participants, "participants")?,
            },
            ServerTag::Signal => ServerMessage::Signal {
                room: RoomField::id(w.room)?,
                from: need(w.from, "from")?,
                session: need(w.session, "session")?,
                data: need(w.data, "data")?,
            },
            ServerTag::IceServers => ServerMessage::IceServers {
                servers: need(w.servers, "servers")?,
                expires_at_ms: need(w.expires_at_ms, "expires_at_ms")?,
            },
            ServerTag::Pong => ServerMessage::Pong {
                nonce: need(w.nonce, "nonce")?,
            },
            ServerTag::Error => ServerMessage::Error {
                code: need(w.code, "code")?,
                message: need(w.message, "message")?,
                client_id: w.client_id,
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SignalTag {
    Offer,
    Answer,
    Candidate,
    Files,
    Bye,
    Muted,
}

/// [`SignalData`] with every variant's fields as optional fields.
#[derive(Deserialize)]
pub struct SignalWire {
    kind: SignalTag,
    sdp: Option<String>,
    candidate: Option<String>,
    sdp_mid: Option<String>,
    sdp_m_line_index: Option<u16>,
    files: Option<Vec<FileMeta>>,
    muted: Option<bool>,
}

impl TryFrom<SignalWire> for SignalData {
    type Error = MissingField;

    fn try_from(w: SignalWire) -> Result<Self, MissingField> {
        Ok(match w.kind {
            SignalTag::Offer => SignalData::Offer {
                sdp: need(w.sdp, "sdp")?,
            },
            SignalTag::Answer => SignalData::Answer {
                sdp: need(w.sdp, "sdp")?,
            },
            SignalTag::Candidate => SignalData::Candidate {
                candidate: need(w.candidate, "candidate")?,
                sdp_mid: w.sdp_mid,
                sdp_m_line_index: w.sdp_m_line_index,
            },
            SignalTag::Files => SignalData::Files {
                files: need(w.files, "files")?,
            },
            SignalTag::Bye => SignalData::Bye,
            SignalTag::Muted => SignalData::Muted {
                muted: need(w.muted, "muted")?,
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ChannelTag {
    Get,
    Ack,
    End,
    Verified,
    Cancel,
}

/// [`ChannelMessage`] with every variant's fields as optional fields.
#[derive(Deserialize)]
pub struct ChannelWire {
    #[serde(rename = "type")]
    tag: ChannelTag,
    file: Option<u32>,
    offset: Option<u64>,
    sha256: Option<String>,
    ok: Option<bool>,
    reason: Option<String>,
}

impl TryFrom<ChannelWire> for ChannelMessage {
    type Error = MissingField;

    fn try_from(w: ChannelWire) -> Result<Self, MissingField> {
        Ok(match w.tag {
            ChannelTag::Get => ChannelMessage::Get {
                file: need(w.file, "file")?,
                offset: need(w.offset, "offset")?,
            },
            ChannelTag::Ack => ChannelMessage::Ack {
                file: need(w.file, "file")?,
                offset: need(w.offset, "offset")?,
            },
            ChannelTag::End => ChannelMessage::End {
                file: need(w.file, "file")?,
                sha256: need(w.sha256, "sha256")?,
            },
            ChannelTag::Verified => ChannelMessage::Verified {
                file: need(w.file, "file")?,
                ok: need(w.ok, "ok")?,
            },
            ChannelTag::Cancel => ChannelMessage::Cancel { reason: w.reason },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_variant_without_its_fields_is_refused_by_name() {
        let err = serde_json::from_value::<ServerMessage>(json!({"type": "pong"})).unwrap_err();
        assert!(err.to_string().contains("missing field `nonce`"), "{err}");
        let err = serde_json::from_str::<ServerMessage>(r#"{"type":"room_updated","room":"r1"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("`room`"), "{err}");
        let err = serde_json::from_str::<ServerMessage>(
            r#"{"type":"blocked","user":"a","blocked":["b"]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("`blocked`"), "{err}");
        assert!(serde_json::from_str::<ServerMessage>(r#"{"type":"launch"}"#).is_err());
        assert!(serde_json::from_str::<ServerMessage>(r#"{"nonce":1}"#).is_err());
        let err = serde_json::from_str::<Event>(
            r#"{"room":"r","seq":1,"sender":"a","at_ms":1,"kind":"edit","body":"x"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("`target`"), "{err}");
        assert!(serde_json::from_str::<ChannelMessage>(r#"{"type":"get","file":1}"#).is_err());
        assert!(serde_json::from_str::<SignalData>(r#"{"kind":"offer"}"#).is_err());
        assert!(serde_json::from_str::<SignalData>(r#"{"kind":"muted"}"#).is_err());
    }

    #[test]
    fn fields_may_come_in_any_order_and_unknown_ones_are_ignored() {
        let text = r#"{"extra":[1,{"a":2}],"nonce":9,"type":"pong"}"#;
        assert_eq!(
            serde_json::from_str::<ServerMessage>(text).unwrap(),
            ServerMessage::Pong { nonce: 9 }
        );
        let text = r#"{"kind":"delete","target":3,"at_ms":1,"sender":"a","seq":4,"room":"r"}"#;
        let event: Event = serde_json::from_str(text).unwrap();
        assert_eq!(event.kind, EventKind::Delete { target: Seq(3) });
    }
}
