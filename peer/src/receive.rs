//! The receiving side of one transfer session: a driver around
//! [`client_core::transfer::Receiver`], which decides everything the protocol
//! ([`shared::transfer`]) asks of a receiver: when to offer, ask, ack, verify, resume or give up.
//!
//! This side does the I/O: peer connections and their offers, each file written to `NAME.part`
//! as its chunks arrive (memory holds at most the queues, never the file), flushed, synced and
//! renamed into place once the machine found its SHA-256 right.

use crate::link::{Link, LinkEvent, LinkEvents, LinkInbox, link_events};
use crate::output::{Event, emit};
use crate::send::sleep_until;
use crate::signaling::Remote;
use crate::{Clock, DropAfter};
use client_core::transfer::receive::Action;
use shared::calls::{IceServer, SignalData};
use shared::transfer::FileMeta;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannelEvent;
use webrtc::peer_connection::RTCPeerConnectionState;

/// Settings shared by every receiving session of the process.
pub struct Receiver {
    pub dir: PathBuf,
    /// Paths handed out to files not yet finished, so two offers never share a name.
    pub taken: Mutex<HashSet<PathBuf>>,
    pub drop_after: Mutex<DropAfter>,
}

/// What a session tells the main loop.
#[derive(Debug)]
pub enum Report {
    Verified,
    /// The session is over; `ok` when every file was verified.
    Finished {
        key: (String, String),
        ok: bool,
    },
}

/// One offered file on its way to disk.
struct Incoming {
    meta: FileMeta,
    /// Where it goes once verified.
    path: PathBuf,
    /// Where it is written meanwhile.
    part: PathBuf,
    file: Option<tokio::fs::File>,
}

struct Session {
    remote: Remote,
    shared: Arc<Receiver>,
    /// Asked for this session: TURN credentials come only for a transfer with someone.
    ice_servers: Vec<IceServer>,
    files: Vec<Incoming>,
    machine: client_core::transfer::Receiver,
    clock: Clock,
    signals: mpsc::Receiver<SignalData>,
    events: LinkEvents,
    inbox: LinkInbox,
    link: Option<Link>,
    generation: u64,
    ok: bool,
    reports: mpsc::Sender<Report>,
}

/// Runs one accepted offer to its end and reports [`Report::Finished`].
pub async fn run(
    remote: Remote,
    files: Vec<FileMeta>,
    shared: Arc<Receiver>,
    ice_servers: Vec<IceServer>,
    signals: mpsc::Receiver<SignalData>,
    reports: mpsc::Sender<Report>,
) {
    let key = (remote.user.clone(), remote.session.clone());
    let incoming = {
        let mut taken = shared.taken.lock().unwrap_or_else(|e| e.into_inner());
        files
            .iter()
            .map(|meta| {
                let path = unique_path(&shared.dir, &meta.safe_name(), &mut taken);
                Incoming {
                    part: part_path(&path),
                    path,
                    meta: meta.clone(),
                    file: None,
                }
            })
            .collect()
    };
    let (events, inbox) = link_events();
    let mut session = Session {
        remote,
        shared,
        ice_servers,
        files: incoming,
        machine: client_core::transfer::Receiver::new(files),
        clock: Clock::start(),
        signals,
        events,
        inbox,
        link: None,
        generation: 0,
        ok: false,
        reports,
    };
    session.run().await;
    session.close_link().await;
    session.release_names();
    let ok = session.ok;
    let _ = session.reports.send(Report::Finished { key, ok }).await;
}

impl Session {
    async fn run(&mut self) {
        let actions = self.machine.start(self.clock.now());
        self.apply(actions, None).await;
        while !self.machine.is_done() {
            let deadline = self.machine.deadline().map(|ms| self.clock.at(ms));
            tokio::select! {
                signal = self.signals.recv() => match signal {
                    None => {
                        let why = "the server connection closed".to_owned();
                        let actions = self.machine.local_failure(why);
                        self.apply(actions, None).await;
                    }
                    Some(signal) => self.on_signal(signal).await,
                },
                Some((generation, event)) = self.inbox.control.recv() => {
                    if generation == self.generation {
                        self.on_link_event(event).await;
                    }
                }
                Some((generation, event)) = self.inbox.channel.recv() => {
                    if generation == self.generation {
                        self.on_channel_event(event).await;
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    let actions = self.machine.tick(self.clock.now());
                    self.apply(actions, None).await;
                }
            }
        }
    }

    /// Carries out what the machine decided, and what it decides in answer; `chunk` is the
    /// bytes it was just given, for its write.
    async fn apply(&mut self, actions: Vec<Action>, chunk: Option<&[u8]>) {
        let mut queue = VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            let now = self.clock.now();
            let more = match action {
                Action::Send(message) => {
                    if let Some(link) = self.link.as_ref() {
                        let text = serde_json::to_string(&message).unwrap_or_default();
                        if let Err(e) = link.channel.send_text(&text).await {
                            // The close event follows.
                            tracing::debug!(error = %e, "channel send failed");
                        }
                    }
                    continue;
                }
                Action::Bye => {
                    let _ = self.remote.signal(SignalData::Bye).await;
                    continue;
                }
                Action::Connect => self.connect().await,
                Action::CloseLink => {
                    self.close_link().await;
                    continue;
                }
                Action::Open { file } => {
                    let incoming = &mut self.files[file as usize];
                    match tokio::fs::File::create(&incoming.part).await {
                        Ok(handle) => {
                            incoming.file = Some(handle);
                            self.machine.storage_ready(file)
                        }
                        Err(e) => self
                            .machine
                            .local_failure(format!("cannot create a file: {e}")),
                    }
                }
                Action::Write { file, offset, len } => {
                    let incoming = &mut self.files[file as usize];
                    let (Some(bytes), Some(handle)) = (chunk, incoming.file.as_mut()) else {
                        continue;
                    };
                    match handle.write_all(bytes).await {
                        Ok(()) => self.machine.written(now, file, offset + len),
                        Err(e) => self
                            .machine
                            .local_failure(format!("cannot write the file: {e}")),
                    }
                }
                Action::Commit { file } => {
                    let result = self.commit(file).await;
                    self.machine.committed(now, file, result)
                }
                Action::Discard { file } => {
                    let incoming = &mut self.files[file as usize];
                    incoming.file = None;
                    let _ = tokio::fs::remove_file(&incoming.part).await;
                    continue;
                }
                Action::Resumed { file, offset } => {
                    emit(&Event::Resumed {
                        session: &self.remote.session,
                        file,
                        offset,
                    });
                    continue;
                }
                Action::Phase(phase) => {
                    tracing::info!(session = %self.remote.session, ?phase, "transfer");
                    continue;
                }
                Action::Verdict { file, ok, sha256 } => {
                    let incoming = &self.files[file as usize];
                    if ok {
                        emit(&Event::Received {
                            session: &self.remote.session,
                            name: &incoming.meta.name,
                            size: incoming.meta.size,
                            sha256: &sha256,
                            path: &incoming.path.to_string_lossy(),
                        });
                        let _ = self.reports.send(Report::Verified).await;
                    } else {
                        tracing::warn!(file = %incoming.meta.name, "the file did not match; discarded");
                    }
                    continue;
                }
                Action::Finished(outcome) => {
                    self.ok = outcome.is_ok();
                    if let Err(failure) = outcome {
                        tracing::warn!(session = %self.remote.session, %failure, "transfer abandoned");
                        emit(&Event::Failed {
                            session: &self.remote.session,
                            reason: &failure.to_string(),
                        });
                    }
                    continue;
                }
            };
            queue.extend(more);
        }
    }

    /// A new peer connection and offer, replacing the old one.
    async fn connect(&mut self) -> Vec<Action> {
        self.close_link().await;
        self.generation += 1;
        let mut link = match Link::new(self.generation, &self.ice_servers, &self.events).await {
            Ok(link) => link,
            Err(e) => {
                tracing::warn!(error = %e, "could not create a peer connection");
                return self.machine.channel_closed(self.clock.now());
            }
        };
        let offer = match link.offer().await {
            Ok(offer) => offer,
            Err(e) => {
                tracing::warn!(error = %e, "could not create an offer");
                return self.machine.channel_closed(self.clock.now());
            }
        };
        self.link = Some(link);
        if self.remote.signal(offer).await.is_err() {
            return self
                .machine
                .local_failure("the server connection closed".into());
        }
        Vec::new()
    }

    /// Flushed, synced and renamed into place before `verified` promises the file is there.
    async fn commit(&mut self, file: u32) -> Result<(), String> {
        let incoming = &mut self.files[file as usize];
        if let Some(mut handle) = incoming.file.take() {
            handle.flush().await.map_err(|e| e.to_string())?;
            handle.sync_all().await.map_err(|e| e.to_string())?;
        }
        tokio::fs::rename(&incoming.part, &incoming.path)
            .await
            .map_err(|e| format!("could not move the file into place: {e}"))
    }

    async fn on_signal(&mut self, signal: SignalData) {
        let actions = match signal {
            SignalData::Answer { sdp } => {
                let Some(link) = self.link.as_mut() else {
                    return;
                };
                if let Err(e) = link.accept_answer(sdp).await {
                    tracing::warn!(error = %e, "the answer was refused");
                    self.machine.channel_closed(self.clock.now())
                } else {
                    return;
                }
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
                return;
            }
            SignalData::Bye => self.machine.bye(),
            other => {
                tracing::debug!(?other, "unexpected signal ignored");
                return;
            }
        };
        self.apply(actions, None).await;
    }

    async fn on_link_event(&mut self, event: LinkEvent) {
        let Some(link) = self.link.as_ref() else {
            return;
        };
        let now = self.clock.now();
        let signal = match event {
            LinkEvent::Candidate(init) => link.candidate_signal(Some(init)),
            LinkEvent::GatheringDone => link.candidate_signal(None),
            LinkEvent::State(state) => {
                let actions = match state {
                    RTCPeerConnectionState::Disconnected => self.machine.disconnected(now),
                    RTCPeerConnectionState::Connected => self.machine.connected(),
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        self.machine.channel_closed(now)
                    }
                    _ => return,
                };
                return self.apply(actions, None).await;
            }
        };
        if self.remote.signal(signal).await.is_err() {
            tracing::warn!("a candidate could not be signalled");
        }
    }

    async fn on_channel_event(&mut self, event: Option<DataChannelEvent>) {
        let now = self.clock.now();
        match event {
            None | Some(DataChannelEvent::OnClose) => {
                let actions = self.machine.channel_closed(now);
                self.apply(actions, None).await;
            }
            Some(DataChannelEvent::OnOpen) => {
                let actions = self.machine.channel_open(now);
                self.apply(actions, None).await;
            }
            Some(DataChannelEvent::OnMessage(message)) if !message.is_string => {
                let actions = self.machine.chunk(&message.data);
                self.apply(actions, Some(&message.data)).await;
                let drop_now = self
                    .shared
                    .drop_after
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(message.data.len() as u64);
                if drop_now && self.link.is_some() {
                    emit(&Event::Dropped {
                        session: &self.remote.session,
                    });
                    self.close_link().await;
                    let actions = self.machine.channel_closed(self.clock.now());
                    self.apply(actions, None).await;
                }
            }
            Some(DataChannelEvent::OnMessage(message)) => {
                match crate::link::control_message(&message) {
                    Some(message) => {
                        let actions = self.machine.message(now, message);
                        self.apply(actions, None).await;
                    }
                    None => tracing::warn!("unreadable channel message ignored"),
                }
            }
            Some(_) => {}
        }
    }

    async fn close_link(&mut self) {
        if let Some(mut link) = self.link.take() {
            link.close().await;
        }
    }

    fn release_names(&self) {
        let mut taken = self.shared.taken.lock().unwrap_or_else(|e| e.into_inner());
        for file in &self.files {
            taken.remove(&file.path);
        }
    }
}

/// `NAME.part`, beside where the file will go.
fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

/// `dir/name`, or `dir/stem (n).ext` when that exists or another transfer is writing it.
fn unique_path(dir: &Path, name: &str, taken: &mut HashSet<PathBuf>) -> PathBuf {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    };
    let mut n = 0u32;
    loop {
        let candidate = match (n, ext) {
            (0, _) => name.to_owned(),
            (_, Some(ext)) => format!("{stem} ({n}).{ext}"),
            (_, None) => format!("{stem} ({n})"),
        };
        let path = dir.join(candidate);
        if !taken.contains(&path) && !path.exists() && !part_path(&path).exists() {
            taken.insert(path.clone());
            return path;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        let mut taken = HashSet::new();
        let first = unique_path(dir.path(), "a.txt", &mut taken);
        let second = unique_path(dir.path(), "a.txt", &mut taken);
        assert_eq!(first, dir.path().join("a (1).txt"));
        assert_eq!(second, dir.path().join("a (2).txt"));
        assert_eq!(
            unique_path(dir.path(), "README", &mut taken),
            dir.path().join("README")
        );
        assert_eq!(part_path(&first), dir.path().join("a (1).txt.part"));
    }
}
