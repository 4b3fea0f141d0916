//! The sending side: answers the receiver's offer, then streams what it asks for, as fast as
//! the channel drains and never more than the window past the receiver's last ack.

use super::super::Rtc;
use super::super::peer::{PeerEvent, describe};
use super::super::wait::sleep_ms;
use super::{Link, LinkEvent, Stage};
use leptos::task::spawn_local;
use sha2::{Digest, Sha256};
use shared::RoomId;
use shared::calls::SignalData;
use shared::transfer::{ChannelMessage, FileMeta, WINDOW_BYTES, hex};
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
    let mut hasher = Sha256::new();
    let mut at = 0;
    while at < size {
        let end = (at + READ_BLOCK).min(size);
        let block = js_sys::Uint8Array::new(&read(file, at, end).await?.into());
        hasher.update(block.to_vec());
        at = end;
    }
    Ok(hex(&hasher.finalize()))
}

pub struct Outgoing {
    pub id: String,
    pub room: RoomId,
    pub to: String,
    files: Vec<File>,
    metas: Vec<FileMeta>,
    digests: Rc<Digests>,
    link: RefCell<Option<Rc<Link>>>,
    /// What the receiver asked for last: file index, next offset to send, offset it stored.
    file: Cell<usize>,
    next: Cell<u64>,
    acked: Cell<u64>,
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
        digests: Rc<Digests>,
    ) -> Rc<Self> {
        Rc::new(Self {
            id,
            room,
            to,
            files,
            metas,
            digests,
            link: RefCell::new(None),
            file: Cell::new(0),
            next: Cell::new(0),
            acked: Cell::new(0),
            pumping: Cell::new(0),
        })
    }

    pub fn link(&self) -> Option<Rc<Link>> {
        self.link.borrow().clone()
    }

    /// Bytes the receiver confirmed stored, over all files.
    pub fn done_bytes(&self) -> u64 {
        let before: u64 = self.metas[..self.file.get()].iter().map(|m| m.size).sum();
        before + self.acked.get()
    }
}

impl Rtc {
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
                SignalData::Bye => {
                    let stage = if self.stage_of(&t.id) == Some(Stage::Waiting) {
                        Stage::Declined
                    } else {
                        Stage::Cancelled
                    };
                    self.set_stage(&t.id, stage);
                    self.retire(&t.id);
                }
                SignalData::Answer { .. } | SignalData::Files { .. } => {}
            }
        });
    }

    /// The receiver accepted (or reconnects to resume): a fresh connection replaces any old.
    async fn answer_receiver(self, t: Rc<Outgoing>, sdp: &str) {
        let id = t.id.clone();
        let weak = Rc::downgrade(&t);
        let on_event = Rc::new(move |event| {
            if let Some(t) = weak.upgrade() {
                self.outgoing_event(&t, event);
            }
        });
        let link = match Link::new(self, on_event) {
            Ok(link) => link,
            Err(e) => {
                self.set_stage(&id, Stage::Failed(describe(&e)));
                return;
            }
        };
        *t.link.borrow_mut() = Some(link.clone());
        self.set_stage(&id, Stage::Connecting);
        let answered = async {
            link.peer.set_remote(RtcSdpType::Offer, sdp).await?;
            link.peer.answer().await
        };
        match answered.await {
            Ok(answer) => self.signal(&t.room, &t.to, &id, SignalData::Answer { sdp: answer }),
            Err(e) => leptos::logging::warn!("could not answer a transfer: {}", describe(&e)),
        }
    }

    fn outgoing_event(self, t: &Rc<Outgoing>, event: LinkEvent) {
        match event {
            LinkEvent::Peer(PeerEvent::Signal(data)) => self.signal(&t.room, &t.to, &t.id, data),
            LinkEvent::Peer(PeerEvent::State(RtcPeerConnectionState::Failed))
            | LinkEvent::Closed => {
                // The receiver reconnects and says where to resume.
                if self.stage_of(&t.id).is_some_and(|s| !s.is_over()) {
                    self.set_stage(&t.id, Stage::Resuming);
                }
            }
            LinkEvent::Text(message) => self.on_receiver_message(t, message),
            LinkEvent::Peer(_) | LinkEvent::Open | LinkEvent::Bytes(_) => {}
        }
    }

    fn on_receiver_message(self, t: &Rc<Outgoing>, message: ChannelMessage) {
        match message {
            ChannelMessage::Get { file, offset } => {
                let file = file as usize;
                let Some(meta) = t.metas.get(file) else {
                    return;
                };
                t.file.set(file);
                t.next.set(offset.min(meta.size));
                t.acked.set(offset.min(meta.size));
                self.set_stage(&t.id, Stage::Moving);
                self.start_pump(t);
            }
            ChannelMessage::Ack { file, offset } => {
                if file as usize == t.file.get() && offset > t.acked.get() {
                    t.acked.set(offset);
                    if let Some(link) = t.link() {
                        link.wake.wake();
                    }
                }
            }
            ChannelMessage::Verified { file, ok } => {
                let file = file as usize;
                if !ok {
                    self.set_stage(
                        &t.id,
                        Stage::Failed("The file arrived damaged and was discarded.".to_owned()),
                    );
                    self.retire(&t.id);
                } else if file + 1 == t.metas.len() {
                    t.file.set(file);
                    t.acked.set(t.metas[file].size);
                    self.update_transfer(&t.id, |v| v.done_bytes = v.total_bytes);
                    self.set_stage(&t.id, Stage::Done);
                    self.retire(&t.id);
                }
            }
            ChannelMessage::Cancel { .. } => {
                self.set_stage(&t.id, Stage::Cancelled);
                self.retire(&t.id);
            }
            ChannelMessage::End { .. } => {}
        }
    }

    fn start_pump(self, t: &Rc<Outgoing>) {
        let Some(link) = t.link() else { return };
        let key = Rc::as_ptr(&link) as usize;
        if t.pumping.replace(key) == key {
            link.wake.wake(); // the running pump picks up the new position
            return;
        }
        let t = t.clone();
        spawn_local(async move {
            if let Err(why) = self.pump(&t, &link).await {
                self.set_stage(&t.id, Stage::Failed(why));
                self.retire(&t.id);
            }
            if t.pumping.get() == key {
                t.pumping.set(0);
            }
        });
    }

    /// Sends the asked-for file from the asked-for offset over `link`, until the end (then
    /// `end`), a new link, or the transfer's end.
    async fn pump(self, t: &Rc<Outgoing>, link: &Rc<Link>) -> Result<(), String> {
        let chunk = link.chunk_bytes() as u64;
        loop {
            let current = t.link().is_some_and(|l| Rc::ptr_eq(&l, link));
            if !current || !link.is_open() || self.stage_of(&t.id) != Some(Stage::Moving) {
                return Ok(());
            }
            let file = t.file.get();
            let size = t.metas[file].size;
            let next = t.next.get();
            if next >= size {
                let sha256 = t.digests.get(file).await?;
                if t.file.get() == file && t.next.get() >= size && link.is_open() {
                    link.send(&ChannelMessage::End {
                        file: file as u32,
                        sha256,
                    });
                }
                return Ok(());
            }
            if link.congested() || next - t.acked.get() >= WINDOW_BYTES {
                link.wake.wait().await;
                continue;
            }
            let end = (next + READ_BLOCK)
                .min(size)
                .min(t.acked.get() + WINDOW_BYTES);
            let block = read(&t.files[file], next, end).await?;
            // The receiver may have asked for something else meanwhile.
            if t.file.get() != file || t.next.get() != next || !link.is_open() {
                continue;
            }
            let mut at = 0;
            let length = end - next;
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
            t.next.set(end);
        }
    }
}
