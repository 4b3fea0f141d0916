//! File transfers: one session per offer and recipient, over a pre-negotiated data channel
//! (protocol in `shared::transfer`). The protocol itself (what to ask, send, ack, verify,
//! when to resume or give up) is `client_core::transfer`'s machines; `send` and `receive` drive
//! them with the browser's connections, files, storage and timers. The receiver makes the
//! WebRTC offer, so it alone decides when to (re)connect.

mod receive;
mod send;

pub use receive::Incoming;
pub use send::{Digests, Outgoing};

use super::Rtc;
use super::peer::{Peer, PeerEvent};
use super::wait::Wakeup;
use client_core::transfer::{Failure, Phase};
use leptos::prelude::*;
use shared::RoomId;
use shared::calls::SignalData;
use shared::transfer::{CHANNEL_ID, CHANNEL_LABEL, CHUNK_BYTES, ChannelMessage, FileMeta};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, RtcDataChannel, RtcDataChannelInit, RtcDataChannelType};

/// Incoming offers waiting for an answer that the page keeps; later ones are ignored.
const MAX_WAITING_OFFERS: usize = 20;

/// How often progress, speed and time left are refreshed on screen.
const PROGRESS_EVERY: Duration = Duration::from_millis(400);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Incoming, waiting for me to accept or decline.
    Offered,
    /// Outgoing, waiting for them to accept.
    Waiting,
    Connecting,
    Moving,
    /// The connection dropped; picking up where it stopped.
    Resuming,
    Done,
    Declined,
    Cancelled,
    Failed(String),
}

impl From<Phase> for Stage {
    fn from(phase: Phase) -> Self {
        match phase {
            Phase::Connecting => Self::Connecting,
            Phase::Moving => Self::Moving,
            Phase::Resuming => Self::Resuming,
        }
    }
}

/// The stage a finished session ends in.
fn outcome_stage(outcome: &Result<(), Failure>) -> Stage {
    match outcome {
        Ok(()) => Stage::Done,
        Err(Failure::Declined) => Stage::Declined,
        Err(Failure::Cancelled { .. }) => Stage::Cancelled,
        Err(failure) => Stage::Failed(failure.to_string()),
    }
}

/// The machines' clock: milliseconds since the epoch.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl Stage {
    /// A stable name for styling and tests.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Waiting => "waiting",
            Self::Connecting => "connecting",
            Self::Moving => "moving",
            Self::Resuming => "resuming",
            Self::Done => "done",
            Self::Declined => "declined",
            Self::Cancelled => "cancelled",
            Self::Failed(_) => "failed",
        }
    }

    pub fn is_over(&self) -> bool {
        matches!(
            self,
            Self::Done | Self::Declined | Self::Cancelled | Self::Failed(_)
        )
    }
}

/// One transfer's card.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferView {
    pub id: String,
    pub room: RoomId,
    /// The other person.
    pub peer: String,
    pub outgoing: bool,
    pub files: Vec<FileMeta>,
    pub stage: Stage,
    pub done_bytes: u64,
    pub total_bytes: u64,
    pub bytes_per_sec: f64,
    /// Received files, once verified: an object URL each.
    pub saved: Vec<Option<String>>,
}

impl TransferView {
    /// Seconds until done at the current speed.
    pub fn seconds_left(&self) -> Option<f64> {
        (self.bytes_per_sec > 1.0)
            .then(|| self.total_bytes.saturating_sub(self.done_bytes) as f64 / self.bytes_per_sec)
    }
}

pub enum Live {
    Out(Rc<Outgoing>),
    In(Rc<Incoming>),
}

impl Live {
    fn done_bytes(&self) -> u64 {
        match self {
            Self::Out(t) => t.done_bytes(),
            Self::In(t) => t.done_bytes(),
        }
    }

    fn clone_rc(&self) -> Self {
        match self {
            Self::Out(t) => Self::Out(t.clone()),
            Self::In(t) => Self::In(t.clone()),
        }
    }
}

/// One connection attempt: the peer connection and its data channel with their handlers.
/// Dropping it closes both and wakes whoever waited on it.
pub struct Link {
    pub peer: Peer,
    pub channel: RtcDataChannel,
    /// Woken by the channel's events (open, drained, closed) and by acks.
    pub wake: Wakeup,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
    _on_low: Closure<dyn FnMut()>,
}

/// What a link reports to its transfer.
pub enum LinkEvent {
    Peer(PeerEvent),
    Open,
    Text(ChannelMessage),
    Bytes(js_sys::ArrayBuffer),
    Closed,
}

/// Buffered bytes above which the sender waits for the channel to drain, and the level at which
/// it is woken again. The gap is what the channel sends while the woken sender reads the next
/// block of the file: with 1 MiB / 256 KiB the channel ran dry between blocks.
const HIGH_WATER: u32 = 4 * 1024 * 1024;
const LOW_WATER: u32 = 1024 * 1024;

impl Link {
    pub fn new(rtc: Rtc, on_event: Rc<dyn Fn(LinkEvent)>) -> Result<Rc<Self>, JsValue> {
        let forward = on_event.clone();
        let peer = Peer::new(
            &rtc.ice_servers(),
            Rc::new(move |e| forward(LinkEvent::Peer(e))),
        )?;
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(CHANNEL_ID);
        init.set_ordered(true);
        let channel = peer
            .pc
            .create_data_channel_with_data_channel_dict(CHANNEL_LABEL, &init);
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        channel.set_buffered_amount_low_threshold(LOW_WATER);
        Ok(Rc::new_cyclic(|me: &std::rc::Weak<Link>| {
            let wake_me = |me: &std::rc::Weak<Link>| {
                let me = me.clone();
                move || {
                    if let Some(link) = me.upgrade() {
                        link.wake.wake();
                    }
                }
            };
            let forward = on_event.clone();
            let woken = wake_me(me);
            let on_open = Closure::<dyn FnMut()>::new(move || {
                woken();
                forward(LinkEvent::Open);
            });
            let forward = on_event.clone();
            let on_message = Closure::<dyn FnMut(_)>::new(move |e: MessageEvent| {
                let data = e.data();
                if let Some(text) = data.as_string() {
                    match serde_json::from_str::<ChannelMessage>(&text) {
                        Ok(message) => forward(LinkEvent::Text(message)),
                        Err(_) => leptos::logging::warn!("ignored a malformed channel message"),
                    }
                } else if let Ok(bytes) = data.dyn_into::<js_sys::ArrayBuffer>() {
                    forward(LinkEvent::Bytes(bytes));
                }
            });
            let forward = on_event;
            let woken = wake_me(me);
            let on_close = Closure::<dyn FnMut()>::new(move || {
                woken();
                forward(LinkEvent::Closed);
            });
            let on_low = Closure::<dyn FnMut()>::new(wake_me(me));
            channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            channel.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            channel.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
            Link {
                peer,
                channel,
                wake: Wakeup::default(),
                _on_open: on_open,
                _on_message: on_message,
                _on_close: on_close,
                _on_low: on_low,
            }
        }))
    }

    pub fn is_open(&self) -> bool {
        self.channel.ready_state() == web_sys::RtcDataChannelState::Open
    }

    /// Sends a control message if the channel is open (on a closed one it would be lost).
    pub fn send(&self, message: &ChannelMessage) {
        if self.is_open()
            && let Ok(text) = serde_json::to_string(message)
        {
            let _ = self.channel.send_with_str(&text);
        }
    }

    pub fn congested(&self) -> bool {
        self.channel.buffered_amount() > HIGH_WATER
    }

    /// The largest binary message this connection takes (the SCTP limit both sides agreed).
    pub fn chunk_bytes(&self) -> usize {
        js_sys::Reflect::get(&self.peer.pc, &JsValue::from_str("sctp"))
            .ok()
            .filter(|s| !s.is_null() && !s.is_undefined())
            .and_then(|s| js_sys::Reflect::get(&s, &JsValue::from_str("maxMessageSize")).ok())
            .and_then(|n| n.as_f64())
            .filter(|n| *n >= 1024.0)
            .map_or(CHUNK_BYTES, |n| CHUNK_BYTES.min(n as usize))
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.channel.set_onopen(None);
        self.channel.set_onmessage(None);
        self.channel.set_onclose(None);
        self.channel.set_onbufferedamountlow(None);
        self.channel.close();
        self.wake.wake();
    }
}

fn new_session_id() -> String {
    format!("t{}", &crate::ids::new_client_id().0[..20])
}

impl Rtc {
    fn live_transfer(self, id: &str) -> Option<Live> {
        let inner = self.inner()?;
        let transfers = inner.transfers.borrow();
        Some(transfers.get(id)?.clone_rc())
    }

    fn update_transfer(self, id: &str, change: impl FnOnce(&mut TransferView)) {
        self.transfers.update(|all| {
            if let Some(view) = all.iter_mut().find(|t| t.id == id) {
                change(view);
            }
        });
    }

    fn set_stage(self, id: &str, stage: Stage) {
        self.update_transfer(id, |v| {
            if !v.stage.is_over() {
                v.stage = stage;
            }
        });
    }

    fn stage_of(self, id: &str) -> Option<Stage> {
        self.transfers
            .with_untracked(|all| all.iter().find(|t| t.id == id).map(|t| t.stage.clone()))
    }

    /// Forgets a finished transfer's connection (its card stays).
    fn retire(self, id: &str) {
        if let Some(inner) = self.inner() {
            let gone = inner.transfers.borrow_mut().remove(id);
            drop(gone);
        }
    }

    fn add_transfer(self, view: TransferView, live: Live) {
        if let Some(inner) = self.inner() {
            inner.transfers.borrow_mut().insert(view.id.clone(), live);
        }
        self.transfers.update(|all| all.push(view));
        self.ensure_progress_timer();
    }

    /// Offers `files` to each of `recipients` in `room`, one session each.
    pub fn send_files(self, room: RoomId, recipients: Vec<String>, files: Vec<web_sys::File>) {
        let metas: Vec<FileMeta> = files
            .iter()
            .map(|f| FileMeta::offered(&f.name(), f.size() as u64, f.type_()))
            .collect();
        if let Err(why) = shared::transfer::check_offer(&metas) {
            self.problem.set(Some(why));
            return;
        }
        let digests = Digests::start(files.clone());
        for to in recipients {
            let id = new_session_id();
            let live = Outgoing::new(
                id.clone(),
                room.clone(),
                to.clone(),
                files.clone(),
                metas.clone(),
            );
            self.feed_digests(&live, digests.clone());
            self.add_transfer(
                TransferView {
                    id: id.clone(),
                    room: room.clone(),
                    peer: to.clone(),
                    outgoing: true,
                    files: metas.clone(),
                    stage: Stage::Waiting,
                    done_bytes: 0,
                    total_bytes: metas.iter().map(|m| m.size).sum(),
                    bytes_per_sec: 0.0,
                    saved: vec![None; metas.len()],
                },
                Live::Out(live),
            );
            // The relay is in hand long before the receiver accepts and connects.
            self.ask_relay(&room, None, Some(&to));
            self.signal(
                &room,
                &to,
                &id,
                SignalData::Files {
                    files: metas.clone(),
                },
            );
        }
    }

    pub(super) fn on_files_offered(
        self,
        room: RoomId,
        from: String,
        id: String,
        files: Vec<FileMeta>,
    ) {
        if shared::transfer::check_offer(&files).is_err() {
            return;
        }
        // Offers nobody answered yet are kept only up to a bound: a flood of them must not
        // grow the page without end. The sender sees no answer and can offer again later.
        let waiting = self.transfers.with_untracked(|all| {
            all.iter()
                .filter(|t| !t.outgoing && t.stage == Stage::Offered)
                .count()
        });
        if waiting >= MAX_WAITING_OFFERS {
            return;
        }
        // The relay is in hand long before the person accepts and the connection is made
        // (no connection of this page is made without the servers this answer brings).
        self.ask_relay(&room, None, Some(&from));
        let live = Incoming::new(id.clone(), room.clone(), from.clone(), files.clone());
        self.add_transfer(
            TransferView {
                id,
                room,
                peer: from,
                outgoing: false,
                total_bytes: files.iter().map(|m| m.size).sum(),
                saved: vec![None; files.len()],
                files,
                stage: Stage::Offered,
                done_bytes: 0,
                bytes_per_sec: 0.0,
            },
            Live::In(live),
        );
    }

    pub(super) fn on_transfer_signal(self, id: &str, from: &str, data: SignalData) {
        match self.live_transfer(id) {
            Some(Live::Out(t)) if t.to == from => self.outgoing_signal(t, data),
            Some(Live::In(t)) if t.from == from => self.incoming_signal(t, data),
            _ => {}
        }
    }

    /// Stops a transfer from this side: the other side is told on the channel and by signal.
    pub fn cancel_transfer(self, id: &str) {
        match self.live_transfer(id) {
            Some(Live::Out(t)) => self.drive_out(&t, |m| m.cancel()),
            Some(Live::In(t)) => self.drive_in(&t, |m| m.cancel(), None),
            None => {}
        }
    }

    pub(super) fn cancel_all_transfers(self) {
        let ids: Vec<String> = self
            .inner()
            .map(|i| i.transfers.borrow().keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.cancel_transfer(&id);
        }
    }

    /// Removes a finished card.
    pub fn dismiss_transfer(self, id: &str) {
        self.transfers.update(|all| {
            all.retain(|t| {
                if t.id == id {
                    for url in t.saved.iter().flatten() {
                        let _ = web_sys::Url::revoke_object_url(url);
                    }
                }
                t.id != id || !t.stage.is_over()
            })
        });
    }

    /// One timer refreshes every transfer's progress and speed while any is live, and ticks
    /// their machines.
    fn ensure_progress_timer(self) {
        let Some(inner) = self.inner() else { return };
        if inner.progress_timer.get().is_some() {
            return;
        }
        let handle = set_interval_with_handle(
            move || {
                let Some(inner) = self.inner() else { return };
                let live: Vec<(String, Live)> = inner
                    .transfers
                    .borrow()
                    .iter()
                    .map(|(id, t)| (id.clone(), t.clone_rc()))
                    .collect();
                if live.is_empty() {
                    if let Some(timer) = inner.progress_timer.take() {
                        timer.clear();
                    }
                    return;
                }
                let seconds = PROGRESS_EVERY.as_secs_f64();
                let now = now_ms();
                for (id, t) in live {
                    // The machines' timers (give-up rules, retries) run on this beat.
                    match &t {
                        Live::Out(t) => self.drive_out(t, |m| m.tick(now)),
                        Live::In(t) => self.drive_in(t, |m| m.tick(now), None),
                    }
                    let done = t.done_bytes();
                    self.update_transfer(&id, |v| {
                        let rate = done.saturating_sub(v.done_bytes) as f64 / seconds;
                        // Smoothed, so the time left does not jump around.
                        v.bytes_per_sec = if v.bytes_per_sec == 0.0 {
                            rate
                        } else {
                            0.7 * v.bytes_per_sec + 0.3 * rate
                        };
                        v.done_bytes = done;
                    });
                }
            },
            PROGRESS_EVERY,
        )
        .ok();
        inner.progress_timer.set(handle);
    }
}
