//! Outgoing webhooks: every event of a room POSTed, in order, to a URL an administrator gave,
//! signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
//! HMAC-SHA256 over `id.timestamp.body`, by the `standardwebhooks` crate).
//!
//! The room's timeline is the queue: a webhook row holds the last seq it handed over, so
//! nothing is written per event, a restart resumes where delivery stopped, and an event is
//! never skipped. One node at a time delivers a webhook: it leases the row (the claim is one
//! conditional UPDATE, so two nodes cannot both win) and renews the lease as it goes. A failed
//! POST is retried with growing delays; after [`MAX_ATTEMPTS`] the event is counted as failed
//! and delivery moves on. A retry carries the same `webhook-id` (`evt_<room>_<seq>`), so a
//! receiver that saw it already can drop it: that is how a delivery the receiver got but did
//! not acknowledge (a crash between the two) stays exactly-once for it.

pub mod admin;

use crate::outbound;
use crate::state::AppState;
use crate::store::{WebhookProgress, WebhookRow};
use shared::events::Event;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Attempts at one event before it is given up on (with the default base of 5 s the last is
/// about 4 hours after the first).
pub const MAX_ATTEMPTS: u32 = 10;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 3_600_000;
/// How long a node holds a webhook without renewing its lease (a POST takes at most
/// [`REQUEST_TIMEOUT`], and every event renews it).
const LEASE_MS: i64 = 60_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Webhooks one node delivers at once.
const CONCURRENT: usize = 16;
/// Events read from a room at a time.
const PAGE: u32 = 50;
/// How often a node looks for webhooks with events to deliver (and is woken sooner when one
/// is added here).
const POLL: Duration = Duration::from_millis(500);
/// Bytes of a receiver's answer kept as the status.
const STATUS_CHARS: usize = 200;

pub struct Webhooks {
    client: reqwest::Client,
    /// Let URLs name private and loopback addresses and any port (`--webhooks-allow-private`).
    pub allow_private: bool,
    /// The first retry's delay; each later one is 4 times longer, up to an hour.
    retry_base_ms: i64,
    /// This node's name in leases (each claim adds a number of its own).
    lease: String,
    wake: Notify,
}

impl Webhooks {
    pub fn new(allow_private: bool, retry_base_ms: u64, node: &str) -> Self {
        Self {
            // Redirects are not followed: a receiver answers where it was asked.
            client: outbound::client(
                allow_private,
                REQUEST_TIMEOUT,
                reqwest::redirect::Policy::none(),
            ),
            allow_private,
            retry_base_ms: i64::try_from(retry_base_ms).unwrap_or(i64::MAX).max(1),
            lease: node.to_owned(),
            wake: Notify::new(),
        }
    }

    /// Look for work now (a webhook was added on this node).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failures (at least 1).
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let exponent = attempts.saturating_sub(1).min(20);
        self.retry_base_ms
            .saturating_mul(4_i64.saturating_pow(exponent))
            .min(MAX_BACKOFF_MS)
    }
}

/// The Standard Webhooks payload of one event: `type` is `event.<kind>` (`event.message`,
/// `event.reaction`...), `data` the event as the WebSocket protocol carries it.
pub fn payload(event: &Event) -> String {
    let data = serde_json::to_value(event).unwrap_or_default();
    let kind = data
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("unknown")
        .to_owned();
    let timestamp =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(event.at_ms) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
    serde_json::json!({ "type": format!("event.{kind}"), "timestamp": timestamp, "data": data })
        .to_string()
}

/// The id a receiver deduplicates by: the same for every attempt at this event.
pub fn message_id(event: &Event) -> String {
    format!("evt_{}_{}", event.room.0, event.seq.0)
}

/// The three Standard Webhooks headers for `body`, signed with `secret` (`whsec_…`).
pub fn signed_headers(
    secret: &str,
    id: &str,
    unix_secs: i64,
    body: &str,
) -> Result<[(&'static str, String); 3], standardwebhooks::WebhookError> {
    let signature = standardwebhooks::Webhook::new(secret)?.sign(id, unix_secs, body.as_bytes())?;
    Ok([
        (standardwebhooks::HEADER_WEBHOOK_ID, id.to_owned()),
        (
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            unix_secs.to_string(),
        ),
        (standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
    ])
}

/// POSTs one event; `Ok` with the status line on a 2xx answer, `Err` with why otherwise.
async fn post(state: &AppState, hook: &WebhookRow, event: &Event) -> Result<String, String> {
    let Ok(url) = url::Url::parse(&hook.url) else {
        return Err("the URL cannot be read".to_owned());
    };
    if !outbound::url_acceptable(&url, state.webhooks.allow_private) {
        return Err(
            "the URL is refused (a private address or a port other than 80 and 443)".into(),
        );
    }
    let body = payload(event);
    let headers = signed_headers(
        &hook.secret,
        &message_id(event),
        crate::now_ms().div_euclid(1000),
        &body,
    )
    .map_err(|e| format!("cannot sign: {e}"))?;
    let mut request = state
        .webhooks
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "chat-webhooks/1");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => Ok(response.status().to_string()),
        Ok(response) => Err(format!("answered {}", response.status())),
        Err(e) if e.is_timeout() => Err("no answer in time".to_owned()),
        Err(e) if e.is_connect() => Err("could not connect".to_owned()),
        Err(_) => Err("the request failed".to_owned()),
    }
}

/// Delivers `hook`'s pending events in order until it is caught up, an attempt fails (then
/// the next one is scheduled), or the lease is lost.
async fn deliver(state: AppState, hook: WebhookRow, lease: String) {
    let webhooks = &state.webhooks;
    let mut progress = WebhookProgress {
        delivered_through: hook.delivered_through,
        attempts: hook.attempts,
        next_attempt_ms: 0,
        last_status: hook.last_status.clone(),
        delivered: 0,
        failed: 0,
        leased_until_ms: 0,
        now_ms: 0,
    };
    loop {
        let read = match state
            .store
            .events_after(&hook.room, progress.delivered_through, PAGE)
            .await
        {
            Ok((events, _)) => state
                .store
                .history_floor(&hook.room)
                .await
                .map(|floor| (events, floor)),
            Err(e) => Err(e),
        };
        let (events, floor) = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, webhook = %hook.id, "could not read events to deliver");
                progress.next_attempt_ms = crate::now_ms() + webhooks.backoff_ms(1);
                progress.leased_until_ms = 0;
                record(&state, &hook.id, &lease, &mut progress).await;
                return;
            }
        };
        // Retention deleted events this webhook had not handed over yet: they cannot be sent
        // any more. They count as given up on, and delivery goes on after them.
        let before_next = events.first().map_or(floor.0, |e| e.seq.0 - 1);
        let skipped = before_next.min(floor.0) - progress.delivered_through.0;
        if skipped > 0 {
            progress.delivered_through = shared::Seq(progress.delivered_through.0 + skipped);
            progress.failed = u32::try_from(skipped).unwrap_or(u32::MAX);
            progress.attempts = 0;
            progress.last_status = format!("{skipped} event(s) expired before delivery");
            progress.leased_until_ms = crate::now_ms() + LEASE_MS;
            if !record(&state, &hook.id, &lease, &mut progress).await {
                return;
            }
        }
        if events.is_empty() {
            // Caught up: let the lease go.
            progress.leased_until_ms = 0;
            record(&state, &hook.id, &lease, &mut progress).await;
            return;
        }
        for event in events {
            let outcome = post(&state, &hook, &event).await;
            let now = crate::now_ms();
            match outcome {
                Ok(status) => {
                    metrics::counter!("chat_webhook_deliveries_total", "outcome" => "delivered")
                        .increment(1);
                    progress.delivered = 1;
                    progress.last_status = status;
                }
                Err(why) => {
                    metrics::counter!("chat_webhook_deliveries_total", "outcome" => "retry")
                        .increment(1);
                    progress.attempts += 1;
                    if progress.attempts < MAX_ATTEMPTS {
                        progress.last_status = why;
                        progress.next_attempt_ms = now + webhooks.backoff_ms(progress.attempts);
                        progress.leased_until_ms = 0;
                        record(&state, &hook.id, &lease, &mut progress).await;
                        return;
                    }
                    tracing::warn!(webhook = %hook.id, seq = %event.seq, "webhook event given up on");
                    metrics::counter!("chat_webhook_deliveries_total", "outcome" => "given_up")
                        .increment(1);
                    progress.failed = 1;
                    progress.last_status = format!("gave up on event {}: {why}", event.seq.0);
                }
            }
            progress.delivered_through = event.seq;
            progress.attempts = 0;
            progress.next_attempt_ms = 0;
            progress.leased_until_ms = now + LEASE_MS;
            if !record(&state, &hook.id, &lease, &mut progress).await {
                return;
            }
        }
    }
}

/// Writes the webhook's progress (and zeroes the counts it added); false when this node no
/// longer holds it (or the write failed: the lease runs out and the events go again, with the
/// same ids).
async fn record(state: &AppState, id: &str, lease: &str, progress: &mut WebhookProgress) -> bool {
    if progress.last_status.chars().count() > STATUS_CHARS {
        progress.last_status = progress.last_status.chars().take(STATUS_CHARS).collect();
    }
    progress.now_ms = crate::now_ms();
    let written = state.store.webhook_progress(id, lease, progress).await;
    progress.delivered = 0;
    progress.failed = 0;
    match written {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(error = %e, webhook = %id, "could not record webhook progress");
            false
        }
    }
}

/// The node's delivery loop: claims due webhooks and delivers them, [`CONCURRENT`] at once.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let mut running: JoinSet<()> = JoinSet::new();
    // Each claim has a lease of its own, so a delivery that overran its lease cannot write
    // over the one that took the webhook over, on this node or another.
    let mut round: u64 = 0;
    loop {
        while running.try_join_next().is_some() {}
        let room = CONCURRENT.saturating_sub(running.len());
        if room > 0 {
            let now = crate::now_ms();
            let limit = u32::try_from(room).unwrap_or(1);
            round += 1;
            let lease = format!("{}:{round}", state.webhooks.lease);
            match state
                .store
                .claim_webhooks(&lease, now, now + LEASE_MS, limit)
                .await
            {
                Ok(hooks) => {
                    for hook in hooks {
                        running.spawn(deliver(state.clone(), hook, lease.clone()));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not look for webhooks to deliver"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = state.webhooks.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    // Deliveries in flight end with the process; their leases run out and another node (or
    // this one, restarted) sends those events again, with the same ids.
    running.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::events::EventKind;
    use shared::{RoomId, Seq};

    fn event() -> Event {
        Event {
            room: RoomId("r1".into()),
            seq: Seq(7),
            sender: "ann".into(),
            at_ms: 1_700_000_000_123,
            client_id: None,
            kind: EventKind::Message {
                attachment: None,
                body: "hello".into(),
                reply_to: None,
                mentions: vec![],
                edited_at_ms: None,
                deleted: false,
                reactions: vec![],
            },
        }
    }

    #[test]
    fn the_payload_names_the_event_kind_and_carries_the_event() {
        let body: serde_json::Value = serde_json::from_str(&payload(&event())).unwrap();
        assert_eq!(body["type"], "event.message");
        assert_eq!(body["timestamp"], "2023-11-14T22:13:20.123Z");
        assert_eq!(body["data"]["body"], "hello");
        assert_eq!(body["data"]["seq"], 7);
        assert_eq!(message_id(&event()), "evt_r1_7");
    }

    #[test]
    fn a_signature_verifies_with_the_secret_and_not_with_another() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = payload(&event());
        let now = crate::now_ms() / 1000;
        let headers = signed_headers(secret, "evt_r1_7", now, &body).unwrap();
        let mut map = axum::http::HeaderMap::new();
        for (name, value) in &headers {
            map.insert(*name, value.parse().unwrap());
        }
        let hook = standardwebhooks::Webhook::new(secret).unwrap();
        assert!(hook.verify(body.as_bytes(), &map).is_ok());
        assert!(hook.verify(b"{\"tampered\":1}", &map).is_err());
        let other =
            standardwebhooks::Webhook::new("whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").unwrap();
        assert!(other.verify(body.as_bytes(), &map).is_err());
    }

    #[test]
    fn retries_wait_four_times_longer_each_time_up_to_an_hour() {
        let hooks = Webhooks::new(false, 5_000, "n");
        assert_eq!(hooks.backoff_ms(1), 5_000);
        assert_eq!(hooks.backoff_ms(2), 20_000);
        assert_eq!(hooks.backoff_ms(3), 80_000);
        assert_eq!(hooks.backoff_ms(9), MAX_BACKOFF_MS);
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| hooks.backoff_ms(a)).sum();
        assert!((3 * 3_600_000..6 * 3_600_000).contains(&total), "{total}");
    }
}
