//! The receiving side's driver: makes the offers, hands each chunk to the machine
//! ([`client_core::transfer::Receiver`], which checks and hashes it) and then to the file's
//! writer, and reports what is written, committed or failed. When to ask, ack, verify, resume
//! or give up is the machine's call.

use super::super::Rtc;
use super::super::peer::{PeerEvent, describe};
use super::super::storage::{WriteEvent, Writer};
use super::{Link, LinkEvent, Stage, now_ms, outcome_stage};
use client_core::transfer::Receiver;
use client_core::transfer::receive::Action;
use leptos::task::spawn_local;
use shared::RoomId;
use shared::calls::SignalData;
use shared::transfer::FileMeta;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use web_sys::{RtcPeerConnectionState, RtcSdpType};

/// Received chunks go to the writer in batches of about this much: each hand-over to its
/// worker costs about as much as copying a chunk (measured).
const WRITE_BLOCK: u64 = 1024 * 1024;

pub struct Incoming {
    pub id: String,
    pub room: RoomId,
    pub from: String,
    sizes: Vec<u64>,
    machine: RefCell<Receiver>,
    link: RefCell<Option<Rc<Link>>>,
    /// Numbers the links, so events of a replaced one are ignored.
    generation: Cell<u32>,
    writer: RefCell<Option<Rc<Writer>>>,
    /// Where each arriving chunk is copied to be hashed (reused: one allocation per transfer).
    scratch: RefCell<Vec<u8>>,
    /// Chunks accepted but not yet handed to the writer, from offset `handed`.
    unhanded: RefCell<js_sys::Array>,
    handed: Cell<u64>,
}

impl Incoming {
    pub fn new(id: String, room: RoomId, from: String, metas: Vec<FileMeta>) -> Rc<Self> {
        Rc::new(Self {
            id,
            room,
            from,
            sizes: metas.iter().map(|m| m.size).collect(),
            machine: RefCell::new(Receiver::new(metas)),
            link: RefCell::new(None),
            generation: Cell::new(0),
            writer: RefCell::new(None),
            scratch: RefCell::new(Vec::new()),
            unhanded: RefCell::new(js_sys::Array::new()),
            handed: Cell::new(0),
        })
    }

    pub fn link(&self) -> Option<Rc<Link>> {
        self.link.borrow().clone()
    }

    /// Bytes stored, over all files.
    pub fn done_bytes(&self) -> u64 {
        self.machine.borrow().done_bytes()
    }

    fn writer(&self) -> Option<Rc<Writer>> {
        self.writer.borrow().clone()
    }

    fn storage_name(&self, file: u32) -> String {
        format!("{}-{file}", self.id)
    }
}

impl Rtc {
    pub fn accept_transfer(self, id: &str) {
        let Some(super::Live::In(t)) = self.live_transfer(id) else {
            return;
        };
        if self.stage_of(id) == Some(Stage::Offered) {
            self.drive_in(&t, |m| m.start(now_ms()), None);
        }
    }

    pub fn decline_transfer(self, id: &str) {
        let Some(super::Live::In(t)) = self.live_transfer(id) else {
            return;
        };
        self.signal(&t.room, &t.from, id, SignalData::Bye);
        self.set_stage(id, Stage::Declined);
        self.retire(id);
    }

    /// Feeds the machine one input and carries out what it decides; `chunk` is the buffer of
    /// the bytes just given, for its write.
    pub(super) fn drive_in(
        self,
        t: &Rc<Incoming>,
        input: impl FnOnce(&mut Receiver) -> Vec<Action>,
        chunk: Option<&js_sys::ArrayBuffer>,
    ) {
        let actions = input(&mut t.machine.borrow_mut());
        self.apply_in(t, actions, chunk);
    }

    /// Not generic, so the wasm holds one copy whatever the input.
    fn apply_in(self, t: &Rc<Incoming>, actions: Vec<Action>, chunk: Option<&js_sys::ArrayBuffer>) {
        for action in actions {
            self.apply_one(t, action, chunk);
        }
        if t.machine.borrow().is_done() {
            drop(t.link.borrow_mut().take());
            self.retire(&t.id);
        }
    }

    fn apply_one(self, t: &Rc<Incoming>, action: Action, chunk: Option<&js_sys::ArrayBuffer>) {
        match action {
            Action::Send(message) => {
                if let Some(link) = t.link() {
                    link.send(&message);
                }
            }
            Action::Bye => self.signal(&t.room, &t.from, &t.id, SignalData::Bye),
            Action::Connect => self.connect_to_sender(t),
            Action::CloseLink => drop(t.link.borrow_mut().take()),
            Action::Open { file } => {
                *t.unhanded.borrow_mut() = js_sys::Array::new();
                t.handed.set(0);
                let t = t.clone();
                spawn_local(async move {
                    match self.open_writer(&t, file).await {
                        Ok(writer) => {
                            *t.writer.borrow_mut() = Some(Rc::new(writer));
                            self.drive_in(&t, |m| m.storage_ready(file), None);
                        }
                        Err(why) => self.drive_in(&t, |m| m.local_failure(why), None),
                    }
                });
            }
            Action::Write { file, offset, len } => {
                let Some(bytes) = chunk else { return };
                // Bytes accepted with nowhere to go would never be reported written: the
                // session could not finish, so it fails now.
                let Some(writer) = t.writer() else {
                    let why = "The received file has no storage.".to_owned();
                    return self.drive_in(t, |m| m.local_failure(why), None);
                };
                t.unhanded.borrow().push(bytes);
                let end = offset + len;
                let size = t.sizes.get(file as usize).copied().unwrap_or(0);
                if end - t.handed.get() >= WRITE_BLOCK || end == size {
                    let parts = t.unhanded.replace(js_sys::Array::new());
                    if let Err(why) = writer.write(&parts, t.handed.get()) {
                        return self.drive_in(t, |m| m.local_failure(why), None);
                    }
                    t.handed.set(end);
                }
            }
            Action::Commit { file } => {
                let Some(writer) = t.writer() else { return };
                let t = t.clone();
                spawn_local(async move {
                    let result = writer.finish().await.map(|stored| {
                        let url = web_sys::Url::create_object_url_with_blob(&stored).ok();
                        self.update_transfer(&t.id, |v| v.saved[file as usize] = url);
                    });
                    self.drive_in(&t, |m| m.committed(now_ms(), file, result), None);
                });
            }
            Action::Discard { .. } => {
                if let Some(writer) = t.writer.borrow_mut().take() {
                    spawn_local(async move { writer.discard().await });
                }
            }
            Action::Resumed { file, offset } => {
                leptos::logging::log!("transfer {} resumes file {file} at byte {offset}", t.id);
            }
            Action::Phase(phase) => self.set_stage(&t.id, phase.into()),
            Action::Verdict { .. } => {}
            Action::Finished(outcome) => {
                if outcome.is_ok() {
                    self.update_transfer(&t.id, |v| v.done_bytes = v.total_bytes);
                }
                self.set_stage(&t.id, outcome_stage(&outcome));
            }
        }
    }

    /// A new connection and offer; the old connection, if any, is closed.
    fn connect_to_sender(self, t: &Rc<Incoming>) {
        let generation = t.generation.get() + 1;
        t.generation.set(generation);
        let weak = Rc::downgrade(t);
        let on_event = Rc::new(move |event| {
            if let Some(t) = weak.upgrade()
                && t.generation.get() == generation
            {
                self.incoming_event(&t, event);
            }
        });
        let link = match Link::new(self, on_event) {
            Ok(link) => link,
            Err(e) => {
                leptos::logging::warn!("no connection for a transfer: {}", describe(&e));
                return self.drive_in(t, |m| m.channel_closed(now_ms()), None);
            }
        };
        *t.link.borrow_mut() = Some(link.clone());
        let t = t.clone();
        spawn_local(async move {
            match link.peer.offer(false).await {
                Ok(sdp) => self.signal(&t.room, &t.from, &t.id, SignalData::Offer { sdp }),
                // The attempt times out and the machine tries again.
                Err(e) => leptos::logging::warn!("could not offer a transfer: {}", describe(&e)),
            }
        });
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
                SignalData::Bye => self.drive_in(&t, Receiver::bye, None),
                SignalData::Offer { .. } | SignalData::Files { .. } | SignalData::Muted { .. } => {}
            }
        });
    }

    fn incoming_event(self, t: &Rc<Incoming>, event: LinkEvent) {
        match event {
            LinkEvent::Peer(PeerEvent::Signal(data)) => {
                self.signal(&t.room, &t.from, &t.id, data);
            }
            LinkEvent::Open => self.drive_in(t, |m| m.channel_open(now_ms()), None),
            LinkEvent::Bytes(bytes) => {
                // Hashed by the machine from one reused copy in wasm memory; the buffer itself
                // then moves to the writer's worker without another copy.
                let mut scratch = t.scratch.take();
                scratch.resize(bytes.byte_length() as usize, 0);
                js_sys::Uint8Array::new(&bytes).copy_to(&mut scratch[..]);
                self.drive_in(t, |m| m.chunk(&scratch), Some(&bytes));
                t.scratch.replace(scratch);
            }
            LinkEvent::Text(message) => self.drive_in(t, |m| m.message(now_ms(), message), None),
            LinkEvent::Peer(PeerEvent::State(
                RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed,
            ))
            | LinkEvent::Closed => self.drive_in(t, |m| m.channel_closed(now_ms()), None),
            LinkEvent::Peer(PeerEvent::State(RtcPeerConnectionState::Disconnected)) => {
                self.drive_in(t, |m| m.disconnected(now_ms()), None);
            }
            LinkEvent::Peer(PeerEvent::State(RtcPeerConnectionState::Connected)) => {
                self.drive_in(t, Receiver::connected, None);
            }
            LinkEvent::Peer(_) => {}
        }
    }

    /// A writer for file number `file`, whose progress the machine turns into acks.
    async fn open_writer(self, t: &Rc<Incoming>, file: u32) -> Result<Writer, String> {
        let weak = Rc::downgrade(t);
        let on_event = Rc::new(move |event| {
            let Some(t) = weak.upgrade() else { return };
            match event {
                WriteEvent::Written(end) => {
                    self.drive_in(&t, |m| m.written(now_ms(), file, end), None);
                }
                WriteEvent::Failed(why) => self.drive_in(&t, |m| m.local_failure(why), None),
            }
        });
        Writer::create(&t.storage_name(file), on_event).await
    }
}
