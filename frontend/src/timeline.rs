//! The message list of one room as the user sees it: stored messages in server order, followed
//! by the user's own messages that are still on their way.
//!
//! A message is identified by (sender, client id) from the moment it is typed, so the pending
//! copy and the server's acknowledgement, echo or history copy of it collapse into one entry:
//! nothing is shown twice, whatever order the events arrive in.

use shared::ws::ChatMessage;
use shared::{ClientMsgId, MessageId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Typed here, not yet acknowledged; resent on every reconnect until it is.
    Pending,
    /// Stored by the server.
    Sent,
    /// Refused by the server; the reason is shown and the user may retry.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: Option<MessageId>,
    pub client_id: ClientMsgId,
    pub sender: String,
    pub body: String,
    pub sent_at_ms: i64,
    pub delivery: Delivery,
}

impl Entry {
    /// Stable across the pending → sent transition; used as the list key.
    pub fn key(&self) -> String {
        format!("{}/{}", self.sender, self.client_id.0)
    }

    fn from_stored(message: ChatMessage) -> Self {
        Self {
            id: Some(message.id),
            client_id: message.client_id,
            sender: message.sender,
            body: message.body,
            sent_at_ms: message.sent_at_ms,
            delivery: Delivery::Sent,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    entries: Vec<Entry>,
    /// True once history reached the room's first message.
    pub reached_start: bool,
}

impl Timeline {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Adds a message the user just typed.
    pub fn add_pending(&mut self, client_id: ClientMsgId, sender: &str, body: String, now_ms: i64) {
        self.entries.push(Entry {
            id: None,
            client_id,
            sender: sender.to_owned(),
            body,
            sent_at_ms: now_ms,
            delivery: Delivery::Pending,
        });
    }

    /// Records a stored message (ack, live delivery or history), replacing the pending copy of
    /// it if there is one and ignoring it if it is already shown.
    pub fn insert_stored(&mut self, message: ChatMessage) {
        let existing = self
            .entries
            .iter()
            .position(|e| e.sender == message.sender && e.client_id == message.client_id);
        if let Some(index) = existing {
            if self.entries[index].id.is_some() {
                return;
            }
            self.entries.remove(index);
        }
        let entry = Entry::from_stored(message);
        let id = entry.id;
        // Stored entries stay sorted by id and precede every pending entry.
        let at = self
            .entries
            .iter()
            .position(|e| e.id.is_none() || e.id > id)
            .unwrap_or(self.entries.len());
        self.entries.insert(at, entry);
    }

    pub fn mark_failed(&mut self, client_id: &ClientMsgId, sender: &str, reason: String) {
        if let Some(entry) = self.find_unsent(client_id, sender) {
            entry.delivery = Delivery::Failed(reason);
        }
    }

    /// Puts a failed message back in the queue.
    pub fn retry(&mut self, client_id: &ClientMsgId, sender: &str) {
        if let Some(entry) = self.find_unsent(client_id, sender) {
            entry.delivery = Delivery::Pending;
        }
    }

    /// Messages still waiting for an acknowledgement, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.delivery == Delivery::Pending)
    }

    /// The oldest stored message, where the next history page ends.
    pub fn oldest_id(&self) -> Option<MessageId> {
        self.entries.iter().find_map(|e| e.id)
    }

    /// The newest stored message, where catching up after a reconnect starts.
    pub fn newest_id(&self) -> Option<MessageId> {
        self.entries.iter().rev().find_map(|e| e.id)
    }

    fn find_unsent(&mut self, client_id: &ClientMsgId, sender: &str) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.id.is_none() && &e.client_id == client_id && e.sender == sender)
    }
}
