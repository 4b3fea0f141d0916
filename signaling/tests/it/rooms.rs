//! Group rooms, direct conversations, roles, invites and blocks, and who may see what.

use crate::harness::{Client, TestServer, bodies, body};
use shared::events::{EventKind, Role};
use shared::rooms::RoomKind;
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};

fn key(k: &str) -> ClientMsgId {
    ClientMsgId(k.into())
}

async fn summary_update(client: &mut Client) -> shared::rooms::RoomSummary {
    client
        .wait_for(|e| match e {
            ServerMessage::RoomUpdated { room } => Some(room),
            _ => None,
        })
        .await
}

fn error_code(event: ServerMessage) -> Option<ErrorCode> {
    match event {
        ServerMessage::Error { code, .. } => Some(code),
        _ => None,
    }
}

#[tokio::test]
async fn a_non_member_can_neither_read_nor_post_nor_learn_the_room_exists() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut eve = server.connect(&server.create_user("eve").await).await;
    let room = alice.create_room("secret").await;
    alice.post(&room, "s1", "the plan").await;

    let post = ClientMessage::Send {
        attachment: None,
        room: room.clone(),
        client_id: key("e1"),
        body: "let me in".into(),
        reply_to: None,
    };
    assert_eq!(eve.request("e1", post).await, Err(ErrorCode::NoSuchRoom));
    for request in [
        ClientMessage::History {
            room: room.clone(),
            before: None,
            limit: 10,
        },
        ClientMessage::CatchUp {
            room: room.clone(),
            after: Seq(0),
            limit: 10,
        },
        ClientMessage::ListMembers { room: room.clone() },
        ClientMessage::CreateInvite { room: room.clone() },
        ClientMessage::MarkRead {
            room: room.clone(),
            seq: Seq(2),
        },
    ] {
        eve.send(&request).await;
        assert_eq!(
            eve.next_event().await.pipe(error_code),
            Some(ErrorCode::NoSuchRoom)
        );
    }
    // Spoofed events go nowhere: alice hears nothing from eve, and the room is unchanged.
    eve.send(&ClientMessage::Typing { room: room.clone() })
        .await;
    alice.expect_silence(300).await;
    let all = alice.catch_up(&room, Seq(0), 100).await;
    assert_eq!(all.len(), 2, "created + alice's message only");
    let (lobby_only, _) = eve.history(&RoomId::lobby(), None, 10).await;
    assert!(lobby_only.is_empty());
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for ServerMessage {}

#[tokio::test]
async fn an_added_member_gets_the_room_and_its_new_events() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let room = alice.create_room("Design crew").await;
    alice.post(&room, "early", "before bob").await;
    let added = alice.add(&room, "BOB").await.unwrap();
    assert_eq!(added.kind, EventKind::Added { user: "bob".into() });

    let summary = summary_update(&mut bob).await;
    assert_eq!(summary.id, room);
    assert_eq!(summary.name, "Design crew");
    assert_eq!(summary.role, Role::Member);
    assert_eq!(summary.member_count, 2);
    assert_eq!(summary.unread, 1);
    alice.post(&room, "later", "welcome bob").await;
    assert_eq!(body(&bob.next_room_event().await), "welcome bob");
    let (history, complete) = bob.history(&room, None, 10).await;
    assert!(complete);
    assert_eq!(history.len(), 4, "created, message, added, message");

    assert_eq!(alice.add(&room, "bob").await, Err(ErrorCode::AlreadyMember));
    assert_eq!(alice.add(&room, "nobody").await, Err(ErrorCode::NoSuchUser));
}

#[tokio::test]
async fn the_room_list_counts_unread_messages_until_they_are_read() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let bob_cookie = server.create_user("bob").await;
    let mut bob = server.connect(&bob_cookie).await;
    let room = alice.create_room("news").await;
    alice.add(&room, "bob").await.unwrap();
    alice.post(&room, "n1", "one").await;
    alice.post(&room, "n2", "hey @bob, two").await;
    let last = alice.post(&room, "n3", "three").await;

    bob.send(&ClientMessage::ListRooms).await;
    let rooms = bob
        .wait_for(|e| match e {
            ServerMessage::Rooms { rooms } => Some(rooms),
            _ => None,
        })
        .await;
    let news = rooms.iter().find(|r| r.id == room).unwrap();
    assert_eq!((news.unread, news.unread_mentions), (3, 1));
    assert_eq!(news.last_message.as_ref().unwrap().text, "three");
    assert_eq!(news.last_seq, last.seq);

    bob.send(&ClientMessage::MarkRead {
        room: room.clone(),
        seq: last.seq,
    })
    .await;
    let receipt = alice
        .wait_for(|e| match e {
            ServerMessage::Receipt { user, read_seq, .. } => Some((user, read_seq)),
            _ => None,
        })
        .await;
    assert_eq!(receipt, ("bob".to_owned(), last.seq));
    // The welcome of a new socket carries the same list.
    let welcome = server.connect_and_welcome(&bob_cookie).await;
    let news = welcome.iter().find(|r| r.id == room).unwrap();
    assert_eq!((news.unread, news.read_seq), (0, last.seq));
}

#[tokio::test]
async fn only_admins_rename_and_moderate_and_only_downwards() {
    let server = TestServer::start().await;
    let mut owner = server.connect(&server.create_user("owner").await).await;
    let mut admin = server.connect(&server.create_user("admin").await).await;
    let mut member = server.connect(&server.create_user("member").await).await;
    let room = owner.create_room("club").await;
    owner.add(&room, "admin").await.unwrap();
    owner.add(&room, "member").await.unwrap();

    let rename = |k: &str, name: &str| ClientMessage::Rename {
        room: room.clone(),
        client_id: key(k),
        name: name.into(),
    };
    assert_eq!(
        member.request("m1", rename("m1", "mine")).await,
        Err(ErrorCode::Forbidden)
    );
    let promote = ClientMessage::SetRole {
        room: room.clone(),
        client_id: key("o1"),
        user: "admin".into(),
        role: Role::Admin,
    };
    owner.request("o1", promote).await.unwrap();
    let renamed = admin.request("a1", rename("a1", "Club")).await.unwrap();
    assert_eq!(
        renamed.kind,
        EventKind::Renamed {
            name: "Club".into()
        }
    );

    let mute = |k: &str, user: &str, muted: bool| ClientMessage::Mute {
        room: room.clone(),
        client_id: key(k),
        user: user.into(),
        muted,
    };
    assert_eq!(
        member.request("m2", mute("m2", "admin", true)).await,
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(
        admin.request("a2", mute("a2", "owner", true)).await,
        Err(ErrorCode::Forbidden)
    );
    admin
        .request("a3", mute("a3", "member", true))
        .await
        .unwrap();
    assert!(summary_update(&mut member).await.muted);
    let silenced = ClientMessage::Send {
        attachment: None,
        room: room.clone(),
        client_id: key("m3"),
        body: "can I talk?".into(),
        reply_to: None,
    };
    assert_eq!(
        member.request("m3", silenced).await,
        Err(ErrorCode::Forbidden)
    );
    admin
        .request("a4", mute("a4", "member", false))
        .await
        .unwrap();
    member.post(&room, "m4", "I can talk again").await;

    let remove = ClientMessage::RemoveMember {
        room: room.clone(),
        client_id: key("a5"),
        user: "member".into(),
    };
    admin.request("a5", remove).await.unwrap();
    let gone = member
        .wait_for(|e| match e {
            ServerMessage::RoomRemoved { room } => Some(room),
            _ => None,
        })
        .await;
    assert_eq!(gone, room);
    member
        .send(&ClientMessage::History {
            room: room.clone(),
            before: None,
            limit: 5,
        })
        .await;
    assert_eq!(
        member.wait_for(|e| e.pipe(error_code)).await,
        ErrorCode::NoSuchRoom
    );
}

#[tokio::test]
async fn an_owner_who_leaves_passes_the_room_on() {
    let server = TestServer::start().await;
    let mut owner = server.connect(&server.create_user("owner").await).await;
    let mut heir = server.connect(&server.create_user("heir").await).await;
    let room = owner.create_room("legacy").await;
    owner.add(&room, "heir").await.unwrap();
    summary_update(&mut heir).await;
    let leave = ClientMessage::Leave {
        room: room.clone(),
        client_id: key("bye"),
    };
    assert_eq!(
        owner.request("bye", leave).await.unwrap().kind,
        EventKind::Left
    );
    let promoted = heir.next_room_event().await;
    assert_eq!(
        promoted.kind,
        EventKind::RoleChanged {
            user: "heir".into(),
            role: Role::Owner
        }
    );
    assert_eq!(heir.next_room_event().await.kind, EventKind::Left);
    assert_eq!(summary_update(&mut heir).await.role, Role::Owner);
}

#[tokio::test]
async fn an_invite_link_lets_someone_join_once_and_forged_links_fail() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut carol = server.connect(&server.create_user("carol").await).await;
    let room = alice.create_room("open house").await;
    alice
        .send(&ClientMessage::CreateInvite { room: room.clone() })
        .await;
    let token = alice
        .wait_for(|e| match e {
            ServerMessage::Invite { token, .. } => Some(token),
            _ => None,
        })
        .await;
    assert!(token.len() >= 22, "at least 128 bits");

    let join = |k: &str, token: &str| ClientMessage::JoinByInvite {
        client_id: key(k),
        token: token.into(),
    };
    assert_eq!(
        carol.request("j0", join("j0", "forged")).await,
        Err(ErrorCode::InvalidInvite)
    );
    let joined = carol.request("j1", join("j1", &token)).await.unwrap();
    assert_eq!(
        (joined.room.clone(), joined.kind),
        (room.clone(), EventKind::Joined)
    );
    assert_eq!(alice.next_room_event().await.sender, "carol");
    assert_eq!(
        carol.request("j2", join("j2", &token)).await,
        Err(ErrorCode::AlreadyMember)
    );
}

#[tokio::test]
async fn direct_conversations_are_one_per_pair_and_blocks_close_them() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let open = |k: &str, user: &str| ClientMessage::OpenDirect {
        client_id: key(k),
        user: user.into(),
    };
    let dm = alice.request("d1", open("d1", "bob")).await.unwrap().room;
    let summary = summary_update(&mut bob).await;
    assert_eq!(
        (summary.kind, summary.name.as_str()),
        (RoomKind::Direct, "alice")
    );
    assert_eq!(
        bob.request("d2", open("d2", "alice")).await.unwrap().room,
        dm
    );
    assert_eq!(
        alice.request("d3", open("d3", "alice")).await,
        Err(ErrorCode::InvalidMessage)
    );

    alice.post(&dm, "hi", "just us").await;
    assert_eq!(body(&bob.next_room_event().await), "just us");

    bob.send(&ClientMessage::Block {
        user: "alice".into(),
        blocked: true,
    })
    .await;
    bob.wait_for(|e| matches!(e, ServerMessage::Blocked { blocked: true, .. }).then_some(()))
        .await;
    let again = ClientMessage::Send {
        attachment: None,
        room: dm.clone(),
        client_id: key("hi2"),
        body: "are you there?".into(),
        reply_to: None,
    };
    assert_eq!(alice.request("hi2", again).await, Err(ErrorCode::Forbidden));
    // Blocked people cannot pull bob into rooms or open new conversations either.
    let alice_room = alice.create_room("alices").await;
    assert_eq!(
        alice.add(&alice_room, "bob").await,
        Err(ErrorCode::Forbidden)
    );

    bob.send(&ClientMessage::Block {
        user: "alice".into(),
        blocked: false,
    })
    .await;
    bob.wait_for(|e| matches!(e, ServerMessage::Blocked { blocked: false, .. }).then_some(()))
        .await;
    alice.post(&dm, "hi3", "friends again").await;
}

/// The room panel shows Block or Unblock from `GET /api/blocks` (it loads after the welcome
/// that carries the list to the app).
#[tokio::test]
async fn my_blocks_are_listed_for_me_alone() {
    let server = TestServer::start().await;
    server.create_user("alice").await;
    let bob_cookie = server.create_user("bob").await;
    let carol_cookie = server.create_user("carol").await;
    let mut bob = server.connect(&bob_cookie).await;
    let blocks = |cookie: Option<String>| {
        let mut request = server.http.get(format!("{}/api/blocks", server.base));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        async move {
            let response = request.send().await.unwrap();
            match response.status().as_u16() {
                200 => Ok(response
                    .json::<shared::api::Blocks>()
                    .await
                    .unwrap()
                    .blocked),
                other => Err(other),
            }
        }
    };
    assert_eq!(blocks(Some(bob_cookie.clone())).await, Ok(vec![]));
    for blocked in [true, false, true] {
        bob.send(&ClientMessage::Block {
            user: "alice".into(),
            blocked,
        })
        .await;
        bob.wait_for(|e| {
            matches!(e, ServerMessage::Blocked { blocked: b, .. } if b == blocked).then_some(())
        })
        .await;
    }
    assert_eq!(blocks(Some(bob_cookie)).await, Ok(vec!["alice".to_owned()]));
    assert_eq!(blocks(Some(carol_cookie)).await, Ok(vec![]));
    assert_eq!(blocks(None).await, Err(401));
}

/// Threads are read over HTTP by the room's members only: the list with reply counts, and a
/// thread's messages in order.
#[tokio::test]
async fn threads_are_listed_and_read_by_members_only() {
    use shared::api::{ThreadPage, Threads};
    let server = TestServer::start().await;
    let alice_cookie = server.create_user("alice").await;
    let bob_cookie = server.create_user("bob").await;
    let carol_cookie = server.create_user("carol").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut bob = server.connect(&bob_cookie).await;
    let room = alice.create_room("planning").await;
    alice.add(&room, "bob").await.unwrap();
    let root = alice.post(&room, "r1", "what ships friday?").await;
    for (id, body) in [("b1", "the search"), ("b2", "and the panel")] {
        bob.request(
            id,
            ClientMessage::Send {
                attachment: None,
                room: room.clone(),
                client_id: key(id),
                body: body.into(),
                reply_to: Some(root.seq),
            },
        )
        .await
        .unwrap();
    }
    let get = |path: String, cookie: Option<String>| {
        let mut request = server.http.get(format!("{}{path}", server.base));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        async move { request.send().await.unwrap() }
    };
    let list = get(
        format!("/api/rooms/{}/threads", room.0),
        Some(bob_cookie.clone()),
    )
    .await;
    assert_eq!(list.status(), 200);
    let threads: Threads = list.json().await.unwrap();
    assert_eq!(threads.threads.len(), 1);
    assert_eq!(
        (threads.threads[0].root.seq, threads.threads[0].replies),
        (root.seq, 2)
    );

    let page = get(
        format!(
            "/api/rooms/{}/threads/{}?after=0&limit=2",
            room.0, root.seq.0
        ),
        Some(alice_cookie.clone()),
    )
    .await;
    let page: ThreadPage = page.json().await.unwrap();
    assert_eq!(bodies(&page.events), ["what ships friday?", "the search"]);
    assert!(!page.complete);

    // Not a member, or not signed in: nothing is given away.
    for path in [
        format!("/api/rooms/{}/threads", room.0),
        format!("/api/rooms/{}/threads/{}", room.0, root.seq.0),
    ] {
        assert_eq!(
            get(path.clone(), Some(carol_cookie.clone())).await.status(),
            404
        );
        assert_eq!(get(path, None).await.status(), 401);
    }
}
