//! Deleting an account: its messages become tombstones through ordinary events (gap-free, and
//! a client catching up learns it), it leaves its rooms, its sessions and sockets end, its name
//! is free again, and its password no longer works.

use crate::harness::TestServer;
use serde_json::json;
use shared::events::EventKind;
use shared::ws::close;
use shared::{RoomId, Seq};

const PASSWORD: &str = "correct horse battery";

async fn delete(server: &TestServer, cookie: &str, password: &str) -> u16 {
    server
        .http
        .post(format!("{}/api/account/delete", server.base))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .json(&json!({"password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_deleted_account_leaves_tombstones_and_nothing_else() {
    let server = TestServer::start_unthrottled().await;
    let alice_cookie = server.create_user("alice").await;
    let bob_cookie = server.create_user("bob").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut bob = server.connect(&bob_cookie).await;
    // Alice owns a room with bob in it, and wrote in it and in the lobby.
    let room = alice.create_room("alices").await;
    alice.add(&room, "bob").await.unwrap();
    let first = alice.post(&room, "a1", "my secret plan").await;
    alice.post(&room, "a2", "second thought").await;
    let bobs = bob.post(&room, "b1", "sounds good").await;
    alice.post(&RoomId::lobby(), "a3", "hello everyone").await;
    // Bob's offline copy of the room reaches this far.
    let cursor = bobs.seq;

    assert_eq!(delete(&server, &alice_cookie, "wrong password").await, 401);
    assert_eq!(delete(&server, &alice_cookie, PASSWORD).await, 204);

    let closed = alice.closed().await.expect("a close frame");
    assert_eq!(u16::from(closed.code), close::LOGGED_OUT);
    let session = server
        .http
        .get(format!("{}/api/session", server.base))
        .header("Cookie", &alice_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 401);

    // Bob catches up: deletes of alice's messages, the room handed to him, alice gone.
    let caught_up = bob.catch_up(&room, cursor, 100).await;
    let deleted: Vec<Seq> = caught_up
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Delete { target } => Some(target),
            _ => None,
        })
        .collect();
    assert!(deleted.contains(&first.seq), "{caught_up:?}");
    assert_eq!(deleted.len(), 2);
    assert!(caught_up.iter().any(|e| matches!(
        &e.kind,
        EventKind::RoleChanged { user, .. } if user == "bob"
    )));
    assert!(caught_up.iter().any(|e| e.kind == EventKind::Left));
    // Gap-free: every seq after the cursor is there, once.
    let seqs: Vec<i64> = caught_up.iter().map(|e| e.seq.0).collect();
    assert_eq!(
        seqs,
        ((cursor.0 + 1)..=seqs.last().copied().unwrap()).collect::<Vec<_>>()
    );
    // History shows tombstones, and bob's own message is untouched.
    let (history, _) = bob.history(&room, None, 100).await;
    for event in &history {
        if let EventKind::Message { body, deleted, .. } = &event.kind {
            if event.seq == bobs.seq {
                assert_eq!(body, "sounds good");
            } else {
                assert!(*deleted && body.is_empty(), "{event:?}");
            }
        }
    }
    let lobby = bob.catch_up(&RoomId::lobby(), Seq(0), 100).await;
    assert!(
        lobby
            .iter()
            .any(|e| matches!(e.kind, EventKind::Delete { .. }))
    );

    // The password works no more, and the name is free for someone new.
    let login = server
        .post(
            "/api/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 401);
    server.create_user("alice").await;
}
