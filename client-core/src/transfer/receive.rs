//! The receiving side of one session.
//!
//! The receiver makes every connection ([`Action::Connect`]: a new WebRTC offer), so it alone
//! decides when to resume. Per file: the driver prepares storage ([`Action::Open`], answered by
//! [`Receiver::storage_ready`]); once the channel is open the machine asks `get` from the bytes
//! it accepted so far. Each chunk's bytes go through [`Receiver::chunk`], which checks them
//! against the offer, hashes them (in arrival order: the hash covers exactly the bytes
//! accepted, which is where a resume starts) and answers [`Action::Write`]. The driver reports
//! what is stored ([`Receiver::written`]), which drives the acks. After `end` and the last
//! write, the digests are compared: a match is committed ([`Action::Commit`], answered by
//! [`Receiver::committed`]) before `verified` promises it; a mismatch is discarded. Then the
//! next file.
//!
//! Give-up rules: an attempt that has not opened the channel after
//! [`rules::CONNECT_TIMEOUT_MS`], or stays `disconnected` for
//! [`rules::DISCONNECTED_GRACE_MS`], is lost like a closed one; after a loss a new offer goes
//! out after [`rules::RETRY_DELAY_MS`] (doubling while attempts store nothing new), and after
//! [`rules::MAX_RESUME_ATTEMPTS`] fruitless attempts in a row the session fails. An open
//! connection on which the sender stays silent for [`rules::SILENCE_LIMIT_MS`] while a file is
//! asked for (and every byte received is stored) is lost too.

use super::{Failure, FileDigest, Phase, Violation, rules, same_digest};
use shared::transfer::{ACK_EVERY_BYTES, ChannelMessage, FileMeta};

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this control message (text) on the data channel.
    Send(ChannelMessage),
    /// Signal `bye` for the session.
    Bye,
    /// Make a new connection and WebRTC offer for the session, replacing any old one.
    Connect,
    /// Close the current connection (it was lost, or the session is over).
    CloseLink,
    /// Prepare empty storage for file `file`; answer [`Receiver::storage_ready`].
    Open { file: u32 },
    /// Store the bytes of the chunk just given at `offset` of file `file`; report them with
    /// [`Receiver::written`] once stored (in order).
    Write { file: u32, offset: u64, len: u64 },
    /// Every byte of `file` is stored and matches: make it final; answer
    /// [`Receiver::committed`].
    Commit { file: u32 },
    /// Throw away what was stored of `file`.
    Discard { file: u32 },
    /// A `get` went out on a connection that replaced a lost one.
    Resumed { file: u32, offset: u64 },
    /// How the session is going, for the person.
    Phase(Phase),
    /// A file is judged: `ok` if it matched (and was committed); `sha256` is what arrived.
    Verdict { file: u32, ok: bool, sha256: String },
    /// Every file is judged (`Ok` if all matched), or the session failed. The session may
    /// still close its connection later: the driver goes on until [`Receiver::is_done`].
    Finished(Result<(), Failure>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Not accepted yet.
    Idle,
    /// An offer is out; lost unless the channel opens by `until`.
    Connecting {
        until: u64,
    },
    /// The channel is open; `shaky_until` while the connection reports `disconnected`.
    Open {
        shaky_until: Option<u64>,
    },
    /// Lost; the next offer goes out at `at`.
    Retry {
        at: u64,
    },
    /// Every file is judged; close at `until` unless the sender closes first.
    Closing {
        until: u64,
    },
    Over,
}

/// The file being received.
#[derive(Debug)]
struct Current {
    index: usize,
    /// Its storage is open.
    ready: bool,
    /// `get` went out for it on this connection.
    requested: bool,
    /// Bytes accepted and hashed (where a resume starts).
    received: u64,
    written: u64,
    acked: u64,
    hasher: FileDigest,
    /// The sender's digest, once it said `end`.
    expected: Option<String>,
    /// The digest of what arrived, while the driver commits the file.
    committing: Option<String>,
}

impl Current {
    fn new(index: usize) -> Self {
        Self {
            index,
            ready: false,
            requested: false,
            received: 0,
            written: 0,
            acked: 0,
            hasher: FileDigest::new(),
            expected: None,
            committing: None,
        }
    }
}

#[derive(Debug)]
pub struct Receiver {
    files: Vec<FileMeta>,
    verdicts: Vec<Option<bool>>,
    current: Current,
    link: Link,
    /// Attempts in a row that stored nothing new, and the progress when this one began.
    fruitless: u32,
    attempt_from: (usize, u64),
    /// A connection was lost since the last `get`.
    resuming: bool,
    /// The last verdict, repeated on a new connection in case the old one lost it.
    last_verdict: Option<(u32, bool)>,
    /// [`Action::Finished`] went out.
    finished: bool,
    /// The latest time any input brought.
    clock: u64,
    /// When the sender was last heard from (or the current file asked for).
    heard_at: u64,
    out: Vec<Action>,
}

impl Receiver {
    /// A session for an offer of `files`, idle until [`Receiver::start`].
    pub fn new(files: Vec<FileMeta>) -> Self {
        Self {
            verdicts: vec![None; files.len()],
            files,
            current: Current::new(0),
            link: Link::Idle,
            fruitless: 0,
            attempt_from: (0, 0),
            resuming: false,
            last_verdict: None,
            finished: false,
            clock: 0,
            heard_at: 0,
            out: Vec::new(),
        }
    }

    /// Whether the session is over: nothing more will come out.
    pub fn is_done(&self) -> bool {
        self.link == Link::Over
    }

    /// When to call [`Receiver::tick`] at the latest.
    pub fn deadline(&self) -> Option<u64> {
        match self.link {
            Link::Connecting { until } | Link::Closing { until } => Some(until),
            Link::Open { shaky_until } => match (shaky_until, self.silence_limit()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Link::Retry { at } => Some(at),
            Link::Idle | Link::Over => None,
        }
    }

    /// Bytes stored, over all files (judged files count whole).
    pub fn done_bytes(&self) -> u64 {
        let judged: u64 = self
            .files
            .iter()
            .zip(&self.verdicts)
            .filter(|(_, v)| v.is_some())
            .map(|(f, _)| f.size)
            .sum();
        let current = match self.verdicts.get(self.current.index) {
            Some(None) => self.current.written,
            _ => 0,
        };
        judged + current
    }

    fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    /// When a silent sender makes the connection count as lost: only while a file is asked
    /// for, not yet ended, and nothing of ours (a write) is pending.
    fn silence_limit(&self) -> Option<u64> {
        let c = &self.current;
        let waiting_on_sender = c.requested
            && c.expected.is_none()
            && c.written == c.received
            && self.verdicts.get(c.index) == Some(&None);
        waiting_on_sender.then_some(self.heard_at + rules::SILENCE_LIMIT_MS)
    }

    /// Notes the time and that the sender was heard from.
    fn heard(&mut self, now: u64) {
        self.clock = self.clock.max(now);
        self.heard_at = self.clock;
    }

    /// The person accepted: storage for the first file, and the first offer.
    pub fn start(&mut self, now: u64) -> Vec<Action> {
        self.clock = self.clock.max(now);
        if self.link == Link::Idle {
            if self.files.is_empty() {
                self.finish(Ok(()));
            } else {
                self.out.push(Action::Phase(Phase::Connecting));
                self.out.push(Action::Open { file: 0 });
                self.connect(now);
            }
        }
        self.take()
    }

    /// Storage for `file` is open and empty.
    pub fn storage_ready(&mut self, file: u32) -> Vec<Action> {
        if file as usize == self.current.index && !self.is_done() {
            self.current.ready = true;
            self.request();
        }
        self.take()
    }

    /// Something on this side failed (storage, the server connection): the session cannot go
    /// on.
    pub fn local_failure(&mut self, why: String) -> Vec<Action> {
        self.finish(Err(Failure::Local(why)));
        self.take()
    }

    /// The data channel of the current connection is open.
    pub fn channel_open(&mut self, now: u64) -> Vec<Action> {
        self.heard(now);
        if let Link::Connecting { .. } = self.link {
            self.link = Link::Open { shaky_until: None };
            if let Some((file, ok)) = self.last_verdict {
                self.out
                    .push(Action::Send(ChannelMessage::Verified { file, ok }));
            }
            if self.verdicts.iter().all(Option::is_some) {
                // Only the last verdict was left to deliver.
                self.closing_soon(now);
            } else {
                self.out.push(Action::Phase(Phase::Moving));
                self.request();
            }
        }
        self.take()
    }

    /// The current connection went away (channel closed, connection failed or closed).
    pub fn channel_closed(&mut self, now: u64) -> Vec<Action> {
        self.lost(now);
        self.take()
    }

    /// The connection reports `disconnected`: lost unless it recovers in time.
    pub fn disconnected(&mut self, now: u64) -> Vec<Action> {
        if let Link::Open { shaky_until: None } = self.link {
            self.link = Link::Open {
                shaky_until: Some(now + rules::DISCONNECTED_GRACE_MS),
            };
        }
        self.take()
    }

    /// The connection reports `connected` (again).
    pub fn connected(&mut self) -> Vec<Action> {
        if let Link::Open { .. } = self.link {
            self.link = Link::Open { shaky_until: None };
        }
        self.take()
    }

    /// The sender signalled `bye`.
    pub fn bye(&mut self) -> Vec<Action> {
        self.finish(Err(Failure::Cancelled {
            by_peer: true,
            reason: None,
        }));
        self.take()
    }

    /// The person stops the transfer.
    pub fn cancel(&mut self) -> Vec<Action> {
        self.finish(Err(Failure::Cancelled {
            by_peer: false,
            reason: None,
        }));
        self.take()
    }

    /// Time passed.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        self.clock = self.clock.max(now);
        let silent = self.silence_limit().is_some_and(|limit| now >= limit);
        match self.link {
            Link::Open { .. } if silent => self.lost(now),
            Link::Connecting { until } if now >= until => self.lost(now),
            Link::Open {
                shaky_until: Some(until),
            } if now >= until => self.lost(now),
            Link::Retry { at } if now >= at => self.connect(now),
            Link::Closing { until } if now >= until => self.finish(Ok(())),
            _ => {}
        }
        self.take()
    }

    /// A control message from the sender.
    pub fn message(&mut self, now: u64, message: ChannelMessage) -> Vec<Action> {
        self.heard(now);
        if let Link::Open { .. } = self.link
            && let Err(violation) = self.on_message(now, message)
        {
            self.finish(Err(Failure::Protocol(violation)));
        }
        self.take()
    }

    fn on_message(&mut self, now: u64, message: ChannelMessage) -> Result<(), Violation> {
        match message {
            ChannelMessage::End { file, sha256 } => {
                let size = self
                    .files
                    .get(file as usize)
                    .ok_or(Violation::UnknownFile)?
                    .size;
                let current = &mut self.current;
                if file as usize != current.index
                    || !current.requested
                    || current.received < size
                    || current.expected.is_some()
                {
                    return Err(Violation::BadEnd);
                }
                current.expected = Some(sha256);
                self.verify_when_stored(now);
            }
            ChannelMessage::Cancel { reason } => self.finish(Err(Failure::Cancelled {
                by_peer: true,
                reason,
            })),
            ChannelMessage::Get { .. }
            | ChannelMessage::Ack { .. }
            | ChannelMessage::Verified { .. } => return Err(Violation::WrongRole),
        }
        Ok(())
    }

    /// A binary message: the next bytes of the current file.
    pub fn chunk(&mut self, bytes: &[u8]) -> Vec<Action> {
        if let Link::Open { .. } = self.link {
            let current = &mut self.current;
            let len = bytes.len() as u64;
            let fits = self
                .files
                .get(current.index)
                .is_some_and(|f| current.received + len <= f.size);
            if !fits || !current.requested || current.expected.is_some() {
                self.finish(Err(Failure::Protocol(Violation::UnexpectedBytes)));
            } else if len > 0 {
                current.hasher.update(bytes);
                self.out.push(Action::Write {
                    file: current.index as u32,
                    offset: current.received,
                    len,
                });
                current.received += len;
            }
        }
        self.take()
    }

    /// The first `end` bytes of `file` are stored.
    pub fn written(&mut self, now: u64, file: u32, end: u64) -> Vec<Action> {
        // Bytes being stored came from the sender: it was heard from.
        self.heard(now);
        let current = &mut self.current;
        if file as usize == current.index && end > current.written && end <= current.received {
            current.written = end;
            let size = self.files[current.index].size;
            let due = end - current.acked >= ACK_EVERY_BYTES || end == size;
            if due && current.requested && matches!(self.link, Link::Open { .. }) {
                current.acked = end;
                self.out
                    .push(Action::Send(ChannelMessage::Ack { file, offset: end }));
            }
            self.verify_when_stored(now);
        }
        self.take()
    }

    /// The driver made `file` final (or could not).
    pub fn committed(&mut self, now: u64, file: u32, result: Result<(), String>) -> Vec<Action> {
        if file as usize == self.current.index
            && let Some(sha256) = self.current.committing.take()
        {
            match result {
                Ok(()) => self.judge(now, true, sha256),
                Err(why) => self.finish(Err(Failure::Local(why))),
            }
        }
        self.take()
    }

    /// Sends `get` for the current file from the bytes accepted, when all is ready.
    fn request(&mut self) {
        let current = &mut self.current;
        let open = matches!(self.link, Link::Open { .. });
        if open && current.ready && !current.requested && current.expected.is_none() {
            current.requested = true;
            self.heard_at = self.clock;
            let (file, offset) = (current.index as u32, current.received);
            self.out
                .push(Action::Send(ChannelMessage::Get { file, offset }));
            if std::mem::take(&mut self.resuming) {
                self.out.push(Action::Resumed { file, offset });
            }
        }
    }

    /// After `end` and the last write: compare digests.
    fn verify_when_stored(&mut self, now: u64) {
        let current = &mut self.current;
        let size = self.files[current.index].size;
        let Some(expected) = current.expected.as_deref() else {
            return;
        };
        if current.written < size || current.committing.is_some() || !current.ready {
            return;
        }
        let digest = std::mem::take(&mut current.hasher).finish();
        let file = current.index as u32;
        if same_digest(&digest, expected) {
            current.committing = Some(digest);
            self.out.push(Action::Commit { file });
        } else {
            self.out.push(Action::Discard { file });
            self.judge(now, false, digest);
        }
    }

    /// Records the current file's verdict, tells the sender, and moves on.
    fn judge(&mut self, now: u64, ok: bool, sha256: String) {
        let index = self.current.index;
        let file = index as u32;
        self.verdicts[index] = Some(ok);
        self.last_verdict = Some((file, ok));
        let open = matches!(self.link, Link::Open { .. });
        if open {
            self.out
                .push(Action::Send(ChannelMessage::Verified { file, ok }));
        }
        self.out.push(Action::Verdict { file, ok, sha256 });
        if index + 1 < self.files.len() {
            self.current = Current::new(index + 1);
            self.out.push(Action::Open { file: file + 1 });
            return;
        }
        let mismatched: Vec<u32> = (0..self.files.len() as u32)
            .filter(|&i| self.verdicts[i as usize] == Some(false))
            .collect();
        self.finished = true;
        self.out.push(Action::Finished(if mismatched.is_empty() {
            Ok(())
        } else {
            Err(Failure::Mismatch(mismatched))
        }));
        // Without a connection the last verdict still has to reach the sender: the next one
        // that opens delivers it.
        if open {
            self.closing_soon(now);
        }
    }

    fn closing_soon(&mut self, now: u64) {
        self.link = Link::Closing {
            until: now + rules::FINISH_GRACE_MS,
        };
    }

    /// A new connection and offer.
    fn connect(&mut self, now: u64) {
        self.attempt_from = self.progress();
        self.link = Link::Connecting {
            until: now + rules::CONNECT_TIMEOUT_MS,
        };
        self.out.push(Action::Connect);
    }

    /// Files passed and bytes accepted: grows whenever an attempt achieved something.
    fn progress(&self) -> (usize, u64) {
        (self.current.index, self.current.received)
    }

    fn lost(&mut self, now: u64) {
        match self.link {
            Link::Connecting { .. } | Link::Open { .. } => {}
            Link::Closing { .. } => return self.finish(Ok(())),
            Link::Idle | Link::Retry { .. } | Link::Over => return,
        }
        self.out.push(Action::CloseLink);
        self.current.requested = false;
        self.fruitless = if self.progress() > self.attempt_from {
            0
        } else {
            self.fruitless + 1
        };
        if self.fruitless >= rules::MAX_RESUME_ATTEMPTS {
            return self.finish(Err(Failure::GaveUp));
        }
        let doublings = self.fruitless.saturating_sub(1);
        let delay = (rules::RETRY_DELAY_MS << doublings).min(rules::MAX_RETRY_DELAY_MS);
        self.link = Link::Retry { at: now + delay };
        self.resuming = true;
        self.out.push(Action::Phase(Phase::Resuming));
    }

    /// Ends the session with `outcome`, unless one was already reported (then it only closes).
    fn finish(&mut self, outcome: Result<(), Failure>) {
        if self.is_done() {
            return;
        }
        if !std::mem::replace(&mut self.finished, true) {
            if let Err(failure) = &outcome
                && failure.tell_peer()
            {
                if let Link::Open { .. } = self.link {
                    self.out.push(Action::Send(ChannelMessage::Cancel {
                        reason: Some(failure.to_string()),
                    }));
                }
                self.out.push(Action::Bye);
            }
            let current = &self.current;
            if current.ready && self.verdicts.get(current.index) == Some(&None) {
                self.out.push(Action::Discard {
                    file: current.index as u32,
                });
            }
            self.out.push(Action::Finished(outcome));
        }
        if self.link != Link::Idle {
            self.out.push(Action::CloseLink);
        }
        self.link = Link::Over;
    }
}
