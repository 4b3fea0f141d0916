//! The calls going on, on SQLite. Each method's first statement writes, so its transaction
//! holds SQLite's one write lock from its start and what it reads next cannot change under it
//! (a transaction that read first and wrote later could fail to upgrade its lock instead).

use crate::calls::{CallInfo, CallKey, CallSocket, Ended, JoinError, Leaving, Left};
use crate::store::{StoreError, UserId};
use shared::RoomId;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

pub async fn start(
    pool: &SqlitePool,
    key: &CallKey,
    video: bool,
    caller: UserId,
    at: CallSocket,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO live_calls (room_id, call_id, video, caller_id, started_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .bind(i64::from(video))
    .bind(caller.0)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    add_socket(&mut tx, key, at, caller).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn join(
    pool: &SqlitePool,
    key: &CallKey,
    user: UserId,
    at: CallSocket,
    max_users: usize,
) -> Result<Result<Vec<String>, JoinError>, StoreError> {
    let mut tx = pool.begin().await?;
    // Someone besides the caller makes it answered; written first, so the lock is ours. A
    // refusal below rolls it back.
    let found = sqlx::query(
        "UPDATE live_calls SET answered = MAX(answered, caller_id <> ?)
         WHERE room_id = ? AND call_id = ?",
    )
    .bind(user.0)
    .bind(&key.0.0)
    .bind(&key.1)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if found == 0 {
        return Ok(Err(JoinError::NoSuchCall));
    }
    let row = sqlx::query(
        "SELECT COUNT(DISTINCT user_id), COALESCE(MAX(user_id = ?), 0)
         FROM call_sockets WHERE room_id = ? AND call_id = ?",
    )
    .bind(user.0)
    .bind(&key.0.0)
    .bind(&key.1)
    .fetch_one(&mut *tx)
    .await?;
    let (users, already): (i64, i64) = (row.get(0), row.get(1));
    if already == 0 && users >= i64::try_from(max_users).unwrap_or(i64::MAX) {
        return Ok(Err(JoinError::Full));
    }
    add_socket(&mut tx, key, at, user).await?;
    let names = participants(&mut tx, key).await?;
    tx.commit().await?;
    Ok(Ok(names))
}

pub async fn leave(
    pool: &SqlitePool,
    who: Leaving<'_>,
    only: Option<&CallKey>,
    now_ms: i64,
) -> Result<Vec<Left>, StoreError> {
    let (filter, nodes) = match who {
        Leaving::Socket(_) => ("node = ?1 AND conn = ?2", String::new()),
        Leaving::Node(_) => ("node = ?1", String::new()),
        Leaving::NodesOtherThan(running) => (
            "node NOT IN (SELECT value FROM json_each(?3))",
            serde_json::to_string(running).expect("numbers serialize"),
        ),
    };
    let (node, conn) = match who {
        Leaving::Socket(s) => (s.node, s.conn),
        Leaving::Node(node) => (node, 0),
        Leaving::NodesOtherThan(_) => (0, 0),
    };
    let only_filter = if only.is_some() {
        "AND room_id = ?4 AND call_id = ?5"
    } else {
        ""
    };
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(&format!(
        "DELETE FROM call_sockets WHERE {filter} {only_filter} RETURNING room_id, call_id"
    ))
    .bind(node)
    .bind(conn)
    .bind(&nodes)
    .bind(only.map(|k| k.0.0.as_str()))
    .bind(only.map(|k| k.1.as_str()))
    .fetch_all(&mut *tx)
    .await?;
    let mut keys: Vec<CallKey> = rows.iter().map(|r| (RoomId(r.get(0)), r.get(1))).collect();
    keys.sort();
    keys.dedup();
    let mut left = Vec::with_capacity(keys.len());
    for key in keys {
        let names = participants(&mut tx, &key).await?;
        let ended = if names.is_empty() {
            end(&mut tx, &key, false, now_ms).await?
        } else {
            None
        };
        left.push(Left {
            key,
            participants: names,
            ended,
        });
    }
    tx.commit().await?;
    Ok(left)
}

pub async fn end_unanswered(
    pool: &SqlitePool,
    key: &CallKey,
    declined_by: Option<UserId>,
    now_ms: i64,
) -> Result<Option<Ended>, StoreError> {
    let mut tx = pool.begin().await?;
    // A write that changes nothing, to hold the lock while deciding.
    let row = sqlx::query(
        "UPDATE live_calls SET answered = answered WHERE room_id = ? AND call_id = ?
         RETURNING caller_id, answered",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (caller, answered): (i64, i64) = (row.get(0), row.get(1));
    if answered != 0 || declined_by == Some(UserId(caller)) {
        return Ok(None);
    }
    let ended = end(&mut tx, key, declined_by.is_some(), now_ms).await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn in_rooms(pool: &SqlitePool, rooms: &[RoomId]) -> Result<Vec<CallInfo>, StoreError> {
    let ids = serde_json::to_string(&rooms.iter().map(|r| &r.0).collect::<Vec<_>>())
        .expect("strings serialize");
    let calls = sqlx::query(
        "SELECT c.room_id, c.call_id, c.video, u.username FROM live_calls c
         JOIN users u ON u.id = c.caller_id
         WHERE c.room_id IN (SELECT value FROM json_each(?))",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let sockets = sqlx::query(
        "SELECT DISTINCT s.room_id, s.call_id, u.username FROM call_sockets s
         JOIN users u ON u.id = s.user_id
         WHERE s.room_id IN (SELECT value FROM json_each(?)) ORDER BY u.username",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let key = |row: &_| -> CallKey { (RoomId(Row::get(row, 0)), Row::get(row, 1)) };
    let calls = calls
        .iter()
        .map(|r| (key(r), r.get::<i64, _>(2) != 0, r.get(3)))
        .collect();
    let sockets = sockets.iter().map(|r| (key(r), r.get(2))).collect();
    Ok(super::super::columns::call_infos(calls, sockets))
}

async fn add_socket(
    tx: &mut Transaction<'_, Sqlite>,
    key: &CallKey,
    at: CallSocket,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO call_sockets (room_id, call_id, node, conn, user_id) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .bind(at.node)
    .bind(at.conn)
    .bind(user.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Who is in the call: usernames, once each, sorted.
async fn participants(
    tx: &mut Transaction<'_, Sqlite>,
    key: &CallKey,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT u.username FROM call_sockets s JOIN users u ON u.id = s.user_id
         WHERE s.room_id = ? AND s.call_id = ? ORDER BY u.username",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Deletes the call and says how it ended (`None` if it was gone already).
async fn end(
    tx: &mut Transaction<'_, Sqlite>,
    key: &CallKey,
    declined: bool,
    now_ms: i64,
) -> Result<Option<Ended>, StoreError> {
    let row = sqlx::query(
        "SELECT c.caller_id, u.username, c.started_at, c.answered FROM live_calls c
         JOIN users u ON u.id = c.caller_id WHERE c.room_id = ? AND c.call_id = ?",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM live_calls WHERE room_id = ? AND call_id = ?")
        .bind(&key.0.0)
        .bind(&key.1)
        .execute(&mut **tx)
        .await?;
    let caller = (UserId(row.get(0)), row.get(1));
    let answered = row.get::<i64, _>(3) != 0;
    Ok(Some(Ended::of(
        key,
        caller,
        row.get(2),
        answered,
        declined,
        now_ms,
    )))
}
