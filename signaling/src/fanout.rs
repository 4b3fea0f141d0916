//! How an event reaches the sockets that should see it, behind one small interface so several
//! server processes can put a message bus between the handler and the sockets without touching
//! the handlers.
//!
//! [`LocalFanout`], the embedded default, hands frames straight to this process's [`Hub`].
//! [`crate::cluster::NatsFanout`] also publishes every call on NATS, and every node delivers
//! what it receives to its own hub: room events in seq order with gaps filled from the
//! database, membership changes and log-outs so each node's sockets follow and close as they
//! should.

use crate::hub::{Audience, ConnId, Hub};
use crate::store::UserId;
use axum::extract::ws::Utf8Bytes;
use shared::rooms::Presence;
use shared::{RoomId, Seq};

pub trait Fanout: Send + Sync + 'static {
    /// Delivers an ephemeral `frame` (presence, typing, receipts, call signals) to the
    /// audience, except the socket `skip`. Never waits on a slow socket.
    fn send(&self, audience: Audience, frame: Utf8Bytes, skip: Option<ConnId>);
    /// Delivers the stored event `seq` of `room` (its encoded frame) to the room's sockets,
    /// except `skip` (the sender's, which gets an ack instead). Called in seq order by the
    /// holder of the room's order ([`crate::room_log`]).
    fn publish_event(&self, room: &RoomId, seq: Seq, frame: Utf8Bytes, skip: Option<ConnId>);
    /// `user`'s sockets start or stop following `room`. Called after the membership change is
    /// durable and before the room's next event is sent.
    fn set_membership(&self, user: UserId, room: &RoomId, joined: bool);
    /// A socket here now follows these rooms, whose newest events (as its welcome read them)
    /// are these: it fetches what came before itself.
    fn following(&self, _rooms: &[(RoomId, Seq)]) {}
    /// `user`'s presence from this node's sockets changed (other nodes count it in).
    fn presence_here(&self, _user: UserId, _username: &str, _status: Presence, _seen: Option<i64>) {
    }
    /// Closes every socket opened with this session, on every node; returns how many were
    /// open on this one.
    fn disconnect_session(&self, session: &[u8; 32]) -> usize;
}

/// Fan-out within one process.
pub struct LocalFanout {
    hub: Hub,
}

impl LocalFanout {
    pub fn new(hub: Hub) -> Self {
        Self { hub }
    }
}

impl Fanout for LocalFanout {
    fn send(&self, audience: Audience, frame: Utf8Bytes, skip: Option<ConnId>) {
        self.hub.deliver(&audience, &frame, skip);
    }

    fn publish_event(&self, room: &RoomId, _seq: Seq, frame: Utf8Bytes, skip: Option<ConnId>) {
        // One process: the order lock already makes calls arrive in seq order.
        self.hub
            .deliver(&Audience::Room(room.clone()), &frame, skip);
    }

    fn set_membership(&self, user: UserId, room: &RoomId, joined: bool) {
        self.hub.set_membership(user, room, joined);
    }

    fn disconnect_session(&self, session: &[u8; 32]) -> usize {
        self.hub.disconnect_session(session)
    }
}
