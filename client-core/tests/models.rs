//! The client core's models, with no browser: timelines and their cursors, the room list,
//! message formatting.

use client_core::timeline::{Delivery, Entry, Fetch, RoomState, Timeline};
use shared::events::{Event, EventKind};
use shared::{ClientMsgId, RoomId, Seq};

fn stored(seq: i64, sender: &str, client_id: &str, body: &str) -> Event {
    event(
        seq,
        sender,
        client_id,
        EventKind::Message {
            attachment: None,
            body: body.into(),
            reply_to: None,
            mentions: vec![],
            edited_at_ms: None,
            deleted: false,
            reactions: vec![],
        },
    )
}

fn event(seq: i64, sender: &str, client_id: &str, kind: EventKind) -> Event {
    Event {
        room: RoomId::lobby(),
        seq: Seq(seq),
        sender: sender.into(),
        at_ms: seq * 1000,
        client_id: Some(ClientMsgId(client_id.into())),
        kind,
    }
}

fn bodies(timeline: &Timeline) -> Vec<String> {
    timeline.entries().iter().map(|e| e.body.clone()).collect()
}

fn entry(seq: i64, body: &str) -> Entry {
    let mut t = Timeline::default();
    t.apply_live(stored(seq, "bob", &format!("b{seq}"), body));
    t.entries()[0].clone()
}
#[test]
fn a_pending_message_becomes_sent_without_duplicating() {
    let mut t = Timeline::default();
    t.add_pending(ClientMsgId("c1".into()), "me", "hello".into(), None, 0);
    assert_eq!(t.pending().count(), 1);
    // The echo from another device and the ack both describe the same message.
    t.apply_ack(stored(5, "me", "c1", "hello"));
    t.apply_live(stored(5, "me", "c1", "hello"));
    assert_eq!(t.entries().len(), 1);
    assert_eq!(t.entries()[0].delivery, Delivery::Sent);
    assert_eq!(t.entries()[0].id, Some(Seq(5)));
    assert_eq!(t.pending().count(), 0);
}

#[test]
fn stored_messages_are_ordered_by_id_and_precede_pending_ones() {
    let mut t = Timeline::default();
    t.add_pending(ClientMsgId("mine".into()), "me", "unsent".into(), None, 0);
    t.apply_live(stored(9, "bob", "b9", "nine"));
    t.apply_live(stored(3, "bob", "b3", "three"));
    t.apply_live(stored(6, "ann", "a6", "six"));
    assert_eq!(bodies(&t), ["three", "six", "nine", "unsent"]);
    assert_eq!(t.oldest_id(), Some(Seq(3)));
}

#[test]
fn a_refused_message_can_be_retried() {
    let mut t = Timeline::default();
    let id = ClientMsgId("c1".into());
    t.add_pending(id.clone(), "me", "hi".into(), None, 0);
    t.mark_failed(&id, "me", "Slow down".into());
    assert_eq!(
        t.entries()[0].delivery,
        Delivery::Failed("Slow down".into())
    );
    assert_eq!(
        t.pending().count(),
        0,
        "failed messages are not resent automatically"
    );
    t.retry(&id, "me");
    assert_eq!(t.pending().count(), 1);
}

#[test]
fn another_users_message_with_my_client_id_is_a_different_message() {
    let mut t = Timeline::default();
    t.add_pending(ClientMsgId("same".into()), "me", "mine".into(), None, 0);
    t.apply_live(stored(1, "bob", "same", "bob's"));
    assert_eq!(bodies(&t), ["bob's", "mine"]);
    assert_eq!(t.pending().count(), 1);
}

#[test]
fn first_connect_loads_the_newest_page_and_reconnects_resume_after_it() {
    let mut t = Timeline::default();
    assert_eq!(t.resync(), Fetch::Newest);
    assert!(t.is_catching_up());
    t.apply_history(
        None,
        vec![
            stored(4, "bob", "b4", "four"),
            stored(5, "bob", "b5", "five"),
        ],
        false,
        Seq(5),
    );
    assert!(!t.is_catching_up());
    assert!(!t.reached_start);
    assert_eq!(t.resync(), Fetch::After(Seq(5)));
}

#[test]
fn an_empty_room_is_synced_from_its_start() {
    let mut t = Timeline::default();
    t.resync();
    t.apply_history(None, Vec::new(), true, Seq(0));
    assert!(t.reached_start);
    assert_eq!(t.resync(), Fetch::After(Seq(0)));
}

#[test]
fn catch_up_pages_until_up_to_date_and_only_then_trusts_live_messages() {
    let mut t = Timeline::default();
    t.resync();
    t.apply_history(None, vec![stored(5, "bob", "b5", "five")], false, Seq(5));
    assert_eq!(t.resync(), Fetch::After(Seq(5)));
    // While catching up, a live message may be far ahead of the gap: it must not move the mark.
    t.apply_live(stored(30, "bob", "b30", "thirty"));
    let next = t.apply_catch_up(
        vec![
            stored(6, "bob", "b6", "six"),
            stored(7, "bob", "b7", "seven"),
        ],
        false,
    );
    assert_eq!(next, Some(Fetch::After(Seq(7))));
    assert_eq!(
        t.resync(),
        Fetch::After(Seq(7)),
        "a drop now resumes after 7, not 30"
    );
    assert_eq!(
        t.apply_catch_up(vec![stored(30, "bob", "b30", "thirty")], true),
        None
    );
    assert!(!t.is_catching_up());
    assert_eq!(bodies(&t), ["five", "six", "seven", "thirty"]);
    // Caught up: live messages and acks advance the mark, but only onto the next seq.
    t.apply_live(stored(31, "bob", "b31", "thirty-one"));
    t.apply_ack(stored(40, "me", "m40", "forty"));
    assert_eq!(t.resync(), Fetch::After(Seq(31)));
    t.apply_catch_up(vec![], true);
    t.apply_ack(stored(32, "me", "m32", "thirty-two"));
    assert_eq!(t.resync(), Fetch::After(Seq(32)));
}

#[test]
fn edits_and_deletes_apply_to_their_message_once_and_move_the_cursor() {
    let mut t = Timeline::default();
    t.resync();
    // The newest page folds in operations up to the room's last seq.
    t.apply_history(None, vec![stored(3, "bob", "b3", "helo")], true, Seq(4));
    assert_eq!(t.resync(), Fetch::After(Seq(4)));
    t.apply_catch_up(Vec::new(), true);
    let fix = event(
        5,
        "bob",
        "e5",
        EventKind::Edit {
            target: Seq(3),
            body: "hello".into(),
        },
    );
    t.apply_live(fix.clone());
    t.apply_live(fix);
    assert_eq!(bodies(&t), ["hello"]);
    assert!(t.entries()[0].edited);
    t.apply_live(event(6, "bob", "d6", EventKind::Delete { target: Seq(3) }));
    assert!(t.entries()[0].deleted);
    assert_eq!(bodies(&t), [""]);
    // A room change shows as a notice line; an edit of a message not loaded shows nothing.
    t.apply_live(event(7, "ann", "j7", EventKind::Joined));
    t.apply_live(event(
        8,
        "ann",
        "e8",
        EventKind::Edit {
            target: Seq(1),
            body: "x".into(),
        },
    ));
    assert_eq!(t.entries().len(), 2);
    assert_eq!(t.entries()[1].notice.as_deref(), Some("ann joined"));
    assert_eq!(t.resync(), Fetch::After(Seq(8)));
    // Events the server made itself (no client id) are kept apart by their seq.
    let mut ended = event(
        9,
        "ann",
        "",
        EventKind::CallEnded {
            call: "k".into(),
            duration_ms: 0,
            missed: true,
            declined: false,
        },
    );
    ended.client_id = None;
    let mut handover = event(
        10,
        "ann",
        "",
        EventKind::RoleChanged {
            user: "bob".into(),
            role: shared::events::Role::Owner,
        },
    );
    handover.client_id = None;
    t.apply_live(ended);
    t.apply_live(handover);
    let notices: Vec<_> = t
        .entries()
        .iter()
        .filter_map(|e| e.notice.clone())
        .collect();
    assert_eq!(
        notices,
        [
            "ann joined",
            "Missed call from ann",
            "ann made bob the owner"
        ]
    );
}

#[test]
fn the_room_list_counts_what_arrives_where_the_user_is_not_looking() {
    use client_core::rooms::RoomList;
    use shared::events::Role;
    use shared::rooms::{NotifyLevel, RoomKind, RoomSummary};
    let summary = |id: &str, last: i64| RoomSummary {
        id: RoomId(id.into()),
        kind: RoomKind::Group,
        name: id.into(),
        topic: String::new(),
        role: Role::Member,
        muted: false,
        member_count: 2,
        last_seq: Seq(last),
        read_seq: Seq(last),
        unread: 0,
        unread_mentions: 0,
        last_message: None,
        notify: NotifyLevel::All,
    };
    let mut list = RoomList::default();
    list.replace(vec![summary("lobby", 3), summary("design", 1)]);
    let mut in_design = stored(2, "bob", "b2", "hey @me");
    in_design.room = RoomId("design".into());
    if let EventKind::Message { mentions, .. } = &mut in_design.kind {
        mentions.push("me".into());
    }
    list.apply(&in_design, "me", false);
    list.apply(&in_design, "me", false);
    let design = list.get(&RoomId("design".into())).unwrap();
    assert_eq!(
        (design.unread, design.unread_mentions),
        (1, 1),
        "counted once"
    );
    assert_eq!(
        list.all()[0].id,
        RoomId("design".into()),
        "newest activity first"
    );
    assert_eq!(list.total_unread(), 1);
    assert_eq!(list.mark_read(&RoomId("design".into())), Some(Seq(2)));
    assert_eq!(
        list.mark_read(&RoomId("design".into())),
        None,
        "nothing new to report"
    );
    // In the room on screen, a new message is not unread but still has to be reported read.
    let mut seen = stored(4, "bob", "b4", "still here");
    seen.room = RoomId("design".into());
    list.apply(&seen, "me", true);
    assert_eq!(list.get(&RoomId("design".into())).unwrap().unread, 0);
    assert_eq!(list.mark_read(&RoomId("design".into())), Some(Seq(4)));
}

#[test]
fn formatting_styles_text_and_leaves_markup_as_text() {
    use client_core::format::{Piece, parse};
    let plain = |t: &str| Piece {
        text: t.into(),
        ..Piece::default()
    };
    assert_eq!(parse("<b>hi</b>"), [plain("<b>hi</b>")]);
    let pieces = parse("a **bold** and *it* `x<y` see https://example.org/a?b=1. @bob!");
    let shown: Vec<(&str, bool, bool, bool, bool, bool)> = pieces
        .iter()
        .map(|p| {
            (
                p.text.as_str(),
                p.bold,
                p.italic,
                p.code,
                p.link.is_some(),
                p.mention,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("a ", false, false, false, false, false),
            ("bold", true, false, false, false, false),
            (" and ", false, false, false, false, false),
            ("it", false, true, false, false, false),
            (" ", false, false, false, false, false),
            ("x<y", false, false, true, false, false),
            (" see ", false, false, false, false, false),
            (
                "https://example.org/a?b=1",
                false,
                false,
                false,
                true,
                false
            ),
            (". ", false, false, false, false, false),
            ("@bob", false, false, false, false, true),
            ("!", false, false, false, false, false),
        ]
    );
    assert_eq!(
        parse("2 * 3 = 6"),
        [plain("2 * 3 = 6")],
        "a lone star is a star"
    );
    assert_eq!(parse("javascript:alert(1)"), [plain("javascript:alert(1)")]);
    assert_eq!(parse("mail me@example.org"), [plain("mail me@example.org")]);
}

#[test]
fn a_late_room_summary_does_not_undo_newer_activity() {
    use client_core::rooms::RoomList;
    use shared::events::Role;
    use shared::rooms::{NotifyLevel, RoomKind, RoomSummary};
    let summary = RoomSummary {
        id: RoomId("dm".into()),
        kind: RoomKind::Direct,
        name: "bob".into(),
        topic: String::new(),
        role: Role::Member,
        muted: false,
        member_count: 2,
        last_seq: Seq(1),
        read_seq: Seq(1),
        unread: 0,
        unread_mentions: 0,
        last_message: None,
        notify: NotifyLevel::All,
    };
    let mut list = RoomList::default();
    list.upsert(summary.clone());
    let mut mine = stored(2, "me", "m2", "review my PR?");
    mine.room = RoomId("dm".into());
    list.apply(&mine, "me", true);
    // The summary read before that message arrives after it.
    list.upsert(summary);
    let dm = list.get(&RoomId("dm".into())).unwrap();
    assert_eq!(dm.last_seq, Seq(2));
    assert_eq!(dm.last_message.as_ref().unwrap().text, "review my PR?");
    // A file without words is named in the list.
    let mut file = stored(3, "bob", "b3", "");
    file.room = RoomId("dm".into());
    if let EventKind::Message { attachment, .. } = &mut file.kind {
        *attachment = Some(Box::new(shared::events::Attachment {
            id: "f1".into(),
            name: "plan.pdf".into(),
            mime: "application/octet-stream".into(),
            size: 3,
            width: None,
            height: None,
        }));
    }
    list.apply(&file, "me", false);
    let dm = list.get(&RoomId("dm".into())).unwrap();
    assert_eq!(dm.last_message.as_ref().unwrap().text, "📎 plan.pdf");
}

#[test]
fn a_live_event_past_a_gap_asks_for_what_is_missing() {
    let mut t = Timeline::default();
    t.resync();
    t.apply_history(None, vec![stored(4, "bob", "b4", "four")], true, Seq(4));
    assert_eq!(t.apply_live(stored(5, "bob", "b5", "five")), None);
    // Events 6..9 never came (say, while removed from the room): do not skip them.
    assert_eq!(
        t.apply_live(stored(10, "bob", "b10", "ten")),
        Some(Fetch::After(Seq(5)))
    );
    assert_eq!(t.resync(), Fetch::After(Seq(5)));
}

#[test]
fn a_timeline_reports_what_to_store_once() {
    let mut t = Timeline::default();
    t.resync();
    t.add_pending(ClientMsgId("mine".into()), "me", "hi".into(), None, 0);
    t.apply_history(None, vec![stored(4, "bob", "b4", "four")], false, Seq(4));
    t.apply_ack(stored(5, "me", "mine", "hi"));
    t.apply_live(event(
        6,
        "bob",
        "e6",
        EventKind::Edit {
            target: Seq(2),
            body: "x".into(),
        },
    ));
    let changes = t.take_changes().unwrap();
    let seqs: Vec<_> = changes.entries.iter().map(|e| e.id.unwrap().0).collect();
    assert_eq!(seqs, [4, 5]);
    assert_eq!(changes.acked, [ClientMsgId("mine".into())]);
    assert_eq!(changes.unloaded_operations.len(), 1, "seq 2 is not loaded");
    assert_eq!(changes.state.cursor, Some(Seq(6)));
    assert_eq!(t.take_changes(), None, "nothing new");
}

#[test]
fn restoring_stored_messages_resumes_from_the_saved_cursor() {
    let mut t = Timeline::default();
    let state = RoomState {
        cursor: Some(Seq(8)),
        reached_start: true,
    };
    t.restore(
        vec![entry(7, "seven"), entry(8, "eight")],
        Some(state),
        false,
    );
    assert_eq!(t.resync(), Fetch::After(Seq(8)));
    assert!(t.reached_start);
    // The server's copy of a restored message does not show twice.
    t.apply_catch_up(
        vec![
            stored(8, "bob", "b8", "eight"),
            stored(9, "bob", "b9", "nine"),
        ],
        true,
    );
    assert_eq!(bodies(&t), ["seven", "eight", "nine"]);
    // Older stored pages go in front.
    t.restore(vec![entry(5, "five")], None, true);
    assert_eq!(bodies(&t), ["five", "seven", "eight", "nine"]);
    assert!(t.more_stored);
}

#[test]
fn a_live_operation_that_overtakes_the_first_page_is_fetched_again() {
    // The newest page was read before bob's reaction was stored, but the reaction reached this
    // socket first, when its target was not loaded: the cursor must not stop at the page.
    let mut t = Timeline::default();
    assert_eq!(t.resync(), Fetch::Newest);
    let reaction = event(
        5,
        "bob",
        "b5",
        EventKind::Reaction {
            target: Seq(4),
            emoji: "👍".into(),
            added: true,
        },
    );
    assert_eq!(t.apply_live(reaction.clone()), None);
    let next = t.apply_history(None, vec![stored(4, "ann", "a4", "four")], true, Seq(4));
    assert_eq!(
        next,
        Some(Fetch::After(Seq(4))),
        "the event past the page is fetched"
    );
    assert!(t.is_catching_up());
    assert_eq!(t.apply_catch_up(vec![reaction], true), None);
    assert!(!t.is_catching_up());
    assert_eq!(t.state().cursor, Some(Seq(5)));
    assert_eq!(t.message(Seq(4)).unwrap().reactions.len(), 1);
}

#[test]
fn the_first_page_replaces_copies_a_list_saw_before_it_was_ever_synced() {
    // Messages arrived live before the room was synced; a reaction came while offline. The
    // first page carries the message with the reaction folded in: its copy wins.
    let mut t = Timeline::default();
    t.apply_live(stored(4, "ann", "a4", "four"));
    let mut folded = stored(4, "ann", "a4", "four");
    if let EventKind::Message { reactions, .. } = &mut folded.kind {
        reactions.push(shared::events::Reaction {
            emoji: "👍".into(),
            users: vec!["bob".into()],
        });
    }
    assert_eq!(t.resync(), Fetch::Newest);
    t.apply_history(None, vec![folded], true, Seq(5));
    assert_eq!(t.message(Seq(4)).unwrap().reactions.len(), 1);
    assert_eq!(t.state().cursor, Some(Seq(5)));
    let changes = t.take_changes().unwrap();
    assert_eq!(changes.entries.len(), 1, "the newer copy is stored");
}

#[test]
fn a_conversation_restored_from_storage_back_to_its_start_offers_nothing_older() {
    // Issue 17 #13: after a reload, "Load older messages" showed at the start of a
    // conversation: the stored state said so, the stored page came separately.
    let mut t = Timeline::default();
    t.restore(
        Vec::new(),
        Some(RoomState {
            cursor: Some(Seq(2)),
            reached_start: true,
        }),
        true,
    );
    assert!(!t.reached_start, "the stored messages are not loaded yet");
    t.restore(vec![entry(1, "first"), entry(2, "second")], None, false);
    assert!(t.reached_start);
}

#[test]
fn previews_and_quotes_read_without_formatting_marks() {
    // Issue 17 #13: the sidebar and quotes showed `**raw**` marks.
    use client_core::format::plain_text;
    assert_eq!(
        plain_text("**bold** and *soft* `code` @ann https://x.example"),
        "bold and soft code @ann https://x.example"
    );
    assert_eq!(plain_text("2 * 3 = 6"), "2 * 3 = 6", "a lone mark is text");
}

#[test]
fn arrow_up_edits_my_newest_message_that_the_server_has() {
    let mut t = Timeline::default();
    assert_eq!(t.last_editable("me"), None);
    t.apply_live(stored(1, "me", "m1", "first"));
    t.apply_live(stored(2, "me", "m2", "second"));
    t.apply_live(stored(3, "bob", "b3", "bob's"));
    t.apply_live(event(
        4,
        "me",
        "m4",
        EventKind::Renamed { name: "x".into() },
    ));
    assert_eq!(t.last_editable("me"), Some((Seq(2), "second")));
    // A deleted message is skipped; one still sending cannot be edited yet.
    t.apply_live(event(5, "me", "m5", EventKind::Delete { target: Seq(2) }));
    t.add_pending(ClientMsgId("m6".into()), "me", "on its way".into(), None, 0);
    assert_eq!(t.last_editable("me"), Some((Seq(1), "first")));
    assert_eq!(t.last_editable("bob"), Some((Seq(3), "bob's")));
}
