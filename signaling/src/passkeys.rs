//! Passkeys (WebAuthn, through webauthn-rs): added on the account page, then used to log in
//! without a password, or in place of the two-factor code (a passkey verifies the person on
//! the device, so it is two factors by itself).
//!
//! | endpoint | request | success |
//! |---|---|---|
//! | `GET /api/passkeys` | - | 200 [`PasskeyList`] |
//! | `POST /api/passkeys/register` | `{password}` | 200 [`Ceremony`] (creation options) |
//! | `POST /api/passkeys/register/finish` | [`FinishRegistration`] | 201 [`PasskeyInfo`] |
//! | `DELETE /api/passkeys/{id}` | - | 204 |
//! | `POST /api/passkey-login` | [`StartLogIn`] | 200 [`Ceremony`] (request options) |
//! | `POST /api/passkey-login/finish` | [`FinishLogIn`] | 200 `SessionInfo` + cookie |
//!
//! Only the account page and the sign-in screen's small script use these, so their bodies
//! are defined here rather than in `shared`. A ceremony's state is kept in the database (not
//! in memory), so the browser's answer may reach any node.

use crate::accounts::{admit, owner_confirmed, start_session};
use crate::auth::hash_token;
use crate::config::Config;
use crate::error::ApiFailure;
use crate::now_ms;
use crate::request::{Authed, authenticate, check_origin};
use crate::state::AppState;
use crate::store::{CeremonyKind, StoredPasskey, UserId};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// Passkeys one account may have.
pub const MAX_PASSKEYS_PER_USER: usize = 10;
/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// How long the browser has to answer a challenge.
const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;

/// The relying party: which site passkeys are bound to.
#[derive(Clone)]
pub struct Passkeys {
    webauthn: Arc<Webauthn>,
}

impl Passkeys {
    /// `None` (passkeys off) when no relying-party id can be had: WebAuthn needs a domain
    /// name (`localhost` counts), not an IP address. Without `--passkey-rp-id`, the host of the
    /// first allowed origin that has a domain name.
    pub fn new(config: &Config, allowed_origins: &[String]) -> Option<Self> {
        let origins: Vec<Url> = allowed_origins
            .iter()
            .filter_map(|o| Url::parse(o).ok())
            .collect();
        let rp_id = match &config.passkey_rp_id {
            Some(id) => id.clone(),
            None => origins
                .iter()
                .find_map(|o| match o.host()? {
                    url::Host::Domain(d) => Some(d.to_owned()),
                    _ => None,
                })?
                .clone(),
        };
        // Origins on the relying party's domain or below it.
        let matching: Vec<&Url> = origins
            .iter()
            .filter(|o| {
                o.host_str()
                    .is_some_and(|h| h == rp_id || h.ends_with(&format!(".{rp_id}")))
            })
            .collect();
        let Some((first, rest)) = matching.split_first() else {
            tracing::warn!(%rp_id, "passkeys are off: no allowed origin is on the relying party's domain");
            return None;
        };
        let mut builder = match WebauthnBuilder::new(&rp_id, first) {
            Ok(b) => b.rp_name("Chat"),
            Err(e) => {
                tracing::warn!(%rp_id, error = %e, "passkeys are off: not a usable relying-party id");
                return None;
            }
        };
        for origin in rest {
            builder = builder.append_allowed_origin(origin);
        }
        match builder.build() {
            Ok(webauthn) => {
                tracing::info!(%rp_id, "passkeys are on");
                Some(Self {
                    webauthn: Arc::new(webauthn),
                })
            }
            Err(e) => {
                tracing::warn!(%rp_id, error = %e, "passkeys are off");
                None
            }
        }
    }
}

impl Passkeys {
    /// Whether a page served under `host` (a `Host` header: name and port) is one of the
    /// origins passkeys work on. The same server reached by IP address cannot use them.
    pub fn serves_host(&self, host: &str) -> bool {
        self.webauthn.get_allowed_origins().iter().any(|origin| {
            let port = origin.port_or_known_default();
            match (origin.host_str(), port) {
                (Some(name), Some(port)) => {
                    host == name || host == format!("{name}:{port}").as_str()
                }
                _ => false,
            }
        })
    }
}

/// A challenge for the browser: `options` goes to `navigator.credentials.create` or `.get`
/// (through `PublicKeyCredential.parse…OptionsFromJSON`), `ceremony` comes back with the answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ceremony {
    pub ceremony: String,
    pub options: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FinishRegistration {
    pub ceremony: String,
    /// What the person calls this passkey ("Phone", "YubiKey").
    pub name: String,
    /// `PublicKeyCredential.toJSON()` of the new credential.
    pub credential: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StartLogIn {
    pub username: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FinishLogIn {
    pub ceremony: String,
    pub credential: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PasskeyInfo {
    /// The credential id (base64url); names the passkey in `DELETE /api/passkeys/{id}`.
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    /// 0 when never used to log in.
    pub last_used_ms: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyInfo>,
}

/// What a log-in ceremony must remember besides webauthn-rs's own state.
#[derive(Serialize, Deserialize)]
struct LogInState {
    username: String,
    state: PasskeyAuthentication,
}

fn enabled(state: &AppState) -> Result<&Passkeys, ApiFailure> {
    state.passkeys.as_ref().ok_or(ApiFailure::NotFound)
}

fn info(stored: &StoredPasskey) -> PasskeyInfo {
    PasskeyInfo {
        id: URL_SAFE_NO_PAD.encode(&stored.credential_id),
        name: stored.name.clone(),
        created_ms: stored.created_ms,
        last_used_ms: stored.last_used_ms,
    }
}

/// The id webauthn-rs gives the authenticator for this account (the user handle). Derived
/// from the account id: ids are never reused (a deleted account keeps its row).
fn user_handle(user: UserId) -> Uuid {
    Uuid::from_u64_pair(0, u64::try_from(user.0).unwrap_or_default())
}

fn decode_stored(stored: &StoredPasskey) -> Result<Passkey, ApiFailure> {
    serde_json::from_str(&stored.passkey).map_err(|e| {
        tracing::error!(error = %e, "a stored passkey does not parse");
        ApiFailure::Internal
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ApiFailure> {
    serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "could not serialise WebAuthn state");
        ApiFailure::Internal
    })
}

/// Stores a new ceremony; returns the handle the browser sends back.
async fn begin_ceremony(
    state: &AppState,
    user: UserId,
    kind: CeremonyKind,
    json: &str,
) -> Result<String, ApiFailure> {
    let (handle, hash) = crate::auth::new_session_token();
    state
        .store
        .put_ceremony(&hash, user, kind, json, now_ms() + CEREMONY_TTL_MS)
        .await?;
    Ok(handle)
}

fn bad_credential(e: impl std::fmt::Display) -> ApiFailure {
    ApiFailure::BadRequest(format!("not a WebAuthn credential: {e}"))
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<PasskeyList>, ApiFailure> {
    let authed = authenticate(&state, &headers).await?;
    let stored = state.store.passkeys(authed.user).await?;
    Ok(Json(PasskeyList {
        passkeys: stored.iter().map(info).collect(),
    }))
}

/// Adding a way to log in is confirmed with the password: a stolen session alone must not
/// be able to plant a lasting key.
pub async fn start_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<shared::api::PasswordConfirm>, JsonRejection>,
) -> Result<Json<Ceremony>, ApiFailure> {
    let passkeys = enabled(&state)?;
    let authed = owner_confirmed(&state, &headers, body).await?;
    let existing = state.store.passkeys(authed.user).await?;
    if existing.len() >= MAX_PASSKEYS_PER_USER {
        return Err(ApiFailure::TooMany("passkeys", MAX_PASSKEYS_PER_USER));
    }
    let exclude = existing.into_iter().map(|p| p.credential_id).collect();
    let (options, registration) = passkeys
        .webauthn
        .start_passkey_registration(
            user_handle(authed.user),
            &authed.username,
            &authed.username,
            Some(exclude),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "could not start a passkey registration");
            ApiFailure::Internal
        })?;
    let handle = begin_ceremony(
        &state,
        authed.user,
        CeremonyKind::Register,
        &to_json(&registration)?,
    )
    .await?;
    Ok(Json(Ceremony {
        ceremony: handle,
        options: serde_json::to_value(options).map_err(|_| ApiFailure::Internal)?,
    }))
}

pub async fn finish_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<FinishRegistration>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let passkeys = enabled(&state)?;
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let Json(finish) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let name = passkey_name(&finish.name)?;
    let registration: PasskeyRegistration =
        take_ceremony(&state, &authed, &finish.ceremony, CeremonyKind::Register).await?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(finish.credential).map_err(bad_credential)?;
    let passkey = passkeys
        .webauthn
        .finish_passkey_registration(&credential, &registration)
        .map_err(|e| {
            tracing::info!(user = authed.user.0, error = %e, "passkey registration refused");
            ApiFailure::PasskeyRefused
        })?;
    let stored = StoredPasskey {
        credential_id: passkey.cred_id().to_vec(),
        name,
        passkey: to_json(&passkey)?,
        created_ms: now_ms(),
        last_used_ms: 0,
    };
    if !state
        .store
        .add_passkey(authed.user, &stored, MAX_PASSKEYS_PER_USER)
        .await?
    {
        // Registered already (to this account or another), or the limit was reached meanwhile.
        return Err(ApiFailure::PasskeyRefused);
    }
    tracing::info!(user = authed.user.0, "passkey added");
    Ok((StatusCode::CREATED, Json(info(&stored))).into_response())
}

/// The ceremony `handle` of this account, which is used up by the call.
async fn take_ceremony<T: serde::de::DeserializeOwned>(
    state: &AppState,
    authed: &Authed,
    handle: &str,
    kind: CeremonyKind,
) -> Result<T, ApiFailure> {
    let taken = state
        .store
        .take_ceremony(&hash_token(handle), kind, now_ms())
        .await?;
    match taken {
        Some((user, json)) if user == authed.user => parse_state(&json),
        _ => Err(ApiFailure::CeremonyExpired),
    }
}

fn parse_state<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, ApiFailure> {
    serde_json::from_str(json).map_err(|e| {
        tracing::error!(error = %e, "stored WebAuthn state does not parse");
        ApiFailure::Internal
    })
}

fn passkey_name(name: &str) -> Result<String, ApiFailure> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiFailure::BadRequest(format!(
            "a passkey's name has 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let credential_id = URL_SAFE_NO_PAD
        .decode(id.as_bytes())
        .map_err(|_| ApiFailure::NotFound)?;
    if state
        .store
        .remove_passkey(authed.user, &credential_id)
        .await?
    {
        tracing::info!(user = authed.user.0, "passkey removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiFailure::NotFound)
    }
}

/// The first step of a passkey log-in: the username says whose passkeys may answer.
pub async fn start_log_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<StartLogIn>, JsonRejection>,
) -> Result<Json<Ceremony>, ApiFailure> {
    let passkeys = enabled(&state)?;
    let (start, _) = admit(&state, peer, &headers, body)?;
    let user = state
        .store
        .find_user(start.username.trim())
        .await?
        .ok_or(ApiFailure::NoPasskey)?;
    let stored = state.store.passkeys(user.id).await?;
    if stored.is_empty() {
        return Err(ApiFailure::NoPasskey);
    }
    let keys = stored
        .iter()
        .map(decode_stored)
        .collect::<Result<Vec<_>, _>>()?;
    let (options, authentication) = passkeys
        .webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| {
            tracing::error!(error = %e, "could not start a passkey log-in");
            ApiFailure::Internal
        })?;
    let remembered = LogInState {
        username: user.username,
        state: authentication,
    };
    let handle =
        begin_ceremony(&state, user.id, CeremonyKind::LogIn, &to_json(&remembered)?).await?;
    Ok(Json(Ceremony {
        ceremony: handle,
        options: serde_json::to_value(options).map_err(|_| ApiFailure::Internal)?,
    }))
}

pub async fn finish_log_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<FinishLogIn>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let passkeys = enabled(&state)?;
    let (finish, client) = admit(&state, peer, &headers, body)?;
    let Some((user, json)) = state
        .store
        .take_ceremony(&hash_token(&finish.ceremony), CeremonyKind::LogIn, now_ms())
        .await?
    else {
        return Err(ApiFailure::CeremonyExpired);
    };
    let remembered: LogInState = parse_state(&json)?;
    let credential: PublicKeyCredential =
        serde_json::from_value(finish.credential).map_err(bad_credential)?;
    // Not counted against the account's password lockout: a signature cannot be guessed, and
    // junk answers from anyone must not lock the owner's passkey out (the per-IP limit holds).
    let result = match passkeys
        .webauthn
        .finish_passkey_authentication(&credential, &remembered.state)
    {
        Ok(result) => result,
        Err(e) => {
            tracing::info!(username = ?remembered.username, %client, error = %e, "failed passkey log-in");
            return Err(ApiFailure::PasskeyRefused);
        }
    };
    // Record the use, with the signature counter the authenticator reported.
    let stored = state.store.passkeys(user).await?;
    if let Some(found) = stored
        .iter()
        .find(|p| p.credential_id.as_slice() == result.cred_id().as_slice())
    {
        let mut passkey = decode_stored(found)?;
        passkey.update_credential(&result);
        state
            .store
            .passkey_used(&found.credential_id, &to_json(&passkey)?, now_ms())
            .await?;
    } else {
        // Removed between the two steps: it no longer lets anyone in.
        return Err(ApiFailure::PasskeyRefused);
    }
    let origin = crate::devices::origin_of(&state, peer, &headers);
    start_session(&state, user, remembered.username, origin, StatusCode::OK).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_origins(origins: &[&str], rp_id: Option<&str>) -> Option<Passkeys> {
        let mut config = Config::for_data_dir("x".into());
        config.passkey_rp_id = rp_id.map(str::to_owned);
        let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
        Passkeys::new(&config, &origins)
    }

    #[test]
    fn the_relying_party_is_the_first_origin_with_a_domain_name() {
        // The default origins of a local server: 127.0.0.1 is no relying party, localhost is.
        let passkeys = with_origins(&["http://127.0.0.1:8080", "http://localhost:8080"], None)
            .expect("localhost can hold passkeys");
        let allowed = passkeys.webauthn.get_allowed_origins();
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0].as_str(), "http://localhost:8080/");
        assert!(with_origins(&["http://127.0.0.1:8080"], None).is_none());
    }

    #[test]
    fn subdomains_of_an_explicit_relying_party_are_allowed() {
        let passkeys = with_origins(
            &[
                "https://chat.example.org",
                "https://example.org",
                "https://other.net",
            ],
            Some("example.org"),
        )
        .expect("configured");
        let allowed: Vec<&str> = passkeys
            .webauthn
            .get_allowed_origins()
            .iter()
            .map(Url::as_str)
            .collect();
        assert_eq!(
            allowed,
            ["https://chat.example.org/", "https://example.org/"]
        );
    }

    #[test]
    fn names_are_short_printable_text() {
        assert_eq!(passkey_name("  Phone ").unwrap(), "Phone");
        assert!(passkey_name("").is_err());
        assert!(passkey_name("a\u{7}b").is_err());
        assert!(passkey_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }
}
