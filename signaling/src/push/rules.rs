//! What a push says and to whom: pure rules, tested without a network.

use serde::Serialize;
use shared::events::{Event, EventKind};
use shared::rooms::{NotifyLevel, RoomKind};

/// Characters of a message's text a push carries, where the reader allows text.
pub const TEXT_CHARS: usize = 120;
/// A call rings this long; a push for it is worthless later.
pub const CALL_TTL_SECS: u64 = 30;
/// A message's push waits this long at the push service for a device that is offline.
pub const MESSAGE_TTL_SECS: u64 = 24 * 60 * 60;

/// What the service worker gets (`public/sw.js`): small, and without the message's text (the
/// person's name and the room only) unless the reader allowed it, so a push service or a lock
/// screen shows no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payload {
    pub room: String,
    pub title: String,
    pub body: String,
    /// `call` or `message`.
    pub kind: &'static str,
}

/// How a push is sent: with the payload, how long it may wait, and how urgent it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub payload: Payload,
    pub ttl_secs: u64,
    /// RFC 8030 `Urgency`: `high` for what a person is waiting for (a call, a DM, a mention).
    pub urgency: &'static str,
}

/// The room as its reader knows it: a direct conversation is named after the other person.
pub struct RoomView<'a> {
    pub kind: RoomKind,
    pub name: &'a str,
}

/// The push `event` deserves for `reader` (who has no open socket), by the reader's choice
/// for the room: DMs and mentions unless `none`, every message with `all`, calls unless
/// `none`. `None` for anything else (their own event, edits, deleted messages...).
/// `show_text`: the reader lets pushes carry the message's text (its first
/// [`TEXT_CHARS`] characters, without `**` and backtick marks).
pub fn push_for(
    event: &Event,
    reader: &str,
    room: &RoomView<'_>,
    level: NotifyLevel,
    show_text: bool,
) -> Option<Push> {
    if level == NotifyLevel::None || event.sender.eq_ignore_ascii_case(reader) {
        return None;
    }
    let place = match room.kind {
        RoomKind::Direct => String::new(),
        RoomKind::Group => format!(" in #{}", room.name),
    };
    let (title, body, kind, ttl_secs, urgent) = match &event.kind {
        EventKind::CallStarted { video, .. } => (
            format!("{} is calling", event.sender),
            format!(
                "{}{place}",
                if *video { "Video call" } else { "Voice call" }
            ),
            "call",
            CALL_TTL_SECS,
            true,
        ),
        EventKind::Message {
            body: text,
            mentions,
            deleted,
            attachment,
            ..
        } if !deleted => {
            let mentioned = mentions.iter().any(|m| m.eq_ignore_ascii_case(reader));
            let direct = room.kind == RoomKind::Direct;
            if !(direct || mentioned || level == NotifyLevel::All)
                || (level == NotifyLevel::Mentions && !mentioned)
            {
                return None;
            }
            let title = match (direct, mentioned) {
                (true, _) => event.sender.clone(),
                (false, true) => format!("{} mentioned you{place}", event.sender),
                (false, false) => format!("{}{place}", event.sender),
            };
            let body = if show_text && text.is_empty() {
                // A file without a caption: its name is what the message says.
                attachment
                    .as_ref()
                    .map(|a| format!("📎 {}", a.name))
                    .unwrap_or_default()
            } else if show_text {
                text.replace("**", "")
                    .replace('`', "")
                    .chars()
                    .take(TEXT_CHARS)
                    .collect()
            } else if direct {
                "New message".to_owned()
            } else {
                format!("New message{place}")
            };
            (
                title,
                body,
                "message",
                MESSAGE_TTL_SECS,
                direct || mentioned,
            )
        }
        _ => return None,
    };
    Some(Push {
        payload: Payload {
            room: event.room.0.clone(),
            title,
            body,
            kind,
        },
        ttl_secs,
        urgency: if urgent { "high" } else { "normal" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{RoomId, Seq};

    fn event(kind: EventKind) -> Event {
        Event {
            room: RoomId("r1".into()),
            seq: Seq(5),
            sender: "ann".into(),
            at_ms: 1,
            client_id: None,
            kind,
        }
    }

    fn message(mentions: &[&str]) -> Event {
        event(EventKind::Message {
            attachment: None,
            body: "the secret plan".into(),
            reply_to: None,
            mentions: mentions.iter().map(|m| (*m).to_owned()).collect(),
            edited_at_ms: None,
            deleted: false,
            reactions: vec![],
        })
    }

    const DM: RoomView<'static> = RoomView {
        kind: RoomKind::Direct,
        name: "ann",
    };
    const GROUP: RoomView<'static> = RoomView {
        kind: RoomKind::Group,
        name: "ops",
    };

    #[test]
    fn dms_mentions_and_calls_push_and_the_room_setting_decides_the_rest() {
        use NotifyLevel::{All, Mentions, None as Nothing};
        let dm = push_for(&message(&[]), "bo", &DM, All, false).unwrap();
        assert_eq!((dm.payload.title.as_str(), dm.urgency), ("ann", "high"));
        assert!(push_for(&message(&[]), "bo", &DM, Mentions, false).is_none());
        assert!(push_for(&message(&[]), "bo", &DM, Nothing, false).is_none());

        let plain = push_for(&message(&[]), "bo", &GROUP, All, false).unwrap();
        assert_eq!(
            (plain.payload.title.as_str(), plain.urgency),
            ("ann in #ops", "normal")
        );
        assert!(push_for(&message(&[]), "bo", &GROUP, Mentions, false).is_none());
        let mention = push_for(&message(&["Bo"]), "bo", &GROUP, Mentions, false).unwrap();
        assert_eq!(mention.payload.title, "ann mentioned you in #ops");
        assert!(push_for(&message(&["bo"]), "bo", &GROUP, Nothing, false).is_none());

        let call = event(EventKind::CallStarted {
            call: "k".into(),
            video: true,
        });
        let ring = push_for(&call, "bo", &GROUP, Mentions, false).unwrap();
        assert_eq!(
            (ring.payload.body.as_str(), ring.payload.kind, ring.ttl_secs),
            ("Video call in #ops", "call", CALL_TTL_SECS)
        );
        assert!(push_for(&call, "bo", &GROUP, Nothing, false).is_none());
    }

    #[test]
    fn no_push_for_my_own_events_edits_or_deleted_messages_and_no_text_in_it() {
        assert!(push_for(&message(&[]), "Ann", &DM, NotifyLevel::All, false).is_none());
        let edit = event(EventKind::Edit {
            target: Seq(1),
            body: "x".into(),
        });
        assert!(push_for(&edit, "bo", &DM, NotifyLevel::All, false).is_none());
        let push = push_for(&message(&[]), "bo", &DM, NotifyLevel::All, false).unwrap();
        let json = serde_json::to_string(&push.payload).unwrap();
        assert!(!json.contains("secret"), "{json}");
        // Unless the reader allows it.
        let push = push_for(&message(&[]), "bo", &DM, NotifyLevel::All, true).unwrap();
        assert_eq!(push.payload.body, "the secret plan");
        // A file without a caption is named; its name is text too, kept unless allowed.
        let mut file = message(&[]);
        if let EventKind::Message {
            body, attachment, ..
        } = &mut file.kind
        {
            body.clear();
            *attachment = Some(Box::new(shared::events::Attachment {
                id: "f1".into(),
                name: "plan.pdf".into(),
                mime: "application/octet-stream".into(),
                size: 10,
                width: None,
                height: None,
            }));
        }
        let named = push_for(&file, "bo", &DM, NotifyLevel::All, true).unwrap();
        assert_eq!(named.payload.body, "📎 plan.pdf");
        let hidden = push_for(&file, "bo", &DM, NotifyLevel::All, false).unwrap();
        assert_eq!(hidden.payload.body, "New message");
    }
}
