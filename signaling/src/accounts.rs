//! HTTP endpoints for sign-up, log-in, log-out and "who am I".

use crate::auth::{hash_token, new_session_token};
use crate::error::ApiFailure;
use crate::now_ms;
use crate::request::{check_origin, client_key};
use crate::session_cookie::Ambiguous;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::api::{AuthOptions, Credentials, RegistrationMode, SessionInfo};
use shared::limits::{check_password, check_username};
use std::net::{IpAddr, SocketAddr};

pub async fn signup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let (creds, _) = admit(&state, peer, &headers, body)?;
    check_username(&creds.username).map_err(ApiFailure::Invalid)?;
    check_password(&creds.password).map_err(ApiFailure::Invalid)?;
    let hash = state.hasher.hash(creds.password).await?;
    let now = now_ms();
    let user = state.store.create_user(&creds.username, &hash, now).await?;
    tracing::info!(user = user.0, "account created");
    let origin = crate::devices::origin_of(&state, peer, &headers);
    start_session(&state, user, creds.username, origin, StatusCode::CREATED).await
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let (creds, client) = admit(&state, peer, &headers, body)?;
    // The username is logged with `?` so that control characters in it are escaped; the
    // password never is.
    let Ok(attempt) = state.login_throttle.begin(&creds.username) else {
        tracing::info!(username = ?creds.username, %client, "log-in refused: too many failures for this account");
        return Err(ApiFailure::RateLimited);
    };
    let found = state.store.find_user(&creds.username).await?;
    let stored_hash = found.as_ref().map(|u| u.password_hash.clone());
    if !state.hasher.verify(creds.password, stored_hash).await? {
        if attempt.failed() {
            tracing::warn!(username = ?creds.username, %client, "failed log-in; the account's log-in is now throttled");
        } else {
            tracing::info!(username = ?creds.username, %client, "failed log-in");
        }
        return Err(ApiFailure::InvalidCredentials);
    }
    let user = found.ok_or(ApiFailure::InvalidCredentials)?;
    // The right password; with two-factor on, the second factor decides. A wrong code counts
    // as a failed log-in like a wrong password.
    if let Some(setup) = state.store.two_factor(user.id).await?
        && setup.enabled
    {
        let Some(code) = creds.code.as_deref() else {
            return Err(ApiFailure::TwoFactorRequired);
        };
        if !crate::two_factor::check_code(&state, user.id, &user.username, &setup, code).await? {
            let _ = attempt.failed();
            tracing::info!(username = ?creds.username, %client, "failed log-in: wrong second factor");
            return Err(ApiFailure::InvalidCode);
        }
    }
    // The attempt gives its place back.
    drop(attempt);
    let origin = crate::devices::origin_of(&state, peer, &headers);
    start_session(&state, user.id, user.username, origin, StatusCode::OK).await
}

/// Ends the session in the cookie (if any) and closes the sockets opened with it.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    match state.session_cookie.token(&headers) {
        Ok(Some(token)) => {
            let hash = hash_token(&token);
            state.store.delete_session(&hash).await?;
            let closed = state.hub.disconnect_session(&hash);
            tracing::info!(sockets_closed = closed, "logged out");
        }
        Ok(None) => {}
        // Which one is ours is unknown, so neither session is ended; clearing the cookie
        // still removes ours from this browser.
        Err(Ambiguous) => tracing::info!("log-out with two session cookies; no session ended"),
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(&mut response, state.session_cookie.clear());
    Ok(response)
}

pub async fn session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionInfo>, ApiFailure> {
    let authed = crate::request::authenticate(&state, &headers).await?;
    Ok(Json(SessionInfo {
        username: authed.username,
    }))
}

/// The signed-in account of a request that changes it for good, once its password in the
/// body ([`PasswordConfirm`]) is confirmed (see [`confirm_password`]).
pub async fn owner_confirmed(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Json<shared::api::PasswordConfirm>, JsonRejection>,
) -> Result<crate::request::Authed, ApiFailure> {
    check_origin(headers, &state.allowed_origins)?;
    let authed = crate::request::authenticate(state, headers).await?;
    let Json(confirm) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    confirm_password(state, &authed, confirm.password).await?;
    Ok(authed)
}

/// The signed-in owner confirms a change with their password (a new password, turning
/// two-factor off, deleting the account). Counted like a log-in against the account's throttle,
/// so a stolen session cannot be used to guess the password.
pub async fn confirm_password(
    state: &AppState,
    authed: &crate::request::Authed,
    password: String,
) -> Result<(), ApiFailure> {
    let Ok(attempt) = state.login_throttle.begin(&authed.username) else {
        return Err(ApiFailure::RateLimited);
    };
    let stored = state
        .store
        .find_user(&authed.username)
        .await?
        .map(|u| u.password_hash);
    if !state.hasher.verify(password, stored).await? {
        let _ = attempt.failed();
        return Err(ApiFailure::InvalidCredentials);
    }
    Ok(())
}

/// The ways into this server, for the sign-in screen (no session needed).
pub async fn auth_options(State(state): State<AppState>) -> Json<AuthOptions> {
    Json(AuthOptions {
        registration: RegistrationMode::Open,
        passkeys: false,
        sso: state.sso.as_ref().map(|sso| sso.name().to_owned()),
    })
}

pub async fn not_found() -> ApiFailure {
    ApiFailure::NotFound
}

/// What sign-up and log-in check before looking at the credentials: where the request comes
/// from, how often this client tried, and that the body is well-formed. Returns the
/// credentials and the client's rate-limit key.
fn admit(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<(Credentials, IpAddr), ApiFailure> {
    check_origin(headers, &state.allowed_origins)?;
    let client = client_key(peer.ip(), headers, state.trust_forwarded_for);
    state
        .auth_limiter
        .check_key(&client)
        .map_err(|_| ApiFailure::RateLimited)?;
    let Json(creds) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    Ok((creds, client))
}

/// A new session for `user`: stored, and its cookie set on a response with `status` and
/// the [`SessionInfo`] as its body.
pub(crate) async fn start_session(
    state: &AppState,
    user: crate::store::UserId,
    username: String,
    origin: crate::store::SessionOrigin,
    status: StatusCode,
) -> Result<Response, ApiFailure> {
    let (token, hash) = new_session_token();
    let now = now_ms();
    state
        .store
        .create_session(&hash, user, now, now + state.sessions.lifetime_ms, &origin)
        .await?;
    let mut response = (status, Json(SessionInfo { username })).into_response();
    let max_age_secs = state.sessions.lifetime_ms / 1000;
    set_cookie(
        &mut response,
        state.session_cookie.set(&token, max_age_secs),
    );
    Ok(response)
}

fn set_cookie(response: &mut Response, cookie: HeaderValue) {
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
