//! Bad input gets a clear answer and leaves the connection and the server working.

use crate::harness::TestServer;
use futures_util::SinkExt;
use shared::limits::{MAX_BODY_BYTES, MAX_FRAME_BYTES};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};
use signaling::store::Storage;
use tokio_tungstenite::tungstenite::{self, Message};

fn error(event: ServerMessage) -> Option<(ErrorCode, Option<ClientMsgId>)> {
    match event {
        ServerMessage::Error {
            code,
            client_id,
            message,
        } => {
            assert!(!message.is_empty());
            Some((code, client_id))
        }
        _ => None,
    }
}

async fn still_works(client: &mut crate::harness::Client) {
    client.send(&ClientMessage::Ping { nonce: 42 }).await;
    let pong = client.next_reply().await;
    assert_eq!(pong, ServerMessage::Pong { nonce: 42 });
}

fn http_status(result: Result<crate::harness::Client, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other:?}"),
        Ok(_) => panic!("expected the upgrade to be refused"),
    }
}

#[tokio::test]
async fn the_socket_refuses_strangers_and_foreign_pages() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    assert_eq!(
        http_status(server.try_connect(None, Some(&server.origin())).await),
        401
    );
    assert_eq!(
        http_status(server.try_connect(Some("chat_session=forged"), None).await),
        401
    );
    assert_eq!(
        http_status(
            server
                .try_connect(Some(&cookie), Some("http://evil.example"))
                .await
        ),
        403
    );
    server.connect(&cookie).await;
}

#[tokio::test]
async fn malformed_and_unsupported_frames_get_errors() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;

    alice.send_raw(Message::text("{not json")).await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::BadFrame, None))
    );
    alice
        .send_raw(Message::text(r#"{"type":"launch_missiles"}"#))
        .await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::BadFrame, None))
    );
    alice.send_raw(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::UnsupportedFrame, None))
    );
    still_works(&mut alice).await;
}

#[tokio::test]
async fn invalid_messages_are_refused_with_their_client_id() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let key = Some(ClientMsgId("k".into()));

    alice.say("k", &"x".repeat(MAX_BODY_BYTES + 1)).await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::InvalidMessage, key.clone()))
    );
    alice.say("k", "   ").await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::InvalidMessage, key.clone()))
    );
    alice.say("bad id!", "hello").await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::InvalidMessage, None))
    );
    alice
        .send(&ClientMessage::Send {
            attachment: None,
            room: RoomId("someone-elses-room".into()),
            client_id: ClientMsgId("k".into()),
            body: "let me in".into(),
            reply_to: None,
        })
        .await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::NoSuchRoom, key))
    );
    alice
        .send(&ClientMessage::History {
            room: RoomId("someone-elses-room".into()),
            before: None,
            limit: 10,
        })
        .await;
    assert_eq!(
        alice.next_reply().await.pipe(error),
        Some((ErrorCode::NoSuchRoom, None))
    );
    still_works(&mut alice).await;
}

#[tokio::test]
async fn an_oversize_frame_closes_only_that_socket_with_1009() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    alice
        .send_raw(Message::text("x".repeat(MAX_FRAME_BYTES + 1)))
        .await;
    let frame = alice.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1009);
    still_works(&mut bob).await;
}

#[tokio::test]
async fn flooding_is_rate_limited_without_dropping_the_socket() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    for i in 0..60 {
        alice.send(&ClientMessage::Ping { nonce: i }).await;
    }
    let mut limited = 0;
    for _ in 0..60 {
        if let ServerMessage::Error { code, .. } = alice.next_reply().await {
            assert_eq!(code, ErrorCode::RateLimited);
            limited += 1;
        }
    }
    assert!(limited >= 20, "only {limited} of 60 frames were limited");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    still_works(&mut alice).await;
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for ServerMessage {}

#[tokio::test]
async fn junk_frames_count_against_the_rate_limit_and_abuse_is_cut_off() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    for _ in 0..60 {
        alice.send_raw(Message::binary(vec![0u8; 1024])).await;
    }
    let mut limited = 0;
    for _ in 0..60 {
        if let Some((ErrorCode::RateLimited, _)) = alice.next_reply().await.pipe(error) {
            limited += 1;
        }
    }
    assert!(
        limited >= 20,
        "only {limited} of 60 junk frames were limited"
    );

    // Keep hammering well past the allowance: the server hangs up with a policy violation.
    for _ in 0..200 {
        if alice.ws.send(Message::text("{}")).await.is_err() {
            break;
        }
    }
    let frame = alice.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008);
    let mut bob = server.connect(&server.create_user("bob").await).await;
    still_works(&mut bob).await;
}

#[tokio::test]
async fn a_page_of_huge_messages_never_breaks_the_socket() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let huge = "😀".repeat(MAX_BODY_BYTES / 4);
    // 320 KiB in all, more than a socket's 256 KiB write buffer; sends and pages stay within
    // the default burst of 30 frames.
    let count = 20;
    for i in 0..count {
        alice.say(&format!("k{i}"), &huge).await;
        alice
            .wait_for(|e| matches!(e, ServerMessage::Ack { .. }).then_some(()))
            .await;
    }
    // Page backwards with the largest page size until the start: every page must arrive.
    let mut before = None;
    let mut seen = 0;
    loop {
        let (page, complete) = alice.history(&RoomId::lobby(), before, 100).await;
        assert!(!page.is_empty());
        seen += page.len();
        before = Some(page[0].seq);
        if complete {
            break;
        }
    }
    assert_eq!(seen, count);
    still_works(&mut alice).await;
}

#[tokio::test]
async fn an_open_socket_is_closed_when_its_session_expires() {
    let server = TestServer::start().await;
    server.create_user("alice").await;
    // Give alice a session that ends in one second, written straight into the server's database.
    let store = signaling::store::SqliteStore::open(server.dir.path())
        .await
        .unwrap();
    let user = store.find_user("alice").await.unwrap().unwrap().id;
    let (token, hash) = signaling::auth::new_session_token();
    let now = signaling::now_ms();
    store
        .create_session(&hash, user, now, now + 1000, &Default::default())
        .await
        .unwrap();
    let mut alice = server.connect(&format!("chat_session={token}")).await;
    let frame = alice.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), shared::ws::close::LOGGED_OUT);
    assert_eq!(frame.reason.as_str(), "session expired");
}

#[tokio::test]
async fn a_spoofed_sender_field_is_ignored_and_the_session_decides_who_speaks() {
    let server = TestServer::start().await;
    let mut mallory = server.connect(&server.create_user("mallory").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let forged = serde_json::json!({
        "type": "send", "room": "lobby", "client_id": "f1", "body": "I am bob",
        "sender": "bob", "user": "bob", "seq": 1,
    });
    mallory.send_raw(Message::text(forged.to_string())).await;
    let seen = bob.next_room_event().await;
    assert_eq!(seen.sender, "mallory");
    still_works(&mut bob).await;
}
