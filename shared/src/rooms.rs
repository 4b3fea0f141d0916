//! What a client knows about a conversation before it opens it, and about the people in it.

use crate::events::Role;
use crate::ids::{RoomId, Seq};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// A named room with roles; people are added, invited or join by link.
    Group,
    /// A conversation between exactly two people; no name, no roles, cannot be left.
    Direct,
}

/// One entry of "my rooms", as the room list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub id: RoomId,
    pub kind: RoomKind,
    /// For a direct conversation: the other person's username.
    pub name: String,
    pub topic: String,
    /// My role (always `member` in a direct conversation).
    pub role: Role,
    /// Whether an admin muted me here.
    pub muted: bool,
    pub member_count: u32,
    /// The newest event's position: a client whose cursor is lower has something to fetch.
    pub last_seq: Seq,
    /// How far I have read.
    pub read_seq: Seq,
    /// Messages from others after `read_seq` that are not deleted (at most 999 are counted).
    pub unread: u32,
    /// How many of those mention me.
    pub unread_mentions: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<Preview>,
    /// Which of its messages notify me (my choice, per room; absent means `all`).
    #[serde(default, skip_serializing_if = "NotifyLevel::is_all")]
    pub notify: NotifyLevel,
}

/// Which messages of a room notify someone: a choice each member makes for themselves.
/// Calls ring unless it is `none`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevel {
    #[default]
    All,
    /// Only messages that mention me.
    Mentions,
    /// Nothing, not even calls (the unread count still shows).
    None,
}

impl NotifyLevel {
    pub fn is_all(&self) -> bool {
        *self == Self::All
    }

    /// The name stored and sent (`all`, `mentions`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::None => "none",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "all" => Some(Self::All),
            "mentions" => Some(Self::Mentions),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// The newest message of a room, shortened for a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub seq: Seq,
    pub sender: String,
    /// The first [`Preview::MAX_CHARS`] characters; empty for a deleted message.
    pub text: String,
    pub deleted: bool,
    pub at_ms: i64,
}

impl Preview {
    pub const MAX_CHARS: usize = 100;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// At least one of the user's sessions is connected and active.
    Online,
    /// Connected, but every session reports the user idle or the tab hidden.
    Away,
    Offline,
}

/// A member of a room as the member list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub username: String,
    /// What they chose to be called (not unique; clients show it with the username).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    pub role: Role,
    pub muted: bool,
    pub presence: Presence,
    /// When the user was last connected; absent while connected or if never seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<i64>,
    /// Receipts: how far the user's devices have received and read this room.
    pub delivered_seq: Seq,
    pub read_seq: Seq,
}
