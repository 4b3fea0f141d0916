//! Errors of the HTTP API and their single mapping to status codes and JSON bodies.

use crate::auth::AuthError;
use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::api::{ApiError, ApiErrorCode};
use shared::limits::InvalidInput;

/// Why an API request failed. Everything but `Internal` is the caller's doing.
#[derive(Debug)]
pub enum ApiFailure {
    BadRequest(String),
    Invalid(InvalidInput),
    UsernameTaken,
    InvalidCredentials,
    /// The password was right; the account also needs its second factor.
    TwoFactorRequired,
    /// The second factor was wrong, used, or not current.
    InvalidCode,
    /// Two-factor is on; it cannot be set up again before it is turned off.
    TwoFactorEnabled,
    Unauthenticated,
    RegistrationClosed,
    InviteRequired,
    AdminOnly,
    /// An account without a password needs a recent single sign-on to confirm this.
    SignInAgain,
    /// The account has as many of this thing (named) as it may.
    TooMany(&'static str, usize),
    PasskeyRefused,
    NoPasskey,
    CeremonyExpired,
    ForbiddenOrigin,
    RateLimited,
    NotFound,
    /// The account has as many sockets open as it may.
    TooManySockets,
    /// The account opened sockets faster than its connect quota refills.
    ConnectingTooOften,
    /// Not allowed here, for the reason given.
    Forbidden(&'static str),
    /// A file over the server's limit (bytes).
    FileTooLarge(u64),
    /// The account's files would pass its quota.
    QuotaFull {
        used: u64,
        quota: u64,
    },
    /// A chunk that does not start where the upload stands (this many bytes).
    UploadOffset(u64),
    /// Another request is writing to this upload.
    UploadBusy,
    /// An administrator deactivated the account.
    Deactivated,
    /// The request clashes with what is there (named).
    Conflict(&'static str),
    /// Already logged with its cause; the client learns only that it was our fault.
    Internal,
}

impl From<StoreError> for ApiFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken => Self::UsernameTaken,
            StoreError::Deactivated => Self::Deactivated,
            other => {
                tracing::error!(error = %other, "storage failure");
                Self::Internal
            }
        }
    }
}

impl From<AuthError> for ApiFailure {
    fn from(e: AuthError) -> Self {
        tracing::error!(error = %e, "password hashing failure");
        Self::Internal
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        (status, Json(body)).into_response()
    }
}

impl ApiFailure {
    /// The answer's status and its body, for a handler that adds to the body (see
    /// `accounts::session`).
    pub fn status_and_body(self) -> (StatusCode, ApiError) {
        let (status, code, message) = match self {
            Self::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                ApiErrorCode::BadRequest,
                format!("Malformed request: {detail}"),
            ),
            Self::Invalid(why) => (
                StatusCode::BAD_REQUEST,
                ApiErrorCode::InvalidInput,
                why.explain(),
            ),
            Self::UsernameTaken => (
                StatusCode::CONFLICT,
                ApiErrorCode::UsernameTaken,
                "That username is already taken.".to_owned(),
            ),
            Self::InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                ApiErrorCode::InvalidCredentials,
                "Wrong username or password.".to_owned(),
            ),
            Self::TwoFactorRequired => (
                StatusCode::UNAUTHORIZED,
                ApiErrorCode::TwoFactorRequired,
                "Enter the code from your authenticator app, or a recovery code.".to_owned(),
            ),
            Self::InvalidCode => (
                StatusCode::UNAUTHORIZED,
                ApiErrorCode::InvalidCode,
                "That code is not right, or was already used. Try the newest one.".to_owned(),
            ),
            Self::TwoFactorEnabled => (
                StatusCode::CONFLICT,
                ApiErrorCode::TwoFactorEnabled,
                "Two-factor authentication is already on. Turn it off first.".to_owned(),
            ),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                ApiErrorCode::Unauthenticated,
                "You are not logged in.".to_owned(),
            ),
            Self::RegistrationClosed => (
                StatusCode::FORBIDDEN,
                ApiErrorCode::RegistrationClosed,
                "This server does not take sign-ups. Ask its administrator for an account."
                    .to_owned(),
            ),
            Self::InviteRequired => (
                StatusCode::FORBIDDEN,
                ApiErrorCode::InviteRequired,
                "Signing up here needs an invite link that still works. Ask someone in a room \
                 for one, and open it."
                    .to_owned(),
            ),
            Self::AdminOnly => (
                StatusCode::FORBIDDEN,
                ApiErrorCode::AdminOnly,
                "Only server administrators may do this.".to_owned(),
            ),
            Self::SignInAgain => (
                StatusCode::UNAUTHORIZED,
                ApiErrorCode::SignInAgain,
                "To confirm, sign in again with single sign-on, then try again within 10 minutes."
                    .to_owned(),
            ),
            Self::TooMany(what, max) => (
                StatusCode::CONFLICT,
                ApiErrorCode::LimitReached,
                format!("An account may have at most {max} {what}. Remove one first."),
            ),
            Self::PasskeyRefused => (
                StatusCode::UNAUTHORIZED,
                ApiErrorCode::PasskeyRefused,
                "That passkey was not accepted. Try again, or use your password.".to_owned(),
            ),
            Self::NoPasskey => (
                StatusCode::NOT_FOUND,
                ApiErrorCode::NoPasskey,
                "This account has no passkey. Log in with your password.".to_owned(),
            ),
            Self::CeremonyExpired => (
                StatusCode::BAD_REQUEST,
                ApiErrorCode::CeremonyExpired,
                "That took too long. Try again.".to_owned(),
            ),
            Self::ForbiddenOrigin => (
                StatusCode::FORBIDDEN,
                ApiErrorCode::ForbiddenOrigin,
                "Requests from this origin are not allowed.".to_owned(),
            ),
            Self::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                ApiErrorCode::RateLimited,
                "Too many attempts. Wait a few minutes and try again.".to_owned(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                ApiErrorCode::BadRequest,
                "No such endpoint.".to_owned(),
            ),
            Self::TooManySockets => (
                StatusCode::TOO_MANY_REQUESTS,
                ApiErrorCode::RateLimited,
                "This account has too many open connections. Close some tabs or devices."
                    .to_owned(),
            ),
            Self::ConnectingTooOften => (
                StatusCode::TOO_MANY_REQUESTS,
                ApiErrorCode::RateLimited,
                "Reconnecting too often. Wait a moment.".to_owned(),
            ),
            Self::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                ApiErrorCode::Forbidden,
                why.to_owned(),
            ),
            Self::Deactivated => (
                StatusCode::FORBIDDEN,
                ApiErrorCode::Forbidden,
                "An administrator deactivated this account. Ask them to reactivate it.".to_owned(),
            ),
            Self::Conflict(why) => (
                StatusCode::CONFLICT,
                ApiErrorCode::InvalidInput,
                why.to_owned(),
            ),
            Self::FileTooLarge(max) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiErrorCode::LimitReached,
                format!(
                    "Files left on the server may be at most {}. Send it directly instead.",
                    human_size(max)
                ),
            ),
            Self::QuotaFull { used, quota } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiErrorCode::LimitReached,
                format!(
                    "Your files on the server take {} of your {}. Delete messages with files to \
                     make room.",
                    human_size(used),
                    human_size(quota)
                ),
            ),
            Self::UploadOffset(at) => (
                StatusCode::CONFLICT,
                ApiErrorCode::BadRequest,
                format!("The upload is at byte {at}; continue from there."),
            ),
            Self::UploadBusy => (
                StatusCode::CONFLICT,
                ApiErrorCode::RateLimited,
                "This upload is receiving another chunk. Wait for it.".to_owned(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiErrorCode::Internal,
                "Something went wrong on the server. Try again.".to_owned(),
            ),
        };
        (status, ApiError { code, message })
    }
}

/// "25 MB", "1.5 GB": sizes as people read them.
fn human_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= 1024 * MB {
        format!("{:.1} GB", bytes as f64 / (1024 * MB) as f64)
    } else {
        format!("{} MB", bytes.div_ceil(MB))
    }
}
