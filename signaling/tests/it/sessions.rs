//! The session cookie's name and attributes, what happens when a request carries two, and the
//! idle timeout.

use crate::harness::{TestServer, session_cookie};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite;

async fn session_status(server: &TestServer, cookie: &str) -> u16 {
    server
        .http
        .get(format!("{}/api/session", server.base))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn upgrade_status(result: Result<crate::harness::Client, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other:?}"),
        Ok(_) => panic!("expected the upgrade to be refused"),
    }
}

fn token(cookie: &str) -> &str {
    cookie.split_once('=').unwrap().1
}

#[tokio::test]
async fn behind_https_the_cookie_is_host_prefixed_and_only_that_name_counts() {
    let server = TestServer::start_with(|c| c.secure_cookies = true).await;
    let signup = server
        .post(
            "/api/signup",
            json!({"username": "alice", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(signup.status(), 201);
    let set_cookie = signup.headers()["set-cookie"].to_str().unwrap().to_owned();
    let attributes: Vec<&str> = set_cookie.split("; ").collect();
    assert!(
        attributes[0].starts_with("__Host-chat_session="),
        "{set_cookie}"
    );
    for required in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&required), "{required}: {set_cookie}");
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("Domain")),
        "{set_cookie}"
    );
    let cookie = session_cookie(&signup).unwrap();
    assert_eq!(session_status(&server, &cookie).await, 200);
    // The unprefixed name could have been set by a sibling subdomain: not accepted here.
    let unprefixed = format!("chat_session={}", token(&cookie));
    assert_eq!(session_status(&server, &unprefixed).await, 401);

    let logout = server
        .http
        .post(format!("{}/api/logout", server.base))
        .header("Cookie", &cookie)
        .header("Origin", server.origin())
        .send()
        .await
        .unwrap();
    let cleared = logout.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("__Host-chat_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(session_status(&server, &cookie).await, 401);
}

/// A page on a sibling subdomain can plant its own `chat_session` cookie for the parent
/// domain; the browser then sends both. The server must not pick one: either could be the
/// attacker's account, receiving what the victim types.
#[tokio::test]
async fn two_session_cookies_make_the_request_unauthenticated() {
    let server = TestServer::start().await;
    let victim = server.create_user("victim").await;
    let attacker = server.create_user("attacker").await;
    for both in [
        format!("{attacker}; {victim}"),
        format!("{victim}; other=1; {attacker}"),
    ] {
        assert_eq!(session_status(&server, &both).await, 401, "{both}");
        assert_eq!(
            upgrade_status(server.try_connect(Some(&both), None).await),
            401
        );
    }
    // Each alone still works.
    assert_eq!(session_status(&server, &victim).await, 200);
    assert_eq!(session_status(&server, &attacker).await, 200);

    // Log-out with both ends neither session (which is ours is unknown) and clears the cookie.
    let logout = server
        .http
        .post(format!("{}/api/logout", server.base))
        .header("Cookie", format!("{attacker}; {victim}"))
        .header("Origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("chat_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(session_status(&server, &victim).await, 200);
}

#[tokio::test]
async fn a_session_left_unused_stops_working_and_use_keeps_it_alive() {
    const IDLE: Duration = Duration::from_millis(1500);
    let server = TestServer::start_with(|c| c.session_idle = IDLE).await;
    let cookie = server.create_user("alice").await;
    // Used every 500 ms for twice the idle limit: still valid.
    for _ in 0..6 {
        tokio::time::sleep(IDLE / 3).await;
        assert_eq!(session_status(&server, &cookie).await, 200);
    }
    // Opening a socket counts as use too: two thirds of the limit before and after it.
    tokio::time::sleep(IDLE * 2 / 3).await;
    drop(server.connect(&cookie).await);
    tokio::time::sleep(IDLE * 2 / 3).await;
    assert_eq!(session_status(&server, &cookie).await, 200);

    tokio::time::sleep(IDLE + Duration::from_millis(300)).await;
    assert_eq!(session_status(&server, &cookie).await, 401);
    assert_eq!(
        upgrade_status(server.try_connect(Some(&cookie), None).await),
        401
    );
    // Logging in again works.
    let login = server
        .post(
            "/api/login",
            json!({"username": "alice", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status(), 200);
    let fresh = session_cookie(&login).unwrap();
    assert_eq!(session_status(&server, &fresh).await, 200);
}
