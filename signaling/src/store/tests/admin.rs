//! Administration: deactivated accounts, retention's floor, reports and their queue, the
//! audit log, settings, the insight aggregates, deleting a room.

use super::*;
use shared::admin::ReportStatus;

pub(super) async fn a_deactivated_account_gets_no_session_and_loses_its_own(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let far = i64::MAX / 2;
    let origin = SessionOrigin::default();
    store
        .create_session(&[1], ann.id, 100, far, &origin)
        .await
        .unwrap();
    assert!(store.session_user(&[1], 200).await.unwrap().is_some());
    assert!(store.set_deactivated(ann.id, Some(300)).await.unwrap());
    assert!(store.is_deactivated(ann.id).await.unwrap());
    assert!(
        store.session_user(&[1], 400).await.unwrap().is_none(),
        "a session from before no longer lets the account in"
    );
    let refused = store.create_session(&[2], ann.id, 500, far, &origin).await;
    assert!(
        matches!(refused, Err(StoreError::Deactivated)),
        "{refused:?}"
    );
    assert!(store.set_deactivated(ann.id, None).await.unwrap());
    store
        .create_session(&[3], ann.id, 600, far, &origin)
        .await
        .unwrap();
    assert!(store.session_user(&[3], 700).await.unwrap().is_some());
    store.set_silenced(ann.id, 10_000).await.unwrap();
    let users = store.admin_users("AN", 10, 800).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].silenced_until_ms, Some(10_000));
    let later = store.admin_users("AN", 10, 20_000).await.unwrap();
    assert_eq!(
        later[0].silenced_until_ms, None,
        "a silence that ended is not shown"
    );
    assert!(
        !users[0].deactivated && users[0].admin,
        "the first account is the admin"
    );
    assert_eq!(users[0].sessions, 2);
    assert!(store.set_admin(ann.id, false).await.unwrap());
    assert!(!store.is_admin(ann.id).await.unwrap());
    assert!(
        store
            .admin_users("nobody", 10, 800)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store.admin_users("%", 10, 800).await.unwrap().is_empty(),
        "patterns are escaped"
    );
}

pub(super) async fn retention_deletes_an_unbroken_run_and_raises_the_floor(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let room = group(&store, "old", &ann, &[&bo]).await; // seqs 1 and 2, at 2 and 3
    for (i, at) in [10, 20, 30, 40].into_iter().enumerate() {
        store
            .append_all(&room, &bo, vec![(None, message(&format!("m{i}")))], at)
            .await
            .unwrap();
    } // seqs 3..=6
    store
        .append_all(
            &room,
            &ann,
            vec![(
                None,
                Draft::Reaction {
                    target: Seq(4),
                    emoji: "👍".into(),
                    added: true,
                },
            )],
            50,
        )
        .await
        .unwrap(); // seq 7
    for (seq, answered) in [(3, true), (4, false)] {
        store
            .add_report(&ReportDraft {
                room: room.clone(),
                seq: Seq(seq),
                sender: bo.clone(),
                body: "old words".into(),
                reporter: ann.id,
                reason: "Spam".into(),
                at_ms: 45,
            })
            .await
            .unwrap();
        if answered {
            store
                .close_reports(&room, Seq(seq), ReportStatus::Dismissed, "ann", 46)
                .await
                .unwrap();
        }
    }
    assert!(store.retention_rooms(None).await.unwrap().is_empty());
    assert!(store.set_room_retention(&room, Some(2)).await.unwrap());
    assert_eq!(
        store.retention_rooms(None).await.unwrap(),
        vec![(room.clone(), 2)]
    );
    // Everything stored before 25 (the room's start and m0, m1), in chunks of 3 seqs.
    assert_eq!(store.expire_room(&room, 25, 3).await.unwrap(), 3);
    assert_eq!(store.history_floor(&room).await.unwrap(), Seq(3));
    assert_eq!(store.expire_room(&room, 25, 3).await.unwrap(), 1);
    assert_eq!(store.history_floor(&room).await.unwrap(), Seq(4));
    // An answered report's copy of the text goes with the message; an open one waits.
    let left = store.reports(None, true, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].report.status, ReportStatus::Open);
    let (after, _) = store.events_after(&room, Seq(0), 100).await.unwrap();
    let seqs: Vec<i64> = after.iter().map(|e| e.seq.0).collect();
    assert_eq!(seqs, [5, 6, 7], "what is left is one unbroken run");
    let (page, complete, last) = store.history(&room, None, 100).await.unwrap();
    assert!(complete);
    assert_eq!(last, Seq(7));
    assert!(page.iter().all(|e| e.seq > Seq(4)));
    // Nothing more is old enough; the floor never moves back.
    assert_eq!(store.expire_room(&room, 25, 100).await.unwrap(), 0);
    assert_eq!(store.expire_room(&room, 5, 100).await.unwrap(), 0);
    assert_eq!(store.history_floor(&room).await.unwrap(), Seq(4));
    // New events go on from the room's counter.
    let next = store
        .append_all(&room, &bo, vec![(None, message("new"))], 60)
        .await
        .unwrap();
    assert_eq!(next[0].seq, Seq(8));
    // A room keeping everything is left alone whatever the server's setting.
    assert!(store.set_room_retention(&room, Some(0)).await.unwrap());
    let lobby_and_others = store.retention_rooms(Some(30)).await.unwrap();
    assert!(lobby_and_others.iter().all(|(r, _)| r != &room));
    assert!(lobby_and_others.contains(&(RoomId::lobby(), 30)));
}

pub(super) async fn reports_reach_the_rooms_moderators_and_close_together(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let dee = user(&store, "dee").await;
    let room = group(&store, "reported", &ann, &[&bo, &cy, &dee]).await;
    let posted = store
        .append_all(&room, &dee, vec![(None, message("rude"))], 10)
        .await
        .unwrap();
    let seq = posted[0].seq;
    let report = |reporter: &NamedUser| ReportDraft {
        room: room.clone(),
        seq,
        sender: dee.clone(),
        body: "rude".into(),
        reporter: reporter.id,
        reason: "Harassment".into(),
        at_ms: 20,
    };
    let first = store.add_report(&report(&bo)).await.unwrap();
    assert!(first.is_some());
    assert_eq!(
        store.add_report(&report(&bo)).await.unwrap(),
        None,
        "once per reporter"
    );
    assert!(store.add_report(&report(&cy)).await.unwrap().is_some());
    assert_eq!(store.open_reports_by(bo.id).await.unwrap(), 1);
    // The owner's queue has both; a plain member's has none; the server's has all.
    assert_eq!(
        store.reports(Some(ann.id), false, 50).await.unwrap().len(),
        2
    );
    assert!(
        store
            .reports(Some(bo.id), false, 50)
            .await
            .unwrap()
            .is_empty()
    );
    let all = store.reports(None, false, 50).await.unwrap();
    assert_eq!(all.len(), 2);
    let row = store.report(first.unwrap()).await.unwrap().unwrap();
    assert_eq!(row.sender, dee.id);
    assert_eq!(row.reporter, bo.id);
    assert_eq!(row.report.room_name, "reported");
    assert_eq!(row.report.reporter.as_deref(), Some("bo"));
    let mut told = store
        .close_reports(&room, seq, ReportStatus::Deleted, "ann", 30)
        .await
        .unwrap();
    told.sort();
    assert_eq!(told, vec![bo.id, cy.id]);
    assert!(store.reports(None, false, 50).await.unwrap().is_empty());
    let handled = store.reports(None, true, 50).await.unwrap();
    assert!(
        handled
            .iter()
            .all(|r| r.report.status == ReportStatus::Deleted
                && r.report.handled_by.as_deref() == Some("ann")
                && r.report.handled_at_ms == Some(30))
    );
    assert!(
        store
            .close_reports(&room, seq, ReportStatus::Dismissed, "ann", 40)
            .await
            .unwrap()
            .is_empty(),
        "an answered report is answered once"
    );
    assert_eq!(store.reports_by(cy.id, 50).await.unwrap().len(), 1);
    // A report about the owner is not the owner's to answer: it goes to the server only.
    let own_words = store
        .append_all(&room, &ann, vec![(None, message("owner's words"))], 50)
        .await
        .unwrap();
    let about_owner = ReportDraft {
        seq: own_words[0].seq,
        sender: ann.clone(),
        body: "owner's words".into(),
        ..report(&bo)
    };
    store.add_report(&about_owner).await.unwrap().unwrap();
    assert!(
        store
            .reports(Some(ann.id), false, 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.reports(None, false, 50).await.unwrap().len(), 1);
    // Retracted answers open the reports again.
    store
        .close_reports(&room, own_words[0].seq, ReportStatus::Dismissed, "root", 60)
        .await
        .unwrap();
    store
        .reopen_reports(&room, own_words[0].seq, "root", 60)
        .await
        .unwrap();
    assert_eq!(store.reports(None, false, 50).await.unwrap().len(), 1);
}

pub(super) async fn audit_settings_insight_and_deleting_a_room(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    for i in 0..3 {
        store
            .audit(i, "ann", "sign out", &format!("user{i}"), "")
            .await
            .unwrap();
    }
    let log = store.audit_log(None, 2).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        ["user2", "user1"]
    );
    let older = store.audit_log(Some(log[1].id), 10).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].target, "user0");

    assert_eq!(store.setting("server").await.unwrap(), None);
    store.put_setting("server", "{\"a\":1}").await.unwrap();
    store.put_setting("server", "{\"a\":2}").await.unwrap();
    assert_eq!(
        store.setting("server").await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );

    let room = group(&store, "busy", &ann, &[&bo]).await;
    let now = 100 * 86_400_000 + 5;
    let hour = now - now % 3_600_000;
    let day = now - now % 86_400_000;
    for _ in 0..2 {
        store
            .record_activity(
                &[(hour, room.clone(), 3)],
                &[(hour, 40, 5)],
                &[(day, ann.id), (day, bo.id)],
            )
            .await
            .unwrap();
    }
    let insight = store.insight(now).await.unwrap();
    assert_eq!(insight.hourly.len(), 1);
    assert_eq!(insight.hourly[0].messages, 6, "flushes add up");
    assert_eq!(insight.busiest_rooms[0].room, room);
    assert_eq!(insight.busiest_rooms[0].messages, 6);
    assert_eq!(insight.daily_active[0].users, 2, "a user counts once a day");
    assert_eq!(insight.weekly_active.len(), 8);
    assert_eq!(insight.weekly_active[7].users, 2);
    assert_eq!(insight.latency, vec![(40, 10)]);
    store.prune_activity(hour).await.unwrap();
    assert_eq!(
        store.insight(now).await.unwrap().hourly.len(),
        1,
        "this hour stays"
    );
    store.prune_activity(now + 86_400_000).await.unwrap();
    let pruned = store.insight(now).await.unwrap();
    assert!(
        pruned.hourly.is_empty() && pruned.daily_active.is_empty() && pruned.latency.is_empty()
    );

    store.set_silenced(bo.id, 999).await.unwrap();
    assert_eq!(store.silenced_until(bo.id).await.unwrap(), 999);

    let rooms = store.admin_rooms("bus", 10).await.unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].members, 2);
    assert_eq!(rooms[0].owner.as_deref(), Some("ann"));
    let mut members = store.delete_room(&room).await.unwrap().unwrap();
    members.sort();
    assert_eq!(members, vec![ann.id, bo.id]);
    assert!(store.admin_rooms("bus", 10).await.unwrap().is_empty());
    assert!(
        store
            .room_ids(bo.id)
            .await
            .unwrap()
            .iter()
            .all(|r| r != &room)
    );
    assert!(store.membership(&room, ann.id).await.unwrap().is_none());
    assert_eq!(store.delete_room(&room).await.unwrap(), None);
    assert_eq!(
        store.delete_room(&RoomId::lobby()).await.unwrap(),
        None,
        "the lobby stays"
    );
}
