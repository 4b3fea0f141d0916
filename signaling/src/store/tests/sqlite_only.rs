//! SQLite alone: databases of earlier releases are carried over by its migrations.

use super::*;
use shared::events::EventKind;
use sqlx::sqlite::SqliteConnectOptions;
use std::borrow::Cow;

#[tokio::test]
async fn a_database_from_the_first_release_is_carried_over() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("chat.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut first_release = sqlx::migrate!("./migrations");
    first_release.migrations = Cow::Owned(first_release.migrations[..1].to_vec());
    first_release.run(&pool).await.unwrap();
    for statement in [
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'ann', 'h', 1)",
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (2, 'bo', 'h', 2)",
        "INSERT INTO messages (id, room, sender_id, client_id, body, sent_at)
         VALUES (10, 'lobby', 2, 'k1', 'first', 100), (12, 'lobby', 1, 'k2', 'second', 200)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = SqliteStore::open(dir.path()).await.unwrap();
    let (events, _) = store
        .events_after(&RoomId::lobby(), Seq(0), 10)
        .await
        .unwrap();
    let seen: Vec<(i64, &str)> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Message { body, .. } => (e.seq.0, body.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seen, [(1, "first"), (2, "second")]);
    let members = store.members(&RoomId::lobby()).await.unwrap();
    let roles: Vec<_> = members
        .iter()
        .map(|m| (m.user.name.as_str(), m.role))
        .collect();
    assert_eq!(roles, [("ann", Role::Owner), ("bo", Role::Member)]);
    // The stored member count starts from the rows a migration found.
    let summaries = store.room_summaries(UserId(1)).await.unwrap();
    assert_eq!(summaries[0].member_count, 2);
    // The oldest account of an existing installation became its administrator.
    assert!(store.is_admin(UserId(1)).await.unwrap());
    assert!(!store.is_admin(UserId(2)).await.unwrap());
    // The old idempotency keys still answer.
    let again = store
        .event_by_client_id(UserId(2), &ClientMsgId("k1".into()))
        .await
        .unwrap();
    assert_eq!(again.map(|e| e.seq), Some(Seq(1)));
    let next = store
        .append(
            &RoomId::lobby(),
            &members[0].user,
            None,
            message("third"),
            300,
        )
        .await
        .unwrap();
    assert_eq!(next.seq, Seq(3));
}

/// Sessions that exist when the idle timeout arrives (migration 0005) start their idle time at
/// the upgrade: nobody is logged out by it, however old their session.
#[tokio::test]
async fn sessions_from_before_the_idle_timeout_start_idling_at_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("chat.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut before = sqlx::migrate!("./migrations");
    let first_without = before
        .migrations
        .iter()
        .position(|m| m.version == 5)
        .unwrap();
    before.migrations = Cow::Owned(before.migrations[..first_without].to_vec());
    before.run(&pool).await.unwrap();
    let day = 24 * 3600 * 1000;
    let now = crate::now_ms();
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'ann', 'h', 1)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (x'01', 1, ?, ?)")
        .bind(now - 20 * day)
        .bind(now + 10 * day)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let store = SqliteStore::open(dir.path()).await.unwrap();
    let session = store.session_user(&[1], now).await.unwrap().unwrap();
    assert!(
        session.last_used_ms >= now - 60_000,
        "last used {} ms before the upgrade",
        now - session.last_used_ms
    );
}
