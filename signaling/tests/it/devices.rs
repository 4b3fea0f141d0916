//! The devices page's endpoints: my sessions, ending one or all, and a password change that
//! ends the others. An ended session's sockets close at once and its cookie stops working.

use crate::harness::{TestServer, session_cookie};
use serde_json::json;
use shared::api::Devices;
use shared::ws::close;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36";

/// Logs `name` in with `password` from a browser that says `agent`; the session cookie.
async fn log_in(server: &TestServer, name: &str, password: &str, agent: &str) -> Option<String> {
    let response = server
        .http
        .post(format!("{}/api/login", server.base))
        .header("Origin", server.origin())
        .header("User-Agent", agent)
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap();
    (response.status() == 200).then(|| session_cookie(&response).unwrap())
}

async fn devices(server: &TestServer, cookie: &str) -> Result<Devices, u16> {
    let response = server
        .http
        .get(format!("{}/api/sessions", server.base))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        200 => {
            assert_eq!(response.headers()["cache-control"], "no-store");
            Ok(response.json().await.unwrap())
        }
        other => Err(other),
    }
}

async fn call(server: &TestServer, method: reqwest::Method, path: &str, cookie: &str) -> u16 {
    server
        .http
        .request(method, format!("{}{path}", server.base))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn change_password(server: &TestServer, cookie: &str, current: &str, new: &str) -> u16 {
    server
        .http
        .post(format!("{}/api/password", server.base))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .json(&json!({"current": current, "new": new}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn i_see_my_devices_and_can_sign_one_out() {
    let server = TestServer::start().await;
    server.create_user("alice").await;
    let laptop = log_in(&server, "alice", PASSWORD, FIREFOX).await.unwrap();
    let phone = log_in(&server, "alice", PASSWORD, PHONE).await.unwrap();
    let bob = server.create_user("bob").await;
    let mut phone_socket = server.connect(&phone).await;

    let list = devices(&server, &laptop).await.unwrap().sessions;
    // Sign-up's own session, the laptop and the phone.
    assert_eq!(list.len(), 3, "{list:?}");
    let me = list.iter().find(|d| d.current).unwrap();
    assert_eq!(me.device, "Firefox on Linux");
    assert_eq!(me.address, "127.0.0.1");
    let other = list
        .iter()
        .find(|d| d.device == "Chrome on Android")
        .unwrap();
    assert!(!other.current);

    // Nobody else's session can be named, and ids are not guessable paths.
    let path = format!("/api/sessions/{}", other.id);
    assert_eq!(
        call(&server, reqwest::Method::DELETE, &path, &bob).await,
        404
    );
    assert_eq!(
        call(
            &server,
            reqwest::Method::DELETE,
            "/api/sessions/0000",
            &laptop
        )
        .await,
        404
    );
    assert_eq!(
        call(&server, reqwest::Method::DELETE, &path, &laptop).await,
        204
    );

    let closed = phone_socket.closed().await.expect("a close frame");
    assert_eq!(u16::from(closed.code), close::LOGGED_OUT);
    assert_eq!(devices(&server, &phone).await.err(), Some(401));
    assert_eq!(devices(&server, &laptop).await.unwrap().sessions.len(), 2);
}

#[tokio::test]
async fn a_new_password_signs_out_every_other_device() {
    let server = TestServer::start().await;
    server.create_user("alice").await;
    let laptop = log_in(&server, "alice", PASSWORD, FIREFOX).await.unwrap();
    let phone = log_in(&server, "alice", PASSWORD, PHONE).await.unwrap();
    let mut phone_socket = server.connect(&phone).await;
    let mut laptop_socket = server.connect(&laptop).await;

    let new = "a much longer passphrase";
    assert_eq!(
        change_password(&server, &laptop, "wrong guess!", new).await,
        401
    );
    assert_eq!(
        change_password(&server, &laptop, PASSWORD, "short").await,
        400
    );
    assert_eq!(change_password(&server, &laptop, PASSWORD, new).await, 204);

    let closed = phone_socket.closed().await.expect("a close frame");
    assert_eq!(u16::from(closed.code), close::LOGGED_OUT);
    assert_eq!(devices(&server, &phone).await.err(), Some(401));
    // This device stays signed in, socket and all.
    assert_eq!(devices(&server, &laptop).await.unwrap().sessions.len(), 1);
    laptop_socket
        .send(&shared::ws::ClientMessage::Ping { nonce: 1 })
        .await;
    assert_eq!(
        laptop_socket.next_reply().await,
        shared::ws::ServerMessage::Pong { nonce: 1 }
    );
    assert!(log_in(&server, "alice", PASSWORD, FIREFOX).await.is_none());
    assert!(log_in(&server, "alice", new, FIREFOX).await.is_some());
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session_and_socket() {
    let server = TestServer::start().await;
    let first = server.create_user("alice").await;
    let second = log_in(&server, "alice", PASSWORD, PHONE).await.unwrap();
    let mut first_socket = server.connect(&first).await;
    let mut second_socket = server.connect(&second).await;
    let response = server
        .http
        .post(format!("{}/api/logout-everywhere", server.base))
        .header("Origin", server.origin())
        .header("Cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        session_cookie(&response).as_deref(),
        Some("chat_session="),
        "the cookie is cleared"
    );
    for socket in [&mut first_socket, &mut second_socket] {
        let closed = socket.closed().await.expect("a close frame");
        assert_eq!(u16::from(closed.code), close::LOGGED_OUT);
    }
    assert_eq!(devices(&server, &first).await.err(), Some(401));
    assert_eq!(devices(&server, &second).await.err(), Some(401));
    // A page on another site cannot do it with the visitor's cookie.
    let third = log_in(&server, "alice", PASSWORD, PHONE).await.unwrap();
    let foreign = server
        .http
        .post(format!("{}/api/logout-everywhere", server.base))
        .header("Origin", "http://evil.example")
        .header("Cookie", &third)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(devices(&server, &third).await.is_ok());
}
