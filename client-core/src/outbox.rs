//! The send queue: every message typed on this device from the moment it is typed until the
//! server stores it.
//!
//! ```text
//!            add                 connected / due retry          Ack
//!   typed ─────────▶ Waiting ─────────────────────▶ InFlight ─────────▶ (gone: stored)
//!                      ▲   ◀──── disconnected ────────  │
//!                      │                                │ refused, retryable (rate limit,
//!                      │   ◀──── RetryAt(t) ◀───────────┤ server trouble): backoff
//!           user Retry │                                │ refused for good, or too many
//!                      └────────── Failed(reason) ◀─────┘ automatic retries
//! ```
//!
//! A message keeps its client id for life, so every resend (after a reconnect, a refusal or a
//! reload) is the same request and the server stores it at most once. Every item is written to
//! storage before it is first sent ([`crate::client::Output::OutboxPut`]) and leaves storage
//! in the same transaction that stores the acknowledged message, so a reload resumes exactly
//! the messages that are not stored yet. What a reload forgets is the retry count and a
//! failure: a restored message is simply waiting again.

use serde::{Deserialize, Serialize};
use shared::ws::{ClientMessage, ErrorCode};
use shared::{ClientMsgId, RoomId, Seq};

/// Wait before resending a message the server asked us to retry; doubles per attempt up to 8
/// times this.
pub const RETRY_DELAY_MS: i64 = 2_000;
/// Automatic resends of one message before it is shown as failed with a Retry button.
pub const MAX_AUTO_RETRIES: u32 = 8;

/// A message typed here and not yet acknowledged, as storage keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub room: RoomId,
    pub client_id: ClientMsgId,
    pub body: String,
    pub reply_to: Option<Seq>,
    pub created_at_ms: i64,
}

impl OutboxItem {
    fn frame(&self) -> ClientMessage {
        ClientMessage::Send {
            attachment: None,
            room: self.room.clone(),
            client_id: self.client_id.clone(),
            body: self.body.clone(),
            reply_to: self.reply_to,
        }
    }
}

/// Where one queued message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// To be sent when the connection is up.
    Waiting,
    /// Sent on the current connection; the answer has not come yet.
    InFlight,
    /// Refused for now; sent again at this time (ms since the epoch) if still connected.
    RetryAt(i64),
    /// Refused for good; the user may retry.
    Failed(String),
}

#[derive(Debug, Clone)]
struct Queued {
    item: OutboxItem,
    stage: Stage,
    /// Automatic resends after retryable refusals since the user last touched it.
    auto_retries: u32,
}

/// What a refusal did to a queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// It will be sent again at this time.
    WillRetry { room: RoomId, at_ms: i64 },
    /// It is shown as failed with this reason.
    Failed { room: RoomId, reason: String },
}

#[derive(Debug, Default)]
pub struct SendQueue {
    /// In the order typed, which is the order they are sent in.
    queued: Vec<Queued>,
    connected: bool,
}

impl SendQueue {
    /// Queues a new message; returns the frame to send now if connected.
    pub fn add(&mut self, item: OutboxItem) -> Option<ClientMessage> {
        let frame = self.connected.then(|| item.frame());
        let stage = if self.connected {
            Stage::InFlight
        } else {
            Stage::Waiting
        };
        self.queued.push(Queued {
            item,
            stage,
            auto_retries: 0,
        });
        frame
    }

    /// Puts back what storage kept across a reload (oldest first); ids already queued are
    /// skipped.
    pub fn restore(&mut self, items: Vec<OutboxItem>) -> Vec<OutboxItem> {
        let mut added = Vec::new();
        for item in items {
            if self.find(&item.client_id).is_none() {
                added.push(item.clone());
                self.add(item);
            }
        }
        added
    }

    /// A new connection is ready: everything not failed is sent again, in order.
    pub fn connected(&mut self) -> Vec<ClientMessage> {
        self.connected = true;
        self.queued
            .iter_mut()
            .filter(|q| !matches!(q.stage, Stage::Failed(_)))
            .map(|q| {
                q.stage = Stage::InFlight;
                q.item.frame()
            })
            .collect()
    }

    /// The connection is gone: what was in flight waits for the next one (the server may or
    /// may not have stored it; the resend finds out).
    pub fn disconnected(&mut self) {
        self.connected = false;
        for q in &mut self.queued {
            if matches!(q.stage, Stage::InFlight | Stage::RetryAt(_)) {
                q.stage = Stage::Waiting;
            }
        }
    }

    /// The server stored the message: it leaves the queue.
    pub fn acked(&mut self, client_id: &ClientMsgId) -> Option<OutboxItem> {
        let at = self.find(client_id)?;
        Some(self.queued.remove(at).item)
    }

    /// The server refused the message. Rate limits and server trouble are retried with
    /// backoff up to [`MAX_AUTO_RETRIES`] times; anything else fails at once.
    pub fn refused(
        &mut self,
        client_id: &ClientMsgId,
        code: ErrorCode,
        reason: String,
        now_ms: i64,
    ) -> Option<Refused> {
        let at = self.find(client_id)?;
        let queued = &mut self.queued[at];
        if matches!(queued.stage, Stage::Failed(_)) {
            return None;
        }
        let room = queued.item.room.clone();
        let retryable = matches!(code, ErrorCode::RateLimited | ErrorCode::Internal);
        if retryable && queued.auto_retries < MAX_AUTO_RETRIES {
            queued.auto_retries += 1;
            let at_ms = now_ms + backoff_ms(queued.auto_retries);
            queued.stage = Stage::RetryAt(at_ms);
            Some(Refused::WillRetry { room, at_ms })
        } else {
            queued.stage = Stage::Failed(reason.clone());
            Some(Refused::Failed { room, reason })
        }
    }

    /// Resends whose time has come (only while connected).
    pub fn due(&mut self, now_ms: i64) -> Vec<ClientMessage> {
        if !self.connected {
            return Vec::new();
        }
        self.queued
            .iter_mut()
            .filter(|q| matches!(q.stage, Stage::RetryAt(at) if at <= now_ms))
            .map(|q| {
                q.stage = Stage::InFlight;
                q.item.frame()
            })
            .collect()
    }

    /// When [`Self::due`] next has something to send.
    pub fn next_due(&self) -> Option<i64> {
        self.queued
            .iter()
            .filter_map(|q| match q.stage {
                Stage::RetryAt(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// The user asks to try a failed message again: its count starts over.
    pub fn retry(&mut self, client_id: &ClientMsgId) -> Option<ClientMessage> {
        let at = self.find(client_id)?;
        let connected = self.connected;
        let queued = &mut self.queued[at];
        if !matches!(queued.stage, Stage::Failed(_)) {
            return None;
        }
        queued.auto_retries = 0;
        if connected {
            queued.stage = Stage::InFlight;
            Some(queued.item.frame())
        } else {
            queued.stage = Stage::Waiting;
            None
        }
    }

    pub fn stage(&self, client_id: &ClientMsgId) -> Option<&Stage> {
        self.find(client_id).map(|at| &self.queued[at].stage)
    }

    pub fn contains(&self, client_id: &ClientMsgId) -> bool {
        self.find(client_id).is_some()
    }

    /// Messages not stored yet, failed ones included.
    pub fn len(&self) -> usize {
        self.queued.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    pub fn items(&self) -> impl Iterator<Item = (&OutboxItem, &Stage)> {
        self.queued.iter().map(|q| (&q.item, &q.stage))
    }

    fn find(&self, client_id: &ClientMsgId) -> Option<usize> {
        self.queued
            .iter()
            .position(|q| &q.item.client_id == client_id)
    }
}

/// The wait before automatic resend number `attempt` (1-based): 2 s, 4 s, 8 s, then 16 s.
pub fn backoff_ms(attempt: u32) -> i64 {
    RETRY_DELAY_MS << attempt.saturating_sub(1).min(3)
}
