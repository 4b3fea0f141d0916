//! Calls in progress: who is in each call, by socket, so a tab that closes leaves its calls. A
//! call ends when its last socket leaves, or when nobody answers within [`RING_TIMEOUT`]; the
//! end is recorded in the room's timeline.
//!
//! The calls live in the database ([`crate::store::Storage`]'s call methods), not in a
//! process's memory: with several nodes, a call started through one node is joined and left
//! through others, and the database decides, in one transaction each, who joined in time and
//! which departure ended the call (exactly one does). A socket is named by its node (a random
//! id per process start) and its number there, so the sockets of a node that died can be
//! taken out of its calls by the others.

use crate::hub::ConnId;
use crate::store::{Storage, StoreError, UserId};
use shared::RoomId;
use std::sync::Arc;
use std::time::Duration;

/// A call nobody but the caller joined by then ends as missed.
pub const RING_TIMEOUT: Duration = Duration::from_secs(60);
/// Participants of one call: every pair of browsers holds a connection (full mesh), so the
/// uplink of each grows with this; 6 is what a home connection carries for video.
pub const MAX_PARTICIPANTS: usize = 6;

/// Identifies a call: its room and the caller-chosen id.
pub type CallKey = (RoomId, String);

/// A socket anywhere in the cluster: the node holding it and its number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallSocket {
    pub node: i64,
    pub conn: i64,
}

/// Whose sockets leave their calls.
#[derive(Debug, Clone, Copy)]
pub enum Leaving<'a> {
    /// One socket closed (or hung up).
    Socket(CallSocket),
    /// Every socket of a node that stopped.
    Node(i64),
    /// Every socket of any node but these (the ones known to be running).
    NodesOtherThan(&'a [i64]),
}

/// A call that just ended, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub room: RoomId,
    pub call: String,
    pub caller: UserId,
    pub caller_name: String,
    pub duration_ms: i64,
    pub missed: bool,
    pub declined: bool,
}

impl Ended {
    /// The end of `key`, started by `caller` at `started_at_ms`, as of `now_ms`.
    pub fn of(
        key: &CallKey,
        caller: (UserId, String),
        started_at_ms: i64,
        answered: bool,
        declined: bool,
        now_ms: i64,
    ) -> Self {
        Self {
            room: key.0.clone(),
            call: key.1.clone(),
            caller: caller.0,
            caller_name: caller.1,
            duration_ms: (now_ms - started_at_ms).max(0),
            missed: !answered,
            declined,
        }
    }
}

/// Why joining failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    NoSuchCall,
    Full,
}

/// What a client needs to show a call: who started it, whether with video, who is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub key: CallKey,
    pub video: bool,
    pub caller: String,
    /// Usernames, once each, sorted.
    pub participants: Vec<String>,
}

/// A call one or more sockets left: who is still in it, and its end if nobody is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    pub key: CallKey,
    pub participants: Vec<String>,
    pub ended: Option<Ended>,
}

/// This node's handle on the calls in the database.
#[derive(Clone)]
pub struct Calls {
    store: Arc<dyn Storage>,
    node: i64,
}

impl Calls {
    pub fn new(store: Arc<dyn Storage>, node: u64) -> Self {
        Self {
            store,
            // Stored as a signed number; only equality matters.
            node: node.cast_signed(),
        }
    }

    pub fn node(&self) -> i64 {
        self.node
    }

    fn socket(&self, conn: ConnId) -> CallSocket {
        CallSocket {
            node: self.node,
            conn: conn.number().cast_signed(),
        }
    }

    /// Registers a new call with its caller in it. False if the id is taken in the room.
    pub async fn start(
        &self,
        key: &CallKey,
        conn: ConnId,
        caller: UserId,
        video: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let at = self.socket(conn);
        self.store.start_call(key, video, caller, at, now).await
    }

    /// Adds a socket to a call and returns who is in it.
    pub async fn join(
        &self,
        key: &CallKey,
        conn: ConnId,
        user: UserId,
    ) -> Result<Result<Vec<String>, JoinError>, StoreError> {
        let at = self.socket(conn);
        self.store.join_call(key, user, at, MAX_PARTICIPANTS).await
    }

    /// Takes a socket out of one call.
    pub async fn leave(
        &self,
        key: &CallKey,
        conn: ConnId,
        now: i64,
    ) -> Result<Option<Left>, StoreError> {
        let who = Leaving::Socket(self.socket(conn));
        Ok(self.store.leave_calls(who, Some(key), now).await?.pop())
    }

    /// Takes a closed socket out of every call it was in.
    pub async fn socket_closed(&self, conn: ConnId, now: i64) -> Result<Vec<Left>, StoreError> {
        let who = Leaving::Socket(self.socket(conn));
        self.store.leave_calls(who, None, now).await
    }

    /// Takes the sockets of nodes that are gone out of their calls: `Node(id)` for one that
    /// stopped reporting, or every node but the running ones.
    pub async fn nodes_gone(&self, who: Leaving<'_>, now: i64) -> Result<Vec<Left>, StoreError> {
        self.store.leave_calls(who, None, now).await
    }

    /// Ends a call that `user` (not the caller) declined before anyone answered. `None` if it
    /// was answered, is gone, or `user` is the caller.
    pub async fn decline(
        &self,
        key: &CallKey,
        user: UserId,
        now: i64,
    ) -> Result<Option<Ended>, StoreError> {
        self.store.end_unanswered_call(key, Some(user), now).await
    }

    /// Ends a call nobody answered. `None` if it was answered or is gone.
    pub async fn ring_out(&self, key: &CallKey, now: i64) -> Result<Option<Ended>, StoreError> {
        self.store.end_unanswered_call(key, None, now).await
    }

    /// Describes one call, if it is going on.
    pub async fn info(&self, key: &CallKey) -> Result<Option<CallInfo>, StoreError> {
        let mut calls = self.store.calls_in(std::slice::from_ref(&key.0)).await?;
        calls.retain(|c| &c.key == key);
        Ok(calls.pop())
    }

    /// The calls going on in any of `rooms`, for a socket that just connected.
    pub async fn in_rooms(&self, rooms: &[RoomId]) -> Result<Vec<CallInfo>, StoreError> {
        self.store.calls_in(rooms).await
    }
}
