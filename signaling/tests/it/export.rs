//! "Download my data": the export holds every room of mine with its whole timeline, my blocks
//! and my sessions, my own messages in rooms I left, and nobody else's rooms.

use crate::harness::TestServer;
use serde_json::Value;
use shared::RoomId;
use shared::ws::ClientMessage;

async fn export(server: &TestServer, cookie: &str) -> reqwest::Response {
    server
        .http
        .get(format!("{}/api/export", server.base))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn room<'a>(data: &'a Value, name: &str) -> Option<&'a Value> {
    data["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"]["name"] == name)
}

#[tokio::test]
async fn my_export_has_my_rooms_whole_timelines_and_nothing_else() {
    let server = TestServer::start_unthrottled().await;
    let alice_cookie = server.create_user("alice").await;
    let bob_cookie = server.create_user("bob").await;
    server.create_user("eve").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut bob = server.connect(&bob_cookie).await;
    let shared_room = alice.create_room("plans").await;
    alice.add(&shared_room, "bob").await.unwrap();
    let secret = bob.create_room("bobs own").await;
    bob.post(&secret, "s1", "only bob reads this").await;
    alice.post(&shared_room, "a1", "hello bob").await;
    bob.post(&shared_room, "b1", "hi alice").await;
    // A long history, to cross the export's pages.
    let lobby = RoomId::lobby();
    for i in 0..1200 {
        alice
            .say_in(&lobby, &format!("l{i}"), &format!("lobby message {i}"))
            .await;
    }
    alice.post(&lobby, "last", "the end").await;
    alice
        .send(&ClientMessage::Block {
            user: "eve".into(),
            blocked: true,
        })
        .await;
    alice
        .wait_for(|e| matches!(e, shared::ws::ServerMessage::Blocked { .. }).then_some(()))
        .await;

    let response = export(&server, &alice_cookie).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"chat-export-alice.json\""
    );
    let data: Value = response.json().await.unwrap();
    assert_eq!(data["format"], "chat-export/1");
    assert_eq!(data["username"], "alice");
    assert_eq!(data["blocked"], serde_json::json!(["eve"]));
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1);

    let plans = room(&data, "plans").expect("the room alice is in");
    let bodies: Vec<&str> = plans["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["body"].as_str())
        .collect();
    assert_eq!(bodies, ["hello bob", "hi alice"]);
    assert!(room(&data, "bobs own").is_none(), "not alice's room");

    let lobby_events = room(&data, "Lobby").unwrap()["events"].as_array().unwrap();
    let seqs: Vec<i64> = lobby_events
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=1201).collect::<Vec<_>>(),
        "every event, in order, once"
    );
    assert_eq!(lobby_events.last().unwrap()["body"], "the end");
}

#[tokio::test]
async fn exports_need_a_session_and_are_rate_limited() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    assert_eq!(export(&server, "chat_session=forged").await.status(), 401);
    for _ in 0..3 {
        let response = export(&server, &cookie).await;
        assert_eq!(response.status(), 200);
        let _: Value = response.json().await.unwrap();
    }
    assert_eq!(export(&server, &cookie).await.status(), 429);
}

#[tokio::test]
async fn a_compressed_export_arrives_whole() {
    // Browsers ask for compression; the streamed file must survive the compression layer.
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    for encoding in ["gzip", "br"] {
        let response = server
            .http
            .get(format!("{}/api/export", server.base))
            .header("Cookie", &cookie)
            .header("Accept-Encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], encoding);
        let bytes = response
            .bytes()
            .await
            .expect("the whole body, not a dropped connection");
        assert!(!bytes.is_empty(), "{encoding}");
    }
    // The server is still there.
    assert_eq!(export(&server, &cookie).await.status(), 200);
}

#[tokio::test]
async fn my_messages_in_rooms_i_left_are_in_my_export_and_nothing_else_of_them() {
    let server = TestServer::start_unthrottled().await;
    let alice_cookie = server.create_user("alice").await;
    let bob_cookie = server.create_user("bob").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut bob = server.connect(&bob_cookie).await;
    let team = bob.create_room("old team").await;
    bob.add(&team, "alice").await.unwrap();
    alice.post(&team, "a1", "my words").await;
    bob.post(&team, "b1", "bob's words").await;
    alice.post(&team, "a2", "more of mine").await;
    alice
        .request(
            "leave",
            ClientMessage::Leave {
                room: team.clone(),
                client_id: shared::ClientMsgId("leave".into()),
            },
        )
        .await
        .unwrap();
    bob.post(&team, "b2", "after alice left").await;

    let data: Value = export(&server, &alice_cookie).await.json().await.unwrap();
    assert!(
        room(&data, "old team").is_none(),
        "no longer alice's to read"
    );
    let left = data["rooms_left"].as_array().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["room"], team.0);
    let bodies: Vec<&str> = left[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["my words", "more of mine"], "hers only");
}
