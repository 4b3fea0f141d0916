//! The client state machine and its send queue, driven by hand: frames and timers in, frames,
//! storage writes and view updates out. No socket, no browser.

use client_core::client::{ChatClient, Output, View};
use client_core::outbox::{MAX_AUTO_RETRIES, SendQueue, Stage, backoff_ms};
use client_core::store::MemoryStore;
use client_core::timeline::Delivery;
use shared::events::{Event, EventKind, Role};
use shared::rooms::{NotifyLevel, RoomKind, RoomSummary};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};

fn lobby(last_seq: i64) -> RoomSummary {
    RoomSummary {
        id: RoomId::lobby(),
        kind: RoomKind::Group,
        name: "lobby".into(),
        topic: String::new(),
        role: Role::Member,
        muted: false,
        member_count: 2,
        last_seq: Seq(last_seq),
        read_seq: Seq(0),
        unread: 0,
        unread_mentions: 0,
        last_message: None,
        notify: NotifyLevel::All,
    }
}

fn welcome(me: &str, last_seq: i64) -> ServerMessage {
    ServerMessage::Welcome {
        username: me.into(),
        rooms: vec![lobby(last_seq)],
        blocked: vec![],
    }
}

fn message(seq: i64, sender: &str, client_id: &str, body: &str) -> Event {
    Event {
        room: RoomId::lobby(),
        seq: Seq(seq),
        sender: sender.into(),
        at_ms: 1_000,
        client_id: Some(ClientMsgId(client_id.into())),
        kind: EventKind::Message {
            attachment: None,
            body: body.into(),
            reply_to: None,
            mentions: vec![],
            edited_at_ms: None,
            deleted: false,
            reactions: vec![],
        },
    }
}

fn id(s: &str) -> ClientMsgId {
    ClientMsgId(s.into())
}

fn sends(outputs: &[Output]) -> Vec<ClientMessage> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn sent_ids(outputs: &[Output]) -> Vec<String> {
    sends(outputs)
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Send { client_id, .. } => Some(client_id.0),
            _ => None,
        })
        .collect()
}

/// A client that has synced the lobby up to `seq` and is online.
fn online_client(store: &mut MemoryStore, last_seq: i64) -> ChatClient {
    let mut client = ChatClient::new("me");
    let (_, out) = client.restore(store.room_list(), store.room_states(), store.outbox());
    apply(store, &out);
    let out = client.on_server(welcome("me", last_seq), 0);
    apply(store, &out);
    let out = client.on_server(
        ServerMessage::History {
            room: RoomId::lobby(),
            before: None,
            events: vec![],
            complete: true,
            last_seq: Seq(last_seq),
            floor: Seq(0),
        },
        0,
    );
    apply(store, &out);
    client
}

fn apply(store: &mut MemoryStore, outputs: &[Output]) {
    for o in outputs {
        store.write(o);
    }
}

#[test]
fn a_message_typed_offline_is_stored_first_and_sent_on_welcome_with_the_same_id() {
    let mut store = MemoryStore::default();
    let mut client = ChatClient::new("me");
    let out = client.send_message(RoomId::lobby(), id("c1"), "hi".into(), None, 10);
    assert!(sends(&out).is_empty(), "nothing is sent while offline");
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::OutboxPut(i) if i.client_id == id("c1"))),
        "the message is kept before anything else"
    );
    apply(&mut store, &out);
    let out = client.send_message(RoomId::lobby(), id("c2"), "there".into(), None, 11);
    apply(&mut store, &out);
    let out = client.on_server(welcome("me", 0), 20);
    assert_eq!(sent_ids(&out), ["c1", "c2"], "resent in the order typed");
    // The connection drops before the acks: the next Welcome sends the same requests again.
    client.disconnected();
    let out = client.on_server(welcome("me", 0), 30);
    assert_eq!(sent_ids(&out), ["c1", "c2"]);
    let out = client.on_server(
        ServerMessage::Ack {
            client_id: id("c1"),
            event: message(1, "me", "c1", "hi"),
        },
        40,
    );
    apply(&mut store, &out);
    assert_eq!(client.unsent_count(), 1);
    assert_eq!(
        store
            .outbox()
            .iter()
            .map(|i| &i.client_id.0)
            .collect::<Vec<_>>(),
        ["c2"],
        "an acknowledged message leaves the stored outbox"
    );
}

#[test]
fn retryable_refusals_back_off_then_fail_and_a_manual_retry_starts_over() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    let out = client.send_message(RoomId::lobby(), id("c1"), "hi".into(), None, 0);
    assert_eq!(sent_ids(&out), ["c1"]);
    let mut now = 0;
    for attempt in 1..=MAX_AUTO_RETRIES {
        let out = client.on_server(
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                message: "slow down".into(),
                client_id: Some(id("c1")),
            },
            now,
        );
        let wake = out.iter().find_map(|o| match o {
            Output::WakeAt(at) => Some(*at),
            _ => None,
        });
        assert_eq!(wake, Some(now + backoff_ms(attempt)));
        assert!(sends(&client.tick(now + backoff_ms(attempt) - 1)).is_empty());
        now += backoff_ms(attempt);
        assert_eq!(sent_ids(&client.tick(now)), ["c1"], "resent when due");
    }
    assert_eq!(backoff_ms(1), 2_000);
    assert_eq!(backoff_ms(8), 16_000, "the wait stops growing at 16 s");
    client.on_server(
        ServerMessage::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            client_id: Some(id("c1")),
        },
        now,
    );
    let shown = |c: &ChatClient| c.timeline(&RoomId::lobby()).unwrap().entries()[0].clone();
    assert_eq!(
        shown(&client).delivery,
        Delivery::Failed("slow down".into())
    );
    assert!(
        sends(&client.tick(now + 100_000)).is_empty(),
        "failed waits for the user"
    );
    let out = client.retry(&RoomId::lobby(), &id("c1"));
    assert_eq!(sent_ids(&out), ["c1"]);
    assert_eq!(shown(&client).delivery, Delivery::Pending);
    let out = client.on_server(
        ServerMessage::Error {
            code: ErrorCode::Internal,
            message: "oops".into(),
            client_id: Some(id("c1")),
        },
        now,
    );
    assert!(
        out.contains(&Output::WakeAt(now + backoff_ms(1))),
        "the count started over"
    );
}

#[test]
fn a_refusal_for_good_fails_at_once() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    client.send_message(RoomId::lobby(), id("c1"), "hi".into(), None, 0);
    let out = client.on_server(
        ServerMessage::Error {
            code: ErrorCode::Forbidden,
            message: "You are muted here.".into(),
            client_id: Some(id("c1")),
        },
        0,
    );
    assert!(out.contains(&Output::Changed(View::Timeline(RoomId::lobby()))));
    assert_eq!(
        client.queue().stage(&id("c1")),
        Some(&Stage::Failed("You are muted here.".into()))
    );
    client.disconnected();
    let out = client.on_server(welcome("me", 0), 0);
    assert!(
        sent_ids(&out).is_empty(),
        "a failed message is not resent on reconnect"
    );
}

#[test]
fn a_reload_keeps_what_storage_kept_and_nothing_is_shown_twice() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    let out = client.on_server(
        ServerMessage::Event {
            event: message(1, "bob", "b1", "hello"),
        },
        0,
    );
    apply(&mut store, &out);
    let out = client.send_message(RoomId::lobby(), id("c1"), "acked".into(), None, 1);
    apply(&mut store, &out);
    let out = client.send_message(RoomId::lobby(), id("c2"), "unsent".into(), None, 2);
    apply(&mut store, &out);
    let out = client.on_server(
        ServerMessage::Ack {
            client_id: id("c1"),
            event: message(2, "me", "c1", "acked"),
        },
        3,
    );
    apply(&mut store, &out);
    drop(client);

    // Memory is gone; storage remains.
    let mut client = ChatClient::new("me");
    let (first, out) = client.restore(store.room_list(), store.room_states(), store.outbox());
    assert_eq!(first, Some(RoomId::lobby()));
    let load = out.iter().find_map(|o| match o {
        Output::LoadStored {
            room,
            before,
            limit,
        } => Some((room.clone(), *before, *limit)),
        _ => None,
    });
    let (room, before, limit) = load.expect("the stored messages are read");
    let (entries, more) = store.messages(&room, before, limit);
    client.stored_loaded(&room, before, entries, more);
    let bodies = |c: &ChatClient| {
        c.timeline(&RoomId::lobby())
            .unwrap()
            .entries()
            .iter()
            .map(|e| (e.body.clone(), e.delivery.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bodies(&client),
        [
            ("hello".to_owned(), Delivery::Sent),
            ("acked".to_owned(), Delivery::Sent),
            ("unsent".to_owned(), Delivery::Pending)
        ]
    );
    let out = client.on_server(welcome("me", 2), 10);
    assert_eq!(
        sent_ids(&out),
        ["c2"],
        "only the unacknowledged message is resent"
    );
    assert!(
        sends(&out).contains(&ClientMessage::CatchUp {
            room: RoomId::lobby(),
            after: Seq(2),
            limit: 50
        }),
        "catch-up starts from the stored cursor"
    );
    // The server had stored c2 before the reload after all: its copy replaces the pending one.
    client.on_server(
        ServerMessage::CaughtUp {
            room: RoomId::lobby(),
            events: vec![message(3, "me", "c2", "unsent")],
            up_to_date: true,
            after: Seq(2),
            floor: Seq(0),
        },
        11,
    );
    assert_eq!(bodies(&client).len(), 3);
    assert!(
        client
            .timeline(&RoomId::lobby())
            .unwrap()
            .pending()
            .next()
            .is_none()
    );
}

#[test]
fn catch_up_pages_follow_each_other_and_a_refused_page_is_asked_again() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 5);
    client.disconnected();
    let out = client.on_server(welcome("me", 120), 0);
    let catch_up = |after: i64| ClientMessage::CatchUp {
        room: RoomId::lobby(),
        after: Seq(after),
        limit: 50,
    };
    assert!(sends(&out).contains(&catch_up(5)));
    let page: Vec<Event> = (6..=55)
        .map(|s| message(s, "bob", &format!("b{s}"), "x"))
        .collect();
    let out = client.on_server(
        ServerMessage::CaughtUp {
            room: RoomId::lobby(),
            events: page,
            up_to_date: false,
            after: Seq(5),
            floor: Seq(0),
        },
        0,
    );
    apply(&mut store, &out);
    assert!(sends(&out).contains(&catch_up(55)), "the next page follows");
    assert_eq!(store.room_states()[&RoomId::lobby()].cursor, Some(Seq(55)));
    // The next page is refused for now (the server is busy): asked again after a while.
    let out = client.on_server(
        ServerMessage::Error {
            code: ErrorCode::RateLimited,
            message: "busy".into(),
            client_id: None,
        },
        1_000,
    );
    let wake = out
        .iter()
        .find_map(|o| match o {
            Output::WakeAt(at) => Some(*at),
            _ => None,
        })
        .expect("a timer");
    assert!(sends(&client.tick(wake - 1)).is_empty());
    assert!(sends(&client.tick(wake)).contains(&catch_up(55)));
}

#[test]
fn a_live_event_past_the_cursor_fetches_the_gap_first() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 3);
    let out = client.on_server(
        ServerMessage::Event {
            event: message(7, "bob", "b7", "late"),
        },
        0,
    );
    assert!(sends(&out).contains(&ClientMessage::CatchUp {
        room: RoomId::lobby(),
        after: Seq(3),
        limit: 50
    }));
}

#[test]
fn operations_on_rooms_not_open_reach_the_stored_copy() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    let out = client.on_server(
        ServerMessage::Event {
            event: message(1, "bob", "b1", "typo"),
        },
        0,
    );
    apply(&mut store, &out);
    let room = RoomId::lobby();
    // Leaving the room drops its timeline; an edit arriving later goes to storage.
    client.on_server(ServerMessage::RoomRemoved { room: room.clone() }, 0);
    let edit = Event {
        room: room.clone(),
        seq: Seq(2),
        sender: "bob".into(),
        at_ms: 0,
        client_id: Some(id("b2")),
        kind: EventKind::Edit {
            target: Seq(1),
            body: "fixed".into(),
        },
    };
    let out = client.on_server(ServerMessage::Event { event: edit }, 0);
    apply(&mut store, &out);
    assert_eq!(store.all_messages(&room)[0].body, "fixed");
}

#[test]
fn notifications_only_while_hidden_and_only_for_others() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    let notified = |out: &[Output]| out.iter().any(|o| matches!(o, Output::Notify(_)));
    let out = client.on_server(
        ServerMessage::Event {
            event: message(1, "bob", "b1", "seen"),
        },
        0,
    );
    assert!(!notified(&out));
    client.set_visible(false);
    let out = client.on_server(
        ServerMessage::Event {
            event: message(2, "bob", "b2", "hidden"),
        },
        0,
    );
    let n = out
        .iter()
        .find_map(|o| match o {
            Output::Notify(n) => Some(n.clone()),
            _ => None,
        })
        .expect("a notification");
    assert_eq!(
        (n.title.as_str(), n.body.as_str()),
        ("bob in #lobby", "hidden")
    );
    let out = client.on_server(
        ServerMessage::Event {
            event: message(3, "me", "c3", "from my phone"),
        },
        0,
    );
    assert!(!notified(&out));
}

#[test]
fn a_rooms_notification_level_decides_what_notifies() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    client.set_visible(false);
    let notified = |client: &mut ChatClient, event: Event| {
        client
            .on_server(ServerMessage::Event { event }, 0)
            .iter()
            .any(|o| matches!(o, Output::Notify(_)))
    };
    let level = |client: &mut ChatClient, notify: NotifyLevel| {
        client.on_server(
            ServerMessage::RoomUpdated {
                room: RoomSummary { notify, ..lobby(0) },
            },
            0,
        );
    };
    let mention = |seq: i64| {
        let mut event = message(seq, "bob", &format!("b{seq}"), "hey @me");
        if let EventKind::Message { mentions, .. } = &mut event.kind {
            mentions.push("me".into());
        }
        event
    };
    let call = |seq: i64| Event {
        kind: EventKind::CallStarted {
            call: format!("k{seq}"),
            video: false,
        },
        ..message(seq, "bob", &format!("b{seq}"), "")
    };
    level(&mut client, NotifyLevel::Mentions);
    assert!(!notified(&mut client, message(1, "bob", "b1", "chatter")));
    assert!(notified(&mut client, mention(2)));
    assert!(notified(&mut client, call(3)), "calls still ring");
    level(&mut client, NotifyLevel::None);
    assert!(!notified(&mut client, mention(4)));
    assert!(!notified(&mut client, call(5)));
    level(&mut client, NotifyLevel::All);
    assert!(notified(&mut client, message(6, "bob", "b6", "chatter")));
}

#[test]
fn a_welcome_for_someone_else_ends_the_session() {
    let mut client = ChatClient::new("me");
    client.send_message(RoomId::lobby(), id("c1"), "mine".into(), None, 0);
    let out = client.on_server(welcome("other", 0), 0);
    assert_eq!(out, [Output::SessionEnded]);
    assert!(!client.is_online());
}

#[test]
fn the_queue_keeps_one_entry_per_client_id() {
    let mut queue = SendQueue::default();
    let item = client_core::outbox::OutboxItem {
        room: RoomId::lobby(),
        client_id: id("c1"),
        body: "x".into(),
        reply_to: None,
        created_at_ms: 0,
    };
    queue.add(item.clone());
    assert!(queue.restore(vec![item]).is_empty());
    assert_eq!(queue.len(), 1);
    assert!(queue.acked(&id("c1")).is_some());
    assert!(queue.acked(&id("c1")).is_none());
    assert!(queue.is_empty());
}

#[test]
fn a_room_first_touched_while_connected_syncs_from_its_stored_cursor() {
    // The device knew the room up to seq 5, then reloaded; it is online, and the room's list
    // is created by sending to it, not by opening it: it must still catch up.
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 5);
    drop(client);
    client = ChatClient::new("me");
    let mut rooms = store.room_list();
    rooms.push(RoomSummary {
        id: RoomId("team".into()),
        name: "team".into(),
        ..lobby(9)
    });
    let mut states = store.room_states();
    states.insert(
        RoomId("team".into()),
        client_core::timeline::RoomState {
            cursor: Some(Seq(5)),
            reached_start: true,
        },
    );
    client.restore(rooms, states, vec![]);
    client.on_server(welcome("me", 5), 0);
    let out = client.send_message(RoomId("team".into()), id("c1"), "hi".into(), None, 1);
    assert!(
        sends(&out).contains(&ClientMessage::CatchUp {
            room: RoomId("team".into()),
            after: Seq(5),
            limit: 50
        }),
        "{out:?}"
    );
}

fn group(id: &str, last_seq: i64, read_seq: i64, unread: u32) -> RoomSummary {
    RoomSummary {
        id: RoomId(id.into()),
        name: id.into(),
        last_seq: Seq(last_seq),
        read_seq: Seq(read_seq),
        unread,
        ..lobby(0)
    }
}

#[test]
fn the_room_in_the_address_or_shown_last_opens_first_when_the_user_is_in_it() {
    // Issue 17 #4: reload, logging in again and the offline start always opened the lobby.
    let rooms = vec![lobby(0), group("design", 0, 0, 0)];
    let mut client = ChatClient::new("me");
    client.prefer_room(RoomId("design".into()));
    let (first, _) = client.restore(rooms.clone(), Default::default(), vec![]);
    assert_eq!(
        first,
        Some(RoomId("design".into())),
        "offline start, stored list"
    );

    // First start on this device: no stored list, the room comes with the Welcome.
    let mut client = ChatClient::new("me");
    client.prefer_room(RoomId("design".into()));
    client.restore(vec![], Default::default(), vec![]);
    client.on_server(
        ServerMessage::Welcome {
            username: "me".into(),
            rooms: rooms.clone(),
            blocked: vec![],
        },
        0,
    );
    assert_eq!(client.current(), Some(&RoomId("design".into())));

    // A room the user is not in (an old link, another account's address) shows the lobby.
    let mut client = ChatClient::new("me");
    client.prefer_room(RoomId("secret".into()));
    let (first, _) = client.restore(rooms, Default::default(), vec![]);
    assert_eq!(first, Some(RoomId::lobby()));
}

#[test]
fn a_room_opened_with_unread_messages_marks_where_they_start_until_another_room_opens() {
    // Issue 17 #1: no "New messages" line.
    let mut client = ChatClient::new("me");
    client.restore(vec![], Default::default(), vec![]);
    client.on_server(
        ServerMessage::Welcome {
            username: "me".into(),
            rooms: vec![lobby(3), group("design", 9, 6, 3)],
            blocked: vec![],
        },
        0,
    );
    let lobby_id = RoomId::lobby();
    let design = RoomId("design".into());
    assert_eq!(
        client.unread_marker(&lobby_id),
        None,
        "nothing unread there"
    );

    let out = client.open(design.clone());
    assert_eq!(client.unread_marker(&design), Some(Seq(6)));
    assert!(out.contains(&Output::Changed(View::Current)));
    assert!(
        sends(&out).contains(&ClientMessage::MarkRead {
            room: design.clone(),
            seq: Seq(9)
        }),
        "the room is read once shown"
    );
    // More messages while it is open do not move the line.
    let mut later = message(10, "bob", "b10", "more");
    later.room = design.clone();
    client.on_server(ServerMessage::Event { event: later }, 0);
    assert_eq!(client.unread_marker(&design), Some(Seq(6)));

    // Back and forth: everything was read, so no line any more.
    client.open(lobby_id);
    assert_eq!(client.unread_marker(&design), None);
    client.open(design.clone());
    assert_eq!(client.unread_marker(&design), None);
}

#[test]
fn a_live_message_of_someone_else_in_the_open_room_is_announced_once() {
    // Issue 17 #12: the log region read old messages out again whenever a row changed.
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    let out = client.on_server(
        ServerMessage::Event {
            event: message(1, "ann", "a1", "**hi** there"),
        },
        0,
    );
    assert!(out.contains(&Output::Changed(View::Announcement)));
    assert_eq!(client.announcement(), "ann: hi there");

    // My own message, an edit, a reaction: nothing to read out.
    let mine = client.on_server(
        ServerMessage::Event {
            event: message(2, "me", "m2", "mine"),
        },
        0,
    );
    let edit = Event {
        seq: Seq(3),
        client_id: Some(id("a3")),
        kind: EventKind::Edit {
            target: Seq(1),
            body: "hi again".into(),
        },
        ..message(3, "ann", "a3", "")
    };
    let edited = client.on_server(ServerMessage::Event { event: edit }, 0);
    for out in [mine, edited] {
        assert!(!out.contains(&Output::Changed(View::Announcement)));
    }
    assert_eq!(client.announcement(), "ann: hi there");
}

#[test]
fn messages_the_server_expired_leave_the_timeline_and_storage_on_catch_up() {
    let mut store = MemoryStore::default();
    let mut client = online_client(&mut store, 0);
    let page: Vec<Event> = (1..=5)
        .map(|s| message(s, "bob", &format!("b{s}"), &format!("m{s}")))
        .collect();
    let out = client.on_server(
        ServerMessage::CaughtUp {
            room: RoomId::lobby(),
            after: Seq(0),
            events: page,
            up_to_date: true,
            floor: Seq(0),
        },
        0,
    );
    apply(&mut store, &out);
    let shown = |c: &ChatClient| -> Vec<String> {
        c.timeline(&RoomId::lobby())
            .unwrap()
            .entries()
            .iter()
            .map(|e| e.body.clone())
            .collect()
    };
    assert_eq!(shown(&client), ["m1", "m2", "m3", "m4", "m5"]);
    // Away; meanwhile the server's retention deleted seqs 1..=3 and a new message came.
    client.disconnected();
    let out = client.on_server(welcome("me", 6), 1);
    apply(&mut store, &out);
    assert!(sends(&out).contains(&ClientMessage::CatchUp {
        room: RoomId::lobby(),
        after: Seq(5),
        limit: 50
    }));
    let out = client.on_server(
        ServerMessage::CaughtUp {
            room: RoomId::lobby(),
            after: Seq(5),
            events: vec![message(6, "bob", "b6", "m6")],
            up_to_date: true,
            floor: Seq(3),
        },
        2,
    );
    apply(&mut store, &out);
    assert_eq!(shown(&client), ["m4", "m5", "m6"]);
    let (stored, more) = store.messages(&RoomId::lobby(), None, 50);
    let stored: Vec<i64> = stored.iter().filter_map(|e| e.id).map(|s| s.0).collect();
    assert_eq!(stored, [4, 5, 6], "the offline copy lets them go too");
    assert!(!more);
    // A floor seen again changes nothing.
    let out = client.on_server(
        ServerMessage::CaughtUp {
            room: RoomId::lobby(),
            after: Seq(6),
            events: vec![],
            up_to_date: true,
            floor: Seq(3),
        },
        3,
    );
    assert!(!out.iter().any(
        |o| matches!(o, Output::SaveRoom { changes, .. } if changes.forget_through.is_some())
    ));
}
