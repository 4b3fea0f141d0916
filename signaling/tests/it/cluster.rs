//! Several nodes on one database with NATS between them: what a user on one node sees of what
//! happens on another. Two servers in this process share a real PostgreSQL database (a pool
//! each) and a real `nats-server`, each with its own sockets, hub and write path, as two
//! processes would.

use crate::harness::{NatsServer, PgDatabase, TestServer, bodies, body};
use shared::RoomId;
use shared::rooms::Presence;
use shared::ws::{ClientMessage, ServerMessage};
use std::sync::Arc;

struct Cluster {
    nats: NatsServer,
    a: TestServer,
    b: TestServer,
    _database: PgDatabase,
}

/// Two nodes on one fresh PostgreSQL database, a pool each, as two processes would have.
async fn cluster() -> Cluster {
    cluster_with(|_| {}).await
}

/// [`cluster`] with both nodes' settings changed by `configure`.
async fn cluster_with(configure: impl Fn(&mut signaling::config::Config)) -> Cluster {
    let nats = NatsServer::start().await;
    let database = PgDatabase::create().await;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn signaling::store::Storage> = Arc::new(
            signaling::store::PgStore::connect(&database.url)
                .await
                .unwrap(),
        );
        let (dir, url) = (tempfile::tempdir().unwrap(), nats.url());
        nodes.push(
            TestServer::start_on_store_with(dir, store, |c| {
                c.nats_url = Some(url);
                configure(c);
            })
            .await,
        );
    }
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    Cluster {
        nats,
        a,
        b,
        _database: database,
    }
}

/// Signs up on node A and returns the cookie, which works on either node.
async fn user(cluster: &Cluster, name: &str) -> String {
    cluster.a.create_user(name).await
}

#[tokio::test]
async fn a_message_sent_on_one_node_reaches_a_member_on_another_in_real_time() {
    let cluster = cluster().await;
    let (alice, bob) = (user(&cluster, "alice").await, user(&cluster, "bob").await);
    let mut bob = cluster.b.connect(&bob).await;
    let mut alice = cluster.a.connect(&alice).await;
    let sent = alice.post(&RoomId::lobby(), "m1", "hello from A").await;
    let got = bob.next_room_event().await;
    assert_eq!((got.seq, body(&got)), (sent.seq, "hello from A"));
    let reply = bob.post(&RoomId::lobby(), "m2", "hi from B").await;
    let got = alice.next_room_event().await;
    assert_eq!((got.seq, body(&got)), (reply.seq, "hi from B"));
    assert_eq!(reply.seq.0, sent.seq.0 + 1, "one sequence over both nodes");
}

#[tokio::test]
async fn presence_and_typing_cross_nodes_and_a_departure_waits_for_the_last_node() {
    let cluster = cluster().await;
    let (alice_cookie, bob_cookie) = (user(&cluster, "alice").await, user(&cluster, "bob").await);
    let mut alice = cluster.a.connect(&alice_cookie).await;
    let bob_on_b = cluster.b.connect(&bob_cookie).await;
    assert_eq!(alice.presence_of("bob").await, Presence::Online);
    let mut bob_on_a = cluster.a.connect(&bob_cookie).await;
    drop(bob_on_b);
    // Bob is still here through node A: alice is told nothing.
    alice.expect_silence(1_000).await;
    bob_on_a
        .send(&ClientMessage::Typing {
            room: RoomId::lobby(),
        })
        .await;
    let typing = alice
        .wait_for(|e| match e {
            ServerMessage::Typing { user, .. } => Some(user),
            _ => None,
        })
        .await;
    assert_eq!(typing, "bob");
    let mut bob_on_b = cluster.b.connect(&bob_cookie).await;
    bob_on_b
        .send(&ClientMessage::Typing {
            room: RoomId::lobby(),
        })
        .await;
    drop(bob_on_a);
    drop(bob_on_b);
    assert_eq!(alice.presence_of("bob").await, Presence::Offline);
}

#[tokio::test]
async fn events_missed_while_nats_was_away_arrive_in_order_once_it_is_back() {
    let mut cluster = cluster().await;
    let (alice, bob) = (user(&cluster, "alice").await, user(&cluster, "bob").await);
    let mut alice = cluster.a.connect(&alice).await;
    let mut bob = cluster.b.connect(&bob).await;
    let first = alice.post(&RoomId::lobby(), "m0", "before").await;
    assert_eq!(bob.next_room_event().await.seq, first.seq);

    cluster.nats.stop();
    for i in 1..=3 {
        alice
            .post(
                &RoomId::lobby(),
                &format!("m{i}"),
                &format!("while away {i}"),
            )
            .await;
    }
    cluster.nats.restart().await;
    // Node B reads what it missed when NATS is back, or at the latest when the next event
    // shows the hole.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    alice.post(&RoomId::lobby(), "m4", "after").await;
    let mut got = Vec::new();
    while got.len() < 4 {
        got.push(bob.next_room_event().await);
    }
    assert_eq!(
        bodies(&got),
        ["while away 1", "while away 2", "while away 3", "after"]
    );
    let seqs: Vec<i64> = got.iter().map(|e| e.seq.0).collect();
    assert_eq!(
        seqs,
        (first.seq.0 + 1..=first.seq.0 + 4).collect::<Vec<_>>()
    );
    bob.expect_silence(500).await;
}

#[tokio::test]
async fn logging_out_on_one_node_closes_the_sessions_sockets_on_another() {
    let cluster = cluster().await;
    let cookie = user(&cluster, "alice").await;
    let mut on_b = cluster.b.connect(&cookie).await;
    let response = cluster
        .a
        .http
        .post(format!("{}/api/logout", cluster.a.base))
        .header("Cookie", &cookie)
        .header("Origin", cluster.a.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(on_b.closed().await.is_some(), "closed with a reason");
}

#[tokio::test]
async fn a_call_started_on_one_node_rings_is_joined_and_ends_from_another() {
    use shared::calls::SignalData;
    let cluster = cluster().await;
    let (alice, bob) = (user(&cluster, "alice").await, user(&cluster, "bob").await);
    let carol = user(&cluster, "carol").await;
    let mut alice = cluster.a.connect(&alice).await;
    let mut bob = cluster.b.connect(&bob).await;
    let mut carol = cluster.b.connect(&carol).await;
    let started = alice
        .request(
            "call-1",
            ClientMessage::StartCall {
                room: RoomId::lobby(),
                client_id: shared::ClientMsgId("call-1".into()),
                call: "c1".into(),
                video: false,
            },
        )
        .await
        .expect("the call starts");
    // Bob, on the other node, sees it ring: in the timeline and as the call's state.
    let ring = bob.next_room_event().await;
    assert_eq!(ring.seq, started.seq);
    let participants = |who: &[&str]| {
        let who: Vec<String> = who.iter().map(|s| (*s).to_owned()).collect();
        move |e: ServerMessage| match e {
            ServerMessage::CallState { participants, .. } if participants == who => Some(()),
            _ => None,
        }
    };
    bob.wait_for(participants(&["alice"])).await;
    bob.send(&ClientMessage::JoinCall {
        room: RoomId::lobby(),
        call: "c1".into(),
    })
    .await;
    alice.wait_for(participants(&["alice", "bob"])).await;
    // The offer goes from node B to alice on node A.
    bob.send(&ClientMessage::Signal {
        room: RoomId::lobby(),
        to: "alice".into(),
        session: "c1".into(),
        data: SignalData::Offer { sdp: "v=0".into() },
    })
    .await;
    let from = alice
        .wait_for(|e| match e {
            ServerMessage::Signal {
                from,
                data: SignalData::Offer { .. },
                ..
            } => Some(from),
            _ => None,
        })
        .await;
    assert_eq!(from, "bob");
    // Both hang up (their sockets close, on two nodes): the call ends once.
    drop(alice);
    drop(bob);
    let ended = carol
        .wait_for(|e| match e {
            ServerMessage::Event { event } if event.seq.0 > started.seq.0 => Some(event),
            _ => None,
        })
        .await;
    assert!(
        matches!(
            ended.kind,
            shared::events::EventKind::CallEnded { missed: false, .. }
        ),
        "{ended:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after = carol.catch_up(&RoomId::lobby(), started.seq, 50).await;
    let ends = after
        .iter()
        .filter(|e| matches!(e.kind, shared::events::EventKind::CallEnded { .. }))
        .count();
    assert_eq!(
        ends, 1,
        "ended once, though its sockets left through two nodes"
    );
}

/// A per-room notification choice made on one node reaches my devices on the other (they
/// follow it at once), and bob's level is his alone.
#[tokio::test]
async fn a_notification_level_set_on_one_node_reaches_my_devices_on_another() {
    use shared::rooms::NotifyLevel;
    let cluster = cluster().await;
    let (alice, bob) = (user(&cluster, "alice").await, user(&cluster, "bob").await);
    let mut laptop = cluster.a.connect(&alice).await;
    let mut phone = cluster.b.connect(&alice).await;
    let mut bob = cluster.b.connect(&bob).await;
    laptop
        .send(&ClientMessage::SetNotify {
            room: RoomId::lobby(),
            level: NotifyLevel::Mentions,
        })
        .await;
    for device in [&mut laptop, &mut phone] {
        let summary = device
            .wait_for(|e| match e {
                ServerMessage::RoomUpdated { room } => Some(room),
                _ => None,
            })
            .await;
        assert_eq!(
            (summary.id, summary.notify),
            (RoomId::lobby(), NotifyLevel::Mentions)
        );
    }
    bob.send(&ClientMessage::ListRooms).await;
    let rooms = bob
        .wait_for(|e| match e {
            ServerMessage::Rooms { rooms } => Some(rooms),
            _ => None,
        })
        .await;
    assert_eq!(rooms[0].notify, NotifyLevel::All, "bob's own level");
    // Not a member: refused, nothing sent.
    laptop
        .send(&ClientMessage::SetNotify {
            room: RoomId("00000000deadbeef".into()),
            level: NotifyLevel::None,
        })
        .await;
    let code = laptop
        .wait_for(|e| match e {
            ServerMessage::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
    assert_eq!(code, shared::ws::ErrorCode::NoSuchRoom);
}

/// Web Push with two nodes: a user connected on either node gets no push; once gone from both,
/// a message sent on the other node is pushed once, by whichever node claims it.
#[tokio::test]
async fn a_push_goes_out_once_and_only_when_the_user_is_gone_from_every_node() {
    use crate::push::{BrowserKeys, push_service, subscribe};
    use std::time::Duration;
    let nats = NatsServer::start().await;
    let database = PgDatabase::create().await;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn signaling::store::Storage> = Arc::new(
            signaling::store::PgStore::connect(&database.url)
                .await
                .unwrap(),
        );
        let (dir, url) = (tempfile::tempdir().unwrap(), nats.url());
        nodes.push(
            TestServer::start_on_store_with(dir, store, |c| {
                c.nats_url = Some(url);
                c.push_allow_private_endpoints = true;
            })
            .await,
        );
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut service = push_service().await;
    let alice = a.create_user("alice").await;
    let bob_cookie = a.create_user("bob").await;
    let keys = BrowserKeys::new();
    assert_eq!(
        subscribe(b, &bob_cookie, &keys.subscription(&service.url)).await,
        204
    );
    let mut alice = a.connect(&alice).await;
    let dm = alice
        .request(
            "dm",
            ClientMessage::OpenDirect {
                client_id: shared::ClientMsgId("dm".into()),
                user: "bob".into(),
            },
        )
        .await
        .unwrap()
        .room;
    // Bob is on node B; alice writes on node A: no push.
    let bob = b.connect(&bob_cookie).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.post(&dm, "m1", "are you on B?").await;
    assert!(service.next(Duration::from_millis(1500)).await.is_none());
    // Gone from every node: one push, from one node.
    drop(bob);
    assert_eq!(alice.presence_of("bob").await, Presence::Offline);
    alice.post(&dm, "m2", "now you are gone").await;
    let push = service.next(Duration::from_secs(10)).await.expect("a push");
    assert_eq!(keys.decrypt(&push.body)["room"], dm.0.as_str());
    assert!(
        service.next(Duration::from_millis(2000)).await.is_none(),
        "only once"
    );
}

/// Files left on the server with two nodes sharing a media directory: an upload started on one
/// node resumes on the other, and the file is served by both to a member on either.
#[tokio::test]
async fn an_upload_resumes_on_another_node_and_both_serve_the_file() {
    use crate::media::{carried, get, patch, start_upload};
    let nats = NatsServer::start().await;
    let database = PgDatabase::create().await;
    let media = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn signaling::store::Storage> = Arc::new(
            signaling::store::PgStore::connect(&database.url)
                .await
                .unwrap(),
        );
        let (dir, url, shared) = (tempfile::tempdir().unwrap(), nats.url(), media.path());
        nodes.push(
            TestServer::start_on_store_with(dir, store, |c| {
                c.nats_url = Some(url);
                c.media_dir = Some(shared.to_path_buf());
            })
            .await,
        );
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice_cookie = a.create_user("alice").await;
    let bob_cookie = a.create_user("bob").await;
    let mut alice = a.connect(&alice_cookie).await;
    let mut bob = b.connect(&bob_cookie).await;
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 199) as u8).collect();

    let started = start_upload(
        a,
        &alice_cookie,
        &RoomId::lobby(),
        "report.bin",
        content.len(),
        "",
    )
    .await;
    assert_eq!(started.status(), 201);
    let id = started.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        patch(a, &alice_cookie, &id, 0, &content[..40_000])
            .await
            .status(),
        200
    );
    // Node B knows where it stands, and takes the rest.
    let status: serde_json::Value = get(b, Some(&alice_cookie), &format!("/api/uploads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["offset"], 40_000);
    let done = patch(b, &alice_cookie, &id, 40_000, &content[40_000..]).await;
    assert_eq!(done.status(), 200);

    let sent = alice
        .request(
            "with-file",
            ClientMessage::Send {
                room: RoomId::lobby(),
                client_id: shared::ClientMsgId("with-file".into()),
                body: "the report".into(),
                reply_to: None,
                attachment: Some(id.clone()),
            },
        )
        .await
        .unwrap();
    assert!(carried(&sent).is_some());
    let seen = bob
        .wait_for(|m| match m {
            ServerMessage::Event { event } if carried(&event).is_some() => Some(event),
            _ => None,
        })
        .await;
    assert_eq!(carried(&seen), carried(&sent));
    for node in [a, b] {
        let fetched = get(node, Some(&bob_cookie), &format!("/api/attachments/{id}")).await;
        assert_eq!(fetched.status(), 200);
        assert_eq!(fetched.bytes().await.unwrap().as_ref(), content.as_slice());
    }
}

#[tokio::test]
async fn administration_on_one_node_holds_on_the_other() {
    use crate::admin::{act_on_user, call, json_of, next_notice};
    use serde_json::json;
    let cluster = cluster().await;
    let root = user(&cluster, "root").await;
    let (ann, bob) = (user(&cluster, "ann").await, user(&cluster, "bob").await);
    // A report filed on B, answered on A: the reporter on B is told.
    let mut ann_on_b = cluster.b.connect(&ann).await;
    let mut bob_on_b = cluster.b.connect(&bob).await;
    let rude = bob_on_b.post(&RoomId::lobby(), "r1", "rude").await;
    let report = json!({"room": "lobby", "seq": rude.seq.0, "reason": "Spam"});
    let filed = call(&cluster.b, "POST", "/api/reports", Some(&ann), Some(report)).await;
    assert_eq!(filed.status(), 201);
    let id = json_of(filed).await["id"].as_i64().unwrap();
    let path = format!("/api/moderation/reports/{id}");
    let answered = call(
        &cluster.a,
        "POST",
        &path,
        Some(&root),
        Some(json!({"action": "dismiss"})),
    )
    .await;
    assert_eq!(answered.status(), 200);
    assert!(next_notice(&mut ann_on_b).await.contains("no action"));
    // Settings saved on A hold on B within its refresh (5 s).
    let settings = json!({"blocked_words": ["forbidden"], "word_action": "block"});
    let saved = call(
        &cluster.a,
        "PUT",
        "/api/admin/settings",
        Some(&root),
        Some(settings),
    )
    .await;
    assert_eq!(saved.status(), 200);
    let mut refused = false;
    for attempt in 0..30 {
        let key = format!("w{attempt}");
        let message = ClientMessage::Send {
            attachment: None,
            room: RoomId::lobby(),
            client_id: shared::ClientMsgId(key.clone()),
            body: "a forbidden word".into(),
            reply_to: None,
        };
        if bob_on_b.request(&key, message).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    assert!(refused, "node B applies the word list saved on node A");
    // Deactivated on A: bob's socket on B closes, and B lets him in no more.
    assert_eq!(
        act_on_user(&cluster.a, &root, "bob", "deactivate").await,
        204
    );
    let closed = bob_on_b.closed().await.expect("a close frame");
    assert_eq!(u16::from(closed.code), 4001);
    let log_in = json!({"username": "bob", "password": "correct horse battery"});
    assert_eq!(cluster.b.post("/api/login", log_in).await.status(), 403);
}

#[tokio::test]
async fn a_webhook_gets_each_event_once_in_order_whichever_node_stored_it() {
    use crate::integrations::Receiver;
    let receiver = Receiver::start().await;
    let cluster = cluster_with(crate::integrations::local_webhooks).await;
    let root = user(&cluster, "root").await;
    let secret = crate::integrations::add_webhook(&cluster.b, &root, "lobby", &receiver.url).await;
    let mut on_a = cluster.a.connect(&root).await;
    let mut on_b = cluster.b.connect(&root).await;
    let mut sent = Vec::new();
    for i in 0..20 {
        let body = format!("m{i}");
        let node = if i % 2 == 0 { &mut on_a } else { &mut on_b };
        node.post(&RoomId::lobby(), &format!("k{i}"), &body).await;
        sent.push(body);
        if i == 7 {
            // A failure on the way: retried by whichever node holds the webhook then.
            receiver.fail(true);
            tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        }
        if i == 12 {
            receiver.fail(false);
        }
    }
    receiver.fail(false);
    let got = receiver
        .wait_until("all twenty", |got| {
            got.iter().filter(|d| d.accepted).count() >= 20
        })
        .await;
    assert!(got.iter().any(|d| !d.accepted), "some attempts failed");
    assert_eq!(
        crate::integrations::accepted_messages(&got, &secret),
        sent,
        "each once, in the room's order, from both nodes"
    );
}

#[tokio::test]
async fn a_support_conversation_is_answered_once_and_taken_by_one_agent_across_nodes() {
    use crate::admin::call;
    use crate::support::{RETURNS, assistant_says, start_guest, topic_becomes};
    let kb = tempfile::tempdir().unwrap();
    std::fs::write(kb.path().join("returns.md"), RETURNS).unwrap();
    let dir = kb.path().to_path_buf();
    // Both nodes start the desk on one database: one assistant between them.
    let cluster = cluster_with(move |c| {
        c.support_kb = Some(dir.clone());
        c.support_agents = vec!["ann".into(), "bob".into()];
    })
    .await;
    let ann = user(&cluster, "ann").await;
    let bob = user(&cluster, "bob").await;
    // The guest starts on node A and writes from node B.
    let (guest, room) = start_guest(&cluster.a, "Dana").await;
    let mut on_b = cluster.b.connect(&guest).await;
    on_b.post(&room, "q1", "How do I return an item?").await;
    let answer = assistant_says(&mut on_b, &room).await;
    assert!(answer.contains("return label"), "{answer}");
    // Answered once: by the node that stored the message, not by both.
    on_b.expect_silence(600).await;

    on_b.post(&room, "q2", "The parcel arrived broken.").await;
    topic_becomes(&mut on_b, &room, "Support · waiting for a person").await;
    // Two agents on two nodes take it at the same moment: exactly one has it.
    let claim = format!("/api/support/conversations/{}/claim", room.0);
    let (a, b) = tokio::join!(
        call(&cluster.a, "POST", &claim, Some(&ann), None),
        call(&cluster.b, "POST", &claim, Some(&bob), None)
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert!(
        statuses.contains(&204) && statuses.contains(&409),
        "{statuses:?}"
    );
    let (winner, node) = if statuses[0] == 204 {
        ("ann", &cluster.a)
    } else {
        ("bob", &cluster.b)
    };
    topic_becomes(&mut on_b, &room, &format!("Support · with {winner}")).await;
    let mut agent = node
        .connect(if winner == "ann" { &ann } else { &bob })
        .await;
    agent.post(&room, "r1", "A new one is on its way.").await;
    loop {
        let event = on_b.next_room_event().await;
        if event.sender == winner {
            assert_eq!(body(&event), "A new one is on its way.");
            break;
        }
    }
}
