//! The sockets connected to this process: who they belong to, which rooms they follow, and
//! whether their user is present.
//!
//! Each socket owns a bounded queue ([`OUTBOUND_QUEUE`] frames). Delivery never waits: a socket
//! whose queue is full is a client that stopped reading, and it is disconnected rather than
//! buffered without limit (it catches up from its cursor when it reconnects, so it loses
//! nothing).
//!
//! The registry sits behind a `std::sync::Mutex`: every critical section is a short map
//! operation with no `.await` inside, which is cheaper than an async mutex.

use crate::frame_queue::{FrameReceiver, FrameSender, frame_queue};
use crate::store::UserId;
use axum::extract::ws::Utf8Bytes;
use shared::RoomId;
use shared::rooms::Presence;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use tokio_util::sync::CancellationToken;

/// Frames a socket may have queued before it counts as stalled.
pub const OUTBOUND_QUEUE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(u64);

impl ConnId {
    /// Its number in this process (with the node's id it names the socket in the cluster).
    pub fn number(self) -> u64 {
        self.0
    }

    /// No socket: what a request over HTTP acts as (a bot's API call). Ids of sockets start
    /// at 1, so nothing is skipped or followed for it.
    pub const DETACHED: Self = Self(0);

    /// A made-up id for unit tests of modules that key by socket.
    #[cfg(test)]
    pub fn for_tests(n: u64) -> Self {
        Self(n)
    }
}

/// Why the hub told a socket to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickReason {
    /// The session was logged out.
    LoggedOut,
    /// The socket's outbound queue filled up.
    TooSlow,
    /// The server is stopping.
    ServerShutdown,
}

/// Cancelled to make a socket close itself; the first reason given wins.
#[derive(Clone)]
pub struct Kick {
    token: CancellationToken,
    reason: Arc<OnceLock<KickReason>>,
}

impl Kick {
    /// A kick that also fires when `shutdown` is cancelled. Each socket polls only its own
    /// token: a token shared by every socket is one mutex that all of them lock on every
    /// frame, from every core.
    fn following(shutdown: &CancellationToken) -> Self {
        Self {
            token: shutdown.child_token(),
            reason: Arc::default(),
        }
    }

    pub fn kick(&self, reason: KickReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    pub async fn kicked(&self) -> KickReason {
        self.token.cancelled().await;
        // Every kick names its reason before it cancels; only the server's shutdown does not.
        self.reason
            .get()
            .copied()
            .unwrap_or(KickReason::ServerShutdown)
    }

    pub fn is_kicked(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// Who receives a frame.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Every socket following the room.
    Room(RoomId),
    /// Every socket following any of the rooms, once each.
    Rooms(Vec<RoomId>),
    /// Every socket of the user.
    User(UserId),
}

struct Conn {
    user: UserId,
    session: [u8; 32],
    outbound: FrameSender,
    kick: Kick,
    rooms: HashSet<RoomId>,
    /// The client said its tab is hidden or idle.
    away: bool,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    conns: HashMap<ConnId, Conn>,
    /// Sockets following each room.
    rooms: HashMap<RoomId, HashSet<ConnId>>,
    users: HashMap<UserId, HashSet<ConnId>>,
    /// The presence last announced for each user; absent means offline.
    announced: HashMap<UserId, Presence>,
    /// Counts each user's departures (last socket gone), so a grace timer can tell whether the
    /// departure it waits on is still the latest.
    departures: HashMap<UserId, u64>,
    /// Users whose last socket here closed less than the grace period ago, with the presence
    /// they had: they still count as that until the grace timer says otherwise.
    lingering: HashMap<UserId, Presence>,
    /// The users present on each other node, as its last report said.
    remote: HashMap<u64, HashMap<UserId, Presence>>,
}

/// Online outranks away, away outranks offline: a user is as present as their most present
/// socket, on any node.
fn rank(p: Presence) -> u8 {
    match p {
        Presence::Offline => 0,
        Presence::Away => 1,
        Presence::Online => 2,
    }
}

impl Registry {
    fn push(&self, id: ConnId, frame: &Utf8Bytes) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        if conn.kick.is_kicked() {
            return;
        }
        metrics::counter!("chat_frames_queued_total").increment(1);
        if conn.outbound.try_send(frame.clone()).is_err() {
            tracing::warn!(
                user = conn.user.0,
                "outbound queue full; disconnecting slow socket"
            );
            conn.kick.kick(KickReason::TooSlow);
        }
    }

    fn follow(&mut self, id: ConnId, room: &RoomId) {
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.rooms.insert(room.clone());
            self.rooms.entry(room.clone()).or_default().insert(id);
        }
    }

    fn unfollow(&mut self, id: ConnId, room: &RoomId) {
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.rooms.remove(room);
        }
        if let Some(followers) = self.rooms.get_mut(room) {
            followers.remove(&id);
            if followers.is_empty() {
                self.rooms.remove(room);
            }
        }
    }

    /// The user's presence from their sockets on this node: online if any is active, away if
    /// all are idle; while the grace period of their last departure runs, what it was.
    fn local_status(&self, user: UserId) -> Presence {
        let conns = self.users.get(&user);
        if conns.is_some_and(|conns| {
            conns
                .iter()
                .any(|id| self.conns.get(id).is_some_and(|c| !c.away))
        }) {
            Presence::Online
        } else if conns.is_some_and(|c| !c.is_empty()) {
            Presence::Away
        } else {
            self.lingering
                .get(&user)
                .copied()
                .unwrap_or(Presence::Offline)
        }
    }

    /// The user's presence over every node.
    fn status(&self, user: UserId) -> Presence {
        self.remote
            .values()
            .filter_map(|users| users.get(&user).copied())
            .chain([self.local_status(user)])
            .max_by_key(|p| rank(*p))
            .unwrap_or(Presence::Offline)
    }
}

/// Cheap-to-clone handle to the registry.
#[derive(Clone, Default)]
pub struct Hub {
    registry: Arc<Mutex<Registry>>,
    /// Cancelled when the server stops; kicks every socket.
    shutdown: CancellationToken,
}

/// What a socket gets when it joins: its id, its queue and its kick signal.
pub struct Registration {
    pub id: ConnId,
    pub outbound: FrameReceiver,
    pub kick: Kick,
}

impl Hub {
    /// A hub whose sockets are all kicked with [`KickReason::ServerShutdown`] once `shutdown`
    /// is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            registry: Arc::default(),
            shutdown,
        }
    }

    pub fn register(&self, user: UserId, session: [u8; 32]) -> Registration {
        let (tx, rx) = frame_queue(OUTBOUND_QUEUE);
        let kick = Kick::following(&self.shutdown);
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
                rooms: HashSet::new(),
                away: false,
            },
        );
        registry.users.entry(user).or_default().insert(id);
        registry.lingering.remove(&user);
        Registration {
            id,
            outbound: rx,
            kick,
        }
    }

    /// Forgets the socket. If it was its user's last one here, returns the number of that
    /// departure for [`Hub::announce_offline`].
    pub fn unregister(&self, id: ConnId) -> Option<u64> {
        let mut registry = self.lock();
        let was = registry
            .conns
            .get(&id)
            .map(|c| registry.local_status(c.user));
        let conn = registry.conns.remove(&id)?;
        for room in &conn.rooms {
            if let Some(followers) = registry.rooms.get_mut(room) {
                followers.remove(&id);
                if followers.is_empty() {
                    registry.rooms.remove(room);
                }
            }
        }
        if let Some(siblings) = registry.users.get_mut(&conn.user) {
            siblings.remove(&id);
            if !siblings.is_empty() {
                return None;
            }
        }
        registry.users.remove(&conn.user);
        registry
            .lingering
            .insert(conn.user, was.unwrap_or(Presence::Offline));
        let departure = registry.departures.entry(conn.user).or_default();
        *departure += 1;
        Some(*departure)
    }

    /// After the grace period of `departure`: the user stops lingering here. `None` if they
    /// came back or left again since (that departure's own timer decides); otherwise their
    /// new presence if it changed ([`Hub::presence_change`]) .
    pub fn announce_offline(&self, user: UserId, departure: u64) -> Option<Option<Presence>> {
        {
            let mut registry = self.lock();
            if registry.departures.get(&user) != Some(&departure) {
                return None;
            }
            registry.departures.remove(&user);
            if registry.users.get(&user).is_none_or(HashSet::is_empty) {
                registry.lingering.remove(&user);
            }
        }
        Some(self.presence_change(user))
    }

    /// The socket follows these rooms from now on.
    pub fn follow(&self, id: ConnId, rooms: &[RoomId]) {
        let mut registry = self.lock();
        for room in rooms {
            registry.follow(id, room);
        }
    }

    /// The socket stops following these rooms.
    pub fn unfollow(&self, id: ConnId, rooms: &[RoomId]) {
        let mut registry = self.lock();
        for room in rooms {
            registry.unfollow(id, room);
        }
    }

    /// How many sockets `user` has open here.
    pub fn sockets_of(&self, user: UserId) -> usize {
        self.lock().users.get(&user).map_or(0, HashSet::len)
    }

    /// Every socket of `user` starts (`joined`) or stops following `room`.
    pub fn set_membership(&self, user: UserId, room: &RoomId, joined: bool) {
        let mut registry = self.lock();
        let conns: Vec<ConnId> = registry
            .users
            .get(&user)
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default();
        for id in conns {
            if joined {
                registry.follow(id, room);
            } else {
                registry.unfollow(id, room);
            }
        }
    }

    /// Queues `frame` for the audience, except the socket `skip`.
    pub fn deliver(&self, audience: &Audience, frame: &Utf8Bytes, skip: Option<ConnId>) {
        let registry = self.lock();
        let send = |id: &ConnId| {
            if Some(*id) != skip {
                registry.push(*id, frame);
            }
        };
        match audience {
            Audience::Room(room) => registry
                .rooms
                .get(room)
                .into_iter()
                .flatten()
                .for_each(send),
            Audience::User(user) => registry
                .users
                .get(user)
                .into_iter()
                .flatten()
                .for_each(send),
            Audience::Rooms(rooms) => {
                let mut reached = HashSet::new();
                for id in rooms.iter().filter_map(|r| registry.rooms.get(r)).flatten() {
                    if reached.insert(*id) {
                        send(id);
                    }
                }
            }
        }
    }

    /// Records whether the socket's user is idle there.
    pub fn set_away(&self, id: ConnId, away: bool) {
        if let Some(conn) = self.lock().conns.get_mut(&id) {
            conn.away = away;
        }
    }

    /// If the user's presence (over every node) differs from what this node's sockets were
    /// last told, records and returns the new one. A departure's grace period holds back an
    /// offline change, so a reconnecting tab does not flicker.
    pub fn presence_change(&self, user: UserId) -> Option<Presence> {
        let mut registry = self.lock();
        let status = registry.status(user);
        let announced = registry
            .announced
            .get(&user)
            .copied()
            .unwrap_or(Presence::Offline);
        if status == announced {
            return None;
        }
        if status == Presence::Offline {
            registry.announced.remove(&user);
        } else {
            registry.announced.insert(user, status);
        }
        Some(status)
    }

    /// The user's presence from this node's sockets alone (what other nodes are told).
    pub fn local_presence(&self, user: UserId) -> Presence {
        self.lock().local_status(user)
    }

    /// Every user present on this node, for the periodic report to the other nodes.
    pub fn present_here(&self) -> Vec<(UserId, Presence)> {
        let registry = self.lock();
        let users = registry.users.keys().chain(registry.lingering.keys());
        let mut present: Vec<_> = users.map(|u| (*u, registry.local_status(*u))).collect();
        present.sort_by_key(|(u, _)| *u);
        present.dedup_by_key(|(u, _)| *u);
        present
    }

    /// Records what another node reported: `user`'s presence there.
    pub fn set_remote_presence(&self, node: u64, user: UserId, status: Presence) {
        let mut registry = self.lock();
        let users = registry.remote.entry(node).or_default();
        if status == Presence::Offline {
            users.remove(&user);
        } else {
            users.insert(user, status);
        }
    }

    /// Replaces what is known of another node's users (its periodic report, or `None` when
    /// it stopped reporting); returns the users whose presence there changed.
    pub fn replace_remote_node(
        &self,
        node: u64,
        present: Option<HashMap<UserId, Presence>>,
    ) -> Vec<UserId> {
        let mut registry = self.lock();
        let before = match present {
            Some(present) => registry.remote.insert(node, present),
            None => registry.remote.remove(&node),
        }
        .unwrap_or_default();
        let after = registry.remote.get(&node).cloned().unwrap_or_default();
        let mut changed: Vec<UserId> = before
            .iter()
            .filter(|(u, p)| after.get(u) != Some(p))
            .map(|(u, _)| *u)
            .chain(
                after
                    .iter()
                    .filter(|(u, p)| before.get(u) != Some(p))
                    .map(|(u, _)| *u),
            )
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    /// Whether any socket here follows `room`.
    pub fn has_followers(&self, room: &RoomId) -> bool {
        self.lock().rooms.contains_key(room)
    }

    /// The presence this node's sockets have been told.
    pub fn presence(&self, user: UserId) -> Presence {
        self.lock()
            .announced
            .get(&user)
            .copied()
            .unwrap_or(Presence::Offline)
    }

    /// Frames waiting in this node's socket queues: in all of them, and in the fullest.
    pub fn queued_frames(&self) -> (usize, usize) {
        let registry = self.lock();
        registry
            .conns
            .values()
            .map(|c| c.outbound.len())
            .fold((0, 0), |(total, max), n| (total + n, max.max(n)))
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

    /// Whether socket `id` follows `room`: its user is a member (follows change with
    /// membership, under the order lock), known without asking the database.
    pub fn follows(&self, id: ConnId, room: &RoomId) -> bool {
        self.lock()
            .conns
            .get(&id)
            .is_some_and(|conn| conn.rooms.contains(room))
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding this lock leaves only maps behind; keep serving.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lobby() -> RoomId {
        RoomId::lobby()
    }

    #[test]
    fn rooms_reach_their_followers_once_and_skip_the_sender() {
        let hub = Hub::default();
        let mut a = hub.register(UserId(1), [1; 32]);
        let mut b = hub.register(UserId(2), [2; 32]);
        let mut c = hub.register(UserId(3), [3; 32]);
        let other = RoomId("other".into());
        hub.follow(a.id, &[lobby(), other.clone()]);
        hub.follow(b.id, &[lobby(), other.clone()]);
        hub.follow(c.id, std::slice::from_ref(&other));
        hub.deliver(&Audience::Room(lobby()), &"x".into(), Some(a.id));
        assert!(a.outbound.try_recv().is_err());
        assert_eq!(b.outbound.try_recv().unwrap().as_str(), "x");
        assert!(c.outbound.try_recv().is_err(), "c is not in the lobby");
        hub.deliver(&Audience::Rooms(vec![lobby(), other]), &"y".into(), None);
        for r in [&mut a, &mut b, &mut c] {
            assert_eq!(r.outbound.try_recv().unwrap().as_str(), "y");
            assert!(r.outbound.try_recv().is_err(), "once, not once per room");
        }
    }

    #[tokio::test]
    async fn stopping_the_server_kicks_every_socket_and_a_late_one_at_once() {
        let shutdown = CancellationToken::new();
        let hub = Hub::new(shutdown.clone());
        let a = hub.register(UserId(1), [1; 32]);
        let b = hub.register(UserId(2), [2; 32]);
        hub.disconnect_session(&[2; 32]);
        assert!(
            !a.kick.is_kicked(),
            "one socket's kick leaves the others alone"
        );
        shutdown.cancel();
        let kicked = |kick: Kick| async move {
            tokio::time::timeout(std::time::Duration::from_secs(5), kick.kicked())
                .await
                .expect("kicked")
        };
        assert_eq!(kicked(a.kick).await, KickReason::ServerShutdown);
        assert_eq!(
            kicked(b.kick).await,
            KickReason::LoggedOut,
            "the first reason wins"
        );
        let late = hub.register(UserId(3), [3; 32]);
        assert_eq!(kicked(late.kick).await, KickReason::ServerShutdown);
    }

    #[test]
    fn membership_changes_reach_every_socket_of_the_user() {
        let hub = Hub::default();
        let mut tab1 = hub.register(UserId(1), [1; 32]);
        let mut tab2 = hub.register(UserId(1), [2; 32]);
        let room = RoomId("r".into());
        hub.set_membership(UserId(1), &room, true);
        hub.deliver(&Audience::Room(room.clone()), &"in".into(), None);
        assert_eq!(tab1.outbound.try_recv().unwrap().as_str(), "in");
        assert_eq!(tab2.outbound.try_recv().unwrap().as_str(), "in");
        hub.set_membership(UserId(1), &room, false);
        hub.deliver(&Audience::Room(room), &"out".into(), None);
        assert!(tab1.outbound.try_recv().is_err());
        assert!(tab2.outbound.try_recv().is_err());
    }

    #[test]
    fn a_socket_that_stops_reading_is_kicked_not_buffered() {
        let hub = Hub::default();
        let a = hub.register(UserId(1), [1; 32]);
        let mut b = hub.register(UserId(2), [2; 32]);
        hub.follow(a.id, &[lobby()]);
        hub.follow(b.id, &[lobby()]);
        for _ in 0..=OUTBOUND_QUEUE {
            hub.deliver(&Audience::Room(lobby()), &"y".into(), None);
            let _ = b.outbound.try_recv();
        }
        assert!(a.kick.is_kicked(), "a never read, so it is dropped");
        assert!(!b.kick.is_kicked());
    }

    #[test]
    fn presence_counts_sockets_so_a_second_tab_does_not_flicker() {
        let hub = Hub::default();
        let alice = UserId(1);
        let tab1 = hub.register(alice, [1; 32]);
        assert_eq!(hub.presence_change(alice), Some(Presence::Online));
        let tab2 = hub.register(alice, [1; 32]);
        assert_eq!(hub.presence_change(alice), None);
        assert_eq!(hub.unregister(tab1.id), None, "tab2 is still open");
        assert_eq!(hub.presence_change(alice), None);
        hub.set_away(tab2.id, true);
        assert_eq!(hub.presence_change(alice), Some(Presence::Away));
        let first = hub.unregister(tab2.id).expect("the last socket");
        let held = hub.presence_change(alice);
        assert_eq!(held, None, "held for the grace period");
        assert_eq!(hub.presence(alice), Presence::Away);
        // Back and gone again within the grace period: only the latest timer may announce.
        let tab3 = hub.register(alice, [1; 32]);
        let second = hub.unregister(tab3.id).expect("the last socket");
        assert_eq!(hub.announce_offline(alice, first), None);
        assert_eq!(
            hub.announce_offline(alice, second),
            Some(Some(Presence::Offline))
        );
        assert_eq!(hub.presence(alice), Presence::Offline);
    }

    #[test]
    fn a_user_on_another_node_stays_present_when_they_leave_this_one() {
        let hub = Hub::default();
        let alice = UserId(1);
        let tab = hub.register(alice, [1; 32]);
        assert_eq!(hub.presence_change(alice), Some(Presence::Online));
        hub.set_remote_presence(7, alice, Presence::Away);
        let departure = hub.unregister(tab.id).expect("the last socket here");
        assert_eq!(
            hub.announce_offline(alice, departure),
            Some(Some(Presence::Away))
        );
        assert_eq!(hub.local_presence(alice), Presence::Offline);
        assert_eq!(hub.present_here(), vec![]);
        let changed = hub.replace_remote_node(7, None);
        assert_eq!(changed, vec![alice], "node 7 stopped reporting");
        assert_eq!(hub.presence_change(alice), Some(Presence::Offline));
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
