//! The calls going on, on PostgreSQL. Several nodes change a call at once (one joins while
//! another's socket leaves), so each method locks the call's row first and reads after: of two
//! departures that together empty a call, the second sees the first's commit and is the one
//! that ends it. Calls are locked in key order, so two transactions cannot deadlock.

use crate::calls::{CallInfo, CallKey, CallSocket, Ended, JoinError, Leaving, Left};
use crate::store::{StoreError, UserId};
use shared::RoomId;
use sqlx::{PgPool, Postgres, Row, Transaction};

pub async fn start(
    pool: &PgPool,
    key: &CallKey,
    video: bool,
    caller: UserId,
    at: CallSocket,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO live_calls (room_id, call_id, video, caller_id, started_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .bind(i16::from(video))
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
    pool: &PgPool,
    key: &CallKey,
    user: UserId,
    at: CallSocket,
    max_users: usize,
) -> Result<Result<Vec<String>, JoinError>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some((caller, _, _, _)) = lock(&mut tx, key).await? else {
        return Ok(Err(JoinError::NoSuchCall));
    };
    let row = sqlx::query(
        "SELECT COUNT(DISTINCT user_id), COALESCE(BOOL_OR(user_id = $1), FALSE)
         FROM call_sockets WHERE room_id = $2 AND call_id = $3",
    )
    .bind(user.0)
    .bind(&key.0.0)
    .bind(&key.1)
    .fetch_one(&mut *tx)
    .await?;
    let (users, already): (i64, bool) = (row.get(0), row.get(1));
    if !already && users >= i64::try_from(max_users).unwrap_or(i64::MAX) {
        return Ok(Err(JoinError::Full));
    }
    add_socket(&mut tx, key, at, user).await?;
    if caller != user {
        sqlx::query("UPDATE live_calls SET answered = 1 WHERE room_id = $1 AND call_id = $2")
            .bind(&key.0.0)
            .bind(&key.1)
            .execute(&mut *tx)
            .await?;
    }
    let names = participants(&mut tx, key).await?;
    tx.commit().await?;
    Ok(Ok(names))
}

pub async fn leave(
    pool: &PgPool,
    who: Leaving<'_>,
    only: Option<&CallKey>,
    now_ms: i64,
) -> Result<Vec<Left>, StoreError> {
    let filter = match who {
        Leaving::Socket(_) => "node = $1 AND conn = $2",
        Leaving::Node(_) => "node = $1",
        Leaving::NodesOtherThan(_) => "node <> ALL($3)",
    };
    let (node, conn, running) = match who {
        Leaving::Socket(s) => (s.node, s.conn, Vec::new()),
        Leaving::Node(node) => (node, 0, Vec::new()),
        Leaving::NodesOtherThan(running) => (0, 0, running.to_vec()),
    };
    let only_filter = if only.is_some() {
        "AND room_id = $4 AND call_id = $5"
    } else {
        ""
    };
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(&format!(
        "SELECT DISTINCT room_id, call_id FROM call_sockets
         WHERE {filter} {only_filter} ORDER BY room_id, call_id"
    ))
    .bind(node)
    .bind(conn)
    .bind(&running)
    .bind(only.map(|k| k.0.0.as_str()))
    .bind(only.map(|k| k.1.as_str()))
    .fetch_all(&mut *tx)
    .await?;
    let mut left = Vec::with_capacity(rows.len());
    for row in rows {
        let key: CallKey = (RoomId(row.get(0)), row.get(1));
        if lock(&mut tx, &key).await?.is_none() {
            continue;
        }
        let removed = sqlx::query(&format!(
            "DELETE FROM call_sockets WHERE {filter} AND room_id = $4 AND call_id = $5"
        ))
        .bind(node)
        .bind(conn)
        .bind(&running)
        .bind(&key.0.0)
        .bind(&key.1)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed == 0 {
            continue;
        }
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
    pool: &PgPool,
    key: &CallKey,
    declined_by: Option<UserId>,
    now_ms: i64,
) -> Result<Option<Ended>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some((caller, _, _, answered)) = lock(&mut tx, key).await? else {
        return Ok(None);
    };
    if answered || declined_by == Some(caller) {
        return Ok(None);
    }
    let ended = end(&mut tx, key, declined_by.is_some(), now_ms).await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn in_rooms(pool: &PgPool, rooms: &[RoomId]) -> Result<Vec<CallInfo>, StoreError> {
    let ids: Vec<&str> = rooms.iter().map(|r| r.0.as_str()).collect();
    let calls = sqlx::query(
        "SELECT c.room_id, c.call_id, c.video, u.username FROM live_calls c
         JOIN users u ON u.id = c.caller_id WHERE c.room_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let sockets = sqlx::query(
        "SELECT DISTINCT s.room_id, s.call_id, u.username FROM call_sockets s
         JOIN users u ON u.id = s.user_id WHERE s.room_id = ANY($1) ORDER BY u.username",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let key = |row: &_| -> CallKey { (RoomId(Row::get(row, 0)), Row::get(row, 1)) };
    let calls = calls
        .iter()
        .map(|r| (key(r), r.get::<i16, _>(2) != 0, r.get(3)))
        .collect();
    let sockets = sockets.iter().map(|r| (key(r), r.get(2))).collect();
    Ok(super::super::columns::call_infos(calls, sockets))
}

/// Locks the call's row; its caller, the caller's name, start and whether it was answered.
async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    key: &CallKey,
) -> Result<Option<(UserId, String, i64, bool)>, StoreError> {
    let row = sqlx::query(
        "SELECT c.caller_id, u.username, c.started_at, c.answered FROM live_calls c
         JOIN users u ON u.id = c.caller_id
         WHERE c.room_id = $1 AND c.call_id = $2 FOR UPDATE OF c",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| {
        (
            UserId(r.get(0)),
            r.get(1),
            r.get(2),
            r.get::<i16, _>(3) != 0,
        )
    }))
}

async fn add_socket(
    tx: &mut Transaction<'_, Postgres>,
    key: &CallKey,
    at: CallSocket,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO call_sockets (room_id, call_id, node, conn, user_id)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
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
    tx: &mut Transaction<'_, Postgres>,
    key: &CallKey,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT u.username FROM call_sockets s JOIN users u ON u.id = s.user_id
         WHERE s.room_id = $1 AND s.call_id = $2 ORDER BY u.username",
    )
    .bind(&key.0.0)
    .bind(&key.1)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Deletes the call (locked by the caller) and says how it ended.
async fn end(
    tx: &mut Transaction<'_, Postgres>,
    key: &CallKey,
    declined: bool,
    now_ms: i64,
) -> Result<Option<Ended>, StoreError> {
    let Some((caller, name, started_at, answered)) = lock(tx, key).await? else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM live_calls WHERE room_id = $1 AND call_id = $2")
        .bind(&key.0.0)
        .bind(&key.1)
        .execute(&mut **tx)
        .await?;
    Ok(Some(Ended::of(
        key,
        (caller, name),
        started_at,
        answered,
        declined,
        now_ms,
    )))
}
