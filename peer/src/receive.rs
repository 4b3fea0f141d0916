//! The receiving side of one transfer session (see [`shared::transfer`]).
//!
//! Accepting means making the WebRTC offer. Then, per file: `get` from the bytes already
//! stored, write each chunk to `NAME.part` as it arrives (memory holds at most the queues, never
//! the file), hash incrementally, `ack` every [`ACK_EVERY_BYTES`] and at the end, compare the
//! sender's `end` hash, answer `verified`, rename the file into place.
//!
//! When the connection drops before every file is verified, this side builds a new peer
//! connection, offers again for the same session and asks for the current file from the
//! bytes it stored, which the hash state in memory covers exactly. It gives up after
//! [`MAX_FRUITLESS_ATTEMPTS`] attempts in a row that stored nothing new.

use crate::DropAfter;
use crate::link::{Link, LinkEvent, LinkEvents, LinkInbox, link_events};
use crate::output::{Event, emit};
use crate::signaling::Remote;
use sha2::{Digest, Sha256};
use shared::calls::{IceServer, SignalData};
use shared::transfer::{ACK_EVERY_BYTES, ChannelMessage, FileMeta};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use webrtc::data_channel::{DataChannelEvent, RTCDataChannelMessage};
use webrtc::peer_connection::RTCPeerConnectionState;

/// How long one attempt may take to open the data channel before we try again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause before re-offering after a drop, so a flapping network is not hammered.
const RETRY_DELAY: Duration = Duration::from_millis(300);
/// Attempts in a row that stored no new byte before the transfer is abandoned.
pub const MAX_FRUITLESS_ATTEMPTS: u32 = 5;
/// After the last `verified`, how long to wait for the sender's `bye` before closing: closing
/// at once could cut off the `verified` still in flight.
const FINISH_GRACE: Duration = Duration::from_secs(5);

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

/// How one attempt (one peer connection) ended.
enum Attempt {
    /// Every file is verified.
    Done,
    /// The connection went away: offer again.
    Dropped(&'static str),
    /// The sender said bye or cancel.
    Cancelled(String),
    /// We cannot go on (disk, protocol violation, signaling gone).
    Fatal(String),
}

/// One offered file on its way to disk.
struct Incoming {
    meta: FileMeta,
    /// Where it goes once verified.
    path: PathBuf,
    /// Where it is written meanwhile.
    part: PathBuf,
    file: Option<tokio::fs::File>,
    stored: u64,
    hasher: Sha256,
    /// Bytes stored since the last ack.
    unacked: u64,
}

struct Session {
    remote: Remote,
    shared: Arc<Receiver>,
    /// Asked for this session: TURN credentials come only for a transfer with someone.
    ice_servers: Vec<IceServer>,
    files: Vec<Incoming>,
    /// Index of the file being received.
    current: usize,
    signals: mpsc::Receiver<SignalData>,
    events: LinkEvents,
    inbox: LinkInbox,
    link: Option<Link>,
    generation: u64,
    all_ok: bool,
    reports: mpsc::Sender<Report>,
}

enum Input {
    Signal(Option<SignalData>),
    Control(u64, LinkEvent),
    Channel(u64, Option<DataChannelEvent>),
    Timeout,
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
            .into_iter()
            .map(|meta| {
                let path = unique_path(&shared.dir, &meta.safe_name(), &mut taken);
                Incoming {
                    part: part_path(&path),
                    path,
                    meta,
                    file: None,
                    stored: 0,
                    hasher: Sha256::new(),
                    unacked: 0,
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
        current: 0,
        signals,
        events,
        inbox,
        link: None,
        generation: 0,
        all_ok: true,
        reports,
    };
    let ok = session.run().await;
    session.release_names();
    let _ = session.reports.send(Report::Finished { key, ok }).await;
}

impl Session {
    async fn run(&mut self) -> bool {
        let mut fruitless = 0;
        loop {
            let before = self.progress();
            let attempt = self.attempt().await;
            match attempt {
                Attempt::Done => {
                    self.finish().await;
                    return self.all_ok;
                }
                Attempt::Dropped(why) => {
                    self.close_link().await;
                    fruitless = if self.progress() > before {
                        0
                    } else {
                        fruitless + 1
                    };
                    tracing::info!(session = %self.remote.session, why, fruitless, "connection lost");
                    if fruitless >= MAX_FRUITLESS_ATTEMPTS {
                        self.fail("the connection kept failing", true).await;
                        return false;
                    }
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                Attempt::Cancelled(why) => {
                    self.fail(&why, false).await;
                    return false;
                }
                Attempt::Fatal(why) => {
                    self.fail(&why, true).await;
                    return false;
                }
            }
        }
    }

    /// Bytes stored and files passed: grows whenever an attempt achieved something.
    fn progress(&self) -> (usize, u64) {
        let stored = self.files.get(self.current).map_or(0, |f| f.stored);
        (self.current, stored)
    }

    /// One peer connection: offer, connect, receive until done or dropped.
    async fn attempt(&mut self) -> Attempt {
        self.generation += 1;
        let mut link = match Link::new(self.generation, &self.ice_servers, &self.events).await {
            Ok(link) => link,
            Err(e) => {
                tracing::warn!(error = %e, "could not create a peer connection");
                return Attempt::Dropped("no peer connection");
            }
        };
        let offer = match link.offer().await {
            Ok(offer) => offer,
            Err(e) => {
                tracing::warn!(error = %e, "could not create an offer");
                return Attempt::Dropped("no offer");
            }
        };
        self.link = Some(link);
        if self.remote.signal(offer).await.is_err() {
            return Attempt::Fatal("the server connection closed".into());
        }
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        let mut open = false;
        loop {
            let input = tokio::select! {
                signal = self.signals.recv() => Input::Signal(signal),
                Some((generation, event)) = self.inbox.control.recv() => Input::Control(generation, event),
                Some((generation, event)) = self.inbox.channel.recv() => Input::Channel(generation, event),
                _ = tokio::time::sleep_until(deadline), if !open => Input::Timeout,
            };
            let step = match input {
                Input::Signal(None) => Some(Attempt::Fatal("the server connection closed".into())),
                Input::Signal(Some(signal)) => self.on_signal(signal).await,
                Input::Control(generation, _) if generation != self.generation => None,
                Input::Control(_, event) => self.on_link_event(event).await,
                Input::Channel(generation, _) if generation != self.generation => None,
                Input::Channel(_, None | Some(DataChannelEvent::OnClose)) => {
                    Some(Attempt::Dropped("the data channel closed"))
                }
                Input::Channel(_, Some(DataChannelEvent::OnOpen)) => {
                    open = true;
                    self.request_current().await
                }
                Input::Channel(_, Some(DataChannelEvent::OnMessage(message))) => {
                    self.on_message(message).await
                }
                Input::Channel(_, Some(_)) => None,
                Input::Timeout => Some(Attempt::Dropped("the data channel did not open in time")),
            };
            if let Some(step) = step {
                return step;
            }
        }
    }

    async fn on_signal(&mut self, signal: SignalData) -> Option<Attempt> {
        let link = self.link.as_mut()?;
        match signal {
            SignalData::Answer { sdp } => {
                if let Err(e) = link.accept_answer(sdp).await {
                    tracing::warn!(error = %e, "the answer was refused");
                    return Some(Attempt::Dropped("bad answer"));
                }
            }
            SignalData::Candidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            } => {
                link.remote_candidate(candidate, sdp_mid, sdp_m_line_index)
                    .await;
            }
            SignalData::Bye => return Some(Attempt::Cancelled("the sender cancelled".into())),
            other => tracing::debug!(?other, "unexpected signal ignored"),
        }
        None
    }

    async fn on_link_event(&mut self, event: LinkEvent) -> Option<Attempt> {
        let link = self.link.as_ref()?;
        let signal = match event {
            LinkEvent::Candidate(init) => link.candidate_signal(Some(init)),
            LinkEvent::GatheringDone => link.candidate_signal(None),
            // Disconnected may heal in a browser, but resuming costs one round trip and
            // nothing is sent twice, so any loss of the path starts a new connection.
            LinkEvent::State(
                RTCPeerConnectionState::Disconnected
                | RTCPeerConnectionState::Failed
                | RTCPeerConnectionState::Closed,
            ) => return Some(Attempt::Dropped("the peer connection failed")),
            LinkEvent::State(_) => return None,
        };
        if self.remote.signal(signal).await.is_err() {
            return Some(Attempt::Fatal("the server connection closed".into()));
        }
        None
    }

    /// Sends `get` for the current file from the bytes already stored.
    async fn request_current(&mut self) -> Option<Attempt> {
        let index = self.current;
        let file = self.files.get_mut(index)?;
        if file.file.is_none() {
            match tokio::fs::File::create(&file.part).await {
                Ok(handle) => file.file = Some(handle),
                Err(e) => return Some(Attempt::Fatal(format!("cannot create a file: {e}"))),
            }
        }
        let offset = file.stored;
        if self.generation > 1 {
            emit(&Event::Resumed {
                session: &self.remote.session,
                file: index as u32,
                offset,
            });
        }
        self.send(&ChannelMessage::Get {
            file: index as u32,
            offset,
        })
        .await
    }

    async fn on_message(&mut self, message: RTCDataChannelMessage) -> Option<Attempt> {
        if !message.is_string {
            return self.on_chunk(&message.data).await;
        }
        let parsed = std::str::from_utf8(&message.data)
            .ok()
            .and_then(|text| serde_json::from_str::<ChannelMessage>(text).ok());
        match parsed {
            Some(ChannelMessage::End { file, sha256 }) => self.on_end(file, &sha256).await,
            Some(ChannelMessage::Cancel { reason }) => Some(Attempt::Cancelled(
                reason.unwrap_or_else(|| "the sender cancelled".into()),
            )),
            Some(other) => {
                tracing::debug!(?other, "unexpected channel message ignored");
                None
            }
            None => {
                tracing::warn!("unreadable channel message ignored");
                None
            }
        }
    }

    async fn on_chunk(&mut self, data: &[u8]) -> Option<Attempt> {
        let index = self.current;
        let Some(file) = self.files.get_mut(index) else {
            return Some(Attempt::Fatal("bytes after the last file".into()));
        };
        let len = data.len() as u64;
        if file.stored + len > file.meta.size {
            return Some(Attempt::Fatal("more bytes than the file has".into()));
        }
        let Some(handle) = file.file.as_mut() else {
            return Some(Attempt::Fatal("bytes before any request".into()));
        };
        if let Err(e) = handle.write_all(data).await {
            return Some(Attempt::Fatal(format!("cannot write the file: {e}")));
        }
        file.hasher.update(data);
        file.stored += len;
        file.unacked += len;
        if file.unacked >= ACK_EVERY_BYTES || file.stored == file.meta.size {
            file.unacked = 0;
            let ack = ChannelMessage::Ack {
                file: index as u32,
                offset: file.stored,
            };
            if let Some(step) = self.send(&ack).await {
                return Some(step);
            }
        }
        let drop_now = self
            .shared
            .drop_after
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(len);
        if drop_now {
            emit(&Event::Dropped {
                session: &self.remote.session,
            });
            return Some(Attempt::Dropped("--drop-after"));
        }
        None
    }

    async fn on_end(&mut self, index: u32, sha256: &str) -> Option<Attempt> {
        if index as usize != self.current {
            return Some(Attempt::Fatal("end for another file".into()));
        }
        let file = self.files.get_mut(self.current)?;
        let mut complete = file.stored == file.meta.size;
        if let Some(mut handle) = file.file.take() {
            // Flushed and synced before `verified` promises the file is there.
            if let Err(e) = async {
                handle.flush().await?;
                handle.sync_all().await
            }
            .await
            {
                tracing::warn!(error = %e, "could not finish writing");
                complete = false;
            }
        }
        let digest = shared::transfer::hex(&std::mem::take(&mut file.hasher).finalize());
        let ok = complete && digest.eq_ignore_ascii_case(sha256.trim());
        let ok = ok
            && match tokio::fs::rename(&file.part, &file.path).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "could not move the file into place");
                    false
                }
            };
        if ok {
            emit(&Event::Received {
                session: &self.remote.session,
                name: &file.meta.name,
                size: file.meta.size,
                sha256: &digest,
                path: &file.path.to_string_lossy(),
            });
            let _ = self.reports.send(Report::Verified).await;
        } else {
            tracing::warn!(file = %file.meta.name, "the file did not match; discarded");
            let _ = tokio::fs::remove_file(&file.part).await;
            self.all_ok = false;
        }
        if let Some(step) = self
            .send(&ChannelMessage::Verified { file: index, ok })
            .await
        {
            return Some(step);
        }
        self.current += 1;
        if self.current == self.files.len() {
            return Some(Attempt::Done);
        }
        self.request_current().await
    }

    async fn send(&self, message: &ChannelMessage) -> Option<Attempt> {
        let link = self.link.as_ref()?;
        let text = serde_json::to_string(message).ok()?;
        match link.channel.send_text(&text).await {
            Ok(()) => None,
            Err(e) => {
                tracing::debug!(error = %e, "channel send failed");
                Some(Attempt::Dropped("the data channel closed"))
            }
        }
    }

    /// Every file is verified: wait for the sender to close the connection (a `bye` does
    /// too), or a short grace, then close.
    async fn finish(&mut self) {
        let deadline = Instant::now() + FINISH_GRACE;
        loop {
            tokio::select! {
                signal = self.signals.recv() => match signal {
                    Some(SignalData::Bye) | None => break,
                    Some(_) => {}
                },
                Some((generation, event)) = self.inbox.channel.recv() => {
                    if generation == self.generation
                        && matches!(event, None | Some(DataChannelEvent::OnClose))
                    {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        self.close_link().await;
    }

    /// Gives up: tells the sender (cancel on the channel if it is up, and bye), discards
    /// unverified files.
    async fn fail(&mut self, why: &str, tell_sender: bool) {
        tracing::warn!(session = %self.remote.session, why, "transfer abandoned");
        emit(&Event::Failed {
            session: &self.remote.session,
            reason: why,
        });
        if tell_sender {
            let cancel = ChannelMessage::Cancel {
                reason: Some(why.to_owned()),
            };
            let _ = self.send(&cancel).await;
            let _ = self.remote.signal(SignalData::Bye).await;
        }
        self.close_link().await;
        let unfinished = self.current.min(self.files.len());
        for file in &mut self.files[unfinished..] {
            file.file = None;
            let _ = tokio::fs::remove_file(&file.part).await;
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
