//! Who is connected, and fan-out of events to their sockets.
//!
//! Each socket owns a bounded queue ([`OUTBOUND_QUEUE`] frames). Fan-out never waits: a socket
//! whose queue is full is a client that stopped reading, and it is disconnected rather than
//! buffered without limit (it reloads history when it reconnects, so it loses nothing).
//!
//! The registry sits behind a `std::sync::Mutex`: every critical section is a short map
//! operation with no `.await` inside, which is cheaper than an async mutex.

use crate::store::UserId;
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Frames a socket may have queued before it counts as stalled.
pub const OUTBOUND_QUEUE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(u64);

/// Why the hub told a socket to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickReason {
    /// The session was logged out.
    LoggedOut,
    /// The socket's outbound queue filled up.
    TooSlow,
}

/// Cancelled to make a socket close itself; the first reason given wins.
#[derive(Clone, Default)]
pub struct Kick {
    token: CancellationToken,
    reason: Arc<OnceLock<KickReason>>,
}

impl Kick {
    pub fn kick(&self, reason: KickReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    pub async fn kicked(&self) -> KickReason {
        self.token.cancelled().await;
        self.reason.get().copied().unwrap_or(KickReason::LoggedOut)
    }

    pub fn is_kicked(&self) -> bool {
        self.token.is_cancelled()
    }
}

struct Conn {
    user: UserId,
    session: [u8; 32],
    outbound: mpsc::Sender<Utf8Bytes>,
    kick: Kick,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    conns: HashMap<ConnId, Conn>,
}

/// Cheap-to-clone handle to the registry.
#[derive(Clone, Default)]
pub struct Hub {
    registry: Arc<Mutex<Registry>>,
}

/// What a socket gets when it joins: its id, its queue and its kick signal.
pub struct Registration {
    pub id: ConnId,
    pub outbound: mpsc::Receiver<Utf8Bytes>,
    pub kick: Kick,
}

impl Hub {
    pub fn register(&self, user: UserId, session: [u8; 32]) -> Registration {
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let kick = Kick::default();
        let mut registry = self.lock();
        registry.next_id += 1;
        let id = ConnId(registry.next_id);
        registry.conns.insert(
            id,
            Conn {
                user,
                session,
                outbound: tx,
                kick: kick.clone(),
            },
        );
        Registration {
            id,
            outbound: rx,
            kick,
        }
    }

    pub fn unregister(&self, id: ConnId) {
        self.lock().conns.remove(&id);
    }

    /// Queues `frame` for every socket except `skip`. Everyone is in the lobby at this stage,
    /// so the audience is every connection.
    pub fn broadcast(&self, frame: &Utf8Bytes, skip: Option<ConnId>) {
        let registry = self.lock();
        for (id, conn) in &registry.conns {
            if Some(*id) == skip || conn.kick.is_kicked() {
                continue;
            }
            if conn.outbound.try_send(frame.clone()).is_err() {
                tracing::warn!(
                    user = conn.user.0,
                    "outbound queue full; disconnecting slow socket"
                );
                conn.kick.kick(KickReason::TooSlow);
            }
        }
    }

    /// Closes every socket opened with this session (used by logout).
    pub fn disconnect_session(&self, session: &[u8; 32]) -> usize {
        let registry = self.lock();
        let mut closed = 0;
        for conn in registry.conns.values().filter(|c| &c.session == session) {
            conn.kick.kick(KickReason::LoggedOut);
            closed += 1;
        }
        closed
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding this lock leaves only a map behind; keep serving.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_skips_the_sender_and_kicks_stalled_readers() {
        let hub = Hub::default();
        let mut a = hub.register(UserId(1), [1; 32]);
        let mut b = hub.register(UserId(2), [2; 32]);
        hub.broadcast(&Utf8Bytes::from_static("x"), Some(a.id));
        assert!(a.outbound.try_recv().is_err());
        assert_eq!(b.outbound.try_recv().unwrap().as_str(), "x");
        for _ in 0..=OUTBOUND_QUEUE {
            hub.broadcast(&Utf8Bytes::from_static("y"), Some(b.id));
        }
        assert!(a.kick.is_kicked(), "a never read, so it is dropped");
        assert!(!b.kick.is_kicked());
    }

    #[test]
    fn logout_kicks_only_that_sessions_sockets() {
        let hub = Hub::default();
        let a = hub.register(UserId(1), [1; 32]);
        let other_device = hub.register(UserId(1), [9; 32]);
        assert_eq!(hub.disconnect_session(&[1; 32]), 1);
        assert!(a.kick.is_kicked());
        assert!(!other_device.kick.is_kicked());
        hub.unregister(a.id);
        assert_eq!(hub.connection_count(), 1);
    }
}
