//! One WebRTC peer connection carrying the transfer's pre-negotiated data channel.
//!
//! A session may go through several links (a resume builds a new one), so every event a link
//! produces is tagged with its `generation`; the session ignores events of links it replaced.
//! Connection events come through the handler, which must never block the webrtc driver that
//! calls it, so they go into a small bounded queue with `try_send` (a link produces a few
//! candidates and state changes, never a stream). Data-channel events are pumped by a task
//! that awaits queue space, so a slow receiver pushes back on SCTP instead of buffering.
//!
//! Network: UDP is bound to 127.0.0.1 only and mDNS is off, so no packet leaves the machine
//! unless the server hands out STUN/TURN servers.

use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::transport::RTCDtlsRole;
use shared::calls::{IceServer, SignalData};
use shared::transfer::{CHANNEL_ID, CHANNEL_LABEL, CHUNK_BYTES, ChannelMessage};
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::data_channel::{
    DataChannel, DataChannelEvent, RTCDataChannelInit, RTCDataChannelMessage,
};
use webrtc::error::Error;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceGatheringState, RTCIceServer, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};

/// Outstanding bytes per channel before `writable()` makes the sender wait: the native
/// counterpart of pacing on `bufferedAmountLowThreshold`. Large enough to keep loopback busy,
/// small next to the 8 MiB transfer window.
pub const SEND_BUFFER_BYTES: usize = 1024 * 1024;
/// Connection events waiting for the session (candidates and state changes).
const CONTROL_EVENTS: usize = 64;
/// Data-channel events waiting for the session: at most this many chunks sit in our queue.
const CHANNEL_EVENTS: usize = 16;
/// Remote candidates kept until the remote description is set; a browser sends a few.
const MAX_PENDING_CANDIDATES: usize = 64;

/// What a link reports besides data-channel events.
#[derive(Debug)]
pub enum LinkEvent {
    /// A local candidate to trickle to the other peer.
    Candidate(RTCIceCandidateInit),
    /// Gathering finished: signal the end of candidates.
    GatheringDone,
    State(RTCPeerConnectionState),
}

/// Where a link's events go: `(generation, event)`.
#[derive(Debug, Clone)]
pub struct LinkEvents {
    pub control: mpsc::Sender<(u64, LinkEvent)>,
    /// `None` marks the end of the channel's events (closed).
    pub channel: mpsc::Sender<(u64, Option<DataChannelEvent>)>,
}

/// The receiving ends of [`LinkEvents`], owned by a session.
pub struct LinkInbox {
    pub control: mpsc::Receiver<(u64, LinkEvent)>,
    pub channel: mpsc::Receiver<(u64, Option<DataChannelEvent>)>,
}

pub fn link_events() -> (LinkEvents, LinkInbox) {
    let (control_tx, control) = mpsc::channel(CONTROL_EVENTS);
    let (channel_tx, channel) = mpsc::channel(CHANNEL_EVENTS);
    (
        LinkEvents {
            control: control_tx,
            channel: channel_tx,
        },
        LinkInbox { control, channel },
    )
}

struct Handler {
    generation: u64,
    events: mpsc::Sender<(u64, LinkEvent)>,
}

impl Handler {
    fn report(&self, event: LinkEvent) {
        if let Err(e) = self.events.try_send((self.generation, event)) {
            tracing::warn!(error = %e, "link event dropped");
        }
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => self.report(LinkEvent::Candidate(init)),
            Err(e) => tracing::warn!(error = %e, "local candidate not encodable"),
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.report(LinkEvent::GatheringDone);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(generation = self.generation, %state, "peer connection state");
        self.report(LinkEvent::State(state));
    }
}

/// A peer connection and its `files` channel.
pub struct Link {
    pub generation: u64,
    pc: Arc<dyn PeerConnection>,
    pub channel: Arc<dyn DataChannel>,
    /// Remote candidates that came before the remote description.
    pending: Vec<RTCIceCandidateInit>,
    remote_set: bool,
    /// The `a=mid` of our description, for the candidates we send.
    mid: Option<String>,
    closed: bool,
}

impl Link {
    /// Builds the connection and the pre-negotiated channel; nothing is sent yet.
    pub async fn new(
        generation: u64,
        ice_servers: &[IceServer],
        events: &LinkEvents,
    ) -> Result<Self, Error> {
        let servers = ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone().unwrap_or_default(),
                credential: s.credential.clone().unwrap_or_default(),
            })
            .collect();
        let settings = SettingEngineBuilder::new()
            // mDNS would multicast on the LAN; candidates here are plain loopback addresses.
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            // As answerer (the sender), be the DTLS server, so the receiver initiates SCTP.
            // webrtc-rs 0.21 drops DATA that arrives in the same burst as the COOKIE-ACK that
            // establishes the association, before it binds the negotiated channel ("data
            // channel not existed"); the SCTP initiator is the side exposed to that. The
            // receiver sends `get` only once its channel is open and the sender sends nothing
            // before `get`, so with the receiver initiating, nothing can land in that gap.
            .with_answering_dtls_role(RTCDtlsRole::Server)
            .build();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(
                RTCConfigurationBuilder::new()
                    .with_ice_servers(servers)
                    .build(),
            )
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                generation,
                events: events.control.clone(),
            }))
            // A concrete loopback address is bound as given (a wildcard would skip loopback
            // and bind every LAN interface instead).
            .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
            .with_data_channel_send_buffer_limit(SEND_BUFFER_BYTES)
            .build()
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let channel = pc
            .create_data_channel(
                CHANNEL_LABEL,
                Some(RTCDataChannelInit {
                    ordered: true,
                    negotiated: Some(CHANNEL_ID),
                    ..Default::default()
                }),
            )
            .await?;
        let pump = channel.clone();
        let tx = events.channel.clone();
        tokio::spawn(async move {
            while let Some(event) = pump.poll().await {
                if tx.send((generation, Some(event))).await.is_err() {
                    return;
                }
            }
            let _ = tx.send((generation, None)).await;
        });
        Ok(Self {
            generation,
            pc,
            channel,
            pending: Vec::new(),
            remote_set: false,
            mid: None,
            closed: false,
        })
    }

    /// Receiver side: our offer, already set as the local description.
    pub async fn offer(&mut self) -> Result<SignalData, Error> {
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer.clone()).await?;
        self.mid = first_mid(&offer.sdp);
        Ok(SignalData::Offer { sdp: offer.sdp })
    }

    /// Receiver side: the sender's answer.
    pub async fn accept_answer(&mut self, sdp: String) -> Result<(), Error> {
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp)?)
            .await?;
        self.remote_set().await;
        Ok(())
    }

    /// Sender side: the receiver's offer in, our answer out.
    pub async fn answer(&mut self, sdp: String) -> Result<SignalData, Error> {
        self.pc
            .set_remote_description(RTCSessionDescription::offer(sdp)?)
            .await?;
        self.remote_set().await;
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer.clone()).await?;
        self.mid = first_mid(&answer.sdp);
        Ok(SignalData::Answer { sdp: answer.sdp })
    }

    async fn remote_set(&mut self) {
        self.remote_set = true;
        for candidate in std::mem::take(&mut self.pending) {
            self.add(candidate).await;
        }
    }

    /// A remote candidate: added now, or kept until the remote description is set. Only
    /// loopback candidates are used: this peer binds 127.0.0.1 alone, so nothing else is
    /// reachable, and checks towards other addresses would only be traffic that must not leave
    /// the machine. The end of candidates (empty) and mDNS names are skipped the same way.
    pub async fn remote_candidate(
        &mut self,
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    ) {
        if !is_loopback_candidate(&candidate) {
            tracing::debug!(%candidate, "non-loopback candidate skipped");
            return;
        }
        let init = RTCIceCandidateInit {
            candidate,
            sdp_mid,
            sdp_mline_index: sdp_m_line_index,
            ..Default::default()
        };
        if self.remote_set {
            self.add(init).await;
        } else if self.pending.len() < MAX_PENDING_CANDIDATES {
            self.pending.push(init);
        } else {
            tracing::warn!("too many early candidates; one dropped");
        }
    }

    async fn add(&self, init: RTCIceCandidateInit) {
        if let Err(e) = self.pc.add_ice_candidate(init).await {
            // One unusable candidate (another address family, a TCP type...) is no reason
            // to give up on the others.
            tracing::debug!(error = %e, "remote candidate not usable");
        }
    }

    /// The signal for one of our candidates (the empty one ends them).
    pub fn candidate_signal(&self, init: Option<RTCIceCandidateInit>) -> SignalData {
        match init {
            Some(init) => SignalData::Candidate {
                candidate: init.candidate,
                sdp_mid: self.mid.clone().or(init.sdp_mid),
                sdp_m_line_index: init.sdp_mline_index.or(Some(0)),
            },
            None => SignalData::Candidate {
                candidate: String::new(),
                sdp_mid: self.mid.clone(),
                sdp_m_line_index: Some(0),
            },
        }
    }

    /// The largest binary message to send: the protocol's chunk, or less if SCTP says so.
    pub async fn chunk_bytes(&self) -> usize {
        let limit = match self.pc.sctp().await {
            Some(sctp) => sctp.max_message_size().await.ok(),
            None => None,
        };
        match limit {
            Some(0) | None => CHUNK_BYTES,
            Some(limit) => CHUNK_BYTES.min(usize::try_from(limit).unwrap_or(CHUNK_BYTES)),
        }
    }

    /// Closes the connection (idempotent). Used for the end of a session, for a link that is
    /// replaced, and by `--drop-after` to simulate a network drop.
    pub async fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            if let Err(e) = self.pc.close().await {
                tracing::debug!(error = %e, "closing the peer connection");
            }
        }
    }
}

impl Drop for Link {
    /// A link dropped without [`Link::close`] would leave its driver running; close it in the
    /// background instead.
    fn drop(&mut self) {
        if !self.closed
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let pc = self.pc.clone();
            runtime.spawn(async move {
                let _ = pc.close().await;
            });
        }
    }
}

/// A control message (text) from the data channel; `None` for binary or unreadable ones.
pub fn control_message(message: &RTCDataChannelMessage) -> Option<ChannelMessage> {
    if !message.is_string {
        return None;
    }
    let text = std::str::from_utf8(&message.data).ok()?;
    serde_json::from_str(text).ok()
}

/// Whether an SDP candidate line (`candidate:FOUNDATION COMPONENT PROTO PRIORITY ADDRESS PORT
/// typ ...`) names a loopback address. Empty (end of candidates) and mDNS names are not.
fn is_loopback_candidate(candidate: &str) -> bool {
    candidate
        .split_whitespace()
        .nth(4)
        .and_then(|address| address.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

/// The first `a=mid:` of a session description (a transfer has one m-line).
fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|line| line.trim().strip_prefix("a=mid:"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::{first_mid, is_loopback_candidate};

    #[test]
    fn only_loopback_candidates_are_used() {
        let chromium = "candidate:1561958215 1 udp 2122194687 127.0.0.1 36849 typ host \
                        generation 0 ufrag L7tz network-id 3 network-cost 50";
        assert!(is_loopback_candidate(chromium));
        assert!(is_loopback_candidate(
            "candidate:1 1 udp 2122267903 ::1 46319 typ host"
        ));
        assert!(!is_loopback_candidate(
            "candidate:2 1 udp 2122063615 192.0.2.2 52562 typ host"
        ));
        assert!(!is_loopback_candidate(
            "candidate:3 1 udp 2122063615 4f3a-b2.local 52562 typ host"
        ));
        assert!(!is_loopback_candidate(""));
    }

    #[test]
    fn the_mid_is_read_from_the_description() {
        let sdp = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
        assert_eq!(first_mid(sdp).as_deref(), Some("0"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
