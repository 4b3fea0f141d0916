//! The devices page's endpoints: every session of mine with where it was started and when it
//! was last used; ending one, or all; and changing the password, which ends every other
//! session. Ending a session closes its sockets at once.

use crate::error::ApiFailure;
use crate::now_ms;
use crate::request::{authenticate, check_origin, client_key};
use crate::state::AppState;
use crate::store::{SessionOrigin, UserId};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::api::{Device, Devices, PasswordChange};
use shared::limits::check_password;
use std::fmt::Write;
use std::net::SocketAddr;

/// Longest device label kept.
const MAX_DEVICE_LABEL: usize = 64;

/// The session id the page shows: the first 8 bytes of the token's hash, in hex. It names a
/// session without being a credential (the token cannot be derived from its hash).
fn public_id(token_hash: &[u8]) -> String {
    token_hash.iter().take(8).fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Where the session of this request is being started.
pub fn origin_of(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> SessionOrigin {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    SessionOrigin {
        device: device_label(agent),
        address: client_key(peer.ip(), headers, state.trust_forwarded_for).to_string(),
    }
}

/// "Browser on system" from a User-Agent, for a person to recognise their devices. Only the
/// label is stored, not the whole header.
pub fn device_label(user_agent: &str) -> String {
    let has = |needle: &str| user_agent.contains(needle);
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        ""
    };
    let system = if has("Android") {
        "Android"
    } else if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    let label = match (browser, system) {
        ("", "") => user_agent
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .collect(),
        (b, "") => b.to_owned(),
        ("", s) => s.to_owned(),
        (b, s) => format!("{b} on {s}"),
    };
    label.chars().take(MAX_DEVICE_LABEL).collect()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Devices>, ApiFailure> {
    let authed = authenticate(&state, &headers).await?;
    let sessions = state
        .store
        .sessions_of(authed.user, now_ms())
        .await?
        .into_iter()
        .map(|s| Device {
            id: public_id(&s.token_hash),
            current: s.token_hash == authed.session_hash,
            device: s.origin.device,
            address: s.origin.address,
            created_ms: s.created_ms,
            last_used_ms: s.last_used_ms,
        })
        .collect();
    Ok(Json(Devices { sessions }))
}

/// Ends one of my sessions by its public id.
pub async fn end_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let sessions = state.store.sessions_of(authed.user, now_ms()).await?;
    let Some(session) = sessions.iter().find(|s| public_id(&s.token_hash) == id) else {
        return Err(ApiFailure::NotFound);
    };
    if state
        .store
        .end_session(authed.user, &session.token_hash)
        .await?
    {
        close_sockets(&state, std::slice::from_ref(&session.token_hash));
        tracing::info!(
            user = authed.user.0,
            "a session was ended from the devices page"
        );
    }
    Ok(no_store(StatusCode::NO_CONTENT.into_response()))
}

/// Ends every session of mine, this one included.
pub async fn end_all(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let ended = end_sessions(&state, authed.user, None).await?;
    tracing::info!(user = authed.user.0, ended, "logged out everywhere");
    let mut response = no_store(StatusCode::NO_CONTENT.into_response());
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.session_cookie.clear());
    Ok(response)
}

/// Checks the current password, stores the new one and ends every other session: whoever
/// knew the old password is signed out everywhere but here.
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    // Each attempt costs a password hash: counted like a log-in.
    let client = client_key(peer.ip(), &headers, state.trust_forwarded_for);
    state
        .auth_limiter
        .check_key(&client)
        .map_err(|_| ApiFailure::RateLimited)?;
    let Json(change) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    check_password(&change.new).map_err(ApiFailure::Invalid)?;
    // An account single sign-on made gets in through its provider only: a local password
    // would keep it open after the provider shut it.
    if state.store.has_sso_identity(authed.user).await? {
        return Err(ApiFailure::BadRequest(
            "this account signs in with single sign-on and has no password".to_owned(),
        ));
    }
    crate::accounts::confirm_password(&state, &authed, change.current)
        .await
        .inspect_err(|_| {
            tracing::info!(user = authed.user.0, %client, "password change refused");
        })?;
    let hash = state.hasher.hash(change.new).await?;
    state.store.set_password_hash(authed.user, &hash).await?;
    let ended = end_sessions(&state, authed.user, Some(&authed.session_hash)).await?;
    tracing::info!(
        user = authed.user.0,
        ended,
        "password changed; other sessions ended"
    );
    Ok(no_store(StatusCode::NO_CONTENT.into_response()))
}

/// Ends `user`'s sessions (all, or all but `keep`) and closes their sockets on every node;
/// returns how many ended.
pub(crate) async fn end_sessions(
    state: &AppState,
    user: UserId,
    keep: Option<&[u8; 32]>,
) -> Result<usize, ApiFailure> {
    let ended = state
        .store
        .end_sessions(user, keep.map(<[u8; 32]>::as_slice))
        .await?;
    close_sockets(state, &ended);
    Ok(ended.len())
}

fn close_sockets(state: &AppState, sessions: &[Vec<u8>]) {
    for hash in sessions {
        if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            state.fanout.disconnect_session(&hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hash_token;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("peer/0.1.0", "peer/0.1.0"),
            ("", ""),
        ];
        for (agent, label) in cases {
            assert_eq!(device_label(agent), label, "{agent}");
        }
        assert!(device_label(&"x".repeat(500)).chars().count() <= MAX_DEVICE_LABEL);
    }

    #[test]
    fn a_public_id_is_a_short_prefix_of_the_hash() {
        let hash = hash_token("token");
        let id = public_id(&hash);
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
