//! Peer-to-peer file transfer: what goes over the WebRTC data channel once the receiver accepted
//! a [`crate::calls::SignalData::Files`] offer. The server never sees any of it.
//!
//! The receiver is the WebRTC offerer: accepting a transfer means sending the offer. Both sides
//! open the same pre-negotiated channel ([`CHANNEL_ID`], [`CHANNEL_LABEL`]; ordered, reliable).
//! Then, for each file in turn:
//!
//! 1. receiver → [`ChannelMessage::Get`] `{file, offset}`: send this file from `offset` (0, or
//!    the bytes already stored when resuming after the connection dropped);
//! 2. sender → binary messages of at most [`CHUNK_BYTES`], the file's bytes in order, never more
//!    than [`WINDOW_BYTES`] past the receiver's last [`ChannelMessage::Ack`]: the receiver writes
//!    to storage as it receives, and the window bounds what waits in its memory;
//! 3. sender → [`ChannelMessage::End`] `{file, sha256}` after the last byte: the SHA-256 of the
//!    whole file, which the receiver compares with what it stored;
//! 4. receiver → [`ChannelMessage::Verified`] `{file, ok}`, then `Get` for the next file.
//!
//! If the connection drops, the receiver makes a new WebRTC offer for the same session and
//! continues with `Get` at the offset it has stored, so nothing is sent twice. Either side may
//! send [`ChannelMessage::Cancel`] (and signal `bye`).
//!
//! The protocol is implemented once, without I/O, by the sender and receiver machines of
//! `client_core::transfer` (with the give-up rules both sides share); the browser and the native
//! peer drive them.

use serde::{Deserialize, Serialize};

pub const CHANNEL_LABEL: &str = "files";
/// The data channel is negotiated out of band with this stream id on both sides.
pub const CHANNEL_ID: u16 = 0;
/// Largest binary message. A sender uses the smaller of this and the connection's SCTP
/// `max-message-size` (Chromium accepts 256 KiB; other stacks may take only 64 KiB).
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Most bytes the sender may have in flight past the receiver's last ack.
pub const WINDOW_BYTES: u64 = 8 * 1024 * 1024;
/// The receiver acks at least this often (and at the end of each file).
pub const ACK_EVERY_BYTES: u64 = 1024 * 1024;
/// Most files in one offer.
pub const MAX_FILES_PER_OFFER: usize = 20;
/// Longest file name, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Longest MIME type, in bytes.
pub const MAX_MIME_BYTES: usize = 100;

/// One offered file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub name: String,
    pub size: u64,
    /// MIME type as the sender's system reported it (may be empty).
    #[serde(default)]
    pub mime: String,
}

impl FileMeta {
    /// The description of a local file to offer: characters [`check_offer`] refuses in a name
    /// (control and text-direction characters) become `_`, so a file that happens to have
    /// them can still be sent, under a name that shows what it is.
    pub fn offered(name: &str, size: u64, mime: String) -> Self {
        let name = name
            .chars()
            .map(|c| {
                if c.is_control() || crate::limits::is_direction_override(c) {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        Self { name, size, mime }
    }

    /// The name to store the file under: no path separators or control characters, never
    /// empty, never a dot name. A peer's name is only a suggestion.
    pub fn safe_name(&self) -> String {
        let cleaned: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_control()
                    || crate::limits::is_direction_override(c)
                    || matches!(c, '/' | '\\' | ':')
                {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let trimmed = cleaned.trim().trim_start_matches('.');
        if trimmed.is_empty() {
            "file".to_owned()
        } else {
            trimmed.to_owned()
        }
    }

    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }
}

/// Why an offer is not acceptable, worded for the person.
pub fn check_offer(files: &[FileMeta]) -> Result<(), String> {
    if files.is_empty() {
        return Err("An offer needs at least one file.".to_owned());
    }
    if files.len() > MAX_FILES_PER_OFFER {
        return Err(format!(
            "At most {MAX_FILES_PER_OFFER} files can be sent at once."
        ));
    }
    for file in files {
        if file.name.is_empty() || file.name.len() > MAX_FILE_NAME_BYTES {
            return Err(format!(
                "A file name is 1 to {MAX_FILE_NAME_BYTES} bytes long."
            ));
        }
        if file
            .name
            .chars()
            .any(|c| c.is_control() || crate::limits::is_direction_override(c))
        {
            // `invoice\u{202e}fdp.exe` would show as "invoiceexe.pdf".
            return Err(
                "A file name may not contain control or text-direction characters.".to_owned(),
            );
        }
        if file.mime.len() > MAX_MIME_BYTES {
            return Err("A file's type is too long.".to_owned());
        }
    }
    Ok(())
}

/// A control message on the data channel (sent as text; file bytes are binary messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    try_from = "crate::wire::ChannelWire"
)]
pub enum ChannelMessage {
    /// Receiver: send file number `file` (index in the offer) starting at byte `offset`.
    Get { file: u32, offset: u64 },
    /// Receiver: the first `offset` bytes of `file` are stored.
    Ack { file: u32, offset: u64 },
    /// Sender: every byte of `file` was sent; `sha256` is the whole file's, lowercase hex.
    End { file: u32, sha256: String },
    /// Receiver: the stored file matched (`ok`) or did not (it was discarded).
    Verified { file: u32, ok: bool },
    /// Either side stops the transfer.
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_names_cannot_disguise_their_extension() {
        let offer = |name: &str| {
            check_offer(&[FileMeta {
                name: name.into(),
                size: 1,
                mime: String::new(),
            }])
        };
        assert!(offer("invoice.pdf").is_ok());
        assert!(offer("invoice\u{202e}fdp.exe").is_err());
        assert!(offer("a\u{2066}b.txt").is_err());
        assert!(offer("line\nbreak.txt").is_err());
        let cleaned = FileMeta::offered("invoice\u{202e}fdp.exe", 1, String::new());
        assert_eq!(cleaned.name, "invoice_fdp.exe");
        assert!(check_offer(&[cleaned]).is_ok());
    }

    #[test]
    fn channel_messages_are_pinned() {
        let cases = [
            (
                ChannelMessage::Get {
                    file: 1,
                    offset: 65_536,
                },
                json!({"type": "get", "file": 1, "offset": 65_536}),
            ),
            (
                ChannelMessage::Ack {
                    file: 0,
                    offset: 10,
                },
                json!({"type": "ack", "file": 0, "offset": 10}),
            ),
            (
                ChannelMessage::End {
                    file: 0,
                    sha256: "ab".into(),
                },
                json!({"type": "end", "file": 0, "sha256": "ab"}),
            ),
            (
                ChannelMessage::Verified { file: 0, ok: true },
                json!({"type": "verified", "file": 0, "ok": true}),
            ),
            (
                ChannelMessage::Cancel { reason: None },
                json!({"type": "cancel"}),
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(serde_json::to_value(&message).unwrap(), expected);
            let back: ChannelMessage = serde_json::from_value(expected).unwrap();
            assert_eq!(back, message);
        }
    }

    #[test]
    fn unsafe_names_are_cleaned() {
        let meta = |name: &str| FileMeta {
            name: name.into(),
            size: 1,
            mime: String::new(),
        };
        assert_eq!(meta("../../etc/passwd").safe_name(), "_.._etc_passwd");
        assert_eq!(meta("..").safe_name(), "file");
        assert_eq!(meta("a\nb.txt").safe_name(), "a_b.txt");
        assert_eq!(meta("photo.jpg").safe_name(), "photo.jpg");
    }

    #[test]
    fn offers_are_checked() {
        let file = FileMeta {
            name: "a".into(),
            size: 1,
            mime: "text/plain".into(),
        };
        assert!(check_offer(std::slice::from_ref(&file)).is_ok());
        assert!(check_offer(&[]).is_err());
        assert!(check_offer(&vec![file; MAX_FILES_PER_OFFER + 1]).is_err());
        let long = FileMeta {
            name: "x".repeat(MAX_FILE_NAME_BYTES + 1),
            size: 1,
            mime: String::new(),
        };
        assert!(check_offer(&[long]).is_err());
    }
}
