//! How an event reaches the sockets that should see it, behind one small interface so a
//! multi-process deployment can put a message bus (NATS) between the handler and the sockets
//! without touching the handlers.
//!
//! [`LocalFanout`], the embedded default, hands frames straight to this process's [`Hub`]. A
//! bus-backed fan-out publishes the same calls to subjects (`room.<id>`, `user.<id>`) and every
//! process delivers what it receives to its own hub; membership changes travel the same way, so
//! each process knows which of its sockets follow which room.

use crate::hub::{Audience, ConnId, Hub};
use crate::store::UserId;
use axum::extract::ws::Utf8Bytes;
use shared::RoomId;

pub trait Fanout: Send + Sync + 'static {
    /// Delivers `frame` to the audience, except the socket `skip` (the sender's, which gets an
    /// ack instead). Never waits on a slow socket.
    fn send(&self, audience: Audience, frame: Utf8Bytes, skip: Option<ConnId>);
    /// `user`'s sockets start or stop following `room`. Called after the membership change is
    /// durable and before the room's next event is sent.
    fn set_membership(&self, user: UserId, room: &RoomId, joined: bool);
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

    fn set_membership(&self, user: UserId, room: &RoomId, joined: bool) {
        self.hub.set_membership(user, room, joined);
    }
}
