//! The server process is killed with SIGKILL in the middle of a stream of sends and restarted
//! on the same data directory: every acknowledged message is there, in order, without gaps, and
//! resending everything (as a client's outbox does) stores each message exactly once.

use crate::harness::{TestServer, spawn_server};
use shared::events::Event;
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::{BTreeMap, HashSet};

fn send(i: usize) -> ClientMessage {
    ClientMessage::Send {
        attachment: None,
        room: RoomId::lobby(),
        client_id: ClientMsgId(format!("m{i}")),
        body: format!("message {i}"),
        reply_to: None,
    }
}

const TOTAL: usize = 400;

#[tokio::test]
async fn no_acknowledged_message_is_lost_when_the_server_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, server) = spawn_server(dir, &[]);
    let cookie = server.create_user("alice").await;
    let mut alice = server.connect(&cookie).await;

    for i in 0..TOTAL {
        alice.send(&send(i)).await;
    }
    // Kill the process partway through the acks, without any chance to clean up.
    let mut acked: BTreeMap<String, Event> = BTreeMap::new();
    while acked.len() < TOTAL / 4 {
        if let ServerMessage::Ack { client_id, event } = alice.next_event().await {
            acked.insert(client_id.0, event);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Acks already on the wire count too: the server promised those.
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        futures_util::StreamExt::next(&mut alice.ws),
    )
    .await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame
            && let Ok(ServerMessage::Ack { client_id, event }) = serde_json::from_str(text.as_str())
        {
            acked.insert(client_id.0, event);
        }
    }
    assert!(acked.len() < TOTAL, "the kill landed mid-stream");

    let TestServer { dir, .. } = server;
    let (mut child, server) = spawn_server(dir, &[]);
    let mut alice = server.connect(&cookie).await;
    let stored = alice.catch_up(&RoomId::lobby(), Seq(0), 100).await;
    let seqs: Vec<i64> = stored.iter().map(|e| e.seq.0).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "no gaps"
    );
    for (client_id, event) in &acked {
        assert!(
            stored.contains(event),
            "acknowledged {client_id} is missing"
        );
    }

    // The outbox resends everything it has no ack for, and the rest for good measure.
    for i in 0..TOTAL {
        let again = alice.request(&format!("m{i}"), send(i)).await.unwrap();
        if let Some(first) = acked.get(&format!("m{i}")) {
            assert_eq!(&again, first, "a resend answers with the stored copy");
        }
    }
    let all = alice.catch_up(&RoomId::lobby(), Seq(0), 100).await;
    assert_eq!(all.len(), TOTAL, "each message exactly once");
    let keys: HashSet<_> = all.iter().map(|e| e.client_id.clone()).collect();
    assert_eq!(keys.len(), TOTAL);
    child.kill().unwrap();
    child.wait().unwrap();
}
