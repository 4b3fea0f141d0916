//! Peer-to-peer: calls and file transfers that go directly between browsers over WebRTC. The
//! server only relays signaling (see `shared::calls`); this module owns the connections, the
//! media and the files, and publishes plain-data views for the components.
//!
//! [`Rtc`] is `Copy` like `ChatSync`: signals for the views, plus a handle to the browser
//! objects (connections, streams, files) that never go into signals.

mod call;
mod media;
mod peer;
mod stats;
mod storage;
mod transfer;
mod wait;

pub use call::{CallInfo, CallView, Link, PeerView};
pub use transfer::{Stage, TransferView};

use leptos::prelude::*;
use shared::calls::{IceServer, SignalData};
use shared::events::{Event, EventKind};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

type Sender = Rc<dyn Fn(&ClientMessage)>;

#[derive(Default)]
struct Inner {
    me: String,
    send: RefCell<Option<Sender>>,
    ice: RefCell<Vec<IceServer>>,
    call: RefCell<Option<Rc<call::LiveCall>>>,
    transfers: RefCell<HashMap<String, transfer::Live>>,
    progress_timer: std::cell::Cell<Option<IntervalHandle>>,
    /// People I blocked or who blocked me, lower-cased: their offers of calls and files are
    /// not shown, whatever room they come through.
    blocked: RefCell<HashSet<String>>,
}

#[derive(Clone, Copy)]
pub struct Rtc {
    /// Calls going on in my rooms, as the server last described them.
    pub calls: RwSignal<HashMap<RoomId, CallInfo>>,
    /// The call I am in (or joining), for its screen.
    pub active: RwSignal<Option<CallView>>,
    /// Why the last call action failed (permission denied, call full, declined, ...).
    pub problem: RwSignal<Option<String>>,
    /// Calls I declined or left: not offered to me again.
    pub dismissed: RwSignal<HashSet<String>>,
    /// File transfers of this page, newest last.
    pub transfers: RwSignal<Vec<TransferView>>,
    inner: StoredValue<Rc<Inner>, LocalStorage>,
}

impl Rtc {
    pub fn new(me: String) -> Self {
        let rtc = Self {
            calls: RwSignal::new(HashMap::new()),
            active: RwSignal::new(None),
            problem: RwSignal::new(None),
            dismissed: RwSignal::new(HashSet::new()),
            transfers: RwSignal::new(Vec::new()),
            inner: StoredValue::new_local(Rc::new(Inner {
                me,
                ..Inner::default()
            })),
        };
        // Received files of earlier visits cannot be opened any more: free their space.
        leptos::task::spawn_local(storage::clear_received());
        rtc
    }

    /// How to reach the server; set once the connection exists.
    pub fn set_sender(self, send: impl Fn(&ClientMessage) + 'static) {
        if let Some(inner) = self.inner() {
            *inner.send.borrow_mut() = Some(Rc::new(send));
        }
    }

    fn inner(self) -> Option<Rc<Inner>> {
        self.inner.try_get_value()
    }

    fn me(self) -> String {
        self.inner().map(|i| i.me.clone()).unwrap_or_default()
    }

    fn send(self, message: &ClientMessage) {
        let send = self.inner().and_then(|i| i.send.borrow().clone());
        if let Some(send) = send {
            send(message);
        }
    }

    fn signal(self, room: &RoomId, to: &str, session: &str, data: SignalData) {
        self.send(&ClientMessage::Signal {
            room: room.clone(),
            to: to.to_owned(),
            session: session.to_owned(),
            data,
        });
    }

    fn ice_servers(self) -> Vec<IceServer> {
        self.inner()
            .map(|i| i.ice.borrow().clone())
            .unwrap_or_default()
    }

    /// A (re)connected socket: get back into my call.
    pub fn on_welcome(self) {
        // The calls going on arrive right after the welcome; what was known is stale.
        self.calls.set(HashMap::new());
        self.rejoin_call();
    }

    /// Asks for ICE servers (STUN, and TURN credentials) for a call or a transfer with `peer`:
    /// the server gives a relay only for a session of mine. Sent ahead of the connections that
    /// need it; the answer replaces the servers every new connection uses (credentials last an
    /// hour, whichever session they were asked for).
    fn ask_relay(self, room: &RoomId, call: Option<&str>, peer: Option<&str>) {
        self.send(&ClientMessage::IceServers {
            room: Some(room.clone()),
            call: call.map(str::to_owned),
            peer: peer.map(str::to_owned),
        });
    }

    pub fn on_server(self, message: ServerMessage) {
        match message {
            ServerMessage::CallState {
                room,
                call,
                video,
                caller,
                participants,
            } => self.on_call_state(
                room,
                CallInfo {
                    call,
                    video,
                    caller,
                    participants,
                },
            ),
            ServerMessage::Signal {
                room,
                from,
                session,
                data,
            } => self.on_signal(room, from, session, data),
            ServerMessage::IceServers { servers, .. } => {
                if let Some(inner) = self.inner() {
                    *inner.ice.borrow_mut() = servers;
                }
            }
            _ => {}
        }
    }

    /// Timeline events that concern a call in progress here.
    pub fn on_event(self, event: &Event) {
        if let EventKind::CallEnded {
            call,
            declined: true,
            ..
        } = &event.kind
        {
            self.call_declined(&event.room, call);
        }
    }

    /// The people the server says I blocked (from the welcome). Usernames are ASCII
    /// (`shared::limits::check_username`).
    pub fn set_blocked(self, users: Vec<String>) {
        if let Some(inner) = self.inner() {
            *inner.blocked.borrow_mut() = users.iter().map(|u| u.to_ascii_lowercase()).collect();
        }
    }

    /// I blocked (`blocked`) or unblocked `user`.
    pub fn block_changed(self, user: &str, blocked: bool) {
        if let Some(inner) = self.inner() {
            let mut set = inner.blocked.borrow_mut();
            if blocked {
                set.insert(user.to_ascii_lowercase());
            } else {
                set.remove(&user.to_ascii_lowercase());
            }
        }
    }

    fn is_blocked(self, user: &str) -> bool {
        self.inner()
            .is_some_and(|i| i.blocked.borrow().contains(&user.to_ascii_lowercase()))
    }

    fn on_signal(self, room: RoomId, from: String, session: String, data: SignalData) {
        // The server refuses these too; this holds if a signal was already on its way.
        if self.is_blocked(&from) {
            return;
        }
        if self.is_my_call(&session) {
            self.on_call_signal(from, data);
            return;
        }
        let known = self
            .inner()
            .is_some_and(|i| i.transfers.borrow().contains_key(&session));
        match data {
            _ if known => self.on_transfer_signal(&session, &from, data),
            SignalData::Files { files } => self.on_files_offered(room, from, session, files),
            // Someone else's session, or one that ended here: nothing to do.
            _ => {}
        }
    }

    /// Whether this refusal was for something this module asked; if so it is handled.
    pub fn claims_error(
        self,
        code: ErrorCode,
        message: &str,
        client_id: Option<&ClientMsgId>,
    ) -> bool {
        self.call_refused(code, message, client_id)
    }

    /// Log-out or the view going away: hang up and stop every transfer.
    pub fn shutdown(self) {
        self.hang_up();
        self.cancel_all_transfers();
    }
}
