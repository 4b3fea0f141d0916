//! Failed log-ins must not grow the server's memory for good. Each argon2 hash needs 19 MiB;
//! when every hash allocated its own, glibc kept the freed blocks in per-thread arenas and the
//! resident size climbed past 300 MB after about a hundred failures. This runs the real binary,
//! so the figure is the one an operator sees.

use crate::harness::spawn_server;
use futures_util::StreamExt;
use serde_json::json;

const FAILURES: usize = 150;
const CONCURRENT: usize = 6;
/// A baseline of about 10 MB plus the hashing threads' fixed buffers (2 x 19 MiB), with room to
/// spare; the old behaviour reached about 300 MB.
const RSS_BOUND_KB: u64 = 120 * 1024;

fn resident_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn failed_log_ins_do_not_grow_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, server) = spawn_server(
        dir,
        &[
            ("CHAT_AUTH_ATTEMPTS_PER_MINUTE", "100000"),
            ("CHAT_LOGIN_FAILURES_PER_ACCOUNT", "100000"),
        ],
    );
    server.create_user("victim").await;

    let statuses: Vec<u16> = futures_util::stream::iter(0..FAILURES)
        .map(|i| {
            // Half against an existing account, half against names that do not exist.
            let username = if i % 2 == 0 {
                "victim".to_owned()
            } else {
                format!("ghost{i}")
            };
            let server = &server;
            async move {
                let body = json!({"username": username, "password": format!("wrong guess {i}")});
                server.post("/api/login", body).await.status().as_u16()
            }
        })
        .buffer_unordered(CONCURRENT)
        .collect()
        .await;
    assert!(statuses.iter().all(|&s| s == 401), "{statuses:?}");

    let rss = resident_kb(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        rss < RSS_BOUND_KB,
        "resident size after {FAILURES} failed log-ins: {} MB",
        rss / 1024
    );
}
