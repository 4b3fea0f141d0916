//! Sign-up, log-in, sessions and log-out over real HTTP.

use crate::harness::{TestServer, session_cookie};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sign_up_then_log_in_with_the_same_password() {
    let server = TestServer::start().await;
    let cookie = server.create_user("Alice").await;
    let me = server
        .http
        .get(format!("{}/api/session", server.base))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "Alice");

    let login = server
        .post(
            "/api/login",
            json!({"username": "alice", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status(), 200, "usernames match regardless of case");
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let second = session_cookie(&login).unwrap();
    assert_ne!(second, cookie, "every log-in gets a fresh token");
    let token = second.trim_start_matches("chat_session=");
    assert!(token.len() >= 22, "at least 128 bits of base64url: {token}");
    assert_eq!(login.json::<Value>().await.unwrap()["username"], "Alice");
}

#[tokio::test]
async fn clear_errors_for_taken_names_wrong_passwords_and_bad_input() {
    let server = TestServer::start().await;
    server.create_user("bob").await;

    let taken = server
        .post(
            "/api/signup",
            json!({"username": "BOB", "password": "another password"}),
        )
        .await;
    assert_eq!(taken.status(), 409);
    assert_eq!(error_code(taken).await, "username_taken");

    let wrong = server
        .post(
            "/api/login",
            json!({"username": "bob", "password": "not the password"}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert!(session_cookie(&wrong).is_none());
    assert_eq!(error_code(wrong).await, "invalid_credentials");

    let nobody = server
        .post(
            "/api/login",
            json!({"username": "nobody", "password": "whatever123"}),
        )
        .await;
    assert_eq!(nobody.status(), 401);
    assert_eq!(error_code(nobody).await, "invalid_credentials");

    for bad in [
        json!({"username": "x", "password": "long enough"}),
        json!({"username": "has space", "password": "long enough"}),
        json!({"username": "carol", "password": "short"}),
    ] {
        let response = server.post("/api/signup", bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(error_code(response).await, "invalid_input");
    }

    let garbage = server
        .http
        .post(format!("{}/api/signup", server.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert_eq!(error_code(garbage).await, "bad_request");

    let huge = server
        .post(
            "/api/signup",
            json!({"username": "dave", "password": "p".repeat(100_000)}),
        )
        .await;
    assert!(huge.status().is_client_error(), "{}", huge.status());

    // The server is still fine after all that.
    server.create_user("carol").await;
}

#[tokio::test]
async fn requests_from_foreign_origins_are_refused() {
    let server = TestServer::start().await;
    let response = server
        .http
        .post(format!("{}/api/signup", server.base))
        .header("Origin", "http://evil.example")
        .json(&json!({"username": "mallory", "password": "long enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "forbidden_origin");
}

#[tokio::test]
async fn password_guessing_is_rate_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = signaling::config::Config::for_data_dir(dir.path().to_path_buf());
    config.auth_attempts_per_minute = 3;
    let server = signaling::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = http
            .post(format!("{}/api/login", server.url()))
            .json(&json!({"username": "victim", "password": "guess1234"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}

#[tokio::test]
async fn logout_ends_the_session_and_closes_its_sockets() {
    let server = TestServer::start().await;
    let cookie = server.create_user("erin").await;
    let mut socket = server.connect(&cookie).await;

    let logout = server
        .http
        .post(format!("{}/api/logout", server.base))
        .header("Cookie", &cookie)
        .header("Origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    let frame = socket.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), shared::ws::close::LOGGED_OUT);

    let me = server
        .http
        .get(format!("{}/api/session", server.base))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert!(server.try_connect(Some(&cookie), None).await.is_err());
}

#[tokio::test]
async fn health_check_and_unknown_api_paths() {
    let server = TestServer::start().await;
    let health = server
        .http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let missing = server
        .http
        .get(format!("{}/api/nope", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// A guesser who spreads over many addresses is stopped per account: after the allowed
/// failures even the right password is refused until the window has passed, names without an
/// account are answered alike, and other accounts are untouched.
#[tokio::test]
async fn password_guessing_is_throttled_per_account_across_addresses() {
    const WINDOW: Duration = Duration::from_secs(4);
    let server = TestServer::start_with(|c| {
        c.trust_forwarded_for = true;
        c.login_failures_per_account = 3;
        c.login_failure_window = WINDOW;
    })
    .await;
    server.create_user("victim").await;
    server.create_user("bystander").await;
    let right = "correct horse battery";
    let log_in = |username: &str, password: &str, client: usize| {
        server
            .http
            .post(format!("{}/api/login", server.base))
            .header("Origin", server.origin())
            .header("X-Forwarded-For", format!("203.0.113.{client}"))
            .json(&json!({"username": username, "password": password}))
            .send()
    };

    let first_failure = Instant::now();
    let mut statuses = Vec::new();
    for client in 0..5 {
        let response = log_in("victim", "guess1234", client).await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429],
        "each guess from a new address"
    );
    for name in ["victim", "VICTIM"] {
        let refused = log_in(name, right, 10).await.unwrap();
        assert_eq!(refused.status(), 429, "{name} with the right password");
        assert!(session_cookie(&refused).is_none());
        assert_eq!(error_code(refused).await, "rate_limited");
    }
    assert!(
        first_failure.elapsed() < WINDOW,
        "the checks above ran inside the window"
    );

    let mut statuses = Vec::new();
    for client in 20..24 {
        let response = log_in("nobody", "guess1234", client).await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429],
        "the same for a name without an account"
    );

    let other = log_in("bystander", right, 1).await.unwrap();
    assert_eq!(
        other.status(),
        200,
        "another account, from a guesser's address"
    );

    tokio::time::sleep_until(first_failure + WINDOW + Duration::from_millis(300)).await;
    let later = log_in("victim", right, 30).await.unwrap();
    assert_eq!(later.status(), 200, "once the window has passed");
    assert!(session_cookie(&later).is_some());
}

async fn set_display_name(server: &TestServer, cookie: &str, name: &str) -> reqwest::Response {
    server
        .http
        .post(format!("{}/api/profile", server.base))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .json(&json!({ "display_name": name }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_display_name_is_shown_to_room_members_and_checked() {
    let server = TestServer::start().await;
    let ada = server.create_user("ada").await;
    let bob = server.create_user("bob").await;
    assert_eq!(
        set_display_name(&server, &ada, "  Ada Lovelace ")
            .await
            .status(),
        204
    );
    let me: Value = server.get_json("/api/session", Some(&ada)).await;
    assert_eq!(me["display_name"], "Ada Lovelace", "trimmed");

    // Bob sees it in the lobby's member list, beside the username.
    let mut socket = server.connect(&bob).await;
    socket
        .send(&shared::ws::ClientMessage::ListMembers {
            room: shared::RoomId::lobby(),
        })
        .await;
    let members = socket
        .wait_for(|m| match m {
            shared::ws::ServerMessage::Members { members, .. } => Some(members),
            _ => None,
        })
        .await;
    let ada_there = members.iter().find(|m| m.username == "ada").unwrap();
    assert_eq!(ada_there.display_name, "Ada Lovelace");
    let bob_there = members.iter().find(|m| m.username == "bob").unwrap();
    assert_eq!(bob_there.display_name, "", "none set");

    // Names that could pass for someone else, or for nothing, are refused.
    for bad in [
        "ad\u{202e}a",
        "\u{200b}\u{200b}",
        "a\u{7}b",
        "ada\u{200f}",
        "line\u{2028}break",
        &"x".repeat(65),
    ] {
        let refused = set_display_name(&server, &ada, bad).await;
        assert_eq!(refused.status(), 400, "{bad:?}");
        assert_eq!(error_code(refused).await, "invalid_input");
    }
    assert_eq!(
        set_display_name(&server, &ada, "").await.status(),
        204,
        "cleared"
    );
    let unauthenticated = server
        .post("/api/profile", json!({ "display_name": "x" }))
        .await;
    assert_eq!(unauthenticated.status(), 401);
}
