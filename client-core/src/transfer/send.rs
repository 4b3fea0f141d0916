//! The sending side of one session.
//!
//! The receiver drives: its WebRTC offer makes the driver build a connection
//! ([`Sender::offered`]); once the channel is open, each `get {file, offset}` starts that file
//! at `offset`. The driver asks [`Sender::poll_read`] for the next bytes whenever its channel
//! can take more (its own send buffer is the driver's business); the machine hands out ranges
//! no further than [`WINDOW_BYTES`] past the last ack. Once a range went out the driver says so
//! ([`Sender::sent`]); after a file's last byte comes `end` with the digest the driver gave
//! ([`Sender::digest`]). A range read before a new `get` or a new connection is stale:
//! [`Sender::is_current`] tells the driver not to send it.
//!
//! Give-up rules: [`rules::ACCEPT_TIMEOUT_MS`] for the first offer, then
//! [`rules::RESUME_TIMEOUT_MS`] for each (re)connection to open.

use super::{Failure, Phase, Violation, rules};
use shared::transfer::{ChannelMessage, FileMeta, WINDOW_BYTES};

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this control message (text) on the data channel, if it is open.
    Send(ChannelMessage),
    /// Signal `bye` for the session.
    Bye,
    /// How the session is going, for the person.
    Phase(Phase),
    /// The receiver's verdict on a file.
    Verdict { file: u32, ok: bool },
    /// The session is over: close the connection. `Ok` when every file was verified.
    Finished(Result<(), Failure>),
}

/// Bytes `[start, end)` of file `file` to read and send, in order, as binary messages of at
/// most the channel's chunk size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub file: u32,
    pub start: u64,
    pub end: u64,
    /// The stream this read belongs to: a new `get` or connection starts another.
    stream: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No offer from the receiver yet; give up at `until`.
    Waiting {
        until: u64,
    },
    /// A connection is being made (or was lost); give up at `until` unless it opens.
    Connecting {
        until: u64,
    },
    Open,
    Over,
}

/// The file being streamed on the current connection.
#[derive(Debug)]
struct Stream {
    file: usize,
    /// Next byte to hand out for reading.
    next: u64,
    /// Bytes the driver has sent.
    sent: u64,
    /// Bytes the receiver stored (its last ack).
    acked: u64,
}

#[derive(Debug)]
pub struct Sender {
    files: Vec<FileMeta>,
    /// Each file's SHA-256, once the driver knows it.
    digests: Vec<Option<String>>,
    /// Whether `end` went out for the file (on any connection).
    ended: Vec<bool>,
    verdicts: Vec<Option<bool>>,
    link: Link,
    accepted: bool,
    stream: Option<Stream>,
    /// Numbers streams, so reads of an earlier one are recognised.
    stream_id: u64,
    /// The file last asked for and what the receiver confirmed of it, kept across a drop for
    /// the progress shown.
    confirmed: (usize, u64),
    out: Vec<Action>,
}

impl Sender {
    /// A session offering `files` (the driver signals the offer); digests may come later.
    pub fn new(files: Vec<FileMeta>, now: u64) -> Self {
        let n = files.len();
        Self {
            files,
            digests: vec![None; n],
            ended: vec![false; n],
            verdicts: vec![None; n],
            link: Link::Waiting {
                until: now + rules::ACCEPT_TIMEOUT_MS,
            },
            accepted: false,
            stream: None,
            stream_id: 0,
            confirmed: (0, 0),
            out: Vec::new(),
        }
    }

    /// Whether the session is over: nothing more will come out.
    pub fn is_done(&self) -> bool {
        self.link == Link::Over
    }

    /// When to call [`Sender::tick`] at the latest.
    pub fn deadline(&self) -> Option<u64> {
        match self.link {
            Link::Waiting { until } | Link::Connecting { until } => Some(until),
            Link::Open | Link::Over => None,
        }
    }

    /// Bytes the receiver confirmed, over all files.
    pub fn done_bytes(&self) -> u64 {
        let judged: u64 = self
            .files
            .iter()
            .zip(&self.verdicts)
            .filter(|(_, v)| v.is_some())
            .map(|(f, _)| f.size)
            .sum();
        let (file, confirmed) = self.confirmed;
        let pending = self.verdicts.get(file) == Some(&None);
        judged + if pending { confirmed } else { 0 }
    }

    fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    /// The SHA-256 of file `file` (lowercase hex), or why it could not be read.
    pub fn digest(&mut self, file: usize, digest: Result<String, String>) -> Vec<Action> {
        match digest {
            Ok(hex) => {
                if let Some(slot) = self.digests.get_mut(file) {
                    *slot = Some(hex);
                }
                self.end_if_sent();
            }
            Err(why) => self.finish(Err(Failure::Local(why))),
        }
        self.take()
    }

    /// The receiver made a (new) WebRTC offer: the driver replaces any connection with one that
    /// answers it. Streaming waits for the next `get`.
    pub fn offered(&mut self, now: u64) -> Vec<Action> {
        if !self.is_done() {
            if !self.accepted {
                self.accepted = true;
                self.out.push(Action::Phase(Phase::Connecting));
            }
            self.new_stream(None);
            self.link = Link::Connecting {
                until: now + rules::RESUME_TIMEOUT_MS,
            };
        }
        self.take()
    }

    /// The data channel of the current connection is open.
    pub fn channel_open(&mut self) -> Vec<Action> {
        if matches!(self.link, Link::Connecting { .. }) {
            self.link = Link::Open;
        }
        self.take()
    }

    /// The current connection went away (channel closed, connection failed): wait for the
    /// receiver to offer again.
    pub fn channel_closed(&mut self, now: u64) -> Vec<Action> {
        if self.link == Link::Open || matches!(self.link, Link::Connecting { .. }) {
            if self.link == Link::Open {
                self.out.push(Action::Phase(Phase::Resuming));
            }
            self.new_stream(None);
            self.link = Link::Connecting {
                until: now + rules::RESUME_TIMEOUT_MS,
            };
        }
        self.take()
    }

    /// The receiver signalled `bye`: it declined, or hung up.
    pub fn bye(&mut self) -> Vec<Action> {
        let failure = if self.accepted {
            Failure::Cancelled {
                by_peer: true,
                reason: None,
            }
        } else {
            Failure::Declined
        };
        self.finish(Err(failure));
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
        match self.link {
            Link::Waiting { until } if now >= until => self.finish(Err(Failure::NotAccepted)),
            Link::Connecting { until } if now >= until => self.finish(Err(Failure::NotResumed)),
            _ => {}
        }
        self.take()
    }

    /// Something on this side failed (a file could not be read, the server connection is
    /// gone): the session cannot go on.
    pub fn local_failure(&mut self, why: String) -> Vec<Action> {
        self.finish(Err(Failure::Local(why)));
        self.take()
    }

    /// A control message from the receiver.
    pub fn message(&mut self, message: ChannelMessage) -> Vec<Action> {
        if self.link == Link::Open
            && let Err(violation) = self.on_message(message)
        {
            self.finish(Err(Failure::Protocol(violation)));
        }
        self.take()
    }

    fn on_message(&mut self, message: ChannelMessage) -> Result<(), Violation> {
        match message {
            ChannelMessage::Get { file, offset } => {
                let index = file as usize;
                let size = self.files.get(index).ok_or(Violation::UnknownFile)?.size;
                if offset > size || self.verdicts[index].is_some() {
                    return Err(Violation::BadRequest);
                }
                self.new_stream(Some((index, offset)));
                self.confirmed = (index, offset);
                self.out.push(Action::Phase(Phase::Moving));
                self.end_if_sent();
            }
            ChannelMessage::Ack { file, offset } => {
                self.files
                    .get(file as usize)
                    .ok_or(Violation::UnknownFile)?;
                if let Some(stream) = self.stream.as_mut().filter(|s| s.file == file as usize) {
                    if offset > stream.sent {
                        return Err(Violation::AckPastSent);
                    }
                    stream.acked = stream.acked.max(offset);
                    self.confirmed = (stream.file, stream.acked);
                }
            }
            ChannelMessage::Verified { file, ok } => {
                let index = file as usize;
                let ended = *self.ended.get(index).ok_or(Violation::UnknownFile)?;
                match self.verdicts[index] {
                    _ if !ended => return Err(Violation::BadVerdict),
                    // The receiver repeats its last verdict after a resume.
                    Some(earlier) if earlier == ok => return Ok(()),
                    Some(_) => return Err(Violation::BadVerdict),
                    None => {}
                }
                self.verdicts[index] = Some(ok);
                self.out.push(Action::Verdict { file, ok });
                if self.stream.as_ref().is_some_and(|s| s.file == index) {
                    self.new_stream(None);
                }
                if self.verdicts.iter().all(Option::is_some) {
                    let mismatched: Vec<u32> = (0..self.files.len() as u32)
                        .filter(|&i| self.verdicts[i as usize] == Some(false))
                        .collect();
                    self.finish(if mismatched.is_empty() {
                        Ok(())
                    } else {
                        Err(Failure::Mismatch(mismatched))
                    });
                }
            }
            ChannelMessage::Cancel { reason } => self.finish(Err(Failure::Cancelled {
                by_peer: true,
                reason,
            })),
            ChannelMessage::End { .. } => return Err(Violation::WrongRole),
        }
        Ok(())
    }

    /// The next bytes to read and send, at most `max` of them, if the channel is open, the
    /// receiver asked for a file, and the window allows. They count as handed out at once.
    pub fn poll_read(&mut self, max: u64) -> Option<Read> {
        let end = self.next_end(max)?;
        let stream = self.stream.as_mut()?;
        let read = Read {
            file: stream.file as u32,
            start: stream.next,
            end,
            stream: self.stream_id,
        };
        stream.next = end;
        Some(read)
    }

    /// Whether [`Sender::poll_read`] would hand out bytes now.
    pub fn ready_to_send(&self) -> bool {
        self.next_end(1).is_some()
    }

    /// Where the next read would end.
    fn next_end(&self, max: u64) -> Option<u64> {
        let stream = self.stream.as_ref().filter(|_| self.link == Link::Open)?;
        let size = self.files[stream.file].size;
        let end = size
            .min(stream.next.saturating_add(max))
            .min(stream.acked + WINDOW_BYTES);
        (end > stream.next).then_some(end)
    }

    /// Whether `read` still belongs to what the receiver wants (no new `get` or connection
    /// since): otherwise the driver drops it.
    pub fn is_current(&self, read: &Read) -> bool {
        read.stream == self.stream_id && self.stream.is_some() && !self.is_done()
    }

    /// The driver sent `read`'s bytes (reads are sent in the order they were handed out).
    pub fn sent(&mut self, read: Read) -> Vec<Action> {
        if self.is_current(&read)
            && let Some(stream) = self.stream.as_mut()
        {
            stream.sent = stream.sent.max(read.end);
            self.end_if_sent();
        }
        self.take()
    }

    /// Sends `end` once every byte of the streamed file went out and its digest is known.
    fn end_if_sent(&mut self) {
        let Some(stream) = self.stream.as_ref() else {
            return;
        };
        let file = stream.file;
        let size = self.files[file].size;
        // Once per stream (`next` moves past the end when it goes out): a new `get`, after a
        // resume, may ask for it again.
        if stream.sent < size || stream.next > size || self.link != Link::Open {
            return;
        }
        let Some(sha256) = self.digests[file].clone() else {
            return;
        };
        self.ended[file] = true;
        if let Some(stream) = self.stream.as_mut() {
            // Past the end: marks `end` as sent on this stream.
            stream.next = u64::MAX;
        }
        self.out.push(Action::Send(ChannelMessage::End {
            file: file as u32,
            sha256,
        }));
    }

    fn new_stream(&mut self, at: Option<(usize, u64)>) {
        self.stream_id += 1;
        self.stream = at.map(|(file, offset)| Stream {
            file,
            next: offset,
            sent: offset,
            acked: offset,
        });
    }

    fn finish(&mut self, outcome: Result<(), Failure>) {
        if self.is_done() {
            return;
        }
        if let Err(failure) = &outcome
            && failure.tell_peer()
        {
            if self.link == Link::Open {
                self.out.push(Action::Send(ChannelMessage::Cancel {
                    reason: Some(failure.to_string()),
                }));
            }
            self.out.push(Action::Bye);
        }
        self.link = Link::Over;
        self.stream = None;
        self.out.push(Action::Finished(outcome));
    }
}
