//! One WebRTC connection to one person for one session (a call, or a file transfer): the
//! `RTCPeerConnection`, its event handlers, and the offer/answer/candidate steps. Candidates
//! that arrive before the remote description are held until it is set, since signaling
//! messages may overtake each other.

use shared::calls::{IceServer, SignalData};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcIceCandidateInit, RtcIceServer, RtcOfferOptions, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
    RtcTrackEvent,
};

/// What a connection reports to its owner.
pub enum PeerEvent {
    /// A local ICE candidate, to be signaled to the other side.
    Signal(SignalData),
    State(RtcPeerConnectionState),
    Track(RtcTrackEvent),
}

pub struct Peer {
    pub pc: RtcPeerConnection,
    remote_set: Cell<bool>,
    early_candidates: RefCell<Vec<RtcIceCandidateInit>>,
    _on_candidate: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    _on_state: Closure<dyn FnMut()>,
    _on_track: Closure<dyn FnMut(RtcTrackEvent)>,
}

/// The message of a failed WebRTC call, for logs and the person.
pub fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

fn configuration(ice: &[IceServer]) -> RtcConfiguration {
    let config = RtcConfiguration::new();
    let servers = js_sys::Array::new();
    for server in ice {
        let entry = RtcIceServer::new();
        let urls: js_sys::Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
        entry.set_urls(&urls);
        if let Some(username) = &server.username {
            entry.set_username(username);
        }
        if let Some(credential) = &server.credential {
            entry.set_credential(credential);
        }
        servers.push(&entry);
    }
    config.set_ice_servers(&servers);
    config
}

impl Peer {
    pub fn new(ice: &[IceServer], on_event: Rc<dyn Fn(PeerEvent)>) -> Result<Self, JsValue> {
        let pc = RtcPeerConnection::new_with_configuration(&configuration(ice))?;
        let handler = on_event.clone();
        let on_candidate = Closure::<dyn FnMut(_)>::new(move |e: RtcPeerConnectionIceEvent| {
            // `None` marks the end of gathering; the other side does not need to hear it.
            if let Some(c) = e.candidate()
                && !c.candidate().is_empty()
            {
                handler(PeerEvent::Signal(SignalData::Candidate {
                    candidate: c.candidate(),
                    sdp_mid: c.sdp_mid(),
                    sdp_m_line_index: c.sdp_m_line_index(),
                }));
            }
        });
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        let handler = on_event.clone();
        let watched = pc.clone();
        let on_state = Closure::<dyn FnMut()>::new(move || {
            handler(PeerEvent::State(watched.connection_state()));
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        let on_track = Closure::<dyn FnMut(_)>::new(move |e: RtcTrackEvent| {
            on_event(PeerEvent::Track(e));
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        Ok(Self {
            pc,
            remote_set: Cell::new(false),
            early_candidates: RefCell::new(Vec::new()),
            _on_candidate: on_candidate,
            _on_state: on_state,
            _on_track: on_track,
        })
    }

    /// Creates and applies a local offer; `ice_restart` gathers fresh candidates for a
    /// connection whose network path broke.
    pub async fn offer(&self, ice_restart: bool) -> Result<String, JsValue> {
        let options = RtcOfferOptions::new();
        options.set_ice_restart(ice_restart);
        let offer = JsFuture::from(self.pc.create_offer_with_rtc_offer_options(&options)).await?;
        self.apply_local(RtcSdpType::Offer, &offer).await
    }

    /// Creates and applies the answer to the remote offer set before.
    pub async fn answer(&self) -> Result<String, JsValue> {
        let answer = JsFuture::from(self.pc.create_answer()).await?;
        self.apply_local(RtcSdpType::Answer, &answer).await
    }

    async fn apply_local(&self, kind: RtcSdpType, made: &JsValue) -> Result<String, JsValue> {
        let sdp = js_sys::Reflect::get(made, &JsValue::from_str("sdp"))?
            .as_string()
            .unwrap_or_default();
        let description = RtcSessionDescriptionInit::new(kind);
        description.set_sdp(&sdp);
        JsFuture::from(self.pc.set_local_description(&description)).await?;
        Ok(sdp)
    }

    /// Applies the other side's offer or answer, then the candidates that came early.
    pub async fn set_remote(&self, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
        let description = RtcSessionDescriptionInit::new(kind);
        description.set_sdp(sdp);
        JsFuture::from(self.pc.set_remote_description(&description)).await?;
        self.remote_set.set(true);
        let early = std::mem::take(&mut *self.early_candidates.borrow_mut());
        for candidate in early {
            self.apply_candidate(&candidate).await;
        }
        Ok(())
    }

    pub async fn add_candidate(&self, candidate: &str, mid: Option<&str>, index: Option<u16>) {
        if candidate.is_empty() {
            return;
        }
        let init = RtcIceCandidateInit::new(candidate);
        init.set_sdp_mid(mid);
        init.set_sdp_m_line_index(index);
        if self.remote_set.get() {
            self.apply_candidate(&init).await;
        } else {
            self.early_candidates.borrow_mut().push(init);
        }
    }

    async fn apply_candidate(&self, init: &RtcIceCandidateInit) {
        let added = self
            .pc
            .add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(init));
        // A candidate the browser cannot use (another address family, an mDNS name it cannot
        // resolve) is not an error for the connection as a whole.
        if let Err(e) = JsFuture::from(added).await {
            leptos::logging::debug_warn!("ignored an ICE candidate: {}", describe(&e));
        }
    }

    pub fn state(&self) -> RtcPeerConnectionState {
        self.pc.connection_state()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Detach first: the closures die with this struct, and the browser must not call them.
        self.pc.set_onicecandidate(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.set_ontrack(None);
        self.pc.close();
    }
}
