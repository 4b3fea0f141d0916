//! The sending side's driver: answers the receiver's offers, reads the asked-for bytes from the
//! `File` and sends them as fast as the channel drains. What to send, when, and when to give
//! up is decided by [`client_core::transfer::Sender`].

use super::super::Rtc;
use super::super::peer::{PeerEvent, describe};
use super::super::wait::sleep_ms;
use super::{Link, LinkEvent, now_ms, outcome_stage};
use client_core::transfer::send::{Action, Read};
use client_core::transfer::{FileDigest, Sender};
use leptos::task::spawn_local;
use shared::RoomId;
use shared::calls::SignalData;
use shared::transfer::FileMeta;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, RtcPeerConnectionState, RtcSdpType};

/// Bytes read from the file at a time.
const READ_BLOCK: u64 = 1024 * 1024;

async fn read(file: &File, start: u64, end: u64) -> Result<js_sys::ArrayBuffer, String> {
    let blob = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(|e| describe(&e))?;
    JsFuture::from(blob.array_buffer())
        .await
        .and_then(|b| b.dyn_into())
        .map_err(|_| format!("Could not read {}.", file.name()))
}

/// The SHA-256 of each offered file, computed once in the background for all recipients.
pub struct Digests {
    values: RefCell<Vec<Option<Result<String, String>>>>,
}

impl Digests {
    pub fn start(files: Vec<File>) -> Rc<Self> {
        let digests = Rc::new(Self {
            values: RefCell::new(vec![None; files.len()]),
        });
        let filling = digests.clone();
        spawn_local(async move {
            for (i, file) in files.iter().enumerate() {
                let digest = hash(file).await;
                filling.values.borrow_mut()[i] = Some(digest);
            }
        });
        digests
    }

    async fn get(&self, file: usize) -> Result<String, String> {
        loop {
            if let Some(Some(digest)) = self.values.borrow().get(file) {
                return digest.clone();
            }
            sleep_ms(50).await;
        }
    }
}

async fn hash(file: &File) -> Result<String, String> {
    let size = file.size() as u64;
    let mut digest = FileDigest::new();
    let mut at = 0;
    while at < size {
        let end = (at + READ_BLOCK).min(size);
        let block = js_sys::Uint8Array::new(&read(file, at, end).await?.into());
        digest.update(&block.to_vec());
        at = end;
    }
    Ok(digest.finish())
}

pub struct Outgoing {
    pub id: String,
    pub room: RoomId,
    pub to: String,
    files: Vec<File>,
    machine: RefCell<Sender>,
    link: RefCell<Option<Rc<Link>>>,
    /// Numbers the links, so events of a replaced one are ignored.
    generation: Cell<u32>,
    /// The link whose pump is running, if any (compared by address).
    pumping: Cell<usize>,
}

impl Outgoing {
    pub fn new(
        id: String,
        room: RoomId,
        to: String,
        files: Vec<File>,
        metas: Vec<FileMeta>,
    ) -> Rc<Self> {
        Rc::new(Self {
            id,
            room,
            to,
            files,
            machine: RefCell::new(Sender::new(metas, now_ms())),
            link: RefCell::new(None),
            generation: Cell::new(0),
            pumping: Cell::new(0),
        })
    }

    pub fn link(&self) -> Option<Rc<Link>> {
        self.link.borrow().clone()
    }

    /// Bytes the receiver confirmed stored, over all files.
    pub fn done_bytes(&self) -> u64 {
        self.machine.borrow().done_bytes()
    }
}

impl Rtc {
    /// Feeds the machine one input and carries out what it decides.
    pub(super) fn drive_out(
        self,
        t: &Rc<Outgoing>,
        input: impl FnOnce(&mut Sender) -> Vec<Action>,
    ) {
        let actions = input(&mut t.machine.borrow_mut());
        self.apply_out(t, actions);
    }

    /// Not generic, so the wasm holds one copy whatever the input.
    fn apply_out(self, t: &Rc<Outgoing>, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send(message) => {
                    if let Some(link) = t.link() {
                        link.send(&message);
                    }
                }
                Action::Bye => self.signal(&t.room, &t.to, &t.id, SignalData::Bye),
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
        if t.machine.borrow().is_done() {
            drop(t.link.borrow_mut().take());
            self.retire(&t.id);
        } else if let Some(link) = t.link() {
            // Acks and new requests may let the pump go on.
            link.wake.wake();
        }
    }

    /// Hands the machine each file's digest as the background hashing finds it.
    pub(super) fn feed_digests(self, t: &Rc<Outgoing>, digests: Rc<Digests>) {
        let weak = Rc::downgrade(t);
        let count = t.files.len();
        spawn_local(async move {
            for file in 0..count {
                let digest = digests.get(file).await;
                let Some(t) = weak.upgrade() else { return };
                self.drive_out(&t, |m| m.digest(file, digest));
            }
        });
    }

    pub(super) fn outgoing_signal(self, t: Rc<Outgoing>, data: SignalData) {
        spawn_local(async move {
            match data {
                SignalData::Offer { sdp } => self.answer_receiver(t, &sdp).await,
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
                SignalData::Bye => self.drive_out(&t, Sender::bye),
                SignalData::Answer { .. } | SignalData::Files { .. } | SignalData::Muted { .. } => {
                }
            }
        });
    }

    /// The receiver accepted (or reconnects to resume): a fresh connection replaces any old.
    async fn answer_receiver(self, t: Rc<Outgoing>, sdp: &str) {
        if t.machine.borrow().is_done() {
            return;
        }
        let generation = t.generation.get() + 1;
        t.generation.set(generation);
        let weak = Rc::downgrade(&t);
        let on_event = Rc::new(move |event| {
            if let Some(t) = weak.upgrade()
                && t.generation.get() == generation
            {
                self.outgoing_event(&t, event);
            }
        });
        let link = match Link::new(self, on_event) {
            Ok(link) => link,
            Err(e) => {
                leptos::logging::warn!("no connection for a transfer: {}", describe(&e));
                return;
            }
        };
        *t.link.borrow_mut() = Some(link.clone());
        self.drive_out(&t, |m| m.offered(now_ms()));
        let answered = async {
            link.peer.set_remote(RtcSdpType::Offer, sdp).await?;
            link.peer.answer().await
        };
        match answered.await {
            Ok(answer) => self.signal(&t.room, &t.to, &t.id, SignalData::Answer { sdp: answer }),
            // The receiver times out and offers again.
            Err(e) => leptos::logging::warn!("could not answer a transfer: {}", describe(&e)),
        }
    }

    fn outgoing_event(self, t: &Rc<Outgoing>, event: LinkEvent) {
        match event {
            LinkEvent::Peer(PeerEvent::Signal(data)) => self.signal(&t.room, &t.to, &t.id, data),
            LinkEvent::Peer(PeerEvent::State(RtcPeerConnectionState::Failed))
            | LinkEvent::Closed => self.drive_out(t, |m| m.channel_closed(now_ms())),
            LinkEvent::Open => {
                self.drive_out(t, Sender::channel_open);
                self.start_pump(t);
            }
            LinkEvent::Text(message) => self.drive_out(t, |m| m.message(message)),
            LinkEvent::Peer(_) | LinkEvent::Bytes(_) => {}
        }
    }

    fn start_pump(self, t: &Rc<Outgoing>) {
        let Some(link) = t.link() else { return };
        let key = Rc::as_ptr(&link) as usize;
        if t.pumping.replace(key) == key {
            return;
        }
        let t = t.clone();
        spawn_local(async move {
            if let Err(why) = self.pump(&t, &link).await {
                self.drive_out(&t, |m| m.local_failure(why));
            }
            if t.pumping.get() == key {
                t.pumping.set(0);
            }
        });
    }

    /// Reads and sends what the machine hands out over `link`, as long as it is the current
    /// one and open.
    async fn pump(self, t: &Rc<Outgoing>, link: &Rc<Link>) -> Result<(), String> {
        let chunk = link.chunk_bytes() as u64;
        loop {
            let current = t.link().is_some_and(|l| Rc::ptr_eq(&l, link));
            if !current || !link.is_open() || t.machine.borrow().is_done() {
                return Ok(());
            }
            let next = if link.congested() {
                None
            } else {
                t.machine.borrow_mut().poll_read(READ_BLOCK)
            };
            let Some(
                range @ Read {
                    file, start, end, ..
                },
            ) = next
            else {
                link.wake.wait().await;
                continue;
            };
            let block = read(&t.files[file as usize], start, end).await?;
            // The receiver may have asked for something else meanwhile.
            if !t.machine.borrow().is_current(&range) || !link.is_open() {
                continue;
            }
            let length = end - start;
            let mut at = 0;
            while at < length {
                let piece = chunk.min(length - at);
                let view = js_sys::Uint8Array::new_with_byte_offset_and_length(
                    &block,
                    at as u32,
                    piece as u32,
                );
                if link.channel.send_with_array_buffer_view(&view).is_err() {
                    return Ok(()); // closed under us: the receiver reconnects
                }
                at += piece;
            }
            self.drive_out(t, |m| m.sent(range));
        }
    }
}
