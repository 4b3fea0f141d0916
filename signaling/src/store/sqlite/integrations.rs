//! Bots and outgoing webhooks on SQLite (migration 0022; `crate::bots`, `crate::webhooks`).
//! `postgres/integrations.rs` is made from this file by `scripts/pg-admin.py` (placeholders
//! differ, nothing else): change this one, then run the script.

use crate::store::{
    BotCommand, BotRow, BotSession, NewWebhook, StoreError, UserId, WebhookProgress, WebhookRow,
};
use shared::{RoomId, Seq};
use sqlx::{Row, SqlitePool};

/// Makes the bot account `username`: no password can log in to it, and it is a member of no
/// room until an administrator puts it in some.
pub async fn create_bot(
    pool: &SqlitePool,
    username: &str,
    display_name: &str,
    now_ms: i64,
) -> Result<UserId, StoreError> {
    create_passwordless(pool, username, display_name, now_ms, (1, 0)).await
}

/// An account no password logs in to, in no room: a bot (`bot_guest` (1, 0)) or a guest of
/// the support desk ((0, 1), `support.rs`).
pub(super) async fn create_passwordless(
    pool: &SqlitePool,
    username: &str,
    display_name: &str,
    now_ms: i64,
    bot_guest: (i64, i64),
) -> Result<UserId, StoreError> {
    let result = sqlx::query(
        "INSERT INTO users (username, password_hash, created_at, display_name, bot, guest)
         VALUES (?, '!', ?, ?, ?, ?) RETURNING id",
    )
    .bind(username)
    .bind(now_ms)
    .bind(display_name)
    .bind(bot_guest.0)
    .bind(bot_guest.1)
    .fetch_one(pool)
    .await;
    match result {
        Ok(row) => Ok(UserId(row.get(0))),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::UsernameTaken),
        Err(e) => Err(e.into()),
    }
}

pub async fn is_bot(pool: &SqlitePool, user: UserId) -> Result<bool, StoreError> {
    Ok(kind_of(pool, user).await?.0)
}

/// Whether `user` is a bot, and whether a guest (false for an unknown user).
pub(super) async fn kind_of(pool: &SqlitePool, user: UserId) -> Result<(bool, bool), StoreError> {
    let row = sqlx::query("SELECT bot, guest FROM users WHERE id = ?")
        .bind(user.0)
        .fetch_optional(pool)
        .await?;
    Ok(row.map_or((false, false), |r| {
        (r.get::<i64, _>(0) != 0, r.get::<i64, _>(1) != 0)
    }))
}

pub async fn bots(pool: &SqlitePool) -> Result<Vec<BotRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.created_at,
                CAST(CASE WHEN u.deactivated_at IS NULL THEN 0 ELSE 1 END AS BIGINT),
                (SELECT COUNT(*) FROM bot_tokens t WHERE t.user_id = u.id),
                (SELECT MAX(t.last_used_at) FROM bot_tokens t WHERE t.user_id = u.id)
         FROM users u WHERE u.bot = 1 ORDER BY u.username",
    )
    .fetch_all(pool)
    .await?;
    let mut bots = Vec::with_capacity(rows.len());
    for row in rows {
        let id = UserId(row.get(0));
        let rooms = sqlx::query(
            "SELECT r.id, r.name FROM members m JOIN rooms r ON r.id = m.room_id
             WHERE m.user_id = ? ORDER BY r.name, r.id",
        )
        .bind(id.0)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (RoomId(r.get(0)), r.get(1)))
        .collect();
        bots.push(BotRow {
            id,
            username: row.get(1),
            display_name: row.get(2),
            created_ms: row.get(3),
            deactivated: row.get::<i64, _>(4) != 0,
            tokens: row.get(5),
            last_used_ms: row.get::<Option<i64>, _>(6).unwrap_or(0),
            rooms,
        });
    }
    Ok(bots)
}

/// Gives the bot `user` the token hashed as `token_hash`, ending every token it had: returns
/// the ended ones' hashes (their sockets are closed).
pub async fn replace_bot_token(
    pool: &SqlitePool,
    user: UserId,
    token_hash: &[u8],
    now_ms: i64,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut tx = pool.begin().await?;
    let ended: Vec<Vec<u8>> =
        sqlx::query_scalar("DELETE FROM bot_tokens WHERE user_id = ? RETURNING token_hash")
            .bind(user.0)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("INSERT INTO bot_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)")
        .bind(token_hash)
        .bind(user.0)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Ends every token of `user`; returns their hashes.
pub async fn end_bot_tokens(pool: &SqlitePool, user: UserId) -> Result<Vec<Vec<u8>>, StoreError> {
    let ended = sqlx::query_scalar("DELETE FROM bot_tokens WHERE user_id = ? RETURNING token_hash")
        .bind(user.0)
        .fetch_all(pool)
        .await?;
    Ok(ended)
}

/// The bot behind a token, unless it was deactivated.
pub async fn bot_by_token(
    pool: &SqlitePool,
    token_hash: &[u8],
) -> Result<Option<BotSession>, StoreError> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.created_at, t.created_at, t.last_used_at
         FROM bot_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ? AND u.bot = 1 AND u.deactivated_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| BotSession {
        user: UserId(r.get(0)),
        username: r.get(1),
        account_created_ms: r.get(2),
        token_created_ms: r.get(3),
        last_used_ms: r.get(4),
    }))
}

pub async fn touch_bot_token(
    pool: &SqlitePool,
    token_hash: &[u8],
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE bot_tokens SET last_used_at = ? WHERE token_hash = ?")
        .bind(now_ms)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Adds the webhook; it delivers the events after the room's newest one now. False when the
/// room does not exist or is a direct conversation (which belongs to its two people).
pub async fn create_webhook(pool: &SqlitePool, hook: &NewWebhook) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO webhooks (id, room_id, url, secret, created_by, created_at, delivered_through)
         SELECT ?, r.id, ?, ?, ?, ?, r.last_seq FROM rooms r
         WHERE r.id = ? AND r.deleted = 0 AND r.kind = 'group'",
    )
    .bind(&hook.id)
    .bind(&hook.url)
    .bind(&hook.secret)
    .bind(&hook.created_by)
    .bind(hook.created_ms)
    .bind(&hook.room.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

const WEBHOOK_COLUMNS: &str = "w.id, w.room_id, w.url, w.secret, w.created_by, w.created_at, \
     w.delivered_through, w.attempts, w.next_attempt_at, w.last_status, w.delivered, w.failed";

fn webhook_row(row: &sqlx::sqlite::SqliteRow) -> WebhookRow {
    WebhookRow {
        id: row.get(0),
        room: RoomId(row.get(1)),
        url: row.get(2),
        secret: row.get(3),
        created_by: row.get(4),
        created_ms: row.get(5),
        delivered_through: Seq(row.get(6)),
        attempts: u32::try_from(row.get::<i64, _>(7)).unwrap_or(u32::MAX),
        next_attempt_ms: row.get(8),
        last_status: row.get(9),
        delivered: row.get(10),
        failed: row.get(11),
    }
}

/// Every webhook, with its room's name and newest seq (how far behind it is).
pub async fn webhooks(pool: &SqlitePool) -> Result<Vec<(WebhookRow, String, Seq)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS}, r.name, r.last_seq
         FROM webhooks w JOIN rooms r ON r.id = w.room_id ORDER BY w.created_at, w.id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (webhook_row(r), r.get(12), Seq(r.get(13))))
        .collect())
}

pub async fn delete_webhook(pool: &SqlitePool, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM webhooks WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Leases up to `limit` webhooks that have events to deliver and are due, to `lease` until
/// `until_ms`. A webhook leased by another node and not expired is left to it; the outer
/// conditions are checked again on the row being updated, so two nodes claiming at once
/// cannot both get one.
pub async fn claim_webhooks(
    pool: &SqlitePool,
    lease: &str,
    now_ms: i64,
    until_ms: i64,
    limit: u32,
) -> Result<Vec<WebhookRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "UPDATE webhooks SET lease = ?, leased_until = ?
         WHERE leased_until < ? AND next_attempt_at <= ? AND id IN (
             SELECT w.id FROM webhooks w JOIN rooms r ON r.id = w.room_id
             WHERE w.leased_until < ? AND w.next_attempt_at <= ? AND r.deleted = 0
               AND r.last_seq > w.delivered_through
             ORDER BY w.next_attempt_at LIMIT ?)
         RETURNING {}",
        WEBHOOK_COLUMNS.replace("w.", "")
    ))
    .bind(lease)
    .bind(until_ms)
    .bind(now_ms)
    .bind(now_ms)
    .bind(now_ms)
    .bind(now_ms)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(webhook_row).collect())
}

/// Records how delivery went, if `lease` still holds the webhook and has not run out (false:
/// it ran out, and this claim must stop: another may have taken the webhook over).
pub async fn webhook_progress(
    pool: &SqlitePool,
    id: &str,
    lease: &str,
    progress: &WebhookProgress,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE webhooks SET delivered_through = ?, attempts = ?, next_attempt_at = ?,
                last_status = ?, delivered = delivered + ?, failed = failed + ?,
                leased_until = ?
         WHERE id = ? AND lease = ? AND leased_until >= ?",
    )
    .bind(progress.delivered_through.0)
    .bind(i64::from(progress.attempts))
    .bind(progress.next_attempt_ms)
    .bind(&progress.last_status)
    .bind(i64::from(progress.delivered))
    .bind(i64::from(progress.failed))
    .bind(progress.leased_until_ms)
    .bind(id)
    .bind(lease)
    .bind(progress.now_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The bots among the room's members.
pub async fn room_bots(pool: &SqlitePool, room: &RoomId) -> Result<Vec<UserId>, StoreError> {
    let bots: Vec<i64> = sqlx::query_scalar(
        "SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.room_id = ? AND u.bot = 1",
    )
    .bind(&room.0)
    .fetch_all(pool)
    .await?;
    Ok(bots.into_iter().map(UserId).collect())
}

/// The bot's slash commands become exactly `commands`.
pub async fn set_bot_commands(
    pool: &SqlitePool,
    user: UserId,
    commands: &[BotCommand],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM bot_commands WHERE user_id = ?")
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    for command in commands {
        sqlx::query(
            "INSERT INTO bot_commands (user_id, name, description, usage) VALUES (?, ?, ?, ?)",
        )
        .bind(user.0)
        .bind(&command.name)
        .bind(&command.description)
        .bind(&command.usage)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The slash commands of the bots that are members of `room`, by name, with their bot.
pub async fn room_commands(
    pool: &SqlitePool,
    room: &RoomId,
) -> Result<Vec<(String, BotCommand)>, StoreError> {
    let rows = sqlx::query(
        "SELECT u.username, c.name, c.description, c.usage
         FROM bot_commands c
         JOIN members m ON m.user_id = c.user_id AND m.room_id = ?
         JOIN users u ON u.id = c.user_id
         WHERE u.deactivated_at IS NULL
         ORDER BY c.name, u.username",
    )
    .bind(&room.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get(0),
                BotCommand {
                    name: r.get(1),
                    description: r.get(2),
                    usage: r.get(3),
                },
            )
        })
        .collect())
}
