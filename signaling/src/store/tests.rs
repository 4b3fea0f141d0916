//! The SQLite store on a real database file: migrations, gap-free numbering under concurrency,
//! the idempotency key, and what the room list counts.

use super::*;
use shared::events::EventKind;
use sqlx::sqlite::SqliteConnectOptions;
use std::borrow::Cow;
use std::collections::HashMap;

async fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (SqliteStore::open(dir.path()).await.unwrap(), dir)
}

fn message(body: &str) -> Draft {
    Draft::Message {
        body: body.into(),
        reply_to: None,
        mentions: Vec::new(),
    }
}

async fn user(store: &SqliteStore, name: &str) -> NamedUser {
    let id = store.create_user(name, "hash", 1).await.unwrap();
    NamedUser {
        id,
        name: name.into(),
    }
}

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

#[tokio::test]
async fn session_use_moves_forward_and_idle_sessions_are_purged() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    let far = 1_000_000;
    store
        .create_session(&[1], ann.id, 100, far, &SessionOrigin::default())
        .await
        .unwrap();
    store
        .create_session(&[2], ann.id, 100, far, &SessionOrigin::default())
        .await
        .unwrap();
    let last_used = |hash: u8| {
        let store = store.clone();
        async move {
            store
                .session_user(&[hash], 200)
                .await
                .unwrap()
                .unwrap()
                .last_used_ms
        }
    };
    assert_eq!(last_used(1).await, 100);
    store.touch_session(&[1], 500).await.unwrap();
    store.touch_session(&[1], 300).await.unwrap();
    assert_eq!(
        last_used(1).await,
        500,
        "a late write does not move it back"
    );

    // Idle since 400: session 2 (last used at 100) goes, session 1 (500) stays.
    assert_eq!(store.purge_expired_sessions(200, 400).await.unwrap(), 1);
    assert!(store.session_user(&[2], 200).await.unwrap().is_none());
    assert_eq!(last_used(1).await, 500);
}

#[tokio::test]
async fn concurrent_appends_get_consecutive_seqs() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let ann = ann.clone();
            tokio::spawn(async move {
                let key = ClientMsgId(format!("k{i}"));
                store
                    .append(&RoomId::lobby(), &ann, Some(&key), message("x"), i)
                    .await
                    .unwrap()
                    .seq
                    .0
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_first_account_runs_the_lobby() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let role = |u: UserId| {
        let store = store.clone();
        async move {
            store
                .membership(&RoomId::lobby(), u)
                .await
                .unwrap()
                .unwrap()
                .role
        }
    };
    assert_eq!(role(ann.id).await, Role::Owner);
    assert_eq!(role(bo.id).await, Role::Member);
}

#[tokio::test]
async fn unread_counts_skip_my_own_and_deleted_messages() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    store
        .append(&lobby, &ann, None, message("mine"), 1)
        .await
        .unwrap();
    let gone = store
        .append(&lobby, &bo, None, message("oops"), 2)
        .await
        .unwrap();
    store
        .append(&lobby, &bo, None, message("hi @ann"), 3)
        .await
        .unwrap();
    let mention = Draft::Message {
        body: "@ann look".into(),
        reply_to: None,
        mentions: vec!["ann".into()],
    };
    store.append(&lobby, &bo, None, mention, 4).await.unwrap();
    store
        .append(&lobby, &bo, None, Draft::Delete { target: gone.seq }, 5)
        .await
        .unwrap();
    let summary = store.room_summary(&lobby, ann.id).await.unwrap().unwrap();
    assert_eq!((summary.unread, summary.unread_mentions), (2, 1));
    assert_eq!(summary.last_seq, Seq(5));
    assert_eq!(summary.last_message.unwrap().text, "@ann look");
    store
        .advance_receipts(&lobby, ann.id, Seq(0), Seq(4))
        .await
        .unwrap();
    let summary = store.room_summary(&lobby, ann.id).await.unwrap().unwrap();
    assert_eq!(summary.unread, 0);
}

fn pending(room: &RoomId, sender: &NamedUser, key: &str) -> PendingMessage {
    PendingMessage {
        room: room.clone(),
        sender: sender.clone(),
        client_id: ClientMsgId(key.into()),
        body: format!("body of {key}"),
        reply_to: None,
        mentions: Vec::new(),
    }
}

#[tokio::test]
async fn a_group_commit_stores_in_order_and_checks_each_message_again() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    let (before, _) = store.events_after(&lobby, Seq(0), 100).await.unwrap();
    let first = before.last().map_or(0, |e| e.seq.0);
    let elsewhere = RoomId("00000000000000ff".into());
    let batch = vec![
        pending(&lobby, &ann, "a1"),
        pending(&lobby, &bo, "b1"),
        // The same key again in the same batch: stored once.
        pending(&lobby, &ann, "a1"),
        // A room the sender is not in.
        pending(&elsewhere, &bo, "b2"),
        pending(&lobby, &ann, "a2"),
    ];
    let results = store.append_messages(&batch, 5).await.unwrap();
    let seqs: Vec<Option<i64>> = results
        .iter()
        .map(|r| match r {
            Appended::New(event) => Some(event.seq.0),
            _ => None,
        })
        .collect();
    assert_eq!(
        seqs,
        vec![
            Some(first + 1),
            Some(first + 2),
            None,
            None,
            Some(first + 3)
        ]
    );
    assert!(matches!(results[2], Appended::Earlier));
    assert!(matches!(results[3], Appended::NotMember));
    // What the batch returned is what is stored, gap-free.
    let (after, _) = store.events_after(&lobby, Seq(first), 100).await.unwrap();
    let stored: Vec<(i64, String)> = after
        .iter()
        .map(|e| match &e.kind {
            EventKind::Message { body, .. } => (e.seq.0, body.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        stored,
        vec![
            (first + 1, "body of a1".to_owned()),
            (first + 2, "body of b1".to_owned()),
            (first + 3, "body of a2".to_owned()),
        ]
    );
    // A resend in a later batch is recognised too.
    let again = store
        .append_messages(&[pending(&lobby, &bo, "b1")], 6)
        .await
        .unwrap();
    assert!(matches!(again[0], Appended::Earlier));
}

#[tokio::test]
async fn member_counts_follow_joins_and_leaves() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let room = RoomId("00c0ffee00c0ffee".into());
    store
        .create_room(
            NewRoom {
                id: room.clone(),
                kind: RoomKind::Group,
                name: "crew",
                topic: "",
                creator: &ann,
                client_id: &ClientMsgId("create".into()),
                direct: None,
            },
            2,
        )
        .await
        .unwrap();
    let added = |u: &NamedUser| (None, Draft::Added { user: u.clone() });
    store
        .append_all(&room, &ann, vec![added(&bo), added(&cy)], 3)
        .await
        .unwrap();
    // Adding someone twice changes nothing (the insert is ignored, and so is its count).
    store
        .append_all(&room, &ann, vec![added(&bo)], 4)
        .await
        .unwrap();
    store
        .append_all(&room, &cy, vec![(None, Draft::Left)], 5)
        .await
        .unwrap();
    let counts: HashMap<RoomId, u32> = store
        .room_summaries(ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.member_count))
        .collect();
    assert_eq!(counts[&room], 2, "ann and bo");
    assert_eq!(counts[&RoomId::lobby()], 3);
    // Presence goes to rooms up to a size: the room of 2 is small, the lobby of 3 is not.
    assert_eq!(
        store.small_room_ids(bo.id, 2).await.unwrap(),
        std::slice::from_ref(&room)
    );
    let mut both = store.small_room_ids(bo.id, 3).await.unwrap();
    both.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(both, [room, RoomId::lobby()]);
}

#[tokio::test]
async fn the_first_account_is_the_administrator() {
    let (store, _dir) = store().await;
    let first = user(&store, "ann").await;
    let second = user(&store, "bo").await;
    assert!(store.is_admin(first.id).await.unwrap());
    assert!(!store.is_admin(second.id).await.unwrap());
}

fn passkey(id: &[u8], name: &str) -> StoredPasskey {
    StoredPasskey {
        credential_id: id.to_vec(),
        name: name.into(),
        passkey: format!("{{\"key\":\"{name}\"}}"),
        created_ms: 5,
        last_used_ms: 0,
    }
}

#[tokio::test]
async fn a_passkey_belongs_to_one_account_and_their_number_is_capped() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    assert!(
        store
            .add_passkey(ann.id, &passkey(b"k1", "Phone"), 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_passkey(bo.id, &passkey(b"k1", "Stolen"), 2)
            .await
            .unwrap(),
        "a credential id is registered once, to one account"
    );
    assert!(
        store
            .add_passkey(ann.id, &passkey(b"k2", "Key"), 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_passkey(ann.id, &passkey(b"k3", "Third"), 2)
            .await
            .unwrap(),
        "the cap"
    );
    let names: Vec<String> = store
        .passkeys(ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Phone", "Key"]);
    assert!(store.passkeys(bo.id).await.unwrap().is_empty());

    store
        .passkey_used(b"k1", "{\"key\":\"counted\"}", 77)
        .await
        .unwrap();
    let used = &store.passkeys(ann.id).await.unwrap()[0];
    assert_eq!(
        (used.passkey.as_str(), used.last_used_ms),
        ("{\"key\":\"counted\"}", 77)
    );

    assert!(
        !store.remove_passkey(bo.id, b"k1").await.unwrap(),
        "only its owner removes it"
    );
    assert!(store.remove_passkey(ann.id, b"k1").await.unwrap());
    assert_eq!(store.passkeys(ann.id).await.unwrap().len(), 1);
    store.forget_account(ann.id).await.unwrap();
    assert!(
        store.passkeys(ann.id).await.unwrap().is_empty(),
        "deleted with the account"
    );
}

#[tokio::test]
async fn a_ceremony_is_taken_once_by_its_kind_before_it_expires() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    store
        .put_ceremony(b"h1", ann.id, CeremonyKind::Register, "s1", 100)
        .await
        .unwrap();
    store
        .put_ceremony(b"h2", ann.id, CeremonyKind::LogIn, "s2", 100)
        .await
        .unwrap();
    store
        .put_ceremony(b"h3", ann.id, CeremonyKind::LogIn, "s3", 100)
        .await
        .unwrap();
    assert_eq!(
        store
            .take_ceremony(b"h1", CeremonyKind::LogIn, 50)
            .await
            .unwrap(),
        None,
        "a registration is no log-in"
    );
    assert_eq!(
        store
            .take_ceremony(b"h1", CeremonyKind::Register, 50)
            .await
            .unwrap(),
        Some((ann.id, "s1".into()))
    );
    assert_eq!(
        store
            .take_ceremony(b"h1", CeremonyKind::Register, 50)
            .await
            .unwrap(),
        None,
        "once"
    );
    assert_eq!(
        store
            .take_ceremony(b"h2", CeremonyKind::LogIn, 100)
            .await
            .unwrap(),
        None,
        "expired"
    );
    store.purge_expired_sessions(100, 0).await.unwrap();
    assert_eq!(
        store
            .take_ceremony(b"h3", CeremonyKind::LogIn, 50)
            .await
            .unwrap(),
        None,
        "purged"
    );
}

fn sso_login(state: &str, created_ms: i64) -> SsoLogin {
    SsoLogin {
        state: state.into(),
        browser_hash: [7; 32],
        pkce_verifier: format!("verifier-{state}"),
        nonce: format!("nonce-{state}"),
        created_ms,
    }
}

#[tokio::test]
async fn a_pending_single_sign_on_is_taken_once_and_their_number_is_bounded() {
    let (store, _dir) = store().await;
    assert!(
        store
            .add_sso_login(&sso_login("a", 100), 0, 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_sso_login(&sso_login("b", 200), 0, 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_sso_login(&sso_login("c", 300), 0, 2)
            .await
            .unwrap(),
        "two are pending already"
    );
    assert_eq!(
        store.take_sso_login("a").await.unwrap(),
        Some(sso_login("a", 100))
    );
    assert_eq!(store.take_sso_login("a").await.unwrap(), None, "once only");
    assert_eq!(store.take_sso_login("c").await.unwrap(), None);

    // Adding sweeps the expired ones first: "b" (200) goes, so "d" fits.
    assert!(
        store
            .add_sso_login(&sso_login("x", 300), 0, 3)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_sso_login(&sso_login("d", 400), 200, 2)
            .await
            .unwrap()
    );
    assert_eq!(store.take_sso_login("b").await.unwrap(), None);
    assert!(store.take_sso_login("d").await.unwrap().is_some());
}

#[tokio::test]
async fn a_single_sign_on_identity_finds_its_account_until_the_account_is_deleted() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    assert!(matches!(
        store
            .create_sso_user("https://idp", "sub-1", "ANN", "h", 5)
            .await,
        Err(StoreError::UsernameTaken)
    ));
    assert_eq!(
        store.sso_user("https://idp", "sub-1").await.unwrap(),
        None,
        "a refused account links nothing"
    );
    let linked = store
        .create_sso_user("https://idp", "sub-1", "ann2", "h", 5)
        .await
        .unwrap();
    assert_ne!(linked, ann.id);
    let found = store.sso_user("https://idp", "sub-1").await.unwrap();
    assert_eq!(
        found,
        Some(NamedUser {
            id: linked,
            name: "ann2".into()
        })
    );
    assert_eq!(
        store.sso_user("https://other", "sub-1").await.unwrap(),
        None
    );
    let members = store.members(&RoomId::lobby()).await.unwrap();
    assert_eq!(members.len(), 2, "the new account is in the lobby");
    assert!(
        store
            .create_sso_user("https://idp", "sub-1", "ann3", "h", 6)
            .await
            .is_err(),
        "one account per identity"
    );
    assert!(store.user_by_name("ann3").await.unwrap().is_none());

    store.forget_account(linked).await.unwrap();
    assert_eq!(store.sso_user("https://idp", "sub-1").await.unwrap(), None);
}

#[tokio::test]
async fn display_names_show_in_member_lists_and_go_with_the_account() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    store.set_display_name(ann.id, "Ann A.").await.unwrap();
    assert_eq!(store.display_name(ann.id).await.unwrap(), "Ann A.");
    let members = store.members(&RoomId::lobby()).await.unwrap();
    assert_eq!(members[0].display_name, "Ann A.");
    store.forget_account(ann.id).await.unwrap();
    assert_eq!(store.display_name(ann.id).await.unwrap(), "");
}

#[tokio::test]
async fn an_account_keeps_a_few_ceremonies_and_the_newest_win() {
    let (store, _dir) = store().await;
    let ann = user(&store, "ann").await;
    for i in 0..(super::columns::CEREMONIES_PER_USER as i64 + 3) {
        let id = format!("h{i}");
        store
            .put_ceremony(id.as_bytes(), ann.id, CeremonyKind::LogIn, "s", 1000 + i)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .take_ceremony(b"h0", CeremonyKind::LogIn, 0)
            .await
            .unwrap(),
        None,
        "the oldest went"
    );
    let newest = format!("h{}", super::columns::CEREMONIES_PER_USER + 2);
    assert!(
        store
            .take_ceremony(newest.as_bytes(), CeremonyKind::LogIn, 0)
            .await
            .unwrap()
            .is_some()
    );
}
