//! The receiving side: makes the offer (on accept, and again after a drop), asks for each
//! file from the offset it has received, hashes the bytes as they arrive and hands them to the
//! file's writer, acks as they are written, and compares the digest with the sender's at the
//! end.

use super::super::Rtc;
use super::super::peer::{PeerEvent, describe};
use super::super::storage::{WriteEvent, Writer};
use super::super::wait::sleep_ms;
use super::{Link, LinkEvent, Stage};
use leptos::task::spawn_local;
use sha2::{Digest, Sha256};
use shared::RoomId;
use shared::calls::SignalData;
use shared::transfer::{ACK_EVERY_BYTES, ChannelMessage, FileMeta, hex};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use web_sys::{RtcPeerConnectionState, RtcSdpType};

/// Received chunks go to the writer in batches of about this much: each hand-over to its
/// worker costs about as much as copying a chunk (measured).
const WRITE_BLOCK: u64 = 1024 * 1024;

/// Reconnection attempts after a drop before giving up (about a minute in all).
const RECONNECT_ATTEMPTS: u32 = 12;

pub struct Incoming {
    pub id: String,
    pub room: RoomId,
    pub from: String,
    metas: Vec<FileMeta>,
    link: RefCell<Option<Rc<Link>>>,
    file: Cell<usize>,
    /// Bytes of the current file received (and hashed; some may still wait to be written).
    received: Cell<u64>,
    written: Cell<u64>,
    acked: Cell<u64>,
    writer: RefCell<Option<Rc<Writer>>>,
    hasher: RefCell<Sha256>,
    /// Where each arriving chunk is copied to be hashed (reused: one allocation per transfer).
    scratch: RefCell<Vec<u8>>,
    /// Chunks received and hashed but not yet handed to the writer, from offset `handed`.
    unhanded: RefCell<js_sys::Array>,
    handed: Cell<u64>,
    /// The sender's digest of the current file, once it said `end`.
    expected: RefCell<Option<String>>,
    finishing: Cell<bool>,
    reconnecting: Cell<bool>,
}

impl Incoming {
    pub fn new(id: String, room: RoomId, from: String, metas: Vec<FileMeta>) -> Rc<Self> {
        Rc::new(Self {
            id,
            room,
            from,
            metas,
            link: RefCell::new(None),
            file: Cell::new(0),
            received: Cell::new(0),
            written: Cell::new(0),
            acked: Cell::new(0),
            writer: RefCell::new(None),
            hasher: RefCell::new(Sha256::new()),
            scratch: RefCell::new(Vec::new()),
            unhanded: RefCell::new(js_sys::Array::new()),
            handed: Cell::new(0),
            expected: RefCell::new(None),
            finishing: Cell::new(false),
            reconnecting: Cell::new(false),
        })
    }

    pub fn link(&self) -> Option<Rc<Link>> {
        self.link.borrow().clone()
    }

    /// Bytes stored, over all files.
    pub fn done_bytes(&self) -> u64 {
        let before: u64 = self.metas[..self.file.get()].iter().map(|m| m.size).sum();
        before + self.written.get()
    }

    fn writer(&self) -> Option<Rc<Writer>> {
        self.writer.borrow().clone()
    }

    /// Throws away the partly received file.
    pub fn discard(&self) {
        if let Some(writer) = self.writer.borrow_mut().take() {
            spawn_local(async move { writer.discard().await });
        }
    }

    fn storage_name(&self, file: usize) -> String {
        format!("{}-{file}", self.id)
    }
}

impl Rtc {
    pub fn accept_transfer(self, id: &str) {
        let Some(super::Live::In(t)) = self.live_transfer(id) else {
            return;
        };
        if self.stage_of(id) != Some(Stage::Offered) {
            return;
        }
        self.set_stage(id, Stage::Connecting);
        spawn_local(async move {
            match self.open_writer(&t, 0).await {
                Ok(writer) => *t.writer.borrow_mut() = Some(Rc::new(writer)),
                Err(why) => {
                    self.fail_incoming(&t, why);
                    return;
                }
            }
            self.connect_to_sender(&t).await;
        });
    }

    pub fn decline_transfer(self, id: &str) {
        let Some(super::Live::In(t)) = self.live_transfer(id) else {
            return;
        };
        self.signal(&t.room, &t.from, id, SignalData::Bye);
        self.set_stage(id, Stage::Declined);
        self.retire(id);
    }

    fn fail_incoming(self, t: &Rc<Incoming>, why: String) {
        if let Some(link) = t.link()
            && link.is_open()
        {
            link.send(&ChannelMessage::Cancel {
                reason: Some(why.clone()),
            });
        }
        self.signal(&t.room, &t.from, &t.id, SignalData::Bye);
        t.discard();
        self.set_stage(&t.id, Stage::Failed(why));
        self.retire(&t.id);
    }

    /// A new connection and offer; the old connection, if any, is closed.
    async fn connect_to_sender(self, t: &Rc<Incoming>) {
        let weak = Rc::downgrade(t);
        let on_event = Rc::new(move |event| {
            if let Some(t) = weak.upgrade() {
                self.incoming_event(&t, event);
            }
        });
        let link = match Link::new(self, on_event) {
            Ok(link) => link,
            Err(e) => return self.fail_incoming(t, describe(&e)),
        };
        *t.link.borrow_mut() = Some(link.clone());
        match link.peer.offer(false).await {
            Ok(sdp) => self.signal(&t.room, &t.from, &t.id, SignalData::Offer { sdp }),
            Err(e) => self.fail_incoming(t, describe(&e)),
        }
    }

    pub(super) fn incoming_signal(self, t: Rc<Incoming>, data: SignalData) {
        spawn_local(async move {
            match data {
                SignalData::Answer { sdp } => {
                    if let Some(link) = t.link()
                        && let Err(e) = link.peer.set_remote(RtcSdpType::Answer, &sdp).await
                    {
                        leptos::logging::warn!("bad transfer answer: {}", describe(&e));
                    }
                }
                SignalData::Candidate {
                    candidate,
                    sdp_mid,
                    sdp_m_line_index,
                } => {
                    if let Some(link) = t.link() {
                        link.peer
                            .add_candidate(&candidate, sdp_mid.as_deref(), sdp_m_line_index)
                            .await;
                    }
                }
                SignalData::Bye => {
                    t.discard();
                    self.set_stage(&t.id, Stage::Cancelled);
                    self.retire(&t.id);
                }
                SignalData::Offer { .. } | SignalData::Files { .. } => {}
            }
        });
    }

    fn incoming_event(self, t: &Rc<Incoming>, event: LinkEvent) {
        match event {
            LinkEvent::Peer(PeerEvent::Signal(data)) => {
                self.signal(&t.room, &t.from, &t.id, data);
            }
            LinkEvent::Open => {
                let resuming = self.stage_of(&t.id) == Some(Stage::Resuming);
                self.set_stage(&t.id, Stage::Moving);
                if resuming {
                    leptos::logging::log!("transfer {} resumes at byte {}", t.id, t.received.get());
                }
                if let Some(link) = t.link() {
                    link.send(&ChannelMessage::Get {
                        file: t.file.get() as u32,
                        offset: t.received.get(),
                    });
                }
            }
            LinkEvent::Bytes(bytes) => self.on_bytes(t, bytes),
            LinkEvent::Text(ChannelMessage::End { file, sha256 }) => {
                if file as usize == t.file.get() {
                    *t.expected.borrow_mut() = Some(sha256);
                    self.finish_file_when_written(t);
                }
            }
            LinkEvent::Text(ChannelMessage::Cancel { .. }) => {
                t.discard();
                self.set_stage(&t.id, Stage::Cancelled);
                self.retire(&t.id);
            }
            LinkEvent::Text(_) => {}
            LinkEvent::Peer(PeerEvent::State(
                RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed,
            ))
            | LinkEvent::Closed => self.reconnect(t),
            LinkEvent::Peer(PeerEvent::State(RtcPeerConnectionState::Disconnected)) => {
                // Often recovers by itself within seconds; if not, start over from here.
                let t = t.clone();
                spawn_local(async move {
                    sleep_ms(4000).await;
                    let still = t
                        .link()
                        .is_some_and(|l| l.peer.state() == RtcPeerConnectionState::Disconnected);
                    if still {
                        self.reconnect(&t);
                    }
                });
            }
            LinkEvent::Peer(_) => {}
        }
    }

    fn on_bytes(self, t: &Rc<Incoming>, bytes: js_sys::ArrayBuffer) {
        let Some(meta) = t.metas.get(t.file.get()) else {
            return;
        };
        let Some(writer) = t.writer() else { return };
        let at = t.received.get();
        let length = bytes.byte_length() as usize;
        let received = at + length as u64;
        if received > meta.size {
            return self.fail_incoming(t, "The sender sent more than the file's size.".to_owned());
        }
        // Hashed here, in arrival order, from one reused copy in wasm memory; the buffer itself
        // then moves to the writer's worker without another copy.
        {
            let mut scratch = t.scratch.borrow_mut();
            scratch.resize(length, 0);
            js_sys::Uint8Array::new(&bytes).copy_to(&mut scratch[..]);
            t.hasher.borrow_mut().update(&scratch[..]);
        }
        t.received.set(received);
        t.unhanded.borrow().push(&bytes);
        if received - t.handed.get() >= WRITE_BLOCK || received == meta.size {
            let parts = t.unhanded.replace(js_sys::Array::new());
            if let Err(why) = writer.write(&parts, t.handed.get()) {
                return self.fail_incoming(t, why);
            }
            t.handed.set(received);
        }
    }

    /// A writer for file number `file`, whose progress drives the acks: the sender's window
    /// bounds how much can wait to be written.
    async fn open_writer(self, t: &Rc<Incoming>, file: usize) -> Result<Writer, String> {
        let weak = Rc::downgrade(t);
        let on_event = Rc::new(move |event| {
            let Some(t) = weak.upgrade() else { return };
            if t.file.get() != file {
                return;
            }
            match event {
                WriteEvent::Written(end) => self.on_written(&t, end),
                WriteEvent::Failed(why) => self.fail_incoming(&t, why),
            }
        });
        Writer::create(&t.storage_name(file), on_event).await
    }

    fn on_written(self, t: &Rc<Incoming>, end: u64) {
        if end <= t.written.get() {
            return;
        }
        t.written.set(end);
        let size = t.metas[t.file.get()].size;
        if end - t.acked.get() >= ACK_EVERY_BYTES || end == size {
            t.acked.set(end);
            if let Some(link) = t.link()
                && link.is_open()
            {
                link.send(&ChannelMessage::Ack {
                    file: t.file.get() as u32,
                    offset: end,
                });
            }
        }
        self.finish_file_when_written(t);
    }

    /// Once the sender said `end` and every byte is stored: verify, then the next file.
    fn finish_file_when_written(self, t: &Rc<Incoming>) {
        let file = t.file.get();
        let size = t.metas[file].size;
        let ready = t.expected.borrow().is_some() && t.written.get() == size;
        if !ready || t.finishing.replace(true) {
            return;
        }
        let t = t.clone();
        spawn_local(async move {
            let expected = t.expected.borrow_mut().take().unwrap_or_default();
            let digest = hex(&t.hasher.borrow_mut().finalize_reset());
            let Some(writer) = t.writer() else { return };
            let ok = digest == expected;
            if let Some(link) = t.link() {
                link.send(&ChannelMessage::Verified {
                    file: file as u32,
                    ok,
                });
            }
            if !ok {
                return self.fail_incoming(
                    &t,
                    "The file arrived damaged (its SHA-256 did not match) and was discarded."
                        .to_owned(),
                );
            }
            let stored = match writer.finish().await {
                Ok(stored) => stored,
                Err(why) => return self.fail_incoming(&t, why),
            };
            let url = web_sys::Url::create_object_url_with_blob(&stored).ok();
            self.update_transfer(&t.id, |v| v.saved[file] = url);
            if file + 1 < t.metas.len() {
                match self.open_writer(&t, file + 1).await {
                    Ok(writer) => *t.writer.borrow_mut() = Some(Rc::new(writer)),
                    Err(why) => return self.fail_incoming(&t, why),
                }
                t.file.set(file + 1);
                t.received.set(0);
                t.handed.set(0);
                t.written.set(0);
                t.acked.set(0);
                t.finishing.set(false);
                if let Some(link) = t.link() {
                    link.send(&ChannelMessage::Get {
                        file: (file + 1) as u32,
                        offset: 0,
                    });
                }
            } else {
                self.update_transfer(&t.id, |v| v.done_bytes = v.total_bytes);
                self.set_stage(&t.id, Stage::Done);
                // Let `verified` leave before the connection closes.
                sleep_ms(1000).await;
                self.retire(&t.id);
            }
        });
    }

    /// The connection dropped mid-way: connect again and continue from what is stored.
    fn reconnect(self, t: &Rc<Incoming>) {
        let over = self.stage_of(&t.id).is_none_or(|s| s.is_over());
        // Once the last file is verified the sender closes its side: nothing is left to fetch.
        let verified = t.finishing.get() && t.file.get() + 1 == t.metas.len();
        if over || verified || t.reconnecting.replace(true) {
            return;
        }
        self.set_stage(&t.id, Stage::Resuming);
        let t = t.clone();
        spawn_local(async move {
            for attempt in 0..RECONNECT_ATTEMPTS {
                sleep_ms(1000 * (attempt as i32 + 1).min(8)).await;
                if self.stage_of(&t.id) != Some(Stage::Resuming) {
                    break;
                }
                self.connect_to_sender(&t).await;
                // Wait for this attempt to open (or fail) before trying again.
                for _ in 0..10 {
                    sleep_ms(500).await;
                    if t.link().is_some_and(|l| l.is_open()) {
                        break;
                    }
                }
                if t.link().is_some_and(|l| l.is_open()) {
                    break;
                }
            }
            t.reconnecting.set(false);
            if self.stage_of(&t.id) == Some(Stage::Resuming) {
                let why = format!("Lost the connection to {}.", t.from);
                self.fail_incoming(&t, why);
            }
        });
    }
}
