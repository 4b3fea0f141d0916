//! The group commit's own connection to `chat.db`, driven synchronously.
//!
//! Every other query goes through sqlx, whose SQLite connections each live on a thread of
//! their own: a statement is a round trip between the caller's tokio worker and that thread,
//! two context switches and a futex wake each way. Below saturation a batch holds one to three
//! messages, so those round trips (four per batch) were a large share of a message's CPU (see
//! docs/BENCHMARKS.md, "Where the chat server's CPU goes below saturation"). This connection
//! is used from one thread at a time (the group commit's, [`crate::commit`]) and runs the whole
//! batch there: checks, writes and the fsync of `COMMIT`, with no hand-off in between.
//!
//! SQLite allows one writer at a time; this connection and the pool's take turns through
//! `BEGIN IMMEDIATE` and the busy timeout, as the pool's own connections always did.

use super::super::columns::stored_message;
use super::super::{Appended, BlockingAppend, PendingMessage, StoreError};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// The connection, behind a lock that only ever sees one user at a time in the server (the
/// group commit's thread); tests and the one-by-one retry may come from elsewhere.
pub struct MessageBatchWriter {
    connection: Mutex<Connection>,
}

impl MessageBatchWriter {
    /// Opens the database the pool has already created and migrated, with the pool's
    /// durability settings: WAL (a property of the file), `synchronous = FULL`, foreign keys,
    /// and no automatic checkpoint inside a commit (`crate::checkpoint` runs them).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.execute_batch(
            "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
             PRAGMA wal_autocheckpoint = 0;",
        )?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }
}

impl BlockingAppend for MessageBatchWriter {
    /// [`crate::store::Storage::append_messages`], on the calling thread (it blocks for the
    /// fsync).
    fn append_messages(
        &self,
        batch: &[PendingMessage],
        now_ms: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut connection = self
            .connection
            .lock()
            .map_err(|_| StoreError::Corrupt("the batch connection's lock is poisoned".into()))?;
        Ok(append(&mut connection, batch, now_ms)?)
    }
}

/// What the transaction found about one message before deciding on it.
struct Check {
    earlier: bool,
    /// `None`: not a member.
    muted: Option<bool>,
    blocked: bool,
    last_seq: i64,
}

fn append(
    connection: &mut Connection,
    batch: &[PendingMessage],
    now_ms: i64,
) -> Result<Vec<Appended>, rusqlite::Error> {
    // IMMEDIATE: the transaction reads the rooms' seqs and then writes, so it takes the write
    // lock first instead of failing on upgrade. A fixed handful of statements whatever the
    // batch's size: the batch travels as JSON arrays that `json_each` turns into rows.
    // Dropping `tx` on an error rolls it back.
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let keys: Vec<serde_json::Value> = batch
        .iter()
        .map(|m| serde_json::json!({"r": m.room.0, "u": m.sender.id.0, "c": m.client_id.0}))
        .collect();
    let checks: Vec<Check> = {
        let mut statement = tx.prepare_cached(
            "SELECT
                EXISTS (SELECT 1 FROM events e
                        WHERE e.sender_id = j.value ->> '$.u' AND e.client_id = j.value ->> '$.c'),
                (SELECT m.muted FROM members m
                 WHERE m.room_id = j.value ->> '$.r' AND m.user_id = j.value ->> '$.u'),
                EXISTS (SELECT 1 FROM rooms r
                        JOIN members o ON o.room_id = r.id AND o.user_id <> j.value ->> '$.u'
                        JOIN blocks b ON (b.blocker_id = o.user_id AND b.blocked_id = j.value ->> '$.u')
                                      OR (b.blocker_id = j.value ->> '$.u' AND b.blocked_id = o.user_id)
                        WHERE r.id = j.value ->> '$.r' AND r.kind = 'direct'),
                (SELECT last_seq FROM rooms WHERE id = j.value ->> '$.r')
             FROM json_each(?1) j ORDER BY j.key",
        )?;
        statement
            .query_map([serde_json::Value::Array(keys).to_string()], |row| {
                Ok(Check {
                    earlier: row.get::<_, i64>(0)? != 0,
                    muted: row.get::<_, Option<i64>>(1)?.map(|m| m != 0),
                    blocked: row.get::<_, i64>(2)? != 0,
                    last_seq: row.get::<_, Option<i64>>(3)?.unwrap_or(0),
                })
            })?
            .collect::<Result<_, _>>()?
    };
    let mut next_seq: HashMap<&str, i64> = HashMap::new();
    let mut taken: HashSet<(i64, &str)> = HashSet::new();
    let mut rows = Vec::new();
    let mut results = Vec::with_capacity(batch.len());
    for (message, check) in batch.iter().zip(&checks) {
        let key = (message.sender.id.0, message.client_id.0.as_str());
        let refused = if check.earlier || taken.contains(&key) {
            Some(Appended::Earlier)
        } else {
            match check.muted {
                None => Some(Appended::NotMember),
                Some(true) => Some(Appended::Muted),
                Some(false) if check.blocked => Some(Appended::Blocked),
                Some(false) => None,
            }
        };
        if let Some(refused) = refused {
            results.push(refused);
            continue;
        }
        taken.insert(key);
        let seq = next_seq
            .entry(message.room.0.as_str())
            .or_insert(check.last_seq);
        *seq += 1;
        let seq = shared::Seq(*seq);
        rows.push(serde_json::json!({
            "r": message.room.0,
            "s": seq.0,
            "u": message.sender.id.0,
            "c": message.client_id.0,
            "b": message.body,
            "p": message.reply_to.map(|s| s.0),
            "m": (!message.mentions.is_empty()).then(|| message.mentions.join(" ")),
            "a": message.attachment.as_ref().map(|a| a.id.as_str()),
        }));
        results.push(Appended::New(stored_message(message, seq, now_ms)));
    }
    if !rows.is_empty() {
        let rows = serde_json::Value::Array(rows).to_string();
        let seqs: Vec<serde_json::Value> = next_seq
            .iter()
            .map(|(room, seq)| serde_json::json!({"r": room, "s": seq}))
            .collect();
        tx.prepare_cached(
            "INSERT INTO events (room_id, seq, sender_id, client_id, kind, at, body, reply_to,
                                 mentions, attachment_id)
             SELECT j.value ->> '$.r', j.value ->> '$.s', j.value ->> '$.u', j.value ->> '$.c',
                    'message', ?2, j.value ->> '$.b', j.value ->> '$.p', j.value ->> '$.m',
                    j.value ->> '$.a'
             FROM json_each(?1) j ORDER BY j.key",
        )?
        .execute(params![rows, now_ms])?;
        // Their pushes are queued in the same transaction (see `queue_push`).
        tx.prepare_cached(
            "INSERT INTO push_outbox (room_id, seq)
             SELECT j.value ->> '$.r', j.value ->> '$.s' FROM json_each(?1) j
             WHERE EXISTS (SELECT 1 FROM push_subscriptions p
                           JOIN members m ON m.room_id = j.value ->> '$.r'
                                         AND m.user_id = p.user_id
                           WHERE p.user_id <> j.value ->> '$.u')",
        )?
        .execute([&rows])?;
        tx.prepare_cached(
            "UPDATE rooms SET last_seq = j.value ->> '$.s'
             FROM json_each(?1) j WHERE rooms.id = j.value ->> '$.r'",
        )?
        .execute([serde_json::Value::Array(seqs).to_string()])?;
    }
    tx.commit()?;
    Ok(results)
}
