//! The browser's driver of the client core ([`client_core::client::ChatClient`]): it feeds the
//! core what happens (server frames, the connection's state, IndexedDB reads, timers, the
//! user's actions, each with the time) and carries out what the core returns: frames go to the
//! [`Connection`], storage writes to IndexedDB ([`Db`]), timers to `setTimeout`, view updates
//! to signals, notifications to the system. The protocol logic (send queue, catch-up, what to
//! store) lives in the core and is tested there without a browser.
//!
//! [`ChatSync`] is `Copy` (signals and arena handles only), so view closures capture it freely.
//! Every method tolerates the view having been disposed (its signals gone): socket callbacks and
//! timers can outlive it by a moment.

use crate::api;
use crate::connection::{ConnState, Connection, Event};
use crate::db::Db;
use crate::ids::new_client_id;
use crate::rooms::RoomList;
use crate::route;
use crate::timeline::Timeline;
pub use client_core::client::RequestOutcome;
use client_core::client::{ChatClient, Output, View};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::rooms::{Member, Presence};
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

/// The key under which the last signed-in username is remembered, so the app can open offline.
pub const LAST_USER_KEY: &str = "chat.lastUser";
const SESSION_ENDED: &str = "Your session ended. Log in again.";

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// One step of the core, as the driver runs it.
type Step<'a> = dyn FnOnce(&mut ChatClient) -> Vec<Output> + 'a;

/// A room's timeline as the views read it: it lives in the core; reading it through
/// [`TimelineView::with`] subscribes the view to the room's changes.
#[derive(Clone, Copy)]
pub struct TimelineView {
    core: StoredValue<ChatClient>,
    room: StoredValue<RoomId>,
    changed: Trigger,
}

impl TimelineView {
    /// Reads the timeline and redraws the caller when it changes.
    pub fn with<R>(&self, f: impl FnOnce(&Timeline) -> R) -> R {
        self.changed.track();
        self.with_untracked(f)
    }

    pub fn with_untracked<R>(&self, f: impl FnOnce(&Timeline) -> R) -> R {
        let room = self.room.get_value();
        let mut f = Some(f);
        let read = self
            .core
            .try_with_value(|c| {
                let timeline = c.timeline(&room)?;
                Some(f.take()?(timeline))
            })
            .flatten();
        match (read, f) {
            (Some(result), _) => result,
            // The room was left (its timeline is gone) or the chat screen closed.
            (None, Some(f)) => f(&Timeline::default()),
            (None, None) => unreachable!("the reader ran and returned"),
        }
    }

    /// Subscribes the caller to the room's changes without reading.
    pub fn track(&self) {
        self.changed.track();
    }
}

#[derive(Clone, Copy)]
pub struct ChatSync {
    /// Mirrors of the core's state for the views (each small; timelines are read in place).
    pub rooms: RwSignal<RoomList>,
    /// The room on screen.
    pub current: RwSignal<Option<RoomId>>,
    /// The open room's "New messages" line: after this seq.
    pub unread_marker: RwSignal<Option<(RoomId, Seq)>>,
    /// What screen readers should hear about the open room (a message that just arrived).
    pub announcement: RwSignal<String>,
    /// A message to bring into view and point out (a search hit), until the room shows it.
    pub jump_to: RwSignal<Option<(RoomId, Seq)>>,
    pub state: RwSignal<ConnState>,
    /// Who is typing where, with when to stop showing it (ms since the epoch).
    pub typing: RwSignal<HashMap<RoomId, Vec<(String, i64)>>>,
    pub presence: RwSignal<HashMap<String, Presence>>,
    /// The member list of rooms that asked for it (receipts are kept current in it).
    pub members: RwSignal<HashMap<RoomId, Vec<Member>>>,
    pub request: RwSignal<Option<RequestOutcome>>,
    core: StoredValue<ChatClient>,
    /// One per room whose timeline a view reads.
    timeline_changed: StoredValue<HashMap<RoomId, Trigger>>,
    /// What was typed and not sent, per room, kept while another room is shown.
    drafts: StoredValue<HashMap<RoomId, String>>,
    /// The local copy; `None` until opened or if the browser refuses IndexedDB.
    db: StoredValue<Option<Rc<Db>>, LocalStorage>,
    owner: StoredValue<Owner, LocalStorage>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    me: StoredValue<String>,
    on_logged_out: Callback<Option<String>>,
    /// Calls and file transfers.
    pub rtc: crate::rtc::Rtc,
}

impl ChatSync {
    /// Creates the state, shows what is stored and opens the connection once `confirmed`: the
    /// server answered for the session (or could not be reached), so the stored chats of a
    /// session that has ended are shown for no longer than that answer takes, and never
    /// connect.
    pub fn start(
        username: String,
        confirmed: ReadSignal<bool>,
        on_logged_out: Callback<Option<String>>,
    ) -> Self {
        let sync = Self {
            rooms: RwSignal::new(RoomList::default()),
            current: RwSignal::new(None),
            unread_marker: RwSignal::new(None),
            jump_to: RwSignal::new(None),
            announcement: RwSignal::new(String::new()),
            state: RwSignal::new(ConnState::Connecting),
            typing: RwSignal::new(HashMap::new()),
            presence: RwSignal::new(HashMap::new()),
            members: RwSignal::new(HashMap::new()),
            request: RwSignal::new(None),
            core: StoredValue::new(ChatClient::new(username.clone())),
            timeline_changed: StoredValue::new(HashMap::new()),
            drafts: StoredValue::new(HashMap::new()),
            db: StoredValue::new_local(None),
            owner: StoredValue::new_local(Owner::current().unwrap_or_default()),
            connection: StoredValue::new_local(None),
            me: StoredValue::new(username.clone()),
            on_logged_out,
            rtc: crate::rtc::Rtc::new(username.clone()),
        };
        sync.rtc.set_sender(move |message| sync.send_frame(message));
        remember_user(Some(&username));
        sync.drive(|c| c.set_visible(crate::notify::page_visible()));
        if let Some(room) = route::room_in_address().or_else(|| route::last_room(&username)) {
            sync.drive(|c| {
                c.prefer_room(room);
                Vec::new()
            });
        }
        // Show the stored state first, then connect: the connection's sync starts from the
        // stored cursors, which is what keeps the list free of gaps and duplicates.
        let restored = RwSignal::new(false);
        spawn_local(async move {
            sync.restore(&username).await;
            restored.try_set(true);
        });
        Effect::new(move |_| {
            if restored.get()
                && confirmed.get()
                && sync.me().is_some()
                && sync.connection().is_none()
            {
                let connection = Connection::start(move |event| sync.on_event(event));
                sync.connection.set_value(Some(connection));
            }
        });
        sync
    }

    /// Hands the core the room list, sync states and outbox from local storage, and waits
    /// for the stored messages of the room shown first.
    async fn restore(self, username: &str) {
        let db = match Db::open(username).await {
            Ok(db) => {
                let db = Rc::new(db);
                self.db.set_value(Some(db.clone()));
                Some(db)
            }
            Err(e) => {
                leptos::logging::warn!("no local storage, history will not be kept: {}", e.0);
                None
            }
        };
        let (rooms, states, outbox) = match &db {
            Some(db) => (
                db.room_list().await.unwrap_or_default(),
                db.room_states().await.unwrap_or_default(),
                db.outbox().await.unwrap_or_default(),
            ),
            None => Default::default(),
        };
        let Some((_, outputs)) = self
            .core
            .try_update_value(|c| c.restore(rooms, states, outbox))
        else {
            return;
        };
        // The stored messages are read before connecting, so the first room shows at once.
        let (loads, rest): (Vec<_>, Vec<_>) = outputs
            .into_iter()
            .partition(|o| matches!(o, Output::LoadStored { .. }));
        self.run(rest);
        for load in loads {
            if let Output::LoadStored {
                room,
                before,
                limit,
            } = load
            {
                self.load_stored(room, before, limit).await;
            }
        }
    }

    /// Reads stored messages for the core.
    async fn load_stored(self, room: RoomId, before: Option<Seq>, limit: usize) {
        let stored = match self.db.get_value() {
            Some(db) => db.messages(&room, before, limit).await.unwrap_or_default(),
            None => Vec::new(),
        };
        let more = stored.len() == limit;
        self.drive(|c| c.stored_loaded(&room, before, stored, more));
    }

    /// Runs one step of the core and carries out what it asks for.
    fn drive<'a>(self, step: impl FnOnce(&mut ChatClient) -> Vec<Output> + 'a) {
        self.drive_boxed(Box::new(step));
    }

    /// One copy of the core access for every caller (the first load is counted in bytes).
    fn drive_boxed(self, step: Box<Step<'_>>) {
        // The core is released before its outputs run: they may call back into it.
        if let Some(outputs) = self.core.try_update_value(step) {
            self.run(outputs);
        }
    }

    fn run(self, outputs: Vec<Output>) {
        let mut changed: Vec<View> = Vec::new();
        let mut room_list = None;
        for output in outputs {
            match output {
                Output::Send(frame) => self.send_frame(&frame),
                Output::SaveRoom { room, changes } => {
                    let Some(db) = self.db.get_value() else {
                        continue;
                    };
                    spawn_local(async move {
                        let saved = db
                            .save_room(
                                &room,
                                &changes.entries,
                                &changes.unloaded_operations,
                                &changes.acked,
                                &changes.state,
                                changes.forget_through,
                            )
                            .await;
                        if let Err(e) = saved {
                            leptos::logging::warn!("could not store messages: {}", e.0);
                        }
                    });
                }
                // Only the newest list of a step is worth writing.
                Output::SaveRoomList(rooms) => room_list = Some(rooms),
                Output::OutboxPut(item) => {
                    if let Some(db) = self.db.get_value() {
                        spawn_local(async move {
                            if let Err(e) = db.outbox_put(&item).await {
                                leptos::logging::warn!("could not keep an unsent message: {}", e.0);
                            }
                        });
                    }
                }
                Output::ApplyToStored(event) => {
                    if let Some(db) = self.db.get_value() {
                        spawn_local(async move {
                            let _ = db.apply_to_stored(&event).await;
                        });
                    }
                }
                Output::LoadStored {
                    room,
                    before,
                    limit,
                } => spawn_local(self.load_stored(room, before, limit)),
                Output::WakeAt(at) => set_timeout(
                    move || self.drive(|c| c.tick(now_ms())),
                    Duration::from_millis((at - now_ms()).max(0) as u64),
                ),
                Output::Changed(view) => {
                    if !changed.contains(&view) {
                        changed.push(view);
                    }
                }
                Output::Notify(n) => {
                    if !crate::notify::page_visible() {
                        let room = n.room.clone();
                        crate::notify::show(&n.title, &n.body, &n.room.0, move || self.open(room));
                    }
                }
                Output::SessionEnded => self.session_ended(),
            }
        }
        if let (Some(rooms), Some(db)) = (room_list, self.db.get_value()) {
            spawn_local(async move {
                let _ = db.save_room_list(&rooms).await;
            });
        }
        for view in changed {
            self.show(view);
        }
    }

    /// Copies what changed from the core to the signals the views read.
    fn show(self, view: View) {
        let core = self.core;
        match view {
            View::Rooms => {
                if let Some(rooms) = core.try_with_value(|c| c.rooms().clone()) {
                    self.rooms.try_set(rooms);
                }
            }
            View::Current => {
                if let Some((current, marker)) = core.try_with_value(|c| {
                    let current = c.current().cloned();
                    let marker = current
                        .as_ref()
                        .and_then(|r| c.unread_marker(r).map(|seq| (r.clone(), seq)));
                    (current, marker)
                }) {
                    self.current.try_set(current);
                    self.unread_marker.try_set(marker);
                }
            }
            View::Timeline(room) => {
                if let Some(Some(trigger)) = self
                    .timeline_changed
                    .try_with_value(|t| t.get(&room).copied())
                {
                    trigger.notify();
                }
            }
            View::Members => {
                if let Some(members) = core.try_with_value(|c| c.members().clone()) {
                    self.members.try_set(members);
                }
            }
            View::Presence => {
                if let Some(presence) = core.try_with_value(|c| c.presence().clone()) {
                    self.presence.try_set(presence);
                }
            }
            View::Typing => {
                if let Some(typing) = core.try_with_value(|c| c.typing().clone()) {
                    self.typing.try_set(typing);
                }
            }
            View::Request => {
                if let Some(request) = core.try_with_value(|c| c.request().cloned()) {
                    self.request.try_set(request);
                }
            }
            View::Announcement => {
                if let Some(text) = core.try_with_value(|c| c.announcement().to_owned()) {
                    self.announcement.try_set(text);
                }
            }
        }
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

    /// The timeline of `room` for a view (the core creates it when the room opens).
    pub fn timeline(self, room: &RoomId) -> Option<TimelineView> {
        let owner = self.owner.try_get_value()?;
        let changed = self.timeline_changed.try_update_value(|t| {
            *t.entry(room.clone())
                .or_insert_with(|| owner.with(Trigger::new))
        })?;
        Some(TimelineView {
            core: self.core,
            room: owner.with(|| StoredValue::new(room.clone())),
            changed,
        })
    }

    /// The unsent text of `room`'s composer.
    pub fn draft(self, room: &RoomId) -> String {
        self.drafts
            .try_with_value(|d| d.get(room).cloned())
            .flatten()
            .unwrap_or_default()
    }

    /// Keeps the composer's text of `room` for when it is shown again.
    pub fn keep_draft(self, room: &RoomId, text: String) {
        self.drafts.try_update_value(|d| {
            if text.is_empty() {
                d.remove(room);
            } else {
                d.insert(room.clone(), text);
            }
        });
    }

    /// Shows `room`: loads its history the first time (stored copy first, then what is new on
    /// the server) and marks it read.
    pub fn open(self, room: RoomId) {
        self.drive(|c| c.open(room));
    }

    /// Adds `body` as a pending message of `room` and sends it if the socket is open.
    pub fn send_new(self, room: RoomId, body: String, reply_to: Option<Seq>) {
        let client_id = new_client_id();
        self.drive(|c| c.send_message(room, client_id, body, reply_to, now_ms()));
    }

    /// Puts a failed message back in the queue and sends it.
    pub fn retry(self, room: RoomId, client_id: ClientMsgId) {
        self.drive(|c| c.retry(&room, &client_id));
    }

    pub fn reconnect_now(self) {
        if let Some(c) = self.connection() {
            c.reconnect_now();
        }
    }

    /// Older messages: from local storage while it has them, then from the server.
    pub fn load_older(self, room: &RoomId) {
        self.drive(|c| c.load_older(room));
    }

    /// Replaces the text of one of my messages (sent now; not kept while offline).
    pub fn edit(self, room: RoomId, target: Seq, body: String) {
        self.drive(|c| c.edit(room, new_client_id(), target, body));
    }

    pub fn delete(self, room: RoomId, target: Seq) {
        self.drive(|c| c.delete(room, new_client_id(), target));
    }

    /// Puts or takes back a reaction.
    pub fn react(self, room: RoomId, target: Seq, emoji: String, add: bool) {
        self.drive(|c| c.react(room, new_client_id(), target, emoji, add));
    }

    /// Sends a room request whose answer reaches the panel that asked.
    fn room_request(self, open_result: bool, build: impl FnOnce(ClientMsgId) -> ClientMessage) {
        let client_id = new_client_id();
        let frame = build(client_id.clone());
        self.drive(|c| c.room_request(client_id, open_result, frame));
    }

    pub fn create_room(self, name: String) {
        self.room_request(true, |client_id| ClientMessage::CreateRoom {
            client_id,
            name,
            topic: String::new(),
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

    /// Forgets the outcome of the last room request (its panel closed).
    pub fn clear_request(self) {
        self.drive(ChatClient::clear_request);
    }

    /// Tells the room the user is typing (the server throttles repeats).
    pub fn typing(self, room: RoomId) {
        self.drive(|c| c.typing_in(room));
    }

    /// Reports whether this tab is in front of the user.
    pub fn set_visible(self, visible: bool) {
        self.drive(|c| c.set_visible(visible));
    }

    pub fn log_out(self) {
        // Log-out deletes this device's copy, the outbox included: ask before throwing
        // unsent messages away.
        let waiting = self.unsent_count();
        if waiting > 0 {
            let question = format!(
                "{waiting} message{} not sent yet. Logging out deletes {} from this device. Log out anyway?",
                if waiting == 1 { " is" } else { "s are" },
                if waiting == 1 { "it" } else { "them" }
            );
            let confirmed = web_sys::window()
                .is_some_and(|w| w.confirm_with_message(&question).unwrap_or(false));
            if !confirmed {
                return;
            }
        }
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
        if let Some(me) = &me {
            route::forget_last_room(me);
        }
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

    fn unsent_count(self) -> usize {
        self.core
            .try_with_value(ChatClient::unsent_count)
            .unwrap_or(0)
    }

    /// Say how many unsent messages leaving the chat discards (log-out deletes the outbox).
    fn unsent_notice(self) -> Option<String> {
        match self.unsent_count() {
            0 => None,
            1 => Some("1 unsent message was discarded.".to_owned()),
            n => Some(format!("{n} unsent messages were discarded.")),
        }
    }

    fn on_event(self, event: Event) {
        match event {
            Event::State(ConnState::LoggedOut) => {
                self.state.set(ConnState::LoggedOut);
                self.drive(ChatClient::disconnected);
                self.session_ended();
            }
            Event::State(new_state) => {
                self.state.set(new_state);
                if new_state != ConnState::Online {
                    self.drive(ChatClient::disconnected);
                }
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

    /// Calls and transfers take their frames; everything else goes to the core.
    fn on_server_message(self, message: ServerMessage) {
        match &message {
            ServerMessage::Welcome {
                username, blocked, ..
            } if self.me().as_ref() == Some(username) => {
                self.rtc.set_blocked(blocked.clone());
                self.rtc.on_welcome();
            }
            ServerMessage::Event { event } => self.rtc.on_event(event),
            ServerMessage::Error {
                code,
                message,
                client_id,
            } if self.rtc.claims_error(*code, message, client_id.as_ref()) => return,
            ServerMessage::CallState { .. }
            | ServerMessage::Signal { .. }
            | ServerMessage::IceServers { .. } => {
                self.rtc.on_server(message);
                return;
            }
            ServerMessage::Blocked { user, blocked } => {
                self.rtc.block_changed(user, *blocked);
                return;
            }
            _ => {}
        }
        self.drive(|c| c.on_server(message, now_ms()));
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
