//! Delivery guarantees: durable before acknowledged, exactly once per client id, gap-free
//! per-room order, store-and-forward from a cursor.

use crate::harness::{TestServer, bodies, body};
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};

fn lobby() -> RoomId {
    RoomId::lobby()
}

#[tokio::test]
async fn a_message_reaches_everyone_else_in_the_room_with_the_next_seq() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;

    let acked = alice.post(&lobby(), "a1", "hello bob").await;
    let got = bob.next_room_event().await;
    assert_eq!(got, acked);
    assert_eq!(got.sender, "alice");
    assert_eq!(body(&got), "hello bob");

    bob.say("b1", "hi alice").await;
    let reply = alice.next_room_event().await;
    assert_eq!(body(&reply), "hi alice");
    assert_eq!(reply.seq, Seq(got.seq.0 + 1), "the next seq, no gap");
}

#[tokio::test]
async fn each_room_numbers_its_events_without_gaps() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let red = alice.create_room("red").await;
    let blue = alice.create_room("blue").await;
    for i in 0..5 {
        alice.post(&red, &format!("r{i}"), "red").await;
        alice.post(&blue, &format!("b{i}"), "blue").await;
    }
    for room in [red, blue] {
        let all = alice.catch_up(&room, Seq(0), 100).await;
        let seqs: Vec<i64> = all.iter().map(|e| e.seq.0).collect();
        assert_eq!(
            seqs,
            (1..=6).collect::<Vec<_>>(),
            "created at 1, then 5 messages"
        );
    }
}

#[tokio::test]
async fn a_retried_send_is_stored_and_delivered_once() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;

    let first = alice.post(&lobby(), "same-key", "only once").await;
    let second = alice.post(&lobby(), "same-key", "only once").await;
    assert_eq!(first, second, "the retry is answered with the first copy");

    alice.post(&lobby(), "other-key", "marker").await;
    assert_eq!(body(&bob.next_room_event().await), "only once");
    assert_eq!(
        body(&bob.next_room_event().await),
        "marker",
        "no duplicate in between"
    );
    let (events, _) = bob.history(&lobby(), None, 50).await;
    assert_eq!(bodies(&events), ["only once", "marker"]);
}

#[tokio::test]
async fn the_same_client_id_sent_concurrently_stores_one_message() {
    let server = TestServer::start_unthrottled().await;
    let cookie = server.create_user("alice").await;
    let mut tabs = Vec::new();
    for _ in 0..4 {
        tabs.push(server.connect(&cookie).await);
    }
    for round in 0..10 {
        let key = format!("race-{round}");
        let room = lobby();
        let sends = tabs.iter_mut().map(|tab| tab.post(&room, &key, "raced"));
        let acks = futures_util::future::join_all(sends).await;
        assert!(
            acks.windows(2).all(|w| w[0] == w[1]),
            "every racer gets the same event: {acks:?}"
        );
    }
    let (events, _) = tabs[0].history(&lobby(), None, 100).await;
    assert_eq!(events.len(), 10, "one message per client id");
}

#[tokio::test]
async fn a_client_id_belongs_to_the_room_it_was_first_used_in() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let room = alice.create_room("elsewhere").await;
    alice.post(&lobby(), "k1", "in the lobby").await;
    let reused = ClientMessage::Send {
        attachment: None,
        room: room.clone(),
        client_id: ClientMsgId("k1".into()),
        body: "here too?".into(),
        reply_to: None,
    };
    assert_eq!(
        alice.request("k1", reused).await,
        Err(shared::ws::ErrorCode::ClientIdReused)
    );
    assert_eq!(alice.catch_up(&room, Seq(1), 10).await, []);
}

#[tokio::test]
async fn acknowledged_messages_and_their_keys_survive_a_restart() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    let mut alice = server.connect(&cookie).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        acked.push(
            alice
                .post(&lobby(), &format!("k{i}"), &format!("message {i}"))
                .await,
        );
    }
    let server = server.restart().await;
    let closed = alice.closed().await;
    assert!(
        closed.is_none_or(|f| u16::from(f.code) == 1001),
        "shutdown says going away"
    );
    let mut again = server.connect(&cookie).await;
    let (events, complete) = again.history(&lobby(), None, 100).await;
    assert_eq!(events, acked, "every acknowledged message, in order");
    assert!(complete);
    let retried = again.post(&lobby(), "k7", "message 7").await;
    assert_eq!(
        retried, acked[7],
        "the key is remembered across the restart"
    );
    let (events, _) = again.history(&lobby(), None, 100).await;
    assert_eq!(events.len(), 20);
}

#[tokio::test]
async fn a_client_that_missed_a_thousand_messages_gets_exactly_those_in_order() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let bob_cookie = server.create_user("bob").await;
    let mut bob = server.connect(&bob_cookie).await;
    let seen = alice.post(&lobby(), "before", "bob saw this").await;
    assert_eq!(bob.next_room_event().await, seen);
    drop(bob);

    // Pipelined, as a client flushing its outbox does.
    for i in 0..1000 {
        alice.say(&format!("m{i}"), &format!("missed {i}")).await;
    }
    let mut acks = 0;
    while acks < 1000 {
        if let ServerMessage::Ack { .. } = alice.next_event().await {
            acks += 1;
        }
    }

    let mut bob = server.connect(&bob_cookie).await;
    let missed = bob.catch_up(&lobby(), seen.seq, 100).await;
    let expected: Vec<String> = (0..1000).map(|i| format!("missed {i}")).collect();
    assert_eq!(bodies(&missed), expected);
    let seqs: Vec<i64> = missed.iter().map(|e| e.seq.0).collect();
    assert_eq!(
        seqs,
        ((seen.seq.0 + 1)..=(seen.seq.0 + 1000)).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn history_pages_backwards() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    for i in 0..7 {
        alice
            .post(&lobby(), &format!("k{i}"), &format!("m{i}"))
            .await;
    }
    let (newest, complete) = alice.history(&lobby(), None, 3).await;
    assert_eq!(bodies(&newest), ["m4", "m5", "m6"]);
    assert!(!complete);
    let (older, complete) = alice.history(&lobby(), Some(newest[0].seq), 10).await;
    assert_eq!(bodies(&older), ["m0", "m1", "m2", "m3"]);
    assert!(complete);
}

#[tokio::test]
async fn the_same_user_on_two_devices_sees_its_own_messages() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    let mut phone = server.connect(&cookie).await;
    let mut laptop = server.connect(&cookie).await;
    phone.post(&lobby(), "p1", "from my phone").await;
    assert_eq!(body(&laptop.next_room_event().await), "from my phone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_and_reactions_reach_a_member_gap_free_in_seq_order() {
    // Bursts from several sockets keep the group commit's queue full, so batches follow each
    // other closely, and reactions take seqs of their own in between: a member must still get
    // every event exactly once, in seq order, and every sender all its acks.
    // Fewer events than a socket may have queued (256), so no reader here can fall behind.
    const SENDERS: usize = 4;
    const PER_SENDER: usize = 50;
    const REACTIONS: usize = 30;
    let server = TestServer::start_unthrottled().await;
    let mut watcher = server.connect(&server.create_user("watcher").await).await;
    let mut reactor = server.connect(&server.create_user("reactor").await).await;
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let cookie = server.create_user(&format!("sender{s}")).await;
        senders.push(server.connect(&cookie).await);
    }
    let target = reactor.post(&lobby(), "t0", "react to me").await;
    assert_eq!(watcher.next_room_event().await.seq, target.seq);
    let mut bursts = Vec::new();
    for (s, mut sender) in senders.into_iter().enumerate() {
        bursts.push(tokio::spawn(async move {
            let burst: Vec<ClientMessage> = (0..PER_SENDER)
                .map(|i| ClientMessage::Send {
                    attachment: None,
                    room: lobby(),
                    client_id: ClientMsgId(format!("s{s}-{i}")),
                    body: format!("{s}/{i}"),
                    reply_to: None,
                })
                .collect();
            sender.send_burst(&burst).await;
            let mut acked = 0;
            while acked < PER_SENDER {
                if let ServerMessage::Ack { .. } = sender.next_reply().await {
                    acked += 1;
                }
            }
        }));
    }
    for i in 0..REACTIONS {
        let react = ClientMessage::React {
            room: lobby(),
            client_id: ClientMsgId(format!("r{i}")),
            target: target.seq,
            emoji: "👍".into(),
            add: i % 2 == 0,
        };
        let reacted = reactor.request(&format!("r{i}"), react).await;
        assert!(reacted.is_ok(), "reaction {i}: {reacted:?}");
    }
    for burst in bursts {
        burst.await.expect("every send acked");
    }
    let total = SENDERS * PER_SENDER + REACTIONS;
    let mut seqs = Vec::with_capacity(total);
    while seqs.len() < total {
        seqs.push(watcher.next_room_event().await.seq.0);
    }
    let first = target.seq.0 + 1;
    let expected: Vec<i64> = (first..first + total as i64).collect();
    assert_eq!(seqs, expected, "every event once, in seq order");
}

#[tokio::test]
async fn a_burst_of_sends_on_one_socket_is_stored_and_acked_in_the_order_sent() {
    // An outbox flushed after a reconnect: many sends written at once, several of them in
    // flight in the group commit together. Each is acked, in order, with consecutive seqs;
    // a repeat in the middle of the burst is answered with the first copy; a refused one (a
    // room I am not in) does not hold up or reorder the rest.
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let strangers = bob.create_room("not for alice").await;
    let mut keys = Vec::new();
    for i in 0..60 {
        let (room, key) = match i {
            20 => (strangers.clone(), "refused".to_owned()),
            40 => (lobby(), "k5".to_owned()),
            _ => (lobby(), format!("k{i}")),
        };
        alice.say_in(&room, &key, &format!("message {i}")).await;
        keys.push(key);
    }
    let mut answers = Vec::new();
    while answers.len() < keys.len() {
        match alice.next_reply().await {
            ServerMessage::Ack { client_id, event } => answers.push((client_id.0, Some(event))),
            ServerMessage::Error {
                client_id: Some(id),
                ..
            } => answers.push((id.0, None)),
            other => panic!("unexpected {other:?}"),
        }
    }
    let answered: Vec<&str> = answers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        answered, keys,
        "answers come in the order the sends were written"
    );
    assert!(answers[20].1.is_none(), "a room I am not in is refused");
    let first = answers[0].1.as_ref().unwrap().seq.0;
    let mut expected = first;
    for (i, (_, event)) in answers.iter().enumerate() {
        match i {
            20 => {}
            40 => assert_eq!(event, &answers[5].1, "the repeat gets the first copy"),
            _ => {
                assert_eq!(event.as_ref().unwrap().seq.0, expected, "send {i}");
                expected += 1;
            }
        }
    }
    let stored = bob.catch_up(&lobby(), Seq(first - 1), 500).await;
    assert_eq!(stored.len(), 58, "58 distinct messages, each stored once");
    assert_eq!(body(&stored[57]), "message 59");
}
