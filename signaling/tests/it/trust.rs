//! The findings of the security audit, one regression test each: slow and silent connections,
//! one account taking the server's resources, removal and bans that stick, blocks that hold
//! in every room, and requests that must not reach a room their sender left.

use crate::harness::{Client, TestServer};
use shared::calls::SignalData;
use shared::events::EventKind;
use shared::transfer::FileMeta;
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};
use signaling::store::Storage;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};

fn key(k: &str) -> ClientMsgId {
    ClientMsgId(k.into())
}

fn addr(server: &TestServer) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// A TCP connection to the server from the loopback address `from`.
async fn tcp_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// How long until the server closes `stream` (reads until end of stream), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

async fn healthy(server: &TestServer) {
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        server.http.get(format!("{}/healthz", server.base)).send(),
    )
    .await
    .expect("health check answers in time")
    .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn slow_silent_and_idle_connections_are_cut_off() {
    let server = TestServer::start_with(|c| c.header_timeout_secs = 1).await;
    let to = addr(&server);
    let limit = Duration::from_secs(4);

    let mut silent = tcp_from("127.0.0.1", to).await;
    let mut half_sent = tcp_from("127.0.0.1", to).await;
    half_sent
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = tcp_from("127.0.0.1", to).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));

    for (what, stream) in [
        ("silent", &mut silent),
        ("half-sent headers", &mut half_sent),
        ("idle keep-alive", &mut idle),
    ] {
        let after = closed_within(stream, limit).await;
        assert!(after.is_some(), "a {what} connection stays open");
    }
    healthy(&server).await;
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let server = TestServer::start_with(|c| {
        c.header_timeout_secs = 30;
        c.max_connections_per_ip = 8;
    })
    .await;
    let to = addr(&server);
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(tcp_from("127.0.0.2", to).await);
    }
    let mut one_more = tcp_from("127.0.0.2", to).await;
    let refused = closed_within(&mut one_more, Duration::from_secs(2)).await;
    assert!(refused.is_some(), "the ninth connection is closed at once");
    // Everyone else is served meanwhile.
    healthy(&server).await;
    // A connection that ends gives its slot back.
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = tcp_from("127.0.0.2", to).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let n = again.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn one_account_cannot_open_unlimited_sockets() {
    let server = TestServer::start_with(|c| c.max_sockets_per_user = 3).await;
    let cookie = server.create_user("alice").await;
    let mut tabs = Vec::new();
    for _ in 0..3 {
        tabs.push(server.connect(&cookie).await);
    }
    match server
        .try_connect(Some(&cookie), Some(&server.origin()))
        .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        Err(other) => panic!("expected 429, got {other:?}"),
        Ok(_) => panic!("a fourth socket was opened"),
    }
    // Others are not affected, and closing a tab frees its place.
    server.connect(&server.create_user("bob").await).await;
    let mut closed = tabs.pop().unwrap();
    closed.ws.close(None).await.unwrap();
    let _ = closed.closed().await;
    // (Past the connect quota's refill too: three sockets used its burst of three.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.connect(&cookie).await;
}

#[tokio::test]
async fn opening_sockets_in_a_loop_is_rate_limited() {
    // Each socket's welcome summarises every room of its user: connecting is not free.
    let server = TestServer::start_with(|c| c.max_sockets_per_user = 3).await;
    let cookie = server.create_user("alice").await;
    for _ in 0..3 {
        let mut tab = server.connect(&cookie).await;
        tab.ws.close(None).await.unwrap();
        let _ = tab.closed().await;
    }
    match server
        .try_connect(Some(&cookie), Some(&server.origin()))
        .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        Err(other) => panic!("expected 429, got {other:?}"),
        Ok(_) => panic!("a fourth socket in a row was opened"),
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.connect(&cookie).await;
}

/// How many of `pings` pings were refused as rate-limited on `client`.
async fn refused_pings(client: &mut Client, pings: u64) -> usize {
    let frames: Vec<ClientMessage> = (0..pings)
        .map(|nonce| ClientMessage::Ping { nonce })
        .collect();
    client.send_burst(&frames).await;
    let mut refused = 0;
    for _ in 0..pings {
        match client.next_reply().await {
            ServerMessage::Pong { .. } => {}
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                ..
            } => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    refused
}

#[tokio::test]
async fn more_sockets_do_not_buy_more_requests() {
    // 5 frames a second per socket, bursts of 15; per user three sockets' worth (bursts of 45).
    let server = TestServer::start_with(|c| c.socket_frames_per_second = 5).await;
    let cookie = server.create_user("alice").await;
    let mut tabs = Vec::new();
    for _ in 0..6 {
        tabs.push(server.connect(&cookie).await);
    }
    let start = Instant::now();
    let mut refused = 0;
    for tab in &mut tabs {
        // Each socket stays within its own burst.
        refused += refused_pings(tab, 14).await;
    }
    // 84 frames against a burst of 45 and a refill of 15 a second.
    let refilled = (start.elapsed().as_secs_f64() * 15.0).ceil() as usize;
    let expected = (84 - 45usize).saturating_sub(refilled + 1);
    assert!(
        expected > 0 && refused >= expected,
        "{refused} of 84 frames from six sockets were refused (at least {expected} must be)"
    );
}

#[tokio::test]
async fn room_lists_are_limited_per_account() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    alice.send_burst(&vec![ClientMessage::ListRooms; 12]).await;
    let mut refused = 0;
    for _ in 0..12 {
        match alice.next_reply().await {
            ServerMessage::Rooms { .. } => {}
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                ..
            } => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(refused >= 6, "{refused} of 12 room lists refused");
}

#[tokio::test]
async fn invites_and_blocks_count_against_the_event_quota() {
    let server = TestServer::start_with(|c| {
        c.socket_frames_per_second = 100_000;
        c.user_events_per_second = 1;
    })
    .await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    server.create_user("bob").await;
    let lobby = RoomId::lobby();
    let mut frames = vec![ClientMessage::CreateInvite { room: lobby }; 6];
    frames.extend((0..6).map(|i| ClientMessage::Block {
        user: "bob".into(),
        blocked: i % 2 == 0,
    }));
    alice.send_burst(&frames).await;
    let mut refused = 0;
    for _ in 0..frames.len() {
        match alice.next_reply().await {
            ServerMessage::Invite { .. } | ServerMessage::Blocked { .. } => {}
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                ..
            } => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(refused >= 6, "{refused} of 12 refused with a burst of 4");
}

/// A group room of `owner` with `member` in it.
async fn room_with(owner: &mut Client, member: &str, name: &str) -> RoomId {
    let room = owner.create_room(name).await;
    owner.add(&room, member).await.unwrap();
    room
}

async fn remove(admin: &mut Client, room: &RoomId, user: &str, k: &str) {
    admin
        .request(
            k,
            ClientMessage::RemoveMember {
                room: room.clone(),
                client_id: key(k),
                user: user.into(),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_removed_member_resending_an_old_call_start_rings_nobody() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let room = room_with(&mut alice, "bob", "calls").await;
    let start = ClientMessage::StartCall {
        room: room.clone(),
        client_id: key("call-1"),
        call: "c1".into(),
        video: false,
    };
    bob.request("call-1", start.clone()).await.unwrap();
    bob.send(&ClientMessage::LeaveCall {
        room: room.clone(),
        call: "c1".into(),
    })
    .await;
    // The call ends when its last participant leaves.
    alice
        .wait_for(|e| match e {
            ServerMessage::CallState { participants, .. } if participants.is_empty() => Some(()),
            _ => None,
        })
        .await;
    remove(&mut alice, &room, "bob", "rm-bob").await;

    // Answered (with the first ack, or a refusal), and nothing else.
    let _ = bob.request("call-1", start).await;
    alice.send(&ClientMessage::Ping { nonce: 7 }).await;
    // The ended call's last (empty) states may still be on their way; a ring is not.
    let next = alice
        .wait_for(|e| match e {
            ServerMessage::CallState {
                ref participants, ..
            } if !participants.is_empty() => Some(e),
            ServerMessage::Pong { .. } => Some(e),
            _ => None,
        })
        .await;
    assert_eq!(
        next,
        ServerMessage::Pong { nonce: 7 },
        "the room heard of the repeated call"
    );
}

#[tokio::test]
async fn a_removed_members_resend_does_not_reveal_the_rooms_reactions() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let room = room_with(&mut alice, "bob", "reactions").await;
    let sent = bob.post(&room, "m1", "hello").await;
    alice
        .request(
            "r1",
            ClientMessage::React {
                room: room.clone(),
                client_id: key("r1"),
                target: sent.seq,
                emoji: "👍".into(),
                add: true,
            },
        )
        .await
        .unwrap();
    // While bob is a member, a resend shows the message as it is now.
    let resend = ClientMessage::Send {
        attachment: None,
        room: room.clone(),
        client_id: key("m1"),
        body: "hello".into(),
        reply_to: None,
    };
    let member_copy = bob.request("m1", resend.clone()).await.unwrap();
    assert!(
        matches!(&member_copy.kind, EventKind::Message { reactions, .. } if !reactions.is_empty())
    );
    remove(&mut alice, &room, "bob", "rm-bob").await;
    let leaver_copy = bob.request("m1", resend).await.unwrap();
    assert_eq!(leaver_copy.seq, sent.seq, "the sender learns it arrived");
    match leaver_copy.kind {
        EventKind::Message { reactions, .. } => assert!(reactions.is_empty(), "{reactions:?}"),
        other => panic!("{other:?}"),
    }
}

async fn invite(client: &mut Client, room: &RoomId) -> String {
    client
        .send(&ClientMessage::CreateInvite { room: room.clone() })
        .await;
    client
        .wait_for(|e| match e {
            ServerMessage::Invite { token, .. } => Some(token),
            _ => None,
        })
        .await
}

fn join(k: &str, token: &str) -> ClientMessage {
    ClientMessage::JoinByInvite {
        client_id: key(k),
        token: token.into(),
    }
}

async fn revoke(client: &mut Client, room: &RoomId, token: Option<&str>) -> Result<u64, ErrorCode> {
    client
        .send(&ClientMessage::RevokeInvites {
            room: room.clone(),
            token: token.map(str::to_owned),
        })
        .await;
    client
        .wait_for(|e| match e {
            ServerMessage::InvitesRevoked { revoked, .. } => Some(Ok(revoked)),
            ServerMessage::Error { code, .. } => Some(Err(code)),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn a_removed_member_cannot_come_back_with_a_link_they_kept() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let mut carol = server.connect(&server.create_user("carol").await).await;
    let room = room_with(&mut alice, "bob", "kept links").await;
    let bobs_link = invite(&mut bob, &room).await;
    let alices_link = invite(&mut alice, &room).await;

    // Removal ends the links the removed member made.
    remove(&mut alice, &room, "bob", "rm-bob").await;
    assert_eq!(
        bob.request("j1", join("j1", &bobs_link)).await,
        Err(ErrorCode::InvalidInvite)
    );

    // A link can be revoked: by its creator, or for the whole room by an admin.
    assert_eq!(
        carol
            .request("j2", join("j2", &alices_link))
            .await
            .unwrap()
            .kind,
        EventKind::Joined
    );
    let carols_link = invite(&mut carol, &room).await;
    assert_eq!(
        revoke(&mut carol, &room, Some(&alices_link)).await,
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(revoke(&mut alice, &room, Some(&alices_link)).await, Ok(1));
    assert_eq!(
        bob.request("j3", join("j3", &alices_link)).await,
        Err(ErrorCode::InvalidInvite)
    );
    assert_eq!(revoke(&mut alice, &room, None).await, Ok(1), "carol's link");
    assert_eq!(
        bob.request("j4", join("j4", &carols_link)).await,
        Err(ErrorCode::InvalidInvite)
    );
    assert_eq!(
        revoke(&mut carol, &room, None).await,
        Err(ErrorCode::Forbidden)
    );

    // A link dies with its creator's membership when they leave, too.
    let carols_second = invite(&mut carol, &room).await;
    carol
        .request(
            "leave",
            ClientMessage::Leave {
                room: room.clone(),
                client_id: key("leave"),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        bob.request("j5", join("j5", &carols_second)).await,
        Err(ErrorCode::InvalidInvite)
    );
}

async fn ban(
    admin: &mut Client,
    room: &RoomId,
    user: &str,
    banned: bool,
    k: &str,
) -> Result<(), ErrorCode> {
    admin
        .request(
            k,
            ClientMessage::Ban {
                room: room.clone(),
                client_id: key(k),
                user: user.into(),
                banned,
            },
        )
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_banned_user_stays_out_until_the_ban_is_lifted() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let mut carol = server.connect(&server.create_user("carol").await).await;
    let room = room_with(&mut alice, "bob", "banned").await;
    alice.add(&room, "carol").await.unwrap();
    let link = invite(&mut alice, &room).await;

    assert_eq!(
        ban(&mut carol, &room, "bob", true, "b0").await,
        Err(ErrorCode::Forbidden)
    );
    ban(&mut alice, &room, "bob", true, "b1").await.unwrap();
    let removed = bob
        .wait_for(|e| match e {
            ServerMessage::RoomRemoved { room } => Some(room),
            _ => None,
        })
        .await;
    assert_eq!(removed, room);
    assert_eq!(
        bob.request(
            "p1",
            ClientMessage::Send {
                attachment: None,
                room: room.clone(),
                client_id: key("p1"),
                body: "still here?".into(),
                reply_to: None,
            }
        )
        .await,
        Err(ErrorCode::NoSuchRoom)
    );
    assert_eq!(
        bob.request("j1", join("j1", &link)).await,
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(carol.add(&room, "bob").await, Err(ErrorCode::Forbidden));
    // Someone who never was a member can be banned ahead.
    server.create_user("dave").await;
    ban(&mut alice, &room, "dave", true, "b2").await.unwrap();
    assert_eq!(carol.add(&room, "dave").await, Err(ErrorCode::Forbidden));

    ban(&mut alice, &room, "bob", false, "b3").await.unwrap();
    assert_eq!(
        bob.request("j2", join("j2", &link)).await.unwrap().kind,
        EventKind::Joined
    );
}

#[tokio::test]
async fn a_block_holds_for_offers_in_every_shared_room() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    alice
        .send(&ClientMessage::Block {
            user: "bob".into(),
            blocked: true,
        })
        .await;
    alice
        .wait_for(|e| matches!(e, ServerMessage::Blocked { .. }).then_some(()))
        .await;
    let offers = [
        SignalData::Files {
            files: vec![FileMeta {
                name: "x.txt".into(),
                size: 1,
                mime: String::new(),
            }],
        },
        SignalData::Offer { sdp: "v=0".into() },
    ];
    for data in offers {
        bob.send(&ClientMessage::Signal {
            room: RoomId::lobby(),
            to: "alice".into(),
            session: "s1".into(),
            data,
        })
        .await;
        let answer = bob.next_reply().await;
        assert!(
            matches!(
                answer,
                ServerMessage::Error {
                    code: ErrorCode::NoSuchUser,
                    ..
                }
            ),
            "{answer:?}"
        );
    }
    alice.send(&ClientMessage::Ping { nonce: 1 }).await;
    let next = alice
        .wait_for(|e| match e {
            ServerMessage::Signal { .. } | ServerMessage::Pong { .. } => Some(e),
            _ => None,
        })
        .await;
    assert_eq!(
        next,
        ServerMessage::Pong { nonce: 1 },
        "an offer got through"
    );
}

#[tokio::test]
async fn being_added_to_rooms_uses_up_nobody_elses_quota() {
    let server = TestServer::start_unthrottled().await;
    let mut mallory = server.connect(&server.create_user("mallory").await).await;
    let mut victim = server.connect(&server.create_user("victim").await).await;
    let cap = shared::limits::MAX_ROOMS_PER_USER;
    // The lobby is one the victim chose; mallory fills everything else.
    for i in 0..cap {
        let room = mallory.create_room(&format!("trap {i}")).await;
        let added = mallory.add(&room, "victim").await;
        assert!(added.is_ok(), "add {i}: {added:?}");
        // Mallory leaves her rooms so her own quota does not stop the attack.
        mallory
            .request(
                &format!("l{i}"),
                ClientMessage::Leave {
                    room: room.clone(),
                    client_id: key(&format!("l{i}")),
                },
            )
            .await
            .unwrap();
    }
    let one_more = mallory.create_room("one more").await;
    assert_eq!(
        mallory.add(&one_more, "victim").await,
        Err(ErrorCode::LimitReached),
        "others' adds are bounded too"
    );
    // The victim can still make rooms and conversations of their own.
    victim.create_room("my own").await;
}

#[tokio::test]
async fn mention_counts_match_whole_names_only() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let lookalike = server.create_user("a_c").await;
    server.create_user("abc").await;
    alice.post(&RoomId::lobby(), "m1", "@abc look").await;
    let rooms = server.connect_and_welcome(&lookalike).await;
    let lobby = rooms.iter().find(|r| r.id == RoomId::lobby()).unwrap();
    assert_eq!(lobby.unread, 1);
    assert_eq!(lobby.unread_mentions, 0, "a_c was not mentioned");
}

#[tokio::test]
async fn invisible_and_reordering_text_is_refused() {
    let server = TestServer::start_unthrottled().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    for (k, body) in [("z1", "\u{200b}\u{200d}"), ("z2", "invoice\u{202e}fdp.exe")] {
        let answer = alice
            .request(
                k,
                ClientMessage::Send {
                    attachment: None,
                    room: RoomId::lobby(),
                    client_id: key(k),
                    body: body.into(),
                    reply_to: None,
                },
            )
            .await;
        assert_eq!(answer, Err(ErrorCode::InvalidMessage), "{body:?}");
    }
}

#[tokio::test]
async fn frames_that_break_the_protocol_get_the_rfc_close_codes() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    let cases: [(u16, Frame); 2] = [
        (
            1007,
            Frame::message(vec![0xff, 0xfe, 0xfd], OpCode::Data(Data::Text), true),
        ),
        (
            1002,
            Frame::message(b"orphan".to_vec(), OpCode::Data(Data::Continue), true),
        ),
    ];
    for (code, frame) in cases {
        let mut client = server.connect(&cookie).await;
        client.send_raw(Message::Frame(frame)).await;
        let close = client
            .closed()
            .await
            .expect("a close frame, not a dropped connection");
        assert_eq!(u16::from(close.code), code);
    }
    server.connect(&cookie).await;
}

#[tokio::test]
async fn a_socket_connecting_while_its_user_is_removed_does_not_get_the_room() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = signaling::store::SqliteStore::open(dir.path())
        .await
        .unwrap();
    let store = std::sync::Arc::new(crate::faults::GatedStore::new(sqlite));
    let server = TestServer::start_on_store(dir, store.clone()).await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let bob_cookie = server.create_user("bob").await;
    let room = room_with(&mut alice, "bob", "race").await;
    let bob_id = store.user_by_name("bob").await.unwrap().unwrap().id;

    // Bob's new socket reads his rooms (the room is among them); alice removes him before
    // the socket follows them.
    let held = store.hold_room_read(bob_id);
    let race = async {
        held.read.await.unwrap();
        remove(&mut alice, &room, "bob", "rm-bob").await;
        held.go.send(()).unwrap();
    };
    let (mut bob, ()) = tokio::join!(server.connect(&bob_cookie), race);

    alice.post(&room, "after", "bob is gone").await;
    bob.send(&ClientMessage::Ping { nonce: 3 }).await;
    let deadline = Instant::now() + Duration::from_millis(800);
    while let Ok(Some(frame)) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        futures_util::StreamExt::next(&mut bob.ws),
    )
    .await
    {
        if let Ok(Message::Text(text)) = frame {
            let message: ServerMessage = serde_json::from_str(text.as_str()).unwrap();
            assert!(
                !matches!(&message, ServerMessage::Event { event } if event.room == room),
                "a removed member's new socket received the room: {message:?}"
            );
        }
    }
}
