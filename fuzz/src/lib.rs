//! What the fuzz targets in `fuzz_targets/` share: a generator of protocol-shaped JSON
//! ([`generate`], [`schema`], [`json`]), the round-trip property, and the checks the server applies
//! to a decoded frame's fields, each with what it promises asserted.
//!
//! Every target feeds each input twice: as raw text (what a peer can send), and as the seed of
//! a generated frame (so mutations of the bytes become mutations of a well-formed frame).

pub mod generate;
pub mod json;
pub mod schema;

use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::calls::{MAX_SESSION_ID, MAX_SIGNAL_BYTES, SignalData, valid_session_id};
use shared::events::{Event, EventKind};
use shared::ids::{ClientMsgId, RoomId, Seq};
use shared::limits::{
    EMOJI_MAX_BYTES, MAX_BODY_BYTES, MAX_HISTORY_PAGE, PASSWORD_MAX, PASSWORD_MIN, ROOM_NAME_MAX,
    ROOM_TOPIC_MAX, USERNAME_MAX, USERNAME_MIN, check_body, check_emoji, check_password,
    check_room_name, check_room_topic, check_username, mentioned_names,
};
use shared::transfer::{FileMeta, MAX_FILE_NAME_BYTES, MAX_FILES_PER_OFFER, MAX_MIME_BYTES};
use shared::ws::{ClientMessage, ServerMessage};
use std::fmt::Debug;

/// Decoding `value`'s encoding gives `value` again, and encoding that gives the same text.
pub fn round_trip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(value).expect("a decoded value encodes");
    let back: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("its own encoding does not decode: {e}\n{text}"));
    assert_eq!(&back, value, "the round trip changed the value: {text}");
    let again = serde_json::to_string(&back).expect("encodes");
    assert_eq!(again, text, "encoding is not stable");
}

/// What the server does with a decoded client frame before acting on it
/// (`signaling/src/ws/{dispatch,timeline,rooms,calls}.rs`), and what it then sends on.
pub fn check_client_message(msg: &ClientMessage) {
    use ClientMessage as C;
    let client_id = msg.client_id();
    let client_id = client_id.filter(|id| check_client_id(id));
    // An arm's guard is the server's check; a refused request goes no further.
    match msg {
        // A message with a file needs an upload of the sender's (a database read); only those
        // without one are relayed here.
        C::Send {
            room,
            body,
            reply_to,
            attachment: None,
            ..
        } if check_body_rules(body) => {
            let mentions = mentioned_names(body).into_iter().map(String::from);
            let kind = EventKind::Message {
                body: body.clone(),
                reply_to: *reply_to,
                mentions: mentions.collect(),
                edited_at_ms: None,
                deleted: false,
                reactions: Vec::new(),
                attachment: None,
            };
            relay_event(room, client_id, kind);
        }
        C::Edit {
            room, target, body, ..
        } if check_body_rules(body) => {
            let kind = EventKind::Edit {
                target: *target,
                body: body.clone(),
            };
            relay_event(room, client_id, kind);
        }
        C::React {
            room,
            target,
            emoji,
            add,
            ..
        } if check_emoji_rule(emoji) => {
            let kind = EventKind::Reaction {
                target: *target,
                emoji: emoji.clone(),
                added: *add,
            };
            relay_event(room, client_id, kind);
        }
        C::History { limit, .. } | C::CatchUp { limit, .. } => {
            assert!((1..=MAX_HISTORY_PAGE).contains(&(*limit).clamp(1, MAX_HISTORY_PAGE)));
        }
        C::CreateRoom { name, topic, .. } if check_name_rule(name) & check_topic_rule(topic) => {
            let kind = EventKind::Created {
                name: name.trim().to_owned(),
            };
            relay_event(&RoomId("r1".into()), client_id, kind);
        }
        C::Rename { room, name, .. } if check_name_rule(name) => {
            let kind = EventKind::Renamed {
                name: name.trim().to_owned(),
            };
            relay_event(room, client_id, kind);
        }
        C::SetTopic { room, topic, .. } if check_topic_rule(topic) => {
            let kind = EventKind::TopicChanged {
                topic: topic.trim().to_owned(),
            };
            relay_event(room, client_id, kind);
        }
        C::AddMember { user, .. }
        | C::RemoveMember { user, .. }
        | C::Mute { user, .. }
        | C::SetRole { user, .. }
        | C::OpenDirect { user, .. }
        | C::Block { user, .. } => {
            check_username_rule(user);
        }
        C::StartCall { call, .. }
        | C::JoinCall { call, .. }
        | C::LeaveCall { call, .. }
        | C::DeclineCall { call, .. } => {
            check_session_rule(call);
        }
        C::Signal {
            room,
            session,
            data,
            ..
        } if check_session_rule(session) & check_signal(data) => {
            // Relayed to the other peer as the server encodes it.
            round_trip(&ServerMessage::Signal {
                room: room.clone(),
                from: "alice".into(),
                session: session.clone(),
                data: data.clone(),
            });
        }
        _ => {}
    }
}

/// The event the server would store and send for an accepted request decodes as sent.
fn relay_event(room: &RoomId, client_id: Option<&ClientMsgId>, kind: EventKind) {
    let event = Event {
        room: room.clone(),
        seq: Seq(1),
        sender: "alice".into(),
        at_ms: 1_700_000_000_000,
        client_id: client_id.cloned(),
        kind,
    };
    round_trip(&ServerMessage::Event { event });
}

pub fn check_client_id(id: &ClientMsgId) -> bool {
    let ok = id.is_valid();
    if ok {
        assert!(
            !id.0.is_empty() && id.0.len() <= ClientMsgId::MAX_LEN,
            "{id:?}"
        );
        assert!(
            id.0.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    ok
}

pub fn check_username_rule(name: &str) -> bool {
    let ok = check_username(name).is_ok();
    if ok {
        assert!(
            (USERNAME_MIN..=USERNAME_MAX).contains(&name.len()),
            "{name:?}"
        );
        assert!(name.is_ascii() && !name.contains(['@', ' ']), "{name:?}");
    }
    ok
}

pub fn check_password_rule(password: &str) -> bool {
    let ok = check_password(password).is_ok();
    if ok {
        let chars = password.chars().count();
        assert!(
            (PASSWORD_MIN..=PASSWORD_MAX).contains(&chars),
            "{password:?}"
        );
    }
    ok
}

/// A body's rule, and the mentions found in it: usernames that follow an `@` in the body, each
/// once (whatever its case).
pub fn check_body_rules(body: &str) -> bool {
    let ok = check_body(body).is_ok();
    if ok {
        assert!(body.len() <= MAX_BODY_BYTES && !body.trim().is_empty());
        assert!(
            !body
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{body:?}"
        );
    }
    let names = mentioned_names(body);
    assert!(names.len() <= body.matches('@').count());
    for (i, name) in names.iter().enumerate() {
        assert!(check_username_rule(name), "{name:?} in {body:?}");
        assert!(body.contains(&format!("@{name}")), "{name:?} in {body:?}");
        assert!(
            !names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)),
            "{name:?} twice in {body:?}"
        );
    }
    ok
}

pub fn check_emoji_rule(emoji: &str) -> bool {
    let ok = check_emoji(emoji).is_ok();
    if ok {
        assert!(
            !emoji.is_empty() && emoji.len() <= EMOJI_MAX_BYTES,
            "{emoji:?}"
        );
        assert!(
            !emoji
                .chars()
                .any(|c| c.is_ascii_alphanumeric() || c.is_whitespace())
        );
    }
    ok
}

/// A room name's rule; what the server stores (trimmed) passes it too.
pub fn check_name_rule(name: &str) -> bool {
    let ok = check_room_name(name).is_ok();
    if ok {
        assert!(name.chars().count() <= ROOM_NAME_MAX, "{name:?}");
        assert_eq!(check_room_name(name.trim()), Ok(()), "{name:?} trimmed");
    }
    ok
}

pub fn check_topic_rule(topic: &str) -> bool {
    let ok = check_room_topic(topic).is_ok();
    if ok {
        assert!(topic.chars().count() <= ROOM_TOPIC_MAX, "{topic:?}");
        assert_eq!(check_room_topic(topic.trim()), Ok(()), "{topic:?} trimmed");
    }
    ok
}

pub fn check_session_rule(id: &str) -> bool {
    let ok = valid_session_id(id);
    if ok {
        assert!(!id.is_empty() && id.len() <= MAX_SESSION_ID, "{id:?}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    ok
}

/// The server's checks on a signal's payload: its size, and for a file offer the offer's rules.
pub fn check_signal(data: &SignalData) -> bool {
    let size = data.size();
    let mut ok = size <= MAX_SIGNAL_BYTES;
    if let SignalData::Files { files } = data {
        ok &= check_offer_rules(files);
    }
    ok
}

/// The offer's rules, and the name each file would be stored under.
pub fn check_offer_rules(files: &[FileMeta]) -> bool {
    let ok = shared::transfer::check_offer(files).is_ok();
    if ok {
        assert!((1..=MAX_FILES_PER_OFFER).contains(&files.len()));
    }
    for file in files {
        if ok {
            assert!((1..=MAX_FILE_NAME_BYTES).contains(&file.name.len()));
            assert!(file.mime.len() <= MAX_MIME_BYTES);
        }
        check_file_meta(file);
    }
    ok
}

/// Where a received file is written: never a path, a dot name, a control character or empty.
pub fn check_file_meta(file: &FileMeta) {
    let name = file.safe_name();
    assert!(!name.is_empty(), "{file:?}");
    assert!(!name.starts_with('.'), "{file:?} -> {name:?}");
    assert!(
        !name.contains(['/', '\\', ':']) && !name.chars().any(char::is_control),
        "{file:?} -> {name:?}"
    );
    let _ = file.is_image();
}
