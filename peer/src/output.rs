//! Machine-readable progress: one JSON object per line on stdout, flushed at once so a test
//! reading the pipe sees each event as it happens. Human logs go to stderr (tracing).

use serde::Serialize;
use shared::transfer::FileMeta;
use std::io::Write;

/// One line of stdout. `event` names the variant; fields beyond the documented ones may be
/// added, never removed.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// Logged in and the WebSocket got its welcome.
    Ready { username: &'a str },
    /// A file offer arrived (the receiver accepts every valid one).
    Offer {
        from: &'a str,
        session: &'a str,
        files: &'a [FileMeta],
    },
    /// The receiver reconnected and asked for `file` from `offset` (bytes it already stored).
    Resumed {
        session: &'a str,
        file: u32,
        offset: u64,
    },
    /// A file arrived whole and its SHA-256 matched the sender's.
    Received {
        session: &'a str,
        name: &'a str,
        size: u64,
        sha256: &'a str,
        path: &'a str,
    },
    /// The receiver verified a file this peer sent.
    Sent {
        session: &'a str,
        name: &'a str,
        size: u64,
    },
    /// `--drop-after` closed the peer connection.
    Dropped { session: &'a str },
    /// The transfer ended without every file verified (declined, cancelled, mismatch, gave up).
    Failed { session: &'a str, reason: &'a str },
}

pub fn emit(event: &Event<'_>) {
    let line = match serde_json::to_string(event) {
        Ok(line) => line,
        Err(e) => {
            tracing::error!(error = %e, "could not encode an event");
            return;
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout (the reader went away) must not kill a transfer.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_pinned() {
        let value = serde_json::to_value(Event::Resumed {
            session: "s1",
            file: 0,
            offset: 42,
        })
        .unwrap();
        assert_eq!(
            value,
            json!({"event": "resumed", "session": "s1", "file": 0, "offset": 42})
        );
        let value = serde_json::to_value(Event::Ready { username: "bob" }).unwrap();
        assert_eq!(value, json!({"event": "ready", "username": "bob"}));
    }
}
