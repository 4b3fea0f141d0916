//! Bots and outgoing webhooks, end to end over real HTTP and WebSockets: a bot made by an
//! administrator acts only in its rooms (HTTP API and socket), people cannot pull it into
//! others, its token can be replaced and ended; a webhook's deliveries are signed (checked
//! with the Standard Webhooks library), retried with the same id across a restart, and each
//! event is acknowledged once, in order.

use crate::admin::{act_on_user, call, json_of};
use crate::harness::{Client, TestServer, body};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A request to the bot API with `token` (none: no Authorization header).
pub async fn bot_call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = server
        .http
        .request(method.parse().unwrap(), format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Makes the bot `name` in `rooms` as the administrator `admin`; returns its token.
pub async fn make_bot(server: &TestServer, admin: &str, name: &str, rooms: &[&RoomId]) -> String {
    let rooms: Vec<&str> = rooms.iter().map(|r| r.0.as_str()).collect();
    let made = call(
        server,
        "POST",
        "/api/admin/bots",
        Some(admin),
        Some(json!({ "username": name, "display_name": "Helper", "rooms": rooms })),
    )
    .await;
    assert_eq!(made.status(), 201);
    let token = json_of(made).await["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("chatbot_"));
    token
}

/// A socket opened with a bot token, past its welcome.
async fn bot_socket(server: &TestServer, token: &str) -> Result<(Client, ServerMessage), u16> {
    let url = format!("{}/ws", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => {
            let mut client = Client { ws };
            let welcome = client.next_event().await;
            Ok((client, welcome))
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_bot_acts_in_the_rooms_an_administrator_gives_it_and_nowhere_else() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    let mut root_ws = server.connect(&root).await;
    let team = root_ws.create_room("team").await;
    let secret = root_ws.create_room("secret").await;
    let mut bob_ws = server.connect(&bob).await;
    let bobs = bob_ws.create_room("bobs").await;

    // Only an administrator makes bots.
    let refused = call(
        &server,
        "POST",
        "/api/admin/bots",
        Some(&bob),
        Some(json!({"username": "sneaky", "rooms": []})),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let token = make_bot(&server, &root, "helper", &[&team]).await;
    let added = root_ws.next_room_event().await;
    assert_eq!(
        (added.room.clone(), added.sender.as_str()),
        (team.clone(), "root")
    );

    // The HTTP API: no token, a wrong token, a session cookie are all refused.
    let path = format!("/api/bot/rooms/{}/messages", team.0);
    let hello = json!({"client_id": "b1", "body": "hello from a bot"});
    assert_eq!(
        bot_call(&server, "POST", &path, None, Some(hello.clone()))
            .await
            .status(),
        401
    );
    let wrong = format!("{token}x");
    assert_eq!(
        bot_call(&server, "POST", &path, Some(&wrong), Some(hello.clone()))
            .await
            .status(),
        401
    );
    let with_cookie = call(&server, "POST", &path, Some(&root), Some(hello.clone())).await;
    assert_eq!(with_cookie.status(), 401);

    let sent = bot_call(&server, "POST", &path, Some(&token), Some(hello.clone())).await;
    assert_eq!(sent.status(), 200);
    let sent = json_of(sent).await;
    let seq = sent["event"]["seq"].as_i64().unwrap();
    let seen = root_ws.next_room_event().await;
    assert_eq!(
        (seen.seq.0, seen.sender.as_str(), body(&seen)),
        (seq, "helper", "hello from a bot")
    );
    // A retry with the same key is answered with the same event and stores nothing.
    let again = json_of(bot_call(&server, "POST", &path, Some(&token), Some(hello)).await).await;
    assert_eq!(again["event"]["seq"].as_i64(), Some(seq));

    let edit_path = format!("/api/bot/rooms/{}/messages/{seq}", team.0);
    let edited = bot_call(
        &server,
        "PUT",
        &edit_path,
        Some(&token),
        Some(json!({"body": "hello, edited"})),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let react_path = format!("{edit_path}/reactions");
    let reacted = bot_call(
        &server,
        "POST",
        &react_path,
        Some(&token),
        Some(json!({"emoji": "👍"})),
    )
    .await;
    assert_eq!(reacted.status(), 200);
    let events_path = format!("/api/bot/rooms/{}/events?after=0", team.0);
    let events = json_of(bot_call(&server, "GET", &events_path, Some(&token), None).await).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&["message", "edit", "reaction"]),
        "{kinds:?}"
    );
    // Bad input is a clear refusal.
    let empty = bot_call(
        &server,
        "POST",
        &path,
        Some(&token),
        Some(json!({"body": ""})),
    )
    .await;
    assert_eq!(empty.status(), 400);
    assert!(json_of(empty).await["message"].as_str().unwrap().len() > 5);
    let not_json = bot_call(
        &server,
        "POST",
        &path,
        Some(&token),
        Some(json!({"text": 1})),
    )
    .await;
    assert_eq!(not_json.status(), 400);
    // Someone else's message cannot be edited by the bot.
    let roots = root_ws.post(&team, "r1", "mine").await;
    let theirs = format!("/api/bot/rooms/{}/messages/{}", team.0, roots.seq.0);
    let forbidden = bot_call(
        &server,
        "PUT",
        &theirs,
        Some(&token),
        Some(json!({"body": "x"})),
    )
    .await;
    assert_eq!(forbidden.status(), 403);

    // Outside its rooms: nothing.
    for room in [&secret, &bobs, &RoomId::lobby()] {
        let path = format!("/api/bot/rooms/{}/messages", room.0);
        let refused = bot_call(
            &server,
            "POST",
            &path,
            Some(&token),
            Some(json!({"body": "hi"})),
        )
        .await;
        assert_eq!(refused.status(), 404, "{}", room.0);
        let path = format!("/api/bot/rooms/{}/events", room.0);
        assert_eq!(
            bot_call(&server, "GET", &path, Some(&token), None)
                .await
                .status(),
            404
        );
    }
    let me = json_of(bot_call(&server, "GET", "/api/bot/me", Some(&token), None).await).await;
    assert_eq!(me["username"], "helper");
    let rooms: Vec<&str> = me["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rooms, [team.0.as_str()]);

    // People cannot pull the bot into their rooms or a conversation.
    assert_eq!(bob_ws.add(&bobs, "helper").await, Err(ErrorCode::Forbidden));
    let direct = bob_ws
        .request(
            "d1",
            ClientMessage::OpenDirect {
                client_id: ClientMsgId("d1".into()),
                user: "helper".into(),
            },
        )
        .await;
    assert_eq!(direct.map(|_| ()), Err(ErrorCode::Forbidden));
    // Nor can it log in with a password.
    let login = server
        .post("/api/login", json!({"username": "helper", "password": "!"}))
        .await;
    assert_eq!(login.status(), 401);

    // The same token opens a socket: its rooms only, and no room changes.
    let (mut bot_ws, welcome) = bot_socket(&server, &token).await.unwrap();
    match welcome {
        ServerMessage::Welcome { rooms, .. } => {
            let ids: Vec<RoomId> = rooms.into_iter().map(|r| r.id).collect();
            assert_eq!(ids, std::slice::from_ref(&team));
        }
        other => panic!("{other:?}"),
    }
    let over_socket = bot_ws.post(&team, "w1", "over the socket").await;
    assert_eq!(root_ws.next_room_event().await.seq, over_socket.seq);
    let create = ClientMessage::CreateRoom {
        client_id: ClientMsgId("c1".into()),
        name: "mine".into(),
        topic: String::new(),
    };
    assert_eq!(
        bot_ws.request("c1", create).await.map(|_| ()),
        Err(ErrorCode::Forbidden)
    );

    // A new token ends the old one and closes its socket.
    let renewed = call(
        &server,
        "POST",
        "/api/admin/bots/helper/token",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(renewed.status(), 200);
    let new_token = json_of(renewed).await["token"].as_str().unwrap().to_owned();
    assert!(
        bot_ws.closed().await.is_some(),
        "the old token's socket closes"
    );
    let path = format!("/api/bot/rooms/{}/messages", team.0);
    let old = bot_call(
        &server,
        "POST",
        &path,
        Some(&token),
        Some(json!({"body": "old"})),
    )
    .await;
    assert_eq!(old.status(), 401);
    let new = bot_call(
        &server,
        "POST",
        &path,
        Some(&new_token),
        Some(json!({"body": "new"})),
    )
    .await;
    assert_eq!(new.status(), 200);

    // Its rooms change: out of team, into secret.
    let moved = call(
        &server,
        "PUT",
        "/api/admin/bots/helper/rooms",
        Some(&root),
        Some(json!({"rooms": [secret.0]})),
    )
    .await;
    assert_eq!(moved.status(), 204);
    let in_team = bot_call(
        &server,
        "POST",
        &path,
        Some(&new_token),
        Some(json!({"body": "x"})),
    )
    .await;
    assert_eq!(in_team.status(), 404);
    let secret_path = format!("/api/bot/rooms/{}/messages", secret.0);
    let in_secret = bot_call(
        &server,
        "POST",
        &secret_path,
        Some(&new_token),
        Some(json!({"body": "x"})),
    )
    .await;
    assert_eq!(in_secret.status(), 200);
    let listed = json_of(call(&server, "GET", "/api/admin/bots", Some(&root), None).await).await;
    assert_eq!(listed[0]["rooms"][0]["id"], secret.0.as_str());

    // Deactivated, it can do nothing, and a socket cannot open.
    assert_eq!(
        act_on_user(&server, &root, "helper", "deactivate").await,
        204
    );
    let after = bot_call(
        &server,
        "POST",
        &secret_path,
        Some(&new_token),
        Some(json!({"body": "x"})),
    )
    .await;
    assert_eq!(after.status(), 401);
    assert_eq!(bot_socket(&server, &new_token).await.err(), Some(401));
    assert_eq!(
        act_on_user(&server, &root, "helper", "make_admin").await,
        403
    );
}

/// What a webhook receiver got: the id, the headers and body, and how it answered.
#[derive(Clone)]
pub struct Delivery {
    id: String,
    headers: HeaderMap,
    body: String,
    pub accepted: bool,
}

/// A local webhook receiver: answers 500 while `failing`, 204 otherwise, and keeps every
/// request.
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
    failing: Arc<AtomicBool>,
}

impl Receiver {
    pub async fn start() -> Self {
        let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let failing = Arc::new(AtomicBool::new(false));
        let (got2, failing2) = (got.clone(), failing.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (got, failing) = (got2.clone(), failing2.clone());
                async move {
                    let accepted = !failing.load(Ordering::SeqCst);
                    let id = headers
                        .get("webhook-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    got.lock().unwrap().push(Delivery {
                        id,
                        headers,
                        body,
                        accepted,
                    });
                    if accepted {
                        axum::http::StatusCode::NO_CONTENT
                    } else {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got, failing }
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until `done` holds for the deliveries so far.
    pub async fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        for _ in 0..200 {
            let got = self.deliveries();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver never got {what}");
    }
}

/// The bodies of the messages accepted, in the order they were accepted, checking that each
/// was signed with `secret` and accepted once.
pub fn accepted_messages(got: &[Delivery], secret: &str) -> Vec<String> {
    let verifier = standardwebhooks::Webhook::new(secret).unwrap();
    let mut ids = Vec::new();
    let mut bodies = Vec::new();
    for delivery in got.iter().filter(|d| d.accepted) {
        verifier
            .verify(delivery.body.as_bytes(), &delivery.headers)
            .expect("signed with the webhook's secret");
        assert!(
            !ids.contains(&delivery.id),
            "{} acknowledged twice",
            delivery.id
        );
        ids.push(delivery.id.clone());
        let payload: Value = serde_json::from_str(&delivery.body).unwrap();
        if payload["type"] == "event.message" {
            bodies.push(payload["data"]["body"].as_str().unwrap().to_owned());
        }
    }
    bodies
}

/// Webhooks may post to this machine, and retry after 200 ms (tests only).
pub fn local_webhooks(config: &mut signaling::config::Config) {
    config.webhooks_allow_private = true;
    config.webhook_retry_base_ms = 200;
}

/// `POST /api/admin/webhooks` for `room` to `url`, as the account behind `cookie`.
async fn post_webhook(
    server: &TestServer,
    cookie: &str,
    room: &str,
    url: &str,
) -> reqwest::Response {
    call(
        server,
        "POST",
        "/api/admin/webhooks",
        Some(cookie),
        Some(json!({"room": room, "url": url})),
    )
    .await
}

/// Adds a webhook for `room` to `url` as the administrator `admin`; returns its secret.
pub async fn add_webhook(server: &TestServer, admin: &str, room: &str, url: &str) -> String {
    let made = post_webhook(server, admin, room, url).await;
    assert_eq!(made.status(), 201);
    let secret = json_of(made).await["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    secret
}

#[tokio::test]
async fn a_webhook_is_signed_retried_with_the_same_id_across_a_restart_and_acknowledged_once() {
    let receiver = Receiver::start().await;
    let server = TestServer::start_with(local_webhooks).await;
    let root = server.create_user("root").await;
    let mut root_ws = server.connect(&root).await;
    let room = root_ws.create_room("hooked").await;
    let secret = add_webhook(&server, &root, &room.0, &receiver.url).await;

    receiver.fail(true);
    let one = root_ws.post(&room, "m1", "one").await;
    let expected_id = format!("evt_{}_{}", room.0, one.seq.0);
    let got = receiver
        .wait_until("two attempts", |got| got.len() >= 2)
        .await;
    assert!(
        got.iter().all(|d| d.id == expected_id),
        "every attempt at an event carries its id"
    );
    let listed =
        json_of(call(&server, "GET", "/api/admin/webhooks", Some(&root), None).await).await;
    assert!(listed[0]["attempts"].as_u64().unwrap() >= 1);
    assert!(
        listed[0]["last_status"].as_str().unwrap().contains("500"),
        "{listed}"
    );
    assert_eq!(listed[0]["pending"], 1);

    // The server restarts while the receiver still fails; delivery resumes from the database.
    drop(root_ws);
    let server = server.restart_with(local_webhooks).await;
    let mut root_ws = server.connect(&root).await;
    root_ws.post(&room, "m2", "two").await;
    receiver.fail(false);
    let got = receiver
        .wait_until("both messages", |got| {
            got.iter().filter(|d| d.accepted).count() >= 2
        })
        .await;
    assert_eq!(
        accepted_messages(&got, &secret),
        ["one", "two"],
        "in order, once each"
    );
    let first_accepted = got.iter().find(|d| d.accepted).unwrap();
    assert_eq!(first_accepted.id, expected_id);
    let listed =
        json_of(call(&server, "GET", "/api/admin/webhooks", Some(&root), None).await).await;
    assert_eq!(
        (
            listed[0]["pending"].as_i64(),
            listed[0]["delivered"].as_i64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(
        listed[0]["last_status"], "204 No Content",
        "the last answer stays shown once delivery is caught up"
    );

    // Deleted, it gets nothing more.
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/admin/webhooks/{id}");
    assert_eq!(
        call(&server, "DELETE", &path, Some(&root), None)
            .await
            .status(),
        204
    );
    let before = receiver.deliveries().len();
    root_ws.post(&room, "m3", "three").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.deliveries().len(), before);
}

#[tokio::test]
async fn a_webhook_url_inside_the_network_is_refused_and_only_administrators_make_webhooks() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "file:///etc/passwd",
        "https://user:pw@example.org/",
        "not a url",
    ] {
        let made = post_webhook(&server, &root, "lobby", url).await;
        assert_eq!(made.status(), 403, "{url}");
    }
    let by_bob = post_webhook(&server, &bob, "lobby", "https://example.org/hook").await;
    assert_eq!(by_bob.status(), 403);
    assert_eq!(
        call(&server, "GET", "/api/admin/webhooks", Some(&bob), None)
            .await
            .status(),
        403
    );
    // A direct conversation belongs to its two people: no webhook streams it out.
    let mut root_ws = server.connect(&root).await;
    let direct = root_ws
        .request(
            "d1",
            ClientMessage::OpenDirect {
                client_id: ClientMsgId("d1".into()),
                user: "bob".into(),
            },
        )
        .await
        .unwrap()
        .room;
    let private = post_webhook(&server, &root, &direct.0, "https://example.org/hook").await;
    assert_eq!(private.status(), 403);
    let no_room = post_webhook(
        &server,
        &root,
        "00000000000000ff",
        "https://example.org/hook",
    )
    .await;
    assert_eq!(no_room.status(), 404);
    // The secret is never shown again.
    let made = post_webhook(&server, &root, "lobby", "https://example.org/hook").await;
    assert_eq!(made.status(), 201);
    let listed =
        json_of(call(&server, "GET", "/api/admin/webhooks", Some(&root), None).await).await;
    assert!(listed[0].get("secret").is_none());
    assert_eq!(listed[0]["url"], "https://example.org/hook");
}

#[tokio::test]
async fn a_bot_offers_slash_commands_to_the_members_of_its_rooms() {
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    let mut root_ws = server.connect(&root).await;
    let team = root_ws.create_room("team").await;
    let token = make_bot(&server, &root, "helper", &[&team]).await;
    let commands = json!({"commands": [
        {"name": "echo", "description": "Says it again", "usage": "<words>"},
        {"name": "weather", "description": "The weather"}
    ]});
    // A person's session cannot register commands; a bot cannot take the app's own.
    let by_cookie = call(
        &server,
        "PUT",
        "/api/bot/commands",
        Some(&root),
        Some(commands.clone()),
    )
    .await;
    assert_eq!(by_cookie.status(), 401);
    let taken = json!({"commands": [{"name": "topic", "description": "mine"}]});
    let refused = bot_call(
        &server,
        "PUT",
        "/api/bot/commands",
        Some(&token),
        Some(taken),
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert!(
        json_of(refused).await["message"]
            .as_str()
            .unwrap()
            .contains("/topic")
    );
    let set = bot_call(
        &server,
        "PUT",
        "/api/bot/commands",
        Some(&token),
        Some(commands),
    )
    .await;
    assert_eq!(set.status(), 204);

    let path = format!("/api/rooms/{}/commands", team.0);
    let listed = server.get_json(&path, Some(&root)).await;
    let names: Vec<(&str, &str)> = listed["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["bot"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("echo", "helper"), ("weather", "helper")]);
    // Not a member: as if the room were not there. The lobby has no bot: nothing.
    assert_eq!(
        call(&server, "GET", &path, Some(&bob), None).await.status(),
        404
    );
    let lobby = server
        .get_json("/api/rooms/lobby/commands", Some(&bob))
        .await;
    assert_eq!(lobby["commands"], json!([]));
    assert_eq!(call(&server, "GET", &path, None, None).await.status(), 401);
}

#[tokio::test]
async fn a_bot_never_moderates_nor_inherits_a_room() {
    use shared::events::Role;
    let server = TestServer::start().await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    let mut root_ws = server.connect(&root).await;
    let team = root_ws.create_room("team").await;
    // The bot joins before bob, so it would be first in line by seniority.
    make_bot(&server, &root, "helper", &[&team]).await;
    root_ws.add(&team, "bob").await.unwrap();
    let promote = ClientMessage::SetRole {
        room: team.clone(),
        client_id: ClientMsgId("promote".into()),
        user: "helper".into(),
        role: Role::Admin,
    };
    assert_eq!(
        root_ws.request("promote", promote).await.map(|_| ()),
        Err(ErrorCode::Forbidden)
    );
    let leave = ClientMessage::Leave {
        room: team.clone(),
        client_id: ClientMsgId("leave".into()),
    };
    root_ws.request("leave", leave).await.unwrap();
    let rooms = server.connect_and_welcome(&bob).await;
    let bobs = rooms.iter().find(|r| r.id == team).unwrap();
    assert_eq!(
        bobs.role,
        Role::Owner,
        "the next person, not the bot, owns it"
    );
}

#[tokio::test]
async fn events_that_expire_before_their_webhook_delivers_them_are_counted_and_passed() {
    let receiver = Receiver::start().await;
    let server = TestServer::start_with(|c| {
        local_webhooks(c);
        c.retention_day_secs = 1;
    })
    .await;
    let root = server.create_user("root").await;
    let mut root_ws = server.connect(&root).await;
    let room = root_ws.create_room("hooked").await;
    let secret = add_webhook(&server, &root, &room.0, &receiver.url).await;
    receiver.fail(true);
    root_ws.post(&room, "m1", "one").await;
    root_ws.post(&room, "m2", "two").await;
    receiver
        .wait_until("an attempt", |got| !got.is_empty())
        .await;
    // A day here is a second: the two messages expire before the receiver works again.
    let path = format!("/api/admin/rooms/{}/retention", room.0);
    let kept = call(&server, "PUT", &path, Some(&root), Some(json!({"days": 1}))).await;
    assert_eq!(kept.status(), 204);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let run = call(
        &server,
        "POST",
        "/api/admin/retention/run",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(run.status(), 200);
    receiver.fail(false);
    root_ws.post(&room, "m3", "three").await;
    let got = receiver
        .wait_until("the message after the gap", |got| {
            got.iter().any(|d| d.accepted && d.body.contains("three"))
        })
        .await;
    assert_eq!(accepted_messages(&got, &secret), ["three"]);
    let listed =
        json_of(call(&server, "GET", "/api/admin/webhooks", Some(&root), None).await).await;
    assert_eq!(listed[0]["pending"], 0);
    assert!(listed[0]["failed"].as_i64().unwrap() >= 2, "{listed}");
}
