//! End to end: the real chat server in this process, two `peer` processes on loopback moving
//! files over WebRTC, checked byte for byte by SHA-256 of what is on disk.

use serde_json::Value;
use sha2::{Digest, Sha256};
use signaling::config::Config;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Every test finishes well within this, or fails.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "correct horse battery";

struct TestServer {
    server: signaling::Server,
    _data: tempfile::TempDir,
}

impl TestServer {
    async fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(data.path().to_path_buf());
        config.static_dir = data.path().join("no-frontend");
        config.auth_attempts_per_minute = 1000;
        config.socket_frames_per_second = 1000;
        config.user_events_per_second = 1000;
        let server = signaling::start(config).await.unwrap();
        Self {
            server,
            _data: data,
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }
}

/// A running `peer` process and the JSON events it printed.
struct Peer {
    name: String,
    child: Child,
    events: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
}

impl Peer {
    fn start(server: &TestServer, user: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peer"))
            .args(["--server", &server.url(), "--username", user, "--signup"])
            .args(args)
            .env("PEER_PASSWORD", PASSWORD)
            // PEER_LOG=debug,webrtc=trace... shows more when a test needs explaining.
            .env(
                "RUST_LOG",
                std::env::var("PEER_LOG").unwrap_or_else(|_| "peer=info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the peer binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        let name = user.to_owned();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self {
            name,
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Waits for the next event named `name`, keeping the others in `seen`.
    async fn wait_for(&mut self, name: &str) -> Value {
        loop {
            let event =
                self.events.recv().await.unwrap_or_else(|| {
                    panic!("{} exited before {name}: {:?}", self.name, self.seen)
                });
            self.seen.push(event.clone());
            if event["event"] == name {
                return event;
            }
        }
    }

    /// Waits for the process to exit and returns every event it printed.
    async fn finish(mut self) -> Vec<Value> {
        let status = self.child.wait().await.unwrap();
        while let Some(event) = self.events.recv().await {
            self.seen.push(event);
        }
        assert!(
            status.success(),
            "{} exited with {status}; events {:?}",
            self.name,
            self.seen
        );
        self.seen
    }
}

fn events<'a>(all: &'a [Value], name: &str) -> Vec<&'a Value> {
    all.iter().filter(|e| e["event"] == name).collect()
}

fn random_file(dir: &Path, name: &str, size: usize) -> PathBuf {
    let mut bytes = vec![0u8; size];
    getrandom::fill(&mut bytes).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    path
}

fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    shared::transfer::hex(&Sha256::digest(bytes))
}

/// Sends `files` from a fresh sender to a fresh receiver; returns both peers' events.
async fn transfer(
    files: &[PathBuf],
    receiver_args: &[&str],
    sender_args: &[&str],
    out: &Path,
) -> (Vec<Value>, Vec<Value>) {
    let server = TestServer::start().await;
    let count = files.len().to_string();
    let out_dir = out.to_str().unwrap();
    let mut receive = vec!["receive", "--dir", out_dir, "--count", &count];
    receive.extend_from_slice(receiver_args);
    let mut bob = Peer::start(&server, "bob", &receive);
    bob.wait_for("ready").await;

    let mut send = vec!["send", "--to", "bob"];
    send.extend_from_slice(sender_args);
    let paths: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    send.extend_from_slice(&paths);
    let alice = Peer::start(&server, "alice", &send);

    let (alice, bob) = tokio::join!(alice.finish(), bob.finish());
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let stored = out.join(name);
        assert_eq!(sha256_of(path), sha256_of(&stored), "{name} arrived intact");
        let received = events(&bob, "received");
        let event = received
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no received event for {name}: {bob:?}"));
        assert_eq!(event["sha256"], sha256_of(path));
        assert_eq!(event["path"], stored.to_str().unwrap());
        assert!(
            events(&alice, "sent").iter().any(|e| e["name"] == name),
            "the sender saw {name} verified: {alice:?}"
        );
    }
    assert!(
        std::fs::read_dir(out).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".part")),
        "no partial file is left behind"
    );
    (alice, bob)
}

async fn bounded<T>(test: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("the test finished in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_arrive_byte_identical() {
    bounded(async {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = random_file(src.path(), "random.bin", 10 * 1024 * 1024);
        let (_, bob) = transfer(&[file], &[], &[], out.path()).await;
        let offer = events(&bob, "offer");
        assert_eq!(offer.len(), 1);
        assert_eq!(offer[0]["from"], "alice");
        assert_eq!(offer[0]["files"][0]["size"], 10 * 1024 * 1024);
        assert!(events(&bob, "resumed").is_empty(), "nothing dropped");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_drops_resumes_where_it_stopped() {
    bounded(async {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = random_file(src.path(), "resume.bin", 10 * 1024 * 1024);
        let drop_after = (4 * 1024 * 1024).to_string();
        let (_, bob) = transfer(&[file], &["--drop-after", &drop_after], &[], out.path()).await;
        assert_eq!(events(&bob, "dropped").len(), 1);
        let resumed = events(&bob, "resumed");
        assert_eq!(resumed.len(), 1, "{bob:?}");
        assert_eq!(resumed[0]["file"], 0);
        let offset = resumed[0]["offset"].as_u64().unwrap();
        assert!(
            offset >= 4 * 1024 * 1024,
            "resumed at {offset}, not from the start"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_drops_is_resumed_by_the_receiver() {
    bounded(async {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = random_file(src.path(), "resume.bin", 10 * 1024 * 1024);
        let drop_after = (4 * 1024 * 1024).to_string();
        let (alice, bob) = transfer(&[file], &[], &["--drop-after", &drop_after], out.path()).await;
        assert_eq!(events(&alice, "dropped").len(), 1);
        let resumed = events(&bob, "resumed");
        assert!(!resumed.is_empty(), "{bob:?}");
        let offset = resumed[0]["offset"].as_u64().unwrap();
        assert!(offset > 0, "resumed at {offset}, not from the start");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_files_in_one_offer_both_arrive() {
    bounded(async {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let files = [
            random_file(src.path(), "first.bin", 300 * 1024 + 7),
            random_file(src.path(), "second.txt", 1000),
        ];
        let (_, bob) = transfer(&files, &[], &[], out.path()).await;
        let offer = events(&bob, "offer");
        assert_eq!(offer.len(), 1, "one offer for both files");
        assert_eq!(offer[0]["files"].as_array().unwrap().len(), 2);
        assert_eq!(events(&bob, "received").len(), 2);
    })
    .await;
}
