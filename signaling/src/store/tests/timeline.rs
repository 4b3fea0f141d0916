//! Appending events: gap-free seqs, the group commit, each kind of event and its effect, and
//! reading the timeline back.

use super::*;
use shared::events::{EventKind, Reaction};

pub(super) async fn concurrent_appends_get_consecutive_seqs(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let ann = ann.clone();
            tokio::spawn(async move {
                let key = ClientMsgId(format!("k{i}"));
                store
                    .append(&RoomId::lobby(), &ann, Some(&key), message("x"), i)
                    .await
                    .unwrap()
                    .seq
                    .0
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

pub(super) async fn unread_counts_skip_my_own_and_deleted_messages(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    store
        .append(&lobby, &ann, None, message("mine"), 1)
        .await
        .unwrap();
    let gone = store
        .append(&lobby, &bo, None, message("oops"), 2)
        .await
        .unwrap();
    store
        .append(&lobby, &bo, None, message("hi @ann"), 3)
        .await
        .unwrap();
    let mention = Draft::Message {
        attachment: None,
        body: "@ann look".into(),
        reply_to: None,
        mentions: vec!["ann".into()],
    };
    store.append(&lobby, &bo, None, mention, 4).await.unwrap();
    store
        .append(&lobby, &bo, None, Draft::Delete { target: gone.seq }, 5)
        .await
        .unwrap();
    let summary = store.room_summary(&lobby, ann.id).await.unwrap().unwrap();
    assert_eq!((summary.unread, summary.unread_mentions), (2, 1));
    assert_eq!(summary.last_seq, Seq(5));
    let last = summary.last_message.unwrap();
    assert_eq!(
        (
            last.seq,
            last.sender.as_str(),
            last.text.as_str(),
            last.at_ms
        ),
        (Seq(4), "bo", "@ann look", 4)
    );
    store
        .advance_receipts(&lobby, ann.id, Seq(0), Seq(4))
        .await
        .unwrap();
    let summary = store.room_summary(&lobby, ann.id).await.unwrap().unwrap();
    assert_eq!(summary.unread, 0);
    assert_eq!(summary.read_seq, Seq(4));
    // The list has the same row, newest activity first.
    let room = group(&store, "00000000000000f1", &bo, &[&ann]).await;
    let list = store.room_summaries(ann.id).await.unwrap();
    let ids: Vec<&RoomId> = list.iter().map(|s| &s.id).collect();
    assert_eq!(ids, [&lobby, &room], "the lobby's last message is newer");
    assert_eq!(list[0].role, Role::Owner);
    assert_eq!(
        (list[1].role, list[1].name.as_str()),
        (Role::Member, room.0.as_str())
    );
}

pub(super) async fn a_group_commit_stores_in_order_and_checks_each_message_again(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    let (before, _) = store.events_after(&lobby, Seq(0), 100).await.unwrap();
    let first = before.last().map_or(0, |e| e.seq.0);
    let elsewhere = RoomId("00000000000000ff".into());
    let batch = vec![
        pending(&lobby, &ann, "a1"),
        pending(&lobby, &bo, "b1"),
        // The same key again in the same batch: stored once.
        pending(&lobby, &ann, "a1"),
        // A room the sender is not in.
        pending(&elsewhere, &bo, "b2"),
        pending(&lobby, &ann, "a2"),
    ];
    let results = store.append_messages(&batch, 5).await.unwrap();
    let seqs: Vec<Option<i64>> = results
        .iter()
        .map(|r| match r {
            Appended::New(event) => Some(event.seq.0),
            _ => None,
        })
        .collect();
    assert_eq!(
        seqs,
        vec![
            Some(first + 1),
            Some(first + 2),
            None,
            None,
            Some(first + 3)
        ]
    );
    assert!(matches!(results[2], Appended::Earlier));
    assert!(matches!(results[3], Appended::NotMember));
    // What the batch returned is what is stored, gap-free.
    let (after, _) = store.events_after(&lobby, Seq(first), 100).await.unwrap();
    let stored: Vec<(i64, String)> = after
        .iter()
        .map(|e| match &e.kind {
            EventKind::Message { body, .. } => (e.seq.0, body.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        stored,
        vec![
            (first + 1, "body of a1".to_owned()),
            (first + 2, "body of b1".to_owned()),
            (first + 3, "body of a2".to_owned()),
        ]
    );
    let returned: Vec<&Event> = results
        .iter()
        .filter_map(|r| match r {
            Appended::New(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(returned, after.iter().collect::<Vec<_>>());
    // A resend in a later batch is recognised too.
    let again = store
        .append_messages(&[pending(&lobby, &bo, "b1")], 6)
        .await
        .unwrap();
    assert!(matches!(again[0], Appended::Earlier));
    assert_eq!(
        store
            .room_summary(&lobby, ann.id)
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        Seq(first + 3),
        "a resend takes no number"
    );
}

pub(super) async fn a_group_commit_refuses_muted_and_blocked_senders(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let direct = RoomId("00000000000000d2".into());
    store
        .create_room(
            NewRoom {
                id: direct.clone(),
                kind: RoomKind::Direct,
                name: "",
                topic: "",
                creator: &ann,
                client_id: &ClientMsgId("open".into()),
                direct: Some((&bo, format!("{}:{}", ann.id.0, bo.id.0))),
            },
            1,
        )
        .await
        .unwrap();
    let room = group(&store, "00000000000000a2", &ann, &[&cy]).await;
    store
        .append(
            &room,
            &ann,
            None,
            Draft::Muted {
                user: cy.clone(),
                muted: true,
            },
            4,
        )
        .await
        .unwrap();
    store.set_blocked(bo.id, ann.id, true, 5).await.unwrap();
    let batch = [
        pending(&direct, &ann, "k1"),
        pending(&room, &cy, "k2"),
        pending(&room, &ann, "k3"),
        pending(&direct, &bo, "k4"),
    ];
    let results = store.append_messages(&batch, 6).await.unwrap();
    assert!(matches!(results[0], Appended::Blocked), "{:?}", results[0]);
    assert!(matches!(results[1], Appended::Muted), "{:?}", results[1]);
    assert!(matches!(results[2], Appended::New(_)), "{:?}", results[2]);
    assert!(
        matches!(results[3], Appended::Blocked),
        "either way: {:?}",
        results[3]
    );
    // A refused message stored nothing: once the block is lifted, it goes through, next in line.
    store.set_blocked(bo.id, ann.id, false, 7).await.unwrap();
    let results = store
        .append_messages(&[pending(&direct, &ann, "k1")], 8)
        .await
        .unwrap();
    match &results[0] {
        Appended::New(event) => assert_eq!(event.seq, Seq(2)),
        other => panic!("{other:?}"),
    }
}

fn kind(event: &Event) -> &EventKind {
    &event.kind
}

pub(super) async fn every_kind_of_event_reads_back_as_it_was_stored(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let room = group(&store, "00000000000000c1", &ann, &[&bo]).await;
    let key = |k: &str| Some(ClientMsgId(k.into()));
    let drafts = vec![
        (
            key("m1"),
            Draft::Message {
                attachment: None,
                body: "hello @bo".into(),
                reply_to: None,
                mentions: vec!["bo".into()],
            },
        ),
        (
            key("m2"),
            Draft::Message {
                attachment: None,
                body: "a reply".into(),
                reply_to: Some(Seq(3)),
                mentions: Vec::new(),
            },
        ),
        (
            key("e1"),
            Draft::Edit {
                target: Seq(3),
                body: "hello again @bo".into(),
            },
        ),
        (
            None,
            Draft::Reaction {
                target: Seq(4),
                emoji: "👍".into(),
                added: true,
            },
        ),
        (
            None,
            Draft::Reaction {
                target: Seq(4),
                emoji: "👍".into(),
                added: false,
            },
        ),
        (
            None,
            Draft::Reaction {
                target: Seq(4),
                emoji: "🎉".into(),
                added: true,
            },
        ),
        (
            None,
            Draft::Reaction {
                target: Seq(3),
                emoji: "❤".into(),
                added: true,
            },
        ),
        (
            None,
            Draft::Renamed {
                name: "crew".into(),
            },
        ),
        (
            None,
            Draft::TopicChanged {
                topic: "plans".into(),
            },
        ),
        (None, Draft::Added { user: cy.clone() }),
        (
            None,
            Draft::RoleChanged {
                user: bo.clone(),
                role: Role::Admin,
            },
        ),
        (
            None,
            Draft::Muted {
                user: cy.clone(),
                muted: true,
            },
        ),
        (
            None,
            Draft::Muted {
                user: cy.clone(),
                muted: false,
            },
        ),
        (
            None,
            Draft::Banned {
                user: cy.clone(),
                banned: true,
            },
        ),
        (
            None,
            Draft::CallStarted {
                call: "call-1".into(),
                video: true,
            },
        ),
        (
            None,
            Draft::CallEnded {
                call: "call-1".into(),
                duration_ms: 65_000,
                missed: false,
                declined: false,
            },
        ),
        (
            None,
            Draft::CallEnded {
                call: "call-2".into(),
                duration_ms: 0,
                missed: true,
                declined: false,
            },
        ),
        (
            None,
            Draft::CallEnded {
                call: "call-3".into(),
                duration_ms: 0,
                missed: true,
                declined: true,
            },
        ),
    ];
    let count = drafts.len();
    let appended = store.append_all(&room, &ann, drafts, 50).await.unwrap();
    let seqs: Vec<i64> = appended.iter().map(|e| e.seq.0).collect();
    assert_eq!(seqs, (3..3 + count as i64).collect::<Vec<_>>());

    let (stored, up_to_date) = store.events_after(&room, Seq(2), 100).await.unwrap();
    assert!(up_to_date);
    assert_eq!(stored.len(), appended.len());
    for (stored, appended) in stored.iter().zip(&appended) {
        if !matches!(appended.kind, EventKind::Message { .. }) {
            assert_eq!(stored, appended);
        }
    }
    // Messages are read in their current state.
    assert_eq!(
        kind(&stored[0]),
        &EventKind::Message {
            attachment: None,
            body: "hello again @bo".into(),
            reply_to: None,
            mentions: vec!["bo".into()],
            edited_at_ms: Some(50),
            deleted: false,
            reactions: vec![Reaction {
                emoji: "❤".into(),
                users: vec!["ann".into()],
            }],
        }
    );
    assert_eq!(
        kind(&stored[1]),
        &EventKind::Message {
            attachment: None,
            body: "a reply".into(),
            reply_to: Some(Seq(3)),
            mentions: Vec::new(),
            edited_at_ms: None,
            deleted: false,
            reactions: vec![Reaction {
                emoji: "🎉".into(),
                users: vec!["ann".into()],
            }],
        }
    );
    assert_eq!(
        store
            .event_by_client_id(ann.id, &ClientMsgId("m1".into()))
            .await
            .unwrap()
            .as_ref(),
        Some(&stored[0])
    );
    // And each event made its change.
    let summary = store.room_summary(&room, ann.id).await.unwrap().unwrap();
    assert_eq!(
        (summary.name.as_str(), summary.topic.as_str()),
        ("crew", "plans")
    );
    assert_eq!(
        store.membership(&room, bo.id).await.unwrap().unwrap().role,
        Role::Admin
    );
    assert!(store.membership(&room, cy.id).await.unwrap().is_none());
    assert!(store.is_banned(&room, cy.id).await.unwrap());

    let later = vec![(
        None,
        Draft::Banned {
            user: cy.clone(),
            banned: false,
        },
    )];
    store.append_all(&room, &ann, later, 60).await.unwrap();
    assert!(!store.is_banned(&room, cy.id).await.unwrap());
    store
        .append_all(&room, &cy, vec![(None, Draft::Joined)], 61)
        .await
        .unwrap();
    let membership = store.membership(&room, cy.id).await.unwrap().unwrap();
    assert_eq!((membership.role, membership.muted), (Role::Member, false));
    let left = store
        .append_all(&room, &cy, vec![(None, Draft::Left)], 62)
        .await
        .unwrap();
    assert!(store.membership(&room, cy.id).await.unwrap().is_none());

    // Deleting leaves a tombstone: no text (in its edits neither), no mentions, no reactions.
    let deleted = store
        .append(&room, &ann, None, Draft::Delete { target: Seq(3) }, 70)
        .await
        .unwrap();
    assert_eq!(deleted.seq.0, left[0].seq.0 + 1);
    let (stored, _) = store.events_after(&room, Seq(2), 100).await.unwrap();
    assert_eq!(
        kind(&stored[0]),
        &EventKind::Message {
            attachment: None,
            body: String::new(),
            reply_to: None,
            mentions: Vec::new(),
            edited_at_ms: Some(50),
            deleted: true,
            reactions: Vec::new(),
        }
    );
    assert_eq!(
        kind(&stored[2]),
        &EventKind::Edit {
            target: Seq(3),
            body: String::new(),
        }
    );
    let info = store
        .message_info(&room, Seq(3), None)
        .await
        .unwrap()
        .unwrap();
    assert!(info.deleted);
    assert_eq!(info.reaction_kinds, 0);
    assert_eq!(stored.last(), Some(&deleted));
}

pub(super) async fn history_pages_back_over_visible_events_with_their_reactions(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    let mut at = 0;
    let mut append = |sender: &NamedUser, draft: Draft| {
        at += 1;
        let (store, lobby, sender) = (store.clone(), lobby.clone(), sender.clone());
        async move {
            store
                .append(&lobby, &sender, None, draft, at)
                .await
                .unwrap()
        }
    };
    for (i, sender) in [&ann, &ann, &ann, &bo, &ann].into_iter().enumerate() {
        append(sender, message(&format!("m{}", i + 1))).await;
    }
    let react = |emoji: &str| Draft::Reaction {
        target: Seq(3),
        emoji: emoji.into(),
        added: true,
    };
    append(
        &ann,
        Draft::Edit {
            target: Seq(2),
            body: "m2, edited".into(),
        },
    )
    .await;
    append(&bo, react("👍")).await;
    append(&ann, react("🎉")).await;
    append(&ann, react("👍")).await;
    append(&ann, Draft::Delete { target: Seq(5) }).await;

    let (page, complete, last_seq) = store.history(&lobby, None, 3).await.unwrap();
    assert_eq!(last_seq, Seq(10));
    assert!(!complete);
    let seqs: Vec<i64> = page.iter().map(|e| e.seq.0).collect();
    assert_eq!(
        seqs,
        [3, 4, 5],
        "edits, deletes and reactions are not shown"
    );
    let EventKind::Message { reactions, .. } = &page[0].kind else {
        panic!("{:?}", page[0]);
    };
    // Emoji in the order they were first used, people in the order they reacted.
    assert_eq!(
        reactions,
        &[
            Reaction {
                emoji: "👍".into(),
                users: vec!["bo".into(), "ann".into()],
            },
            Reaction {
                emoji: "🎉".into(),
                users: vec!["ann".into()],
            },
        ]
    );
    assert!(matches!(
        page[2].kind,
        EventKind::Message { deleted: true, .. }
    ));
    let (page, complete, _) = store.history(&lobby, Some(Seq(3)), 3).await.unwrap();
    assert!(complete);
    let bodies: Vec<&str> = page
        .iter()
        .map(|e| match &e.kind {
            EventKind::Message { body, .. } => body.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(bodies, ["m1", "m2, edited"]);

    let info = store
        .message_info(&lobby, Seq(3), Some("👍"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            info.sender,
            info.deleted,
            info.reaction_kinds,
            info.emoji_present
        ),
        (ann.id, false, 2, true)
    );
    let info = store
        .message_info(&lobby, Seq(3), Some("🙂"))
        .await
        .unwrap()
        .unwrap();
    assert!(!info.emoji_present);
    assert!(
        store
            .message_info(&lobby, Seq(6), None)
            .await
            .unwrap()
            .is_none(),
        "an edit is not a message"
    );

    let (by_bo, done) = store.messages_by(&lobby, bo.id, Seq(0), 10).await.unwrap();
    assert_eq!(by_bo.iter().map(|e| e.seq.0).collect::<Vec<_>>(), [4]);
    assert!(done);
    let (by_ann, done) = store.messages_by(&lobby, ann.id, Seq(1), 2).await.unwrap();
    assert_eq!(by_ann.iter().map(|e| e.seq.0).collect::<Vec<_>>(), [2, 3]);
    assert!(!done);
    let (tail, done) = store.events_after(&lobby, Seq(8), 10).await.unwrap();
    assert_eq!(tail.iter().map(|e| e.seq.0).collect::<Vec<_>>(), [9, 10]);
    assert!(done);
    let (page, complete, last) = store
        .history(&RoomId("00000000000000ee".into()), None, 3)
        .await
        .unwrap();
    assert_eq!(
        (page.len(), complete, last),
        (0, true, Seq(0)),
        "no such room"
    );
}

pub(super) async fn a_thread_gathers_the_replies_to_a_message(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    let mut at = 0;
    let mut append = |sender: &NamedUser, draft: Draft| {
        at += 1;
        let (store, lobby, sender) = (store.clone(), lobby.clone(), sender.clone());
        async move {
            store
                .append(&lobby, &sender, None, draft, at)
                .await
                .unwrap()
        }
    };
    let reply = |to: i64, body: &str| Draft::Message {
        attachment: None,
        body: body.into(),
        reply_to: Some(Seq(to)),
        mentions: Vec::new(),
    };
    append(&ann, message("root one")).await; // 1
    append(&ann, message("root two")).await; // 2
    append(&bo, reply(1, "one: first")).await; // 3
    append(&ann, message("unrelated")).await; // 4
    append(&bo, reply(2, "two: first")).await; // 5
    append(&ann, reply(1, "one: second")).await; // 6
    append(&bo, reply(1, "one: third, deleted")).await; // 7
    append(&bo, Draft::Delete { target: Seq(7) }).await; // 8
    append(
        &ann,
        Draft::Reaction {
            target: Seq(6),
            emoji: "👍".into(),
            added: true,
        },
    )
    .await; // 9
    append(&ann, reply(4, "a late answer")).await; // 10

    // Most recently answered first; deleted replies are not counted.
    let threads = store.threads(&lobby, 10).await.unwrap();
    let listed: Vec<(i64, u32, i64)> = threads
        .iter()
        .map(|t| (t.root.seq.0, t.replies, t.last_seq.0))
        .collect();
    assert_eq!(listed, [(4, 1, 10), (1, 2, 6), (2, 1, 5)]);
    assert_eq!(threads[1].root.sender, "ann");
    assert_eq!(threads[1].last_at_ms, 6);
    assert_eq!(store.threads(&lobby, 1).await.unwrap().len(), 1);

    // The thread of 1: the root, then its replies in order, the deleted one as a tombstone,
    // with reactions; paged forward from a seq.
    let (page, complete) = store.thread(&lobby, Seq(1), Seq(0), 3).await.unwrap();
    assert!(!complete);
    assert_eq!(page.iter().map(|e| e.seq.0).collect::<Vec<_>>(), [1, 3, 6]);
    let EventKind::Message { reactions, .. } = &page[2].kind else {
        panic!("{:?}", page[2]);
    };
    assert_eq!(reactions[0].users, ["ann"]);
    let (rest, complete) = store.thread(&lobby, Seq(1), Seq(6), 3).await.unwrap();
    assert!(complete);
    assert_eq!(rest.len(), 1);
    assert!(matches!(
        rest[0].kind,
        EventKind::Message { deleted: true, .. }
    ));
    // A message without replies is a thread of one; a seq that is not a message, of none.
    let (alone, _) = store.thread(&lobby, Seq(3), Seq(0), 10).await.unwrap();
    assert_eq!(alone.len(), 1);
    let (none, complete) = store.thread(&lobby, Seq(8), Seq(0), 10).await.unwrap();
    assert!(none.is_empty() && complete);
}
