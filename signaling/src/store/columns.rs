//! How events and room summaries sit in table columns, shared by the SQLite and PostgreSQL
//! stores: both schemas keep the same columns with the same meaning (integers for flags, 0 or
//! 1), so turning a row into an [`Event`] or a draft into column values is written once. The
//! SQL around it differs (placeholders, JSON arrays or `UNNEST`), so each store keeps its own.

use super::{Draft, NamedUser, PendingMessage, StoreError, StoredFile, UserId};
use shared::events::{Attachment, Event, EventKind, Reaction, Role};
use shared::rooms::{NotifyLevel, Preview, RoomKind, RoomSummary};
use shared::{ClientMsgId, RoomId, Seq};
use sqlx::{ColumnIndex, Decode, Row, Type};
use std::collections::HashMap;

/// Unread messages counted per room; the list shows "999+" past it.
pub(super) const UNREAD_COUNT_CAP: i64 = 999;
/// `call_ended` rows keep answered / missed / declined in the flag column: 0, 1, this.
pub(super) const CALL_DECLINED: i64 = 2;
/// WebAuthn ceremonies kept per account; starting another drops the oldest.
pub(super) const CEREMONIES_PER_USER: usize = 5;

/// Columns every event query selects, in the order [`event_from_row`] reads them.
pub(super) const EVENT_COLUMNS: &str = "e.seq, sender.username, e.at, e.client_id, e.kind, e.body,
    e.reply_to, e.target, e.emoji, e.flag, subject.username, e.mentions, e.edited_at, e.deleted,
    e.amount, a.id, a.name, a.mime, a.size, a.width, a.height";
/// How many columns [`EVENT_COLUMNS`] has: a query that selects more reads them from here on.
pub(super) const EVENT_COLUMN_COUNT: usize = 21;
pub(super) const EVENT_JOINS: &str = "FROM events e
    JOIN users sender ON sender.id = e.sender_id
    LEFT JOIN users subject ON subject.id = e.subject_id
    LEFT JOIN attachments a ON a.id = e.attachment_id";

/// Reads an event selected with [`EVENT_COLUMNS`] from a row of either driver.
pub(super) fn event_from_row<R>(room: &RoomId, row: &R) -> Result<Event, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = row.get(4);
    let body = || row.get::<Option<String>, _>(5).unwrap_or_default();
    let target = || Seq(row.get::<Option<i64>, _>(7).unwrap_or_default());
    let subject = || row.get::<Option<String>, _>(10).unwrap_or_default();
    let flag = || row.get::<Option<i64>, _>(9).unwrap_or_default() != 0;
    let kind = match kind.as_str() {
        "message" => EventKind::Message {
            body: body(),
            reply_to: row.get::<Option<i64>, _>(6).map(Seq),
            mentions: row
                .get::<Option<String>, _>(11)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            edited_at_ms: row.get(12),
            deleted: row.get::<i64, _>(13) != 0,
            reactions: Vec::new(),
            attachment: row.get::<Option<String>, _>(15).map(|id| {
                Box::new(Attachment {
                    id,
                    name: row.get(16),
                    mime: row.get(17),
                    size: row.get::<i64, _>(18).max(0).unsigned_abs(),
                    width: dimension(row.get(19)),
                    height: dimension(row.get(20)),
                })
            }),
        },
        "edit" => EventKind::Edit {
            target: target(),
            body: body(),
        },
        "delete" => EventKind::Delete { target: target() },
        "reaction" => EventKind::Reaction {
            target: target(),
            emoji: row.get::<Option<String>, _>(8).unwrap_or_default(),
            added: flag(),
        },
        "created" => EventKind::Created { name: body() },
        "renamed" => EventKind::Renamed { name: body() },
        "topic_changed" => EventKind::TopicChanged { topic: body() },
        "joined" => EventKind::Joined,
        "added" => EventKind::Added { user: subject() },
        "left" => EventKind::Left,
        "removed" => EventKind::Removed { user: subject() },
        "role_changed" => EventKind::RoleChanged {
            user: subject(),
            role: Role::parse(&body()).unwrap_or(Role::Member),
        },
        "muted" => EventKind::Muted {
            user: subject(),
            muted: flag(),
        },
        "banned" => EventKind::Banned {
            user: subject(),
            banned: flag(),
        },
        "call_started" => EventKind::CallStarted {
            call: body(),
            video: flag(),
        },
        "call_ended" => EventKind::CallEnded {
            call: body(),
            duration_ms: row.get::<Option<i64>, _>(14).unwrap_or_default(),
            missed: flag(),
            declined: row.get::<Option<i64>, _>(9).unwrap_or_default() == CALL_DECLINED,
        },
        other => {
            return Err(StoreError::Database(sqlx::Error::Decode(
                format!("unknown event kind {other}").into(),
            )));
        }
    };
    Ok(Event {
        room: room.clone(),
        seq: Seq(row.get(0)),
        sender: row.get(1),
        at_ms: row.get(2),
        client_id: row.get::<Option<String>, _>(3).map(ClientMsgId),
        kind,
    })
}

/// Reads a file left on the server selected as the stores' media queries select it: id,
/// owner, room, name, size, type, hash, thumbnail, width, height, released, created, carried.
pub(super) fn file_from_row<R>(row: &R) -> StoredFile
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    StoredFile {
        id: row.get(0),
        owner: UserId(row.get(1)),
        room: RoomId(row.get(2)),
        name: row.get(3),
        size: row.get::<i64, _>(4).max(0).unsigned_abs(),
        mime: row.get(5),
        hash: row.get(6),
        thumb: row.get(7),
        width: dimension(row.get(8)),
        height: dimension(row.get(9)),
        released: row.get::<i64, _>(10) != 0,
        created_ms: row.get(11),
        carried: row.get::<i64, _>(12) != 0,
    }
}

fn dimension(pixels: Option<i64>) -> Option<u32> {
    pixels.and_then(|p| u32::try_from(p).ok())
}

/// Reads a row of a store's summary query: room id, kind, name, topic, last seq, role, muted,
/// read seq, member count, unread, unread mentions, the other member's name (direct
/// conversations), then the last message's seq, sender, body (a file's name after 📎 when it has none), deleted and time, and my
/// notification level.
pub(super) fn summary_from_row<R>(row: &R) -> RoomSummary
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind = room_kind(&row.get::<String, _>(1));
    let name = match kind {
        RoomKind::Group => row.get(2),
        RoomKind::Direct => row.get::<Option<String>, _>(11).unwrap_or_default(),
    };
    let last_message = row.get::<Option<i64>, _>(12).map(|seq| Preview {
        seq: Seq(seq),
        sender: row.get::<Option<String>, _>(13).unwrap_or_default(),
        text: row
            .get::<Option<String>, _>(14)
            .unwrap_or_default()
            .chars()
            .take(Preview::MAX_CHARS)
            .collect(),
        deleted: row.get::<Option<i64>, _>(15).unwrap_or_default() != 0,
        at_ms: row.get::<Option<i64>, _>(16).unwrap_or_default(),
    });
    let count = |i: usize| u32::try_from(row.get::<i64, _>(i)).unwrap_or(u32::MAX);
    RoomSummary {
        id: RoomId(row.get(0)),
        kind,
        name,
        topic: row.get(3),
        role: Role::parse(&row.get::<String, _>(5)).unwrap_or(Role::Member),
        muted: row.get::<i64, _>(6) != 0,
        member_count: count(8),
        last_seq: Seq(row.get(4)),
        read_seq: Seq(row.get(7)),
        unread: count(9),
        unread_mentions: count(10),
        last_message,
        notify: NotifyLevel::parse(&row.get::<String, _>(17)).unwrap_or_default(),
    }
}

pub(super) fn kind_name(draft: &Draft) -> &'static str {
    match draft {
        Draft::Message { .. } => "message",
        Draft::Edit { .. } => "edit",
        Draft::Delete { .. } => "delete",
        Draft::Reaction { .. } => "reaction",
        Draft::Renamed { .. } => "renamed",
        Draft::TopicChanged { .. } => "topic_changed",
        Draft::Joined => "joined",
        Draft::Added { .. } => "added",
        Draft::Left => "left",
        Draft::Removed { .. } => "removed",
        Draft::RoleChanged { .. } => "role_changed",
        Draft::Muted { .. } => "muted",
        Draft::Banned { .. } => "banned",
        Draft::CallStarted { .. } => "call_started",
        Draft::CallEnded { .. } => "call_ended",
    }
}

pub(super) fn room_kind(text: &str) -> RoomKind {
    if text == "direct" {
        RoomKind::Direct
    } else {
        RoomKind::Group
    }
}

pub(super) fn room_kind_name(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Group => "group",
        RoomKind::Direct => "direct",
    }
}

/// Whether a new member chose the room (see migration 0006): only those count against their
/// own room quota.
#[derive(Clone, Copy)]
pub(super) enum Entry {
    Chosen,
    PutThere,
}

/// The columns of an `events` row that depend on its kind (see the schema's comments).
#[derive(Default)]
pub(super) struct EventValues {
    pub body: Option<String>,
    pub reply_to: Option<i64>,
    pub target: Option<i64>,
    pub emoji: Option<String>,
    pub flag: Option<i64>,
    pub subject: Option<i64>,
    pub mentions: Option<String>,
    pub amount: Option<i64>,
    pub attachment: Option<String>,
}

impl EventValues {
    pub(super) fn of(draft: &Draft) -> Self {
        let flag = |on: bool| Some(i64::from(on));
        match draft {
            Draft::Message {
                body,
                reply_to,
                mentions,
                attachment,
            } => Self {
                body: Some(body.clone()),
                reply_to: reply_to.map(|s| s.0),
                mentions: (!mentions.is_empty()).then(|| mentions.join(" ")),
                attachment: attachment.as_ref().map(|a| a.id.clone()),
                ..Self::default()
            },
            Draft::Edit { target, body } => Self {
                body: Some(body.clone()),
                target: Some(target.0),
                ..Self::default()
            },
            Draft::Delete { target } => Self {
                target: Some(target.0),
                ..Self::default()
            },
            Draft::Reaction {
                target,
                emoji,
                added,
            } => Self {
                target: Some(target.0),
                emoji: Some(emoji.clone()),
                flag: flag(*added),
                ..Self::default()
            },
            Draft::Renamed { name } => Self {
                body: Some(name.clone()),
                ..Self::default()
            },
            Draft::TopicChanged { topic } => Self {
                body: Some(topic.clone()),
                ..Self::default()
            },
            Draft::Joined | Draft::Left => Self::default(),
            Draft::Added { user } | Draft::Removed { user } => Self {
                subject: Some(user.id.0),
                ..Self::default()
            },
            Draft::RoleChanged { user, role } => Self {
                body: Some(role.as_str().to_owned()),
                subject: Some(user.id.0),
                ..Self::default()
            },
            Draft::Muted { user, muted } => Self {
                flag: flag(*muted),
                subject: Some(user.id.0),
                ..Self::default()
            },
            Draft::Banned { user, banned } => Self {
                flag: flag(*banned),
                subject: Some(user.id.0),
                ..Self::default()
            },
            Draft::CallStarted { call, video } => Self {
                body: Some(call.clone()),
                flag: flag(*video),
                ..Self::default()
            },
            Draft::CallEnded {
                call,
                duration_ms,
                missed,
                declined,
            } => Self {
                body: Some(call.clone()),
                // The flag column: 0 answered, 1 missed, CALL_DECLINED declined (also missed).
                flag: Some(if *declined {
                    CALL_DECLINED
                } else {
                    i64::from(*missed)
                }),
                amount: Some(*duration_ms),
                ..Self::default()
            },
        }
    }
}

/// The wire form of a just-stored draft.
/// The event a queued message becomes once the group commit has given it `seq`: what
/// both stores hand back to be acked and fanned out.
pub(super) fn stored_message(message: &PendingMessage, seq: Seq, now_ms: i64) -> Event {
    event_of(
        &message.room,
        seq,
        &message.sender,
        Some(&message.client_id),
        Draft::Message {
            body: message.body.clone(),
            reply_to: message.reply_to,
            mentions: message.mentions.clone(),
            attachment: message.attachment.clone(),
        },
        now_ms,
    )
}

pub(super) fn event_of(
    room: &RoomId,
    seq: Seq,
    sender: &NamedUser,
    client_id: Option<&ClientMsgId>,
    draft: Draft,
    now_ms: i64,
) -> Event {
    let kind = match draft {
        Draft::Message {
            body,
            reply_to,
            mentions,
            attachment,
        } => EventKind::Message {
            body,
            reply_to,
            mentions,
            edited_at_ms: None,
            deleted: false,
            reactions: Vec::new(),
            attachment,
        },
        Draft::Edit { target, body } => EventKind::Edit { target, body },
        Draft::Delete { target } => EventKind::Delete { target },
        Draft::Reaction {
            target,
            emoji,
            added,
        } => EventKind::Reaction {
            target,
            emoji,
            added,
        },
        Draft::Renamed { name } => EventKind::Renamed { name },
        Draft::TopicChanged { topic } => EventKind::TopicChanged { topic },
        Draft::Joined => EventKind::Joined,
        Draft::Added { user } => EventKind::Added { user: user.name },
        Draft::Left => EventKind::Left,
        Draft::Removed { user } => EventKind::Removed { user: user.name },
        Draft::RoleChanged { user, role } => EventKind::RoleChanged {
            user: user.name,
            role,
        },
        Draft::Muted { user, muted } => EventKind::Muted {
            user: user.name,
            muted,
        },
        Draft::Banned { user, banned } => EventKind::Banned {
            user: user.name,
            banned,
        },
        Draft::CallStarted { call, video } => EventKind::CallStarted { call, video },
        Draft::CallEnded {
            call,
            duration_ms,
            missed,
            declined,
        } => EventKind::CallEnded {
            call,
            duration_ms,
            missed,
            declined,
        },
    };
    Event {
        room: room.clone(),
        seq,
        sender: sender.name.clone(),
        at_ms: now_ms,
        client_id: client_id.cloned(),
        kind,
    }
}

/// The seqs (lowest, highest) whose reactions a page of events needs: those of its messages
/// that are not deleted. `None` when there are none.
pub(super) fn reaction_span(events: &[Event]) -> Option<(i64, i64)> {
    let seqs = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Message { deleted: false, .. }))
        .map(|e| e.seq.0);
    let low = seqs.clone().min()?;
    Some((low, seqs.max()?))
}

/// Puts reactions, given as (seq, emoji, username) in display order, on their messages.
pub(super) fn put_reactions(
    events: &mut [Event],
    rows: impl IntoIterator<Item = (i64, String, String)>,
) {
    let mut by_seq: HashMap<i64, Vec<Reaction>> = HashMap::new();
    for (seq, emoji, user) in rows {
        let list = by_seq.entry(seq).or_default();
        match list.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => reaction.users.push(user),
            None => list.push(Reaction {
                emoji,
                users: vec![user],
            }),
        }
    }
    for event in events {
        if let EventKind::Message { reactions, .. } = &mut event.kind
            && let Some(found) = by_seq.remove(&event.seq.0)
        {
            *reactions = found;
        }
    }
}

/// The calls of some rooms from their rows (key, video, caller's name) and their sockets' rows
/// (key, participant's name, in name order).
pub(super) fn call_infos(
    calls: Vec<(crate::calls::CallKey, bool, String)>,
    sockets: Vec<(crate::calls::CallKey, String)>,
) -> Vec<crate::calls::CallInfo> {
    let mut who: std::collections::BTreeMap<crate::calls::CallKey, Vec<String>> =
        std::collections::BTreeMap::new();
    for (key, name) in sockets {
        who.entry(key).or_default().push(name);
    }
    calls
        .into_iter()
        .map(|(key, video, caller)| crate::calls::CallInfo {
            participants: who.remove(&key).unwrap_or_default(),
            key,
            video,
            caller,
        })
        .collect()
}
