//! Replies, mentions, edits, deletes and reactions: who may do them, and how they show up live,
//! in history and in catch-up.

use crate::harness::{TestServer, body};
use shared::events::{Event, EventKind, Reaction};
use shared::ws::{ClientMessage, ErrorCode};
use shared::{ClientMsgId, RoomId, Seq};

fn lobby() -> RoomId {
    RoomId::lobby()
}

fn key(k: &str) -> ClientMsgId {
    ClientMsgId(k.into())
}

fn edit(k: &str, target: Seq, text: &str) -> ClientMessage {
    ClientMessage::Edit {
        room: lobby(),
        client_id: key(k),
        target,
        body: text.into(),
    }
}

fn react(k: &str, target: Seq, emoji: &str, add: bool) -> ClientMessage {
    ClientMessage::React {
        room: lobby(),
        client_id: key(k),
        target,
        emoji: emoji.into(),
        add,
    }
}

fn message_fields(event: &Event) -> (&str, Option<i64>, bool, &[Reaction]) {
    match &event.kind {
        EventKind::Message {
            body,
            edited_at_ms,
            deleted,
            reactions,
            ..
        } => (body, *edited_at_ms, *deleted, reactions),
        other => panic!("not a message: {other:?}"),
    }
}

#[tokio::test]
async fn only_the_author_edits_or_deletes_and_refusals_change_nothing() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let original = alice.post(&lobby(), "m1", "helo").await;
    bob.next_room_event().await;

    assert_eq!(
        bob.request("b1", edit("b1", original.seq, "pwned")).await,
        Err(ErrorCode::Forbidden)
    );
    let delete = |k: &str| ClientMessage::Delete {
        room: lobby(),
        client_id: key(k),
        target: original.seq,
    };
    assert_eq!(
        bob.request("b2", delete("b2")).await,
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(
        alice.request("e0", edit("e0", Seq(999), "x")).await,
        Err(ErrorCode::NoSuchMessage)
    );
    let (page, _) = bob.history(&lobby(), None, 10).await;
    assert_eq!(
        page,
        std::slice::from_ref(&original),
        "nothing stored changed"
    );

    let edited = alice
        .request("e1", edit("e1", original.seq, "hello"))
        .await
        .unwrap();
    assert_eq!(
        bob.next_room_event().await.kind,
        EventKind::Edit {
            target: original.seq,
            body: "hello".into()
        }
    );
    let (page, _) = bob.history(&lobby(), None, 10).await;
    let (text, edited_at, deleted, _) = message_fields(&page[0]);
    assert_eq!(
        (text, edited_at, deleted),
        ("hello", Some(edited.at_ms), false)
    );
    assert_eq!(
        page.len(),
        1,
        "operations are folded into the message, not listed"
    );

    alice.request("d1", delete("d1")).await.unwrap();
    let (page, _) = bob.history(&lobby(), None, 10).await;
    let (text, _, deleted, _) = message_fields(&page[0]);
    assert_eq!((text, deleted), ("", true), "a tombstone stays");
    let replay = bob.catch_up(&lobby(), Seq(0), 100).await;
    for event in &replay {
        if let EventKind::Edit { body, .. } = &event.kind {
            assert_eq!(body, "", "no earlier edit keeps the deleted text");
        }
    }
    assert_eq!(
        alice.request("e2", edit("e2", original.seq, "back")).await,
        Err(ErrorCode::NoSuchMessage),
        "a deleted message cannot be edited"
    );
}

#[tokio::test]
async fn reactions_are_added_and_removed_per_person() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let mut bob = server.connect(&server.create_user("bob").await).await;
    let message = alice.post(&lobby(), "m1", "ship it?").await;
    let cursor = message.seq;

    bob.request("r1", react("r1", message.seq, "👍", true))
        .await
        .unwrap();
    alice
        .request("r2", react("r2", message.seq, "👍", true))
        .await
        .unwrap();
    alice
        .request("r3", react("r3", message.seq, "🎉", true))
        .await
        .unwrap();
    bob.request("r4", react("r4", message.seq, "👍", false))
        .await
        .unwrap();
    assert_eq!(
        bob.request("r5", react("r5", message.seq, "lol", true))
            .await,
        Err(ErrorCode::InvalidMessage)
    );

    let (page, _) = alice.history(&lobby(), None, 10).await;
    let (_, _, _, reactions) = message_fields(&page[0]);
    assert_eq!(
        reactions,
        [
            Reaction {
                emoji: "👍".into(),
                users: vec!["alice".into()]
            },
            Reaction {
                emoji: "🎉".into(),
                users: vec!["alice".into()]
            }
        ]
    );
    // A client that was away gets the operations in order after its cursor.
    let missed = alice.catch_up(&lobby(), cursor, 100).await;
    let ops: Vec<(String, bool)> = missed
        .iter()
        .map(|e| match &e.kind {
            EventKind::Reaction { emoji, added, .. } => (format!("{}{emoji}", e.sender), *added),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("bob👍".to_owned(), true),
            ("alice👍".to_owned(), true),
            ("alice🎉".to_owned(), true),
            ("bob👍".to_owned(), false)
        ]
    );
}

#[tokio::test]
async fn replies_point_into_the_same_room_and_mentions_name_members() {
    let server = TestServer::start().await;
    let mut alice = server.connect(&server.create_user("alice").await).await;
    let _bob = server.connect(&server.create_user("bob").await).await;
    let question = alice.post(&lobby(), "q", "lunch?").await;
    let reply = ClientMessage::Send {
        attachment: None,
        room: lobby(),
        client_id: key("a"),
        body: "@Bob @nobody @alice yes".into(),
        reply_to: Some(question.seq),
    };
    let answer = alice.request("a", reply).await.unwrap();
    match &answer.kind {
        EventKind::Message {
            reply_to, mentions, ..
        } => {
            assert_eq!(*reply_to, Some(question.seq));
            assert_eq!(
                mentions,
                &["bob", "alice"],
                "members only, as they spell their names"
            );
        }
        other => panic!("{other:?}"),
    }
    let elsewhere = alice.create_room("other").await;
    let stray = ClientMessage::Send {
        attachment: None,
        room: elsewhere,
        client_id: key("s"),
        body: "re".into(),
        reply_to: Some(Seq(question.seq.0 + 100)),
    };
    assert_eq!(
        alice.request("s", stray).await,
        Err(ErrorCode::NoSuchMessage)
    );
    assert_eq!(body(&answer), "@Bob @nobody @alice yes");
}

#[tokio::test]
async fn sending_faster_than_the_per_user_limit_is_refused_with_the_client_id() {
    let server = TestServer::start_with(|c| {
        c.user_events_per_second = 1;
        c.socket_frames_per_second = 1000;
    })
    .await;
    let cookie = server.create_user("alice").await;
    // Two tabs share one allowance: the limit is per user, not per socket.
    let mut tab1 = server.connect(&cookie).await;
    let mut tab2 = server.connect(&cookie).await;
    let mut refused = 0;
    for i in 0..6 {
        let tab = if i % 2 == 0 { &mut tab1 } else { &mut tab2 };
        let k = format!("k{i}");
        let message = ClientMessage::Send {
            attachment: None,
            room: lobby(),
            client_id: key(&k),
            body: "spam".into(),
            reply_to: None,
        };
        if tab.request(&k, message).await == Err(ErrorCode::RateLimited) {
            refused += 1;
        }
    }
    assert_eq!(refused, 2, "a burst of 4, then refusals");
}
