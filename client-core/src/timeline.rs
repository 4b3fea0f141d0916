//! The message list of one room as the user sees it: stored messages in server order, followed
//! by the user's own messages that are still on their way.
//!
//! A message is identified by (sender, client id) from the moment it is typed, so the pending
//! copy and the server's acknowledgement, echo or history copy of it collapse into one entry:
//! nothing is shown twice, whatever order the events arrive in.
//!
//! ## Staying gap-free across reconnects
//!
//! `synced_up_to` is the newest seq up to which the list has applied *every* event of the room.
//! After each Welcome the client re-syncs from it ([`Timeline::resync`]): the newest page on
//! first connect, else `catch_up` pages until up to date. It advances only on those pages and,
//! once caught up, on live events and acks that are exactly the next seq. A live event further
//! ahead reveals a gap, which is fetched before the cursor moves on.
//!
//! Edits and deletes are applied to the message they target; applying one twice changes
//! nothing. Room notices and reactions advance the cursor but are not shown yet.

use serde::{Deserialize, Serialize};
use shared::events::{Attachment, Event, EventKind, Reaction};
use shared::{ClientMsgId, Seq};
use std::collections::BTreeSet;

/// What the client knows about syncing one room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// Every event up to here is applied to the stored messages.
    pub cursor: Option<Seq>,
    /// The stored messages reach the room's first one.
    pub reached_start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Delivery {
    /// Typed here, not yet acknowledged; resent on every reconnect until it is.
    Pending,
    /// Stored by the server.
    Sent,
    /// Refused by the server; the reason is shown and the user may retry.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub id: Option<Seq>,
    pub client_id: ClientMsgId,
    pub sender: String,
    /// Empty once deleted.
    pub body: String,
    pub sent_at_ms: i64,
    pub edited: bool,
    pub deleted: bool,
    /// The message this one answers.
    pub reply_to: Option<Seq>,
    pub reactions: Vec<Reaction>,
    /// A room change or call shown as a line of its own instead of a message.
    #[serde(default)]
    pub notice: Option<String>,
    pub delivery: Delivery,
    /// A file left on the server with the message.
    #[serde(default)]
    pub attachment: Option<Box<Attachment>>,
}

impl Entry {
    /// Applies an edit, delete or reaction aimed at this message. Returns whether it changed.
    /// Applying the same operation twice changes nothing, and nothing revives a deleted
    /// message.
    pub fn apply_operation(&mut self, kind: &EventKind, sender: &str) -> bool {
        let before = (self.body.clone(), self.deleted, self.reactions.clone());
        match kind {
            EventKind::Edit { body, .. } if !self.deleted => {
                self.body.clone_from(body);
                self.edited = true;
            }
            EventKind::Delete { .. } => {
                self.body.clear();
                self.deleted = true;
                self.reactions.clear();
                self.attachment = None;
            }
            EventKind::Reaction { emoji, added, .. } if !self.deleted => {
                set_reaction(&mut self.reactions, emoji, sender, *added);
            }
            _ => {}
        }
        (self.body.clone(), self.deleted, self.reactions.clone()) != before
            || matches!(kind, EventKind::Edit { .. }) && !self.deleted
    }

    /// Stable across the pending → sent transition; used as the list key.
    pub fn key(&self) -> String {
        format!("{}/{}", self.sender, self.client_id.0)
    }

    /// The entry for a message event; `None` for other kinds.
    /// The entry for a visible event: a message, or a notice line for a room change or a
    /// call. `None` for operations.
    fn from_stored(event: Event) -> Option<Self> {
        // Events the server made on its own have no client id; their seq keys them instead.
        let client_id = event
            .client_id
            .clone()
            .unwrap_or_else(|| ClientMsgId(format!("seq-{}", event.seq.0)));
        let mut entry = Self {
            id: Some(event.seq),
            client_id,
            sender: event.sender.clone(),
            body: String::new(),
            sent_at_ms: event.at_ms,
            edited: false,
            deleted: false,
            reply_to: None,
            reactions: Vec::new(),
            notice: None,
            delivery: Delivery::Sent,
            attachment: None,
        };
        match event.kind {
            EventKind::Message {
                body,
                edited_at_ms,
                deleted,
                reply_to,
                reactions,
                attachment,
                ..
            } => {
                entry.attachment = attachment;
                entry.body = body;
                entry.edited = edited_at_ms.is_some();
                entry.deleted = deleted;
                entry.reply_to = reply_to;
                entry.reactions = reactions;
            }
            kind => entry.notice = Some(notice_text(&event.sender, &kind)?),
        }
        Some(entry)
    }
}

/// What to ask the server for to bring the list up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// The newest page (first connect).
    Newest,
    /// Everything after this seq, a page at a time.
    After(Seq),
}

/// What changed since the last [`Timeline::take_changes`], for writing to local storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Stored messages that are new or changed.
    pub entries: Vec<Entry>,
    /// Messages of ours the server acknowledged: they leave the outbox.
    pub acked: Vec<ClientMsgId>,
    /// Operations on messages not in memory; storage applies them to its copies.
    pub unloaded_operations: Vec<Event>,
    pub state: RoomState,
    /// Retention deleted the room's events up to this seq: storage drops its copies of them.
    pub forget_through: Option<Seq>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    entries: Vec<Entry>,
    /// True once history reached the room's first message.
    pub reached_start: bool,
    synced_up_to: Option<Seq>,
    catching_up: bool,
    /// The newest seq that arrived live (or as an ack) while catching up. A page read before
    /// that event was stored can reach this socket after it; the cursor must not stop short
    /// of it, or an operation applied before its target arrived would be lost for good.
    live_while_catching_up: Option<Seq>,
    /// Stored messages changed since the last `take_changes`.
    dirty: BTreeSet<Seq>,
    acked: Vec<ClientMsgId>,
    unloaded_operations: Vec<Event>,
    saved_state: RoomState,
    /// More messages older than the loaded ones are in local storage.
    pub more_stored: bool,
    /// The room's history starts after this seq (retention deleted the rest).
    floor: Seq,
    /// A floor that moved since the last `take_changes`.
    forget_through: Option<Seq>,
}

impl Timeline {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Adds a message the user just typed.
    pub fn add_pending(
        &mut self,
        client_id: ClientMsgId,
        sender: &str,
        body: String,
        reply_to: Option<Seq>,
        now_ms: i64,
    ) {
        self.entries.push(Entry {
            attachment: None,
            id: None,
            client_id,
            sender: sender.to_owned(),
            body,
            sent_at_ms: now_ms,
            edited: false,
            deleted: false,
            reply_to,
            reactions: Vec::new(),
            notice: None,
            delivery: Delivery::Pending,
        });
    }

    /// Called on every Welcome: what to fetch so that nothing is missing.
    pub fn resync(&mut self) -> Fetch {
        self.catching_up = true;
        self.synced_up_to.map_or(Fetch::Newest, Fetch::After)
    }

    /// Whether a re-sync is under way (its pages have not all arrived).
    pub fn is_catching_up(&self) -> bool {
        self.catching_up
    }

    /// The server's retention deleted every event up to `floor`: copies of them go, here and
    /// (through [`Changes::forget_through`]) in storage, and a cursor below it moves up to it,
    /// since nothing before it will ever be served.
    pub fn apply_floor(&mut self, floor: Seq) {
        if floor <= self.floor {
            return;
        }
        self.floor = floor;
        self.forget_through = Some(floor);
        // Dirty seqs at or below the floor name no entry any more, so `take_changes` writes
        // nothing for them.
        self.entries.retain(|e| e.id.is_none_or(|id| id > floor));
        if let Some(cursor) = self.synced_up_to
            && cursor < floor
        {
            self.synced_up_to = Some(floor);
        }
    }

    /// A page of history: the newest page (`before` is `None`) or an older one. `last_seq` is
    /// the room's newest event when the page was read; operations up to it are folded in.
    /// Returns the next page to fetch when events arrived live past what the page covers.
    pub fn apply_history(
        &mut self,
        before: Option<Seq>,
        page: Vec<Event>,
        complete: bool,
        last_seq: Seq,
    ) -> Option<Fetch> {
        let mut next = None;
        // A list never synced (it only saw live events, perhaps before going offline) may
        // hold stale copies: the page's copies, folded up to `last_seq`, replace them.
        let replace = before.is_none() && self.synced_up_to.is_none();
        if before.is_none() {
            if self.synced_up_to.is_none() {
                self.synced_up_to = Some(last_seq);
            }
            next = self.finish_catching_up();
        }
        // The page reaches at least as far back as what is loaded (it may overlap it).
        let extends_back = match (page.first(), self.oldest_id()) {
            (Some(first), Some(oldest)) => first.seq <= oldest,
            _ => true,
        };
        for event in page {
            if replace && event.target().is_none() {
                self.insert_stored(event, true);
            } else {
                self.apply_event(event);
            }
        }
        if complete && extends_back {
            self.reached_start = true;
        }
        next
    }

    /// The last page came: done, unless events arrived live past it (they are fetched again;
    /// applying them twice changes nothing).
    fn finish_catching_up(&mut self) -> Option<Fetch> {
        if self.live_while_catching_up > self.synced_up_to
            && let Some(cursor) = self.synced_up_to
        {
            self.live_while_catching_up = None;
            return Some(Fetch::After(cursor));
        }
        self.catching_up = false;
        self.live_while_catching_up = None;
        None
    }

    /// A catch-up page; returns the next page to fetch, if any.
    pub fn apply_catch_up(&mut self, page: Vec<Event>, up_to_date: bool) -> Option<Fetch> {
        if let Some(last) = page.last() {
            self.synced_up_to = self.synced_up_to.max(Some(last.seq));
        }
        for event in page {
            self.apply_event(event);
        }
        if up_to_date {
            self.finish_catching_up()
        } else {
            self.synced_up_to.map(Fetch::After)
        }
    }

    /// An event delivered live by the server. The cursor moves only onto the next seq; an
    /// event further ahead means something was missed (say, while not a member), and the
    /// returned fetch closes the gap.
    pub fn apply_live(&mut self, event: Event) -> Option<Fetch> {
        let mut gap = None;
        if self.catching_up {
            self.live_while_catching_up = self.live_while_catching_up.max(Some(event.seq));
        } else if let Some(cursor) = self.synced_up_to {
            if event.seq.0 == cursor.0 + 1 {
                self.synced_up_to = Some(event.seq);
            } else if event.seq.0 > cursor.0 + 1 {
                self.catching_up = true;
                gap = Some(Fetch::After(cursor));
            }
        }
        self.apply_event(event);
        gap
    }

    /// The server stored one of our requests. Like a live event, it moves the cursor only
    /// onto the next seq: an ack can overtake events still queued for this socket, but then it
    /// is not the next one.
    pub fn apply_ack(&mut self, event: Event) {
        if self.catching_up {
            self.live_while_catching_up = self.live_while_catching_up.max(Some(event.seq));
        } else if let Some(cursor) = self.synced_up_to
            && event.seq.0 == cursor.0 + 1
        {
            self.synced_up_to = Some(event.seq);
        }
        self.apply_event(event);
    }

    fn apply_event(&mut self, event: Event) {
        let Some(target) = event.target() else {
            self.insert_stored(event, false);
            return;
        };
        match self.entries.iter_mut().find(|e| e.id == Some(target)) {
            Some(entry) => {
                if entry.apply_operation(&event.kind, &event.sender) {
                    self.dirty.insert(target);
                }
            }
            None => self.unloaded_operations.push(event),
        }
    }

    /// Loads messages from local storage: the newest ones when the list is empty (with the
    /// room's saved sync state), or older ones before what is loaded. `more` says whether
    /// storage holds even older ones.
    pub fn restore(&mut self, stored: Vec<Entry>, state: Option<RoomState>, more: bool) {
        if let Some(state) = state {
            self.synced_up_to = self.synced_up_to.max(state.cursor);
            self.saved_state = state.clone();
        }
        // Storage holds the room back to its first message, and nothing older is left in it.
        self.reached_start |= self.saved_state.reached_start && !more;
        self.more_stored = more;
        for entry in stored {
            if entry.id.is_none()
                || self
                    .entries
                    .iter()
                    .any(|e| e.sender == entry.sender && e.client_id == entry.client_id)
            {
                continue;
            }
            let at = self
                .entries
                .iter()
                .position(|e| e.id.is_none() || e.id > entry.id)
                .unwrap_or(self.entries.len());
            self.entries.insert(at, entry);
        }
    }

    /// The room's sync state as storage keeps it.
    pub fn state(&self) -> RoomState {
        RoomState {
            cursor: self.synced_up_to,
            reached_start: self.reached_start || self.saved_state.reached_start,
        }
    }

    /// What to write to local storage since the last call; `None` when nothing changed.
    pub fn take_changes(&mut self) -> Option<Changes> {
        let state = self.state();
        if self.dirty.is_empty()
            && self.acked.is_empty()
            && self.unloaded_operations.is_empty()
            && self.forget_through.is_none()
            && state == self.saved_state
        {
            return None;
        }
        let dirty = std::mem::take(&mut self.dirty);
        let entries = self
            .entries
            .iter()
            .filter(|e| e.id.is_some_and(|id| dirty.contains(&id)))
            .cloned()
            .collect();
        self.saved_state = state.clone();
        Some(Changes {
            entries,
            acked: std::mem::take(&mut self.acked),
            unloaded_operations: std::mem::take(&mut self.unloaded_operations),
            state,
            forget_through: self.forget_through.take(),
        })
    }

    /// Records a stored message, replacing the pending copy of it if there is one. A copy
    /// already shown is kept unless `replace` (the new copy is known to be newer).
    fn insert_stored(&mut self, event: Event, replace: bool) {
        let Some(entry) = Entry::from_stored(event) else {
            return;
        };
        let existing = self
            .entries
            .iter()
            .position(|e| e.sender == entry.sender && e.client_id == entry.client_id);
        if let Some(index) = existing {
            if self.entries[index].id.is_some() {
                if replace {
                    self.dirty.extend(entry.id);
                    self.entries[index] = entry;
                }
                return;
            }
            let pending = self.entries.remove(index);
            self.acked.push(pending.client_id);
        }
        let id = entry.id;
        if let Some(seq) = id {
            self.dirty.insert(seq);
        }
        // Stored entries stay sorted by id and precede every pending entry.
        let at = self
            .entries
            .iter()
            .position(|e| e.id.is_none() || e.id > id)
            .unwrap_or(self.entries.len());
        self.entries.insert(at, entry);
    }

    /// The stored message at `seq`, if loaded.
    pub fn message(&self, seq: Seq) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == Some(seq))
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

    /// Whether a message with this key was typed here and is not stored yet (pending or failed).
    pub fn has_unsent(&self, client_id: &ClientMsgId, sender: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.id.is_none() && &e.client_id == client_id && e.sender == sender)
    }

    /// The newest stored message's seq.
    pub fn newest_id(&self) -> Option<Seq> {
        self.entries.iter().rev().find_map(|e| e.id)
    }

    /// My newest message the server has and that is not deleted, with its text: what ↑ in an
    /// empty composer edits. Notices (room changes, calls) are not messages.
    pub fn last_editable(&self, me: &str) -> Option<(Seq, &str)> {
        self.entries
            .iter()
            .rev()
            .filter(|e| e.sender == me && e.notice.is_none() && !e.deleted)
            .find_map(|e| Some((e.id?, e.body.as_str())))
    }

    /// The oldest stored message, where the next history page ends.
    pub fn oldest_id(&self) -> Option<Seq> {
        self.entries.iter().find_map(|e| e.id)
    }

    fn find_unsent(&mut self, client_id: &ClientMsgId, sender: &str) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.id.is_none() && &e.client_id == client_id && e.sender == sender)
    }
}

/// Turns `user`'s `emoji` on or off; applying the same change twice changes nothing.
fn set_reaction(reactions: &mut Vec<Reaction>, emoji: &str, user: &str, added: bool) {
    let index = reactions.iter().position(|r| r.emoji == emoji);
    match (index, added) {
        (Some(i), true) => {
            if !reactions[i].users.iter().any(|u| u == user) {
                reactions[i].users.push(user.to_owned());
            }
        }
        (None, true) => reactions.push(Reaction {
            emoji: emoji.to_owned(),
            users: vec![user.to_owned()],
        }),
        (Some(i), false) => {
            reactions[i].users.retain(|u| u != user);
            if reactions[i].users.is_empty() {
                reactions.remove(i);
            }
        }
        (None, false) => {}
    }
}

/// The line a room change or call shows in the timeline; `None` for messages and operations.
pub fn notice_text(sender: &str, kind: &EventKind) -> Option<String> {
    use shared::events::Role;
    Some(match kind {
        EventKind::Created { name } if name.is_empty() => {
            format!("{sender} started this conversation")
        }
        EventKind::Created { name } => format!("{sender} created #{name}"),
        EventKind::Renamed { name } => format!("{sender} renamed the room to #{name}"),
        EventKind::TopicChanged { topic } if topic.is_empty() => {
            format!("{sender} cleared the topic")
        }
        EventKind::TopicChanged { topic } => format!("{sender} set the topic: {topic}"),
        EventKind::Joined => format!("{sender} joined"),
        EventKind::Added { user } => format!("{sender} added {user}"),
        EventKind::Left => format!("{sender} left"),
        EventKind::Removed { user } => format!("{sender} removed {user}"),
        EventKind::RoleChanged { user, role } => {
            let role = match role {
                Role::Owner => "the owner",
                Role::Admin => "an admin",
                Role::Member => "a member",
            };
            format!("{sender} made {user} {role}")
        }
        EventKind::Muted { user, muted: true } => format!("{sender} muted {user}"),
        EventKind::Muted { user, muted: false } => format!("{sender} unmuted {user}"),
        EventKind::Banned { user, banned: true } => format!("{sender} banned {user}"),
        EventKind::Banned {
            user,
            banned: false,
        } => format!("{sender} lifted the ban on {user}"),
        EventKind::CallStarted { video, .. } => {
            let what = if *video { "video" } else { "voice" };
            format!("{sender} started a {what} call")
        }
        EventKind::CallEnded { declined: true, .. } => format!("Declined call from {sender}"),
        EventKind::CallEnded { missed: true, .. } => format!("Missed call from {sender}"),
        EventKind::CallEnded { duration_ms, .. } => {
            let secs = duration_ms / 1000;
            format!("Call ended after {} min {} s", secs / 60, secs % 60)
        }
        EventKind::Message { .. }
        | EventKind::Edit { .. }
        | EventKind::Delete { .. }
        | EventKind::Reaction { .. } => return None,
    })
}
