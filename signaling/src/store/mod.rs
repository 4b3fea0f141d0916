//! Durable state behind one small interface, [`Storage`], so handlers do not know which
//! database they talk to. Two stores implement it: [`SqliteStore`], the embedded default (one
//! server process, a file in the data directory), and [`PgStore`] on PostgreSQL, for
//! deployments of several server processes sharing one database. [`open`] picks one from the
//! configured database URL. Both pass the same conformance suite (`tests/`).
//!
//! Contract every implementation keeps:
//! - a method that returns `Ok` has committed durably (SQLite: WAL with `synchronous = FULL`;
//!   PostgreSQL: `synchronous_commit = on`), which is what lets the server acknowledge right
//!   after it;
//! - [`Storage::append`] gives the room's next seq (last + 1) and applies the event's effect in
//!   the same transaction, so seqs have no gaps and a crash leaves either both or neither;
//!   seqs follow commit order even when several processes append to a room at once;
//! - an event with a client id is stored once per (sender, client id).

mod columns;
mod postgres;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::calls::{CallInfo, CallKey, CallSocket, Ended, JoinError, Leaving, Left};
use async_trait::async_trait;
use shared::api::ThreadSummary;
use shared::events::{Attachment, Event, Role};
use shared::rooms::{NotifyLevel, RoomKind, RoomSummary};
use shared::{ClientMsgId, RoomId, Seq};
use std::path::Path;
use std::sync::Arc;

/// Primary key of a user row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("username is taken")]
    UsernameTaken,
    /// An administrator deactivated the account: it may not log in.
    #[error("the account is deactivated")]
    Deactivated,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// From the group commit's own SQLite connection (`sqlite::message_batch`).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// The database URL names no store this server has (only the scheme is kept: the rest
    /// may hold a password).
    #[error(
        "unsupported database URL scheme {0:?}: use postgres:// (or postgresql://), or no URL for SQLite"
    )]
    UnsupportedUrl(String),
    /// Something stored cannot be read back as what it should be.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

/// Opens the store the server is configured with: PostgreSQL for a `postgres://` or
/// `postgresql://` URL, SQLite's `chat.db` in `data_dir` without one (or an empty one).
pub async fn open(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<Arc<dyn Storage>, StoreError> {
    let Some(url) = database_url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(Arc::new(SqliteStore::open(data_dir).await?));
    };
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::connect(url).await?)),
        _ => Err(StoreError::UnsupportedUrl(
            scheme.chars().take(20).collect(),
        )),
    }
}

/// A bot account, as the administration lists it.
#[derive(Debug, Clone)]
pub struct BotRow {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub created_ms: i64,
    pub deactivated: bool,
    /// Live tokens (0 or 1: a new token ends the old one).
    pub tokens: i64,
    pub last_used_ms: i64,
    /// The rooms it is a member of: its scope.
    pub rooms: Vec<(RoomId, String)>,
}

/// Who has a support conversation (`crate::support`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportState {
    /// The assistant answers.
    Assistant,
    /// Handed over; waiting for an agent to claim it.
    Waiting,
    /// An agent has it.
    Agent,
    Resolved,
}

impl SupportState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assistant => "assistant",
            Self::Waiting => "waiting",
            Self::Agent => "agent",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Assistant, Self::Waiting, Self::Agent, Self::Resolved]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A support conversation: its room, its customer, and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportConversation {
    pub room: RoomId,
    pub customer: UserId,
    pub state: SupportState,
    pub agent: Option<UserId>,
    pub reason: String,
    pub summary: String,
    pub unsure_in_a_row: u32,
    pub created_ms: i64,
    pub escalated_ms: Option<i64>,
    pub claimed_ms: Option<i64>,
    pub first_reply_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
}

/// The support desk's figures on the insight page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportFigures {
    pub conversations: i64,
    /// Never handed to a person.
    pub without_person: i64,
    /// Handed to a person, by reason.
    pub escalations: Vec<(String, i64)>,
    /// From handing over to an agent's first reply, the median.
    pub median_first_reply_ms: Option<i64>,
}

/// A slash command a bot offers in its rooms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BotCommand {
    /// Without the slash: `weather`.
    pub name: String,
    pub description: String,
    /// What follows the name, as help shows it: `<city>`.
    #[serde(default)]
    pub usage: String,
}

/// The bot behind an API token.
#[derive(Debug, Clone)]
pub struct BotSession {
    pub user: UserId,
    pub username: String,
    pub account_created_ms: i64,
    pub token_created_ms: i64,
    pub last_used_ms: i64,
}

/// An outgoing webhook to add.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: String,
    pub room: RoomId,
    pub url: String,
    pub secret: String,
    pub created_by: String,
    pub created_ms: i64,
}

/// An outgoing webhook and how its delivery stands.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: String,
    pub room: RoomId,
    pub url: String,
    pub secret: String,
    pub created_by: String,
    pub created_ms: i64,
    /// Every event up to this seq was delivered or given up on.
    pub delivered_through: Seq,
    /// Failed attempts at the next event.
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_status: String,
    pub delivered: i64,
    pub failed: i64,
}

/// What one delivery round did to a webhook.
#[derive(Debug, Clone)]
pub struct WebhookProgress {
    pub delivered_through: Seq,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_status: String,
    /// Events delivered and given up on in this round.
    pub delivered: u32,
    pub failed: u32,
    /// The lease, extended while delivering or 0 to let it go.
    pub leased_until_ms: i64,
    /// When this is written: a lease that ran out before holds nothing.
    pub now_ms: i64,
}

/// A user found by name, with what log-in needs to check the password.
pub struct UserCredentials {
    pub id: UserId,
    pub username: String,
    pub password_hash: String,
}

/// The account behind a live session.
pub struct SessionUser {
    pub user: UserId,
    pub username: String,
    pub expires_at_ms: i64,
    /// When the session was last recorded as used (see [`Storage::touch_session`]).
    pub last_used_ms: i64,
    /// When it was started (the log-in).
    pub created_ms: i64,
    /// When the account was made (abuse controls treat young accounts apart).
    pub account_created_ms: i64,
    /// A guest of the support desk (`crate::support::guests`), not an account.
    pub guest: bool,
}

/// Where a session was started, for the devices page.
#[derive(Debug, Clone, Default)]
pub struct SessionOrigin {
    /// A short label such as "Firefox on Linux".
    pub device: String,
    /// The client address (as rate limits count it).
    pub address: String,
}

/// A user's TOTP set-up.
#[derive(Debug, Clone)]
pub struct TwoFactor {
    pub secret: Vec<u8>,
    /// Set-up finished: log-in asks for a code.
    pub enabled: bool,
}

/// A passkey of an account. `passkey` is webauthn-rs's serialised credential (the store does
/// not read it).
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub credential_id: Vec<u8>,
    pub name: String,
    pub passkey: String,
    pub created_ms: i64,
    pub last_used_ms: i64,
}

/// What a WebAuthn ceremony in progress is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    Register,
    LogIn,
}

impl CeremonyKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::LogIn => "login",
        }
    }
}

/// A single sign-on log-in sent to the provider and not back yet (see [`crate::sso`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLogin {
    /// The OAuth `state` the provider hands back.
    pub state: String,
    /// SHA-256 of the value in the browser's flow cookie.
    pub browser_hash: [u8; 32],
    pub pkce_verifier: String,
    pub nonce: String,
    pub created_ms: i64,
}

/// One of a user's sessions, as the devices page lists it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_hash: Vec<u8>,
    pub created_ms: i64,
    pub last_used_ms: i64,
    pub origin: SessionOrigin,
}

/// A user as named on the wire: the id and the name as they chose to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedUser {
    pub id: UserId,
    pub name: String,
}

/// What one user is in one room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub kind: RoomKind,
    pub role: Role,
    pub muted: bool,
}

/// A file offer kept for its receiver ([`Storage::put_file_offer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOffer {
    pub room: RoomId,
    pub from: NamedUser,
    pub to: UserId,
    pub session: String,
    /// The offer's `files`, as the protocol's JSON array.
    pub files: String,
    pub created_ms: i64,
}

/// A file left on the server: an upload until `hash` is set, then an attachment a message of
/// its owner may carry (see migration 0018 and `crate::media`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: String,
    pub owner: UserId,
    pub room: RoomId,
    pub name: String,
    pub size: u64,
    /// As declared while uploading; as served once complete.
    pub mime: String,
    pub hash: Option<String>,
    pub thumb: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The message that carried it was deleted; it is about to be collected.
    pub released: bool,
    /// A message carries it.
    pub carried: bool,
    pub created_ms: i64,
}

impl StoredFile {
    /// As a message carries it.
    pub fn attachment(&self) -> Box<Attachment> {
        Box::new(Attachment {
            id: self.id.clone(),
            name: self.name.clone(),
            mime: self.mime.clone(),
            size: self.size,
            width: self.width,
            height: self.height,
        })
    }
}

/// What a finished upload turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFile {
    pub hash: String,
    pub mime: String,
    pub thumb: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A link preview as kept (see migration 0020 and `crate::previews`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPreview {
    pub url: String,
    /// False: the page could not be fetched or had nothing to show (kept to not ask again).
    pub ok: bool,
    pub title: String,
    pub description: String,
    pub site: String,
    /// A small JPEG or PNG of the page's image.
    pub image: Option<Vec<u8>>,
    pub fetched_ms: i64,
}

/// Why an upload could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadRefused {
    /// The account's files would take more than its quota; they take this much now.
    Quota { used: u64 },
    /// The account has this many uploads unfinished already.
    TooManyOpen,
}

/// A Web Push subscription: where one browser of one session receives pushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    pub endpoint: String,
    pub session_hash: [u8; 32],
    pub user: UserId,
    /// The browser's P-256 public key and auth secret, base64url as the Push API gives them.
    pub p256dh: String,
    pub auth: String,
    pub created_ms: i64,
}

/// A subscription of a member of a room, with what that member wants from the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub user: NamedUser,
    pub notify: NotifyLevel,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// The member lets pushes carry the message's text.
    pub show_text: bool,
}

/// File offers one sender may have waiting at once.
pub const FILE_OFFERS_PER_SENDER: i64 = 20;

/// A member row with what the member list and receipts need.
#[derive(Debug, Clone)]
pub struct MemberRecord {
    pub user: NamedUser,
    /// "" when not set.
    pub display_name: String,
    pub role: Role,
    pub muted: bool,
    pub joined_at_ms: i64,
    pub delivered_seq: Seq,
    pub read_seq: Seq,
    pub last_seen_ms: Option<i64>,
}

/// What the rules need to know about a message before an operation on it.
#[derive(Debug, Clone)]
pub struct MessageInfo {
    pub sender: UserId,
    pub deleted: bool,
    /// Distinct emoji on it.
    pub reaction_kinds: usize,
    /// Whether the emoji being asked about is already on the message (from anyone).
    pub emoji_present: bool,
}

/// An event to add to a room, with the names the wire form carries. Each applies its effect
/// (a new member, a new name, an edited message...) in the transaction that stores it.
#[derive(Debug, Clone)]
pub enum Draft {
    Message {
        body: String,
        reply_to: Option<Seq>,
        mentions: Vec<String>,
        attachment: Option<Box<Attachment>>,
    },
    Edit {
        target: Seq,
        body: String,
    },
    Delete {
        target: Seq,
    },
    Reaction {
        target: Seq,
        emoji: String,
        added: bool,
    },
    Renamed {
        name: String,
    },
    TopicChanged {
        topic: String,
    },
    /// The sender becomes a member.
    Joined,
    Added {
        user: NamedUser,
    },
    /// The sender stops being a member.
    Left,
    Removed {
        user: NamedUser,
    },
    RoleChanged {
        user: NamedUser,
        role: Role,
    },
    Muted {
        user: NamedUser,
        muted: bool,
    },
    /// Banning also ends the membership and the user's invite links; unbanning lets them be
    /// added or join by a link again.
    Banned {
        user: NamedUser,
        banned: bool,
    },
    CallStarted {
        call: String,
        video: bool,
    },
    CallEnded {
        call: String,
        duration_ms: i64,
        missed: bool,
        declined: bool,
    },
}

/// [`Storage::append_messages`] for a thread that may block (see [`Storage::blocking_appender`]).
pub trait BlockingAppend: Send + Sync + 'static {
    fn append_messages(
        &self,
        batch: &[PendingMessage],
        now_ms: i64,
    ) -> Result<Vec<Appended>, StoreError>;
}

/// A message waiting for the next group commit (see [`Storage::append_messages`]).
#[derive(Debug, Clone)]
pub struct PendingMessage {
    pub room: RoomId,
    pub sender: NamedUser,
    pub client_id: ClientMsgId,
    pub body: String,
    pub reply_to: Option<Seq>,
    pub mentions: Vec<String>,
    /// A finished upload of the sender's to this room (checked before it was queued).
    pub attachment: Option<Box<Attachment>>,
}

/// What became of one message of a group commit.
#[derive(Debug, Clone)]
// The results of one group commit live only until its acks are sent; boxing every event
// would cost an allocation per message on the hottest path.
#[allow(clippy::large_enum_variant)]
pub enum Appended {
    /// Stored now under the next seq of its room.
    New(Event),
    /// Its client id was used before (a resend): nothing was stored; the earlier event stands.
    Earlier,
    /// The sender is no longer a member of the room (removed since the request was checked).
    NotMember,
    /// The sender was muted since the request was checked.
    Muted,
    /// A direct conversation where one side blocked the other.
    Blocked,
}

/// A new room and its first event.
pub struct NewRoom<'a> {
    pub id: RoomId,
    pub kind: RoomKind,
    pub name: &'a str,
    pub topic: &'a str,
    pub creator: &'a NamedUser,
    pub client_id: &'a ClientMsgId,
    /// Direct conversations: the other person (a member from the start) and the pair's key.
    pub direct: Option<(&'a NamedUser, String)>,
}

/// A report as the reporter files it, with the message as it reads now.
#[derive(Debug, Clone)]
pub struct ReportDraft {
    pub room: RoomId,
    pub seq: Seq,
    pub sender: NamedUser,
    pub body: String,
    pub reporter: UserId,
    pub reason: String,
    pub at_ms: i64,
}

/// A stored report with the accounts it concerns.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub report: shared::admin::Report,
    pub reporter: UserId,
    pub sender: UserId,
}

/// The insight page's aggregates as stored; `latency` is (bucket, count) of
/// `crate::admin::insight`'s histogram.
#[derive(Debug, Clone, Default)]
pub struct InsightRows {
    pub hourly: Vec<shared::admin::HourCount>,
    pub busiest_rooms: Vec<shared::admin::RoomCount>,
    pub daily_active: Vec<shared::admin::DayCount>,
    pub weekly_active: Vec<shared::admin::DayCount>,
    pub signups: Vec<shared::admin::DayCount>,
    pub latency: Vec<(u32, u64)>,
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    // --- accounts and sessions ---

    /// Creates the account and makes it a member of the lobby (its owner, if it has none).
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError>;
    /// Case-insensitive lookup.
    async fn find_user(&self, username: &str) -> Result<Option<UserCredentials>, StoreError>;
    async fn user_by_name(&self, username: &str) -> Result<Option<NamedUser>, StoreError>;
    /// A new session, counted as used at `now_ms`.
    async fn create_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
        origin: &SessionOrigin,
    ) -> Result<(), StoreError>;
    /// The user's unexpired sessions, most recently used first.
    async fn sessions_of(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    /// Ends the user's sessions, all of them or all but `keep`; returns the ended ones' hashes
    /// so their sockets can be closed.
    async fn end_sessions(
        &self,
        user: UserId,
        keep: Option<&[u8]>,
    ) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Ends the user's session with this hash; false if the user has none such.
    async fn end_session(&self, user: UserId, token_hash: &[u8]) -> Result<bool, StoreError>;
    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<(), StoreError>;

    // --- account deletion ---

    /// Every message of `user` that is not deleted yet, in every room, members or not.
    async fn live_messages_of(&self, user: UserId) -> Result<Vec<(RoomId, Seq)>, StoreError>;
    /// Ends what is left of an account once its messages are tombstones and it left its
    /// rooms: sessions, blocks both ways, two-factor, links it made, single sign-on identities
    /// (the same person signing on again gets a new account); the name is freed (the row
    /// stays, as `deleted-<id>`, because the timeline's events name it) and no password works.
    async fn forget_account(&self, user: UserId) -> Result<(), StoreError>;

    // --- single sign-on ---

    /// Stores a pending log-in, after deleting those created at or before `expired_before_ms`;
    /// false (nothing stored) when `max_pending` unexpired ones exist already.
    async fn add_sso_login(
        &self,
        login: &SsoLogin,
        expired_before_ms: i64,
        max_pending: u32,
    ) -> Result<bool, StoreError>;
    /// Removes and returns the pending log-in with this `state`, however old: a callback works
    /// once. The caller checks its age and browser.
    async fn take_sso_login(&self, state: &str) -> Result<Option<SsoLogin>, StoreError>;
    /// The account linked to the provider identity (`issuer`, `subject`).
    async fn sso_user(&self, issuer: &str, subject: &str) -> Result<Option<NamedUser>, StoreError>;
    /// [`Storage::create_user`] and its link to (`issuer`, `subject`) in one transaction.
    /// `UsernameTaken` when the name is; an identity linked already is a database error.
    async fn create_sso_user(
        &self,
        issuer: &str,
        subject: &str,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError>;

    // --- two-factor authentication ---

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactor>, StoreError>;
    /// Starts (or restarts) set-up with a new secret, unless two-factor is on: false then.
    async fn begin_two_factor(&self, user: UserId, secret: &[u8]) -> Result<bool, StoreError>;
    /// Turns two-factor on with the step its first code was for, and these recovery codes.
    async fn enable_two_factor(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[[u8; 32]],
    ) -> Result<(), StoreError>;
    /// Records that a code for `step` was used; false if that step or a later one already was
    /// (a code works once).
    async fn use_two_factor_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;
    /// Uses up a recovery code; false if it is not one of the user's (any more).
    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32]) -> Result<bool, StoreError>;
    async fn recovery_codes_left(&self, user: UserId) -> Result<usize, StoreError>;
    async fn disable_two_factor(&self, user: UserId) -> Result<(), StoreError>;

    // --- administrators and passkeys ---

    /// What the account is called besides its username ("" when not set).
    async fn display_name(&self, user: UserId) -> Result<String, StoreError>;
    async fn set_display_name(&self, user: UserId, name: &str) -> Result<(), StoreError>;
    /// Whether single sign-on made the account (it then has no password anyone knows).
    async fn has_sso_identity(&self, user: UserId) -> Result<bool, StoreError>;
    /// Whether any person's account exists (the first one may always sign up: it runs the
    /// server; bots do not count).
    async fn has_accounts(&self) -> Result<bool, StoreError>;
    /// Makes these existing accounts administrators; returns the names that have no account.
    async fn make_admins(&self, usernames: &[String]) -> Result<Vec<String>, StoreError>;
    /// Creates the account only if no account exists yet (the first one, on a server whose
    /// sign-up is not open); `None` when another account got there first.
    async fn create_first_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<UserId>, StoreError>;
    /// Whether the account is a server administrator: the first account, or one `--admin`
    /// named when the server started (by account, not by name).
    async fn is_admin(&self, user: UserId) -> Result<bool, StoreError>;
    /// The account's passkeys, oldest first.
    async fn passkeys(&self, user: UserId) -> Result<Vec<StoredPasskey>, StoreError>;
    /// Stores a new passkey; `false` when its credential id is registered already (to anyone).
    async fn add_passkey(
        &self,
        user: UserId,
        passkey: &StoredPasskey,
        max_per_user: usize,
    ) -> Result<bool, StoreError>;
    /// Records a use: the updated credential (its counter) and when.
    async fn passkey_used(
        &self,
        credential_id: &[u8],
        passkey: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// `false` when the account has no such passkey.
    async fn remove_passkey(&self, user: UserId, credential_id: &[u8]) -> Result<bool, StoreError>;
    /// Remembers a ceremony's state under the hash of its handle.
    async fn put_ceremony(
        &self,
        id_hash: &[u8],
        user: UserId,
        kind: CeremonyKind,
        state: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Takes (and deletes) an unexpired ceremony of this kind: each is used once.
    async fn take_ceremony(
        &self,
        id_hash: &[u8],
        kind: CeremonyKind,
        now_ms: i64,
    ) -> Result<Option<(UserId, String)>, StoreError>;
    /// The user behind an unexpired session. Whether it has been idle too long is the
    /// caller's policy, decided from `last_used_ms`.
    async fn session_user(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<SessionUser>, StoreError>;
    /// Records a use of the session at `now_ms` (never moves it back).
    async fn touch_session(&self, token_hash: &[u8], now_ms: i64) -> Result<(), StoreError>;
    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;
    /// Deletes sessions that expired by `now_ms` or were last used at or before `idle_since_ms`
    /// (and expired invites).
    async fn purge_expired_sessions(
        &self,
        now_ms: i64,
        idle_since_ms: i64,
    ) -> Result<u64, StoreError>;
    async fn set_last_seen(&self, user: UserId, at_ms: i64) -> Result<(), StoreError>;

    // --- blocks ---

    async fn set_blocked(
        &self,
        blocker: UserId,
        blocked: UserId,
        on: bool,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Whether `a` blocked `b` or `b` blocked `a`.
    async fn blocked_either_way(&self, a: UserId, b: UserId) -> Result<bool, StoreError>;
    /// Whether `blocker` blocked `blocked`.
    async fn has_blocked(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError>;
    async fn blocked_by(&self, blocker: UserId) -> Result<Vec<String>, StoreError>;

    // --- rooms and members ---

    async fn room_ids(&self, user: UserId) -> Result<Vec<RoomId>, StoreError>;
    /// `user`'s rooms that have at most `max_members` members (read from the stored count, so
    /// a huge room costs no more than a small one).
    async fn small_room_ids(
        &self,
        user: UserId,
        max_members: u32,
    ) -> Result<Vec<RoomId>, StoreError>;
    async fn room_summaries(&self, user: UserId) -> Result<Vec<RoomSummary>, StoreError>;
    async fn room_summary(
        &self,
        room: &RoomId,
        user: UserId,
    ) -> Result<Option<RoomSummary>, StoreError>;
    async fn membership(
        &self,
        room: &RoomId,
        user: UserId,
    ) -> Result<Option<Membership>, StoreError>;
    /// Keeps a file offer until it is answered, withdrawn or expires (replacing one with the
    /// same session); a sender keeps at most [`FILE_OFFERS_PER_SENDER`], the oldest go first.
    async fn put_file_offer(&self, offer: &FileOffer) -> Result<(), StoreError>;
    /// Forgets the offers of `session` between `a` and `b`, either way (answered or withdrawn).
    async fn remove_file_offer(
        &self,
        session: &str,
        a: UserId,
        b: UserId,
    ) -> Result<(), StoreError>;
    /// The offers waiting for `to` made at or after `since_ms`, oldest first; older ones are
    /// deleted.
    async fn file_offers_for(
        &self,
        to: UserId,
        since_ms: i64,
    ) -> Result<Vec<FileOffer>, StoreError>;
    // --- Files left on the server (crate::media) ---
    /// Adds an upload, unless the owner's files with it would pass `quota` bytes or the owner
    /// has `max_open` uploads unfinished.
    async fn create_upload(
        &self,
        file: &StoredFile,
        quota: u64,
        max_open: u32,
    ) -> Result<Result<(), UploadRefused>, StoreError>;
    async fn stored_file(&self, id: &str) -> Result<Option<StoredFile>, StoreError>;
    /// Marks an upload complete; false when it is gone or was complete already.
    async fn seal_upload(&self, id: &str, sealed: &SealedFile) -> Result<bool, StoreError>;
    /// Deletes an upload of `owner`'s that no message carries; returns it.
    async fn discard_upload(
        &self,
        id: &str,
        owner: UserId,
    ) -> Result<Option<StoredFile>, StoreError>;
    /// Bytes the account's files and unfinished uploads take.
    async fn media_used(&self, user: UserId) -> Result<u64, StoreError>;
    /// The file if `reader` may fetch it: complete and not released, and either theirs, or
    /// carried by a message of a room they are a member of.
    async fn readable_file(
        &self,
        id: &str,
        reader: UserId,
    ) -> Result<Option<StoredFile>, StoreError>;
    /// Deletes (at most `limit`) rows whose message was deleted, and rows no message carries
    /// made before `stale_before_ms`; returns them.
    async fn collect_files(
        &self,
        stale_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<StoredFile>, StoreError>;
    /// Whether a file, an account or a room names `hash` (content, thumbnail, picture).
    async fn blob_in_use(&self, hash: &str) -> Result<bool, StoreError>;
    /// Sets (or with `None` clears) an account's picture; returns the one it replaces.
    async fn set_user_avatar(
        &self,
        user: UserId,
        hash: Option<&str>,
    ) -> Result<Option<String>, StoreError>;
    /// The picture of the account named `username` (any case), if it has one and `reader`
    /// may see it: their own, or one who shares a room with them when `only_shared`.
    async fn user_avatar(
        &self,
        username: &str,
        reader: UserId,
        only_shared: bool,
    ) -> Result<Option<String>, StoreError>;
    /// Sets (or clears) a room's picture; returns the one it replaces.
    async fn set_room_avatar(
        &self,
        room: &RoomId,
        hash: Option<&str>,
    ) -> Result<Option<String>, StoreError>;
    async fn room_avatar(&self, room: &RoomId) -> Result<Option<String>, StoreError>;
    // --- Link previews (crate::previews) ---
    async fn link_preview(&self, url: &str) -> Result<Option<LinkPreview>, StoreError>;
    /// Keeps a preview, replacing an older one of the same URL.
    async fn put_link_preview(&self, preview: &LinkPreview) -> Result<(), StoreError>;
    /// Forgets previews fetched before `before_ms`; returns how many.
    async fn forget_link_previews(&self, before_ms: i64) -> Result<u64, StoreError>;
    // --- Web Push ---

    /// The server's key `name`: the one stored, or `fresh` stored now if there is none (every
    /// node ends up with the one stored first).
    async fn server_key(
        &self,
        name: &str,
        fresh: &[u8],
        now_ms: i64,
    ) -> Result<Vec<u8>, StoreError>;
    /// Stores (or moves to this session) a subscription; a user keeps at most `per_user`, the
    /// oldest go.
    async fn add_push_subscription(
        &self,
        subscription: &PushSubscription,
        per_user: i64,
    ) -> Result<(), StoreError>;
    /// Forgets `endpoint`, if it is `user`'s (any user's for `None`: the push service said it
    /// is gone). Whether there was one.
    async fn remove_push_subscription(
        &self,
        endpoint: &str,
        user: Option<UserId>,
    ) -> Result<bool, StoreError>;
    /// Whether `user`'s pushes may carry the message's text.
    async fn push_text(&self, user: UserId) -> Result<bool, StoreError>;
    async fn set_push_text(&self, user: UserId, on: bool) -> Result<(), StoreError>;
    /// The subscriptions of the members of `room` other than `except`.
    async fn push_targets(
        &self,
        room: &RoomId,
        except: UserId,
    ) -> Result<Vec<PushTarget>, StoreError>;
    /// Claims up to `limit` queued pushes nobody holds (or whose holder's claim ran out) until
    /// `until_ms`.
    async fn claim_pushes(
        &self,
        now_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<(RoomId, Seq)>, StoreError>;
    /// A queued push was sent (or is not needed): forget it.
    async fn finish_push(&self, room: &RoomId, seq: Seq) -> Result<(), StoreError>;
    /// The event `seq` of `room` as the timeline has it (a message in its current state).
    async fn event_at(&self, room: &RoomId, seq: Seq) -> Result<Option<Event>, StoreError>;

    /// The threads of `room` (messages with replies), the most recently answered first.
    async fn threads(&self, room: &RoomId, limit: u32) -> Result<Vec<ThreadSummary>, StoreError>;
    /// The messages of the thread of `root` after `after`, oldest first (the root itself while
    /// `after` is below it), and whether that is all of them.
    async fn thread(
        &self,
        room: &RoomId,
        root: Seq,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError>;
    /// Sets which messages of `room` notify `user`; false when they are not a member.
    async fn set_notify(
        &self,
        room: &RoomId,
        user: UserId,
        level: NotifyLevel,
    ) -> Result<bool, StoreError>;
    /// Members in the order they joined.
    async fn members(&self, room: &RoomId) -> Result<Vec<MemberRecord>, StoreError>;
    async fn direct_room(&self, key: &str) -> Result<Option<RoomId>, StoreError>;
    /// Creates the room, its owner (or both members of a direct conversation) and the
    /// `created` event at seq 1.
    async fn create_room(&self, room: NewRoom<'_>, now_ms: i64) -> Result<Event, StoreError>;
    /// Stores a link token's hash for `room`.
    async fn create_invite(
        &self,
        token_hash: &[u8],
        room: &RoomId,
        by: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Who made the invite link with this hash for `room`, if it exists there.
    async fn invite_creator(
        &self,
        token_hash: &[u8],
        room: &RoomId,
    ) -> Result<Option<UserId>, StoreError>;
    /// Deletes the room's link with this hash, or all of its links; returns how many.
    async fn revoke_invites(
        &self,
        room: &RoomId,
        token_hash: Option<&[u8]>,
    ) -> Result<u64, StoreError>;
    async fn is_banned(&self, room: &RoomId, user: UserId) -> Result<bool, StoreError>;
    /// How many rooms `user` is in, and how many of them they chose (see migration 0006).
    async fn room_counts(&self, user: UserId) -> Result<(usize, usize), StoreError>;
    /// The room of an unexpired invite.
    async fn invite_room(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<RoomId>, StoreError>;

    // --- timeline ---

    /// The event stored earlier under this idempotency key, in its current state.
    async fn event_by_client_id(
        &self,
        sender: UserId,
        client_id: &ClientMsgId,
    ) -> Result<Option<Event>, StoreError>;
    /// Adds the next event to `room` and applies its effect. The caller checked the rules and
    /// that the client id is new.
    async fn append(
        &self,
        room: &RoomId,
        sender: &NamedUser,
        client_id: Option<&ClientMsgId>,
        draft: Draft,
        now_ms: i64,
    ) -> Result<Event, StoreError> {
        let mut events = self
            .append_all(room, sender, vec![(client_id.cloned(), draft)], now_ms)
            .await?;
        Ok(events.remove(0))
    }
    /// Adds several events to `room` in one transaction: all or none, consecutive seqs.
    async fn append_all(
        &self,
        room: &RoomId,
        sender: &NamedUser,
        drafts: Vec<(Option<ClientMsgId>, Draft)>,
        now_ms: i64,
    ) -> Result<Vec<Event>, StoreError>;
    /// Appends messages of any senders and rooms in ONE transaction and one fsync (group
    /// commit), in order. Each is checked inside the transaction (client id unused, sender an
    /// unmuted member, no block in a direct conversation), so no check made earlier can go
    /// stale. Seqs are read, then written: the caller holds the in-process order lock, and a
    /// store shared by several processes also locks the batch's rooms (in one fixed order, so
    /// batches cannot deadlock). An error means none of them was stored.
    async fn append_messages(
        &self,
        batch: &[PendingMessage],
        now_ms: i64,
    ) -> Result<Vec<Appended>, StoreError>;
    /// The same as [`Storage::append_messages`] on the calling thread, which it blocks, when
    /// the store can do that without an async runtime in between (SQLite, on a connection of
    /// its own): the group commit then runs on a thread of its own (see `crate::commit`).
    /// `None` where every query goes through the runtime anyway (PostgreSQL).
    fn blocking_appender(&self) -> Option<Arc<dyn BlockingAppend>> {
        None
    }
    /// A message of `room`, with what the rules need; `None` when `seq` is not a message.
    async fn message_info(
        &self,
        room: &RoomId,
        seq: Seq,
        emoji: Option<&str>,
    ) -> Result<Option<MessageInfo>, StoreError>;
    /// Up to `limit` visible events (messages and notices) older than `before` (the newest
    /// when `None`), oldest first, whether they reach the room's start, and the room's last seq.
    async fn history(
        &self,
        room: &RoomId,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<(Vec<Event>, bool, Seq), StoreError>;
    /// Up to `limit` messages `sender` wrote in `room` after `after`, oldest first, in their
    /// current state, and whether they reach the newest (for the export of rooms left).
    async fn messages_by(
        &self,
        room: &RoomId,
        sender: UserId,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError>;
    /// Up to `limit` events of every kind after `after`, oldest first, and whether they reach
    /// the newest.
    async fn events_after(
        &self,
        room: &RoomId,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError>;
    /// Raises the member's receipts (clamped to the room's last seq; read implies delivered)
    /// and returns the new pair if either moved.
    async fn advance_receipts(
        &self,
        room: &RoomId,
        user: UserId,
        delivered: Seq,
        read: Seq,
    ) -> Result<Option<(Seq, Seq)>, StoreError>;

    // --- calls going on (see crate::calls) ---

    /// Registers a call with the caller's socket in it; false if the room has a call with this
    /// id going on.
    async fn start_call(
        &self,
        key: &CallKey,
        video: bool,
        caller: UserId,
        at: CallSocket,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Adds a socket to a call unless it has `max_users` other people in it; returns who is
    /// in it (usernames, once each, sorted). Someone besides the caller makes it answered.
    async fn join_call(
        &self,
        key: &CallKey,
        user: UserId,
        at: CallSocket,
        max_users: usize,
    ) -> Result<Result<Vec<String>, JoinError>, StoreError>;
    /// Takes these sockets out of their calls (only out of `only`, when given). Each call they
    /// left comes back once with who is still in it; the one departure that empties a call
    /// ends it (deleted, and its [`Ended`] returned), whichever node asks.
    async fn leave_calls(
        &self,
        who: Leaving<'_>,
        only: Option<&CallKey>,
        now_ms: i64,
    ) -> Result<Vec<Left>, StoreError>;
    /// Ends a call nobody answered: rung out (`declined_by` `None`) or declined by someone who
    /// is not the caller. `None` when it was answered, is over, or the caller declined.
    async fn end_unanswered_call(
        &self,
        key: &CallKey,
        declined_by: Option<UserId>,
        now_ms: i64,
    ) -> Result<Option<Ended>, StoreError>;
    /// The calls going on in these rooms.
    async fn calls_in(&self, rooms: &[RoomId]) -> Result<Vec<CallInfo>, StoreError>;
    // ---- administration (`crate::admin`; sqlite/admin.rs, postgres/admin.rs) ----

    /// Deactivates (`Some(when)`) or reactivates the account; false if there is none.
    async fn set_deactivated(&self, user: UserId, at_ms: Option<i64>) -> Result<bool, StoreError>;
    async fn is_deactivated(&self, user: UserId) -> Result<bool, StoreError>;
    async fn set_admin(&self, user: UserId, admin: bool) -> Result<bool, StoreError>;
    /// Accounts whose username or display name contains `query` (all when empty), by name.
    async fn admin_users(
        &self,
        query: &str,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<shared::admin::AdminUser>, StoreError>;
    /// Rooms whose name contains `query` or whose id is `query`, most active first.
    async fn admin_rooms(
        &self,
        query: &str,
        limit: u32,
    ) -> Result<Vec<shared::admin::AdminRoom>, StoreError>;
    /// Empties the room for good and returns who were its members; `None` if there is no such
    /// room (the lobby cannot be deleted). The caller holds the order.
    async fn delete_room(&self, room: &RoomId) -> Result<Option<Vec<UserId>>, StoreError>;
    /// The room's own retention (`None`: the server's; `Some(0)`: keep everything).
    async fn set_room_retention(
        &self,
        room: &RoomId,
        days: Option<u32>,
    ) -> Result<bool, StoreError>;
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Rooms with a retention to apply: their own, else `default_days`.
    async fn retention_rooms(
        &self,
        default_days: Option<u32>,
    ) -> Result<Vec<(RoomId, u32)>, StoreError>;
    /// Deletes the events of `room` up to the newest stored before `cutoff_ms`, at most
    /// `chunk` seqs past the floor per call, and raises the room's history floor to what went;
    /// returns how many went (0: nothing left to delete).
    async fn expire_room(
        &self,
        room: &RoomId,
        cutoff_ms: i64,
        chunk: i64,
    ) -> Result<u64, StoreError>;
    /// The room `room`, exactly, unless deleted.
    async fn admin_room(
        &self,
        room: &RoomId,
    ) -> Result<Option<shared::admin::AdminRoom>, StoreError>;
    /// Opens again the reports that `close_reports` closed with `by` at `at_ms`.
    async fn reopen_reports(
        &self,
        room: &RoomId,
        seq: Seq,
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Every event of `room` up to this seq was deleted by retention (0: none).
    async fn history_floor(&self, room: &RoomId) -> Result<Seq, StoreError>;
    /// `None` when the reporter reported this message before.
    async fn add_report(&self, report: &ReportDraft) -> Result<Option<i64>, StoreError>;
    async fn open_reports_by(&self, reporter: UserId) -> Result<u64, StoreError>;
    /// Every report (`moderator` `None`) or those of rooms `moderator` owns or administers;
    /// open ones only unless `handled`; newest first.
    async fn reports(
        &self,
        moderator: Option<UserId>,
        handled: bool,
        limit: u32,
    ) -> Result<Vec<ReportRow>, StoreError>;
    async fn reports_by(&self, reporter: UserId, limit: u32) -> Result<Vec<ReportRow>, StoreError>;
    async fn report(&self, id: i64) -> Result<Option<ReportRow>, StoreError>;
    /// Gives every open report of the message its outcome; returns their reporters.
    async fn close_reports(
        &self,
        room: &RoomId,
        seq: Seq,
        status: shared::admin::ReportStatus,
        by: &str,
        at_ms: i64,
    ) -> Result<Vec<UserId>, StoreError>;
    async fn audit(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError>;
    async fn audit_log(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<shared::admin::AuditEntry>, StoreError>;
    async fn set_silenced(&self, user: UserId, until_ms: i64) -> Result<(), StoreError>;
    async fn silenced_until(&self, user: UserId) -> Result<i64, StoreError>;
    /// Adds a node's counts: messages per (hour, room), latencies per (hour, bucket), and who
    /// was active on which day.
    async fn record_activity(
        &self,
        hours: &[(i64, RoomId, u64)],
        latencies: &[(i64, u32, u64)],
        active: &[(i64, UserId)],
    ) -> Result<(), StoreError>;
    async fn insight(&self, now_ms: i64) -> Result<InsightRows, StoreError>;
    /// Forgets insight aggregates older than `before_ms`.
    async fn prune_activity(&self, before_ms: i64) -> Result<(), StoreError>;

    // ---- bots and webhooks (`crate::bots`, `crate::webhooks`; */integrations.rs) ----

    /// Makes a bot account, a member of no room (`UsernameTaken` if the name is in use).
    async fn create_bot(
        &self,
        username: &str,
        display_name: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError>;
    async fn is_bot(&self, user: UserId) -> Result<bool, StoreError>;
    /// The bots among the room's members.
    async fn room_bots(&self, room: &RoomId) -> Result<Vec<UserId>, StoreError>;
    /// Every bot, by name, with its rooms.
    async fn bots(&self) -> Result<Vec<BotRow>, StoreError>;
    /// Gives the bot this token, ending every other one; returns the ended tokens' hashes.
    async fn replace_bot_token(
        &self,
        user: UserId,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Ends every token of the bot; returns their hashes.
    async fn end_bot_tokens(&self, user: UserId) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The bot behind a token, unless it is deactivated.
    async fn bot_by_token(&self, token_hash: &[u8]) -> Result<Option<BotSession>, StoreError>;
    async fn touch_bot_token(&self, token_hash: &[u8], now_ms: i64) -> Result<(), StoreError>;
    /// The bot's slash commands become exactly these.
    async fn set_bot_commands(
        &self,
        user: UserId,
        commands: &[BotCommand],
    ) -> Result<(), StoreError>;
    /// The slash commands of the (active) bots in `room`, with each one's bot, by name.
    async fn room_commands(&self, room: &RoomId) -> Result<Vec<(String, BotCommand)>, StoreError>;
    /// False when the room does not exist (or was deleted).
    async fn create_webhook(&self, hook: &NewWebhook) -> Result<bool, StoreError>;
    /// Every webhook, with its room's name and newest seq.
    async fn webhooks(&self) -> Result<Vec<(WebhookRow, String, Seq)>, StoreError>;
    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;
    /// Leases to `lease`, until `until_ms`, up to `limit` webhooks that are due and behind
    /// their room; a webhook is leased to one node at a time.
    async fn claim_webhooks(
        &self,
        lease: &str,
        now_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<WebhookRow>, StoreError>;
    /// Records delivery progress while `lease` holds the webhook; false once it does not.
    async fn webhook_progress(
        &self,
        id: &str,
        lease: &str,
        progress: &WebhookProgress,
    ) -> Result<bool, StoreError>;

    // ---- the support desk (`crate::support`; */support.rs) ----

    async fn open_support(
        &self,
        room: &RoomId,
        customer: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn support_conversation(
        &self,
        room: &RoomId,
    ) -> Result<Option<SupportConversation>, StoreError>;
    /// The assistant answered, sure or not: the unsure answers in a row now (`None`: the
    /// assistant does not have the conversation).
    async fn support_answered(
        &self,
        room: &RoomId,
        unsure: bool,
    ) -> Result<Option<u32>, StoreError>;
    /// From the assistant to waiting; false when the assistant did not have it.
    async fn escalate_support(
        &self,
        room: &RoomId,
        reason: &str,
        summary: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// A waiting conversation to this agent: of agents claiming at once, exactly one wins.
    async fn claim_support(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// The agent's first reply is timed (true the first time).
    async fn support_replied(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    async fn resolve_support(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    async fn support_to_assistant(&self, room: &RoomId) -> Result<bool, StoreError>;
    /// Waiting conversations, oldest first, then the agent's own.
    async fn support_queue(
        &self,
        agent: UserId,
        limit: u32,
    ) -> Result<Vec<SupportConversation>, StoreError>;
    async fn support_figures(&self, since_ms: i64) -> Result<SupportFigures, StoreError>;
    /// The customer's conversations not resolved yet.
    async fn open_supports_of(&self, customer: UserId) -> Result<i64, StoreError>;
    /// The agent who has the conversation puts it back in the queue; false if they did not
    /// have it.
    async fn unassign_support(&self, room: &RoomId, agent: UserId) -> Result<bool, StoreError>;
    /// Makes a guest of the support desk: no password, no room, not counted as an account
    /// (`UsernameTaken` if the name is in use).
    async fn create_guest(
        &self,
        username: &str,
        display_name: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError>;
    async fn is_guest(&self, user: UserId) -> Result<bool, StoreError>;

    /// Copies logged pages back into the database without waiting for readers or writers
    /// (SQLite's WAL checkpoint); returns how many are left to copy. At 0 the next write
    /// starts the log over from its beginning. A store without such a log returns 0.
    async fn checkpoint(&self) -> Result<u64, StoreError>;

    async fn close(&self);
}

#[cfg(test)]
mod tests;
