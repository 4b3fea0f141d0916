//! [`Storage`] on PostgreSQL, for deployments where several server processes share one
//! database. Behaves as [`super::SqliteStore`] does; what differs is how writers are ordered.
//!
//! SQLite has one writer at a time. Here many transactions run at once (READ COMMITTED), each
//! statement seeing what was committed when it started, so every write that needs an order
//! takes a row lock first and reads after it:
//! - a room's events: `UPDATE rooms SET last_seq = last_seq + 1 ... RETURNING` takes the next
//!   seq and locks the room's row until the commit, so a room's seqs follow commit order with
//!   no gap whichever process writes (a rollback gives its number back). A group commit locks
//!   all its rooms first, in id order, so two processes' batches cannot deadlock;
//! - new accounts: the lobby's row (every account joins it), so "the first account" is one;
//! - counted inserts (passkeys per account, pending single sign-ons): the owner's row or the
//!   table, so two inserts cannot both pass the limit.
//!
//! Commits are durable with PostgreSQL's default `synchronous_commit = on`.

mod admin;
mod calls;
mod integrations;
mod media;
mod support;
use super::columns::{
    CEREMONIES_PER_USER, EVENT_COLUMN_COUNT, EVENT_COLUMNS, EVENT_JOINS, Entry, EventValues,
    UNREAD_COUNT_CAP, event_from_row, event_of, kind_name, put_reactions, reaction_span, room_kind,
    room_kind_name, stored_message, summary_from_row,
};
use super::{
    Appended, CeremonyKind, Draft, FILE_OFFERS_PER_SENDER, FileOffer, MemberRecord, Membership,
    MessageInfo, NamedUser, NewRoom, PendingMessage, PushSubscription, PushTarget, SessionOrigin,
    SessionRecord, SessionUser, SsoLogin, Storage, StoreError, StoredPasskey, TwoFactor,
    UserCredentials, UserId,
};
use super::{LinkPreview, SealedFile, StoredFile, UploadRefused};
use crate::calls::{CallInfo, CallKey, CallSocket, Ended, JoinError, Leaving, Left};
use async_trait::async_trait;
use shared::api::ThreadSummary;
use shared::events::{Event, EventKind, Role};
use shared::rooms::{NotifyLevel, RoomKind, RoomSummary};
use shared::{ClientMsgId, RoomId, Seq};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Executor, Postgres, Row, Transaction};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Connections per process. Appends of one room wait for each other on its row lock anyway;
/// more connections would mostly wait there.
const POOL_SIZE: u32 = 8;

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`) and applies
    /// pending migrations (`migrations_pg/`; each process may run them, PostgreSQL's advisory
    /// lock in sqlx lets one at a time do it).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            // A socket waits for the database inline; fail fast (the client retries) rather
            // than stall its pings for sqlx's default 30 s.
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations_pg").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Up to `limit` events after `after`, oldest first (with `sender`: only that user's
    /// messages), and whether they reach the newest.
    async fn events_page(
        &self,
        room: &RoomId,
        sender: Option<UserId>,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        let query = match sender {
            Some(_) => format!(
                "SELECT {EVENT_COLUMNS} {EVENT_JOINS}
                 WHERE e.room_id = $1 AND e.sender_id = $4 AND e.kind = 'message' AND e.seq > $2
                 ORDER BY e.seq ASC LIMIT $3"
            ),
            None => format!(
                "SELECT {EVENT_COLUMNS} {EVENT_JOINS}
                 WHERE e.room_id = $1 AND e.seq > $2 ORDER BY e.seq ASC LIMIT $3"
            ),
        };
        let mut rows = sqlx::query(&query)
            .bind(&room.0)
            .bind(after.0)
            .bind(i64::from(limit) + 1);
        if let Some(sender) = sender {
            rows = rows.bind(sender.0);
        }
        let rows = rows.fetch_all(&self.pool).await?;
        let up_to_date = rows.len() <= limit as usize;
        let mut events = rows
            .iter()
            .take(limit as usize)
            .map(|r| event_from_row(room, r))
            .collect::<Result<Vec<_>, _>>()?;
        attach_reactions(&self.pool, room, &mut events).await?;
        Ok((events, up_to_date))
    }

    /// Runs `statements`, each about the user `$1`, in one transaction: all or none.
    async fn for_user_at_once(&self, user: UserId, statements: &[&str]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for statement in statements {
            sqlx::query(statement)
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Fills in the reactions of the message events in `events` (one query for the page).
async fn attach_reactions<'c, E>(
    executor: E,
    room: &RoomId,
    events: &mut [Event],
) -> Result<(), StoreError>
where
    E: Executor<'c, Database = Postgres>,
{
    let Some((low, high)) = reaction_span(events) else {
        return Ok(());
    };
    let rows = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT r.seq, r.emoji, u.username FROM reactions r JOIN users u ON u.id = r.user_id
         WHERE r.room_id = $1 AND r.seq BETWEEN $2 AND $3
         ORDER BY r.seq, (SELECT MIN(at) FROM reactions f
                          WHERE f.room_id = r.room_id AND f.seq = r.seq AND f.emoji = r.emoji),
                  r.emoji, r.at",
    )
    .bind(&room.0)
    .bind(low)
    .bind(high)
    .fetch_all(executor)
    .await?;
    put_reactions(events, rows);
    Ok(())
}

/// Takes the room's next seq and locks the room's row until the commit. Must run first in an
/// append's transaction: every later write to the room's state happens under that lock.
async fn next_seq(tx: &mut Transaction<'_, Postgres>, room: &RoomId) -> Result<Seq, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(&room.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Seq(seq))
}

async fn add_member(
    tx: &mut Transaction<'_, Postgres>,
    room: &RoomId,
    user: UserId,
    role: Role,
    entry: Entry,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO members (room_id, user_id, role, joined_at, chosen) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (room_id, user_id) DO NOTHING",
    )
    .bind(&room.0)
    .bind(user.0)
    .bind(role.as_str())
    .bind(now_ms)
    .bind(i64::from(matches!(entry, Entry::Chosen)))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends `user`'s membership of `room`, and the invite links they made for it: a link works
/// only while its creator is a member, so a removed member's links cannot bring them back.
async fn end_membership(
    tx: &mut Transaction<'_, Postgres>,
    room: &RoomId,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM members WHERE room_id = $1 AND user_id = $2")
        .bind(&room.0)
        .bind(user.0)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM invites WHERE room_id = $1 AND created_by = $2")
        .bind(&room.0)
        .bind(user.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Applies the effect of `draft` inside the append's transaction (which holds the room's lock).
async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    room: &RoomId,
    sender: UserId,
    draft: &Draft,
    now_ms: i64,
) -> Result<(), StoreError> {
    match draft {
        Draft::Message { .. } | Draft::CallStarted { .. } | Draft::CallEnded { .. } => {}
        Draft::Edit { target, body } => {
            sqlx::query(
                "UPDATE events SET body = $1, edited_at = $2 WHERE room_id = $3 AND seq = $4",
            )
            .bind(body)
            .bind(now_ms)
            .bind(&room.0)
            .bind(target.0)
            .execute(&mut **tx)
            .await?;
        }
        Draft::Delete { target } => {
            // Its file goes with it: the garbage collector removes the row and the blobs
            // nothing else names (see `crate::media`).
            // (Unless another message of the sender's carries the same upload.)
            sqlx::query(
                "UPDATE attachments SET released = 1
                 WHERE id = (SELECT attachment_id FROM events WHERE room_id = $1 AND seq = $2)
                   AND NOT EXISTS (SELECT 1 FROM events o WHERE o.attachment_id = attachments.id
                                   AND NOT (o.room_id = $1 AND o.seq = $2))",
            )
            .bind(&room.0)
            .bind(target.0)
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE events SET body = '', mentions = NULL, deleted = 1, attachment_id = NULL
                 WHERE room_id = $1 AND seq = $2",
            )
            .bind(&room.0)
            .bind(target.0)
            .execute(&mut **tx)
            .await?;
            // Earlier edits carried text too; a deleted message keeps none of it.
            sqlx::query(
                "UPDATE events SET body = '' WHERE room_id = $1 AND kind = 'edit' AND target = $2",
            )
            .bind(&room.0)
            .bind(target.0)
            .execute(&mut **tx)
            .await?;
            sqlx::query("DELETE FROM reactions WHERE room_id = $1 AND seq = $2")
                .bind(&room.0)
                .bind(target.0)
                .execute(&mut **tx)
                .await?;
        }
        Draft::Reaction {
            target,
            emoji,
            added: true,
        } => {
            sqlx::query(
                "INSERT INTO reactions (room_id, seq, emoji, user_id, at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&room.0)
            .bind(target.0)
            .bind(emoji)
            .bind(sender.0)
            .bind(now_ms)
            .execute(&mut **tx)
            .await?;
        }
        Draft::Reaction {
            target,
            emoji,
            added: false,
        } => {
            sqlx::query(
                "DELETE FROM reactions
                 WHERE room_id = $1 AND seq = $2 AND emoji = $3 AND user_id = $4",
            )
            .bind(&room.0)
            .bind(target.0)
            .bind(emoji)
            .bind(sender.0)
            .execute(&mut **tx)
            .await?;
        }
        Draft::Renamed { name } => {
            sqlx::query("UPDATE rooms SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(&room.0)
                .execute(&mut **tx)
                .await?;
        }
        Draft::TopicChanged { topic } => {
            sqlx::query("UPDATE rooms SET topic = $1 WHERE id = $2")
                .bind(topic)
                .bind(&room.0)
                .execute(&mut **tx)
                .await?;
        }
        Draft::Joined => add_member(tx, room, sender, Role::Member, Entry::Chosen, now_ms).await?,
        Draft::Added { user } => {
            add_member(tx, room, user.id, Role::Member, Entry::PutThere, now_ms).await?;
        }
        Draft::Left => end_membership(tx, room, sender).await?,
        Draft::Removed { user } => end_membership(tx, room, user.id).await?,
        Draft::Banned { user, banned: true } => {
            end_membership(tx, room, user.id).await?;
            sqlx::query(
                "INSERT INTO bans (room_id, user_id, by_id, at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&room.0)
            .bind(user.id.0)
            .bind(sender.0)
            .bind(now_ms)
            .execute(&mut **tx)
            .await?;
        }
        Draft::Banned {
            user,
            banned: false,
        } => {
            sqlx::query("DELETE FROM bans WHERE room_id = $1 AND user_id = $2")
                .bind(&room.0)
                .bind(user.id.0)
                .execute(&mut **tx)
                .await?;
        }
        Draft::RoleChanged { user, role } => {
            sqlx::query("UPDATE members SET role = $1 WHERE room_id = $2 AND user_id = $3")
                .bind(role.as_str())
                .bind(&room.0)
                .bind(user.id.0)
                .execute(&mut **tx)
                .await?;
        }
        Draft::Muted { user, muted } => {
            sqlx::query("UPDATE members SET muted = $1 WHERE room_id = $2 AND user_id = $3")
                .bind(i64::from(*muted))
                .bind(&room.0)
                .bind(user.id.0)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Queues the pushes of a message or a call (`push_outbox`) in the transaction that stores it,
/// when a member other than the sender has a push subscription. The check reads the
/// subscriptions first: few, or none on most servers.
async fn queue_push(
    tx: &mut Transaction<'_, Postgres>,
    room: &RoomId,
    seq: Seq,
    sender: UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO push_outbox (room_id, seq) SELECT $1, $2 WHERE EXISTS (
             SELECT 1 FROM push_subscriptions p
             JOIN members m ON m.room_id = $1 AND m.user_id = p.user_id
             WHERE p.user_id <> $3)",
    )
    .bind(&room.0)
    .bind(seq.0)
    .bind(sender.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
/// Reads a row of `push_targets`' query.
fn push_target_from_row<R>(row: &R) -> PushTarget
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    PushTarget {
        user: NamedUser {
            id: UserId(row.get(0)),
            name: row.get(1),
        },
        notify: NotifyLevel::parse(&row.get::<String, _>(2)).unwrap_or_default(),
        endpoint: row.get(3),
        p256dh: row.get(4),
        auth: row.get(5),
        show_text: row.get(6),
    }
}

/// Writes the row of an event whose effect `apply` already made.
async fn insert_event(
    tx: &mut Transaction<'_, Postgres>,
    room: &RoomId,
    seq: Seq,
    sender: UserId,
    client_id: Option<&ClientMsgId>,
    draft: &Draft,
    now_ms: i64,
) -> Result<(), StoreError> {
    let values = EventValues::of(draft);
    sqlx::query(
        "INSERT INTO events (room_id, seq, sender_id, client_id, kind, at, body, reply_to,
                             target, emoji, flag, subject_id, mentions, amount, attachment_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&room.0)
    .bind(seq.0)
    .bind(sender.0)
    .bind(client_id.map(|c| c.0.as_str()))
    .bind(kind_name(draft))
    .bind(now_ms)
    .bind(values.body)
    .bind(values.reply_to)
    .bind(values.target)
    .bind(values.emoji)
    .bind(values.flag)
    .bind(values.subject)
    .bind(values.mentions)
    .bind(values.amount)
    .bind(values.attachment)
    .execute(&mut **tx)
    .await?;
    if matches!(draft, Draft::Message { .. } | Draft::CallStarted { .. }) {
        queue_push(tx, room, seq, sender).await?;
    }
    Ok(())
}

/// The summary columns (see [`summary_from_row`]), for one user's memberships; `$1` is the
/// user id, `$2` the unread cap.
const SUMMARY_QUERY: &str = "
    SELECT r.id, r.kind, r.name, r.topic, r.last_seq, m.role, m.muted, m.read_seq,
        r.member_count,
        (SELECT COUNT(*) FROM (SELECT 1 FROM events u
            WHERE u.room_id = r.id AND u.seq > m.read_seq AND u.kind = 'message'
              AND u.deleted = 0 AND u.sender_id <> m.user_id LIMIT $2) AS unread),
        (SELECT COUNT(*) FROM (SELECT 1 FROM events u
            WHERE u.room_id = r.id AND u.seq > m.read_seq AND u.kind = 'message'
              AND u.deleted = 0 AND u.sender_id <> m.user_id
              AND strpos(' ' || u.mentions || ' ', ' ' || me.username || ' ') > 0
            LIMIT $2) AS mentioned),
        (SELECT o.username FROM members om JOIN users o ON o.id = om.user_id
            WHERE om.room_id = r.id AND om.user_id <> m.user_id LIMIT 1),
        lm.seq, lmu.username,
        COALESCE(NULLIF(lm.body, ''), (SELECT '📎 ' || a.name FROM attachments a
            WHERE a.id = lm.attachment_id), lm.body),
        lm.deleted, lm.at, m.notify
    FROM members m
    JOIN rooms r ON r.id = m.room_id
    JOIN users me ON me.id = m.user_id
    LEFT JOIN events lm ON lm.room_id = r.id AND lm.seq = (
        SELECT MAX(x.seq) FROM events x WHERE x.room_id = r.id AND x.kind = 'message')
    LEFT JOIN users lmu ON lmu.id = lm.sender_id
    WHERE m.user_id = $1";

/// A new account row and its lobby membership (the first account of an installation runs the
/// lobby), in the caller's transaction.
async fn insert_user(
    tx: &mut Transaction<'_, Postgres>,
    username: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<UserId, StoreError> {
    insert_user_where(tx, username, password_hash, now_ms, false)
        .await?
        .ok_or(StoreError::UsernameTaken)
}

/// [`insert_user`]; with `only_first`, only into an empty `users` table (`None` otherwise).
/// Account creations first lock the lobby's row (which each of them updates anyway, through
/// its member count), so they run one at a time and each sees the accounts made before it:
/// "no account yet" and "the lobby has no owner" cannot be true for two of them.
async fn insert_user_where(
    tx: &mut Transaction<'_, Postgres>,
    username: &str,
    password_hash: &str,
    now_ms: i64,
    only_first: bool,
) -> Result<Option<UserId>, StoreError> {
    sqlx::query("SELECT 1 FROM rooms WHERE id = 'lobby' FOR NO KEY UPDATE")
        .execute(&mut **tx)
        .await?;
    let result = sqlx::query_scalar::<_, i64>(
        // The first account of an installation is its administrator (bots, such as the
        // support desk's assistant made at start, are not people and do not count).
        "INSERT INTO users (username, password_hash, created_at, admin)
         SELECT $1, $2, $3, CASE WHEN EXISTS (SELECT 1 FROM users WHERE bot = 0 AND guest = 0) THEN 0 ELSE 1 END
         WHERE NOT $4 OR NOT EXISTS (SELECT 1 FROM users WHERE bot = 0 AND guest = 0) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(now_ms)
    .bind(only_first)
    .fetch_optional(&mut **tx)
    .await;
    let user = match result {
        Ok(Some(id)) => UserId(id),
        Ok(None) => return Ok(None),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(StoreError::UsernameTaken);
        }
        Err(e) => return Err(e.into()),
    };
    sqlx::query(
        "INSERT INTO members (room_id, user_id, role, joined_at)
         VALUES ('lobby', $1, CASE WHEN EXISTS (SELECT 1 FROM members
                    WHERE room_id = 'lobby' AND role = 'owner') THEN 'member' ELSE 'owner' END, $2)",
    )
    .bind(user.0)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(Some(user))
}

#[async_trait]
impl Storage for PgStore {
    async fn start_call(
        &self,
        key: &CallKey,
        video: bool,
        caller: UserId,
        at: CallSocket,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        calls::start(&self.pool, key, video, caller, at, now_ms).await
    }

    async fn join_call(
        &self,
        key: &CallKey,
        user: UserId,
        at: CallSocket,
        max_users: usize,
    ) -> Result<Result<Vec<String>, JoinError>, StoreError> {
        calls::join(&self.pool, key, user, at, max_users).await
    }

    async fn leave_calls(
        &self,
        who: Leaving<'_>,
        only: Option<&CallKey>,
        now_ms: i64,
    ) -> Result<Vec<Left>, StoreError> {
        calls::leave(&self.pool, who, only, now_ms).await
    }

    async fn end_unanswered_call(
        &self,
        key: &CallKey,
        declined_by: Option<UserId>,
        now_ms: i64,
    ) -> Result<Option<Ended>, StoreError> {
        calls::end_unanswered(&self.pool, key, declined_by, now_ms).await
    }

    async fn calls_in(&self, rooms: &[RoomId]) -> Result<Vec<CallInfo>, StoreError> {
        calls::in_rooms(&self.pool, rooms).await
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, username, password_hash, now_ms).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserCredentials>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, password_hash FROM users WHERE lower(username) = lower($1)",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| UserCredentials {
            id: UserId(r.get(0)),
            username: r.get(1),
            password_hash: r.get(2),
        }))
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<NamedUser>, StoreError> {
        let row = sqlx::query("SELECT id, username FROM users WHERE lower(username) = lower($1)")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| NamedUser {
            id: UserId(r.get(0)),
            name: r.get(1),
        }))
    }

    async fn create_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
        origin: &SessionOrigin,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO sessions
                 (token_hash, user_id, created_at, expires_at, last_used_at, device, address)
             SELECT $1, $2, $3, $4, $3, $5, $6
             WHERE NOT EXISTS
                 (SELECT 1 FROM users WHERE id = $2 AND deactivated_at IS NOT NULL)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now_ms)
        .bind(expires_at_ms)
        .bind(&origin.device)
        .bind(&origin.address)
        .execute(&self.pool)
        .await?;
        // A deactivated account gets no session, whichever way it logs in.
        if done.rows_affected() == 0 {
            return Err(StoreError::Deactivated);
        }
        Ok(())
    }

    async fn sessions_of(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT token_hash, created_at, last_used_at, device, address FROM sessions
             WHERE user_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC, created_at DESC",
        )
        .bind(user.0)
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| SessionRecord {
                token_hash: r.get(0),
                created_ms: r.get(1),
                last_used_ms: r.get(2),
                origin: SessionOrigin {
                    device: r.get(3),
                    address: r.get(4),
                },
            })
            .collect())
    }

    async fn end_sessions(
        &self,
        user: UserId,
        keep: Option<&[u8]>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let hashes = sqlx::query_scalar(
            "DELETE FROM sessions WHERE user_id = $1 AND ($2::BYTEA IS NULL OR token_hash <> $2)
             RETURNING token_hash",
        )
        .bind(user.0)
        .bind(keep)
        .fetch_all(&self.pool)
        .await?;
        Ok(hashes)
    }

    async fn end_session(&self, user: UserId, token_hash: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash = $2")
            .bind(user.0)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn live_messages_of(&self, user: UserId) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        let rows = sqlx::query(
            "SELECT room_id, seq FROM events
             WHERE sender_id = $1 AND kind = 'message' AND deleted = 0 ORDER BY room_id, seq",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (RoomId(r.get(0)), Seq(r.get(1))))
            .collect())
    }

    async fn forget_account(&self, user: UserId) -> Result<(), StoreError> {
        self.for_user_at_once(
            user,
            &[
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
                "DELETE FROM file_offers WHERE to_id = $1 OR from_id = $1",
                "DELETE FROM two_factor WHERE user_id = $1",
                "DELETE FROM recovery_codes WHERE user_id = $1",
                "DELETE FROM passkeys WHERE user_id = $1",
                "DELETE FROM webauthn_ceremonies WHERE user_id = $1",
                "DELETE FROM invites WHERE created_by = $1",
                "DELETE FROM bans WHERE user_id = $1",
                "DELETE FROM sso_identities WHERE user_id = $1",
                "UPDATE users SET username = 'deleted-' || id, password_hash = '', display_name = '',
                 admin = 0 WHERE id = $1",
            ],
        )
        .await
    }

    async fn add_sso_login(
        &self,
        login: &SsoLogin,
        expired_before_ms: i64,
        max_pending: u32,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Adds wait for each other (reads go on): the count below is then the count at the
        // insert, and two callers cannot both take the last place.
        sqlx::query("LOCK TABLE sso_logins IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sso_logins WHERE created_at <= $1")
            .bind(expired_before_ms)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "INSERT INTO sso_logins (state, browser_hash, pkce_verifier, nonce, created_at)
             SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM sso_logins) < $6",
        )
        .bind(&login.state)
        .bind(login.browser_hash.as_slice())
        .bind(&login.pkce_verifier)
        .bind(&login.nonce)
        .bind(login.created_ms)
        .bind(i64::from(max_pending))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn take_sso_login(&self, state: &str) -> Result<Option<SsoLogin>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM sso_logins WHERE state = $1
             RETURNING state, browser_hash, pkce_verifier, nonce, created_at",
        )
        .bind(state)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| SsoLogin {
            state: r.get(0),
            browser_hash: r.get::<Vec<u8>, _>(1).try_into().unwrap_or([0; 32]),
            pkce_verifier: r.get(2),
            nonce: r.get(3),
            created_ms: r.get(4),
        }))
    }

    async fn sso_user(&self, issuer: &str, subject: &str) -> Result<Option<NamedUser>, StoreError> {
        let row = sqlx::query(
            "SELECT users.id, users.username FROM sso_identities
             JOIN users ON users.id = sso_identities.user_id
             WHERE sso_identities.issuer = $1 AND sso_identities.subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| NamedUser {
            id: UserId(r.get(0)),
            name: r.get(1),
        }))
    }

    async fn create_sso_user(
        &self,
        issuer: &str,
        subject: &str,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, username, password_hash, now_ms).await?;
        sqlx::query(
            "INSERT INTO sso_identities (issuer, subject, user_id, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user.0)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactor>, StoreError> {
        let row = sqlx::query("SELECT secret, enabled FROM two_factor WHERE user_id = $1")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| TwoFactor {
            secret: r.get(0),
            enabled: r.get::<i64, _>(1) != 0,
        }))
    }

    async fn begin_two_factor(&self, user: UserId, secret: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO two_factor (user_id, secret) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET secret = $2, last_step = 0
             WHERE two_factor.enabled = 0",
        )
        .bind(user.0)
        .bind(secret)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn enable_two_factor(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE two_factor SET enabled = 1, last_step = $1 WHERE user_id = $2")
            .bind(step)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user.0)
                .bind(hash.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn use_two_factor_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        // A concurrent use of the same step waits for the row and then finds the condition
        // false (PostgreSQL checks it again on the updated row): a code works once.
        let done = sqlx::query(
            "UPDATE two_factor SET last_step = $1
             WHERE user_id = $2 AND enabled = 1 AND last_step < $1",
        )
        .bind(step)
        .bind(user.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2")
            .bind(user.0)
            .bind(hash.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<usize, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1")
                .bind(user.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    async fn disable_two_factor(&self, user: UserId) -> Result<(), StoreError> {
        self.for_user_at_once(
            user,
            &[
                "DELETE FROM two_factor WHERE user_id = $1",
                "DELETE FROM recovery_codes WHERE user_id = $1",
            ],
        )
        .await
    }

    async fn display_name(&self, user: UserId) -> Result<String, StoreError> {
        let name: Option<String> =
            sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(name.unwrap_or_default())
    }

    async fn set_display_name(&self, user: UserId, name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind(name)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn has_sso_identity(&self, user: UserId) -> Result<bool, StoreError> {
        let linked: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sso_identities WHERE user_id = $1)")
                .bind(user.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(linked)
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        let any: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE bot = 0 AND guest = 0)")
                .fetch_one(&self.pool)
                .await?;
        Ok(any)
    }

    async fn make_admins(&self, usernames: &[String]) -> Result<Vec<String>, StoreError> {
        let mut missing = Vec::new();
        for name in usernames {
            let done = sqlx::query("UPDATE users SET admin = 1 WHERE lower(username) = lower($1)")
                .bind(name)
                .execute(&self.pool)
                .await?;
            if done.rows_affected() == 0 {
                missing.push(name.clone());
            }
        }
        Ok(missing)
    }

    async fn create_first_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user_where(&mut tx, username, password_hash, now_ms, true).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn is_admin(&self, user: UserId) -> Result<bool, StoreError> {
        let admin: Option<i64> = sqlx::query_scalar("SELECT admin FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(admin == Some(1))
    }

    async fn passkeys(&self, user: UserId) -> Result<Vec<StoredPasskey>, StoreError> {
        let rows = sqlx::query(
            "SELECT credential_id, name, passkey, created_at, last_used_at FROM passkeys
             WHERE user_id = $1 ORDER BY created_at, credential_id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredPasskey {
                credential_id: r.get(0),
                name: r.get(1),
                passkey: r.get(2),
                created_ms: r.get(3),
                last_used_ms: r.get(4),
            })
            .collect())
    }

    async fn add_passkey(
        &self,
        user: UserId,
        passkey: &StoredPasskey,
        max_per_user: usize,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The account's row orders its registrations, so two at once cannot both pass the
        // limit (a lone statement would count what was committed when it started).
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        let result = sqlx::query(
            "INSERT INTO passkeys (credential_id, user_id, name, passkey, created_at)
             SELECT $1, $2, $3, $4, $5
             WHERE (SELECT COUNT(*) FROM passkeys WHERE user_id = $2) < $6
             ON CONFLICT (credential_id) DO NOTHING",
        )
        .bind(&passkey.credential_id)
        .bind(user.0)
        .bind(&passkey.name)
        .bind(&passkey.passkey)
        .bind(passkey.created_ms)
        .bind(i64::try_from(max_per_user).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    async fn passkey_used(
        &self,
        credential_id: &[u8],
        passkey: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE credential_id = $3")
            .bind(passkey)
            .bind(now_ms)
            .bind(credential_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn remove_passkey(&self, user: UserId, credential_id: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2")
            .bind(user.0)
            .bind(credential_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_ceremony(
        &self,
        id_hash: &[u8],
        user: UserId,
        kind: CeremonyKind,
        state: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, user_id, kind, state, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user.0)
        .bind(kind.as_str())
        .bind(state)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await?;
        // A few at a time per account: starting ceremonies in a loop must not grow the table.
        sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE user_id = $1 AND id NOT IN
             (SELECT id FROM webauthn_ceremonies WHERE user_id = $1
              ORDER BY expires_at DESC LIMIT $2)",
        )
        .bind(user.0)
        .bind(i64::try_from(CEREMONIES_PER_USER).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_ceremony(
        &self,
        id_hash: &[u8],
        kind: CeremonyKind,
        now_ms: i64,
    ) -> Result<Option<(UserId, String)>, StoreError> {
        // Deleted whether expired or not; only an unexpired one is returned.
        let row = sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE id = $1 AND kind = $2
             RETURNING user_id, state, expires_at",
        )
        .bind(id_hash)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .filter(|r| r.get::<i64, _>(2) > now_ms)
            .map(|r| (UserId(r.get(0)), r.get(1))))
    }

    async fn session_user(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT users.id, users.username, sessions.expires_at, sessions.last_used_at,
                    sessions.created_at, users.created_at, users.guest
             FROM sessions JOIN users ON users.id = sessions.user_id
             WHERE sessions.token_hash = $1 AND sessions.expires_at > $2
               AND users.deactivated_at IS NULL",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| SessionUser {
            user: UserId(r.get(0)),
            username: r.get(1),
            expires_at_ms: r.get(2),
            last_used_ms: r.get(3),
            created_ms: r.get(4),
            account_created_ms: r.get(5),
            guest: r.get::<i64, _>(6) != 0,
        }))
    }

    async fn touch_session(&self, token_hash: &[u8], now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET last_used_at = $1 WHERE token_hash = $2 AND last_used_at < $1",
        )
        .bind(now_ms)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_expired_sessions(
        &self,
        now_ms: i64,
        idle_since_ms: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_used_at <= $2")
            .bind(now_ms)
            .bind(idle_since_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM invites WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn set_last_seen(&self, user: UserId, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_seen_at = $1 WHERE id = $2")
            .bind(at_ms)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_blocked(
        &self,
        blocker: UserId,
        blocked: UserId,
        on: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = if on {
            sqlx::query(
                "INSERT INTO blocks (blocker_id, blocked_id, at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(blocker.0)
            .bind(blocked.0)
            .bind(now_ms)
        } else {
            sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .bind(blocker.0)
                .bind(blocked.0)
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    async fn blocked_either_way(&self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        let blocked: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2)
                                                 OR (blocker_id = $2 AND blocked_id = $1))",
        )
        .bind(a.0)
        .bind(b.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(blocked)
    }

    async fn has_blocked(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2)",
        )
        .bind(blocker.0)
        .bind(blocked.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(found)
    }

    async fn blocked_by(&self, blocker: UserId) -> Result<Vec<String>, StoreError> {
        // In SQLite's order: usernames compared without case (NOCASE), byte by byte.
        let names = sqlx::query_scalar(
            "SELECT u.username FROM blocks b JOIN users u ON u.id = b.blocked_id
             WHERE b.blocker_id = $1 ORDER BY lower(u.username) COLLATE \"C\"",
        )
        .bind(blocker.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(names)
    }

    async fn room_ids(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT room_id FROM members WHERE user_id = $1")
            .bind(user.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(RoomId).collect())
    }

    async fn small_room_ids(
        &self,
        user: UserId,
        max_members: u32,
    ) -> Result<Vec<RoomId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT m.room_id FROM members m JOIN rooms r ON r.id = m.room_id
             WHERE m.user_id = $1 AND r.member_count <= $2",
        )
        .bind(user.0)
        .bind(i64::from(max_members))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(RoomId).collect())
    }

    async fn room_summaries(&self, user: UserId) -> Result<Vec<RoomSummary>, StoreError> {
        let query = format!("{SUMMARY_QUERY} ORDER BY COALESCE(lm.at, r.created_at) DESC");
        let rows = sqlx::query(&query)
            .bind(user.0)
            .bind(UNREAD_COUNT_CAP)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(summary_from_row).collect())
    }

    async fn room_summary(
        &self,
        room: &RoomId,
        user: UserId,
    ) -> Result<Option<RoomSummary>, StoreError> {
        let query = format!("{SUMMARY_QUERY} AND r.id = $3");
        let row = sqlx::query(&query)
            .bind(user.0)
            .bind(UNREAD_COUNT_CAP)
            .bind(&room.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(summary_from_row))
    }

    async fn put_file_offer(&self, offer: &FileOffer) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO file_offers (to_id, from_id, session, room_id, files, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (to_id, from_id, session)
             DO UPDATE SET room_id = excluded.room_id, files = excluded.files,
                           created_at = excluded.created_at",
        )
        .bind(offer.to.0)
        .bind(offer.from.id.0)
        .bind(&offer.session)
        .bind(&offer.room.0)
        .bind(&offer.files)
        .bind(offer.created_ms)
        .execute(&mut *tx)
        .await?;
        // The oldest beyond the sender's allowance go.
        sqlx::query(
            "DELETE FROM file_offers WHERE from_id = $1 AND (to_id, session) IN (
                 SELECT to_id, session FROM file_offers WHERE from_id = $1
                 ORDER BY created_at DESC OFFSET $2)",
        )
        .bind(offer.from.id.0)
        .bind(FILE_OFFERS_PER_SENDER)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_file_offer(
        &self,
        session: &str,
        a: UserId,
        b: UserId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM file_offers WHERE session = $1
               AND ((to_id = $2 AND from_id = $3) OR (to_id = $3 AND from_id = $2))",
        )
        .bind(session)
        .bind(a.0)
        .bind(b.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn file_offers_for(
        &self,
        to: UserId,
        since_ms: i64,
    ) -> Result<Vec<FileOffer>, StoreError> {
        sqlx::query("DELETE FROM file_offers WHERE to_id = $1 AND created_at < $2")
            .bind(to.0)
            .bind(since_ms)
            .execute(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT o.room_id, o.from_id, u.username, o.session, o.files, o.created_at
             FROM file_offers o JOIN users u ON u.id = o.from_id
             WHERE o.to_id = $1 ORDER BY o.created_at",
        )
        .bind(to.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| FileOffer {
                room: RoomId(r.get(0)),
                from: NamedUser {
                    id: UserId(r.get(1)),
                    name: r.get(2),
                },
                to,
                session: r.get(3),
                files: r.get(4),
                created_ms: r.get(5),
            })
            .collect())
    }

    async fn create_upload(
        &self,
        file: &StoredFile,
        quota: u64,
        max_open: u32,
    ) -> Result<Result<(), UploadRefused>, StoreError> {
        media::create_upload(&self.pool, file, quota, max_open).await
    }

    async fn stored_file(&self, id: &str) -> Result<Option<StoredFile>, StoreError> {
        media::stored_file(&self.pool, id).await
    }

    async fn seal_upload(&self, id: &str, sealed: &SealedFile) -> Result<bool, StoreError> {
        media::seal_upload(&self.pool, id, sealed).await
    }

    async fn discard_upload(
        &self,
        id: &str,
        owner: UserId,
    ) -> Result<Option<StoredFile>, StoreError> {
        media::discard_upload(&self.pool, id, owner).await
    }

    async fn media_used(&self, user: UserId) -> Result<u64, StoreError> {
        media::media_used(&self.pool, user).await
    }

    async fn readable_file(
        &self,
        id: &str,
        reader: UserId,
    ) -> Result<Option<StoredFile>, StoreError> {
        media::readable_file(&self.pool, id, reader).await
    }

    async fn collect_files(
        &self,
        stale_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<StoredFile>, StoreError> {
        media::collect_files(&self.pool, stale_before_ms, limit).await
    }

    async fn blob_in_use(&self, hash: &str) -> Result<bool, StoreError> {
        media::blob_in_use(&self.pool, hash).await
    }

    async fn set_user_avatar(
        &self,
        user: UserId,
        hash: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        media::set_user_avatar(&self.pool, user, hash).await
    }

    async fn user_avatar(
        &self,
        username: &str,
        reader: UserId,
        only_shared: bool,
    ) -> Result<Option<String>, StoreError> {
        media::user_avatar(&self.pool, username, reader, only_shared).await
    }

    async fn set_room_avatar(
        &self,
        room: &RoomId,
        hash: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        media::set_room_avatar(&self.pool, room, hash).await
    }

    async fn room_avatar(&self, room: &RoomId) -> Result<Option<String>, StoreError> {
        media::room_avatar(&self.pool, room).await
    }

    async fn link_preview(&self, url: &str) -> Result<Option<LinkPreview>, StoreError> {
        media::link_preview(&self.pool, url).await
    }

    async fn put_link_preview(&self, preview: &LinkPreview) -> Result<(), StoreError> {
        media::put_link_preview(&self.pool, preview).await
    }

    async fn forget_link_previews(&self, before_ms: i64) -> Result<u64, StoreError> {
        media::forget_link_previews(&self.pool, before_ms).await
    }

    async fn server_key(
        &self,
        name: &str,
        fresh: &[u8],
        now_ms: i64,
    ) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn add_push_subscription(
        &self,
        subscription: &PushSubscription,
        per_user: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO push_subscriptions
                 (endpoint, session_hash, user_id, p256dh, auth, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (endpoint) DO UPDATE SET session_hash = excluded.session_hash,
                 user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth,
                 created_at = excluded.created_at",
        )
        .bind(&subscription.endpoint)
        .bind(&subscription.session_hash[..])
        .bind(subscription.user.0)
        .bind(&subscription.p256dh)
        .bind(&subscription.auth)
        .bind(subscription.created_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint IN (
                 SELECT endpoint FROM push_subscriptions WHERE user_id = $1
                 ORDER BY created_at DESC OFFSET $2)",
        )
        .bind(subscription.user.0)
        .bind(per_user)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_push_subscription(
        &self,
        endpoint: &str,
        user: Option<UserId>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM push_subscriptions
             WHERE endpoint = $1 AND ($2::BIGINT IS NULL OR user_id = $2)",
        )
        .bind(endpoint)
        .bind(user.map(|u| u.0))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn push_text(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, bool>("SELECT push_text <> 0 FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(false),
        )
    }

    async fn set_push_text(&self, user: UserId, on: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET push_text = $1 WHERE id = $2")
            .bind(i16::from(on))
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn push_targets(
        &self,
        room: &RoomId,
        except: UserId,
    ) -> Result<Vec<PushTarget>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, m.notify, p.endpoint, p.p256dh, p.auth, u.push_text <> 0
             FROM push_subscriptions p
             JOIN members m ON m.room_id = $1 AND m.user_id = p.user_id
             JOIN users u ON u.id = p.user_id
             WHERE p.user_id <> $2",
        )
        .bind(&room.0)
        .bind(except.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(push_target_from_row).collect())
    }

    async fn claim_pushes(
        &self,
        now_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        let rows = sqlx::query_as::<_, (String, i64)>(
            "UPDATE push_outbox SET claimed_until = $1
             WHERE (room_id, seq) IN (SELECT room_id, seq FROM push_outbox
                                      WHERE claimed_until < $2 LIMIT $3
                                      FOR UPDATE SKIP LOCKED)
             RETURNING room_id, seq",
        )
        .bind(until_ms)
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(r, s)| (RoomId(r), Seq(s))).collect())
    }

    async fn finish_push(&self, room: &RoomId, seq: Seq) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM push_outbox WHERE room_id = $1 AND seq = $2")
            .bind(&room.0)
            .bind(seq.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn event_at(&self, room: &RoomId, seq: Seq) -> Result<Option<Event>, StoreError> {
        let query =
            format!("SELECT {EVENT_COLUMNS} {EVENT_JOINS} WHERE e.room_id = $1 AND e.seq = $2");
        let Some(row) = sqlx::query(&query)
            .bind(&room.0)
            .bind(seq.0)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(event_from_row(room, &row)?))
    }

    async fn threads(&self, room: &RoomId, limit: u32) -> Result<Vec<ThreadSummary>, StoreError> {
        let heads = sqlx::query_as::<_, (i64, i64, i64, i64)>(
            "SELECT reply_to, COUNT(*), MAX(seq), MAX(at) FROM events
             WHERE room_id = $1 AND reply_to IS NOT NULL AND kind = 'message' AND deleted = 0
             GROUP BY reply_to ORDER BY MAX(seq) DESC LIMIT $2",
        )
        .bind(&room.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let query = format!(
            "SELECT {EVENT_COLUMNS} {EVENT_JOINS}
             WHERE e.room_id = $1 AND e.seq = $2 AND e.kind = 'message'"
        );
        let mut threads = Vec::with_capacity(heads.len());
        for (root, replies, last_seq, last_at_ms) in heads {
            let Some(row) = sqlx::query(&query)
                .bind(&room.0)
                .bind(root)
                .fetch_optional(&self.pool)
                .await?
            else {
                continue;
            };
            let mut event = [event_from_row(room, &row)?];
            attach_reactions(&self.pool, room, &mut event).await?;
            let [root] = event;
            threads.push(ThreadSummary {
                root,
                replies: u32::try_from(replies).unwrap_or(u32::MAX),
                last_seq: Seq(last_seq),
                last_at_ms,
            });
        }
        Ok(threads)
    }

    async fn thread(
        &self,
        room: &RoomId,
        root: Seq,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        let query = format!(
            "SELECT {EVENT_COLUMNS} {EVENT_JOINS}
             WHERE e.room_id = $1 AND e.kind = 'message' AND e.seq > $2
               AND (e.seq = $3 OR e.reply_to = $3)
             ORDER BY e.seq LIMIT $4"
        );
        let rows = sqlx::query(&query)
            .bind(&room.0)
            .bind(after.0)
            .bind(root.0)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let complete = rows.len() <= limit as usize;
        let mut events = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.iter().take(limit as usize) {
            // One message at a time: a thread's seqs are far apart, a span would read the
            // reactions of everything between them.
            let mut event = [event_from_row(room, row)?];
            attach_reactions(&self.pool, room, &mut event).await?;
            let [event] = event;
            events.push(event);
        }
        Ok((events, complete))
    }

    async fn set_notify(
        &self,
        room: &RoomId,
        user: UserId,
        level: NotifyLevel,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE members SET notify = $1 WHERE room_id = $2 AND user_id = $3")
                .bind(level.as_str())
                .bind(&room.0)
                .bind(user.0)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn membership(
        &self,
        room: &RoomId,
        user: UserId,
    ) -> Result<Option<Membership>, StoreError> {
        let row = sqlx::query(
            "SELECT r.kind, m.role, m.muted FROM members m JOIN rooms r ON r.id = m.room_id
             WHERE m.room_id = $1 AND m.user_id = $2",
        )
        .bind(&room.0)
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Membership {
            kind: room_kind(&r.get::<String, _>(0)),
            role: Role::parse(&r.get::<String, _>(1)).unwrap_or(Role::Member),
            muted: r.get::<i64, _>(2) != 0,
        }))
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, m.role, m.muted, m.joined_at, m.delivered_seq, m.read_seq,
                    u.last_seen_at, u.display_name
             FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.room_id = $1 ORDER BY m.joined_at, u.id",
        )
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| MemberRecord {
                user: NamedUser {
                    id: UserId(r.get(0)),
                    name: r.get(1),
                },
                display_name: r.get(8),
                role: Role::parse(&r.get::<String, _>(2)).unwrap_or(Role::Member),
                muted: r.get::<i64, _>(3) != 0,
                joined_at_ms: r.get(4),
                delivered_seq: Seq(r.get(5)),
                read_seq: Seq(r.get(6)),
                last_seen_ms: r.get(7),
            })
            .collect())
    }

    async fn direct_room(&self, key: &str) -> Result<Option<RoomId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM rooms WHERE direct_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map(RoomId))
    }

    async fn create_room(&self, room: NewRoom<'_>, now_ms: i64) -> Result<Event, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rooms (id, kind, name, topic, direct_key, last_seq, created_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6)",
        )
        .bind(&room.id.0)
        .bind(room_kind_name(room.kind))
        .bind(room.name)
        .bind(room.topic)
        .bind(room.direct.as_ref().map(|(_, key)| key.as_str()))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let creator_role = match room.kind {
            RoomKind::Group => Role::Owner,
            RoomKind::Direct => Role::Member,
        };
        add_member(
            &mut tx,
            &room.id,
            room.creator.id,
            creator_role,
            Entry::Chosen,
            now_ms,
        )
        .await?;
        if let Some((other, _)) = &room.direct {
            add_member(
                &mut tx,
                &room.id,
                other.id,
                Role::Member,
                Entry::PutThere,
                now_ms,
            )
            .await?;
        }
        sqlx::query(
            "INSERT INTO events (room_id, seq, sender_id, client_id, kind, at, body)
             VALUES ($1, 1, $2, $3, 'created', $4, $5)",
        )
        .bind(&room.id.0)
        .bind(room.creator.id.0)
        .bind(&room.client_id.0)
        .bind(now_ms)
        .bind(room.name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Event {
            room: room.id,
            seq: Seq(1),
            sender: room.creator.name.clone(),
            at_ms: now_ms,
            client_id: Some(room.client_id.clone()),
            kind: EventKind::Created {
                name: room.name.to_owned(),
            },
        })
    }

    async fn create_invite(
        &self,
        token_hash: &[u8],
        room: &RoomId,
        by: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invites (token_hash, room_id, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(&room.0)
        .bind(by.0)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn invite_creator(
        &self,
        token_hash: &[u8],
        room: &RoomId,
    ) -> Result<Option<UserId>, StoreError> {
        let by: Option<i64> = sqlx::query_scalar(
            "SELECT created_by FROM invites WHERE token_hash = $1 AND room_id = $2",
        )
        .bind(token_hash)
        .bind(&room.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(by.map(UserId))
    }

    async fn revoke_invites(
        &self,
        room: &RoomId,
        token_hash: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM invites WHERE room_id = $1 AND ($2::BYTEA IS NULL OR token_hash = $2)",
        )
        .bind(&room.0)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn is_banned(&self, room: &RoomId, user: UserId) -> Result<bool, StoreError> {
        let banned: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM bans WHERE room_id = $1 AND user_id = $2)",
        )
        .bind(&room.0)
        .bind(user.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(banned)
    }

    async fn room_counts(&self, user: UserId) -> Result<(usize, usize), StoreError> {
        // SUM of BIGINT is NUMERIC in PostgreSQL; the total fits back.
        let (all, chosen): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(chosen), 0)::BIGINT FROM members WHERE user_id = $1",
        )
        .bind(user.0)
        .fetch_one(&self.pool)
        .await?;
        let count = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok((count(all), count(chosen)))
    }

    async fn invite_room(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<RoomId>, StoreError> {
        let room: Option<String> = sqlx::query_scalar(
            "SELECT room_id FROM invites WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(room.map(RoomId))
    }

    async fn event_by_client_id(
        &self,
        sender: UserId,
        client_id: &ClientMsgId,
    ) -> Result<Option<Event>, StoreError> {
        // The room comes after the common columns, so `event_from_row` reads the rest as usual.
        let query = format!(
            "SELECT {EVENT_COLUMNS}, e.room_id {EVENT_JOINS}
             WHERE e.sender_id = $1 AND e.client_id = $2"
        );
        let Some(row) = sqlx::query(&query)
            .bind(sender.0)
            .bind(&client_id.0)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let room = RoomId(row.get(EVENT_COLUMN_COUNT));
        let mut events = vec![event_from_row(&room, &row)?];
        attach_reactions(&self.pool, &room, &mut events).await?;
        Ok(events.pop())
    }

    async fn append_all(
        &self,
        room: &RoomId,
        sender: &NamedUser,
        drafts: Vec<(Option<ClientMsgId>, Draft)>,
        now_ms: i64,
    ) -> Result<Vec<Event>, StoreError> {
        // A client id the caller checked may have been used since by another process; its
        // insert then fails on the unique index, and the rollback returns the seq taken.
        let mut tx = self.pool.begin().await?;
        let mut events = Vec::with_capacity(drafts.len());
        for (client_id, draft) in drafts {
            let seq = next_seq(&mut tx, room).await?;
            apply(&mut tx, room, sender.id, &draft, now_ms).await?;
            insert_event(
                &mut tx,
                room,
                seq,
                sender.id,
                client_id.as_ref(),
                &draft,
                now_ms,
            )
            .await?;
            events.push(event_of(
                room,
                seq,
                sender,
                client_id.as_ref(),
                draft,
                now_ms,
            ));
        }
        tx.commit().await?;
        Ok(events)
    }

    async fn append_messages(
        &self,
        batch: &[PendingMessage],
        now_ms: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        // A fixed handful of statements per batch, whatever its size: the batch travels as
        // arrays that `UNNEST` turns into rows.
        let mut rooms: Vec<&str> = batch.iter().map(|m| m.room.0.as_str()).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let mut tx = self.pool.begin().await?;
        // Every room of the batch is locked before anything is read, in one order for every
        // process (the id's), so two batches that share rooms run one after the other and
        // cannot deadlock. What is read below was committed before the lock was granted. NO
        // KEY UPDATE is the lock `next_seq`'s UPDATE takes: rows inserted elsewhere that refer
        // to the room (their foreign key check) need not wait for it.
        let mut last_seqs: HashMap<String, i64> = sqlx::query_as(
            "SELECT id, last_seq FROM rooms WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        )
        .bind(&rooms)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let senders: Vec<i64> = batch.iter().map(|m| m.sender.id.0).collect();
        let client_ids: Vec<&str> = batch.iter().map(|m| m.client_id.0.as_str()).collect();
        let room_ids: Vec<&str> = batch.iter().map(|m| m.room.0.as_str()).collect();
        let checks: Vec<(bool, Option<i64>, bool)> = sqlx::query_as(
            "SELECT
                EXISTS (SELECT 1 FROM events e
                        WHERE e.sender_id = j.sender AND e.client_id = j.client),
                (SELECT m.muted FROM members m WHERE m.room_id = j.room AND m.user_id = j.sender),
                EXISTS (SELECT 1 FROM rooms r
                        JOIN members o ON o.room_id = r.id AND o.user_id <> j.sender
                        JOIN blocks b ON (b.blocker_id = o.user_id AND b.blocked_id = j.sender)
                                      OR (b.blocker_id = j.sender AND b.blocked_id = o.user_id)
                        WHERE r.id = j.room AND r.kind = 'direct')
             FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[]) WITH ORDINALITY
                 AS j (room, sender, client, i)
             ORDER BY j.i",
        )
        .bind(&room_ids)
        .bind(&senders)
        .bind(&client_ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut taken: HashSet<(i64, &str)> = HashSet::new();
        let mut rows = NewMessages::default();
        let mut results = Vec::with_capacity(batch.len());
        for (message, &(earlier, muted, blocked)) in batch.iter().zip(&checks) {
            // A resend is found before it could take a seq (the unique index stands behind
            // this check should another process store the same key meanwhile).
            let key = (message.sender.id.0, message.client_id.0.as_str());
            if earlier || taken.contains(&key) {
                results.push(Appended::Earlier);
                continue;
            }
            match muted {
                None => {
                    results.push(Appended::NotMember);
                    continue;
                }
                Some(muted) if muted != 0 => {
                    results.push(Appended::Muted);
                    continue;
                }
                Some(_) if blocked => {
                    results.push(Appended::Blocked);
                    continue;
                }
                Some(_) => {}
            }
            taken.insert(key);
            let last = last_seqs.entry(message.room.0.clone()).or_insert(0);
            *last += 1;
            let seq = Seq(*last);
            rows.push(message, seq);
            results.push(Appended::New(stored_message(message, seq, now_ms)));
        }
        if !rows.room.is_empty() {
            sqlx::query(
                "INSERT INTO events (room_id, seq, sender_id, client_id, kind, at, body, reply_to,
                                     mentions, attachment_id)
                 SELECT j.room, j.seq, j.sender, j.client, 'message', $8, j.body, j.reply_to,
                        j.mentions, j.attachment
                 FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[],
                             $6::BIGINT[], $7::TEXT[], $9::TEXT[])
                     AS j (room, seq, sender, client, body, reply_to, mentions, attachment)",
            )
            .bind(&rows.room)
            .bind(&rows.seq)
            .bind(&rows.sender)
            .bind(&rows.client)
            .bind(&rows.body)
            .bind(&rows.reply_to)
            .bind(&rows.mentions)
            .bind(now_ms)
            .bind(&rows.attachment)
            .execute(&mut *tx)
            .await?;
            // Their pushes, in the same transaction (see `queue_push`).
            sqlx::query(
                "INSERT INTO push_outbox (room_id, seq)
                 SELECT j.room, j.seq FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[])
                     AS j (room, seq, sender)
                 WHERE EXISTS (SELECT 1 FROM push_subscriptions p
                               JOIN members m ON m.room_id = j.room AND m.user_id = p.user_id
                               WHERE p.user_id <> j.sender)",
            )
            .bind(&rows.room)
            .bind(&rows.seq)
            .bind(&rows.sender)
            .execute(&mut *tx)
            .await?;
            let (ids, seqs): (Vec<String>, Vec<i64>) = last_seqs.into_iter().unzip();
            sqlx::query(
                "UPDATE rooms SET last_seq = j.last_seq
                 FROM UNNEST($1::TEXT[], $2::BIGINT[]) AS j (id, last_seq)
                 WHERE rooms.id = j.id AND rooms.last_seq <> j.last_seq",
            )
            .bind(&ids)
            .bind(&seqs)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(results)
    }

    async fn message_info(
        &self,
        room: &RoomId,
        seq: Seq,
        emoji: Option<&str>,
    ) -> Result<Option<MessageInfo>, StoreError> {
        let row: Option<(i64, i64, i64, bool)> = sqlx::query_as(
            "SELECT e.sender_id, e.deleted,
                (SELECT COUNT(DISTINCT r.emoji) FROM reactions r
                    WHERE r.room_id = e.room_id AND r.seq = e.seq),
                EXISTS (SELECT 1 FROM reactions r WHERE r.room_id = e.room_id AND r.seq = e.seq
                        AND r.emoji = $1)
             FROM events e WHERE e.room_id = $2 AND e.seq = $3 AND e.kind = 'message'",
        )
        .bind(emoji)
        .bind(&room.0)
        .bind(seq.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(sender, deleted, kinds, emoji_present)| MessageInfo {
                sender: UserId(sender),
                deleted: deleted != 0,
                reaction_kinds: usize::try_from(kinds).unwrap_or(usize::MAX),
                emoji_present,
            }),
        )
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<(Vec<Event>, bool, Seq), StoreError> {
        // One snapshot for the page, its reactions and `last_seq`, so they describe the same
        // moment (READ COMMITTED would take a new one per statement). A read-only REPEATABLE
        // READ transaction never fails on a conflict.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let last_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = $1")
            .bind(&room.0)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
        let query = format!(
            "SELECT {EVENT_COLUMNS} {EVENT_JOINS}
             WHERE e.room_id = $1 AND e.seq < $2 AND e.kind NOT IN ('edit', 'delete', 'reaction')
             ORDER BY e.seq DESC LIMIT $3"
        );
        let rows = sqlx::query(&query)
            .bind(&room.0)
            .bind(before.map_or(i64::MAX, |s| s.0))
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *tx)
            .await?;
        let complete = rows.len() <= limit as usize;
        let mut events = rows
            .iter()
            .take(limit as usize)
            .rev()
            .map(|r| event_from_row(room, r))
            .collect::<Result<Vec<_>, _>>()?;
        attach_reactions(&mut *tx, room, &mut events).await?;
        tx.commit().await?;
        Ok((events, complete, Seq(last_seq)))
    }

    async fn events_after(
        &self,
        room: &RoomId,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        self.events_page(room, None, after, limit).await
    }

    async fn messages_by(
        &self,
        room: &RoomId,
        sender: UserId,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        self.events_page(room, Some(sender), after, limit).await
    }

    async fn advance_receipts(
        &self,
        room: &RoomId,
        user: UserId,
        delivered: Seq,
        read: Seq,
    ) -> Result<Option<(Seq, Seq)>, StoreError> {
        // Reads the room's last seq without locking its row: receipts never wait for appends.
        let row: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE members m SET
                read_seq = GREATEST(m.read_seq, LEAST($3, r.last_seq)),
                delivered_seq = GREATEST(m.delivered_seq, LEAST(GREATEST($3, $4), r.last_seq))
             FROM rooms r
             WHERE r.id = $1 AND m.room_id = $1 AND m.user_id = $2
               AND (m.read_seq < LEAST($3, r.last_seq)
                    OR m.delivered_seq < LEAST(GREATEST($3, $4), r.last_seq))
             RETURNING m.delivered_seq, m.read_seq",
        )
        .bind(&room.0)
        .bind(user.0)
        .bind(read.0)
        .bind(delivered.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(delivered, read)| (Seq(delivered), Seq(read))))
    }

    async fn set_deactivated(&self, user: UserId, at_ms: Option<i64>) -> Result<bool, StoreError> {
        admin::set_deactivated(&self.pool, user, at_ms).await
    }

    async fn is_deactivated(&self, user: UserId) -> Result<bool, StoreError> {
        admin::is_deactivated(&self.pool, user).await
    }

    async fn set_admin(&self, user: UserId, admin: bool) -> Result<bool, StoreError> {
        admin::set_admin(&self.pool, user, admin).await
    }

    async fn admin_users(
        &self,
        query: &str,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<shared::admin::AdminUser>, StoreError> {
        admin::admin_users(&self.pool, query, limit, now_ms).await
    }

    async fn admin_rooms(
        &self,
        query: &str,
        limit: u32,
    ) -> Result<Vec<shared::admin::AdminRoom>, StoreError> {
        admin::admin_rooms(&self.pool, query, limit).await
    }

    async fn delete_room(&self, room: &RoomId) -> Result<Option<Vec<UserId>>, StoreError> {
        admin::delete_room(&self.pool, room).await
    }

    async fn set_room_retention(
        &self,
        room: &RoomId,
        days: Option<u32>,
    ) -> Result<bool, StoreError> {
        admin::set_room_retention(&self.pool, room, days).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        admin::setting(&self.pool, key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        admin::put_setting(&self.pool, key, value).await
    }

    async fn retention_rooms(
        &self,
        default_days: Option<u32>,
    ) -> Result<Vec<(RoomId, u32)>, StoreError> {
        admin::retention_rooms(&self.pool, default_days).await
    }

    async fn expire_room(
        &self,
        room: &RoomId,
        cutoff_ms: i64,
        chunk: i64,
    ) -> Result<u64, StoreError> {
        admin::expire_room(&self.pool, room, cutoff_ms, chunk).await
    }

    async fn admin_room(
        &self,
        room: &RoomId,
    ) -> Result<Option<shared::admin::AdminRoom>, StoreError> {
        admin::admin_room(&self.pool, room).await
    }

    async fn reopen_reports(
        &self,
        room: &RoomId,
        seq: Seq,
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        admin::reopen_reports(&self.pool, room, seq, by, at_ms).await
    }

    async fn create_bot(
        &self,
        username: &str,
        display_name: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        integrations::create_bot(&self.pool, username, display_name, now_ms).await
    }

    async fn room_bots(&self, room: &RoomId) -> Result<Vec<UserId>, StoreError> {
        integrations::room_bots(&self.pool, room).await
    }

    async fn is_bot(&self, user: UserId) -> Result<bool, StoreError> {
        integrations::is_bot(&self.pool, user).await
    }

    async fn bots(&self) -> Result<Vec<super::BotRow>, StoreError> {
        integrations::bots(&self.pool).await
    }

    async fn replace_bot_token(
        &self,
        user: UserId,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        integrations::replace_bot_token(&self.pool, user, token_hash, now_ms).await
    }

    async fn end_bot_tokens(&self, user: UserId) -> Result<Vec<Vec<u8>>, StoreError> {
        integrations::end_bot_tokens(&self.pool, user).await
    }

    async fn bot_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<super::BotSession>, StoreError> {
        integrations::bot_by_token(&self.pool, token_hash).await
    }

    async fn touch_bot_token(&self, token_hash: &[u8], now_ms: i64) -> Result<(), StoreError> {
        integrations::touch_bot_token(&self.pool, token_hash, now_ms).await
    }

    async fn set_bot_commands(
        &self,
        user: UserId,
        commands: &[super::BotCommand],
    ) -> Result<(), StoreError> {
        integrations::set_bot_commands(&self.pool, user, commands).await
    }

    async fn room_commands(
        &self,
        room: &RoomId,
    ) -> Result<Vec<(String, super::BotCommand)>, StoreError> {
        integrations::room_commands(&self.pool, room).await
    }

    async fn create_webhook(&self, hook: &super::NewWebhook) -> Result<bool, StoreError> {
        integrations::create_webhook(&self.pool, hook).await
    }

    async fn webhooks(&self) -> Result<Vec<(super::WebhookRow, String, Seq)>, StoreError> {
        integrations::webhooks(&self.pool).await
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        integrations::delete_webhook(&self.pool, id).await
    }

    async fn claim_webhooks(
        &self,
        lease: &str,
        now_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<super::WebhookRow>, StoreError> {
        integrations::claim_webhooks(&self.pool, lease, now_ms, until_ms, limit).await
    }

    async fn webhook_progress(
        &self,
        id: &str,
        lease: &str,
        progress: &super::WebhookProgress,
    ) -> Result<bool, StoreError> {
        integrations::webhook_progress(&self.pool, id, lease, progress).await
    }

    async fn open_support(
        &self,
        room: &RoomId,
        customer: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        support::open_support(&self.pool, room, customer, now_ms).await
    }

    async fn support_conversation(
        &self,
        room: &RoomId,
    ) -> Result<Option<super::SupportConversation>, StoreError> {
        support::support_conversation(&self.pool, room).await
    }

    async fn support_answered(
        &self,
        room: &RoomId,
        unsure: bool,
    ) -> Result<Option<u32>, StoreError> {
        support::support_answered(&self.pool, room, unsure).await
    }

    async fn escalate_support(
        &self,
        room: &RoomId,
        reason: &str,
        summary: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        support::escalate_support(&self.pool, room, reason, summary, now_ms).await
    }

    async fn claim_support(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        support::claim_support(&self.pool, room, agent, now_ms).await
    }

    async fn support_replied(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        support::support_replied(&self.pool, room, agent, now_ms).await
    }

    async fn resolve_support(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        support::resolve_support(&self.pool, room, agent, now_ms).await
    }

    async fn support_to_assistant(&self, room: &RoomId) -> Result<bool, StoreError> {
        support::support_to_assistant(&self.pool, room).await
    }

    async fn support_queue(
        &self,
        agent: UserId,
        limit: u32,
    ) -> Result<Vec<super::SupportConversation>, StoreError> {
        support::support_queue(&self.pool, agent, limit).await
    }

    async fn support_figures(&self, since_ms: i64) -> Result<super::SupportFigures, StoreError> {
        support::support_figures(&self.pool, since_ms).await
    }

    async fn open_supports_of(&self, customer: UserId) -> Result<i64, StoreError> {
        support::open_supports_of(&self.pool, customer).await
    }

    async fn unassign_support(&self, room: &RoomId, agent: UserId) -> Result<bool, StoreError> {
        support::unassign_support(&self.pool, room, agent).await
    }

    async fn create_guest(
        &self,
        username: &str,
        display_name: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        support::create_guest(&self.pool, username, display_name, now_ms).await
    }

    async fn is_guest(&self, user: UserId) -> Result<bool, StoreError> {
        support::is_guest(&self.pool, user).await
    }

    async fn history_floor(&self, room: &RoomId) -> Result<Seq, StoreError> {
        admin::history_floor(&self.pool, room).await
    }

    async fn add_report(&self, report: &super::ReportDraft) -> Result<Option<i64>, StoreError> {
        admin::add_report(&self.pool, report).await
    }

    async fn open_reports_by(&self, reporter: UserId) -> Result<u64, StoreError> {
        admin::open_reports_by(&self.pool, reporter).await
    }

    async fn reports(
        &self,
        moderator: Option<UserId>,
        handled: bool,
        limit: u32,
    ) -> Result<Vec<super::ReportRow>, StoreError> {
        admin::reports(&self.pool, moderator, handled, limit).await
    }

    async fn reports_by(
        &self,
        reporter: UserId,
        limit: u32,
    ) -> Result<Vec<super::ReportRow>, StoreError> {
        admin::reports_by(&self.pool, reporter, limit).await
    }

    async fn report(&self, id: i64) -> Result<Option<super::ReportRow>, StoreError> {
        admin::report(&self.pool, id).await
    }

    async fn close_reports(
        &self,
        room: &RoomId,
        seq: Seq,
        status: shared::admin::ReportStatus,
        by: &str,
        at_ms: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        admin::close_reports(&self.pool, room, seq, status, by, at_ms).await
    }

    async fn audit(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        admin::audit(&self.pool, at_ms, actor, action, target, detail).await
    }

    async fn audit_log(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<shared::admin::AuditEntry>, StoreError> {
        admin::audit_log(&self.pool, before, limit).await
    }

    async fn set_silenced(&self, user: UserId, until_ms: i64) -> Result<(), StoreError> {
        admin::set_silenced(&self.pool, user, until_ms).await
    }

    async fn silenced_until(&self, user: UserId) -> Result<i64, StoreError> {
        admin::silenced_until(&self.pool, user).await
    }

    async fn record_activity(
        &self,
        hours: &[(i64, RoomId, u64)],
        latencies: &[(i64, u32, u64)],
        active: &[(i64, UserId)],
    ) -> Result<(), StoreError> {
        admin::record_activity(&self.pool, hours, latencies, active).await
    }

    async fn insight(&self, now_ms: i64) -> Result<super::InsightRows, StoreError> {
        admin::insight(&self.pool, now_ms).await
    }

    async fn prune_activity(&self, before_ms: i64) -> Result<(), StoreError> {
        admin::prune_activity(&self.pool, before_ms).await
    }

    async fn checkpoint(&self) -> Result<u64, StoreError> {
        // PostgreSQL checkpoints its own log; there is nothing to copy back here.
        Ok(0)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// The rows a group commit inserts, column by column (what `UNNEST` takes).
#[derive(Default)]
struct NewMessages<'a> {
    room: Vec<&'a str>,
    seq: Vec<i64>,
    sender: Vec<i64>,
    client: Vec<&'a str>,
    body: Vec<&'a str>,
    reply_to: Vec<Option<i64>>,
    mentions: Vec<Option<String>>,
    attachment: Vec<Option<&'a str>>,
}

impl<'a> NewMessages<'a> {
    fn push(&mut self, message: &'a PendingMessage, seq: Seq) {
        self.room.push(&message.room.0);
        self.seq.push(seq.0);
        self.sender.push(message.sender.id.0);
        self.client.push(&message.client_id.0);
        self.body.push(&message.body);
        self.reply_to.push(message.reply_to.map(|s| s.0));
        self.mentions
            .push((!message.mentions.is_empty()).then(|| message.mentions.join(" ")));
        self.attachment
            .push(message.attachment.as_ref().map(|a| a.id.as_str()));
    }
}
