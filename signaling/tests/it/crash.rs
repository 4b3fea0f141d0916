//! The server process is killed with SIGKILL in the middle of a stream of sends and restarted
//! on the same data directory: every acknowledged message is there, in order, without gaps, and
//! resending everything (as a client's outbox does) stores each message exactly once.

use crate::harness::TestServer;
use shared::events::Event;
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The real binary on a free port, its stderr drained so it never blocks on logging.
fn spawn_server(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_signaling"))
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .arg("--static-dir")
        .arg(data_dir.join("no-frontend"))
        .env("CHAT_SOCKET_FRAMES_PER_SECOND", "100000")
        .env("CHAT_USER_EVENTS_PER_SECOND", "100000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server announces its URL").unwrap();
        if let Some(url) = line.strip_prefix("Chat is running at ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

fn attach(url: String, dir: tempfile::TempDir) -> TestServer {
    TestServer {
        server: None,
        dir,
        base: url,
        http: reqwest::Client::new(),
    }
}

fn send(i: usize) -> ClientMessage {
    ClientMessage::Send {
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
    let (mut child, url) = spawn_server(dir.path());
    let server = attach(url, dir);
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
    let (mut child, url) = spawn_server(dir.path());
    let server = attach(url, dir);
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
