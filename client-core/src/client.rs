//! The chat client without I/O: the room list, one [`Timeline`] per opened room, the send
//! queue, catch-up and the live state around them (typing, presence, members, receipts).
//!
//! A driver (the browser's `sync.rs`, the native test client) feeds it what happens — server
//! frames, the connection going away, storage reads finishing, timers, the user's actions —
//! each with the time, and carries out the [`Output`]s it returns: frames to send, storage
//! writes, timers to set, views to redraw, notifications to show. It never waits for anything.
//!
//! ## Catching up
//!
//! Every Welcome re-syncs each opened room from its cursor ([`Timeline::resync`]): the newest
//! page on first connect, else catch-up pages until up to date; a live event past the cursor
//! fetches the gap first. A retryable refusal of a page (it carries no client id) re-syncs the
//! rooms still catching up after [`RETRY_DELAY_MS`]. Each room's changes go to storage as one
//! [`Output::SaveRoom`]: its messages, operations on stored messages, acknowledged messages
//! leaving the outbox, and its cursor, written in one transaction so the cursor never runs
//! ahead of the messages.
//!
//! ## Sending
//!
//! A typed message enters its room's timeline as pending, is written to the outbox
//! ([`Output::OutboxPut`]) and goes through the [`SendQueue`] (see there for its states).
//! Edits, deletes and reactions are sent only while connected.

use crate::outbox::{OutboxItem, RETRY_DELAY_MS, Refused, SendQueue, Stage};
use crate::rooms::RoomList;
use crate::timeline::{Changes, Fetch, RoomState, Timeline};
use shared::events::{Event, EventKind};
use shared::rooms::{Member, NotifyLevel, Presence, RoomKind, RoomSummary};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage, TYPING_SHOWN_MS};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::HashMap;

/// Messages loaded from local storage when a room opens: a few screens' worth.
pub const RESTORE: usize = 50;
/// Events fetched per history or catch-up page.
pub const PAGE: u32 = 50;
/// A call older than this is not announced: it was caught up on, not ringing now.
const RINGING_MS: i64 = 30_000;

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Send(ClientMessage),
    /// Write in one transaction (see the module doc).
    SaveRoom {
        room: RoomId,
        changes: Changes,
    },
    SaveRoomList(Vec<RoomSummary>),
    /// Keep an unsent message; it must be durable before the user is told it is queued.
    OutboxPut(OutboxItem),
    /// Apply an edit, delete or reaction to the stored copy of a message of a room not open.
    ApplyToStored(Event),
    /// Read up to `limit` stored messages of `room` older than `before` (the newest when
    /// `None`) and hand them to [`ChatClient::stored_loaded`].
    LoadStored {
        room: RoomId,
        before: Option<Seq>,
        limit: usize,
    },
    /// Call [`ChatClient::tick`] at this time (ms since the epoch).
    WakeAt(i64),
    Changed(View),
    Notify(Notification),
    /// The server says this socket belongs to someone else now (another tab logged in as
    /// another user): nothing more may be sent from this screen.
    SessionEnded,
}

/// Which part of the state changed, for the views that show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum View {
    Rooms,
    /// The room shown, and its "New messages" line ([`ChatClient::unread_marker`]).
    Current,
    Timeline(RoomId),
    Members,
    Presence,
    Typing,
    Request,
    /// A message of someone else arrived live in the open room: read it out. History loaded or
    /// caught up, edits and reactions are not news.
    Announcement,
}

/// A system notification to show while the app is not in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    pub room: RoomId,
}

/// A room request (create, add, open a DM, join) the user is waiting on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingRequest {
    client_id: ClientMsgId,
    /// Open the resulting room when it is acknowledged.
    open_result: bool,
}

/// The outcome of the last room request, for the panel that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    Waiting,
    Done,
    Refused(String),
}

#[derive(Debug)]
pub struct ChatClient {
    me: String,
    rooms: RoomList,
    current: Option<RoomId>,
    /// The room to show first when it is in the list (the address, or the last one shown).
    preferred: Option<RoomId>,
    /// The current room's read position when it was opened with unread messages: the
    /// "New messages" line goes after it. Kept while the room stays open.
    unread_marker: Option<(RoomId, Seq)>,
    visible: bool,
    /// Welcomed on the current connection.
    online: bool,
    timelines: HashMap<RoomId, Timeline>,
    /// Rooms' saved sync states, read once at start.
    stored_states: HashMap<RoomId, RoomState>,
    queue: SendQueue,
    /// The newest seq reported delivered per room.
    delivered: HashMap<RoomId, Seq>,
    request: Option<PendingRequest>,
    outcome: Option<RequestOutcome>,
    members: HashMap<RoomId, Vec<Member>>,
    presence: HashMap<String, Presence>,
    /// Who is typing where, with when to stop showing it.
    typing: HashMap<RoomId, Vec<(String, i64)>>,
    /// The newest message of someone else that arrived live in the open room, as a screen
    /// reader should hear it ("ann: hello").
    announcement: String,
    /// When to re-sync rooms whose catch-up page was refused.
    resync_at: Option<i64>,
    out: Vec<Output>,
}

impl ChatClient {
    pub fn new(me: impl Into<String>) -> Self {
        Self {
            me: me.into(),
            rooms: RoomList::default(),
            current: None,
            preferred: None,
            unread_marker: None,
            visible: true,
            online: false,
            timelines: HashMap::new(),
            stored_states: HashMap::new(),
            queue: SendQueue::default(),
            delivered: HashMap::new(),
            request: None,
            outcome: None,
            members: HashMap::new(),
            presence: HashMap::new(),
            typing: HashMap::new(),
            announcement: String::new(),
            resync_at: None,
            out: Vec::new(),
        }
    }

    // ---- what the views read ----

    pub fn me(&self) -> &str {
        &self.me
    }
    pub fn rooms(&self) -> &RoomList {
        &self.rooms
    }
    pub fn current(&self) -> Option<&RoomId> {
        self.current.as_ref()
    }
    /// Where the "New messages" line goes in `room`: after this seq (messages of others past
    /// it were unread when the room was opened). `None` when nothing was unread.
    pub fn unread_marker(&self, room: &RoomId) -> Option<Seq> {
        self.unread_marker
            .as_ref()
            .filter(|(r, _)| r == room)
            .map(|(_, seq)| *seq)
    }
    pub fn is_online(&self) -> bool {
        self.online
    }
    pub fn timeline(&self, room: &RoomId) -> Option<&Timeline> {
        self.timelines.get(room)
    }
    pub fn timelines(&self) -> impl Iterator<Item = (&RoomId, &Timeline)> {
        self.timelines.iter()
    }
    pub fn members(&self) -> &HashMap<RoomId, Vec<Member>> {
        &self.members
    }
    pub fn presence(&self) -> &HashMap<String, Presence> {
        &self.presence
    }
    pub fn typing(&self) -> &HashMap<RoomId, Vec<(String, i64)>> {
        &self.typing
    }
    /// What to read out about the open room (see [`View::Announcement`]).
    pub fn announcement(&self) -> &str {
        &self.announcement
    }
    pub fn request(&self) -> Option<&RequestOutcome> {
        self.outcome.as_ref()
    }
    pub fn queue(&self) -> &SendQueue {
        &self.queue
    }
    /// Messages typed here and not stored by the server yet (failed ones included).
    pub fn unsent_count(&self) -> usize {
        self.queue.len()
    }

    // ---- start ----

    /// Shows `room` first when the user is a member (from the address, or the room shown
    /// last); otherwise the lobby. Given before [`Self::restore`].
    pub fn prefer_room(&mut self, room: RoomId) {
        self.preferred = Some(room);
    }

    /// Starts from what storage kept: the room list, each room's sync state and the outbox.
    /// Returns the room to show first; the driver loads its stored messages
    /// ([`Self::stored_loaded`]) before connecting, so it shows at once.
    pub fn restore(
        &mut self,
        rooms: Vec<RoomSummary>,
        states: HashMap<RoomId, RoomState>,
        outbox: Vec<OutboxItem>,
    ) -> (Option<RoomId>, Vec<Output>) {
        if self.rooms.all().is_empty() && !rooms.is_empty() {
            self.rooms.replace(rooms);
            self.out.push(Output::Changed(View::Rooms));
        }
        self.stored_states = states;
        let first = self.default_room();
        if let Some(room) = &first {
            self.ensure_timeline(room);
            self.set_current(room.clone());
        }
        for item in self.queue.restore(outbox) {
            self.ensure_timeline(&item.room);
            if let Some(t) = self.timelines.get_mut(&item.room)
                && !t.has_unsent(&item.client_id, &self.me)
            {
                t.add_pending(
                    item.client_id,
                    &self.me,
                    item.body,
                    item.reply_to,
                    item.created_at_ms,
                );
                self.out.push(Output::Changed(View::Timeline(item.room)));
            }
        }
        (first, self.take())
    }

    /// Stored messages read for an [`Output::LoadStored`]. When storage has nothing older
    /// than `before`, the server is asked.
    pub fn stored_loaded(
        &mut self,
        room: &RoomId,
        before: Option<Seq>,
        entries: Vec<crate::timeline::Entry>,
        more: bool,
    ) -> Vec<Output> {
        let none = entries.is_empty();
        if let Some(t) = self.timelines.get_mut(room) {
            t.restore(entries, None, more);
            self.out.push(Output::Changed(View::Timeline(room.clone())));
            if none && before.is_some() {
                self.request_page(room, Fetch::Newest, before);
            }
        }
        self.take()
    }

    // ---- the connection ----

    /// The connection went away (or is being replaced).
    pub fn disconnected(&mut self) -> Vec<Output> {
        self.online = false;
        self.queue.disconnected();
        self.take()
    }

    /// A frame from the server. `now_ms` is the time in ms since the epoch.
    pub fn on_server(&mut self, message: ServerMessage, now_ms: i64) -> Vec<Output> {
        match message {
            ServerMessage::Welcome {
                username, rooms, ..
            } => {
                if username != self.me {
                    self.out.push(Output::SessionEnded);
                } else {
                    self.on_welcome(rooms);
                }
            }
            ServerMessage::Event { event } => self.on_event(event, now_ms),
            ServerMessage::Ack { client_id, event } => self.on_ack(client_id, event),
            ServerMessage::History {
                room,
                before,
                events,
                complete,
                last_seq,
                floor,
            } => {
                if let Some(t) = self.timelines.get_mut(&room) {
                    t.apply_floor(floor);
                    let next = t.apply_history(before, events, complete, last_seq);
                    self.persist(&room);
                    if let Some(next) = next {
                        self.request_page(&room, next, None);
                    }
                }
            }
            ServerMessage::CaughtUp {
                room,
                events,
                up_to_date,
                floor,
                ..
            } => {
                if let Some(t) = self.timelines.get_mut(&room) {
                    t.apply_floor(floor);
                    let next = t.apply_catch_up(events, up_to_date);
                    self.persist(&room);
                    if let Some(next) = next {
                        self.request_page(&room, next, None);
                    }
                }
            }
            ServerMessage::Rooms { rooms } => {
                self.rooms.replace(rooms);
                self.rooms_changed();
            }
            ServerMessage::RoomUpdated { room } => {
                self.rooms.upsert(room);
                self.rooms_changed();
            }
            ServerMessage::RoomRemoved { room } => {
                self.rooms.remove(&room);
                // What follows our departure is not ours to see; if we come back, syncing
                // resumes from the stored cursor.
                if self.timelines.remove(&room).is_some() {
                    self.out.push(Output::Changed(View::Timeline(room.clone())));
                }
                self.rooms_changed();
                if self.current.as_ref() == Some(&room) {
                    let shown = self.open(RoomId::lobby());
                    self.out.extend(shown);
                }
            }
            ServerMessage::Members { room, members } => {
                for m in &members {
                    self.presence.insert(m.username.clone(), m.presence);
                }
                self.members.insert(room, members);
                self.out.push(Output::Changed(View::Presence));
                self.out.push(Output::Changed(View::Members));
            }
            ServerMessage::Receipt {
                room,
                user,
                delivered_seq,
                read_seq,
            } => {
                if let Some(member) = self
                    .members
                    .get_mut(&room)
                    .and_then(|m| m.iter_mut().find(|m| m.username == user))
                {
                    member.delivered_seq = delivered_seq;
                    member.read_seq = read_seq;
                    self.out.push(Output::Changed(View::Members));
                }
            }
            ServerMessage::Typing { room, user } => {
                if user != self.me {
                    let until = now_ms + TYPING_SHOWN_MS as i64;
                    let list = self.typing.entry(room).or_default();
                    list.retain(|(who, _)| who != &user);
                    list.push((user, until));
                    self.out.push(Output::Changed(View::Typing));
                    self.out.push(Output::WakeAt(until));
                }
            }
            ServerMessage::Presence { user, status, .. } => {
                self.presence.insert(user, status);
                self.out.push(Output::Changed(View::Presence));
            }
            ServerMessage::Error {
                code,
                message,
                client_id,
            } => self.on_error(code, message, client_id, now_ms),
            ServerMessage::CallState { .. }
            | ServerMessage::Signal { .. }
            | ServerMessage::IceServers { .. }
            | ServerMessage::Blocked { .. }
            | ServerMessage::Invite { .. }
            | ServerMessage::InvitesRevoked { .. }
            | ServerMessage::Pong { .. } => {}
        }
        self.take()
    }

    /// Timers: resends whose time has come, typing notices that expired, refused catch-ups.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Output> {
        for frame in self.queue.due(now_ms) {
            self.out.push(Output::Send(frame));
        }
        let before: usize = self.typing.values().map(Vec::len).sum();
        for list in self.typing.values_mut() {
            list.retain(|(_, until)| *until > now_ms);
        }
        self.typing.retain(|_, list| !list.is_empty());
        if self.typing.values().map(Vec::len).sum::<usize>() != before {
            self.out.push(Output::Changed(View::Typing));
        }
        if self.resync_at.is_some_and(|at| at <= now_ms) {
            self.resync_at = None;
            if self.online {
                let rooms: Vec<RoomId> = self
                    .timelines
                    .iter()
                    .filter(|(_, t)| t.is_catching_up())
                    .map(|(r, _)| r.clone())
                    .collect();
                for room in rooms {
                    self.resync_room(&room);
                }
            }
        }
        if let Some(at) = self.queue.next_due() {
            self.out.push(Output::WakeAt(at));
        }
        self.take()
    }

    // ---- the user's actions ----

    /// Shows `room`: loads its history the first time (stored copy first, then what is new on
    /// the server) and marks it read.
    pub fn open(&mut self, room: RoomId) -> Vec<Output> {
        self.ensure_timeline(&room);
        if self.current.as_ref() != Some(&room) {
            self.set_current(room.clone());
        }
        self.send(ClientMessage::ListMembers { room: room.clone() });
        self.mark_read(&room);
        self.take()
    }

    /// Whether the user can see the app (a hidden tab reads nothing).
    pub fn set_visible(&mut self, visible: bool) -> Vec<Output> {
        self.visible = visible;
        let status = if visible {
            Presence::Online
        } else {
            Presence::Away
        };
        self.send(ClientMessage::SetPresence { status });
        if visible && let Some(room) = self.current.clone() {
            self.mark_read(&room);
        }
        self.take()
    }

    /// Marks the open room read (if the user can see it).
    pub fn read_current(&mut self) -> Vec<Output> {
        if let Some(room) = self.current.clone() {
            self.mark_read(&room);
        }
        self.take()
    }

    /// A message the user typed: shown as pending, kept in the outbox, sent when connected.
    pub fn send_message(
        &mut self,
        room: RoomId,
        client_id: ClientMsgId,
        body: String,
        reply_to: Option<Seq>,
        now_ms: i64,
    ) -> Vec<Output> {
        self.ensure_timeline(&room);
        if let Some(t) = self.timelines.get_mut(&room) {
            t.add_pending(client_id.clone(), &self.me, body.clone(), reply_to, now_ms);
            self.out.push(Output::Changed(View::Timeline(room.clone())));
        }
        let item = OutboxItem {
            room,
            client_id,
            body,
            reply_to,
            created_at_ms: now_ms,
        };
        self.out.push(Output::OutboxPut(item.clone()));
        if let Some(frame) = self.queue.add(item) {
            self.out.push(Output::Send(frame));
        }
        self.take()
    }

    /// Puts a failed message back in the queue.
    pub fn retry(&mut self, room: &RoomId, client_id: &ClientMsgId) -> Vec<Output> {
        if matches!(self.queue.stage(client_id), Some(Stage::Failed(_))) {
            if let Some(t) = self.timelines.get_mut(room) {
                t.retry(client_id, &self.me);
                self.out.push(Output::Changed(View::Timeline(room.clone())));
            }
            if let Some(frame) = self.queue.retry(client_id) {
                self.out.push(Output::Send(frame));
            }
        }
        self.take()
    }

    /// Older messages: from local storage while it has them, then from the server.
    pub fn load_older(&mut self, room: &RoomId) -> Vec<Output> {
        if let Some(t) = self.timelines.get(room) {
            let before = t.oldest_id();
            if t.more_stored {
                self.out.push(Output::LoadStored {
                    room: room.clone(),
                    before,
                    limit: PAGE as usize,
                });
            } else {
                self.request_page(room, Fetch::Newest, before);
            }
        }
        self.take()
    }

    /// Replaces the text of one of my messages (sent now; not kept while offline).
    pub fn edit(
        &mut self,
        room: RoomId,
        client_id: ClientMsgId,
        target: Seq,
        body: String,
    ) -> Vec<Output> {
        self.send(ClientMessage::Edit {
            room,
            client_id,
            target,
            body,
        });
        self.take()
    }

    pub fn delete(&mut self, room: RoomId, client_id: ClientMsgId, target: Seq) -> Vec<Output> {
        self.send(ClientMessage::Delete {
            room,
            client_id,
            target,
        });
        self.take()
    }

    /// Puts or takes back a reaction.
    pub fn react(
        &mut self,
        room: RoomId,
        client_id: ClientMsgId,
        target: Seq,
        emoji: String,
        add: bool,
    ) -> Vec<Output> {
        self.send(ClientMessage::React {
            room,
            client_id,
            target,
            emoji,
            add,
        });
        self.take()
    }

    /// A room request (create, add, open a DM, join by invite) whose answer reaches the panel
    /// that asked; `open_result` opens the room it leads to.
    pub fn room_request(
        &mut self,
        client_id: ClientMsgId,
        open_result: bool,
        frame: ClientMessage,
    ) -> Vec<Output> {
        self.request = Some(PendingRequest {
            client_id,
            open_result,
        });
        self.outcome = Some(RequestOutcome::Waiting);
        self.out.push(Output::Changed(View::Request));
        self.send(frame);
        self.take()
    }

    /// Forgets the outcome of the last room request (its panel closed).
    pub fn clear_request(&mut self) -> Vec<Output> {
        self.request = None;
        self.outcome = None;
        self.out.push(Output::Changed(View::Request));
        self.take()
    }

    /// Tells the room the user is typing (the server throttles repeats).
    pub fn typing_in(&mut self, room: RoomId) -> Vec<Output> {
        self.send(ClientMessage::Typing { room });
        self.take()
    }

    // ---- inside ----

    fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    fn send(&mut self, frame: ClientMessage) {
        if self.online {
            self.out.push(Output::Send(frame));
        }
    }

    fn default_room(&self) -> Option<RoomId> {
        self.preferred
            .as_ref()
            .and_then(|r| self.rooms.get(r))
            .or_else(|| self.rooms.get(&RoomId::lobby()))
            .or_else(|| self.rooms.all().first())
            .map(|r| r.id.clone())
    }

    fn set_current(&mut self, room: RoomId) {
        self.ensure_timeline(&room);
        if self.unread_marker.as_ref().is_some_and(|(r, _)| r != &room) {
            self.unread_marker = None;
        }
        self.current = Some(room);
        self.out.push(Output::Changed(View::Current));
    }

    fn rooms_changed(&mut self) {
        self.out.push(Output::Changed(View::Rooms));
        self.out
            .push(Output::SaveRoomList(self.rooms.all().to_vec()));
    }

    /// The timeline of `room`, created on first use. A room synced before starts from its
    /// stored cursor at once (its stored messages follow), so no path can sync it from
    /// scratch over a stored history and leave a gap.
    fn ensure_timeline(&mut self, room: &RoomId) {
        if self.timelines.contains_key(room) {
            return;
        }
        let mut timeline = Timeline::default();
        if let Some(state) = self.stored_states.get(room).filter(|s| s.cursor.is_some()) {
            timeline.restore(Vec::new(), Some(state.clone()), true);
            self.out.push(Output::LoadStored {
                room: room.clone(),
                before: None,
                limit: RESTORE,
            });
        }
        self.timelines.insert(room.clone(), timeline);
        // Whatever created it (opening the room, sending to it), a list made while connected
        // syncs at once; one made offline syncs on the next Welcome.
        if self.online {
            self.resync_room(room);
        }
    }

    fn on_welcome(&mut self, rooms: Vec<RoomSummary>) {
        let direct: Vec<RoomId> = rooms
            .iter()
            .filter(|r| r.kind == RoomKind::Direct)
            .map(|r| r.id.clone())
            .collect();
        self.rooms.replace(rooms);
        self.rooms_changed();
        // Open the lobby (or the first room) the first time; keep the choice afterwards.
        let current = self
            .current
            .clone()
            .filter(|c| self.rooms.get(c).is_some())
            .or_else(|| self.default_room());
        if let Some(room) = &current {
            self.ensure_timeline(room);
        }
        // From here on frames go out; every list re-syncs once.
        self.online = true;
        let opened: Vec<RoomId> = self.timelines.keys().cloned().collect();
        for room in &opened {
            self.resync_room(room);
        }
        if let Some(room) = current {
            if self.current.as_ref() != Some(&room) {
                self.set_current(room.clone());
            }
            self.send(ClientMessage::ListMembers { room: room.clone() });
            self.mark_read(&room);
        }
        // Presence dots for direct conversations come with their member lists.
        for room in direct {
            self.send(ClientMessage::ListMembers { room });
        }
        for frame in self.queue.connected() {
            self.out.push(Output::Send(frame));
        }
    }

    fn on_event(&mut self, event: Event, now_ms: i64) {
        let viewing = self.current.as_ref() == Some(&event.room) && self.visible;
        if matches!(event.kind, EventKind::Message { .. })
            && let Some(list) = self.typing.get_mut(&event.room)
        {
            let before = list.len();
            list.retain(|(who, _)| who != &event.sender);
            if list.len() != before {
                self.out.push(Output::Changed(View::Typing));
            }
        }
        if is_membership_change(&event.kind) && self.members.contains_key(&event.room) {
            self.send(ClientMessage::ListMembers {
                room: event.room.clone(),
            });
        }
        self.rooms
            .apply(&event, &self.me, self.current.as_ref() == Some(&event.room));
        self.out.push(Output::Changed(View::Rooms));
        if !viewing && let Some(n) = self.notification(&event, now_ms) {
            self.out.push(Output::Notify(n));
        }
        if let EventKind::Message { body, .. } = &event.kind
            && event.sender != self.me
            && self.current.as_ref() == Some(&event.room)
        {
            let text: String = crate::format::plain_text(body).chars().take(140).collect();
            self.announcement = format!("{}: {text}", event.sender);
            self.out.push(Output::Changed(View::Announcement));
        }
        let room = event.room.clone();
        if let Some(t) = self.timelines.get_mut(&room) {
            let gap = t.apply_live(event);
            if let Some(fetch) = gap {
                self.request_page(&room, fetch, None);
            }
            self.persist(&room);
        } else if event.target().is_some() {
            self.out.push(Output::ApplyToStored(event));
        }
        self.out
            .push(Output::SaveRoomList(self.rooms.all().to_vec()));
        if self.current.as_ref() == Some(&room) {
            self.mark_read(&room);
        }
    }

    fn on_ack(&mut self, client_id: ClientMsgId, event: Event) {
        self.queue.acked(&client_id);
        self.request_done(&client_id, &event.room);
        if matches!(
            event.kind,
            EventKind::Added { .. } | EventKind::RoleChanged { .. } | EventKind::Muted { .. }
        ) && self.members.contains_key(&event.room)
        {
            self.send(ClientMessage::ListMembers {
                room: event.room.clone(),
            });
        }
        self.rooms.apply(&event, &self.me, true);
        self.out.push(Output::Changed(View::Rooms));
        let room = event.room.clone();
        if let Some(t) = self.timelines.get_mut(&room) {
            t.apply_ack(event);
            self.persist(&room);
        } else if event.target().is_some() {
            self.out.push(Output::ApplyToStored(event));
        }
    }

    /// Completes the room request `client_id` if it is the one being waited on.
    fn request_done(&mut self, client_id: &ClientMsgId, room: &RoomId) {
        let Some(pending) = self.request.take_if(|p| &p.client_id == client_id) else {
            return;
        };
        self.outcome = Some(RequestOutcome::Done);
        self.out.push(Output::Changed(View::Request));
        if pending.open_result {
            let more = self.open(room.clone());
            self.out.extend(more);
        }
    }

    fn on_error(
        &mut self,
        code: ErrorCode,
        message: String,
        client_id: Option<ClientMsgId>,
        now_ms: i64,
    ) {
        if let Some(id) = &client_id
            && self.request.take_if(|p| &p.client_id == id).is_some()
        {
            self.outcome = Some(RequestOutcome::Refused(message));
            self.out.push(Output::Changed(View::Request));
            return;
        }
        let retryable = matches!(code, ErrorCode::RateLimited | ErrorCode::Internal);
        match client_id {
            Some(client_id) => match self.queue.refused(&client_id, code, message, now_ms) {
                Some(Refused::WillRetry { at_ms, .. }) => self.out.push(Output::WakeAt(at_ms)),
                Some(Refused::Failed { room, reason }) => {
                    if let Some(t) = self.timelines.get_mut(&room) {
                        t.mark_failed(&client_id, &self.me, reason);
                        self.out.push(Output::Changed(View::Timeline(room)));
                    }
                }
                None => {}
            },
            // Possibly a history or catch-up page: redo unfinished re-syncs.
            None if retryable => {
                let at = now_ms + RETRY_DELAY_MS;
                self.resync_at = Some(at);
                self.out.push(Output::WakeAt(at));
            }
            None => {}
        }
    }

    fn resync_room(&mut self, room: &RoomId) {
        if let Some(t) = self.timelines.get_mut(room) {
            let fetch = t.resync();
            self.request_page(room, fetch, None);
        }
    }

    /// Sends the request for `fetch`; `before` turns `Newest` into an older page.
    fn request_page(&mut self, room: &RoomId, fetch: Fetch, before: Option<Seq>) {
        let room = room.clone();
        self.send(match fetch {
            Fetch::Newest => ClientMessage::History {
                room,
                before,
                limit: PAGE,
            },
            Fetch::After(after) => ClientMessage::CatchUp {
                room,
                after,
                limit: PAGE,
            },
        });
    }

    /// Tells the server (and the list) that the open room is read, if the user can see it.
    fn mark_read(&mut self, room: &RoomId) {
        if !self.visible || self.current.as_ref() != Some(room) {
            return;
        }
        // The first unread messages seen in this room get the "New messages" line.
        if self.unread_marker.is_none()
            && let Some(summary) = self.rooms.get(room).filter(|s| s.unread > 0)
        {
            self.unread_marker = Some((room.clone(), summary.read_seq));
            self.out.push(Output::Changed(View::Current));
        }
        if let Some(seq) = self.rooms.mark_read(room) {
            self.out.push(Output::Changed(View::Rooms));
            self.send(ClientMessage::MarkRead {
                room: room.clone(),
                seq,
            });
        }
    }

    /// Queues the storage write for what changed in `room`, and reports how far this device
    /// has received when that moved.
    fn persist(&mut self, room: &RoomId) {
        self.out.push(Output::Changed(View::Timeline(room.clone())));
        let Some(t) = self.timelines.get_mut(room) else {
            return;
        };
        let cursor = t.state().cursor;
        if let Some(changes) = t.take_changes() {
            self.out.push(Output::SaveRoom {
                room: room.clone(),
                changes,
            });
        }
        if let Some(cursor) = cursor {
            let known = self.delivered.entry(room.clone()).or_default();
            if cursor > *known {
                *known = cursor;
                self.send(ClientMessage::MarkDelivered {
                    room: room.clone(),
                    seq: cursor,
                });
            }
        }
    }

    /// The notification for a new message or a ringing call from someone else.
    fn notification(&self, event: &Event, now_ms: i64) -> Option<Notification> {
        if event.sender == self.me {
            return None;
        }
        let room = self.rooms.get(&event.room)?;
        if room.notify == NotifyLevel::None {
            return None;
        }
        let (title, body) = match &event.kind {
            EventKind::CallStarted { video, .. } if now_ms - event.at_ms < RINGING_MS => {
                let what = if *video { "Video call" } else { "Voice call" };
                let place = match room.kind {
                    RoomKind::Direct => String::new(),
                    RoomKind::Group => format!(" in #{}", room.name),
                };
                (
                    format!("{} is calling", event.sender),
                    format!("{what}{place}"),
                )
            }
            EventKind::Message { body, mentions, .. } => {
                let mentioned = mentions.iter().any(|m| m.eq_ignore_ascii_case(&self.me));
                if room.notify == NotifyLevel::Mentions && !mentioned {
                    return None;
                }
                let title = match (room.kind, mentioned) {
                    (RoomKind::Direct, _) => event.sender.clone(),
                    (RoomKind::Group, true) => {
                        format!("{} mentioned you in #{}", event.sender, room.name)
                    }
                    (RoomKind::Group, false) => format!("{} in #{}", event.sender, room.name),
                };
                (title, body.chars().take(140).collect())
            }
            _ => return None,
        };
        Some(Notification {
            title,
            body,
            room: event.room.clone(),
        })
    }
}

/// Events after which a member list on screen is asked for again.
fn is_membership_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Joined
            | EventKind::Added { .. }
            | EventKind::Left
            | EventKind::Removed { .. }
            | EventKind::Banned { .. }
            | EventKind::RoleChanged { .. }
            | EventKind::Muted { .. }
    )
}
