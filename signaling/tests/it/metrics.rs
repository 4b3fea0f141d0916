//! `/metrics`: off without a token, refused without the right one, and scraped in Prometheus'
//! text format with the figures of what happened (the recorder is one per process, so other
//! tests' figures may be in it too: values are checked as at least what this test did).

use crate::harness::TestServer;
use shared::RoomId;

async fn scrape(server: &TestServer, token: Option<&str>) -> reqwest::Response {
    let mut request = server.http.get(format!("{}/metrics", server.base));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.unwrap()
}

/// The value of the first sample of `name` (with any labels) in a scrape.
fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_are_off_without_a_token() {
    let server = TestServer::start().await;
    assert_eq!(scrape(&server, Some("anything")).await.status(), 404);
}

#[tokio::test]
async fn a_scraper_with_the_token_reads_what_happened() {
    let server = TestServer::start_with(|c| c.metrics_token = Some("scrape-secret".into())).await;
    assert_eq!(scrape(&server, None).await.status(), 401);
    assert_eq!(scrape(&server, Some("wrong")).await.status(), 401);

    let cookie = server.create_user("alice").await;
    let mut alice = server.connect(&cookie).await;
    // Someone to deliver to.
    let bob = server.create_user("bob").await;
    let _bob = server.connect(&bob).await;
    for i in 0..3 {
        alice
            .post(&RoomId::lobby(), &format!("m{i}"), "hello")
            .await;
    }
    let failed = server
        .post(
            "/api/login",
            serde_json::json!({"username": "alice", "password": "not the password"}),
        )
        .await;
    assert_eq!(failed.status(), 401);

    let scraped = scrape(&server, Some("scrape-secret")).await;
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = scraped.text().await.unwrap();
    assert!(
        value(&text, "chat_messages_stored_total").unwrap() >= 3.0,
        "{text}"
    );
    assert!(
        value(&text, "chat_sockets_connected").unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        value(&text, "chat_login_failures_total").unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        value(&text, "chat_frames_queued_total").unwrap() >= 3.0,
        "the events went through bob's socket queue: {text}"
    );
    for gauge in [
        "chat_socket_queue_frames",
        "chat_socket_queue_frames_max",
        "chat_commit_queue_messages",
    ] {
        assert!(value(&text, gauge).is_some(), "{gauge}: {text}");
    }
    assert!(text.contains("chat_commit_seconds_bucket"), "{text}");
    assert!(text.contains("chat_commit_batch_size_bucket"), "{text}");

    drop(alice);
    let mut closed = false;
    for _ in 0..50 {
        let text = scrape(&server, Some("scrape-secret"))
            .await
            .text()
            .await
            .unwrap();
        if text.contains("chat_disconnects_total{reason=") {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(closed, "a closed socket is counted with its reason");
}
