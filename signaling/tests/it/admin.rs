//! Server administration over HTTP and the socket: every console endpoint refuses anyone who
//! is not an administrator, deactivation ends an account's sockets and log-ins, a report is
//! answered and its reporter told, retention reaches catching-up clients, and the abuse
//! controls hold.

use crate::harness::{Client, TestServer, session_cookie};
use futures_util::StreamExt;
use serde_json::{Value, json};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let url = format!("{}{path}", server.base);
    let mut request = server
        .http
        .request(method.parse().unwrap(), url)
        .header("Origin", server.origin());
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

pub async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// An administrator's action on an account (`POST /api/admin/users/{user}`): its status.
pub async fn act_on_user(server: &TestServer, cookie: &str, user: &str, action: &str) -> u16 {
    let path = format!("/api/admin/users/{user}");
    let body = json!({ "action": action });
    call(server, "POST", &path, Some(cookie), Some(body))
        .await
        .status()
        .as_u16()
}

/// The text of the next `notice` frame on the socket (other frames are skipped).
pub async fn next_notice(client: &mut Client) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), client.ws.next())
            .await
            .expect("a notice in time")
            .expect("socket open")
            .expect("readable");
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] == "notice" {
                return value["text"].as_str().unwrap().to_owned();
            }
        }
    }
}

fn send(room: &RoomId, key: &str, body: &str) -> ClientMessage {
    ClientMessage::Send {
        attachment: None,
        room: room.clone(),
        client_id: ClientMsgId(key.into()),
        body: body.into(),
        reply_to: None,
    }
}

#[tokio::test]
async fn every_console_endpoint_refuses_anyone_but_administrators() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    let endpoints: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/api/admin/users", None),
        ("GET", "/api/admin/users?q=ro", None),
        (
            "POST",
            "/api/admin/users",
            Some(json!({"username": "made", "password": "correct horse battery"})),
        ),
        ("GET", "/api/admin/users/root/sessions", None),
        (
            "POST",
            "/api/admin/users/root",
            Some(json!({"action": "sign_out"})),
        ),
        (
            "POST",
            "/api/admin/users/bob",
            Some(json!({"action": "make_admin"})),
        ),
        ("GET", "/api/admin/rooms", None),
        ("DELETE", "/api/admin/rooms/lobby", None),
        ("POST", "/api/admin/rooms/lobby/take-over", None),
        (
            "PUT",
            "/api/admin/rooms/lobby/retention",
            Some(json!({"days": 1})),
        ),
        ("GET", "/api/admin/settings", None),
        (
            "PUT",
            "/api/admin/settings",
            Some(json!({"retention_days": 1})),
        ),
        ("POST", "/api/admin/retention/run", None),
        ("GET", "/api/admin/audit", None),
        ("GET", "/api/admin/insight", None),
    ];
    for (method, path, body) in &endpoints {
        let refused = call(&server, method, path, Some(&bob), body.clone()).await;
        assert_eq!(refused.status(), 403, "{method} {path} as a member");
        assert_eq!(
            json_of(refused).await["code"],
            "admin_only",
            "{method} {path}"
        );
        let anonymous = call(&server, method, path, None, body.clone()).await;
        assert_eq!(anonymous.status(), 401, "{method} {path} without a session");
    }
    // Nothing was done on bob's behalf: no administrator, no settings, no log entry.
    let users = json_of(call(&server, "GET", "/api/admin/users", Some(&root), None).await).await;
    let bob_row = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(bob_row["admin"], false);
    let audit = json_of(call(&server, "GET", "/api/admin/audit", Some(&root), None).await).await;
    assert!(audit["entries"].as_array().unwrap().is_empty());
    // The administrator reads each of them.
    for path in [
        "/api/admin/rooms",
        "/api/admin/settings",
        "/api/admin/insight",
        "/api/admin/users/bob/sessions",
        "/api/moderation/reports",
    ] {
        let answer = call(&server, "GET", path, Some(&root), None).await;
        assert_eq!(answer.status(), 200, "{path}");
    }
    // A member's moderation queue is that of the rooms they moderate: empty, not refused.
    let queue = call(&server, "GET", "/api/moderation/reports", Some(&bob), None).await;
    assert_eq!(queue.status(), 200);
    assert!(
        json_of(queue).await["reports"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deactivation_closes_the_accounts_sockets_and_keeps_it_out_until_reactivated() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    let mut bob_socket = server.connect(&bob).await;
    assert_eq!(act_on_user(&server, &root, "bob", "deactivate").await, 204);
    let closed = bob_socket.closed().await.expect("a close frame");
    assert_eq!(u16::from(closed.code), 4001, "closed as logged out");
    let log_in = json!({"username": "bob", "password": "correct horse battery"});
    let refused = server.post("/api/login", log_in.clone()).await;
    assert_eq!(refused.status(), 403);
    assert!(
        json_of(refused).await["message"]
            .as_str()
            .unwrap()
            .contains("deactivated")
    );
    assert!(
        server
            .try_connect(Some(&bob), Some(&server.origin()))
            .await
            .is_err()
    );
    let users =
        json_of(call(&server, "GET", "/api/admin/users?q=bob", Some(&root), None).await).await;
    assert_eq!(users["users"][0]["deactivated"], true);
    assert_eq!(users["users"][0]["sessions"], 0);
    // Not even an administrator can shut themselves out.
    assert_eq!(act_on_user(&server, &root, "root", "deactivate").await, 409);
    assert_eq!(act_on_user(&server, &root, "bob", "reactivate").await, 204);
    let again = server.post("/api/login", log_in).await;
    assert_eq!(again.status(), 200);
    let cookie = session_cookie(&again).unwrap();
    server.connect(&cookie).await;
    let audit = json_of(call(&server, "GET", "/api/admin/audit", Some(&root), None).await).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["reactivate", "deactivate"]);
    assert_eq!(audit["entries"][0]["actor"], "root");
    assert_eq!(audit["entries"][0]["target"], "bob");
}

#[tokio::test]
async fn a_report_answered_deletes_the_message_and_tells_the_reporter() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let ann = server.create_user("ann").await;
    let bob = server.create_user("bob").await;
    let mut ann_socket = server.connect(&ann).await;
    let mut bob_socket = server.connect(&bob).await;
    let lobby = RoomId::lobby();
    let rude = bob_socket.post(&lobby, "rude-1", "something rude").await;
    let report = json!({"room": "lobby", "seq": rude.seq.0, "reason": "Harassment: rude"});
    let filed = call(
        &server,
        "POST",
        "/api/reports",
        Some(&ann),
        Some(report.clone()),
    )
    .await;
    assert_eq!(filed.status(), 201);
    let again = call(&server, "POST", "/api/reports", Some(&ann), Some(report)).await;
    assert_eq!(again.status(), 409, "once per reporter");
    let own = json!({"room": "lobby", "seq": rude.seq.0, "reason": "mine"});
    assert_eq!(
        call(&server, "POST", "/api/reports", Some(&bob), Some(own))
            .await
            .status(),
        409
    );
    let missing = json!({"room": "lobby", "seq": 9999, "reason": "x"});
    assert_eq!(
        call(&server, "POST", "/api/reports", Some(&ann), Some(missing))
            .await
            .status(),
        404
    );

    // Ann moderates nothing: her queue is empty and she cannot answer.
    let queue =
        json_of(call(&server, "GET", "/api/moderation/reports", Some(&ann), None).await).await;
    assert!(queue["reports"].as_array().unwrap().is_empty());
    let queue =
        json_of(call(&server, "GET", "/api/moderation/reports", Some(&root), None).await).await;
    let item = &queue["reports"][0];
    assert_eq!(item["body"], "something rude");
    assert_eq!(item["reporter"], "ann");
    let id = item["id"].as_i64().unwrap();
    let path = format!("/api/moderation/reports/{id}");
    let delete = json!({"action": "delete"});
    assert_eq!(
        call(&server, "POST", &path, Some(&ann), Some(delete.clone()))
            .await
            .status(),
        404
    );
    let answered = call(&server, "POST", &path, Some(&root), Some(delete.clone())).await;
    assert_eq!(answered.status(), 200);
    assert_eq!(json_of(answered).await["status"], "deleted");
    let told = next_notice(&mut ann_socket).await;
    assert!(told.contains("deleted"), "{told}");
    // Everyone sees the message go, as an ordinary delete.
    let target = bob_socket
        .wait_for(|e| match e {
            ServerMessage::Event { event } => event.target(),
            _ => None,
        })
        .await;
    assert_eq!(target, rude.seq);
    assert_eq!(
        call(&server, "POST", &path, Some(&root), Some(delete))
            .await
            .status(),
        409
    );
    let mine = json_of(call(&server, "GET", "/api/reports", Some(&ann), None).await).await;
    assert_eq!(mine["reports"][0]["status"], "deleted");
    assert!(mine["reports"][0].get("reporter").is_none());
}

#[tokio::test]
async fn retention_deletes_old_history_and_catching_up_clients_learn_the_floor() {
    // A retention "day" of one second.
    let server = TestServer::start_with(|c| c.retention_day_secs = 1).await;
    let root = server.create_user("root").await;
    let mut socket = server.connect(&root).await;
    let lobby = RoomId::lobby();
    for i in 0..3 {
        socket.post(&lobby, &format!("old-{i}"), "old").await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let kept = socket.post(&lobby, "new-1", "new").await;
    let set = call(
        &server,
        "PUT",
        "/api/admin/rooms/lobby/retention",
        Some(&root),
        Some(json!({"days": 1})),
    )
    .await;
    assert_eq!(set.status(), 204);
    let run = json_of(
        call(
            &server,
            "POST",
            "/api/admin/retention/run",
            Some(&root),
            None,
        )
        .await,
    )
    .await;
    assert!(run["deleted"].as_u64().unwrap() >= 3, "{run}");
    // The open socket is told the floor without asking.
    let told = socket
        .wait_for(|e| match e {
            ServerMessage::CaughtUp { events, floor, .. } if events.is_empty() => Some(floor),
            _ => None,
        })
        .await;
    assert_eq!(told, Seq(kept.seq.0 - 1));
    socket
        .send(&ClientMessage::CatchUp {
            room: lobby.clone(),
            after: Seq(0),
            limit: 100,
        })
        .await;
    let (events, floor) = socket
        .wait_for(|e| match e {
            ServerMessage::CaughtUp { events, floor, .. } => Some((events, floor)),
            _ => None,
        })
        .await;
    assert_eq!(floor, Seq(kept.seq.0 - 1));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].seq, kept.seq);
    let rooms = json_of(call(&server, "GET", "/api/admin/rooms", Some(&root), None).await).await;
    assert_eq!(rooms["rooms"][0]["retention_days"], 1);
}

#[tokio::test]
async fn abuse_controls_refuse_mask_limit_links_and_silence_floods() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    let settings = json!({
        "blocked_words": ["spam"],
        "word_action": "block",
        "new_account_hours": 24,
        "new_account_links": 1,
        "flood_repeats": 3,
        "flood_window_secs": 60,
        "flood_mute_minutes": 5
    });
    let saved = call(
        &server,
        "PUT",
        "/api/admin/settings",
        Some(&root),
        Some(settings.clone()),
    )
    .await;
    assert_eq!(saved.status(), 200);
    let lobby = RoomId::lobby();
    let mut socket = server.connect(&bob).await;
    assert_eq!(
        socket
            .request("w1", send(&lobby, "w1", "buy SPAM here"))
            .await,
        Err(ErrorCode::InvalidMessage)
    );
    let mut masked = settings.clone();
    masked["word_action"] = json!("mask");
    call(
        &server,
        "PUT",
        "/api/admin/settings",
        Some(&root),
        Some(masked),
    )
    .await;
    let event = socket.post(&lobby, "w2", "buy SPAM here").await;
    assert_eq!(crate::harness::body(&event), "buy **** here");
    // Bob's account is minutes old: one link per message.
    assert!(
        socket
            .request("l1", send(&lobby, "l1", "see https://a.example"))
            .await
            .is_ok()
    );
    assert_eq!(
        socket
            .request("l2", send(&lobby, "l2", "https://a.example www.b.example"))
            .await,
        Err(ErrorCode::Forbidden)
    );
    // The same text a third time within the minute silences him everywhere.
    socket.post(&lobby, "f1", "hello all").await;
    socket.post(&lobby, "f2", "Hello  all").await;
    assert_eq!(
        socket.request("f3", send(&lobby, "f3", "hello all")).await,
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(
        socket
            .request("f4", send(&lobby, "f4", "something else"))
            .await,
        Err(ErrorCode::Forbidden),
        "silenced for a while"
    );
    let audit = json_of(call(&server, "GET", "/api/admin/audit", Some(&root), None).await).await;
    assert_eq!(audit["entries"][0]["action"], "silence for flooding");
    assert_eq!(audit["entries"][0]["target"], "bob");
    let users =
        json_of(call(&server, "GET", "/api/admin/users?q=bob", Some(&root), None).await).await;
    assert!(users["users"][0]["silenced_until_ms"].as_i64().is_some());
    // An administrator lifts it: he posts again at once.
    assert_eq!(
        act_on_user(&server, &root, "bob", "lift_silence").await,
        204
    );
    socket.post(&lobby, "f5", "sorry about that").await;
    // An invalid word list is refused with a reason.
    let mut bad = settings;
    bad["blocked_words"] = json!(["two words"]);
    let refused = call(
        &server,
        "PUT",
        "/api/admin/settings",
        Some(&root),
        Some(bad),
    )
    .await;
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn room_moderators_actions_reach_the_audit_log() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let ann = server.create_user("ann").await;
    let _bob = server.create_user("bob").await;
    let mut ann_socket = server.connect(&ann).await;
    let room = ann_socket.create_room("Book club").await;
    ann_socket.add(&room, "bob").await.unwrap();
    let removed = ann_socket
        .request(
            "rm-1",
            ClientMessage::RemoveMember {
                room: room.clone(),
                client_id: ClientMsgId("rm-1".into()),
                user: "bob".into(),
            },
        )
        .await;
    assert!(removed.is_ok());
    // A resend of the same request is answered, not logged again.
    ann_socket
        .request(
            "rm-1",
            ClientMessage::RemoveMember {
                room: room.clone(),
                client_id: ClientMsgId("rm-1".into()),
                user: "bob".into(),
            },
        )
        .await
        .unwrap();
    let audit = json_of(call(&server, "GET", "/api/admin/audit", Some(&root), None).await).await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "ann");
    assert_eq!(entries[0]["action"], "remove from room");
    assert_eq!(entries[0]["target"], "bob in Book club");
}

#[tokio::test]
async fn a_room_moderator_answers_reports_about_members_below_them_only() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let ann = server.create_user("ann").await;
    let bob = server.create_user("bob").await;
    let cy = server.create_user("cyd").await;
    let mut ann_socket = server.connect(&ann).await;
    let room = ann_socket.create_room("Garden").await;
    ann_socket.add(&room, "bob").await.unwrap();
    ann_socket.add(&room, "cyd").await.unwrap();
    ann_socket
        .request(
            "role-1",
            ClientMessage::SetRole {
                room: room.clone(),
                client_id: ClientMsgId("role-1".into()),
                user: "bob".into(),
                role: shared::events::Role::Admin,
            },
        )
        .await
        .unwrap();
    let owners = ann_socket.post(&room, "o-1", "the owner speaks").await;
    let mut cy_socket = server.connect(&cy).await;
    let members = cy_socket.post(&room, "c-1", "a member speaks").await;
    let report = |seq: i64| json!({"room": room.0, "seq": seq, "reason": "Spam"});
    let bob_cookie = Some(bob.as_str());
    for seq in [owners.seq.0, members.seq.0] {
        let filed = call(
            &server,
            "POST",
            "/api/reports",
            bob_cookie,
            Some(report(seq)),
        )
        .await;
        assert_eq!(filed.status(), 201);
    }
    // Ann (owner) sees the report about cy, not the one about herself.
    let ann_queue =
        json_of(call(&server, "GET", "/api/moderation/reports", Some(&ann), None).await).await;
    let ann_queue = ann_queue["reports"].as_array().unwrap().clone();
    assert_eq!(ann_queue.len(), 1);
    assert_eq!(ann_queue[0]["sender"], "cyd");
    // Bob (admin) cannot answer the report about the owner; the server's administrator can.
    let all =
        json_of(call(&server, "GET", "/api/moderation/reports", Some(&root), None).await).await;
    let about_ann = all["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sender"] == "ann")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/moderation/reports/{about_ann}");
    let delete = json!({"action": "delete"});
    assert_eq!(
        call(&server, "POST", &path, bob_cookie, Some(delete.clone()))
            .await
            .status(),
        404
    );
    assert_eq!(
        call(&server, "POST", &path, Some(&root), Some(delete))
            .await
            .status(),
        200
    );
    // Ann mutes cy from her queue: cy's next message is refused as muted.
    let about_cy = ann_queue[0]["id"].as_i64().unwrap();
    let mute = json!({"action": "mute"});
    let path = format!("/api/moderation/reports/{about_cy}");
    assert_eq!(
        call(&server, "POST", &path, Some(&ann), Some(mute))
            .await
            .status(),
        200
    );
    assert_eq!(
        cy_socket.request("c-2", send(&room, "c-2", "again")).await,
        Err(ErrorCode::Forbidden)
    );
}
