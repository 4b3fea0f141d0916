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
use shared::api::{
    AccountInfo, AuthOptions, Credentials, NewAccount, Profile, RegistrationMode, SessionInfo,
    SignedOut,
};
use shared::limits::{check_display_name, check_password, check_username};
use std::net::{IpAddr, SocketAddr};

pub async fn signup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let (creds, _) = admit(&state, peer, &headers, body)?;
    let user = match may_sign_up(&state, creds.invite.as_deref()).await? {
        SignUp::Allowed => create_account(&state, &creds.username, creds.password).await?,
        SignUp::FirstAccount => {
            check_username(&creds.username).map_err(ApiFailure::Invalid)?;
            not_a_guests_name(&creds.username)?;
            check_password(&creds.password).map_err(ApiFailure::Invalid)?;
            let hash = state.hasher.hash(creds.password).await?;
            let first = state
                .store
                .create_first_user(&creds.username, &hash, now_ms())
                .await?;
            // Someone else's sign-up made the first account meanwhile: the mode applies.
            first.ok_or(match state.registration {
                RegistrationMode::InviteOnly => ApiFailure::InviteRequired,
                _ => ApiFailure::RegistrationClosed,
            })?
        }
    };
    tracing::info!(user = user.0, "account created");
    let origin = crate::devices::origin_of(&state, peer, &headers);
    start_session(&state, user, creds.username, origin, StatusCode::CREATED).await
}

/// How a sign-up may go ahead.
enum SignUp {
    Allowed,
    /// Only as the server's first account (which runs it): its sign-up is not open.
    FirstAccount,
}

/// Whether this server lets someone sign up, by `--registration`: with an invite-only server
/// they need a room's live invite link (the client joins that room once signed in). The
/// first account may always sign up: it becomes the administrator who lets the others in.
async fn may_sign_up(state: &AppState, invite: Option<&str>) -> Result<SignUp, ApiFailure> {
    if state.registration != RegistrationMode::Open && !state.store.has_accounts().await? {
        return Ok(SignUp::FirstAccount);
    }
    match state.registration {
        RegistrationMode::Open => Ok(SignUp::Allowed),
        RegistrationMode::Closed => Err(ApiFailure::RegistrationClosed),
        RegistrationMode::InviteOnly => {
            let Some(token) = invite else {
                return Err(ApiFailure::InviteRequired);
            };
            let live = state
                .store
                .invite_room(&hash_token(token), now_ms())
                .await?
                .is_some();
            if live {
                Ok(SignUp::Allowed)
            } else {
                Err(ApiFailure::InviteRequired)
            }
        }
    }
}

/// A new account after the username and password rules are checked.
async fn create_account(
    state: &AppState,
    username: &str,
    password: String,
) -> Result<crate::store::UserId, ApiFailure> {
    check_username(username).map_err(ApiFailure::Invalid)?;
    not_a_guests_name(username)?;
    check_password(&password).map_err(ApiFailure::Invalid)?;
    let hash = state.hasher.hash(password).await?;
    Ok(state.store.create_user(username, &hash, now_ms()).await?)
}

/// `guest-…` names are the support desk's guests' (`support::guests`): an account called so
/// would pass for one in front of the support team.
fn not_a_guests_name(username: &str) -> Result<(), ApiFailure> {
    if crate::support::guests::looks_like_a_guest(username) {
        return Err(ApiFailure::BadRequest(format!(
            "Usernames starting with \"{}\" are kept for the support desk's guests.",
            crate::support::guests::USERNAME_PREFIX
        )));
    }
    Ok(())
}

/// `POST /api/admin/users`: a server administrator creates an account (the way in when
/// sign-up is closed). The new account is not signed in here; its owner logs in.
pub async fn create_by_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewAccount>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = crate::request::authenticate(&state, &headers).await?;
    if !state.store.is_admin(authed.user).await? {
        return Err(ApiFailure::AdminOnly);
    }
    let Json(account) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let user = create_account(&state, &account.username, account.password).await?;
    tracing::info!(
        user = user.0,
        by = authed.user.0,
        "account created by an administrator"
    );
    let info = SessionInfo {
        username: account.username,
    };
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

/// `POST /api/profile`: sets (or, with "", clears) my display name. Others see it in member
/// lists, so in the room's messages, from their next fetch of the list (opening the room,
/// reconnecting).
pub async fn set_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Profile>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = crate::request::authenticate(&state, &headers).await?;
    state
        .user_event_limiter
        .check_key(&authed.user)
        .map_err(|_| ApiFailure::RateLimited)?;
    let Json(profile) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let name = profile.display_name.trim();
    check_display_name(name).map_err(ApiFailure::Invalid)?;
    state.store.set_display_name(authed.user, name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/auth-options`: what the sign-in screen offers. Public: it says nothing about
/// any account. Passkeys are offered only to a page on an origin they work on (not to one
/// reached by IP address, say).
pub async fn auth_options(State(state): State<AppState>, headers: HeaderMap) -> Json<AuthOptions> {
    Json(auth_options_for(&state, &headers))
}

fn auth_options_for(state: &AppState, headers: &HeaderMap) -> AuthOptions {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    AuthOptions {
        registration: state.registration,
        passkeys: state.passkeys.as_ref().is_some_and(|p| p.serves_host(host)),
        sso: state.sso.as_ref().map(|sso| sso.name().to_owned()),
    }
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
        metrics::counter!("chat_login_failures_total").increment(1);
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
            let closed = state.fanout.disconnect_session(&hash);
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

/// `GET /api/session`: the signed-in account; without a session, a 401 that also says what
/// the sign-in screen offers ([`SignedOut`]), which the app's form would otherwise ask for.
pub async fn session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let authed = match crate::request::authenticate(&state, &headers).await {
        Err(ApiFailure::Unauthenticated) => {
            let (status, error) = ApiFailure::Unauthenticated.status_and_body();
            let body = SignedOut {
                error,
                auth_options: auth_options_for(&state, &headers),
            };
            return Ok((status, Json(body)).into_response());
        }
        authed => authed?,
    };
    let admin = state.store.is_admin(authed.user).await?;
    let display_name = state.store.display_name(authed.user).await?;
    let password = !state.store.has_sso_identity(authed.user).await?;
    Ok(Json(AccountInfo {
        username: authed.username,
        display_name,
        admin,
        password,
    })
    .into_response())
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

/// How recent a single sign-on must be to confirm a change to an account without a password.
pub const SSO_CONFIRM_WINDOW_MS: i64 = 10 * 60 * 1000;

/// The signed-in owner confirms a change with their password (a new password, turning
/// two-factor off, deleting the account). Counted like a log-in against the account's throttle,
/// so a stolen session cannot be used to guess the password.
pub async fn confirm_password(
    state: &AppState,
    authed: &crate::request::Authed,
    password: String,
) -> Result<(), ApiFailure> {
    // An account single sign-on made has no password anyone knows: a recent sign-on with the
    // provider confirms instead (as GitHub's "sudo mode" does).
    if state.store.has_sso_identity(authed.user).await? {
        return if now_ms() - authed.session_created_ms <= SSO_CONFIRM_WINDOW_MS {
            Ok(())
        } else {
            Err(ApiFailure::SignInAgain)
        };
    }
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

pub async fn not_found() -> ApiFailure {
    ApiFailure::NotFound
}

/// What every way of logging in (sign-up, password, passkey) checks before looking at the
/// credentials: where the request comes from, how often this client tried, and that the body
/// is well-formed. Returns the body and the client's rate-limit key.
pub(crate) fn admit<T>(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(T, IpAddr), ApiFailure> {
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
