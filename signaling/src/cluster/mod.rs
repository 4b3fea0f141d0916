//! Several nodes on one database: [`NatsFanout`] hands each frame to this node's sockets and
//! publishes it on NATS for the others (`--nats-url`).
//!
//! NATS core gives no delivery guarantee across a reconnect or to a slow consumer, and needs
//! none: every room event is in the database before it is published, so a node that receives
//! event 12 of a room after 10 reads 11 from the database first ([`sequencer`]), and a node
//! that was cut off from NATS reads what its rooms missed when it is back. Ephemeral frames
//! (typing, receipts, call signals) lost that way are not worth more than that. A node that
//! cannot reach NATS keeps serving its own sockets.
//!
//! Subjects: `<prefix>.event.<room>`, `<prefix>.frame`, `<prefix>.member`,
//! `<prefix>.session`, `<prefix>.presence`. Every node subscribes to `<prefix>.>`: with a
//! handful of nodes each one sees every event anyway, and filtering by room here costs less
//! than a subscription per room on the server.

mod delivery;
pub mod sequencer;
mod wire;

use crate::fanout::Fanout;
use crate::hub::{Audience, ConnId, Hub};
use crate::store::{Storage, UserId};
use axum::extract::ws::Utf8Bytes;
use delivery::{Delivery, Input};
use shared::rooms::Presence;
use shared::{RoomId, Seq};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wire::{Body, Envelope};

/// Frames waiting to be published; past this NATS is away or too slow and frames are dropped
/// (room events are then read from the database by the receivers).
const OUTBOX: usize = 16_384;
/// Room events waiting for this node's delivery task.
const INBOX: usize = 65_536;
/// How often a node tells the others who is present on it; one silent for three times this
/// is taken to be gone and its users offline.
pub const PRESENT_EVERY: Duration = Duration::from_secs(5);

pub struct NatsFanout {
    node: u64,
    prefix: String,
    hub: Hub,
    outbox: mpsc::Sender<(String, Vec<u8>)>,
    inbox: mpsc::Sender<Input>,
    /// Names of the users present here, for the periodic presence report.
    names: Mutex<HashMap<UserId, String>>,
}

/// What a node learns about the others, for the state it shares with them (calls in
/// progress name the node holding each socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeNews {
    /// This node stopped reporting: killed, or cut off.
    Gone(u64),
    /// The nodes running now (this one included), told once after start-up, when every
    /// running node has had time to report: any other node named in shared state is gone.
    Running(Vec<u64>),
}

/// Connects to NATS (retrying in the background if it is not up yet) and starts the tasks
/// that publish, receive and report presence, as node `node`. They stop when `shutdown` is
/// cancelled.
pub async fn start(
    url: &str,
    prefix: &str,
    node: u64,
    hub: Hub,
    store: Arc<dyn Storage>,
    open_directory: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<(Arc<NatsFanout>, mpsc::Receiver<NodeNews>)> {
    let (inbox, inputs) = mpsc::channel(INBOX);
    let (news, news_out) = mpsc::channel(64);
    let events = inbox.clone();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(move |event| {
            let events = events.clone();
            async move {
                match event {
                    // Back after an outage, or NATS dropped frames for us: look for what the
                    // rooms missed.
                    async_nats::Event::Connected | async_nats::Event::SlowConsumer(_) => {
                        tracing::info!(%event, "nats");
                        let _ = events.try_send(Input::Resync);
                    }
                    other => tracing::warn!(event = %other, "nats"),
                }
            }
        })
        .connect(url)
        .await?;
    let subscriber = client.subscribe(format!("{prefix}.>")).await?;
    let (outbox, mut queued) = mpsc::channel::<(String, Vec<u8>)>(OUTBOX);
    let publisher = client.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let (subject, payload) = tokio::select! {
                () = stop.cancelled() => break,
                next = queued.recv() => match next {
                    Some(next) => next,
                    None => break,
                },
            };
            if let Err(e) = publisher.publish(subject, payload.into()).await {
                tracing::warn!(error = %e, "not published on nats");
            }
        }
    });
    let delivery = Delivery::new(node, hub.clone(), store, open_directory, news);
    tokio::spawn(delivery.run(inputs, subscriber, shutdown.clone()));
    let fanout = Arc::new(NatsFanout {
        node,
        prefix: prefix.to_owned(),
        hub,
        outbox,
        inbox,
        names: Mutex::default(),
    });
    let reporter = fanout.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRESENT_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = every.tick() => reporter.report_presence(),
            }
        }
        // Tell the others at once rather than let them wait for the silence (straight to the
        // client: the publishing task stops with the same signal).
        let (subject, payload) = reporter.envelope("presence", Body::Present { users: Vec::new() });
        let _ = client.publish(subject, payload.into()).await;
        let _ = client.flush().await;
    });
    tracing::info!(node = format!("{node:016x}"), "publishing to nats");
    Ok((fanout, news_out))
}

impl NatsFanout {
    fn envelope(&self, topic: &str, body: Body) -> (String, Vec<u8>) {
        let subject = match &body {
            Body::Event { room, .. } => format!("{}.event.{}", self.prefix, room.0),
            _ => format!("{}.{topic}", self.prefix),
        };
        let envelope = Envelope {
            node: self.node,
            body,
        };
        let payload = serde_json::to_vec(&envelope).expect("wire types always serialize");
        (subject, payload)
    }

    fn publish(&self, topic: &str, body: Body) {
        if self.outbox.try_send(self.envelope(topic, body)).is_err() {
            tracing::warn!("nats outbox full; frame dropped");
        }
    }

    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, String>> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn report_presence(&self) {
        let present = self.hub.present_here();
        let users = {
            let names = self.names();
            present
                .into_iter()
                .filter_map(|(user, status)| {
                    names.get(&user).map(|name| (user.0, name.clone(), status))
                })
                .collect()
        };
        self.publish("presence", Body::Present { users });
    }
}

impl Fanout for NatsFanout {
    fn send(&self, audience: Audience, frame: Utf8Bytes, skip: Option<ConnId>) {
        self.hub.deliver(&audience, &frame, skip);
        let to = (&audience).into();
        let frame = frame.as_str().to_owned();
        self.publish("frame", Body::Frame { to, frame });
    }

    fn publish_event(&self, room: &RoomId, seq: Seq, frame: Utf8Bytes, skip: Option<ConnId>) {
        let body = Body::Event {
            room: room.clone(),
            seq,
            frame: frame.as_str().to_owned(),
        };
        let here = Input::Event {
            room: room.clone(),
            seq,
            frame,
            skip,
        };
        if self.inbox.try_send(here).is_err() {
            // The delivery task reads it from the database with the room's next event.
            tracing::warn!("delivery queue full; event left to the gap filler");
        }
        self.publish("event", body);
    }

    fn set_membership(&self, user: UserId, room: &RoomId, joined: bool) {
        self.hub.set_membership(user, room, joined);
        let body = Body::Membership {
            user: user.0,
            room: room.clone(),
            joined,
        };
        self.publish("member", body);
    }

    fn following(&self, rooms: &[(RoomId, Seq)]) {
        let _ = self.inbox.try_send(Input::Follow(rooms.to_vec()));
    }

    fn presence_here(&self, user: UserId, username: &str, status: Presence, seen: Option<i64>) {
        {
            let mut names = self.names();
            if status == Presence::Offline {
                names.remove(&user);
            } else {
                names.insert(user, username.to_owned());
            }
        }
        let body = Body::Presence {
            user: user.0,
            name: username.to_owned(),
            status,
            seen,
        };
        self.publish("presence", body);
    }

    fn disconnect_session(&self, session: &[u8; 32]) -> usize {
        let session_hex = session.iter().map(|b| format!("{b:02x}")).collect();
        self.publish(
            "session",
            Body::Disconnect {
                session: session_hex,
            },
        );
        self.hub.disconnect_session(session)
    }
}
