//! JSON bodies of the HTTP account endpoints.
//!
//! | endpoint            | request        | success                      |
//! |---------------------|----------------|------------------------------|
//! | `POST /api/signup`  | [`Credentials`] | 201 [`SessionInfo`] + cookie |
//! | `POST /api/login`   | [`Credentials`] | 200 [`SessionInfo`] + cookie |
//! | `POST /api/logout`  | -              | 204, cookie cleared          |
//! | `GET /api/session`  | -              | 200 [`AccountInfo`]          |
//! | `GET /api/sessions` | -              | 200 [`Devices`]              |
//! | `DELETE /api/sessions/{id}` | -      | 204, that session ended, its sockets closed |
//! | `POST /api/logout-everywhere` | -    | 204, every session ended, cookie cleared |
//! | `POST /api/password` | [`PasswordChange`] | 204, every other session ended |
//! | `GET /api/2fa` | - | 200 [`TwoFactorStatus`] |
//! | `POST /api/2fa/setup` | - | 200 [`TwoFactorSetup`] |
//! | `POST /api/2fa/enable` | [`TwoFactorCode`] | 200 [`RecoveryCodes`] |
//! | `POST /api/2fa/disable` | [`PasswordConfirm`] | 204 |
//! | `GET /api/auth-options` | - | 200 [`AuthOptions`] (no session needed) |
//! | `POST /api/profile` | [`Profile`] | 204 |
//! | `POST /api/admin/users` | [`NewAccount`] | 201 [`SessionInfo`] of the new account (administrators) |
//! | `GET /api/media` | - | 200 [`MediaLimits`] |
//! | `POST /api/rooms/{room}/uploads` | [`NewUpload`] | 201 [`Upload`] (members who may post) |
//! | `GET /api/uploads/{id}` | - | 200 [`Upload`] (its owner: where to resume) |
//! | `PATCH /api/uploads/{id}` | bytes, `Upload-Offset` header | 200 [`Upload`] (with `attachment` once complete); 409 when the offset is not the upload's |
//! | `DELETE /api/uploads/{id}` | - | 204 (an upload no message carries yet) |
//! | `GET /api/attachments/{id}[/thumb]` | - | the file (members of its room, once a message carries it) |
//! | `GET /api/sso/start` | - | 303 to the single sign-on provider, flow cookie set |
//! | `GET /api/sso/callback?code&state` | - | 303 to `/` + cookie (an HTML page on failure) |
//!
//! The session token travels only in an `HttpOnly; SameSite=Strict` cookie, never in a body or
//! a URL: [`SECURE_SESSION_COOKIE`] on a server behind HTTPS, [`SESSION_COOKIE`] on plain http.
//! Failures answer with an [`ApiError`].

use serde::{Deserialize, Serialize};

/// The session cookie's name on plain http (local use).
pub const SESSION_COOKIE: &str = "chat_session";
/// The session cookie's name behind HTTPS. Browsers accept a `__Host-` cookie only if it is
/// `Secure`, has `Path=/` and no `Domain`, so no other host (a sibling subdomain) can set it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-chat_session";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// The second factor, when the account has one: a 6-digit code from the authenticator app
    /// or a recovery code. Asked for with `two_factor_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Sign-up on an invite-only server: the room invite link's token the person came with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

/// `POST /api/rooms/{room}/uploads`: a file about to be left on the server for `room`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUpload {
    pub name: String,
    /// Its size in bytes, exactly: the upload is complete when that many have arrived.
    pub size: u64,
    /// The type the browser gave it (`File.type`); only audio types are kept as they are.
    #[serde(default)]
    pub mime: String,
}

/// An upload in progress, or finished: `attachment` is set once every byte arrived and the
/// file was stored; a message then carries it with `send`'s `attachment: id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub id: String,
    /// Bytes received so far: where the next `PATCH` starts.
    pub offset: u64,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<crate::events::Attachment>,
}

/// `GET /api/media`: how much one may leave on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaLimits {
    /// Largest file, in bytes.
    pub max_file: u64,
    /// All of one account's files together, in bytes.
    pub quota: u64,
    /// What the account's files (and uploads in progress) take now.
    pub used: u64,
    /// Largest body of one `PATCH`.
    pub max_chunk: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The username as it was chosen at sign-up (original case).
    pub username: String,
}

/// `GET /api/session`: a [`SessionInfo`] with more about the account (a reader of
/// `SessionInfo`, such as the chat client, skips the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub username: String,
    /// "" when none is set.
    #[serde(default)]
    pub display_name: String,
    /// A server administrator (creates accounts when sign-up is closed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    /// The account has a password. One made by single sign-on has none: a sign-on less than
    /// ten minutes old confirms its changes instead (else `sign_in_again`).
    #[serde(default)]
    pub password: bool,
}

/// `POST /api/profile`: what I am called; "" clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub display_name: String,
}

/// `POST /api/admin/users`: an administrator creates an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
}

/// One session of mine, as the devices page (`GET /api/sessions`) lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Names the session in `DELETE /api/sessions/{id}`; not a credential.
    pub id: String,
    /// A short label such as "Firefox on Linux" ("" when unknown).
    pub device: String,
    /// The client address it was started from.
    pub address: String,
    pub created_ms: i64,
    /// Recorded at most about once a minute.
    pub last_used_ms: i64,
    /// The session of the request that asked.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    pub sessions: Vec<Device>,
}

/// `GET /api/blocks`: the usernames I blocked (they cannot message, call or send files to me),
/// for the room panel's Block/Unblock buttons. Blocking itself goes over the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocks {
    pub blocked: Vec<String>,
}

/// `POST /api/password`: ends every other session of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// `GET /api/2fa`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    pub recovery_codes_left: u32,
}

/// `POST /api/2fa/setup`: the new secret, for the authenticator app (base32, and as an
/// `otpauth://` link). Nothing changes for log-in until `POST /api/2fa/enable` proves the app has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    pub secret: String,
    pub uri: String,
}

/// `POST /api/2fa/enable` with a current code; answered with [`RecoveryCodes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorCode {
    pub code: String,
}

/// One-time codes that stand in for the authenticator; shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// `POST /api/2fa/disable`: the password confirms it is the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordConfirm {
    pub password: String,
}

/// `GET /api/auth-options`: the ways into this server, for the sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthOptions {
    pub registration: RegistrationMode,
    /// Log-in with a passkey is offered.
    #[serde(default)]
    pub passkeys: bool,
    /// The single sign-on provider's name for its button, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<String>,
}

/// `GET /api/session`'s answer without a session (401): the error, and what the sign-in
/// screen offers, so that the form a first visit shows needs no request of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOut {
    #[serde(flatten)]
    pub error: ApiError,
    pub auth_options: AuthOptions,
}

/// Who may create an account (`--registration`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Anyone may sign up.
    #[default]
    Open,
    /// Sign-up needs a room's invite link; the new account joins that room.
    InviteOnly,
    /// Nobody signs up; server administrators create accounts.
    Closed,
}

/// Why an HTTP request failed. The status code says whose fault it is; the code says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// 400: the body was not the expected JSON.
    BadRequest,
    /// 400: a field broke a rule in [`crate::limits`]; the message says which.
    InvalidInput,
    /// 409: sign-up with a username that exists (case-insensitively).
    UsernameTaken,
    /// 401: log-in with an unknown username or a wrong password.
    InvalidCredentials,
    /// 401: the password was right and the account has two-factor on: send it again with
    /// `code`.
    TwoFactorRequired,
    /// 401: the two-factor code was wrong, already used, or not current.
    InvalidCode,
    /// 409: two-factor is already on (turn it off first to set it up again).
    TwoFactorEnabled,
    /// 401: no valid session cookie.
    Unauthenticated,
    /// 403: this server takes no sign-ups; an administrator creates accounts.
    RegistrationClosed,
    /// 403: sign-up on this server needs a valid room invite link.
    InviteRequired,
    /// 403: only server administrators may do this.
    AdminOnly,
    /// 401: an account without a password confirms this with a recent single sign-on: sign
    /// in with the provider again, then retry within ten minutes.
    SignInAgain,
    /// 409: the account has as many of these (passkeys) as it may.
    LimitReached,
    /// 401: the passkey's answer did not verify (or it is registered already).
    PasskeyRefused,
    /// 404: the account has no passkey to log in with.
    NoPasskey,
    /// 400: the passkey challenge expired or was used; start again.
    CeremonyExpired,
    /// 403: the request came from a page whose origin is not allowed.
    ForbiddenOrigin,
    /// 403: not allowed here (muted in the room, ...); the message says why.
    Forbidden,
    /// 429: too many attempts; retry later.
    RateLimited,
    /// 500: our fault; details are in the server log, not here.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ApiErrorCode,
    /// A sentence to show to the person.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_format() {
        let err = ApiError {
            code: ApiErrorCode::UsernameTaken,
            message: "That username is taken.".into(),
        };
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"code": "username_taken", "message": "That username is taken."})
        );
        let creds: Credentials =
            serde_json::from_value(json!({"username": "alice", "password": "pw"})).unwrap();
        assert_eq!(creds.username, "alice");
    }
}

/// `GET /api/rooms/{room}/threads`: the room's threads, the most recently answered first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threads {
    pub threads: Vec<ThreadSummary>,
}

/// A message that has replies (`reply_to` pointing at it), with how many and the newest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSummary {
    /// The message answered, in its current state (it may be deleted: a tombstone).
    pub root: crate::events::Event,
    /// Replies that are not deleted.
    pub replies: u32,
    pub last_seq: crate::ids::Seq,
    pub last_at_ms: i64,
}

/// `GET /api/rooms/{room}/threads/{root}?after=&limit=`: the root (on the first page) and its
/// replies after `after`, oldest first, as the timeline has them (tombstones included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadPage {
    pub events: Vec<crate::events::Event>,
    /// No more replies after these (for now).
    pub complete: bool,
}
