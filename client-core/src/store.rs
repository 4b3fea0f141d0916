//! What a device's storage does with the client's writes, as an in-memory store for native
//! clients and tests. The browser keeps the same records in IndexedDB (`frontend/src/db.rs`)
//! with the same rules:
//!
//! - [`MemoryStore::save_room`] is one transaction: new and changed messages, operations on
//!   stored messages that are not in memory, acknowledged messages leaving the outbox, and the
//!   room's cursor; all or nothing, so the cursor never runs ahead of the messages and an
//!   acknowledged message is never both stored and still in the outbox;
//! - an operation on a message that is not stored changes nothing (the message, when fetched
//!   later, comes with it applied).

use crate::client::Output;
use crate::outbox::OutboxItem;
use crate::timeline::{Changes, Entry, RoomState};
use shared::events::Event;
use shared::rooms::RoomSummary;
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    messages: BTreeMap<(RoomId, Seq), Entry>,
    states: HashMap<RoomId, RoomState>,
    outbox: HashMap<ClientMsgId, OutboxItem>,
    rooms: Vec<RoomSummary>,
}

impl MemoryStore {
    /// Carries out a write; returns `false` for outputs that are not storage writes.
    pub fn write(&mut self, output: &Output) -> bool {
        match output {
            Output::SaveRoom { room, changes } => self.save_room(room, changes),
            Output::SaveRoomList(rooms) => self.rooms.clone_from(rooms),
            Output::OutboxPut(item) => {
                self.outbox.insert(item.client_id.clone(), item.clone());
            }
            Output::ApplyToStored(event) => self.apply_to_stored(event),
            _ => return false,
        }
        true
    }

    pub fn save_room(&mut self, room: &RoomId, changes: &Changes) {
        if let Some(floor) = changes.forget_through {
            self.messages
                .retain(|(r, seq), _| r != room || *seq > floor);
        }
        for entry in &changes.entries {
            if let Some(seq) = entry.id {
                self.messages.insert((room.clone(), seq), entry.clone());
            }
        }
        for operation in &changes.unloaded_operations {
            self.apply_to_stored(operation);
        }
        for id in &changes.acked {
            self.outbox.remove(id);
        }
        self.states.insert(room.clone(), changes.state.clone());
    }

    /// Applies an edit, delete or reaction to the stored copy of its target, if there is one.
    pub fn apply_to_stored(&mut self, event: &Event) {
        if let Some(target) = event.target()
            && let Some(entry) = self.messages.get_mut(&(event.room.clone(), target))
        {
            entry.apply_operation(&event.kind, &event.sender);
        }
    }

    /// Up to `limit` stored messages of `room` older than `before` (the newest when `None`),
    /// oldest first, and whether older ones remain.
    pub fn messages(&self, room: &RoomId, before: Option<Seq>, limit: usize) -> (Vec<Entry>, bool) {
        let upper = before.unwrap_or(Seq(i64::MAX));
        let mut found: Vec<Entry> = self
            .messages
            .range((room.clone(), Seq(i64::MIN))..(room.clone(), upper))
            .rev()
            .take(limit + 1)
            .map(|(_, e)| e.clone())
            .collect();
        let more = found.len() > limit;
        found.truncate(limit);
        found.reverse();
        (found, more)
    }

    /// Every stored message of `room`, oldest first.
    pub fn all_messages(&self, room: &RoomId) -> Vec<&Entry> {
        self.messages
            .range((room.clone(), Seq(i64::MIN))..=(room.clone(), Seq(i64::MAX)))
            .map(|(_, e)| e)
            .collect()
    }

    pub fn room_states(&self) -> HashMap<RoomId, RoomState> {
        self.states.clone()
    }

    /// Every unsent message, oldest first.
    pub fn outbox(&self) -> Vec<OutboxItem> {
        let mut items: Vec<OutboxItem> = self.outbox.values().cloned().collect();
        items.sort_by_key(|i| i.created_at_ms);
        items
    }

    pub fn room_list(&self) -> Vec<RoomSummary> {
        self.rooms.clone()
    }
}
