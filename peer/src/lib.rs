//! A native WebRTC peer for the chat server: it logs in like the browser, speaks the same
//! signaling protocol over the WebSocket, and sends or receives files over the pre-negotiated
//! data channel of [`shared::transfer`]. It proves the protocol is not browser-specific and
//! drives end-to-end tests.
//!
//! - [`signaling`]: log-in over HTTP and the WebSocket client (pings, bounded queues).
//! - [`link`]: one `RTCPeerConnection` with the transfer's data channel, loopback only.
//! - [`send`] / [`receive`]: drivers of the two sides of one transfer session: the protocol,
//!   resume and give-up rules included, is `client_core::transfer`'s machines.
//! - [`output`]: the JSON lines on stdout that tests read.

pub mod cli;
pub mod link;
pub mod output;
pub mod receive;
pub mod send;
pub mod signaling;

/// The transfer machines' clock: milliseconds since the session started.
#[derive(Debug, Clone, Copy)]
pub struct Clock(tokio::time::Instant);

impl Clock {
    pub fn start() -> Self {
        Self(tokio::time::Instant::now())
    }

    pub fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The instant of a machine's deadline.
    pub fn at(&self, ms: u64) -> tokio::time::Instant {
        self.0 + std::time::Duration::from_millis(ms)
    }
}

/// Closes the peer connection once, after this many file bytes went through, to simulate a
/// network drop (`--drop-after`). Counts bytes across all files and sessions of the process.
#[derive(Debug, Default)]
pub struct DropAfter {
    limit: Option<u64>,
    moved: u64,
    fired: bool,
}

impl DropAfter {
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            moved: 0,
            fired: false,
        }
    }

    /// Counts `bytes`; true exactly once, when the limit is first reached.
    pub fn record(&mut self, bytes: u64) -> bool {
        self.moved += bytes;
        match self.limit {
            Some(limit) if !self.fired && self.moved >= limit => {
                self.fired = true;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DropAfter;

    #[test]
    fn drop_after_fires_once() {
        let mut drop = DropAfter::new(Some(10));
        assert!(!drop.record(6));
        assert!(drop.record(6));
        assert!(!drop.record(6));
        let mut never = DropAfter::new(None);
        assert!(!never.record(u64::MAX / 2));
    }
}
