//! The sending side of one transfer session (see [`shared::transfer`]).
//!
//! Offer the files with a `files` signal, then answer the receiver's WebRTC offer. The
//! receiver drives: each `get {file, offset}` starts streaming that file from `offset` in
//! chunks no larger than the channel allows, paced two ways: the data channel's send buffer
//! (`writable()` waits while [`crate::link::SEND_BUFFER_BYTES`] are outstanding) and the
//! transfer window (never more than [`WINDOW_BYTES`] past the receiver's last `ack`). After the
//! last byte comes `end` with the whole file's SHA-256, computed before the offer from the file
//! itself, so a resumed transfer reports the same hash as a fresh one.
//!
//! A new WebRTC offer for this session (the receiver resuming) replaces the peer connection;
//! streaming restarts at the offset of the next `get`.

use crate::DropAfter;
use crate::link::{Link, LinkEvent, LinkEvents, LinkInbox, link_events};
use crate::output::{Event, emit};
use crate::signaling::Remote;
use bytes::BytesMut;
use sha2::{Digest, Sha256};
use shared::calls::{IceServer, SignalData};
use shared::transfer::{ChannelMessage, FileMeta, WINDOW_BYTES};
use std::io::{Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::RTCPeerConnectionState;

/// How long the receiver has to accept the offer.
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long to wait for the receiver to reconnect after the connection went away.
const RESUME_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a transfer did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the receiver declined")]
    Declined,
    #[error("the transfer was cancelled: {0}")]
    Cancelled(String),
    #[error("the receiver did not accept in time")]
    NotAccepted,
    #[error("the receiver did not come back after the connection dropped")]
    NotResumed,
    #[error("these files did not match on the receiver: {0:?}")]
    Mismatch(Vec<String>),
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
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, shared::transfer::hex(&hasher.finalize())))
}

/// The file being streamed on the current link.
struct Streaming {
    file: u32,
    size: u64,
    /// Next byte to send.
    pos: u64,
    /// Bytes the receiver acknowledged storing.
    acked: u64,
    reader: tokio::fs::File,
    chunk: usize,
    end_sent: bool,
}

impl Streaming {
    /// Bytes of the next chunk, if the window and the file allow one now.
    fn next_chunk(&self) -> Option<usize> {
        if self.end_sent || self.pos >= self.size {
            return None;
        }
        let len = (self.size - self.pos).min(self.chunk as u64);
        (self.pos + len - self.acked <= WINDOW_BYTES).then_some(len as usize)
    }
}

struct Session {
    remote: Remote,
    files: Vec<Outgoing>,
    /// The receiver's verdict per file.
    verified: Vec<Option<bool>>,
    ice_servers: Vec<IceServer>,
    signals: mpsc::Receiver<SignalData>,
    events: LinkEvents,
    inbox: LinkInbox,
    link: Option<Link>,
    generation: u64,
    /// The data channel of the current link is open.
    open: bool,
    streaming: Option<Streaming>,
    /// Until the channel opens, give up at this instant.
    deadline: Instant,
    drop_after: DropAfter,
}

enum Input {
    Signal(Option<SignalData>),
    Control(u64, LinkEvent),
    Channel(u64, Option<DataChannelEvent>),
    Writable(webrtc::error::Result<()>),
    Timeout,
}

/// What handling one input decided.
enum Step {
    Continue,
    Finished(Result<(), SendError>),
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
    let mut session = Session {
        verified: vec![None; files.len()],
        remote,
        files,
        ice_servers,
        signals,
        events,
        inbox,
        link: None,
        generation: 0,
        open: false,
        streaming: None,
        deadline: Instant::now() + ACCEPT_TIMEOUT,
        drop_after,
    };
    let result = session.run().await;
    if let Err(e) = &result {
        let reason = e.to_string();
        emit(&Event::Failed {
            session: &session.remote.session,
            reason: &reason,
        });
        // Tell the receiver, unless it ended it, or it already had its say on every file.
        if !matches!(
            e,
            SendError::Declined | SendError::Cancelled(_) | SendError::Mismatch(_)
        ) {
            session.cancel(&reason).await;
        }
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
        loop {
            let channel = self.link.as_ref().map(|l| l.channel.clone());
            let can_send = self.open
                && self
                    .streaming
                    .as_ref()
                    .is_some_and(|s| s.next_chunk().is_some());
            // Biased: acks, offers and state changes go before the next chunk.
            let input = tokio::select! {
                biased;
                signal = self.signals.recv() => Input::Signal(signal),
                Some((generation, event)) = self.inbox.control.recv() => Input::Control(generation, event),
                Some((generation, event)) = self.inbox.channel.recv() => Input::Channel(generation, event),
                ready = writable(channel), if can_send => Input::Writable(ready),
                _ = tokio::time::sleep_until(self.deadline), if !self.open => Input::Timeout,
            };
            let step = match input {
                Input::Signal(None) => Step::Finished(Err(SendError::SignalingClosed)),
                Input::Signal(Some(signal)) => self.on_signal(signal).await,
                Input::Control(generation, _) if generation != self.generation => Step::Continue,
                Input::Control(_, event) => self.on_link_event(event).await,
                Input::Channel(generation, _) if generation != self.generation => Step::Continue,
                Input::Channel(_, None | Some(DataChannelEvent::OnClose)) => {
                    self.lost("the data channel closed").await;
                    Step::Continue
                }
                Input::Channel(_, Some(DataChannelEvent::OnOpen)) => {
                    self.open = true;
                    Step::Continue
                }
                Input::Channel(_, Some(DataChannelEvent::OnMessage(message))) => {
                    if message.is_string {
                        self.on_message(&message.data).await
                    } else {
                        tracing::debug!("binary message from the receiver ignored");
                        Step::Continue
                    }
                }
                Input::Channel(_, Some(_)) => Step::Continue,
                Input::Writable(Ok(())) => self.send_chunk().await,
                Input::Writable(Err(_)) => {
                    self.lost("the data channel closed").await;
                    Step::Continue
                }
                Input::Timeout if self.generation == 0 => {
                    Step::Finished(Err(SendError::NotAccepted))
                }
                Input::Timeout => Step::Finished(Err(SendError::NotResumed)),
            };
            if let Step::Finished(result) = step {
                return result;
            }
        }
    }

    async fn on_signal(&mut self, signal: SignalData) -> Step {
        match signal {
            // The receiver accepts, or resumes: a new peer connection either way.
            SignalData::Offer { sdp } => {
                self.close_link().await;
                self.generation += 1;
                self.deadline = Instant::now() + RESUME_TIMEOUT;
                let mut link =
                    match Link::new(self.generation, &self.ice_servers, &self.events).await {
                        Ok(link) => link,
                        Err(e) => {
                            tracing::warn!(error = %e, "could not create a peer connection");
                            return Step::Continue;
                        }
                    };
                let answer = match link.answer(sdp).await {
                    Ok(answer) => answer,
                    Err(e) => {
                        // The receiver times out and offers again.
                        tracing::warn!(error = %e, "could not answer the offer");
                        return Step::Continue;
                    }
                };
                self.link = Some(link);
                if self.remote.signal(answer).await.is_err() {
                    return Step::Finished(Err(SendError::SignalingClosed));
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
            SignalData::Bye if self.generation == 0 => {
                return Step::Finished(Err(SendError::Declined));
            }
            SignalData::Bye => {
                return Step::Finished(Err(SendError::Cancelled("the receiver hung up".into())));
            }
            other => tracing::debug!(?other, "unexpected signal ignored"),
        }
        Step::Continue
    }

    async fn on_link_event(&mut self, event: LinkEvent) -> Step {
        let Some(link) = self.link.as_ref() else {
            return Step::Continue;
        };
        let signal = match event {
            LinkEvent::Candidate(init) => link.candidate_signal(Some(init)),
            LinkEvent::GatheringDone => link.candidate_signal(None),
            // Disconnected is left alone: the receiver decides when to resume.
            LinkEvent::State(RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) => {
                self.lost("the peer connection failed").await;
                return Step::Continue;
            }
            LinkEvent::State(_) => return Step::Continue,
        };
        if self.remote.signal(signal).await.is_err() {
            return Step::Finished(Err(SendError::SignalingClosed));
        }
        Step::Continue
    }

    async fn on_message(&mut self, data: &[u8]) -> Step {
        let parsed = std::str::from_utf8(data)
            .ok()
            .and_then(|text| serde_json::from_str::<ChannelMessage>(text).ok());
        match parsed {
            Some(ChannelMessage::Get { file, offset }) => return self.on_get(file, offset).await,
            Some(ChannelMessage::Ack { file, offset }) => {
                if let Some(s) = self.streaming.as_mut().filter(|s| s.file == file) {
                    s.acked = s.acked.max(offset.min(s.pos));
                }
            }
            Some(ChannelMessage::Verified { file, ok }) => return self.on_verified(file, ok).await,
            Some(ChannelMessage::Cancel { reason }) => {
                return Step::Finished(Err(SendError::Cancelled(
                    reason.unwrap_or_else(|| "the receiver cancelled".into()),
                )));
            }
            Some(ChannelMessage::End { .. }) => tracing::debug!("end from the receiver ignored"),
            None => tracing::warn!("unreadable channel message ignored"),
        }
        Step::Continue
    }

    async fn on_get(&mut self, index: u32, offset: u64) -> Step {
        let Some(file) = self.files.get(index as usize) else {
            return Step::Finished(Err(SendError::Cancelled(format!(
                "the receiver asked for file {index}, which was not offered"
            ))));
        };
        if offset > file.meta.size {
            return Step::Finished(Err(SendError::Cancelled(
                "the receiver asked past the end of a file".into(),
            )));
        }
        let reader = async {
            let mut reader = tokio::fs::File::open(&file.path).await?;
            reader.seek(SeekFrom::Start(offset)).await?;
            Ok::<_, std::io::Error>(reader)
        }
        .await;
        let reader = match reader {
            Ok(reader) => reader,
            Err(source) => {
                return Step::Finished(Err(SendError::Read {
                    path: file.path.clone(),
                    source,
                }));
            }
        };
        let chunk = match self.link.as_ref() {
            Some(link) => link.chunk_bytes().await,
            None => return Step::Continue,
        };
        tracing::info!(file = index, offset, chunk, "streaming");
        self.streaming = Some(Streaming {
            file: index,
            size: file.meta.size,
            pos: offset,
            acked: offset,
            reader,
            chunk,
            end_sent: false,
        });
        if offset == file.meta.size {
            return self.send_end().await;
        }
        Step::Continue
    }

    async fn send_chunk(&mut self) -> Step {
        let (Some(link), Some(streaming)) = (self.link.as_ref(), self.streaming.as_mut()) else {
            return Step::Continue;
        };
        let Some(len) = streaming.next_chunk() else {
            return Step::Continue;
        };
        let mut buffer = BytesMut::zeroed(len);
        if let Err(source) = streaming.reader.read_exact(&mut buffer).await {
            let path = self.files[streaming.file as usize].path.clone();
            return Step::Finished(Err(SendError::Read { path, source }));
        }
        if link.channel.send(buffer).await.is_err() {
            self.lost("the data channel closed").await;
            return Step::Continue;
        }
        streaming.pos += len as u64;
        let done = streaming.pos == streaming.size;
        if self.drop_after.record(len as u64) {
            emit(&Event::Dropped {
                session: &self.remote.session,
            });
            self.lost("--drop-after").await;
            return Step::Continue;
        }
        if done {
            return self.send_end().await;
        }
        Step::Continue
    }

    async fn send_end(&mut self) -> Step {
        let (Some(link), Some(streaming)) = (self.link.as_ref(), self.streaming.as_mut()) else {
            return Step::Continue;
        };
        streaming.end_sent = true;
        let end = ChannelMessage::End {
            file: streaming.file,
            sha256: self.files[streaming.file as usize].sha256.clone(),
        };
        let text = serde_json::to_string(&end).unwrap_or_default();
        if link.channel.send_text(&text).await.is_err() {
            self.lost("the data channel closed").await;
        }
        Step::Continue
    }

    async fn on_verified(&mut self, index: u32, ok: bool) -> Step {
        let Some(file) = self.files.get(index as usize) else {
            return Step::Continue;
        };
        self.verified[index as usize] = Some(ok);
        if ok {
            emit(&Event::Sent {
                session: &self.remote.session,
                name: &file.meta.name,
                size: file.meta.size,
            });
        } else {
            tracing::warn!(file = %file.meta.name, "the receiver's copy did not match");
        }
        if self.streaming.as_ref().is_some_and(|s| s.file == index) {
            self.streaming = None;
        }
        if self.verified.iter().any(Option::is_none) {
            return Step::Continue;
        }
        // Everything has a verdict. No `bye`: it means decline or cancel, and the browser
        // discards what it received on one. Closing the connection (in `run`) ends it.
        let mismatched: Vec<String> = self
            .files
            .iter()
            .zip(&self.verified)
            .filter(|(_, ok)| **ok != Some(true))
            .map(|(f, _)| f.meta.name.clone())
            .collect();
        Step::Finished(if mismatched.is_empty() {
            Ok(())
        } else {
            Err(SendError::Mismatch(mismatched))
        })
    }

    /// The current link is gone: wait for the receiver to offer again.
    async fn lost(&mut self, why: &str) {
        if self.link.is_none() {
            return;
        }
        tracing::info!(session = %self.remote.session, why, "connection lost; waiting for the receiver");
        self.close_link().await;
        self.deadline = Instant::now() + RESUME_TIMEOUT;
    }

    async fn cancel(&mut self, reason: &str) {
        if let Some(link) = self.link.as_ref() {
            let cancel = ChannelMessage::Cancel {
                reason: Some(reason.to_owned()),
            };
            let text = serde_json::to_string(&cancel).unwrap_or_default();
            let _ = link.channel.send_text(&text).await;
        }
        let _ = self.remote.signal(SignalData::Bye).await;
    }

    async fn close_link(&mut self) {
        self.open = false;
        self.streaming = None;
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
