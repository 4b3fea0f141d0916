//! The sending side of one transfer session: a driver around
//! [`client_core::transfer::Sender`], which decides everything the protocol
//! ([`shared::transfer`]) asks of a sender.
//!
//! Offer the files with a `files` signal (their SHA-256 computed first, by [`prepare`]), then
//! answer each WebRTC offer of the receiver with a new peer connection. While the channel is
//! open and the machine hands out bytes, read them from the file and send them, paced by the
//! data channel's send buffer (`writable()` waits while [`crate::link::SEND_BUFFER_BYTES`] are
//! outstanding); the machine keeps to the window and says when to end or give up.

use crate::link::{Link, LinkEvent, LinkEvents, LinkInbox, link_events};
use crate::output::{Event, emit};
use crate::signaling::Remote;
use crate::{Clock, DropAfter};
use bytes::BytesMut;
use client_core::transfer::send::{Action, Read};
use client_core::transfer::{Failure, FileDigest, Sender};
use shared::calls::{IceServer, SignalData};
use shared::transfer::{ChannelMessage, FileMeta};
use std::io::{Read as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::RTCPeerConnectionState;

/// Why a transfer did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Declined, cancelled, timed out, mismatched, a protocol error: the machine's verdict.
    #[error("{0}")]
    Transfer(#[from] Failure),
    #[error("the server connection closed")]
    SignalingClosed,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A file to send, with its whole-file hash.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub meta: FileMeta,
    pub path: PathBuf,
    pub sha256: String,
}

/// Reads each file once to learn its size and SHA-256 (off the async threads).
pub async fn prepare(paths: &[PathBuf]) -> Result<Vec<Outgoing>, SendError> {
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let owned = path.clone();
        let hashed = tokio::task::spawn_blocking(move || hash_file(&owned))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
        let (size, sha256) = hashed.map_err(|source| SendError::Read {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        files.push(Outgoing {
            meta: FileMeta::offered(&name, size, String::new()),
            path: path.clone(),
            sha256,
        });
    }
    Ok(files)
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut digest = FileDigest::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        digest.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, digest.finish()))
}

/// The file being read, and where.
struct Reader {
    file: u32,
    pos: u64,
    handle: tokio::fs::File,
}

struct Session {
    remote: Remote,
    files: Vec<Outgoing>,
    machine: Sender,
    clock: Clock,
    ice_servers: Vec<IceServer>,
    signals: mpsc::Receiver<SignalData>,
    events: LinkEvents,
    inbox: LinkInbox,
    link: Option<Link>,
    generation: u64,
    /// The largest binary message of the current link.
    chunk: usize,
    reader: Option<Reader>,
    outcome: Option<Result<(), Failure>>,
    drop_after: DropAfter,
}

enum Input {
    Signal(Option<SignalData>),
    Control(u64, LinkEvent),
    Channel(u64, Option<DataChannelEvent>),
    Writable(webrtc::error::Result<()>),
    Tick,
}

/// Offers `files` to `remote` and serves the transfer until every file is verified.
pub async fn run(
    remote: Remote,
    files: Vec<Outgoing>,
    ice_servers: Vec<IceServer>,
    signals: mpsc::Receiver<SignalData>,
    drop_after: DropAfter,
) -> Result<(), SendError> {
    let (events, inbox) = link_events();
    let clock = Clock::start();
    let mut machine = Sender::new(files.iter().map(|f| f.meta.clone()).collect(), clock.now());
    for (i, file) in files.iter().enumerate() {
        machine.digest(i, Ok(file.sha256.clone()));
    }
    let mut session = Session {
        remote,
        files,
        machine,
        clock,
        ice_servers,
        signals,
        events,
        inbox,
        link: None,
        generation: 0,
        chunk: shared::transfer::CHUNK_BYTES,
        reader: None,
        outcome: None,
        drop_after,
    };
    let result = session.run().await;
    if let Err(e) = &result {
        emit(&Event::Failed {
            session: &session.remote.session,
            reason: &e.to_string(),
        });
    }
    session.close_link().await;
    result
}

impl Session {
    async fn run(&mut self) -> Result<(), SendError> {
        let offer = SignalData::Files {
            files: self.files.iter().map(|f| f.meta.clone()).collect(),
        };
        self.remote
            .signal(offer)
            .await
            .map_err(|_| SendError::SignalingClosed)?;
        while !self.machine.is_done() {
            let channel = self.link.as_ref().map(|l| l.channel.clone());
            let can_send = self.machine.ready_to_send();
            let deadline = self.machine.deadline().map(|ms| self.clock.at(ms));
            // Biased: acks, offers and state changes go before the next chunk.
            let input = tokio::select! {
                biased;
                signal = self.signals.recv() => Input::Signal(signal),
                Some((generation, event)) = self.inbox.control.recv() => Input::Control(generation, event),
                Some((generation, event)) = self.inbox.channel.recv() => Input::Channel(generation, event),
                ready = writable(channel), if can_send => Input::Writable(ready),
                _ = sleep_until(deadline), if deadline.is_some() => Input::Tick,
            };
            let now = self.clock.now();
            match input {
                Input::Signal(None) => {
                    let actions = self
                        .machine
                        .local_failure("the server connection closed".into());
                    self.apply(actions).await;
                    return Err(SendError::SignalingClosed);
                }
                Input::Signal(Some(signal)) => self.on_signal(signal).await,
                Input::Control(generation, _) | Input::Channel(generation, _)
                    if generation != self.generation => {}
                Input::Control(_, event) => self.on_link_event(event).await,
                Input::Channel(_, None | Some(DataChannelEvent::OnClose)) => {
                    self.lost("the data channel closed").await;
                }
                Input::Channel(_, Some(DataChannelEvent::OnOpen)) => {
                    if let Some(link) = self.link.as_ref() {
                        self.chunk = link.chunk_bytes().await;
                    }
                    let actions = self.machine.channel_open();
                    self.apply(actions).await;
                }
                Input::Channel(_, Some(DataChannelEvent::OnMessage(message))) => {
                    match crate::link::control_message(&message) {
                        Some(message) => {
                            let actions = self.machine.message(message);
                            self.apply(actions).await;
                        }
                        None => tracing::warn!("unreadable channel message ignored"),
                    }
                }
                Input::Channel(_, Some(_)) => {}
                Input::Writable(Ok(())) => self.send_next().await,
                Input::Writable(Err(_)) => self.lost("the data channel closed").await,
                Input::Tick => {
                    let actions = self.machine.tick(now);
                    self.apply(actions).await;
                }
            }
        }
        match self.outcome.take() {
            Some(Err(failure)) => Err(failure.into()),
            _ => Ok(()),
        }
    }

    /// Carries out what the machine decided.
    async fn apply(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send(message) => self.send_text(&message).await,
                Action::Bye => {
                    let _ = self.remote.signal(SignalData::Bye).await;
                }
                Action::Phase(phase) => {
                    tracing::info!(session = %self.remote.session, ?phase, "transfer");
                }
                Action::Verdict { file, ok } => {
                    let meta = &self.files[file as usize].meta;
                    if ok {
                        emit(&Event::Sent {
                            session: &self.remote.session,
                            name: &meta.name,
                            size: meta.size,
                        });
                    } else {
                        tracing::warn!(file = %meta.name, "the receiver's copy did not match");
                    }
                }
                // No `bye` on success: the receiver closes after its last `verified`, or when
                // this side closes the connection (in `run`).
                Action::Finished(outcome) => self.outcome = Some(outcome),
            }
        }
    }

    async fn send_text(&self, message: &ChannelMessage) {
        if let Some(link) = self.link.as_ref() {
            let text = serde_json::to_string(message).unwrap_or_default();
            if let Err(e) = link.channel.send_text(&text).await {
                // The close event follows.
                tracing::debug!(error = %e, "channel send failed");
            }
        }
    }

    async fn on_signal(&mut self, signal: SignalData) {
        match signal {
            // The receiver accepts, or resumes: a new peer connection either way.
            SignalData::Offer { sdp } => {
                self.close_link().await;
                self.generation += 1;
                let actions = self.machine.offered(self.clock.now());
                self.apply(actions).await;
                let mut link =
                    match Link::new(self.generation, &self.ice_servers, &self.events).await {
                        Ok(link) => link,
                        Err(e) => {
                            // The receiver's attempt times out and it offers again.
                            tracing::warn!(error = %e, "could not create a peer connection");
                            return;
                        }
                    };
                let answer = match link.answer(sdp).await {
                    Ok(answer) => answer,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not answer the offer");
                        return;
                    }
                };
                self.link = Some(link);
                if self.remote.signal(answer).await.is_err() {
                    tracing::warn!("the answer could not be signalled");
                }
                tracing::info!(session = %self.remote.session, generation = self.generation, "answered");
            }
            SignalData::Candidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            } => {
                if let Some(link) = self.link.as_mut() {
                    link.remote_candidate(candidate, sdp_mid, sdp_m_line_index)
                        .await;
                }
            }
            SignalData::Bye => {
                let actions = self.machine.bye();
                self.apply(actions).await;
            }
            other => tracing::debug!(?other, "unexpected signal ignored"),
        }
    }

    async fn on_link_event(&mut self, event: LinkEvent) {
        let Some(link) = self.link.as_ref() else {
            return;
        };
        let signal = match event {
            LinkEvent::Candidate(init) => link.candidate_signal(Some(init)),
            LinkEvent::GatheringDone => link.candidate_signal(None),
            // Disconnected is left alone: the receiver decides when to resume.
            LinkEvent::State(RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) => {
                return self.lost("the peer connection failed").await;
            }
            LinkEvent::State(_) => return,
        };
        if self.remote.signal(signal).await.is_err() {
            tracing::warn!("a candidate could not be signalled");
        }
    }

    /// Reads and sends the next bytes the machine hands out.
    async fn send_next(&mut self) {
        let Some(read) = self.machine.poll_read(self.chunk as u64) else {
            return;
        };
        let buffer = match self.read(read).await {
            Ok(buffer) => buffer,
            Err(e) => {
                let path = self.files[read.file as usize].path.display();
                let actions = self
                    .machine
                    .local_failure(format!("cannot read {path}: {e}"));
                return self.apply(actions).await;
            }
        };
        let Some(link) = self.link.as_ref() else {
            return;
        };
        if link.channel.send(buffer).await.is_err() {
            return self.lost("the data channel closed").await;
        }
        let actions = self.machine.sent(read);
        self.apply(actions).await;
        if self.drop_after.record(read.end - read.start) {
            emit(&Event::Dropped {
                session: &self.remote.session,
            });
            self.lost("--drop-after").await;
        }
    }

    /// Bytes `[start, end)` of a file, from the open reader when it is there already.
    async fn read(&mut self, read: Read) -> std::io::Result<BytesMut> {
        let reader = match self.reader.take() {
            Some(reader) if reader.file == read.file => reader,
            _ => Reader {
                file: read.file,
                pos: 0,
                handle: tokio::fs::File::open(&self.files[read.file as usize].path).await?,
            },
        };
        let mut reader = reader;
        if reader.pos != read.start {
            reader.handle.seek(SeekFrom::Start(read.start)).await?;
        }
        let mut buffer = BytesMut::zeroed((read.end - read.start) as usize);
        reader.handle.read_exact(&mut buffer).await?;
        reader.pos = read.end;
        self.reader = Some(reader);
        Ok(buffer)
    }

    /// The current link is gone: the machine waits for the receiver to offer again.
    async fn lost(&mut self, why: &str) {
        if self.link.is_none() {
            return;
        }
        tracing::info!(session = %self.remote.session, why, "connection lost; waiting for the receiver");
        self.close_link().await;
        let actions = self.machine.channel_closed(self.clock.now());
        self.apply(actions).await;
    }

    async fn close_link(&mut self) {
        if let Some(mut link) = self.link.take() {
            link.close().await;
        }
    }
}

/// Resolves when the channel can take another chunk; never, without a channel.
async fn writable(channel: Option<Arc<dyn DataChannel>>) -> webrtc::error::Result<()> {
    match channel {
        Some(channel) => channel.writable().await,
        None => std::future::pending().await,
    }
}

/// Resolves at `deadline`; never, without one.
pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
