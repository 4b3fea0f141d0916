//! The room list as the sidebar shows it: the server's summaries, kept current by the events
//! that arrive while the app is open, newest activity first.

use shared::RoomId;
use shared::events::{Event, EventKind};
use shared::rooms::{Preview, RoomKind, RoomSummary};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomList {
    rooms: Vec<RoomSummary>,
}

impl RoomList {
    pub fn all(&self) -> &[RoomSummary] {
        &self.rooms
    }

    pub fn get(&self, id: &RoomId) -> Option<&RoomSummary> {
        self.rooms.iter().find(|r| &r.id == id)
    }

    /// Replaces the whole list (welcome, `rooms`).
    pub fn replace(&mut self, rooms: Vec<RoomSummary>) {
        self.rooms = rooms;
        self.sort();
    }

    /// Adds or refreshes one room (`room_updated`). A summary can be older than events that
    /// already reached the list (it is read before they happen and delivered after them); then
    /// the activity fields the list already has are kept.
    pub fn upsert(&mut self, mut room: RoomSummary) {
        match self.rooms.iter_mut().find(|r| r.id == room.id) {
            Some(existing) => {
                if existing.last_seq > room.last_seq {
                    room.last_seq = existing.last_seq;
                    room.last_message = existing.last_message.take();
                    room.read_seq = existing.read_seq;
                    room.unread = existing.unread;
                    room.unread_mentions = existing.unread_mentions;
                }
                *existing = room;
            }
            None => self.rooms.push(room),
        }
        self.sort();
    }

    pub fn remove(&mut self, id: &RoomId) {
        self.rooms.retain(|r| &r.id != id);
    }

    /// Folds a live event into its room's summary. `viewing` is true when the user has the
    /// room open in front of them, so its messages count as read.
    pub fn apply(&mut self, event: &Event, me: &str, viewing: bool) {
        let Some(room) = self.rooms.iter_mut().find(|r| r.id == event.room) else {
            return;
        };
        if event.seq <= room.last_seq {
            return; // Already counted (the summary was read after it).
        }
        room.last_seq = event.seq;
        match &event.kind {
            EventKind::Message {
                body,
                mentions,
                attachment,
                ..
            } => {
                // A file without words is named, as the server's list names it.
                let text = match attachment {
                    Some(file) if body.is_empty() => format!("📎 {}", file.name),
                    _ => body.clone(),
                };
                room.last_message = Some(Preview {
                    seq: event.seq,
                    sender: event.sender.clone(),
                    text: text.chars().take(Preview::MAX_CHARS).collect(),
                    deleted: false,
                    at_ms: event.at_ms,
                });
                // What the user sees on screen is marked read by the caller, which also tells
                // the server; only their own messages count as read here.
                if event.sender == me {
                    room.read_seq = room.read_seq.max(event.seq);
                } else if !viewing {
                    room.unread += 1;
                    if mentions.iter().any(|m| m.eq_ignore_ascii_case(me)) {
                        room.unread_mentions += 1;
                    }
                }
            }
            EventKind::Delete { target } => {
                if let Some(preview) = room.last_message.as_mut()
                    && preview.seq == *target
                {
                    preview.text.clear();
                    preview.deleted = true;
                }
            }
            EventKind::Renamed { name } if room.kind == RoomKind::Group => {
                room.name.clone_from(name);
            }
            EventKind::TopicChanged { topic } => room.topic.clone_from(topic),
            EventKind::Joined | EventKind::Added { .. } => room.member_count += 1,
            EventKind::Left
            | EventKind::Removed { .. }
            | EventKind::Banned { banned: true, .. } => {
                room.member_count = room.member_count.saturating_sub(1);
            }
            _ => {}
        }
        self.sort();
    }

    /// Records that the user read `room` up to its newest event.
    pub fn mark_read(&mut self, id: &RoomId) -> Option<shared::Seq> {
        let room = self.rooms.iter_mut().find(|r| &r.id == id)?;
        if room.read_seq >= room.last_seq && room.unread == 0 {
            return None;
        }
        room.read_seq = room.last_seq;
        room.unread = 0;
        room.unread_mentions = 0;
        Some(room.last_seq)
    }

    /// Unread messages in every room, for the title and badge.
    pub fn total_unread(&self) -> u32 {
        self.rooms.iter().map(|r| r.unread).sum()
    }

    /// The direct conversation with `user`, if there is one.
    pub fn direct_with(&self, user: &str) -> Option<&RoomSummary> {
        self.rooms
            .iter()
            .find(|r| r.kind == RoomKind::Direct && r.name.eq_ignore_ascii_case(user))
    }

    fn sort(&mut self) {
        let activity = |r: &RoomSummary| r.last_message.as_ref().map_or(0, |m| m.at_ms);
        self.rooms.sort_by(|a, b| {
            activity(b)
                .cmp(&activity(a))
                .then_with(|| a.name.cmp(&b.name))
        });
    }
}
