//! The write path of the room timelines, with one owner: the order in which room events are
//! stored and fanned out, their appends (the group commit of messages, [`crate::commit`], and
//! [`RoomLog::append`] for everything else: nothing else writes a room event), and the fan-out
//! of every room event (messages, operations, room changes, call events).
//!
//! Every socket must receive a room's events in seq order, and a request's rule checks must
//! see the state its append changes. Both hold because room events are checked, appended and
//! published while the order is held ([`InOrder`]), and appending and publishing take that
//! proof: an event cannot be stored or fanned out by code that does not hold it. The order is an async mutex on
//! purpose: it is held across the append's `.await`; SQLite serialises those writes anyway, so
//! it costs no parallelism. Messages take it once per group commit, not once per message.
//!
//! The order is this process's. With several nodes on PostgreSQL, the room's counter row
//! (locked by each append until its commit) orders the nodes' appends, and each node's
//! [`crate::cluster`] delivery puts what its sockets receive back in seq order.

use crate::commit::{MessageWriter, Receipt, WriteError};
use crate::fanout::Fanout;
use crate::frames::encode;
use crate::hub::ConnId;
use crate::store::{Draft, NamedUser, NewRoom, PendingMessage, Storage, StoreError};
use shared::events::Event;
use shared::ws::ServerMessage;
use shared::{ClientMsgId, RoomId};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

#[derive(Clone)]
pub struct RoomLog {
    store: Arc<dyn Storage>,
    order: Arc<Mutex<()>>,
    writer: MessageWriter,
    fanout: Arc<dyn Fanout>,
}

/// Held while room events are checked, appended and published.
pub struct InOrder<'a> {
    _held: MutexGuard<'a, ()>,
}

impl RoomLog {
    /// Starts the group commit task.
    pub fn start(store: Arc<dyn Storage>, fanout: Arc<dyn Fanout>) -> Self {
        let order = Arc::new(Mutex::new(()));
        let writer = MessageWriter::start(store.clone(), fanout.clone(), order.clone());
        Self {
            store,
            order,
            writer,
            fanout,
        }
    }

    pub async fn in_order(&self) -> InOrder<'_> {
        InOrder {
            _held: self.order.lock().await,
        }
    }

    /// [`Self::in_order`], or `None` after `wait` (the server is busy: the client retries).
    pub async fn in_order_within(&self, wait: Duration) -> Option<InOrder<'_>> {
        tokio::time::timeout(wait, self.order.lock())
            .await
            .ok()
            .map(|held| InOrder { _held: held })
    }

    /// Appends events to `room` (all or none, consecutive seqs) and applies their effects:
    /// the one way room events other than messages ([`Self::submit`]) are stored. The caller
    /// checked the rules under the same order and publishes the events.
    pub async fn append(
        &self,
        _order: &InOrder<'_>,
        room: &RoomId,
        sender: &NamedUser,
        drafts: Vec<(Option<ClientMsgId>, Draft)>,
    ) -> Result<Vec<Event>, StoreError> {
        self.store
            .append_all(room, sender, drafts, crate::now_ms())
            .await
    }

    /// Creates a room with its first event.
    pub async fn create_room(
        &self,
        _order: &InOrder<'_>,
        room: NewRoom<'_>,
    ) -> Result<Event, StoreError> {
        self.store.create_room(room, crate::now_ms()).await
    }

    /// Fans a stored event out to the sockets following its room (but `except`, which gets
    /// an ack instead).
    pub fn publish(&self, _order: &InOrder<'_>, event: Event, except: Option<ConnId>) {
        let (room, seq) = (event.room.clone(), event.seq);
        let frame = encode(&ServerMessage::Event { event });
        self.fanout.publish_event(&room, seq, frame, except);
    }

    /// Queues a message for the next group commit (see [`MessageWriter::submit`]).
    pub async fn submit(
        &self,
        message: PendingMessage,
        from: ConnId,
    ) -> Result<Receipt, WriteError> {
        self.writer.submit(message, from).await
    }

    /// Messages waiting for the next group commit.
    pub fn commit_queue(&self) -> usize {
        self.writer.queued()
    }

    /// The order's lock itself, for the checkpoint's short pass that must exclude appends.
    pub(crate) fn order_lock(&self) -> &Mutex<()> {
        &self.order
    }
}
