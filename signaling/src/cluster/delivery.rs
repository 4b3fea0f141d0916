//! The one task per node that hands room events to this node's sockets, in seq order: its own
//! events and those of other nodes alike, with holes filled from the database. It also applies
//! what other nodes publish (ephemeral frames, membership changes, log-outs, presence).

use super::sequencer::{Sequencer, Step};
use super::wire::{Body, Envelope};
use super::{NodeNews, PRESENT_EVERY};
use crate::frames::encode;
use crate::hub::{Audience, ConnId, Hub};
use crate::presence::tell_sockets_here;
use crate::store::{Storage, UserId};
use async_nats::Subscriber;
use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use shared::rooms::Presence;
use shared::ws::ServerMessage;
use shared::{RoomId, Seq};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Events read from the database to fill one hole; a longer one (a node cut off for long)
/// is left to the clients, which notice it and fetch it themselves.
const MAX_FILL: i64 = 2_000;
/// Events per read while filling.
const FILL_PAGE: u32 = 200;

pub enum Input {
    /// An event this node stored.
    Event {
        room: RoomId,
        seq: Seq,
        frame: Utf8Bytes,
        skip: Option<ConnId>,
    },
    /// A socket here follows these rooms, whose newest events it fetches itself.
    Follow(Vec<(RoomId, Seq)>),
    /// NATS is back (or dropped frames): look for events the rooms missed.
    Resync,
}

pub struct Delivery {
    node: u64,
    hub: Hub,
    store: Arc<dyn Storage>,
    open_directory: bool,
    sequencer: Sequencer,
    /// Names of users present on other nodes.
    names: HashMap<UserId, String>,
    /// When each other node was last heard from.
    heard: HashMap<u64, Instant>,
    news: mpsc::Sender<NodeNews>,
    /// Presence checks done since start-up (the running nodes are told after a few).
    checks: u32,
}

impl Delivery {
    pub fn new(
        node: u64,
        hub: Hub,
        store: Arc<dyn Storage>,
        open_directory: bool,
        news: mpsc::Sender<NodeNews>,
    ) -> Self {
        Self {
            node,
            hub,
            store,
            open_directory,
            sequencer: Sequencer::default(),
            names: HashMap::new(),
            heard: HashMap::new(),
            news,
            checks: 0,
        }
    }

    pub async fn run(
        mut self,
        mut inputs: mpsc::Receiver<Input>,
        mut subscriber: Subscriber,
        shutdown: CancellationToken,
    ) {
        let mut subscribed = true;
        let mut check = tokio::time::interval(PRESENT_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                input = inputs.recv() => match input {
                    Some(Input::Event { room, seq, frame, skip }) => {
                        self.event(&room, seq, &frame, skip).await;
                    }
                    Some(Input::Follow(rooms)) => {
                        for (room, newest) in rooms {
                            self.sequencer.follow(&room, newest);
                        }
                    }
                    Some(Input::Resync) => self.resync().await,
                    None => break,
                },
                message = subscriber.next(), if subscribed => match message {
                    Some(message) => self.remote(&message.payload).await,
                    None => {
                        tracing::error!("nats subscription ended; serving this node's sockets only");
                        subscribed = false;
                    }
                },
                _ = check.tick() => self.forget_silent_nodes().await,
            }
        }
    }

    async fn event(&mut self, room: &RoomId, seq: Seq, frame: &Utf8Bytes, skip: Option<ConnId>) {
        if !self.hub.has_followers(room) {
            self.sequencer.forget(room);
            return;
        }
        match self.sequencer.offer(room, seq) {
            Step::Deliver => self.hub.deliver(&Audience::Room(room.clone()), frame, skip),
            Step::Duplicate => {}
            Step::Gap { after } => {
                self.fill(room, after, seq).await;
                self.sequencer.delivered(room, seq);
                self.hub.deliver(&Audience::Room(room.clone()), frame, skip);
            }
        }
    }

    /// Reads the events of `room` after `after` and before `before` from the database and
    /// delivers them.
    async fn fill(&mut self, room: &RoomId, after: Seq, before: Seq) {
        let mut cursor = after;
        let end = before.0.min(after.0.saturating_add(MAX_FILL + 1));
        while cursor.0 + 1 < end {
            let want = u32::try_from(end - cursor.0 - 1).map_or(FILL_PAGE, |n| n.min(FILL_PAGE));
            let events = match self.store.events_after(room, cursor, want).await {
                Ok((events, _)) => events,
                Err(e) => {
                    tracing::warn!(error = %e, room = %room.0, "could not fill a gap");
                    return;
                }
            };
            let Some(last) = events.last().map(|e| e.seq) else {
                return;
            };
            for event in events {
                let frame = encode(&ServerMessage::Event { event });
                self.hub
                    .deliver(&Audience::Room(room.clone()), &frame, None);
            }
            cursor = last;
            self.sequencer.delivered(room, cursor);
        }
        if cursor.0 + 1 < before.0 {
            tracing::warn!(room = %room.0, missing = before.0 - cursor.0 - 1, "gap left to the clients");
        }
    }

    /// After NATS was away: delivers what each followed room stored since.
    async fn resync(&mut self) {
        for (room, delivered) in self.sequencer.rooms() {
            if self.hub.has_followers(&room) {
                self.fill(&room, delivered, Seq(i64::MAX)).await;
            } else {
                self.sequencer.forget(&room);
            }
        }
    }

    async fn remote(&mut self, payload: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable nats message");
                return;
            }
        };
        if envelope.node == self.node {
            return;
        }
        self.heard.insert(envelope.node, Instant::now());
        match envelope.body {
            Body::Event { room, seq, frame } => self.event(&room, seq, &frame.into(), None).await,
            Body::Frame { to, frame } => self.hub.deliver(&to.into(), &frame.into(), None),
            Body::Membership { user, room, joined } => {
                self.hub.set_membership(UserId(user), &room, joined);
            }
            Body::Disconnect { session } => {
                if let Some(session) = decode_hex(&session) {
                    self.hub.disconnect_session(&session);
                }
            }
            Body::Presence {
                user,
                name,
                status,
                seen,
            } => {
                let user = UserId(user);
                self.names.insert(user, name);
                self.hub.set_remote_presence(envelope.node, user, status);
                self.tell(user, seen).await;
            }
            Body::Present { users } => {
                let mut present = HashMap::new();
                for (user, name, status) in users {
                    self.names.insert(UserId(user), name);
                    present.insert(UserId(user), status);
                }
                let changed = self.hub.replace_remote_node(envelope.node, Some(present));
                for user in changed {
                    self.tell(user, None).await;
                }
            }
        }
    }

    /// Tells this node's sockets about `user`'s presence if it changed.
    async fn tell(&mut self, user: UserId, seen: Option<i64>) {
        let Some(status) = self.hub.presence_change(user) else {
            return;
        };
        let Some(name) = self.names.get(&user).cloned() else {
            return;
        };
        let seen = seen.filter(|_| status == Presence::Offline);
        tell_sockets_here(
            self.store.as_ref(),
            &self.hub,
            self.open_directory,
            (user, &name),
            status,
            seen,
        )
        .await;
    }

    /// A node that stopped reporting (killed, or cut off) takes its users' presence with it.
    async fn forget_silent_nodes(&mut self) {
        self.checks += 1;
        // The first tick is at once; by the fourth every running node has reported.
        if self.checks == 4 {
            let mut running: Vec<u64> = self.heard.keys().copied().collect();
            running.push(self.node);
            let _ = self.news.try_send(NodeNews::Running(running));
        }
        let silent: Vec<u64> = self
            .heard
            .iter()
            .filter(|(_, at)| at.elapsed() > PRESENT_EVERY * 3)
            .map(|(node, _)| *node)
            .collect();
        for node in silent {
            self.heard.remove(&node);
            tracing::info!(
                node = format!("{node:016x}"),
                "node silent; its users count as gone"
            );
            for user in self.hub.replace_remote_node(node, None) {
                self.tell(user, None).await;
            }
        }
    }
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}
