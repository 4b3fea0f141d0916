//! The push endpoints: the server's public key for `pushManager.subscribe`, and storing or
//! dropping this session's subscription. The service worker and `public/push.js` call them.

use super::send::endpoint_acceptable;
use crate::error::ApiFailure;
use crate::now_ms;
use crate::request::{authenticate, check_origin};
use crate::state::AppState;
use crate::store::PushSubscription;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Subscriptions one account keeps (its browsers and devices); a new one replaces the oldest.
pub const SUBSCRIPTIONS_PER_USER: i64 = 10;

#[derive(Serialize)]
pub struct PushKey {
    /// `applicationServerKey`: the VAPID public key, base64url (65 bytes, uncompressed).
    public_key: String,
    /// My pushes carry the message's text (the account page's setting).
    show_text: bool,
}

#[derive(Deserialize)]
pub struct PushSettings {
    show_text: bool,
}

/// `PushSubscription.toJSON()` as browsers give it.
#[derive(Deserialize)]
pub struct NewSubscription {
    endpoint: String,
    keys: SubscriptionKeys,
}

#[derive(Deserialize)]
pub struct SubscriptionKeys {
    p256dh: String,
    auth: String,
}

#[derive(Deserialize)]
pub struct Unsubscribe {
    endpoint: String,
}

fn pusher(state: &AppState) -> Result<&super::Pusher, ApiFailure> {
    state.push.as_deref().ok_or(ApiFailure::NotFound)
}

pub async fn key(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<PushKey>, ApiFailure> {
    let authed = authenticate(&state, &headers).await?;
    Ok(Json(PushKey {
        public_key: pusher(&state)?.public_key.clone(),
        show_text: state.store.push_text(authed.user).await?,
    }))
}

/// The account page's "Show message text in notifications".
pub async fn settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PushSettings>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let Json(settings) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    state
        .store
        .set_push_text(authed.user, settings.show_text)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn subscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewSubscription>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let pusher = pusher(&state)?;
    let Json(new) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    if state.user_event_limiter.check_key(&authed.user).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    if !endpoint_acceptable(&new.endpoint, pusher.allows_private_endpoints()) {
        return Err(ApiFailure::BadRequest(
            "the endpoint must be an https address of a push service".into(),
        ));
    }
    let key_ok = URL_SAFE_NO_PAD
        .decode(&new.keys.p256dh)
        .ok()
        .is_some_and(|k| web_push_native::p256::PublicKey::from_sec1_bytes(&k).is_ok());
    let auth_ok = URL_SAFE_NO_PAD
        .decode(&new.keys.auth)
        .is_ok_and(|a| a.len() == 16);
    if !key_ok || !auth_ok {
        return Err(ApiFailure::BadRequest(
            "keys.p256dh must be a P-256 public key and keys.auth 16 bytes, base64url".into(),
        ));
    }
    state
        .store
        .add_push_subscription(
            &PushSubscription {
                endpoint: new.endpoint,
                session_hash: authed.session_hash,
                user: authed.user,
                p256dh: new.keys.p256dh,
                auth: new.keys.auth,
                created_ms: now_ms(),
            },
            SUBSCRIPTIONS_PER_USER,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Unsubscribe>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let Json(gone) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    state
        .store
        .remove_push_subscription(&gone.endpoint, Some(authed.user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
