//! The support desk over real HTTP and sockets: the assistant answers from a knowledge base
//! written for the test, with its sources; a rule hands the conversation to a person with a
//! summary; of two agents claiming at once exactly one gets it; the agent's reply is timed
//! and the conversation resolved. Every change of hands is a topic change in the room.

use crate::admin::{call, json_of};
use crate::harness::{Client, TestServer, body};
use serde_json::Value;
use shared::RoomId;
use shared::events::EventKind;
use shared::ws::ServerMessage;

pub(crate) const RETURNS: &str = "# Returns\n\n## How to return an item\n\nPrint the return label from \
    your orders page and drop the parcel at a post office within 30 days.\n\n## Refunds\n\n\
    Refunds reach your card within 5 working days after the item arrives.\n";
const SHIPPING: &str = "# Shipping\n\n## Delivery times\n\nOrders ship within 2 days; \
    delivery takes 3 to 5 days in Europe.\n";

/// `POST /api/support/conversations` as the account behind `cookie`.
async fn open_conversation(server: &TestServer, cookie: &str) -> reqwest::Response {
    call(
        server,
        "POST",
        "/api/support/conversations",
        Some(cookie),
        None,
    )
    .await
}

/// The next message the assistant posts in `room` (other events are passed over).
pub(crate) async fn assistant_says(client: &mut Client, room: &RoomId) -> String {
    loop {
        let event = client.next_room_event().await;
        if &event.room == room
            && event.sender == "assistant"
            && matches!(event.kind, EventKind::Message { .. })
        {
            return body(&event).to_owned();
        }
    }
}

pub(crate) async fn topic_becomes(client: &mut Client, room: &RoomId, topic: &str) {
    loop {
        let event = client.next_room_event().await;
        if &event.room == room
            && let EventKind::TopicChanged { topic: now } = &event.kind
            && now == topic
        {
            return;
        }
    }
}

#[tokio::test]
async fn the_assistant_answers_from_the_documents_then_one_agent_takes_over() {
    let kb = tempfile::tempdir().unwrap();
    std::fs::write(kb.path().join("returns.md"), RETURNS).unwrap();
    std::fs::write(kb.path().join("shipping.md"), SHIPPING).unwrap();
    let dir = kb.path().to_path_buf();
    let server = TestServer::start_with(move |c| {
        c.support_kb = Some(dir);
        c.support_agents = vec!["ann".into(), "bob".into()];
    })
    .await;
    let root = server.create_user("root").await;
    let ann = server.create_user("ann").await;
    let bob = server.create_user("bob").await;
    let cus = server.create_user("cus").await;
    let mut customer = server.connect(&cus).await;
    let opened = open_conversation(&server, &cus).await;
    assert_eq!(opened.status(), 201);
    let room = RoomId(json_of(opened).await["room"].as_str().unwrap().to_owned());
    assert!(
        assistant_says(&mut customer, &room)
            .await
            .starts_with("Hi! I'm the assistant")
    );

    // The conversation is the customer's with the team: the customer brings nobody in.
    assert_eq!(
        customer.add(&room, "bob").await.map(|_| ()),
        Err(shared::ws::ErrorCode::Forbidden)
    );
    // Two questions the documents answer, each with its source.
    customer.post(&room, "q1", "How do I return an item?").await;
    let answer = assistant_says(&mut customer, &room).await;
    assert!(answer.contains("Print the return label"), "{answer}");
    assert!(
        answer.contains("Source: /kb/returns.md#how-to-return-an-item"),
        "{answer}"
    );
    customer
        .post(&room, "q2", "How long does delivery take in Europe?")
        .await;
    let answer = assistant_says(&mut customer, &room).await;
    assert!(answer.contains("3 to 5 days"), "{answer}");
    assert!(
        answer.contains("/kb/shipping.md#delivery-times"),
        "{answer}"
    );
    // The source link works.
    let document = server
        .http
        .get(format!("{}/kb/returns.md", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(document.status(), 200);
    assert!(document.text().await.unwrap().contains("return label"));

    // A problem a rule sends to a person.
    customer
        .post(&room, "q3", "The parcel arrived broken, what now?")
        .await;
    let told = assistant_says(&mut customer, &room).await;
    assert!(
        told.contains("handing this conversation to a person"),
        "{told}"
    );
    topic_becomes(&mut customer, &room, "Support · waiting for a person").await;

    // The support team sees it waiting, with the summary; others may not look.
    let queue: Value = server.get_json("/api/support/queue", Some(&ann)).await;
    let item = &queue[0];
    assert_eq!(
        (item["room"].as_str(), item["state"].as_str()),
        (Some(room.0.as_str()), Some("waiting"))
    );
    assert_eq!(item["reason"], "topic");
    let summary = item["summary"].as_str().unwrap();
    assert!(summary.contains("How do I return an item?"), "{summary}");
    assert!(summary.contains("returns.md"), "{summary}");
    assert!(summary.contains("broken"), "{summary}");
    assert_eq!(
        call(&server, "GET", "/api/support/queue", Some(&cus), None)
            .await
            .status(),
        403
    );
    let claim = format!("/api/support/conversations/{}/claim", room.0);
    assert_eq!(
        call(&server, "POST", &claim, Some(&cus), None)
            .await
            .status(),
        403
    );

    // Two agents click at once: exactly one has it.
    let (a, b) = tokio::join!(
        call(&server, "POST", &claim, Some(&ann), None),
        call(&server, "POST", &claim, Some(&bob), None)
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert!(
        statuses.contains(&204) && statuses.contains(&409),
        "{statuses:?}"
    );
    let (agent_name, agent) = if statuses[0] == 204 {
        ("ann", &ann)
    } else {
        ("bob", &bob)
    };
    topic_becomes(
        &mut customer,
        &room,
        &format!("Support · with {agent_name}"),
    )
    .await;
    // The agent is in the room now, with the whole history, and replies.
    let (mut agent_ws, welcome) = server.connect_welcomed(agent).await;
    let ServerMessage::Welcome { rooms, .. } = welcome else {
        panic!()
    };
    assert!(rooms.iter().any(|r| r.id == room));
    let history = agent_ws.catch_up(&room, shared::Seq(0), 100).await;
    assert!(history.iter().any(
        |e| matches!(&e.kind, EventKind::Message { body, .. } if body == "How do I return an item?")
    ));
    agent_ws
        .post(&room, "a1", "Sorry about that! A new one is on its way.")
        .await;
    let reply = customer.next_room_event().await;
    assert_eq!(body(&reply), "Sorry about that! A new one is on its way.");
    let mine: Value = server.get_json("/api/support/queue", Some(agent)).await;
    assert_eq!(
        (mine[0]["state"].as_str(), mine[0]["mine"].as_bool()),
        (Some("agent"), Some(true))
    );

    let resolve = format!("/api/support/conversations/{}/resolve", room.0);
    let other = if agent_name == "ann" { &bob } else { &ann };
    assert_eq!(
        call(&server, "POST", &resolve, Some(other), None)
            .await
            .status(),
        409
    );
    assert_eq!(
        call(&server, "POST", &resolve, Some(agent), None)
            .await
            .status(),
        204
    );
    topic_becomes(&mut customer, &room, "Support · resolved").await;
    // Server administrators are on the team too.
    assert_eq!(
        call(&server, "GET", "/api/support/queue", Some(&root), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_customer_has_a_few_open_conversations_at_most() {
    let kb = tempfile::tempdir().unwrap();
    std::fs::write(kb.path().join("returns.md"), RETURNS).unwrap();
    let dir = kb.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.support_kb = Some(dir)).await;
    server.create_user("root").await;
    let cus = server.create_user("cus").await;
    for _ in 0..3 {
        let opened = open_conversation(&server, &cus).await;
        assert_eq!(opened.status(), 201);
    }
    let fourth = open_conversation(&server, &cus).await;
    assert_eq!(fourth.status(), 409, "too many: go on in one of them");
}

#[tokio::test]
async fn without_a_knowledge_base_there_is_no_support_desk() {
    let server = TestServer::start().await;
    let cus = server.create_user("cus").await;
    let opened = open_conversation(&server, &cus).await;
    assert_eq!(opened.status(), 404);
}

/// A knowledge base of one document, and a server whose support team is `ann`.
async fn desk_server() -> (TestServer, tempfile::TempDir) {
    let kb = tempfile::tempdir().unwrap();
    std::fs::write(kb.path().join("returns.md"), RETURNS).unwrap();
    let dir = kb.path().to_path_buf();
    let server = TestServer::start_with(move |c| {
        c.support_kb = Some(dir);
        c.support_agents = vec!["ann".into()];
    })
    .await;
    (server, kb)
}

/// `POST /api/support/guest`: the guest's session cookie and conversation.
pub(crate) async fn start_guest(server: &TestServer, name: &str) -> (String, RoomId) {
    let response = call(
        server,
        "POST",
        "/api/support/guest",
        None,
        Some(serde_json::json!({ "name": name })),
    )
    .await;
    assert_eq!(response.status(), 201);
    let cookie = crate::harness::session_cookie(&response).expect("a guest's session cookie");
    let room = RoomId(json_of(response).await["room"].as_str().unwrap().to_owned());
    (cookie, room)
}

#[tokio::test]
async fn a_guest_reaches_its_own_conversation_and_nothing_else() {
    let (server, _kb) = desk_server().await;
    let root = server.create_user("root").await;
    let ann = server.create_user("ann").await;
    let (guest, room) = start_guest(&server, "Dana").await;

    // The support page knows who it talks to.
    let me: Value = server.get_json("/api/support/me", Some(&guest)).await;
    assert_eq!(
        (
            me["display_name"].as_str(),
            me["guest"].as_bool(),
            me["agent"].as_bool()
        ),
        (Some("Dana"), Some(true), Some(false))
    );
    let team: Value = server.get_json("/api/support/me", Some(&ann)).await;
    assert_eq!(team["agent"], true);

    // The assistant answers the guest in its conversation, the only room it is in.
    let (mut ws, welcome) = server.connect_welcomed(&guest).await;
    let ServerMessage::Welcome { rooms, .. } = welcome else {
        panic!()
    };
    assert_eq!(rooms.iter().map(|r| &r.id).collect::<Vec<_>>(), vec![&room]);
    assert!(rooms[0].name.contains("Dana (guest)"), "{}", rooms[0].name);
    ws.post(&room, "g1", "How do I return an item?").await;
    let answer = assistant_says(&mut ws, &room).await;
    assert!(answer.contains("Print the return label"), "{answer}");

    // Every other endpoint is closed to the guest's session.
    for (method, path) in [
        ("GET", "/api/session"),
        ("GET", "/api/sessions"),
        ("GET", "/api/blocks"),
        ("GET", "/api/export"),
        ("GET", "/api/support/queue"),
        ("POST", "/api/support/conversations"),
        ("GET", "/api/admin/insight"),
        ("GET", &format!("/api/rooms/{}/threads", room.0)),
    ] {
        let status = call(&server, method, path, Some(&guest), None)
            .await
            .status();
        assert_eq!(status, 403, "{method} {path}");
    }
    // On the socket: no other room, no new rooms, nobody to talk to directly.
    let lobby = RoomId("lobby".into());
    assert_eq!(
        ws.post_result(&lobby, "g2", "hello everyone").await,
        Err(shared::ws::ErrorCode::NoSuchRoom)
    );
    let created = ws
        .request(
            "g3",
            shared::ws::ClientMessage::CreateRoom {
                client_id: shared::ClientMsgId("g3".into()),
                name: "mine".into(),
                topic: String::new(),
            },
        )
        .await;
    assert_eq!(created.map(|_| ()), Err(shared::ws::ErrorCode::Forbidden));
    let direct = ws
        .request(
            "g4",
            shared::ws::ClientMessage::OpenDirect {
                client_id: shared::ClientMsgId("g4".into()),
                user: "root".into(),
            },
        )
        .await;
    assert_eq!(direct.map(|_| ()), Err(shared::ws::ErrorCode::Forbidden));
    // And nobody brings the guest into another room.
    let guest_name = me["username"].as_str().unwrap().to_owned();
    let mut admin = server.connect(&root).await;
    let other = admin.create_room("other").await;
    assert_eq!(
        admin.add(&other, &guest_name).await.map(|_| ()),
        Err(shared::ws::ErrorCode::Forbidden)
    );
    // A guest is not an account: the server's first person is still its administrator, who
    // cannot make a guest one.
    let admin_only: Value = server.get_json("/api/session", Some(&root)).await;
    assert_eq!(admin_only["admin"], true);
    assert_eq!(
        crate::admin::act_on_user(&server, &root, &guest_name, "make_admin").await,
        403
    );
    // Nobody signs up under a guest's kind of name, to pass for one in front of the team.
    let lookalike = server
        .post(
            "/api/signup",
            serde_json::json!({"username": "Guest-team", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(lookalike.status(), 400);
}

#[tokio::test]
async fn guests_are_held_to_strict_rates() {
    let (server, _kb) = desk_server().await;
    server.create_user("root").await;
    let (guest, room) = start_guest(&server, "Eve").await;
    let mut ws = server.connect(&guest).await;
    // A burst of messages, then one every few seconds.
    let mut limited = None;
    for i in 0..12 {
        if let Err(code) = ws.post_result(&room, &format!("m{i}"), "hello?").await {
            limited = Some((i, code));
            break;
        }
    }
    assert_eq!(limited, Some((8, shared::ws::ErrorCode::RateLimited)));
    // New guests from one address: a few, then refused.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = call(
            &server,
            "POST",
            "/api/support/guest",
            None,
            Some(serde_json::json!({ "name": "Mallory" })),
        )
        .await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429], "Eve was the first");
    // A name is needed.
    let nameless = call(
        &server,
        "POST",
        "/api/support/guest",
        None,
        Some(serde_json::json!({ "name": "  " })),
    )
    .await;
    assert_eq!(nameless.status(), 400);
}

#[tokio::test]
async fn an_agent_puts_a_conversation_back_in_the_queue() {
    let (server, _kb) = desk_server().await;
    let root = server.create_user("root").await;
    let ann = server.create_user("ann").await;
    let (guest, room) = start_guest(&server, "Finn").await;
    let mut ws = server.connect(&guest).await;
    ws.post(&room, "p1", "I want to talk to a human").await;
    topic_becomes(&mut ws, &room, "Support · waiting for a person").await;
    let claim = format!("/api/support/conversations/{}/claim", room.0);
    let unassign = format!("/api/support/conversations/{}/unassign", room.0);
    assert_eq!(
        call(&server, "POST", &claim, Some(&ann), None)
            .await
            .status(),
        204
    );
    // Only the agent who has it puts it back.
    assert_eq!(
        call(&server, "POST", &unassign, Some(&root), None)
            .await
            .status(),
        409
    );
    assert_eq!(
        call(&server, "POST", &unassign, Some(&ann), None)
            .await
            .status(),
        204
    );
    topic_becomes(&mut ws, &room, "Support · waiting for a person").await;
    let queue: Value = server.get_json("/api/support/queue", Some(&root)).await;
    assert_eq!(
        (queue[0]["state"].as_str(), queue[0]["reason"].as_str()),
        (Some("waiting"), Some("asked_for_person"))
    );
    // Someone else takes it now.
    assert_eq!(
        call(&server, "POST", &claim, Some(&root), None)
            .await
            .status(),
        204
    );
    // The insight page counts it: one conversation, handed over because they asked.
    let insight: Value = server.get_json("/api/admin/insight", Some(&root)).await;
    let support = &insight["support"];
    assert_eq!(support["conversations"], 1);
    assert_eq!(support["without_person"], 0);
    assert_eq!(support["escalations"][0]["reason"], "asked_for_person");
    assert_eq!(
        support["escalations"][0]["explained"],
        "the customer asked for a person"
    );
}
