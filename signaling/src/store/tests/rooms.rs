//! Rooms, members, invite links, bans, blocks and receipts.

use super::*;
use std::collections::HashMap;

pub(super) async fn member_counts_follow_joins_and_leaves(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let room = group(&store, "00c0ffee00c0ffee", &ann, &[&bo, &cy]).await;
    let added = |u: &NamedUser| (None, Draft::Added { user: u.clone() });
    // Adding someone twice changes nothing (the insert is ignored, and so is its count).
    store
        .append_all(&room, &ann, vec![added(&bo)], 4)
        .await
        .unwrap();
    store
        .append_all(&room, &cy, vec![(None, Draft::Left)], 5)
        .await
        .unwrap();
    let counts: HashMap<RoomId, u32> = store
        .room_summaries(ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.member_count))
        .collect();
    assert_eq!(counts[&room], 2, "ann and bo");
    assert_eq!(counts[&RoomId::lobby()], 3);
    // Presence goes to rooms up to a size: the room of 2 is small, the lobby of 3 is not.
    assert_eq!(
        store.small_room_ids(bo.id, 2).await.unwrap(),
        std::slice::from_ref(&room)
    );
    let mut both = store.small_room_ids(bo.id, 3).await.unwrap();
    both.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(both, [room.clone(), RoomId::lobby()]);
    let mut all = store.room_ids(cy.id).await.unwrap();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all, [RoomId::lobby()], "cy left");
    let members: Vec<(String, Role)> = store
        .members(&room)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user.name, m.role))
        .collect();
    assert_eq!(
        members,
        [("ann".into(), Role::Owner), ("bo".into(), Role::Member)]
    );
}

pub(super) async fn a_direct_conversation_is_found_by_its_pair_and_named_after_the_other(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let key = format!("{}:{}", ann.id.0, bo.id.0);
    let room = RoomId("00000000000000d1".into());
    let created = store
        .create_room(
            NewRoom {
                id: room.clone(),
                kind: RoomKind::Direct,
                name: "",
                topic: "",
                creator: &ann,
                client_id: &ClientMsgId("open".into()),
                direct: Some((&bo, key.clone())),
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(created.seq, Seq(1));
    assert_eq!(store.direct_room(&key).await.unwrap(), Some(room.clone()));
    assert_eq!(store.direct_room("1:999").await.unwrap(), None);
    assert_eq!(
        store
            .event_by_client_id(ann.id, &ClientMsgId("open".into()))
            .await
            .unwrap(),
        Some(created)
    );
    let membership = store.membership(&room, bo.id).await.unwrap().unwrap();
    assert_eq!(
        (membership.kind, membership.role, membership.muted),
        (RoomKind::Direct, Role::Member, false)
    );
    let seen_by_ann = store.room_summary(&room, ann.id).await.unwrap().unwrap();
    assert_eq!(
        (
            seen_by_ann.kind,
            seen_by_ann.name.as_str(),
            seen_by_ann.member_count
        ),
        (RoomKind::Direct, "bo", 2)
    );
    assert_eq!(
        store
            .room_summary(&room, bo.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "ann"
    );
    // Ann chose both her rooms; bo was put in this one.
    assert_eq!(store.room_counts(ann.id).await.unwrap(), (2, 2));
    assert_eq!(store.room_counts(bo.id).await.unwrap(), (2, 1));
    let cy = user(&store, "cy").await;
    assert!(store.room_summary(&room, cy.id).await.unwrap().is_none());
    assert!(store.membership(&room, cy.id).await.unwrap().is_none());
}

pub(super) async fn invite_links_expire_are_revoked_and_end_with_their_creator(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let room = group(&store, "00000000000000b1", &ann, &[&bo]).await;
    for (hash, by, expires) in [
        (1u8, &ann, 100),
        (2, &ann, 100),
        (3, &bo, 100),
        (4, &ann, 10),
    ] {
        store
            .create_invite(&[hash], &room, by.id, 1, expires)
            .await
            .unwrap();
    }
    assert_eq!(
        store.invite_room(&[1], 50).await.unwrap(),
        Some(room.clone())
    );
    assert_eq!(store.invite_room(&[4], 50).await.unwrap(), None, "expired");
    assert_eq!(store.invite_room(&[9], 50).await.unwrap(), None);
    assert_eq!(
        store.invite_creator(&[3], &room).await.unwrap(),
        Some(bo.id)
    );
    assert_eq!(
        store.invite_creator(&[3], &RoomId::lobby()).await.unwrap(),
        None
    );
    assert_eq!(store.revoke_invites(&room, Some(&[1])).await.unwrap(), 1);
    assert_eq!(store.invite_room(&[1], 50).await.unwrap(), None);
    // Removing bo ends bo's links, not ann's.
    store
        .append_all(
            &room,
            &ann,
            vec![(None, Draft::Removed { user: bo.clone() })],
            5,
        )
        .await
        .unwrap();
    assert_eq!(store.invite_room(&[3], 50).await.unwrap(), None);
    assert_eq!(
        store.invite_room(&[2], 50).await.unwrap(),
        Some(room.clone())
    );
    store.purge_expired_sessions(50, 0).await.unwrap();
    assert_eq!(
        store.revoke_invites(&room, None).await.unwrap(),
        1,
        "the expired one was purged"
    );
}

pub(super) async fn blocks_are_seen_from_both_sides(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let al = user(&store, "al").await;
    let bea = user(&store, "Bea").await;
    let cy = user(&store, "cy").await;
    for other in [&cy, &bo, &bea, &al] {
        store.set_blocked(ann.id, other.id, true, 1).await.unwrap();
    }
    store.set_blocked(ann.id, bo.id, true, 2).await.unwrap();
    assert_eq!(
        store.blocked_by(ann.id).await.unwrap(),
        ["al", "Bea", "bo", "cy"],
        "by name, whatever its case"
    );
    assert!(store.has_blocked(ann.id, bo.id).await.unwrap());
    assert!(!store.has_blocked(bo.id, ann.id).await.unwrap());
    assert!(store.blocked_either_way(bo.id, ann.id).await.unwrap());
    assert!(store.blocked_either_way(ann.id, bo.id).await.unwrap());
    assert!(!store.blocked_either_way(bo.id, cy.id).await.unwrap());
    store.set_blocked(ann.id, bo.id, false, 3).await.unwrap();
    assert!(!store.blocked_either_way(bo.id, ann.id).await.unwrap());
    assert_eq!(store.blocked_by(ann.id).await.unwrap(), ["al", "Bea", "cy"]);
}

pub(super) async fn receipts_only_move_forward_and_stop_at_the_last_seq(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    for i in 0..4 {
        store
            .append(&lobby, &ann, None, message("m"), i)
            .await
            .unwrap();
    }
    let advance = |delivered: i64, read: i64| {
        let store = store.clone();
        let lobby = lobby.clone();
        let bo = bo.id;
        async move {
            store
                .advance_receipts(&lobby, bo, Seq(delivered), Seq(read))
                .await
                .unwrap()
        }
    };
    assert_eq!(advance(2, 1).await, Some((Seq(2), Seq(1))));
    assert_eq!(advance(2, 1).await, None, "nothing moved");
    assert_eq!(advance(1, 0).await, None, "never back");
    assert_eq!(
        advance(0, 3).await,
        Some((Seq(3), Seq(3))),
        "read implies delivered"
    );
    assert_eq!(advance(99, 99).await, Some((Seq(4), Seq(4))), "clamped");
    let member = store
        .members(&lobby)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.user.id == bo.id)
        .unwrap();
    assert_eq!((member.delivered_seq, member.read_seq), (Seq(4), Seq(4)));
    assert_eq!(member.last_seen_ms, None);
    store.set_last_seen(bo.id, 1234).await.unwrap();
    let member = store
        .members(&lobby)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.user.id == bo.id)
        .unwrap();
    assert_eq!(member.last_seen_ms, Some(1234));
    let outsider = RoomId("00000000000000e1".into());
    assert_eq!(
        store
            .advance_receipts(&outsider, bo.id, Seq(1), Seq(1))
            .await
            .unwrap(),
        None,
        "not a member"
    );
}

pub(super) async fn a_notification_level_is_each_members_own(store: Arc<dyn Storage>) {
    use shared::rooms::NotifyLevel;
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let room = group(&store, "00000000000000e1", &ann, &[&bo]).await;
    let level = |who: UserId| {
        let store = store.clone();
        let room = room.clone();
        async move {
            store
                .room_summary(&room, who)
                .await
                .unwrap()
                .map(|s| s.notify)
        }
    };
    assert_eq!(level(ann.id).await, Some(NotifyLevel::All), "the default");
    assert!(
        store
            .set_notify(&room, bo.id, NotifyLevel::Mentions)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_notify(&room, ann.id, NotifyLevel::None)
            .await
            .unwrap()
    );
    assert_eq!(level(bo.id).await, Some(NotifyLevel::Mentions));
    assert_eq!(level(ann.id).await, Some(NotifyLevel::None));
    // The list of all my rooms says the same; other rooms keep theirs.
    let listed: HashMap<RoomId, NotifyLevel> = store
        .room_summaries(bo.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.notify))
        .collect();
    assert_eq!(listed[&room], NotifyLevel::Mentions);
    assert_eq!(listed[&RoomId::lobby()], NotifyLevel::All);
    // Not a member: nothing is stored.
    assert!(
        !store
            .set_notify(&room, cy.id, NotifyLevel::None)
            .await
            .unwrap()
    );
    assert_eq!(level(cy.id).await, None);
}

pub(super) async fn file_offers_wait_for_their_receiver_until_answered_or_old(
    store: Arc<dyn Storage>,
) {
    use crate::store::{FILE_OFFERS_PER_SENDER, FileOffer};
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let offer = |from: &NamedUser, to: &NamedUser, session: &str, at: i64| FileOffer {
        room: RoomId::lobby(),
        from: from.clone(),
        to: to.id,
        session: session.into(),
        files: format!(r#"[{{"name":"{session}.txt","size":1,"mime":"text/plain"}}]"#),
        created_ms: at,
    };
    let sessions = |offers: Vec<FileOffer>| -> Vec<(String, String)> {
        offers
            .into_iter()
            .map(|o| (o.from.name, o.session))
            .collect()
    };
    store
        .put_file_offer(&offer(&ann, &bo, "s1", 100))
        .await
        .unwrap();
    store
        .put_file_offer(&offer(&ann, &bo, "s2", 200))
        .await
        .unwrap();
    store
        .put_file_offer(&offer(&cy, &bo, "s3", 300))
        .await
        .unwrap();
    let waiting = store.file_offers_for(bo.id, 0).await.unwrap();
    assert_eq!(waiting[0], offer(&ann, &bo, "s1", 100), "read back as kept");
    assert_eq!(
        sessions(waiting),
        [
            ("ann".into(), "s1".into()),
            ("ann".into(), "s2".into()),
            ("cy".into(), "s3".into())
        ]
    );
    assert!(store.file_offers_for(ann.id, 0).await.unwrap().is_empty());
    // Offered again: replaced, not doubled. Answered (from either side): gone.
    store
        .put_file_offer(&offer(&ann, &bo, "s1", 400))
        .await
        .unwrap();
    store.remove_file_offer("s2", bo.id, ann.id).await.unwrap();
    store.remove_file_offer("s3", ann.id, bo.id).await.unwrap();
    assert_eq!(
        sessions(store.file_offers_for(bo.id, 0).await.unwrap()),
        [("cy".into(), "s3".into()), ("ann".into(), "s1".into())],
        "another pair's session of the same name stays"
    );
    // Old ones are dropped as they are read.
    assert_eq!(
        sessions(store.file_offers_for(bo.id, 350).await.unwrap()),
        [("ann".into(), "s1".into())]
    );
    assert_eq!(store.file_offers_for(bo.id, 0).await.unwrap().len(), 1);
    // A sender keeps a bounded number: the oldest go.
    for i in 0..FILE_OFFERS_PER_SENDER + 5 {
        store
            .put_file_offer(&offer(&ann, &cy, &format!("n{i}"), 1_000 + i))
            .await
            .unwrap();
    }
    let kept = sessions(store.file_offers_for(cy.id, 0).await.unwrap());
    assert_eq!(kept.len() as i64, FILE_OFFERS_PER_SENDER);
    assert_eq!(kept[0].1, "n5");
    assert_eq!(
        kept.last().unwrap().1,
        format!("n{}", FILE_OFFERS_PER_SENDER + 4)
    );
    assert!(
        store.file_offers_for(bo.id, 0).await.unwrap().is_empty(),
        "s1 to bo was ann's oldest"
    );
}

pub(super) async fn push_subscriptions_and_the_outbox(store: Arc<dyn Storage>) {
    use crate::store::PushSubscription;
    use shared::rooms::NotifyLevel;
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let far = i64::MAX / 2;
    for (hash, who) in [(1u8, &ann), (2, &bo), (3, &bo), (4, &cy)] {
        store
            .create_session(&[hash; 32], who.id, 1, far, &Default::default())
            .await
            .unwrap();
    }
    // The key made first stays, whoever asks later.
    assert_eq!(
        store.server_key("vapid", b"first", 1).await.unwrap(),
        b"first"
    );
    assert_eq!(
        store.server_key("vapid", b"second", 2).await.unwrap(),
        b"first"
    );

    let subscription = |endpoint: &str, session: u8, who: &NamedUser, at: i64| PushSubscription {
        endpoint: endpoint.into(),
        session_hash: [session; 32],
        user: who.id,
        p256dh: "key".into(),
        auth: "auth".into(),
        created_ms: at,
    };
    let room = group(&store, "00000000000000f1", &ann, &[&bo]).await;
    // Nobody subscribed: a message queues no push.
    store
        .append(&room, &ann, None, message("before"), 10)
        .await
        .unwrap();
    assert!(store.claim_pushes(100, 200, 10).await.unwrap().is_empty());

    store
        .add_push_subscription(&subscription("https://p/b1", 2, &bo, 20), 2)
        .await
        .unwrap();
    store
        .add_push_subscription(&subscription("https://p/b2", 3, &bo, 21), 2)
        .await
        .unwrap();
    store
        .add_push_subscription(&subscription("https://p/c1", 4, &cy, 22), 2)
        .await
        .unwrap();
    store
        .set_notify(&room, bo.id, NotifyLevel::Mentions)
        .await
        .unwrap();
    assert!(!store.push_text(bo.id).await.unwrap(), "no text by default");
    store.set_push_text(bo.id, true).await.unwrap();
    assert!(store.push_text(bo.id).await.unwrap());
    let targets = store.push_targets(&room, ann.id).await.unwrap();
    let mut endpoints: Vec<(&str, NotifyLevel)> = targets
        .iter()
        .map(|t| (t.endpoint.as_str(), t.notify))
        .collect();
    endpoints.sort_by_key(|(endpoint, _)| *endpoint);
    assert_eq!(
        endpoints,
        [
            ("https://p/b1", NotifyLevel::Mentions),
            ("https://p/b2", NotifyLevel::Mentions)
        ],
        "cy is not in the room"
    );
    assert!(
        store.push_targets(&room, bo.id).await.unwrap().is_empty(),
        "nor is bo his own"
    );
    assert!(targets.iter().all(|t| t.show_text));

    // A message and a call queue a push each, in their own transaction; a reaction does not.
    let sent = store
        .append(&room, &ann, None, message("hello"), 30)
        .await
        .unwrap();
    store
        .append(
            &room,
            &ann,
            None,
            Draft::Reaction {
                target: sent.seq,
                emoji: "👍".into(),
                added: true,
            },
            31,
        )
        .await
        .unwrap();
    let call = store
        .append(
            &room,
            &ann,
            None,
            Draft::CallStarted {
                call: "k1".into(),
                video: false,
            },
            32,
        )
        .await
        .unwrap();
    // Bo's own message: ann has no subscription, so nothing to push.
    store
        .append(&room, &bo, None, message("hi"), 33)
        .await
        .unwrap();
    // The group commit's messages too: ann's queues one, bo's none.
    let batch = [pending(&room, &ann, "g1"), pending(&room, &bo, "g2")];
    let appended = store.append_messages(&batch, 34).await.unwrap();
    let Appended::New(batched) = &appended[0] else {
        panic!("{appended:?}");
    };
    let claimed = store.claim_pushes(100, 200, 10).await.unwrap();
    let mut seqs: Vec<i64> = claimed.iter().map(|(_, s)| s.0).collect();
    seqs.sort();
    assert_eq!(seqs, [sent.seq.0, call.seq.0, batched.seq.0]);
    // Claimed until 200: nobody else gets them before; after that they come back.
    assert!(store.claim_pushes(150, 300, 10).await.unwrap().is_empty());
    assert_eq!(store.claim_pushes(250, 400, 1).await.unwrap().len(), 1);
    for (room, seq) in &claimed {
        store.finish_push(room, *seq).await.unwrap();
    }
    assert!(
        store
            .claim_pushes(1_000, 2_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let event = store.event_at(&room, sent.seq).await.unwrap().unwrap();
    assert_eq!(event.sender, "ann");
    assert!(store.event_at(&room, Seq(999)).await.unwrap().is_none());

    // A user keeps a bounded number (the oldest go); an endpoint is removed by its owner only,
    // or by anyone for a push service's "gone"; logging out ends the session's ones.
    store
        .add_push_subscription(&subscription("https://p/b3", 2, &bo, 40), 2)
        .await
        .unwrap();
    let mut left: Vec<String> = store
        .push_targets(&room, ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.endpoint)
        .collect();
    left.sort();
    assert_eq!(left, ["https://p/b2", "https://p/b3"]);
    assert!(
        !store
            .remove_push_subscription("https://p/b2", Some(ann.id))
            .await
            .unwrap()
    );
    assert!(
        store
            .remove_push_subscription("https://p/b2", Some(bo.id))
            .await
            .unwrap()
    );
    assert!(
        store
            .remove_push_subscription("https://p/c1", None)
            .await
            .unwrap()
    );
    store.delete_session(&[2; 32]).await.unwrap();
    assert!(store.push_targets(&room, ann.id).await.unwrap().is_empty());
}
