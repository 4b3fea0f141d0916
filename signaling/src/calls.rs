//! Calls in progress, in memory: who is in each call, by socket, so a tab that closes leaves
//! its calls. A call ends when its last participant leaves, or when nobody answers within
//! [`RING_TIMEOUT`]; the end is recorded in the room's timeline.

use crate::hub::ConnId;
use crate::store::UserId;
use shared::RoomId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A call nobody but the caller joined by then ends as missed.
pub const RING_TIMEOUT: Duration = Duration::from_secs(60);
/// Participants of one call: every pair of browsers holds a connection (full mesh), so the
/// uplink of each grows with this; 6 is what a home connection carries for video.
pub const MAX_PARTICIPANTS: usize = 6;

/// Identifies a call: its room and the caller-chosen id.
pub type CallKey = (RoomId, String);

#[derive(Debug, Clone)]
struct Call {
    video: bool,
    caller: UserId,
    caller_name: String,
    started_at_ms: i64,
    /// Someone besides the caller joined at some point.
    answered: bool,
    participants: HashMap<ConnId, (UserId, String)>,
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

/// Why joining failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    NoSuchCall,
    Full,
}

#[derive(Default)]
pub struct Calls {
    calls: Mutex<HashMap<CallKey, Call>>,
}

impl Calls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CallKey, Call>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new call with its caller in it. False if the id is taken.
    pub fn start(
        &self,
        key: CallKey,
        conn: ConnId,
        caller: (UserId, &str),
        video: bool,
        now: i64,
    ) -> bool {
        let (caller, name) = caller;
        let mut calls = self.lock();
        if calls.contains_key(&key) {
            return false;
        }
        let mut participants = HashMap::new();
        participants.insert(conn, (caller, name.to_owned()));
        calls.insert(
            key,
            Call {
                video,
                caller,
                caller_name: name.to_owned(),
                started_at_ms: now,
                answered: false,
                participants,
            },
        );
        true
    }

    /// Adds a socket to a call and returns who is in it.
    pub fn join(
        &self,
        key: &CallKey,
        conn: ConnId,
        user: UserId,
        name: &str,
    ) -> Result<Vec<String>, JoinError> {
        let mut calls = self.lock();
        let call = calls.get_mut(key).ok_or(JoinError::NoSuchCall)?;
        let already = call.participants.values().any(|(u, _)| *u == user);
        if !already && distinct_users(call) >= MAX_PARTICIPANTS {
            return Err(JoinError::Full);
        }
        call.participants.insert(conn, (user, name.to_owned()));
        if user != call.caller {
            call.answered = true;
        }
        Ok(names(call))
    }

    /// Removes a socket from a call. Returns who is left, and the ended call if it was the last.
    pub fn leave(
        &self,
        key: &CallKey,
        conn: ConnId,
        now: i64,
    ) -> Option<(Vec<String>, Option<Ended>)> {
        let mut calls = self.lock();
        let call = calls.get_mut(key)?;
        call.participants.remove(&conn)?;
        if !call.participants.is_empty() {
            return Some((names(call), None));
        }
        let call = calls.remove(key)?;
        Some((Vec::new(), Some(ended(key, &call, now))))
    }

    /// Ends a call that `user` (not the caller) declined before anyone answered. `None` if it
    /// was answered, is gone, or `user` is the caller.
    pub fn decline(&self, key: &CallKey, user: UserId, now: i64) -> Option<Ended> {
        let mut calls = self.lock();
        let call = calls.get(key)?;
        if call.answered || call.caller == user {
            return None;
        }
        let call = calls.remove(key)?;
        Some(Ended {
            declined: true,
            ..ended(key, &call, now)
        })
    }

    /// Ends a call nobody answered. `None` if it was answered or is gone.
    pub fn ring_out(&self, key: &CallKey, now: i64) -> Option<Ended> {
        let mut calls = self.lock();
        if calls.get(key)?.answered {
            return None;
        }
        let call = calls.remove(key)?;
        Some(ended(key, &call, now))
    }

    /// Removes a closed socket from every call: (call, who is left, ended call if last).
    pub fn socket_closed(
        &self,
        conn: ConnId,
        now: i64,
    ) -> Vec<(CallKey, Vec<String>, Option<Ended>)> {
        let keys: Vec<CallKey> = self
            .lock()
            .iter()
            .filter(|(_, c)| c.participants.contains_key(&conn))
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .filter_map(|key| {
                let (left, ended) = self.leave(&key, conn, now)?;
                Some((key, left, ended))
            })
            .collect()
    }
}

/// What a client needs to show a call: who started it, whether with video, who is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub key: CallKey,
    pub video: bool,
    pub caller: String,
    pub participants: Vec<String>,
}

impl Calls {
    /// Describes one call, if it is going on.
    pub fn info(&self, key: &CallKey) -> Option<CallInfo> {
        self.lock().get(key).map(|call| describe(key, call))
    }

    /// The calls going on in any of `rooms`, for a socket that just connected.
    pub fn in_rooms(&self, rooms: &[RoomId]) -> Vec<CallInfo> {
        let rooms: std::collections::HashSet<&RoomId> = rooms.iter().collect();
        self.lock()
            .iter()
            .filter(|(key, _)| rooms.contains(&key.0))
            .map(|(key, call)| describe(key, call))
            .collect()
    }
}

fn describe(key: &CallKey, call: &Call) -> CallInfo {
    CallInfo {
        key: key.clone(),
        video: call.video,
        caller: call.caller_name.clone(),
        participants: names(call),
    }
}

fn distinct_users(call: &Call) -> usize {
    let mut users: Vec<UserId> = call.participants.values().map(|(u, _)| *u).collect();
    users.sort_unstable();
    users.dedup();
    users.len()
}

/// Participants' names, once each, sorted.
fn names(call: &Call) -> Vec<String> {
    let mut names: Vec<String> = call.participants.values().map(|(_, n)| n.clone()).collect();
    names.sort();
    names.dedup();
    names
}

fn ended(key: &CallKey, call: &Call, now: i64) -> Ended {
    Ended {
        room: key.0.clone(),
        call: key.1.clone(),
        caller: call.caller,
        caller_name: call.caller_name.clone(),
        duration_ms: (now - call.started_at_ms).max(0),
        missed: !call.answered,
        declined: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(n: u64) -> ConnId {
        ConnId::for_tests(n)
    }

    fn key() -> CallKey {
        (RoomId("r".into()), "k".into())
    }

    #[test]
    fn a_call_ends_when_the_last_socket_leaves_and_says_if_it_was_missed() {
        let calls = Calls::default();
        assert!(calls.start(key(), conn(1), (UserId(1), "ann"), true, 1000));
        assert!(
            !calls.start(key(), conn(9), (UserId(9), "eve"), true, 1000),
            "ids are unique"
        );
        let who = calls.join(&key(), conn(2), UserId(2), "bo").unwrap();
        assert_eq!(who, ["ann", "bo"]);
        let (left, ended) = calls.leave(&key(), conn(1), 5000).unwrap();
        assert_eq!((left, ended), (vec!["bo".to_owned()], None));
        let (_, ended) = calls
            .socket_closed(conn(2), 61_000)
            .pop()
            .map(|(_, l, e)| (l, e))
            .unwrap();
        let ended = ended.unwrap();
        assert_eq!((ended.duration_ms, ended.missed), (60_000, false));
        assert_eq!(
            calls.join(&key(), conn(3), UserId(3), "cy"),
            Err(JoinError::NoSuchCall)
        );
    }

    #[test]
    fn an_unanswered_call_rings_out_as_missed_and_calls_are_capped() {
        let calls = Calls::default();
        calls.start(key(), conn(1), (UserId(1), "ann"), false, 0);
        let ended = calls.ring_out(&key(), 60_000).unwrap();
        assert!(ended.missed && !ended.declined);
        calls.start(key(), conn(1), (UserId(1), "ann"), false, 0);
        assert_eq!(
            calls.decline(&key(), UserId(1), 10),
            None,
            "the caller hangs up instead"
        );
        let declined = calls.decline(&key(), UserId(2), 3_000).unwrap();
        assert!(declined.missed && declined.declined);
        assert_eq!(declined.duration_ms, 3_000);
        calls.start(key(), conn(1), (UserId(1), "ann"), false, 0);
        for n in 2..=MAX_PARTICIPANTS as u64 {
            calls
                .join(&key(), conn(n), UserId(n as i64), &format!("u{n}"))
                .unwrap();
        }
        assert_eq!(
            calls.join(&key(), conn(99), UserId(99), "late"),
            Err(JoinError::Full)
        );
        // A second tab of someone already in the call is not a new participant.
        assert!(calls.join(&key(), conn(100), UserId(2), "u2").is_ok());
        assert_eq!(
            calls.ring_out(&key(), 1),
            None,
            "answered calls do not ring out"
        );
    }
}
