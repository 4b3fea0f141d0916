//! Durable state in the embedded SQLite database.
//!
//! The database runs in WAL mode with `synchronous = FULL`: a committed transaction survives a
//! crash or power loss, which is what lets the server acknowledge a message only after
//! [`Store::insert_message`] returned.

use shared::ws::ChatMessage;
use shared::{ClientMsgId, MessageId, RoomId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

/// Primary key of a user row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("username is taken")]
    UsernameTaken,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// A user found by name, with what log-in needs to check the password.
pub struct UserCredentials {
    pub id: UserId,
    pub username: String,
    pub password_hash: String,
}

/// The account behind a live session.
pub struct SessionUser {
    pub user: UserId,
    pub username: String,
    pub expires_at_ms: i64,
}

/// Result of storing a message: the stored row, and whether this call created it.
pub struct Inserted {
    pub message: ChatMessage,
    /// False when the idempotency key already existed and `message` is the first copy.
    pub is_new: bool,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `chat.db` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("chat.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A socket waits for the database inline; fail fast (the client retries) rather
            // than stall its pings for sqlx's default 30 s.
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => Ok(UserId(row.get(0))),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::UsernameTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Case-insensitive lookup.
    pub async fn find_user(&self, username: &str) -> Result<Option<UserCredentials>, StoreError> {
        let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| UserCredentials {
            id: UserId(r.get(0)),
            username: r.get(1),
            password_hash: r.get(2),
        }))
    }

    pub async fn create_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user behind an unexpired session.
    pub async fn session_user(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT users.id, users.username, sessions.expires_at
             FROM sessions JOIN users ON users.id = sessions.user_id
             WHERE sessions.token_hash = ? AND sessions.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| SessionUser {
            user: UserId(r.get(0)),
            username: r.get(1),
            expires_at_ms: r.get(2),
        }))
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes sessions that expired; run periodically so the table does not grow forever.
    pub async fn purge_expired_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Stores a message durably, or finds the copy stored earlier under the same
    /// (sender, room, client id) key.
    pub async fn insert_message(
        &self,
        room: &RoomId,
        sender: UserId,
        sender_name: &str,
        client_id: &ClientMsgId,
        body: &str,
        now_ms: i64,
    ) -> Result<Inserted, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO messages (room, sender_id, client_id, body, sent_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sender_id, room, client_id) DO NOTHING
             RETURNING id",
        )
        .bind(&room.0)
        .bind(sender.0)
        .bind(&client_id.0)
        .bind(body)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = inserted {
            return Ok(Inserted {
                message: ChatMessage {
                    id: MessageId(row.get(0)),
                    room: room.clone(),
                    client_id: client_id.clone(),
                    sender: sender_name.to_owned(),
                    body: body.to_owned(),
                    sent_at_ms: now_ms,
                },
                is_new: true,
            });
        }
        let row = sqlx::query(
            "SELECT id, body, sent_at FROM messages
             WHERE sender_id = ? AND room = ? AND client_id = ?",
        )
        .bind(sender.0)
        .bind(&room.0)
        .bind(&client_id.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(Inserted {
            message: ChatMessage {
                id: MessageId(row.get(0)),
                room: room.clone(),
                client_id: client_id.clone(),
                sender: sender_name.to_owned(),
                body: row.get(1),
                sent_at_ms: row.get(2),
            },
            is_new: false,
        })
    }

    /// Up to `limit` messages of `room` older than `before` (the newest when `None`), oldest
    /// first, and whether the page reaches the room's first message.
    pub async fn history(
        &self,
        room: &RoomId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<(Vec<ChatMessage>, bool), StoreError> {
        let rows = sqlx::query(
            "SELECT messages.id, messages.client_id, users.username, messages.body, messages.sent_at
             FROM messages JOIN users ON users.id = messages.sender_id
             WHERE messages.room = ? AND messages.id < ?
             ORDER BY messages.id DESC LIMIT ?",
        )
        .bind(&room.0)
        .bind(before.map_or(i64::MAX, |id| id.0))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let complete = rows.len() <= limit as usize;
        let mut messages: Vec<ChatMessage> = rows
            .into_iter()
            .take(limit as usize)
            .map(|r| message_from_row(room, &r))
            .collect();
        messages.reverse();
        Ok((messages, complete))
    }

    /// Up to `limit` messages of `room` newer than `after`, oldest first, and whether they reach
    /// the newest message.
    pub async fn messages_after(
        &self,
        room: &RoomId,
        after: MessageId,
        limit: u32,
    ) -> Result<(Vec<ChatMessage>, bool), StoreError> {
        let rows = sqlx::query(
            "SELECT messages.id, messages.client_id, users.username, messages.body, messages.sent_at
             FROM messages JOIN users ON users.id = messages.sender_id
             WHERE messages.room = ? AND messages.id > ?
             ORDER BY messages.id ASC LIMIT ?",
        )
        .bind(&room.0)
        .bind(after.0)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let up_to_date = rows.len() <= limit as usize;
        let messages = rows
            .into_iter()
            .take(limit as usize)
            .map(|r| message_from_row(room, &r))
            .collect();
        Ok((messages, up_to_date))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a row of `SELECT id, client_id, username, body, sent_at`.
fn message_from_row(room: &RoomId, row: &sqlx::sqlite::SqliteRow) -> ChatMessage {
    ChatMessage {
        id: MessageId(row.get(0)),
        room: room.clone(),
        client_id: ClientMsgId(row.get(1)),
        sender: row.get(2),
        body: row.get(3),
        sent_at_ms: row.get(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Store::open(dir.path()).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn usernames_are_unique_regardless_of_case() {
        let (store, _dir) = store().await;
        store.create_user("Alice", "h", 1).await.unwrap();
        assert!(matches!(
            store.create_user("alice", "h", 2).await,
            Err(StoreError::UsernameTaken)
        ));
        let found = store.find_user("ALICE").await.unwrap().unwrap();
        assert_eq!(found.username, "Alice");
    }

    #[tokio::test]
    async fn a_retried_send_returns_the_first_copy() {
        let (store, _dir) = store().await;
        let user = store.create_user("alice", "h", 1).await.unwrap();
        let room = RoomId::lobby();
        let key = ClientMsgId("k1".into());
        let first = store
            .insert_message(&room, user, "alice", &key, "hello", 10)
            .await
            .unwrap();
        let again = store
            .insert_message(&room, user, "alice", &key, "changed", 20)
            .await
            .unwrap();
        assert!(first.is_new);
        assert!(!again.is_new);
        assert_eq!(again.message, first.message);
        let (all, complete) = store.history(&room, None, 10).await.unwrap();
        assert_eq!(all.len(), 1);
        assert!(complete);
    }

    #[tokio::test]
    async fn history_pages_backwards_oldest_first() {
        let (store, _dir) = store().await;
        let user = store.create_user("alice", "h", 1).await.unwrap();
        let room = RoomId::lobby();
        for i in 0..5 {
            store
                .insert_message(
                    &room,
                    user,
                    "alice",
                    &ClientMsgId(format!("k{i}")),
                    &format!("m{i}"),
                    i,
                )
                .await
                .unwrap();
        }
        let (newest, complete) = store.history(&room, None, 2).await.unwrap();
        assert_eq!(bodies(&newest), ["m3", "m4"]);
        assert!(!complete);
        let (older, complete) = store.history(&room, Some(newest[0].id), 3).await.unwrap();
        assert_eq!(bodies(&older), ["m0", "m1", "m2"]);
        assert!(complete);
    }

    #[tokio::test]
    async fn catching_up_pages_forward_from_a_known_message() {
        let (store, _dir) = store().await;
        let user = store.create_user("alice", "h", 1).await.unwrap();
        let room = RoomId::lobby();
        let mut ids = Vec::new();
        for i in 0..5 {
            let key = ClientMsgId(format!("k{i}"));
            let body = format!("m{i}");
            let stored = store.insert_message(&room, user, "alice", &key, &body, i);
            ids.push(stored.await.unwrap().message.id);
        }
        let (page, up_to_date) = store.messages_after(&room, ids[0], 2).await.unwrap();
        assert_eq!(bodies(&page), ["m1", "m2"]);
        assert!(!up_to_date);
        let (page, up_to_date) = store.messages_after(&room, ids[2], 2).await.unwrap();
        assert_eq!(bodies(&page), ["m3", "m4"]);
        assert!(up_to_date);
        let (page, up_to_date) = store.messages_after(&room, ids[4], 2).await.unwrap();
        assert!(page.is_empty() && up_to_date);
    }

    #[tokio::test]
    async fn expired_sessions_do_not_authenticate() {
        let (store, _dir) = store().await;
        let user = store.create_user("alice", "h", 1).await.unwrap();
        store.create_session(b"live", user, 0, 100).await.unwrap();
        assert!(store.session_user(b"live", 99).await.unwrap().is_some());
        assert!(store.session_user(b"live", 100).await.unwrap().is_none());
        assert_eq!(store.purge_expired_sessions(100).await.unwrap(), 1);
    }

    fn bodies(messages: &[ChatMessage]) -> Vec<&str> {
        messages.iter().map(|m| m.body.as_str()).collect()
    }
}
