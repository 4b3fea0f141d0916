//! Relay, durability and idempotency of chat messages.

use crate::harness::TestServer;
use shared::ws::{ChatMessage, ClientMessage, ServerMessage};
use shared::{MessageId, RoomId};

fn ack(event: ServerMessage) -> Option<ChatMessage> {
    match event {
        ServerMessage::Ack { message, .. } => Some(message),
        _ => None,
    }
}

fn delivered(event: ServerMessage) -> Option<ChatMessage> {
    match event {
        ServerMessage::Message { message } => Some(message),
        _ => None,
    }
}

async fn history(
    client: &mut crate::harness::Client,
    before: Option<MessageId>,
    limit: u32,
) -> (Vec<ChatMessage>, bool) {
    client
        .send(&ClientMessage::History {
            room: RoomId::lobby(),
            before,
            limit,
        })
        .await;
    client
        .wait_for(|e| match e {
            ServerMessage::History {
                messages, complete, ..
            } => Some((messages, complete)),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn a_message_reaches_everyone_else_in_the_room() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;

    alice.say("a1", "hello bob").await;
    let acked = alice.wait_for(ack).await;
    let got = bob.wait_for(delivered).await;
    assert_eq!(got, acked);
    assert_eq!(got.sender, "alice");
    assert_eq!(got.body, "hello bob");

    bob.say("b1", "hi alice").await;
    let reply = alice.wait_for(delivered).await;
    assert_eq!(reply.body, "hi alice");
    assert!(reply.id > got.id, "ids increase in acceptance order");
}

#[tokio::test]
async fn a_retried_send_is_stored_and_delivered_once() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;

    alice.say("same-key", "only once").await;
    let first = alice.wait_for(ack).await;
    alice.say("same-key", "only once").await;
    let second = alice.wait_for(ack).await;
    assert_eq!(first, second, "the retry is answered with the first copy");

    alice.say("other-key", "marker").await;
    alice.wait_for(ack).await;
    assert_eq!(bob.wait_for(delivered).await.body, "only once");
    assert_eq!(
        bob.wait_for(delivered).await.body,
        "marker",
        "no duplicate in between"
    );

    let (messages, _) = history(&mut bob, None, 50).await;
    assert_eq!(messages.len(), 2);
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    let mut alice = server.connect(&cookie).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        alice.say(&format!("k{i}"), &format!("message {i}")).await;
        acked.push(alice.wait_for(ack).await);
    }
    let frame = {
        let server = server.restart().await;
        let closed = alice.closed().await;
        let mut again = server.connect(&cookie).await;
        let (messages, complete) = history(&mut again, None, 100).await;
        assert_eq!(messages, acked, "every acknowledged message, in order");
        assert!(complete);
        closed
    };
    assert!(
        frame.is_none_or(|f| u16::from(f.code) == 1001),
        "shutdown says going away"
    );
}

#[tokio::test]
async fn history_pages_backwards() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    for i in 0..7 {
        alice.say(&format!("k{i}"), &format!("m{i}")).await;
        alice.wait_for(ack).await;
    }
    let (newest, complete) = history(&mut alice, None, 3).await;
    assert_eq!(bodies(&newest), ["m4", "m5", "m6"]);
    assert!(!complete);
    let (older, complete) = history(&mut alice, Some(newest[0].id), 10).await;
    assert_eq!(bodies(&older), ["m0", "m1", "m2", "m3"]);
    assert!(complete);
}

#[tokio::test]
async fn the_same_user_on_two_devices_sees_its_own_messages() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    let mut phone = server.connect(&cookie).await;
    let mut laptop = server.connect(&cookie).await;
    phone.say("p1", "from my phone").await;
    phone.wait_for(ack).await;
    assert_eq!(laptop.wait_for(delivered).await.body, "from my phone");
}

fn bodies(messages: &[ChatMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

#[tokio::test]
async fn a_reconnecting_client_catches_up_on_exactly_what_it_missed() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    alice.say("seen", "seen before the drop").await;
    let last_seen = alice.wait_for(ack).await.id;
    for i in 0..5 {
        alice.say(&format!("k{i}"), &format!("missed {i}")).await;
        alice.wait_for(ack).await;
    }
    let mut bodies_seen = Vec::new();
    let mut after = last_seen;
    loop {
        alice
            .send(&ClientMessage::CatchUp {
                room: RoomId::lobby(),
                after,
                limit: 2,
            })
            .await;
        let (page, up_to_date) = alice
            .wait_for(|e| match e {
                ServerMessage::CaughtUp {
                    messages,
                    up_to_date,
                    ..
                } => Some((messages, up_to_date)),
                _ => None,
            })
            .await;
        bodies_seen.extend(page.iter().map(|m| m.body.clone()));
        if up_to_date {
            break;
        }
        after = page.last().unwrap().id;
    }
    assert_eq!(
        bodies_seen,
        ["missed 0", "missed 1", "missed 2", "missed 3", "missed 4"]
    );
}
