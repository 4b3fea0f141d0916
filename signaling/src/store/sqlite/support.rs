//! The support desk's conversations on SQLite (migration 0023; `crate::support`).
//! `postgres/support.rs` is made from this file by `scripts/pg-admin.py` (placeholders differ,
//! nothing else): change this one, then run the script.

use crate::store::{StoreError, SupportConversation, SupportFigures, SupportState, UserId};
use shared::RoomId;
use sqlx::{Row, SqlitePool};

const COLUMNS: &str = "room_id, customer_id, state, agent_id, reason, summary, unsure_in_a_row, \
     created_at, escalated_at, claimed_at, first_reply_at, resolved_at";

fn conversation(row: &sqlx::sqlite::SqliteRow) -> Result<SupportConversation, StoreError> {
    let state: String = row.get(2);
    Ok(SupportConversation {
        room: RoomId(row.get(0)),
        customer: UserId(row.get(1)),
        state: SupportState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("support state \"{state}\"")))?,
        agent: row.get::<Option<i64>, _>(3).map(UserId),
        reason: row.get(4),
        summary: row.get(5),
        unsure_in_a_row: u32::try_from(row.get::<i64, _>(6)).unwrap_or(u32::MAX),
        created_ms: row.get(7),
        escalated_ms: row.get(8),
        claimed_ms: row.get(9),
        first_reply_ms: row.get(10),
        resolved_ms: row.get(11),
    })
}

pub async fn open_support(
    pool: &SqlitePool,
    room: &RoomId,
    customer: UserId,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO support_conversations (room_id, customer_id, created_at) VALUES (?, ?, ?)",
    )
    .bind(&room.0)
    .bind(customer.0)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn support_conversation(
    pool: &SqlitePool,
    room: &RoomId,
) -> Result<Option<SupportConversation>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM support_conversations WHERE room_id = ?"
    ))
    .bind(&room.0)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(conversation).transpose()
}

/// The assistant answered (sure of it or not): the new count of unsure answers in a row, or
/// `None` when the assistant no longer has the conversation.
pub async fn support_answered(
    pool: &SqlitePool,
    room: &RoomId,
    unsure: bool,
) -> Result<Option<u32>, StoreError> {
    let count: Option<i64> = sqlx::query_scalar(
        "UPDATE support_conversations
         SET unsure_in_a_row = CASE WHEN ? THEN unsure_in_a_row + 1 ELSE 0 END
         WHERE room_id = ? AND state = 'assistant' RETURNING unsure_in_a_row",
    )
    .bind(unsure)
    .bind(&room.0)
    .fetch_optional(pool)
    .await?;
    Ok(count.map(|c| u32::try_from(c).unwrap_or(u32::MAX)))
}

/// From the assistant to waiting for a person; false if the assistant did not have it.
pub async fn escalate_support(
    pool: &SqlitePool,
    room: &RoomId,
    reason: &str,
    summary: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_conversations
         SET state = 'waiting', reason = ?, summary = ?, escalated_at = ?, claimed_at = NULL,
             first_reply_at = NULL, resolved_at = NULL
         WHERE room_id = ? AND state = 'assistant'",
    )
    .bind(reason)
    .bind(summary)
    .bind(now_ms)
    .bind(&room.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The agent takes a waiting conversation. One statement whose condition the database checks
/// on the row it changes: of agents claiming at once, on any nodes, exactly one gets it.
pub async fn claim_support(
    pool: &SqlitePool,
    room: &RoomId,
    agent: UserId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_conversations SET state = 'agent', agent_id = ?, claimed_at = ?
         WHERE room_id = ? AND state = 'waiting'",
    )
    .bind(agent.0)
    .bind(now_ms)
    .bind(&room.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The agent who has the conversation wrote in it: its first reply is timed.
pub async fn support_replied(
    pool: &SqlitePool,
    room: &RoomId,
    agent: UserId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_conversations SET first_reply_at = ?
         WHERE room_id = ? AND agent_id = ? AND state = 'agent' AND first_reply_at IS NULL",
    )
    .bind(now_ms)
    .bind(&room.0)
    .bind(agent.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Resolved by the agent who has it.
pub async fn resolve_support(
    pool: &SqlitePool,
    room: &RoomId,
    agent: UserId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_conversations SET state = 'resolved', resolved_at = ?
         WHERE room_id = ? AND agent_id = ? AND state = 'agent'",
    )
    .bind(now_ms)
    .bind(&room.0)
    .bind(agent.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Back to the assistant (the agent handed it back, or the customer wrote again after it was
/// resolved).
pub async fn support_to_assistant(pool: &SqlitePool, room: &RoomId) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_conversations SET state = 'assistant', agent_id = NULL, unsure_in_a_row = 0
         WHERE room_id = ? AND state <> 'assistant'",
    )
    .bind(&room.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An agent's queue: every waiting conversation, oldest first, then the agent's own.
pub async fn support_queue(
    pool: &SqlitePool,
    agent: UserId,
    limit: u32,
) -> Result<Vec<SupportConversation>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM support_conversations
         WHERE state = 'waiting' OR (state = 'agent' AND agent_id = ?)
         ORDER BY CASE WHEN state = 'waiting' THEN 0 ELSE 1 END, escalated_at, room_id
         LIMIT ?"
    ))
    .bind(agent.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(conversation).collect()
}

/// The insight page's figures for conversations opened since `since_ms`.
pub async fn support_figures(
    pool: &SqlitePool,
    since_ms: i64,
) -> Result<SupportFigures, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN escalated_at IS NULL THEN 1 ELSE 0 END), 0)
         FROM support_conversations WHERE created_at >= ?",
    )
    .bind(since_ms)
    .fetch_one(pool)
    .await?;
    let reasons = sqlx::query(
        "SELECT reason, COUNT(*) FROM support_conversations
         WHERE created_at >= ? AND escalated_at IS NOT NULL GROUP BY reason ORDER BY reason",
    )
    .bind(since_ms)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let mut waits: Vec<i64> = sqlx::query_scalar(
        "SELECT first_reply_at - escalated_at FROM support_conversations
         WHERE created_at >= ? AND first_reply_at IS NOT NULL AND escalated_at IS NOT NULL
         ORDER BY escalated_at DESC LIMIT 10000",
    )
    .bind(since_ms)
    .fetch_all(pool)
    .await?;
    waits.sort_unstable();
    Ok(SupportFigures {
        conversations: row.get(0),
        without_person: row.get(1),
        escalations: reasons,
        median_first_reply_ms: waits.get(waits.len() / 2).copied(),
    })
}

/// The agent who has the conversation puts it back in the queue, for another agent.
pub async fn unassign_support(
    pool: &SqlitePool,
    room: &RoomId,
    agent: UserId,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE support_conversations SET state = 'waiting', agent_id = NULL, claimed_at = NULL
         WHERE room_id = ? AND agent_id = ? AND state = 'agent'",
    )
    .bind(&room.0)
    .bind(agent.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes a guest: an account that never logs in with a password, in no room (migration 0024).
pub async fn create_guest(
    pool: &SqlitePool,
    username: &str,
    display_name: &str,
    now_ms: i64,
) -> Result<UserId, StoreError> {
    super::integrations::create_passwordless(pool, username, display_name, now_ms, (0, 1)).await
}

pub async fn is_guest(pool: &SqlitePool, user: UserId) -> Result<bool, StoreError> {
    Ok(super::integrations::kind_of(pool, user).await?.1)
}

/// The customer's conversations not resolved yet.
pub async fn open_supports_of(pool: &SqlitePool, customer: UserId) -> Result<i64, StoreError> {
    let count = sqlx::query_scalar(
        "SELECT COUNT(*) FROM support_conversations WHERE customer_id = ? AND state <> 'resolved'",
    )
    .bind(customer.0)
    .fetch_one(pool)
    .await?;
    Ok(count)
}
