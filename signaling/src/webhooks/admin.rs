//! The administration of outgoing webhooks: `/api/admin/webhooks`. Only server
//! administrators; every change is in the audit log. The signing secret is shown once, when
//! the webhook is made.

use crate::admin::api::admin_only;
use crate::admin::audit;
use crate::error::ApiFailure;
use crate::outbound;
use crate::state::AppState;
use crate::store::NewWebhook;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use shared::RoomId;

/// Webhooks one server may have.
pub const MAX_WEBHOOKS: usize = 100;
const MAX_URL_BYTES: usize = 2048;

#[derive(Debug, Deserialize)]
pub struct NewHook {
    pub room: String,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct HookCreated {
    pub id: String,
    /// `whsec_…`: shown once.
    pub secret: String,
}

#[derive(Debug, Serialize)]
pub struct HookView {
    pub id: String,
    pub room: String,
    pub room_name: String,
    pub url: String,
    pub created_by: String,
    pub created_ms: i64,
    pub delivered_through: i64,
    /// Events of the room not handed over yet.
    pub pending: i64,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_status: String,
    pub delivered: i64,
    pub failed: i64,
}

/// `GET /api/admin/webhooks`
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<HookView>>, ApiFailure> {
    admin_only(&state, &headers).await?;
    let hooks = state.store.webhooks().await?;
    Ok(Json(
        hooks
            .into_iter()
            .map(|(h, room_name, last_seq)| HookView {
                id: h.id,
                room: h.room.0,
                room_name,
                url: h.url,
                created_by: h.created_by,
                created_ms: h.created_ms,
                delivered_through: h.delivered_through.0,
                pending: (last_seq.0 - h.delivered_through.0).max(0),
                attempts: h.attempts,
                next_attempt_ms: h.next_attempt_ms,
                last_status: h.last_status,
                delivered: h.delivered,
                failed: h.failed,
            })
            .collect(),
    ))
}

/// `POST /api/admin/webhooks`: events of the room from now on go to the URL.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewHook>, JsonRejection>,
) -> Result<(StatusCode, Json<HookCreated>), ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let Json(new) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let url = new.url.trim();
    let parsed = url::Url::parse(url).map_err(|_| ApiFailure::Forbidden("That is not a URL."))?;
    if url.len() > MAX_URL_BYTES || !outbound::url_acceptable(&parsed, state.webhooks.allow_private)
    {
        return Err(ApiFailure::Forbidden(
            "The URL must be http or https on port 80 or 443, without a password, and not a \
             private or loopback address.",
        ));
    }
    let room = state
        .store
        .admin_room(&RoomId(new.room.clone()))
        .await?
        .ok_or(ApiFailure::NotFound)?;
    if room.kind != "group" {
        return Err(ApiFailure::Forbidden(
            "A direct conversation belongs to its two people: it cannot have a webhook.",
        ));
    }
    if state.store.webhooks().await?.len() >= MAX_WEBHOOKS {
        return Err(ApiFailure::TooMany("webhooks", MAX_WEBHOOKS));
    }
    let mut key = [0u8; 24];
    getrandom::fill(&mut key).expect("the OS random number generator is available");
    let mut id = [0u8; 12];
    getrandom::fill(&mut id).expect("the OS random number generator is available");
    let hook = NewWebhook {
        id: format!("wh_{}", URL_SAFE_NO_PAD.encode(id)),
        room: RoomId(new.room.clone()),
        url: parsed.to_string(),
        secret: format!("whsec_{}", STANDARD.encode(key)),
        created_by: authed.username.clone(),
        created_ms: crate::now_ms(),
    };
    if !state.store.create_webhook(&hook).await? {
        return Err(ApiFailure::NotFound);
    }
    audit(
        &state,
        &authed.username,
        "create webhook",
        &format!("room {}", hook.room.0),
        &hook.url,
    )
    .await;
    state.webhooks.wake();
    Ok((
        StatusCode::CREATED,
        Json(HookCreated {
            id: hook.id,
            secret: hook.secret,
        }),
    ))
}

/// `DELETE /api/admin/webhooks/{id}`: no more events go to it.
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    if !state.store.delete_webhook(&id).await? {
        return Err(ApiFailure::NotFound);
    }
    audit(&state, &authed.username, "delete webhook", &id, "").await;
    Ok(StatusCode::NO_CONTENT)
}
