//! WebRTC signaling and calls: relayed only between members of a room, calls recorded in the
//! timeline, ICE servers with expiring TURN credentials.

use crate::harness::{Client, TestServer};
use shared::calls::{MAX_SIGNAL_BYTES, SignalData};
use shared::events::EventKind;
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};

fn signal(room: &RoomId, to: &str, data: SignalData) -> ClientMessage {
    ClientMessage::Signal {
        room: room.clone(),
        to: to.into(),
        session: "call-1".into(),
        data,
    }
}

async fn error_code(client: &mut Client) -> ErrorCode {
    client
        .wait_for(|e| match e {
            ServerMessage::Error { code, .. } => Some(code),
            _ => None,
        })
        .await
}

/// Waits until the call's participants are `expected` (earlier states are skipped).
async fn call_state_becomes(client: &mut Client, expected: &[&str]) {
    client
        .wait_for(|e| match e {
            ServerMessage::CallState { participants, .. } if participants == expected => Some(()),
            _ => None,
        })
        .await;
}

#[tokio::test]
async fn offers_answers_and_candidates_reach_only_members_of_the_room() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let mut eve = server.connect(&server.create_user("eve").await).await;
    let room = alice.create_room("calls").await;
    alice.add(&room, "bob").await.unwrap();

    let offer = SignalData::Offer {
        sdp: "v=0 offer".into(),
    };
    alice.send(&signal(&room, "bob", offer.clone())).await;
    let (from, data) = bob
        .wait_for(|e| match e {
            ServerMessage::Signal { from, data, .. } => Some((from, data)),
            _ => None,
        })
        .await;
    assert_eq!((from.as_str(), data), ("alice", offer));

    // Eve is not in the room: she can neither signal into it nor be signaled through it.
    eve.send(&signal(&room, "alice", SignalData::Bye)).await;
    assert_eq!(error_code(&mut eve).await, ErrorCode::NoSuchRoom);
    alice.send(&signal(&room, "eve", SignalData::Bye)).await;
    assert_eq!(error_code(&mut alice).await, ErrorCode::NoSuchUser);
    let huge = SignalData::Offer {
        sdp: "x".repeat(MAX_SIGNAL_BYTES + 1),
    };
    alice.send(&signal(&room, "bob", huge)).await;
    assert_eq!(error_code(&mut alice).await, ErrorCode::InvalidMessage);
    let bad_session = ClientMessage::Signal {
        room: room.clone(),
        to: "bob".into(),
        session: "no spaces".into(),
        data: SignalData::Bye,
    };
    alice.send(&bad_session).await;
    assert_eq!(error_code(&mut alice).await, ErrorCode::InvalidMessage);
    // A file offer must describe real files: names within limits, at most 20 of them.
    let no_files = SignalData::Files { files: Vec::new() };
    alice.send(&signal(&room, "bob", no_files)).await;
    assert_eq!(error_code(&mut alice).await, ErrorCode::InvalidMessage);
    let files = SignalData::Files {
        files: vec![shared::transfer::FileMeta {
            name: "notes.txt".into(),
            size: 5,
            mime: "text/plain".into(),
        }],
    };
    alice.send(&signal(&room, "bob", files.clone())).await;
    let data = bob
        .wait_for(|e| match e {
            ServerMessage::Signal { data, .. } => Some(data),
            _ => None,
        })
        .await;
    assert_eq!(data, files);
    eve.expect_silence(200).await;
    alice.send(&ClientMessage::Ping { nonce: 1 }).await;
    alice
        .wait_for(|e| matches!(e, ServerMessage::Pong { .. }).then_some(()))
        .await;
}

#[tokio::test]
async fn a_call_is_recorded_from_ring_to_hang_up_and_a_closed_tab_leaves_it() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let bob_cookie = server.create_user("bob").await;
    let mut bob = server.connect(&bob_cookie).await;
    let room = alice.create_room("standup").await;
    alice.add(&room, "bob").await.unwrap();

    let start = ClientMessage::StartCall {
        room: room.clone(),
        client_id: ClientMsgId("c1".into()),
        call: "call-1".into(),
        video: true,
    };
    let started = alice.request("c1", start).await.unwrap();
    assert_eq!(
        started.kind,
        EventKind::CallStarted {
            call: "call-1".into(),
            video: true
        }
    );
    let rang = bob
        .wait_for(|e| match e {
            ServerMessage::Event { event }
                if matches!(event.kind, EventKind::CallStarted { .. }) =>
            {
                Some(event)
            }
            _ => None,
        })
        .await;
    assert_eq!(rang, started, "bob's phone rings");
    call_state_becomes(&mut bob, &["alice"]).await;

    bob.send(&ClientMessage::JoinCall {
        room: room.clone(),
        call: "call-1".into(),
    })
    .await;
    call_state_becomes(&mut alice, &["alice", "bob"]).await;
    // A tab that connects now learns of the call going on, and what kind it is.
    let mut bob_phone = server.connect(&bob_cookie).await;
    let (video, caller, participants) = bob_phone
        .wait_for(|e| match e {
            ServerMessage::CallState {
                video,
                caller,
                participants,
                ..
            } => Some((video, caller, participants)),
            _ => None,
        })
        .await;
    assert!(video);
    assert_eq!(caller, "alice");
    assert_eq!(participants, ["alice", "bob"]);
    // Alice's tab closes: she leaves the call; bob hangs up and the call is over.
    drop(alice);
    call_state_becomes(&mut bob, &["bob"]).await;
    bob.send(&ClientMessage::LeaveCall {
        room: room.clone(),
        call: "call-1".into(),
    })
    .await;
    let ended = bob.next_room_event().await;
    match ended.kind {
        EventKind::CallEnded {
            call,
            duration_ms,
            missed,
            declined,
        } => {
            assert_eq!(call, "call-1");
            assert!(!missed && !declined);
            assert!(duration_ms >= 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ended.sender, "alice", "recorded as the caller's call");
    bob.send(&ClientMessage::JoinCall {
        room,
        call: "call-1".into(),
    })
    .await;
    assert_eq!(error_code(&mut bob).await, ErrorCode::NoSuchCall);
}

#[tokio::test]
async fn a_call_nobody_joined_is_missed_and_strangers_cannot_join() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut eve = server.connect(&server.create_user("eve").await).await;
    let dm_open = ClientMessage::OpenDirect {
        client_id: ClientMsgId("d".into()),
        user: "bob".into(),
    };
    let bob_cookie = server.create_user("bob").await;
    let dm = alice.request("d", dm_open).await.unwrap().room;
    let start = ClientMessage::StartCall {
        room: dm.clone(),
        client_id: ClientMsgId("c1".into()),
        call: "ring".into(),
        video: false,
    };
    alice.request("c1", start).await.unwrap();
    eve.send(&ClientMessage::JoinCall {
        room: dm.clone(),
        call: "ring".into(),
    })
    .await;
    assert_eq!(error_code(&mut eve).await, ErrorCode::NoSuchRoom);
    alice
        .send(&ClientMessage::LeaveCall {
            room: dm.clone(),
            call: "ring".into(),
        })
        .await;
    let ended = alice.next_room_event().await;
    assert!(matches!(
        ended.kind,
        EventKind::CallEnded { missed: true, .. }
    ));
    let (history, _) = alice.history(&dm, None, 10).await;
    let kinds: Vec<_> = history
        .iter()
        .map(|e| match &e.kind {
            EventKind::Created { .. } => "created",
            EventKind::CallStarted { .. } => "call_started",
            EventKind::CallEnded { .. } => "call_ended",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["created", "call_started", "call_ended"]);

    // Bob declines the next one: it ends at once, recorded as declined.
    let again = ClientMessage::StartCall {
        room: dm.clone(),
        client_id: ClientMsgId("c2".into()),
        call: "ring-2".into(),
        video: true,
    };
    alice.request("c2", again).await.unwrap();
    let mut bob = server.connect(&bob_cookie).await;
    bob.send(&ClientMessage::DeclineCall {
        room: dm.clone(),
        call: "ring-2".into(),
    })
    .await;
    let ended = alice.next_room_event().await;
    assert!(matches!(
        ended.kind,
        EventKind::CallEnded {
            missed: true,
            declined: true,
            ..
        }
    ));
    let (history, _) = bob.history(&dm, None, 10).await;
    assert_eq!(
        history.last().map(|e| &e.kind),
        Some(&ended.kind),
        "stored as declined"
    );
}

async fn ask_ice(
    client: &mut crate::harness::Client,
    room: Option<RoomId>,
    call: Option<&str>,
    peer: Option<&str>,
) -> Result<(Vec<shared::calls::IceServer>, i64), ErrorCode> {
    client
        .send(&ClientMessage::IceServers {
            room,
            call: call.map(str::to_owned),
            peer: peer.map(str::to_owned),
        })
        .await;
    client
        .wait_for(|e| match e {
            ServerMessage::IceServers {
                servers,
                expires_at_ms,
            } => Some(Ok((servers, expires_at_ms))),
            ServerMessage::Error { code, .. } => Some(Err(code)),
            _ => None,
        })
        .await
}

fn with_turn(c: &mut signaling::config::Config) {
    c.stun_urls = vec!["stun:turn.example.org:3478".into()];
    c.turn_urls = vec!["turn:turn.example.org:3478?transport=udp".into()];
    c.turn_secret = Some("coturn-static-auth-secret".into());
    c.turn_ttl_secs = 600;
}

#[tokio::test]
async fn turn_credentials_only_for_a_call_or_transfer_of_mine() {
    let server = TestServer::start_with(with_turn).await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let bob_cookie = server.create_user("bob").await;
    let mut bob = server.connect(&bob_cookie).await;
    let lobby = Some(RoomId::lobby());

    // Not in any WebRTC session: STUN only (the audit's finding: everyone got TURN).
    let (servers, _) = ask_ice(&mut alice, None, None, None).await.unwrap();
    assert_eq!(servers.len(), 1);
    assert!(servers[0].username.is_none());
    // A transfer needs someone reachable in the room; oneself or a stranger is refused.
    assert_eq!(
        ask_ice(&mut alice, lobby.clone(), None, Some("alice"))
            .await
            .unwrap_err(),
        ErrorCode::InvalidMessage
    );
    assert_eq!(
        ask_ice(&mut alice, lobby.clone(), None, Some("nobody"))
            .await
            .unwrap_err(),
        ErrorCode::NoSuchUser
    );
    let (servers, _) = ask_ice(&mut alice, lobby.clone(), None, Some("bob"))
        .await
        .unwrap();
    assert_eq!(servers.len(), 2, "a transfer with bob gets a relay");
    // A call that is not going on gets no relay (and no error of its own); one that is does.
    let (servers, _) = ask_ice(&mut bob, lobby.clone(), Some("c1"), None)
        .await
        .unwrap();
    assert_eq!(servers.len(), 1, "STUN only");
    alice
        .send(&ClientMessage::StartCall {
            room: RoomId::lobby(),
            client_id: ClientMsgId("start-c1".into()),
            call: "c1".into(),
            video: false,
        })
        .await;
    alice
        .wait_for(|e| matches!(e, ServerMessage::Ack { .. }).then_some(()))
        .await;
    let (servers, _) = ask_ice(&mut bob, lobby.clone(), Some("c1"), None)
        .await
        .unwrap();
    assert_eq!(servers.len(), 2, "a member may join the call in progress");
    // A block closes the way to a relay as it closes the signaling.
    bob.send(&ClientMessage::Block {
        user: "alice".into(),
        blocked: true,
    })
    .await;
    bob.wait_for(|e| matches!(e, ServerMessage::Blocked { .. }).then_some(()))
        .await;
    assert_eq!(
        ask_ice(&mut alice, lobby, None, Some("bob"))
            .await
            .unwrap_err(),
        ErrorCode::NoSuchUser
    );
}

#[tokio::test]
async fn clients_get_stun_and_expiring_turn_credentials() {
    let server = TestServer::start_with(with_turn).await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    server.create_user("bob").await;
    let (servers, expires_at_ms) = ask_ice(&mut alice, Some(RoomId::lobby()), None, Some("bob"))
        .await
        .unwrap();
    assert_eq!(servers[0].urls, ["stun:turn.example.org:3478"]);
    let turn = &servers[1];
    let username = turn.username.clone().unwrap();
    assert_eq!(username, format!("{}:alice", expires_at_ms / 1000));
    let ttl = expires_at_ms - signaling::now_ms();
    assert!((590_000..=600_000).contains(&ttl), "expires in ten minutes");
    assert_eq!(
        turn.credential.as_deref(),
        Some(signaling::turn::turn_password("coturn-static-auth-secret", &username).as_str())
    );
}

/// Issue 17 #6: an offer to a receiver who was not connected waited forever and never reached
/// them. Now it is kept and handed over when they come back, until it is answered; and only
/// while its sender is still connected (the files are in the sender's browser).
#[tokio::test]
async fn a_file_offer_reaches_a_receiver_who_comes_back_until_it_is_answered() {
    let server = TestServer::start().await;
    let alice_cookie = server.create_user("alice").await;
    let bob_cookie = server.create_user("bob").await;
    let mut alice = server.connect(&alice_cookie).await;
    let lobby = RoomId::lobby();
    let offer = |session: &str| ClientMessage::Signal {
        room: lobby.clone(),
        to: "bob".into(),
        session: session.into(),
        data: SignalData::Files {
            files: vec![shared::transfer::FileMeta {
                name: "plan.pdf".into(),
                size: 2048,
                mime: "application/pdf".into(),
            }],
        },
    };
    // The offer (or its absence) right after a socket's welcome.
    async fn offered(client: &mut Client) -> Option<(String, String)> {
        let next = client.wait_for(|e| match e {
            ServerMessage::Signal {
                from,
                session,
                data: SignalData::Files { .. },
                ..
            } => Some((from, session)),
            _ => None,
        });
        tokio::time::timeout(std::time::Duration::from_millis(700), next)
            .await
            .ok()
    }
    alice.send(&offer("t1")).await;
    // Bob was away; he connects and gets it, and again on his next connection.
    let mut bob = server.connect(&bob_cookie).await;
    assert_eq!(offered(&mut bob).await, Some(("alice".into(), "t1".into())));
    drop(bob);
    let mut bob = server.connect(&bob_cookie).await;
    assert_eq!(offered(&mut bob).await, Some(("alice".into(), "t1".into())));
    // Declined: never again.
    bob.send(&ClientMessage::Signal {
        room: lobby.clone(),
        to: "alice".into(),
        session: "t1".into(),
        data: SignalData::Bye,
    })
    .await;
    let _ = alice
        .wait_for(|e| matches!(e, ServerMessage::Signal { .. }).then_some(()))
        .await;
    drop(bob);
    let mut bob = server.connect(&bob_cookie).await;
    assert_eq!(offered(&mut bob).await, None);
    drop(bob);

    // Accepted (the receiver's WebRTC offer for that session): never again either.
    alice.send(&offer("t2")).await;
    let mut bob = server.connect(&bob_cookie).await;
    assert_eq!(offered(&mut bob).await, Some(("alice".into(), "t2".into())));
    bob.send(&ClientMessage::Signal {
        room: lobby.clone(),
        to: "alice".into(),
        session: "t2".into(),
        data: SignalData::Offer { sdp: "v=0".into() },
    })
    .await;
    let _ = alice
        .wait_for(|e| matches!(e, ServerMessage::Signal { .. }).then_some(()))
        .await;
    drop(bob);
    let mut bob = server.connect(&bob_cookie).await;
    assert_eq!(offered(&mut bob).await, None);
    drop(bob);

    // Bob was removed from the room meanwhile: the offer stays with the room.
    let room = alice.create_room("files").await;
    alice.add(&room, "bob").await.unwrap();
    alice
        .send(&ClientMessage::Signal {
            room: room.clone(),
            to: "bob".into(),
            session: "t4".into(),
            data: SignalData::Files {
                files: vec![shared::transfer::FileMeta {
                    name: "secret.txt".into(),
                    size: 1,
                    mime: "text/plain".into(),
                }],
            },
        })
        .await;
    alice
        .request(
            "rm-bob",
            ClientMessage::RemoveMember {
                room: room.clone(),
                client_id: ClientMsgId("rm-bob".into()),
                user: "bob".into(),
            },
        )
        .await
        .unwrap();
    let mut bob = server.connect(&bob_cookie).await;
    assert_eq!(offered(&mut bob).await, None);
    drop(bob);

    // The sender left: the offer is not handed over (nobody could send the files).
    alice.send(&offer("t3")).await;
    drop(alice);
    let mut watcher = server.connect(&server.create_user("carol").await).await;
    assert_eq!(
        watcher.presence_of("alice").await,
        shared::rooms::Presence::Offline
    );
    let mut bob = server.connect(&bob_cookie).await;
    assert_eq!(offered(&mut bob).await, None);
}
