//! File transfer over a WebRTC data channel, without I/O: one state machine per session and
//! side, [`Sender`] and [`Receiver`], speaking the protocol of [`shared::transfer`]. The browser
//! (`frontend/src/rtc/transfer`) and the native peer (`peer/src/{send,receive}.rs`) only drive
//! them: they feed what happened (a control message or a chunk arrived, the channel opened or
//! closed, bytes were read or written, time passed, the person cancelled) and carry out the
//! [`send::Action`]s and [`receive::Action`]s that come back (send this message, read these
//! bytes, write them there, make a new offer...).
//!
//! The machines own every rule both sides must agree on: the window (the sender never has more
//! than [`WINDOW_BYTES`](shared::transfer::WINDOW_BYTES) past the last ack), the ack cadence,
//! resuming at the offset the receiver hashed (nothing is sent twice), SHA-256 verification
//! (the receiver hashes what it accepts, in order; the sender's drivers hash each file with
//! [`FileDigest`] before offering it), validation of everything the peer says (an error,
//! never a panic), and when to give up ([`rules`]).
//!
//! Time is a number of milliseconds the driver passes in (`now`), from any fixed origin; a
//! driver calls `tick(now)` at least by [`Sender::deadline`] / [`Receiver::deadline`].

pub mod receive;
pub mod send;

pub use receive::Receiver;
pub use send::Sender;

use sha2::{Digest, Sha256};
use std::fmt;

/// The give-up rules, the same for the browser and the native peer.
pub mod rules {
    /// The sender waits this long for the receiver to accept (its first WebRTC offer).
    pub const ACCEPT_TIMEOUT_MS: u64 = 10 * 60 * 1000;
    /// After answering an offer, or losing the connection, the sender waits this long for the
    /// data channel to open (again) before it gives up. Longer than the receiver takes between
    /// two offers ([`CONNECT_TIMEOUT_MS`] plus the longest retry pause).
    pub const RESUME_TIMEOUT_MS: u64 = 60 * 1000;
    /// One attempt of the receiver (offer until the channel is open) may take this long.
    pub const CONNECT_TIMEOUT_MS: u64 = 20 * 1000;
    /// A connection that reports `disconnected` this long is treated as lost (browsers often
    /// recover within seconds; resuming costs one round trip and nothing is sent twice).
    pub const DISCONNECTED_GRACE_MS: u64 = 4 * 1000;
    /// The receiver's pause before its first new offer after a loss; doubled after each
    /// attempt that stored nothing new, up to [`MAX_RETRY_DELAY_MS`].
    pub const RETRY_DELAY_MS: u64 = 300;
    pub const MAX_RETRY_DELAY_MS: u64 = 5 * 1000;
    /// Attempts in a row that stored no new byte before the receiver gives up.
    pub const MAX_RESUME_ATTEMPTS: u32 = 5;
    /// A connection that stays open while the sender goes silent (no byte, no message) this
    /// long, with nothing of ours in the way (every byte received is stored), is treated as
    /// lost and resumed: a transport can stall without ever reporting it (SCTP retransmits
    /// for about a minute before it gives up).
    pub const SILENCE_LIMIT_MS: u64 = 15 * 1000;
    /// After its last `verified`, the receiver keeps the connection this long (or until the
    /// sender closes it), so the message is not cut off.
    pub const FINISH_GRACE_MS: u64 = 5 * 1000;
}

/// How a session is going, for the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Making the (first) connection.
    Connecting,
    /// Bytes are moving.
    Moving,
    /// The connection dropped; picking up where it stopped.
    Resuming,
}

/// Why a session ended without every file verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The receiver declined the offer (sender side).
    Declined,
    /// One side stopped the transfer; `by_peer` when it was the other side.
    Cancelled {
        by_peer: bool,
        reason: Option<String>,
    },
    /// The receiver did not accept within [`rules::ACCEPT_TIMEOUT_MS`].
    NotAccepted,
    /// The connection did not come back within [`rules::RESUME_TIMEOUT_MS`] (sender side).
    NotResumed,
    /// [`rules::MAX_RESUME_ATTEMPTS`] attempts in a row stored nothing new (receiver side).
    GaveUp,
    /// These files (indexes in the offer) did not match their SHA-256 and were discarded; the
    /// others arrived.
    Mismatch(Vec<u32>),
    /// The other side broke the protocol.
    Protocol(Violation),
    /// A local file could not be read (sender) or stored (receiver): the driver's words.
    Local(String),
}

impl Failure {
    /// Whether the other side should be told (`cancel` and `bye`): not when it ended the
    /// session, nor when it already had its say on every file.
    pub fn tell_peer(&self) -> bool {
        !matches!(
            self,
            Self::Declined | Self::Cancelled { by_peer: true, .. } | Self::Mismatch(_)
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Declined => f.write_str("The receiver declined."),
            Self::Cancelled {
                reason: Some(reason),
                ..
            } => write!(f, "Cancelled: {reason}"),
            Self::Cancelled { .. } => f.write_str("Cancelled."),
            Self::NotAccepted => f.write_str("The offer was not accepted in time."),
            Self::NotResumed | Self::GaveUp => f.write_str("The connection was lost."),
            Self::Mismatch(files) => write!(
                f,
                "{} file(s) arrived damaged (SHA-256 mismatch) and were discarded.",
                files.len()
            ),
            Self::Protocol(why) => write!(f, "The other side broke the protocol: {why}."),
            Self::Local(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Failure {}

/// What the peer did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A message named a file that is not in the offer.
    UnknownFile,
    /// `get` past a file's end, or for a file already verified.
    BadRequest,
    /// `ack` for bytes that were not sent.
    AckPastSent,
    /// `verified` before `end`, or a second verdict that contradicts the first.
    BadVerdict,
    /// Bytes nobody asked for, or more than the file has.
    UnexpectedBytes,
    /// `end` for another file than the one being sent, or before its last byte.
    BadEnd,
    /// A message only the other role sends.
    WrongRole,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownFile => "a file that was not offered",
            Self::BadRequest => "a request past the end of a file",
            Self::AckPastSent => "an ack for bytes not sent",
            Self::BadVerdict => "a verdict without the file",
            Self::UnexpectedBytes => "bytes that were not asked for",
            Self::BadEnd => "an early end",
            Self::WrongRole => "a message of the other role",
        })
    }
}

/// The SHA-256 of a file, fed in order; [`FileDigest::finish`] gives the lowercase hex that
/// `end` carries. The sender's drivers hash each file before offering it (so a resumed transfer
/// reports the same digest); the receiver's machine hashes every byte it accepts.
#[derive(Debug, Clone, Default)]
pub struct FileDigest(Sha256);

impl FileDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        shared::transfer::hex(&self.0.finalize())
    }
}

/// Whether a digest from the wire names the same bytes as ours (hex case and blanks aside).
fn same_digest(ours: &str, theirs: &str) -> bool {
    ours.eq_ignore_ascii_case(theirs.trim())
}
