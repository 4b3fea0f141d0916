//! JSON bodies of the administration and moderation endpoints (`/api/admin/*`,
//! `/api/moderation/*`, `/api/reports`); docs/PROTOCOL.md lists the routes. Read by
//! `public/admin.js` and `public/report.js`, not by the wasm client.

use crate::RoomId;
use serde::{Deserialize, Serialize};

/// Longest reason a reporter may give, in characters.
pub const MAX_REPORT_REASON: usize = 500;
/// Longest blocked word and most words in the server's list.
pub const MAX_BLOCKED_WORD: usize = 64;
pub const MAX_BLOCKED_WORDS: usize = 1_000;
/// Longest retention an administrator may set (about 100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub username: String,
    pub display_name: String,
    pub admin: bool,
    pub deactivated: bool,
    pub created_at_ms: i64,
    /// Last activity: the last socket closed, or a session used since (recorded about once a
    /// minute).
    pub last_seen_ms: Option<i64>,
    /// Sessions open now.
    pub sessions: u32,
    /// Flood detection keeps the account from posting until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced_until_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUsers {
    pub users: Vec<AdminUser>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    pub device: String,
    pub created_at_ms: i64,
    pub last_used_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSessions {
    pub sessions: Vec<AdminSession>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserAction {
    /// Ends every session and socket at once and keeps the account from logging in.
    Deactivate,
    Reactivate,
    /// Ends every session and socket (the account may log in again).
    SignOut,
    MakeAdmin,
    RemoveAdmin,
    /// Lets an account flood detection silenced post again at once.
    LiftSilence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserActionRequest {
    pub action: UserAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRoom {
    pub id: RoomId,
    pub name: String,
    /// "group" or "direct".
    pub kind: String,
    pub members: u32,
    /// The room's newest seq: how many events it ever had.
    pub messages: i64,
    pub last_activity_ms: Option<i64>,
    pub owner: Option<String>,
    /// `None`: the server's setting applies.
    pub retention_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRooms {
    pub rooms: Vec<AdminRoom>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRun {
    pub rooms: u64,
    pub deleted: u64,
}

/// What a blocked word does to a message that holds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WordAction {
    /// The message is refused with a reason.
    #[default]
    Block,
    /// The word is replaced by asterisks and the message stored.
    Mask,
}

/// Retention and abuse controls, changed at run time by administrators and shared by every
/// node through the database. A 0 turns a control off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Messages older than this are deleted (rooms may set their own).
    pub retention_days: Option<u32>,
    pub blocked_words: Vec<String>,
    pub word_action: WordAction,
    /// An account younger than this many hours is new...
    pub new_account_hours: u32,
    /// ... and may put at most this many links in a message.
    pub new_account_links: u32,
    /// The same text this many times...
    pub flood_repeats: u32,
    /// ... within this many seconds...
    pub flood_window_secs: u32,
    /// ... keeps the sender from posting anywhere for this many minutes.
    pub flood_mute_minutes: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            retention_days: None,
            blocked_words: Vec::new(),
            word_action: WordAction::Block,
            // Off until an administrator turns them on: what suits a community (or a bot that
            // repeats itself) differs too much for one default.
            new_account_hours: 0,
            new_account_links: 2,
            flood_repeats: 0,
            flood_window_secs: 60,
            flood_mute_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReport {
    pub room: RoomId,
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCreated {
    pub id: i64,
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Open,
    Deleted,
    Muted,
    Removed,
    Banned,
    Dismissed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Deleted => "deleted",
            Self::Muted => "muted",
            Self::Removed => "removed",
            Self::Banned => "banned",
            Self::Dismissed => "dismissed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Open,
            Self::Deleted,
            Self::Muted,
            Self::Removed,
            Self::Banned,
            Self::Dismissed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: i64,
    pub room: RoomId,
    pub room_name: String,
    pub seq: i64,
    pub sender: String,
    /// The message as it was when reported.
    pub body: String,
    pub reason: String,
    /// Only in the moderators' queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<String>,
    pub status: ReportStatus,
    pub created_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_by: Option<String>,
    pub handled_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reports {
    pub reports: Vec<Report>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    Delete,
    Mute,
    Remove,
    Ban,
    Dismiss,
}

impl ReportAction {
    pub fn outcome(self) -> ReportStatus {
        match self {
            Self::Delete => ReportStatus::Deleted,
            Self::Mute => ReportStatus::Muted,
            Self::Remove => ReportStatus::Removed,
            Self::Ban => ReportStatus::Banned,
            Self::Dismiss => ReportStatus::Dismissed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportActionRequest {
    pub action: ReportAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportHandled {
    pub status: ReportStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    pub at_ms: i64,
    pub messages: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub at_ms: i64,
    pub users: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCount {
    pub room: RoomId,
    pub name: String,
    pub messages: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Upper edges of the histogram bucket that holds the quantile (buckets ~19 % apart).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub deliveries: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    /// The last 48 hours, oldest first, every hour present.
    pub hourly: Vec<HourCount>,
    /// The last 7 days.
    pub busiest_rooms: Vec<RoomCount>,
    /// The last 30 days, oldest first, every day present.
    pub daily_active: Vec<DayCount>,
    /// The last 8 weeks (a week is 7 days ending at `at_ms` + 7 days).
    pub weekly_active: Vec<DayCount>,
    pub signups: Vec<DayCount>,
    /// Delivery latency over the last 24 hours.
    pub latency: Latency,
    /// The support desk's last 30 days, when the server runs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportInsight>,
}

/// The support desk's figures over the conversations opened in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportInsight {
    pub conversations: i64,
    /// Answered without a person: never handed over.
    pub without_person: i64,
    /// From handing over to a person's first reply, the median.
    pub median_first_reply_ms: Option<i64>,
    /// Handed to a person, by reason, each with its reason explained.
    pub escalations: Vec<EscalationCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationCount {
    pub reason: String,
    pub explained: String,
    pub count: i64,
}

/// A frame (`{"type": "notice", "text": ...}`) the server sends a user's sockets to tell them
/// something outside any room (the outcome of their report). The wasm client ignores it;
/// index.html hands it to `public/report.js`, which shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "notice")]
pub struct Notice {
    pub text: String,
}
