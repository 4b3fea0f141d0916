//! The mesh: one connection per other participant, offers from the smaller name, answers,
//! candidates, and ICE restarts when a path breaks.

use super::super::Rtc;
use super::super::peer::{Peer, PeerEvent, describe};
use super::{CallPeer, Link, LiveCall, RESTART_AFTER, send_track};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::calls::SignalData;
use std::cell::Cell;
use std::rc::Rc;
use web_sys::{
    MediaStream, RtcPeerConnectionState, RtcRtpTransceiverDirection, RtcRtpTransceiverInit,
    RtcSdpType,
};

impl Rtc {
    fn new_peer(self, live: &LiveCall, name: &str, offerer: bool) -> Option<Rc<CallPeer>> {
        let call = live.id.clone();
        let who = name.to_owned();
        let on_event = Rc::new(move |event| self.on_peer_event(&call, &who, event));
        let peer = match Peer::new(&self.ice_servers(), on_event) {
            Ok(peer) => peer,
            Err(e) => {
                self.problem.set(Some(format!(
                    "Could not connect the call: {}",
                    describe(&e)
                )));
                return None;
            }
        };
        let remote = MediaStream::new().ok()?;
        let peer = Rc::new(CallPeer {
            peer,
            remote,
            offerer,
            restarting: Cell::new(false),
            frames_seen: Cell::new(0.0),
        });
        live.peers
            .borrow_mut()
            .insert(name.to_owned(), peer.clone());
        Some(peer)
    }

    pub(in crate::rtc) fn offer_to(self, live: &Rc<LiveCall>, name: String) {
        let Some(peer) = self.new_peer(live, &name, true) else {
            return;
        };
        let init = RtcRtpTransceiverInit::new();
        init.set_direction(RtcRtpTransceiverDirection::Sendrecv);
        let pc = &peer.peer.pc;
        pc.add_transceiver_with_media_stream_track_and_init(&live.mic, &init);
        match live.outgoing_video() {
            Some(video) => pc.add_transceiver_with_media_stream_track_and_init(&video, &init),
            None => pc.add_transceiver_with_str_and_init("video", &init),
        };
        let live = live.clone();
        spawn_local(async move {
            match peer.peer.offer(false).await {
                Ok(sdp) => self.signal(&live.room, &name, &live.id, SignalData::Offer { sdp }),
                Err(e) => leptos::logging::warn!("could not offer to {name}: {}", describe(&e)),
            }
        });
    }

    pub(in crate::rtc) fn on_call_signal(self, from: String, data: SignalData) {
        let Some(live) = self.live_call() else {
            return;
        };
        spawn_local(async move {
            match data {
                SignalData::Offer { sdp } => self.answer_offer(&live, &from, &sdp).await,
                SignalData::Answer { sdp } => {
                    if let Some(peer) = live.peer(&from).filter(|p| p.offerer)
                        && let Err(e) = peer.peer.set_remote(RtcSdpType::Answer, &sdp).await
                    {
                        leptos::logging::warn!("bad answer from {from}: {}", describe(&e));
                    }
                }
                SignalData::Candidate {
                    candidate,
                    sdp_mid,
                    sdp_m_line_index,
                } => {
                    if let Some(peer) = live.peer(&from) {
                        peer.peer
                            .add_candidate(&candidate, sdp_mid.as_deref(), sdp_m_line_index)
                            .await;
                    }
                }
                SignalData::Bye => {
                    live.peers.borrow_mut().remove(&from);
                }
                SignalData::Muted { muted } => self.update_peer_view(&from, |p| p.muted = muted),
                SignalData::Files { .. } => {}
            }
        });
    }

    /// A first offer, or a renegotiation (ICE restart) on the existing connection. If the
    /// other side started over with a new connection, the old one cannot take its offer and
    /// is replaced.
    async fn answer_offer(self, live: &Rc<LiveCall>, from: &str, sdp: &str) {
        if self.me().as_str() < from {
            return; // I offer to them, never the reverse.
        }
        let mut peer = match live.peer(from) {
            Some(existing) => existing,
            None => match self.new_peer(live, from, false) {
                Some(peer) => peer,
                None => return,
            },
        };
        if peer.peer.set_remote(RtcSdpType::Offer, sdp).await.is_err() {
            peer = match self.new_peer(live, from, false) {
                Some(peer) => peer,
                None => return,
            };
            if let Err(e) = peer.peer.set_remote(RtcSdpType::Offer, sdp).await {
                leptos::logging::warn!("bad offer from {from}: {}", describe(&e));
                return;
            }
        }
        send_track(&peer.peer, "audio", Some(&live.mic)).await;
        send_track(&peer.peer, "video", live.outgoing_video().as_ref()).await;
        match peer.peer.answer().await {
            Ok(sdp) => self.signal(&live.room, from, &live.id, SignalData::Answer { sdp }),
            Err(e) => leptos::logging::warn!("could not answer {from}: {}", describe(&e)),
        }
    }

    fn on_peer_event(self, call: &str, name: &str, event: PeerEvent) {
        let Some(live) = self.live_call().filter(|l| l.id == call) else {
            return;
        };
        let Some(peer) = live.peer(name) else {
            return;
        };
        match event {
            PeerEvent::Signal(data) => self.signal(&live.room, name, call, data),
            PeerEvent::Track(event) => {
                peer.remote.add_track(&event.track());
                self.update_peer_view(name, |p| p.stream_rev += 1);
            }
            PeerEvent::State(state) => {
                let link = match state {
                    RtcPeerConnectionState::Connected => Link::Connected,
                    RtcPeerConnectionState::New | RtcPeerConnectionState::Connecting => {
                        Link::Connecting
                    }
                    _ => Link::Reconnecting,
                };
                self.update_peer_view(name, |p| p.link = link);
                if link == Link::Connected {
                    peer.restarting.set(false);
                    // Someone who joins while my microphone is off hears that it is.
                    if !live.mic.enabled() {
                        self.signal(&live.room, name, call, SignalData::Muted { muted: true });
                    }
                }
                match state {
                    RtcPeerConnectionState::Failed => self.restart_ice(&live, name, &peer),
                    RtcPeerConnectionState::Disconnected => {
                        let (call, name) = (call.to_owned(), name.to_owned());
                        set_timeout(
                            move || {
                                let Some(live) = self.live_call().filter(|l| l.id == call) else {
                                    return;
                                };
                                if let Some(peer) = live.peer(&name)
                                    && matches!(
                                        peer.peer.state(),
                                        RtcPeerConnectionState::Disconnected
                                            | RtcPeerConnectionState::Failed
                                    )
                                {
                                    self.restart_ice(&live, &name, &peer);
                                }
                            },
                            RESTART_AFTER,
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    /// The network path broke (Wi-Fi to mobile, a NAT timeout): the offering side gathers new
    /// candidates on the same connection; media resumes without a new call.
    fn restart_ice(self, live: &Rc<LiveCall>, name: &str, peer: &Rc<CallPeer>) {
        if !peer.offerer || peer.restarting.replace(true) {
            return;
        }
        let (live, name, peer) = (live.clone(), name.to_owned(), peer.clone());
        spawn_local(async move {
            match peer.peer.offer(true).await {
                Ok(sdp) => self.signal(&live.room, &name, &live.id, SignalData::Offer { sdp }),
                Err(e) => {
                    peer.restarting.set(false);
                    leptos::logging::warn!("ICE restart with {name} failed: {}", describe(&e));
                }
            }
        });
    }
}
