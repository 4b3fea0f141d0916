//! Web Push: a user with no open socket on any node hears about DMs, mentions, calls and (by
//! the room's setting) every message on their devices, through the browser's push service.
//!
//! - The server's VAPID key pair is made on first start and kept in the database, so every
//!   node signs with the same key (`server_keys`).
//! - Subscriptions belong to a session (`push_subscriptions`) and end with it; a push service
//!   that answers 404 or 410 ends one too.
//! - Every message and call whose room has a subscribed member is queued in the transaction
//!   that stores it (`push_outbox`), so a crash loses none. A worker on each node claims queued
//!   pushes for a minute, sends them and deletes them; a node that dies mid-way leaves its
//!   claims to run out, and another node sends them then (a device may get one twice; it shows
//!   the newest per room, as pushes carry the room's `Topic` and the worker uses it as the
//!   notification's tag).

pub mod api;
pub mod rules;
pub mod send;

use crate::now_ms;
use crate::state::AppState;
use crate::store::{Storage, StoreError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::rooms::Presence;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256KeyPair};

/// The `server_keys` row of the VAPID key.
const KEY_NAME: &str = "vapid-p256";
/// How long a claim on a queued push lasts (sending one is bounded by the HTTP timeout).
const CLAIM_MS: i64 = 60_000;
/// Queued pushes claimed at once.
const CLAIM_BATCH: u32 = 32;
/// How often the queue is looked at when it was empty.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// What the server signs pushes with and how it sends them.
pub struct Pusher {
    key: ES256KeyPair,
    /// The public key as browsers want it (`applicationServerKey`): base64url, uncompressed.
    pub public_key: String,
    /// The VAPID `sub`: how a push service reaches the operator.
    contact: String,
    allow_private: bool,
    http: reqwest::Client,
}

impl Pusher {
    /// Loads the server's key from the store, making it on the first start.
    pub async fn load(
        store: &dyn Storage,
        contact: String,
        allow_private: bool,
    ) -> Result<Self, StoreError> {
        let fresh = ES256KeyPair::generate().to_bytes();
        let stored = store.server_key(KEY_NAME, &fresh, now_ms()).await?;
        let key = ES256KeyPair::from_bytes(&stored)
            .map_err(|e| StoreError::Corrupt(format!("the stored VAPID key: {e}")))?;
        let public_key =
            URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed());
        Ok(Self {
            key,
            public_key,
            contact,
            allow_private,
            http: send::client(allow_private),
        })
    }

    pub fn allows_private_endpoints(&self) -> bool {
        self.allow_private
    }
}

/// Sends queued pushes until `shutdown`.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    loop {
        let busy = match work(&state).await {
            Ok(sent) => sent > 0,
            Err(e) => {
                tracing::warn!(error = %e, "push queue not read");
                false
            }
        };
        if !busy {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        } else if shutdown.is_cancelled() {
            return;
        }
    }
}

/// One round: claims queued pushes and sends each to those it is for. The number claimed.
async fn work(state: &AppState) -> Result<usize, StoreError> {
    let now = now_ms();
    let claimed = state
        .store
        .claim_pushes(now, now + CLAIM_MS, CLAIM_BATCH)
        .await?;
    for (room, seq) in &claimed {
        deliver(state, room, *seq).await?;
        state.store.finish_push(room, *seq).await?;
    }
    Ok(claimed.len())
}

/// Sends the pushes of event `seq` of `room` to the subscribed members who have no socket open
/// on any node and whose choice for the room asks for one.
async fn deliver(
    state: &AppState,
    room: &shared::RoomId,
    seq: shared::Seq,
) -> Result<(), StoreError> {
    let Some(pusher) = state.push.as_ref() else {
        return Ok(());
    };
    let Some(event) = state.store.event_at(room, seq).await? else {
        return Ok(());
    };
    let Some(sender) = state.store.user_by_name(&event.sender).await? else {
        return Ok(());
    };
    for target in state.store.push_targets(room, sender.id).await? {
        if state.hub.presence(target.user.id) != Presence::Offline {
            continue;
        }
        let Some(summary) = state.store.room_summary(room, target.user.id).await? else {
            continue;
        };
        let view = rules::RoomView {
            kind: summary.kind,
            name: &summary.name,
        };
        let Some(push) = rules::push_for(
            &event,
            &target.user.name,
            &view,
            target.notify,
            target.show_text,
        ) else {
            continue;
        };
        let sent = send::send(
            &pusher.http,
            &pusher.key,
            &pusher.contact,
            pusher.allow_private,
            send::Target {
                endpoint: &target.endpoint,
                p256dh: &target.p256dh,
                auth: &target.auth,
            },
            &push,
        )
        .await;
        let outcome = match &sent {
            Ok(()) => "sent",
            Err(send::SendError::Gone) => "gone",
            Err(_) => "failed",
        };
        metrics::counter!("chat_pushes_total", "outcome" => outcome).increment(1);
        match sent {
            Ok(()) => tracing::debug!(user = target.user.id.0, "push sent"),
            Err(
                send::SendError::Gone | send::SendError::BadEndpoint | send::SendError::BadKeys,
            ) => {
                state
                    .store
                    .remove_push_subscription(&target.endpoint, None)
                    .await?;
            }
            Err(e) => tracing::info!(error = %e, "push not delivered"),
        }
    }
    Ok(())
}
