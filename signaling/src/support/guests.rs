//! Guests of the support desk: a customer without an account gives a name and gets a
//! conversation with the assistant, and a session that reaches nothing else.
//!
//! A guest is a row of `users` with `guest = 1`, no password and no lobby. Its session is a
//! normal session cookie, limited to [`SESSION_MS`], and everything that reads it outside the
//! support page and the socket refuses it (`request::authenticate`). Its socket may only read
//! and write in its rooms (`Authed::confined`), and it is never added to another room
//! (`ws::rooms`). New guests are limited per client address, and a guest's messages more
//! strictly than a person's.

use super::desk;
use crate::auth::new_session_token;
use crate::error::ApiFailure;
use crate::request::{check_origin, client_key};
use crate::state::AppState;
use crate::store::{NamedUser, SessionOrigin, StoreError, UserId};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

/// How long a guest's session lasts: a conversation, not an account.
pub const SESSION_MS: i64 = 24 * 60 * 60 * 1000;
/// New guests per client address: a burst, then one every [`NEW_GUEST_EVERY_SECS`].
const NEW_GUESTS_BURST: u32 = 5;
const NEW_GUEST_EVERY_SECS: u64 = 6 * 60;
/// A guest's messages: a burst, then one every [`MESSAGE_EVERY_SECS`] (a person's quota is
/// many per second).
const MESSAGES_BURST: u32 = 8;
const MESSAGE_EVERY_SECS: u64 = 3;

/// The rate limits guests are held to, shared by every request of this node.
pub struct GuestLimits {
    new_per_address: DefaultKeyedRateLimiter<IpAddr>,
    messages: DefaultKeyedRateLimiter<UserId>,
}

impl Default for GuestLimits {
    fn default() -> Self {
        let quota = |every_secs: u64, burst: u32| {
            Quota::with_period(std::time::Duration::from_secs(every_secs))
                .expect("a period above zero")
                .allow_burst(NonZeroU32::new(burst).expect("a burst above zero"))
        };
        Self {
            new_per_address: RateLimiter::keyed(quota(NEW_GUEST_EVERY_SECS, NEW_GUESTS_BURST)),
            messages: RateLimiter::keyed(quota(MESSAGE_EVERY_SECS, MESSAGES_BURST)),
        }
    }
}

impl GuestLimits {
    /// Forgets addresses and guests whose quota is full again (the periodic clean-up).
    pub fn retain_recent(&self) {
        self.new_per_address.retain_recent();
        self.messages.retain_recent();
    }
}

/// Usernames of this form are the desk's guests: nobody signs up with one.
pub const USERNAME_PREFIX: &str = "guest-";

/// Whether a username someone asks for looks like a guest's.
pub fn looks_like_a_guest(username: &str) -> bool {
    username
        .get(..USERNAME_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(USERNAME_PREFIX))
}

/// The room's name for a guest called `name`: "Support: " and `name (guest)`, the name cut so
/// the whole stays within a room name's limit.
fn room_label(name: &str) -> String {
    const ROOM_PREFIX: &str = "Support: ";
    const SUFFIX: &str = " (guest)";
    let room = shared::limits::ROOM_NAME_MAX - ROOM_PREFIX.len() - SUFFIX.len();
    let cut: String = name.chars().take(room).collect();
    format!("{}{SUFFIX}", cut.trim_end())
}

/// Whether the guest may send a message now (counted when it may).
pub fn may_send_now(state: &AppState, guest: UserId) -> bool {
    state
        .support
        .as_ref()
        .is_some_and(|desk| desk.guests.messages.check_key(&guest).is_ok())
}

#[derive(Debug, Deserialize)]
pub struct NewGuest {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct Welcomed {
    pub room: String,
    pub username: String,
}

/// `POST /api/support/guest {name}`: a guest's session (the cookie) and conversation.
pub async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<NewGuest>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let desk = state.support.as_ref().ok_or(ApiFailure::NotFound)?;
    let Json(guest) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let name = guest.name.trim();
    if name.is_empty() {
        return Err(ApiFailure::BadRequest(
            "Give the name the team may call you by.".to_owned(),
        ));
    }
    shared::limits::check_display_name(name).map_err(ApiFailure::Invalid)?;
    let address = client_key(peer.ip(), &headers, state.trust_forwarded_for);
    if desk.guests.new_per_address.check_key(&address).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    let now = crate::now_ms();
    let user = create(&state, name, now).await?;
    let room = desk::open(&state, &user, &room_label(name)).await?;
    let (token, hash) = new_session_token();
    let origin = SessionOrigin {
        device: "Support guest".to_owned(),
        ..crate::devices::origin_of(&state, peer, &headers)
    };
    state
        .store
        .create_session(&hash, user.id, now, now + SESSION_MS, &origin)
        .await?;
    tracing::info!(user = user.id.0, "support guest started");
    let mut response = (
        StatusCode::CREATED,
        Json(Welcomed {
            room: room.0,
            username: user.name,
        }),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::SET_COOKIE,
        state.session_cookie.set(&token, SESSION_MS / 1000),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A guest account with a fresh random username (`guest-` and 16 hex digits).
async fn create(state: &AppState, display_name: &str, now: i64) -> Result<NamedUser, ApiFailure> {
    loop {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the OS random number generator is available");
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let username = format!("{USERNAME_PREFIX}{hex}");
        match state.store.create_guest(&username, display_name, now).await {
            Ok(id) => {
                return Ok(NamedUser { id, name: username });
            }
            // 64 random bits taken already: draw again.
            Err(StoreError::UsernameTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub guest: bool,
    /// On the support team (the desk's page).
    pub agent: bool,
}

/// `GET /api/support/me`: who the support pages talk to (a guest too), 401 when nobody.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Me>, ApiFailure> {
    let authed = crate::request::authenticate_guest_too(&state, &headers).await?;
    let desk = state.support.as_ref().ok_or(ApiFailure::NotFound)?;
    let user = NamedUser {
        id: authed.user,
        name: authed.username.clone(),
    };
    let agent = !authed.guest && desk.is_agent(&state, &user).await?;
    Ok(Json(Me {
        display_name: state.store.display_name(authed.user).await?,
        username: authed.username,
        guest: authed.guest,
        agent,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_is_cut_to_fit_a_room_name() {
        assert_eq!(room_label("Dana"), "Dana (guest)");
        let long = "ü".repeat(64);
        let label = room_label(&long);
        assert!(label.ends_with(" (guest)"));
        assert_eq!(
            format!("Support: {label}").chars().count(),
            shared::limits::ROOM_NAME_MAX
        );
    }

    #[test]
    fn guest_usernames_are_recognised_whatever_their_case() {
        assert!(looks_like_a_guest("guest-00aa"));
        assert!(looks_like_a_guest("GUEST-x"));
        assert!(!looks_like_a_guest("guest"));
        assert!(!looks_like_a_guest("guestbook"));
        assert!(!looks_like_a_guest("ü"));
    }
}
