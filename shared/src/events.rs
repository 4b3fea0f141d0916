//! The timeline of a room: every change to a conversation is an [`Event`] with the next
//! gap-free [`Seq`] of its room.
//!
//! Messages are events, and so are the operations on them (edits, deletes, reactions) and the
//! changes to the room (members, name, topic, roles). A client that applies every event after
//! its cursor, in order, ends with the server's state. Operations are "set" operations (an edit
//! sets the text, a reaction sets one (user, emoji) pair on or off), so applying an event twice,
//! or applying it to a message that already shows its effect, changes nothing.
//!
//! Message events are always served in their *current* state: a message fetched after an edit
//! carries the edited text, and a deleted one is a tombstone with an empty body.

use crate::ids::{ClientMsgId, RoomId, Seq};
use serde::{Deserialize, Serialize};

/// One entry in a room's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "crate::wire::EventWire")]
pub struct Event {
    pub room: RoomId,
    pub seq: Seq,
    /// Username of whoever caused the event.
    pub sender: String,
    /// Server time of acceptance, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The sender's idempotency key, so the sender can match the event to its pending copy.
    /// Absent on events the server made on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientMsgId>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// True for events shown as an entry of the timeline (messages and room notices), false for
    /// operations whose effect is folded into the message they target.
    pub fn is_visible(&self) -> bool {
        !matches!(
            self.kind,
            EventKind::Edit { .. } | EventKind::Delete { .. } | EventKind::Reaction { .. }
        )
    }

    /// The message an operation applies to.
    pub fn target(&self) -> Option<Seq> {
        match &self.kind {
            EventKind::Edit { target, .. }
            | EventKind::Delete { target }
            | EventKind::Reaction { target, .. } => Some(*target),
            _ => None,
        }
    }
}

/// Decoded as part of [`Event`] (see [`crate::wire`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A text message, in its current state.
    Message {
        /// Empty when deleted.
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<Seq>,
        /// Usernames mentioned with `@name` who were members when it was sent.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<String>,
        /// Time of the last edit, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edited_at_ms: Option<i64>,
        /// A tombstone: the author deleted it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        deleted: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reactions: Vec<Reaction>,
        /// A file left on the server with the message (gone when the message is deleted).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<Box<Attachment>>,
    },
    /// The author replaced the text of message `target`.
    Edit {
        target: Seq,
        body: String,
    },
    /// The author deleted message `target`; it stays as a tombstone.
    Delete {
        target: Seq,
    },
    /// `sender` put (`added`) or took back a reaction on message `target`.
    Reaction {
        target: Seq,
        emoji: String,
        added: bool,
    },
    /// The room was created by `sender` (for a direct conversation: opened).
    Created {
        name: String,
    },
    Renamed {
        name: String,
    },
    TopicChanged {
        topic: String,
    },
    /// `sender` joined by themselves with an invite link. (Accounts join the lobby at sign-up
    /// without an event; both sides of a direct conversation are members from `created`.)
    Joined,
    /// `sender` added `user`.
    Added {
        user: String,
    },
    /// `sender` left.
    Left,
    /// `sender` removed `user`.
    Removed {
        user: String,
    },
    /// `sender` gave `user` the role `role`.
    RoleChanged {
        user: String,
        role: Role,
    },
    /// `sender` muted or unmuted `user`: a muted member reads but cannot post or react.
    Muted {
        user: String,
        muted: bool,
    },
    /// `sender` banned (`banned`) `user`, who stops being a member and cannot come back, or
    /// lifted the ban.
    Banned {
        user: String,
        banned: bool,
    },
    /// `sender` started a call with id `call`.
    CallStarted {
        call: String,
        video: bool,
    },
    /// The call `call` ended after `duration_ms`; `missed` when nobody but the caller joined,
    /// and also `declined` when the person called in a direct conversation said no.
    CallEnded {
        call: String,
        duration_ms: i64,
        missed: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        declined: bool,
    },
}

/// A file kept in the server's media store, as a message carries it. Fetched from
/// `/api/attachments/{id}` (and `/api/attachments/{id}/thumb` for images) by members of the
/// room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    /// The file name as the sender gave it, made safe (see [`crate::limits::clean_file_name`]).
    pub name: String,
    /// The type it is served as: what the server recognised in its bytes for images, what the
    /// sender declared for audio, `application/octet-stream` for anything else.
    pub mime: String,
    pub size: u64,
    /// Pixel size of an image's thumbnail, so the page can reserve its place before it loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// One emoji on a message and who put it there, in the order they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<String>,
}

/// What a member may do in a group room. Ordered: `Owner > Admin > Member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Posts, reacts, adds people, creates invite links.
    Member,
    /// Also renames, sets the topic, removes and mutes members.
    Admin,
    /// Also makes and unmakes admins. One per room; passed on when the owner leaves.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "member" => Some(Self::Member),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }
}
