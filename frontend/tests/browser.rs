//! The frontend's tests that need a browser (IndexedDB, the DOM, Web Crypto), run in headless
//! Chromium by wasm-bindgen-test. The models' logic is tested without one in `client-core`.

use frontend::components::{AuthForm, human_bytes};
use frontend::connection::{ConnState, backoff_ms};
use frontend::ids::new_client_id;
use frontend::timeline::Timeline;
use leptos::prelude::*;
use shared::events::{Event, EventKind};
use shared::{ClientMsgId, RoomId, Seq};
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

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

#[wasm_bindgen_test]
fn reconnect_backoff_doubles_up_to_a_cap() {
    let delays: Vec<u32> = (0..8).map(backoff_ms).collect();
    assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    assert_eq!(backoff_ms(u32::MAX), 15000);
    let offline = ConnState::Offline {
        retry_at_ms: 10_000,
    };
    assert_eq!(offline.label(), "Offline.");
    let countdown = |now| offline.countdown(now).unwrap_or_default();
    assert_eq!(countdown(8_500), "Reconnecting in 2 s…");
    assert_eq!(countdown(9_999), "Reconnecting in 1 s…");
    assert_eq!(countdown(12_000), "Reconnecting in 1 s…");
    assert_eq!(ConnState::Online.countdown(8_500), None);
}

#[wasm_bindgen_test]
fn client_ids_are_random_and_valid() {
    let a = new_client_id();
    let b = new_client_id();
    assert!(a.is_valid() && b.is_valid());
    assert_eq!(a.0.len(), 32);
    assert_ne!(a, b);
}

fn element(selector: &str) -> Option<web_sys::Element> {
    document().query_selector(selector).unwrap()
}

async fn next_frame() {
    sleep(Duration::from_millis(20)).await;
}

async fn sleep(duration: Duration) {
    let (tx, rx) = one_shot();
    set_timeout(tx, duration);
    rx.await;
}

/// A one-shot callback → future, without pulling in another crate.
fn one_shot() -> (impl FnOnce(), impl std::future::Future<Output = ()>) {
    let promise_resolve = std::rc::Rc::new(std::cell::RefCell::new(None::<js_sys::Function>));
    let slot = promise_resolve.clone();
    let promise = js_sys::Promise::new(&mut |resolve, _| *slot.borrow_mut() = Some(resolve));
    let fire = move || {
        if let Some(resolve) = promise_resolve.borrow_mut().take() {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    };
    let wait = async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    };
    (fire, wait)
}

#[wasm_bindgen_test]
async fn the_auth_form_is_labelled_and_explains_bad_input_before_calling_the_server() {
    let host = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    let authed = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let _handle = leptos::mount::mount_to(host.clone().unchecked_into(), move || {
        view! { <AuthForm on_authed=Callback::new(move |name| authed.set(Some(name))) notice /> }
    });
    next_frame().await;

    let username = element("label[for=username]").unwrap();
    assert_eq!(username.text_content().unwrap(), "Username");
    assert!(element("input#username").is_some());
    assert_eq!(
        element("label[for=password]")
            .unwrap()
            .text_content()
            .unwrap(),
        "Password"
    );
    assert_eq!(
        element("input#password")
            .unwrap()
            .get_attribute("type")
            .as_deref(),
        Some("password")
    );
    // The buttons a person sees: the passkey button stays hidden until /passkey.js (loaded
    // only where the server offers passkeys) shows it.
    let buttons: Vec<String> = (0..host.query_selector_all("button").unwrap().length())
        .filter_map(|i| {
            let button: web_sys::HtmlElement = host
                .query_selector_all("button")
                .unwrap()
                .item(i)
                .unwrap()
                .unchecked_into();
            (!button.hidden()).then(|| button.text_content().unwrap())
        })
        .collect();
    assert_eq!(buttons, ["Log in", "Sign up"]);

    let input: web_sys::HtmlInputElement = element("input#username").unwrap().unchecked_into();
    input.set_value("al");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let sign_up: web_sys::HtmlElement = host
        .query_selector_all("button")
        .unwrap()
        .item(1)
        .unwrap()
        .unchecked_into();
    sign_up.click();
    next_frame().await;
    let alert = element("[role=alert]").expect("an alert explains the problem");
    assert!(
        alert
            .text_content()
            .unwrap()
            .contains("Username must be 3 to 32")
    );
    assert_eq!(authed.get_untracked(), None);
    host.remove();
}

mod storage {
    //! The IndexedDB store in a real browser: each test uses its own account's database.

    use super::*;
    use frontend::db::{Db, OutboxItem, RoomState};
    use frontend::timeline::Entry;

    fn entry(seq: i64, body: &str) -> Entry {
        let mut t = Timeline::default();
        t.apply_live(stored(seq, "bob", &format!("b{seq}"), body));
        t.entries()[0].clone()
    }

    async fn fresh(user: &str) -> Db {
        Db::delete(user).await.unwrap();
        Db::open(user).await.unwrap()
    }

    #[wasm_bindgen_test]
    async fn messages_and_the_cursor_are_stored_together_and_page_backwards() {
        let db = fresh("store-pages").await;
        let room = RoomId::lobby();
        let entries: Vec<Entry> = (1..=7).map(|i| entry(i, &format!("m{i}"))).collect();
        let state = RoomState {
            cursor: Some(Seq(9)),
            reached_start: true,
        };
        db.save_room(&room, &entries, &[], &[], &state, None)
            .await
            .unwrap();
        let newest = db.messages(&room, None, 3).await.unwrap();
        assert_eq!(
            newest.iter().map(|e| e.body.as_str()).collect::<Vec<_>>(),
            ["m5", "m6", "m7"]
        );
        let older = db.messages(&room, Some(Seq(5)), 10).await.unwrap();
        assert_eq!(older.len(), 4);
        assert_eq!(older[0].body, "m1");
        let other = db
            .messages(&RoomId("other".into()), None, 10)
            .await
            .unwrap();
        assert!(other.is_empty(), "rooms do not leak into each other");
        assert_eq!(db.room_states().await.unwrap().get(&room), Some(&state));
        db.close();
        // Reopening finds everything again (the schema is not recreated).
        let db = Db::open("store-pages").await.unwrap();
        assert_eq!(db.messages(&room, None, 100).await.unwrap().len(), 7);
    }

    #[wasm_bindgen_test]
    async fn a_retention_floor_deletes_the_rooms_copies_up_to_it_and_no_others() {
        let db = fresh("store-floor").await;
        let room = RoomId::lobby();
        let other = RoomId("other".into());
        let entries: Vec<Entry> = (1..=6).map(|i| entry(i, &format!("m{i}"))).collect();
        let state = RoomState::default();
        db.save_room(&room, &entries, &[], &[], &state, None)
            .await
            .unwrap();
        db.save_room(&other, &entries, &[], &[], &state, None)
            .await
            .unwrap();
        db.save_room(&room, &[], &[], &[], &state, Some(Seq(4)))
            .await
            .unwrap();
        let left = db.messages(&room, None, 100).await.unwrap();
        assert_eq!(
            left.iter().map(|e| e.body.as_str()).collect::<Vec<_>>(),
            ["m5", "m6"]
        );
        assert_eq!(db.messages(&other, None, 100).await.unwrap().len(), 6);
    }

    #[wasm_bindgen_test]
    async fn the_outbox_keeps_unsent_messages_in_typing_order_until_acknowledged() {
        let db = fresh("store-outbox").await;
        for (i, body) in ["first", "second", "third"].iter().enumerate() {
            db.outbox_put(&OutboxItem {
                room: RoomId::lobby(),
                client_id: ClientMsgId(format!("c{i}")),
                body: (*body).into(),
                reply_to: None,
                created_at_ms: 100 - i as i64 * 10 + i as i64 * 20,
            })
            .await
            .unwrap();
        }
        let bodies: Vec<String> = db
            .outbox()
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.body)
            .collect();
        assert_eq!(bodies, ["first", "second", "third"]);
        // The ack of "second" is stored together with its removal from the outbox.
        let mut acked = Timeline::default();
        acked.apply_live(stored(1, "me", "c1", "second"));
        let state = RoomState {
            cursor: Some(Seq(1)),
            reached_start: true,
        };
        let c1 = [ClientMsgId("c1".into())];
        db.save_room(&RoomId::lobby(), acked.entries(), &[], &c1, &state, None)
            .await
            .unwrap();
        assert_eq!(
            db.messages(&RoomId::lobby(), None, 10).await.unwrap().len(),
            1
        );
        let left: Vec<String> = db
            .outbox()
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.body)
            .collect();
        assert_eq!(left, ["first", "third"]);
    }

    #[wasm_bindgen_test]
    async fn operations_on_messages_not_in_memory_reach_the_stored_copy() {
        let db = fresh("store-ops").await;
        let room = RoomId::lobby();
        db.save_room(
            &room,
            &[entry(3, "helo")],
            &[],
            &[],
            &RoomState::default(),
            None,
        )
        .await
        .unwrap();
        let fix = event(
            4,
            "bob",
            "e4",
            EventKind::Edit {
                target: Seq(3),
                body: "hello".into(),
            },
        );
        db.apply_to_stored(&fix).await.unwrap();
        let react = event(
            5,
            "ann",
            "r5",
            EventKind::Reaction {
                target: Seq(3),
                emoji: "🎉".into(),
                added: true,
            },
        );
        db.apply_to_stored(&react).await.unwrap();
        let stored = db.messages(&room, None, 10).await.unwrap();
        assert_eq!(stored[0].body, "hello");
        assert!(stored[0].edited);
        assert_eq!(stored[0].reactions[0].users, ["ann"]);
        // (Searching the stored messages is public/search.js's: e2e history.test.js.)
        db.apply_to_stored(&event(6, "bob", "d6", EventKind::Delete { target: Seq(3) }))
            .await
            .unwrap();
        assert!(db.messages(&room, None, 10).await.unwrap()[0].deleted);
    }
}

#[wasm_bindgen_test]
fn file_sizes_read_in_decimal_units_with_one_decimal() {
    assert_eq!(human_bytes(0), "0 B");
    assert_eq!(human_bytes(999), "999 B");
    assert_eq!(human_bytes(1000), "1.0 KB");
    assert_eq!(human_bytes(1549), "1.5 KB");
    assert_eq!(human_bytes(1550), "1.6 KB");
    assert_eq!(human_bytes(10_485_760), "10.5 MB");
    assert_eq!(human_bytes(500_000_000), "500.0 MB");
    assert_eq!(human_bytes(3_000_000_000_000_000), "3000.0 TB");
}

fn file_offer(from: &str, session: &str) -> shared::ws::ServerMessage {
    shared::ws::ServerMessage::Signal {
        room: RoomId::lobby(),
        from: from.into(),
        session: session.into(),
        data: shared::calls::SignalData::Files {
            files: vec![shared::transfer::FileMeta::offered(
                "notes.txt",
                12,
                "text/plain".into(),
            )],
        },
    }
}

/// The security audit: a blocked user's file offers reached the blocker through a shared room
/// and were shown. The server refuses them now; the client also drops any already on the way.
#[wasm_bindgen_test]
fn offers_from_someone_i_blocked_are_not_shown() {
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let rtc = frontend::rtc::Rtc::new("me".into());
    rtc.set_blocked(vec!["Mallory".into()]);
    rtc.on_server(file_offer("mallory", "t1"));
    assert!(
        rtc.transfers.get_untracked().is_empty(),
        "blocked, whatever the case"
    );
    rtc.on_server(file_offer("alice", "t2"));
    assert_eq!(rtc.transfers.get_untracked().len(), 1);
    rtc.block_changed("mallory", false);
    rtc.on_server(file_offer("mallory", "t3"));
    assert_eq!(rtc.transfers.get_untracked().len(), 2, "unblocked again");
}

/// The audit: the client kept file offers without bound. Unanswered offers are capped.
#[wasm_bindgen_test]
fn unanswered_offers_are_kept_up_to_a_bound() {
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let rtc = frontend::rtc::Rtc::new("me".into());
    for i in 0..50 {
        rtc.on_server(file_offer("flooder", &format!("t{i}")));
    }
    assert_eq!(rtc.transfers.get_untracked().len(), 20);
}
