//! WebRTC signaling and calls. Media and files go directly between browsers; the server only
//! relays these small messages between members of the same room, checking membership on every
//! one, and records calls in the room's timeline.

use serde::{Deserialize, Serialize};

/// Longest session description or candidate the server relays, in bytes.
pub const MAX_SIGNAL_BYTES: usize = 32 * 1024;
/// Longest call or transfer id.
pub const MAX_SESSION_ID: usize = 64;

/// One WebRTC negotiation message, passed unchanged from one peer to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    try_from = "crate::wire::SignalWire"
)]
pub enum SignalData {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    /// An ICE candidate (`candidate` empty marks the end of candidates).
    Candidate {
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_m_line_index: Option<u16>,
    },
    /// The sender of a file transfer offers these files (session = the transfer id). The
    /// receiver accepts by sending the WebRTC [`SignalData::Offer`] for the same session, or
    /// declines with [`SignalData::Bye`]. See [`crate::transfer`] for what follows.
    Files {
        files: Vec<crate::transfer::FileMeta>,
    },
    /// The peer hangs up this session (or declines or cancels a transfer).
    Bye,
    /// In a call: the sender turned their microphone off (`muted`) or on again, so the others'
    /// tiles can say so (a disabled track sends silence, which looks like someone not talking).
    Muted {
        muted: bool,
    },
}

impl SignalData {
    /// Bytes of peer-provided text, for the size limit.
    pub fn size(&self) -> usize {
        match self {
            Self::Offer { sdp } | Self::Answer { sdp } => sdp.len(),
            Self::Candidate {
                candidate, sdp_mid, ..
            } => candidate.len() + sdp_mid.as_ref().map_or(0, String::len),
            Self::Files { files } => files.iter().map(|f| f.name.len() + f.mime.len()).sum(),
            Self::Bye | Self::Muted { .. } => 0,
        }
    }
}

/// A STUN or TURN server for `RTCPeerConnection`'s `iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    /// TURN only: time-limited credentials (TURN REST scheme).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Whether a session id is acceptable: 1 to [`MAX_SESSION_ID`] of `[A-Za-z0-9_-]`.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SESSION_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
