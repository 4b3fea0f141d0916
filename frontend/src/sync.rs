//! Keeps the client's picture of the server up to date over one [`Connection`]: the room list,
//! one [`Timeline`] per opened room, and the live state around them (typing, presence,
//! receipts).
//!
//! Sending never waits for the network: a typed message enters its room's timeline as pending
//! and is sent now if the socket is open, else after the next Welcome. Every Welcome re-syncs
//! each opened room from its cursor (see the timeline's module doc) and resends every pending
//! message; the server's idempotency on client ids makes resends harmless. Refusals worth
//! retrying (rate limit, server trouble) keep the message pending and resend it after
//! [`RETRY_DELAY`]; other refusals mark it failed.
//!
//! [`ChatSync`] is `Copy` (signals and arena handles only), so view closures capture it freely.
//! Every method tolerates the view having been disposed (its signals gone): socket callbacks and
//! timers can outlive it by a moment.

use crate::api;
use crate::connection::{ConnState, Connection, Event};
use crate::db::{Db, OutboxItem, RoomState};
use crate::ids::new_client_id;
use crate::rooms::RoomList;
use crate::timeline::{Fetch, Timeline};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::events::EventKind;
use shared::rooms::{Member, Presence, RoomKind};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage, TYPING_SHOWN_MS};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

/// Messages loaded from local storage when a room opens: a few screens' worth. Every row
/// rendered at open delays the first paint; older ones load as the reader scrolls up.
pub const RESTORE: usize = 50;
/// The key under which the last signed-in username is remembered, so the app can open offline.
pub const LAST_USER_KEY: &str = "chat.lastUser";

/// Events fetched per history or catch-up page.
pub const PAGE: u32 = 50;
/// Wait before resending a message or page the server asked us to retry; doubles per attempt
/// up to 8 times this.
pub const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Automatic resends of one message before it is shown as failed with a Retry button.
pub const MAX_AUTO_RETRIES: u32 = 8;
const SESSION_ENDED: &str = "Your session ended. Log in again.";

/// A room request (create, add, open a DM, join) the user is waiting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub client_id: ClientMsgId,
    /// Open the resulting room when it is acknowledged.
    pub open_result: bool,
}

/// The outcome of the last room request, for the panel that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    Waiting,
    Done,
    Refused(String),
}

#[derive(Clone, Copy)]
pub struct ChatSync {
    pub rooms: RwSignal<RoomList>,
    /// The room on screen.
    pub current: RwSignal<Option<RoomId>>,
    pub state: RwSignal<ConnState>,
    /// Who is typing where, with when to stop showing it (ms since the epoch).
    pub typing: RwSignal<HashMap<RoomId, Vec<(String, f64)>>>,
    pub presence: RwSignal<HashMap<String, Presence>>,
    /// The member list of rooms that asked for it (receipts are kept current in it).
    pub members: RwSignal<HashMap<RoomId, Vec<Member>>>,
    /// The newest invite link made here.
    pub invite: RwSignal<Option<(RoomId, String)>>,
    pub request: RwSignal<Option<RequestOutcome>>,
    pending_request: StoredValue<Option<PendingRequest>>,
    timelines: StoredValue<HashMap<RoomId, RwSignal<Timeline>>>,
    /// The local copy; `None` until opened or if the browser refuses IndexedDB.
    db: StoredValue<Option<Rc<Db>>, LocalStorage>,
    /// The newest seq reported delivered per room.
    delivered: StoredValue<HashMap<RoomId, Seq>>,
    /// Rooms' saved sync states, read once at start.
    stored_states: StoredValue<HashMap<RoomId, RoomState>>,
    owner: StoredValue<Owner, LocalStorage>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    me: StoredValue<String>,
    on_logged_out: Callback<Option<String>>,
    /// Calls and file transfers.
    pub rtc: crate::rtc::Rtc,
}

impl ChatSync {
    /// Creates the state and opens the connection.
    pub fn start(username: String, on_logged_out: Callback<Option<String>>) -> Self {
        let sync = Self {
            rooms: RwSignal::new(RoomList::default()),
            current: RwSignal::new(None),
            state: RwSignal::new(ConnState::Connecting),
            typing: RwSignal::new(HashMap::new()),
            presence: RwSignal::new(HashMap::new()),
            members: RwSignal::new(HashMap::new()),
            invite: RwSignal::new(None),
            request: RwSignal::new(None),
            pending_request: StoredValue::new(None),
            timelines: StoredValue::new(HashMap::new()),
            db: StoredValue::new_local(None),
            stored_states: StoredValue::new(HashMap::new()),
            delivered: StoredValue::new(HashMap::new()),
            owner: StoredValue::new_local(Owner::current().unwrap_or_default()),
            connection: StoredValue::new_local(None),
            me: StoredValue::new(username.clone()),
            on_logged_out,
            rtc: crate::rtc::Rtc::new(username.clone()),
        };
        sync.rtc.set_sender(move |message| sync.send_frame(message));
        remember_user(Some(&username));
        // Show the stored state first, then connect: the connection's sync starts from the
        // stored cursors, which is what keeps the list free of gaps and duplicates.
        spawn_local(async move {
            sync.restore(&username).await;
            if sync.me().is_some() {
                let connection = Connection::start(move |event| sync.on_event(event));
                sync.connection.set_value(Some(connection));
            }
        });
        sync
    }

    /// Loads the room list, the outbox and the first room from local storage.
    async fn restore(self, username: &str) {
        let db = match Db::open(username).await {
            Ok(db) => Rc::new(db),
            Err(e) => {
                leptos::logging::warn!("no local storage, history will not be kept: {}", e.0);
                return;
            }
        };
        self.db.set_value(Some(db.clone()));
        if let Ok(rooms) = db.room_list().await
            && !rooms.is_empty()
        {
            self.rooms.try_update(|r| {
                if r.all().is_empty() {
                    r.replace(rooms);
                }
            });
        }
        if let Ok(states) = db.room_states().await {
            self.stored_states.set_value(states);
        }
        let first = self.rooms.with_untracked(|r| {
            r.get(&RoomId::lobby())
                .or_else(|| r.all().first())
                .map(|r| r.id.clone())
        });
        if let Some(room) = first {
            // Shown before connecting: wait for the stored messages of the first room.
            let seeded = self.existing_timeline(&room).is_some();
            self.timeline(&room);
            if !seeded {
                self.load_stored(&room).await;
            }
            self.current.set(Some(room));
        }
        let outbox = db.outbox().await.unwrap_or_default();
        let Some(me) = self.me() else { return };
        for item in outbox {
            if let Some(timeline) = self.timeline(&item.room) {
                timeline.update(|t| {
                    if !t.has_unsent(&item.client_id, &me) {
                        t.add_pending(
                            item.client_id,
                            &me,
                            item.body,
                            item.reply_to,
                            item.created_at_ms,
                        );
                    }
                });
            }
        }
    }

    /// Fills a room's empty timeline from local storage, with its saved cursor.
    async fn load_stored(self, room: &RoomId) {
        let (Some(db), Some(timeline)) = (self.db.get_value(), self.existing_timeline(room)) else {
            return;
        };
        let Ok(stored) = db.messages(room, None, RESTORE).await else {
            return;
        };
        let more = stored.len() == RESTORE;
        timeline.update(|t| t.restore(stored, None, more));
    }

    /// Tells the room how far this device has received, when that moved.
    fn report_delivered(self, room: &RoomId) {
        let Some(cursor) = self
            .existing_timeline(room)
            .and_then(|t| t.try_with_untracked(|t| t.state().cursor))
            .flatten()
        else {
            return;
        };
        let moved = self
            .delivered
            .try_update_value(|d| {
                let known = d.entry(room.clone()).or_default();
                let moved = cursor > *known;
                *known = (*known).max(cursor);
                moved
            })
            .unwrap_or(false);
        if moved {
            self.send_frame(&ClientMessage::MarkDelivered {
                room: room.clone(),
                seq: cursor,
            });
        }
    }

    /// Writes what changed in `room` to local storage, in order.
    fn persist(self, room: &RoomId) {
        self.report_delivered(room);
        let (Some(db), Some(timeline)) = (self.db.get_value(), self.existing_timeline(room)) else {
            return;
        };
        let Some(Some(changes)) = timeline.try_update(Timeline::take_changes) else {
            return;
        };
        let room = room.clone();
        spawn_local(async move {
            let saved = db
                .save_room(
                    &room,
                    &changes.entries,
                    &changes.unloaded_operations,
                    &changes.acked,
                    &changes.state,
                )
                .await;
            if let Err(e) = saved {
                leptos::logging::warn!("could not store messages: {}", e.0);
            }
        });
    }

    fn persist_room_list(self) {
        let Some(db) = self.db.get_value() else {
            return;
        };
        let rooms = self.rooms.with_untracked(|r| r.all().to_vec());
        spawn_local(async move {
            let _ = db.save_room_list(&rooms).await;
        });
    }

    /// Closes the connection for good.
    pub fn stop(self) {
        self.rtc.shutdown();
        if let Some(c) = self.connection() {
            c.stop();
        }
    }

    fn connection(self) -> Option<Connection> {
        self.connection.try_get_value().flatten()
    }

    pub fn me(self) -> Option<String> {
        self.me.try_get_value()
    }

    fn send_frame(self, message: &ClientMessage) {
        if let Some(c) = self.connection() {
            c.send(message);
        }
    }

    /// The timeline of `room`, created (empty, to be synced) on first use.
    pub fn timeline(self, room: &RoomId) -> Option<RwSignal<Timeline>> {
        if let Some(existing) = self
            .timelines
            .try_with_value(|t| t.get(room).copied())
            .flatten()
        {
            return Some(existing);
        }
        // Owned by the chat screen, not by whichever view or callback asked first. A room
        // synced before starts from its stored cursor at once (its stored messages follow), so
        // no path can sync it from scratch over a stored history and leave a gap.
        let owner = self.owner.try_get_value()?;
        let mut initial = Timeline::default();
        let stored = self
            .stored_states
            .with_value(|s| s.get(room).cloned())
            .filter(|s| s.cursor.is_some());
        if let Some(state) = stored {
            initial.restore(Vec::new(), Some(state), true);
            let room = room.clone();
            spawn_local(async move { self.load_stored(&room).await });
        }
        let created = owner.with(|| RwSignal::new(initial));
        self.timelines.try_update_value(|t| {
            t.insert(room.clone(), created);
        })?;
        Some(created)
    }

    fn existing_timeline(self, room: &RoomId) -> Option<RwSignal<Timeline>> {
        self.timelines
            .try_with_value(|t| t.get(room).copied())
            .flatten()
    }

    /// Shows `room`: loads its history the first time (stored copy first, then what is new on
    /// the server) and marks it read.
    pub fn open(self, room: RoomId) {
        let fresh = self.existing_timeline(&room).is_none();
        let Some(timeline) = self.timeline(&room) else {
            return;
        };
        // Setting the same room again would rebuild its pane and lose the draft.
        if self.current.get_untracked().as_ref() != Some(&room) {
            self.current.set(Some(room.clone()));
        }
        if fresh && self.state.get_untracked() == ConnState::Online {
            self.resync_room(&room, timeline);
        }
        self.send_frame(&ClientMessage::ListMembers { room: room.clone() });
        self.mark_read(&room);
    }

    /// Tells the server (and the list) that the open room is read, if the user can see it.
    pub fn mark_read(self, room: &RoomId) {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        if !visible || self.current.get_untracked().as_ref() != Some(room) {
            return;
        }
        if let Some(Some(seq)) = self.rooms.try_update(|r| r.mark_read(room)) {
            self.send_frame(&ClientMessage::MarkRead {
                room: room.clone(),
                seq,
            });
        }
    }

    /// Adds `body` as a pending message of `room` and sends it if the socket is open.
    pub fn send_new(self, room: RoomId, body: String, reply_to: Option<Seq>) {
        let Some(me) = self.me() else { return };
        let Some(timeline) = self.timeline(&room) else {
            return;
        };
        let client_id = new_client_id();
        let now = js_sys::Date::now() as i64;
        timeline.update(|t| t.add_pending(client_id.clone(), &me, body.clone(), reply_to, now));
        if let Some(db) = self.db.get_value() {
            let item = OutboxItem {
                room: room.clone(),
                client_id: client_id.clone(),
                body: body.clone(),
                reply_to,
                created_at_ms: now,
            };
            spawn_local(async move {
                if let Err(e) = db.outbox_put(&item).await {
                    leptos::logging::warn!("could not keep an unsent message: {}", e.0);
                }
            });
        }
        self.send(&room, client_id, body, reply_to);
    }

    /// Puts a failed message back in the queue and sends it.
    pub fn retry(self, room: RoomId, client_id: ClientMsgId) {
        let Some(me) = self.me() else { return };
        if let Some(timeline) = self.existing_timeline(&room) {
            timeline.update(|t| t.retry(&client_id, &me));
            self.resend_if_pending(&room, client_id);
        }
    }

    pub fn reconnect_now(self) {
        if let Some(c) = self.connection() {
            c.reconnect_now();
        }
    }

    /// Older messages: from local storage while it has them, then from the server.
    pub fn load_older(self, room: &RoomId) {
        let Some(timeline) = self.existing_timeline(room) else {
            return;
        };
        let before = timeline.with_untracked(Timeline::oldest_id);
        let db = self.db.get_value();
        if let Some(db) = db.filter(|_| timeline.with_untracked(|t| t.more_stored)) {
            let room = room.clone();
            spawn_local(async move {
                let stored = db
                    .messages(&room, before, PAGE as usize)
                    .await
                    .unwrap_or_default();
                let more = stored.len() == PAGE as usize;
                let none = stored.is_empty();
                timeline.update(|t| t.restore(stored, None, more));
                if none {
                    self.request_page(&room, Fetch::Newest, before);
                }
            });
        } else {
            self.request_page(room, Fetch::Newest, before);
        }
    }

    /// Stored messages containing `query`, newest first.
    pub async fn search(self, query: &str, limit: usize) -> Vec<(RoomId, crate::timeline::Entry)> {
        let Some(db) = self.db.get_value() else {
            return Vec::new();
        };
        db.search(query, limit).await.unwrap_or_default()
    }

    /// Sends a room request that carries a client id and remembers it so its answer reaches
    /// the panel that asked.
    fn room_request(self, open_result: bool, build: impl FnOnce(ClientMsgId) -> ClientMessage) {
        let client_id = new_client_id();
        self.pending_request.set_value(Some(PendingRequest {
            client_id: client_id.clone(),
            open_result,
        }));
        self.request.set(Some(RequestOutcome::Waiting));
        self.send_frame(&build(client_id));
    }

    /// Replaces the text of one of my messages (sent now; not kept while offline).
    pub fn edit(self, room: RoomId, target: Seq, body: String) {
        self.send_frame(&ClientMessage::Edit {
            room,
            client_id: new_client_id(),
            target,
            body,
        });
    }

    pub fn delete(self, room: RoomId, target: Seq) {
        self.send_frame(&ClientMessage::Delete {
            room,
            client_id: new_client_id(),
            target,
        });
    }

    /// Puts or takes back a reaction.
    pub fn react(self, room: RoomId, target: Seq, emoji: String, add: bool) {
        self.send_frame(&ClientMessage::React {
            room,
            client_id: new_client_id(),
            target,
            emoji,
            add,
        });
    }

    pub fn create_room(self, name: String) {
        self.room_request(true, |client_id| ClientMessage::CreateRoom {
            client_id,
            name,
            topic: String::new(),
        });
    }

    pub fn add_member(self, room: RoomId, user: String) {
        self.room_request(false, |client_id| ClientMessage::AddMember {
            room,
            client_id,
            user,
        });
    }

    pub fn open_direct(self, user: String) {
        self.room_request(true, |client_id| ClientMessage::OpenDirect {
            client_id,
            user,
        });
    }

    pub fn join_by_invite(self, token: String) {
        self.room_request(true, |client_id| ClientMessage::JoinByInvite {
            client_id,
            token,
        });
    }

    pub fn create_invite(self, room: RoomId) {
        self.invite.set(None);
        self.send_frame(&ClientMessage::CreateInvite { room });
    }

    /// Forgets the outcome of the last room request (its panel closed).
    pub fn clear_request(self) {
        self.pending_request.set_value(None);
        self.request.set(None);
    }

    /// Tells the room the user is typing (the server throttles repeats).
    pub fn typing(self, room: RoomId) {
        self.send_frame(&ClientMessage::Typing { room });
    }

    /// Reports whether this tab is in front of the user.
    pub fn set_visible(self, visible: bool) {
        let status = if visible {
            Presence::Online
        } else {
            Presence::Away
        };
        self.send_frame(&ClientMessage::SetPresence { status });
        if visible && let Some(room) = self.current.get_untracked() {
            self.mark_read(&room);
        }
    }

    pub fn log_out(self) {
        // Stop first: the server closes our socket before it answers, and that close must not
        // be taken for a session that ended on its own.
        self.stop();
        let lost = self.unsent_notice();
        let on_logged_out = self.on_logged_out;
        // Leaving on purpose removes this account's data from the device.
        let me = self.me();
        if let Some(db) = self.db.get_value() {
            db.close();
        }
        remember_user(None);
        spawn_local(async move {
            let logged_out = api::log_out().await;
            if let Some(me) = me {
                let _ = Db::delete(&me).await;
            }
            let unreachable = logged_out.err().map(|_| {
                "Could not reach the server, so your session may still be active there; \
                 log in and out again to end it."
                    .to_owned()
            });
            let notice: Vec<String> = unreachable.into_iter().chain(lost).collect();
            on_logged_out.run((!notice.is_empty()).then(|| notice.join(" ")));
        });
    }

    /// Leaves the chat because the session is gone, saying what happened to unsent messages.
    fn session_ended(self) {
        self.stop();
        let mut notice = SESSION_ENDED.to_owned();
        let waiting = self.unsent_count();
        if waiting > 0 {
            notice.push_str(&format!(
                " {waiting} unsent message{} will be sent when you log in again.",
                if waiting == 1 { "" } else { "s" }
            ));
        }
        self.on_logged_out.run(Some(notice));
    }

    fn all_timelines(self) -> Vec<(RoomId, RwSignal<Timeline>)> {
        self.timelines
            .try_with_value(|t| t.iter().map(|(r, s)| (r.clone(), *s)).collect())
            .unwrap_or_default()
    }

    fn unsent_count(self) -> usize {
        self.all_timelines()
            .iter()
            .map(|(_, t)| {
                t.try_with_untracked(|t| t.entries().iter().filter(|e| e.id.is_none()).count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Say how many unsent messages leaving the chat discards (log-out deletes the outbox).
    fn unsent_notice(self) -> Option<String> {
        match self.unsent_count() {
            0 => None,
            1 => Some("1 unsent message was discarded.".to_owned()),
            n => Some(format!("{n} unsent messages were discarded.")),
        }
    }

    fn send(self, room: &RoomId, client_id: ClientMsgId, body: String, reply_to: Option<Seq>) {
        self.send_frame(&ClientMessage::Send {
            room: room.clone(),
            client_id,
            body,
            reply_to,
        });
    }

    fn resend_if_pending(self, room: &RoomId, client_id: ClientMsgId) {
        let Some(me) = self.me() else { return };
        let Some(timeline) = self.existing_timeline(room) else {
            return;
        };
        let pending = timeline
            .try_with_untracked(|t| t.pending_message(&client_id, &me))
            .flatten();
        if let Some((body, reply_to)) = pending {
            self.send(room, client_id, body, reply_to);
        }
    }

    /// Sends the request for `fetch`; `before` turns `Newest` into an older page.
    fn request_page(self, room: &RoomId, fetch: Fetch, before: Option<Seq>) {
        let room = room.clone();
        self.send_frame(&match fetch {
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

    fn resync_room(self, room: &RoomId, timeline: RwSignal<Timeline>) {
        if let Some(fetch) = timeline.try_update(Timeline::resync) {
            self.request_page(room, fetch, None);
        }
    }

    fn on_event(self, event: Event) {
        match event {
            Event::State(ConnState::LoggedOut) => {
                self.state.set(ConnState::LoggedOut);
                self.session_ended();
            }
            Event::State(new_state) => {
                self.state.set(new_state);
                if matches!(new_state, ConnState::Offline { .. }) {
                    self.check_session_still_valid();
                }
            }
            Event::Server(message) => self.on_server_message(message),
        }
    }

    /// A refused upgrade (expired or revoked session) looks like any other failed connection
    /// to the WebSocket API, so ask the server directly: an answer without a session means log
    /// in again; no answer means we are offline and the reconnect loop goes on.
    fn check_session_still_valid(self) {
        spawn_local(async move {
            if let Ok(None) = api::current_session().await
                && self
                    .state
                    .try_get_untracked()
                    .is_some_and(|s| s != ConnState::Online)
            {
                self.session_ended();
            }
        });
    }

    fn on_welcome(self, rooms: Vec<shared::rooms::RoomSummary>) {
        self.rtc.on_welcome();
        let direct: Vec<RoomId> = rooms
            .iter()
            .filter(|r| r.kind == RoomKind::Direct)
            .map(|r| r.id.clone())
            .collect();
        self.rooms.update(|list| list.replace(rooms));
        self.persist_room_list();
        // Open the lobby (or the first room) the first time; keep the choice afterwards.
        let current = self
            .current
            .get_untracked()
            .filter(|c| self.rooms.with_untracked(|r| r.get(c).is_some()));
        let current = current.or_else(|| {
            self.rooms.with_untracked(|r| {
                r.get(&RoomId::lobby())
                    .or_else(|| r.all().first())
                    .map(|r| r.id.clone())
            })
        });
        if let Some(room) = &current {
            self.timeline(room);
        }
        for (room, timeline) in self.all_timelines() {
            self.resync_room(&room, timeline);
        }
        if let Some(room) = current {
            self.open(room);
        }
        // Presence dots for direct conversations come with their member lists.
        for room in direct {
            self.send_frame(&ClientMessage::ListMembers { room });
        }
        for (room, timeline) in self.all_timelines() {
            let pending: Vec<_> = timeline
                .try_with_untracked(|t| t.pending().map(|e| e.client_id.clone()).collect())
                .unwrap_or_default();
            for client_id in pending {
                self.resend_if_pending(&room, client_id);
            }
        }
    }

    fn on_server_message(self, message: ServerMessage) {
        match message {
            ServerMessage::Welcome {
                username,
                rooms,
                blocked,
            } => {
                // Another tab may have logged in as someone else meanwhile (same cookie jar):
                // never send this screen's messages under that name.
                if self.me().is_some_and(|me| me != username) {
                    self.session_ended();
                    return;
                }
                self.rtc.set_blocked(blocked);
                self.on_welcome(rooms);
            }
            ServerMessage::Event { event } => {
                let Some(me) = self.me() else { return };
                let viewing = self.current.get_untracked().as_ref() == Some(&event.room);
                if matches!(event.kind, EventKind::Message { .. }) {
                    self.stop_typing(&event.room, &event.sender);
                }
                // A member list on screen follows who comes and goes.
                let membership_changed = matches!(
                    event.kind,
                    EventKind::Joined
                        | EventKind::Added { .. }
                        | EventKind::Left
                        | EventKind::Removed { .. }
                        | EventKind::Banned { .. }
                        | EventKind::RoleChanged { .. }
                        | EventKind::Muted { .. }
                );
                if membership_changed
                    && self.members.with_untracked(|m| m.contains_key(&event.room))
                {
                    self.send_frame(&ClientMessage::ListMembers {
                        room: event.room.clone(),
                    });
                }
                self.rooms.update(|r| r.apply(&event, &me, viewing));
                self.notify(&event, &me);
                self.rtc.on_event(&event);
                let room = event.room.clone();
                if let Some(timeline) = self.existing_timeline(&room) {
                    let gap = timeline.try_update(|t| t.apply_live(event)).flatten();
                    if let Some(fetch) = gap {
                        self.request_page(&room, fetch, None);
                    }
                    self.persist(&room);
                } else if crate::db::is_operation(&event.kind)
                    && let Some(db) = self.db.get_value()
                {
                    spawn_local(async move {
                        let _ = db.apply_to_stored(&event).await;
                    });
                }
                self.persist_room_list();
                if viewing {
                    self.mark_read(&room);
                }
            }
            ServerMessage::Ack { client_id, event } => {
                self.on_request_done(&client_id, &event.room);
                if matches!(
                    event.kind,
                    EventKind::Added { .. }
                        | EventKind::RoleChanged { .. }
                        | EventKind::Muted { .. }
                ) && self.members.with_untracked(|m| m.contains_key(&event.room))
                {
                    self.send_frame(&ClientMessage::ListMembers {
                        room: event.room.clone(),
                    });
                }
                if let Some(me) = self.me() {
                    self.rooms.update(|r| r.apply(&event, &me, true));
                }
                let room = event.room.clone();
                if let Some(timeline) = self.existing_timeline(&room) {
                    timeline.update(|t| t.apply_ack(event));
                    self.persist(&room);
                }
            }
            ServerMessage::History {
                room,
                before,
                events,
                complete,
                last_seq,
            } => {
                if let Some(timeline) = self.existing_timeline(&room) {
                    timeline.update(|t| t.apply_history(before, events, complete, last_seq));
                    self.persist(&room);
                }
            }
            ServerMessage::CaughtUp {
                room,
                events,
                up_to_date,
                ..
            } => {
                let Some(timeline) = self.existing_timeline(&room) else {
                    return;
                };
                let next = timeline
                    .try_update(|t| t.apply_catch_up(events, up_to_date))
                    .flatten();
                self.persist(&room);
                if let Some(next) = next {
                    self.request_page(&room, next, None);
                }
            }
            ServerMessage::Rooms { rooms } => {
                self.rooms.update(|r| r.replace(rooms));
                self.persist_room_list();
            }
            ServerMessage::RoomUpdated { room } => {
                self.rooms.update(|r| r.upsert(room));
                self.persist_room_list();
            }
            ServerMessage::RoomRemoved { room } => {
                self.rooms.update(|r| r.remove(&room));
                // What follows our departure is not ours to see; if we come back, syncing
                // resumes from the stored cursor.
                self.timelines.update_value(|t| {
                    t.remove(&room);
                });
                self.persist_room_list();
                if self.current.get_untracked().as_ref() == Some(&room) {
                    self.current.set(Some(RoomId::lobby()));
                }
            }
            ServerMessage::Members { room, members } => {
                self.presence.update(|p| {
                    for m in &members {
                        p.insert(m.username.clone(), m.presence);
                    }
                });
                self.members.update(|all| {
                    all.insert(room, members);
                });
            }
            ServerMessage::Invite { room, token, .. } => self.invite.set(Some((room, token))),
            ServerMessage::Receipt {
                room,
                user,
                delivered_seq,
                read_seq,
            } => self.members.update(|all| {
                if let Some(member) = all
                    .get_mut(&room)
                    .and_then(|m| m.iter_mut().find(|m| m.username == user))
                {
                    member.delivered_seq = delivered_seq;
                    member.read_seq = read_seq;
                }
            }),
            ServerMessage::Typing { room, user } => {
                if self.me().is_some_and(|me| me == user) {
                    return;
                }
                let until = js_sys::Date::now() + TYPING_SHOWN_MS as f64;
                self.typing.update(|t| {
                    let list = t.entry(room).or_default();
                    list.retain(|(who, _)| who != &user);
                    list.push((user, until));
                });
                set_timeout(
                    move || {
                        let now = js_sys::Date::now();
                        self.typing.try_update(|t| {
                            for list in t.values_mut() {
                                list.retain(|(_, until)| *until > now);
                            }
                        });
                    },
                    Duration::from_millis(TYPING_SHOWN_MS + 50),
                );
            }
            ServerMessage::Presence { user, status, .. } => self.presence.update(|p| {
                p.insert(user, status);
            }),
            ServerMessage::Error {
                code,
                message,
                client_id,
            } => self.on_error(code, message, client_id),
            message @ (ServerMessage::CallState { .. }
            | ServerMessage::Signal { .. }
            | ServerMessage::IceServers { .. }) => self.rtc.on_server(message),
            ServerMessage::Blocked { user, blocked } => self.rtc.block_changed(&user, blocked),
            ServerMessage::InvitesRevoked { .. } | ServerMessage::Pong { .. } => {}
        }
    }

    /// A system notification for a new message from someone else while the tab is hidden.
    fn notify(self, event: &shared::events::Event, me: &str) {
        if event.sender == me || crate::notify::page_visible() {
            return;
        }
        let Some(room) = self.rooms.with_untracked(|r| r.get(&event.room).cloned()) else {
            return;
        };
        if let EventKind::CallStarted { video, .. } = &event.kind {
            // Only a call that is ringing now, not one caught up on later.
            if (js_sys::Date::now() - event.at_ms as f64) < 30_000.0 {
                let what = if *video { "Video call" } else { "Voice call" };
                let place = match room.kind {
                    RoomKind::Direct => String::new(),
                    RoomKind::Group => format!(" in #{}", room.name),
                };
                let target = event.room.clone();
                crate::notify::show(
                    &format!("{} is calling", event.sender),
                    &format!("{what}{place}"),
                    &event.room.0,
                    move || self.open(target),
                );
            }
            return;
        }
        let EventKind::Message { body, mentions, .. } = &event.kind else {
            return;
        };
        let mentioned = mentions.iter().any(|m| m.eq_ignore_ascii_case(me));
        let title = match (room.kind, mentioned) {
            (RoomKind::Direct, _) => event.sender.clone(),
            (RoomKind::Group, true) => format!("{} mentioned you in #{}", event.sender, room.name),
            (RoomKind::Group, false) => format!("{} in #{}", event.sender, room.name),
        };
        let text: String = body.chars().take(140).collect();
        let target = event.room.clone();
        crate::notify::show(&title, &text, &event.room.0, move || self.open(target));
    }

    fn stop_typing(self, room: &RoomId, user: &str) {
        self.typing.update(|t| {
            if let Some(list) = t.get_mut(room) {
                list.retain(|(who, _)| who != user);
            }
        });
    }

    /// Completes the room request `client_id` if it is the one being waited on.
    fn on_request_done(self, client_id: &ClientMsgId, room: &RoomId) {
        let Some(pending) = self.pending_request.get_value() else {
            return;
        };
        if &pending.client_id != client_id {
            return;
        }
        self.pending_request.set_value(None);
        self.request.set(Some(RequestOutcome::Done));
        if pending.open_result {
            self.open(room.clone());
        }
    }

    /// The room whose timeline holds the unsent message `client_id`.
    fn room_of_pending(self, client_id: &ClientMsgId) -> Option<(RoomId, RwSignal<Timeline>)> {
        let me = self.me()?;
        self.all_timelines().into_iter().find(|(_, t)| {
            t.try_with_untracked(|t| {
                t.pending_body(client_id, &me).is_some() || t.has_unsent(client_id, &me)
            })
            .unwrap_or(false)
        })
    }

    fn on_error(self, code: ErrorCode, message: String, client_id: Option<ClientMsgId>) {
        if self.rtc.claims_error(code, &message, client_id.as_ref()) {
            return;
        }
        if let Some(id) = &client_id
            && self
                .pending_request
                .with_value(|p| p.as_ref().is_some_and(|p| &p.client_id == id))
        {
            self.pending_request.set_value(None);
            self.request.set(Some(RequestOutcome::Refused(message)));
            return;
        }
        let retryable = matches!(code, ErrorCode::RateLimited | ErrorCode::Internal);
        match (client_id, retryable) {
            (Some(client_id), true) => {
                let Some(me) = self.me() else { return };
                let Some((room, timeline)) = self.room_of_pending(&client_id) else {
                    return;
                };
                let attempt = timeline
                    .try_update(|t| t.count_auto_retry(&client_id, &me))
                    .flatten();
                match attempt {
                    Some(n) if n > MAX_AUTO_RETRIES => {
                        timeline.update(|t| t.mark_failed(&client_id, &me, message));
                    }
                    Some(n) => set_timeout(
                        move || self.resend_if_pending(&room, client_id),
                        RETRY_DELAY * (1 << (n - 1).min(3)),
                    ),
                    None => {}
                }
            }
            (Some(client_id), false) => {
                if let (Some(me), Some((_, timeline))) =
                    (self.me(), self.room_of_pending(&client_id))
                {
                    timeline.update(|t| t.mark_failed(&client_id, &me, message));
                }
            }
            (None, true) => {
                // Possibly a history or catch-up page: redo unfinished re-syncs.
                set_timeout(
                    move || {
                        if self.state.try_get_untracked() != Some(ConnState::Online) {
                            return;
                        }
                        for (room, timeline) in self.all_timelines() {
                            if timeline
                                .try_with_untracked(Timeline::is_catching_up)
                                .unwrap_or(false)
                            {
                                self.resync_room(&room, timeline);
                            }
                        }
                    },
                    RETRY_DELAY,
                );
            }
            (None, false) => leptos::logging::warn!("server refused a request: {message}"),
        }
    }
}

/// Remembers (or forgets) who is signed in on this device, so the app can open offline.
pub fn remember_user(user: Option<&str>) {
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return;
    };
    let _ = match user {
        Some(user) => storage.set_item(LAST_USER_KEY, user),
        None => storage.remove_item(LAST_USER_KEY),
    };
}

/// The user remembered by [`remember_user`].
pub fn remembered_user() -> Option<String> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(LAST_USER_KEY).ok().flatten())
}
