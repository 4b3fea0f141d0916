//! Calls: a full mesh of connections, one per other participant. Who offers is fixed per pair
//! (the alphabetically smaller name), so two people never offer to each other at once, and the
//! same side restarts ICE when the path breaks. Every connection carries one audio and one
//! video transceiver from the start, so turning the camera on, off or to a shared screen only
//! replaces a track and never renegotiates.
//!
//! The server's `call_state` is the truth about who is in the call: a connection exists exactly
//! for the others it lists. Someone whose tab dropped disappears from it (their connection is
//! closed) and reappears when they rejoin (a new connection is made).

use super::Rtc;
mod controls;
mod mesh;

use super::media;
use super::peer::{Peer, describe};
use crate::ids::new_client_id;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ws::{ClientMessage, ErrorCode};
use shared::{ClientMsgId, RoomId};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamTrack, RtcRtpTransceiverDirection};

/// How long "The call was declined." stays.
const DECLINED_SHOWN_SECS: u64 = 6;

/// How often speaking indicators and video liveness are refreshed.
const STATS_EVERY: Duration = Duration::from_millis(500);
/// A connection `disconnected` this long gets an ICE restart (it may recover by itself first).
const RESTART_AFTER: Duration = Duration::from_secs(3);

/// A call going on in a room, as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub call: String,
    pub video: bool,
    pub caller: String,
    pub participants: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Connected,
    Reconnecting,
}

/// One other participant's tile.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerView {
    pub name: String,
    pub link: Link,
    pub speaking: bool,
    /// Their video frames are arriving (else their tile shows their initial).
    pub video_live: bool,
    pub frames_decoded: u64,
    /// Bumped when their media stream gains a track, so the tile re-attaches it.
    pub stream_rev: u32,
    /// Their microphone is off (they said so: `SignalData::Muted`).
    pub muted: bool,
}

/// The call I am in, for its screen.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub room: RoomId,
    pub call: String,
    pub video: bool,
    /// The server confirmed me in the call.
    pub joined: bool,
    /// Someone else has been in the call (so an empty call is not ringing any more).
    pub answered: bool,
    pub mic_on: bool,
    pub camera_on: bool,
    pub sharing: bool,
    pub me_speaking: bool,
    /// Bumped when my own preview changes (camera on/off, screen).
    pub local_rev: u32,
    pub peers: Vec<PeerView>,
    /// Something to tell without ending the call (say, the camera could not be opened).
    pub notice: Option<String>,
}

pub struct CallPeer {
    peer: Peer,
    /// Their tracks, gathered as they arrive.
    remote: MediaStream,
    offerer: bool,
    restarting: Cell<bool>,
    frames_seen: Cell<f64>,
}

pub struct LiveCall {
    room: RoomId,
    id: String,
    start_request: Option<ClientMsgId>,
    mic: MediaStreamTrack,
    camera: RefCell<Option<MediaStreamTrack>>,
    screen: RefCell<Option<MediaStreamTrack>>,
    peers: RefCell<HashMap<String, Rc<CallPeer>>>,
    /// Someone else was in the call at some point.
    answered: Cell<bool>,
    stats_timer: Cell<Option<IntervalHandle>>,
    _on_screen_end: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl LiveCall {
    /// What my video sender carries now: the shared screen, else the camera, else nothing.
    fn outgoing_video(&self) -> Option<MediaStreamTrack> {
        self.screen
            .borrow()
            .clone()
            .or_else(|| self.camera.borrow().clone())
    }

    fn peer(&self, name: &str) -> Option<Rc<CallPeer>> {
        self.peers.borrow().get(name).cloned()
    }

    fn stop_media(&self) {
        self.mic.stop();
        if let Some(camera) = self.camera.borrow_mut().take() {
            camera.stop();
        }
        if let Some(screen) = self.screen.borrow_mut().take() {
            screen.stop();
        }
        if let Some(timer) = self.stats_timer.take() {
            timer.clear();
        }
    }
}

fn first_track(list: js_sys::Array) -> Option<MediaStreamTrack> {
    list.get(0).dyn_into().ok()
}

/// Sends `track` (or nothing) on every transceiver of `kind` of a connection.
async fn send_track(peer: &Peer, kind: &str, track: Option<&MediaStreamTrack>) {
    for transceiver in peer.pc.get_transceivers().iter() {
        let Ok(transceiver) = transceiver.dyn_into::<web_sys::RtcRtpTransceiver>() else {
            continue;
        };
        if transceiver.receiver().track().kind() != kind {
            continue;
        }
        transceiver.set_direction(RtcRtpTransceiverDirection::Sendrecv);
        if let Err(e) = JsFuture::from(transceiver.sender().replace_track(track)).await {
            leptos::logging::warn!("could not switch the {kind} track: {}", describe(&e));
        }
    }
}

impl Rtc {
    pub(super) fn is_my_call(self, session: &str) -> bool {
        self.live_call().is_some_and(|c| c.id == session)
    }

    fn live_call(self) -> Option<Rc<LiveCall>> {
        self.inner().and_then(|i| i.call.borrow().clone())
    }

    /// My local preview: the video I send (muted; my own voice is not played back).
    pub fn local_preview(self) -> Option<MediaStream> {
        let track = self.live_call()?.outgoing_video()?;
        let stream = MediaStream::new().ok()?;
        stream.add_track(&track);
        Some(stream)
    }

    /// Someone's audio and video, for their tile.
    pub fn remote_stream(self, name: &str) -> Option<MediaStream> {
        Some(self.live_call()?.peer(name)?.remote.clone())
    }

    pub fn start_call(self, room: RoomId, video: bool) {
        let call = format!("c{}", &new_client_id().0[..20]);
        self.enter(room, call, video, true);
    }

    pub fn join_call(self, room: RoomId, call: String, video: bool) {
        self.enter(room, call, video, false);
    }

    fn enter(self, room: RoomId, call: String, video: bool, starting: bool) {
        if self.active.get_untracked().is_some() {
            self.problem
                .set(Some("You are already in a call. Hang up first.".to_owned()));
            return;
        }
        self.problem.set(None);
        self.active.set(Some(CallView {
            room: room.clone(),
            call: call.clone(),
            video,
            joined: false,
            answered: false,
            mic_on: true,
            camera_on: false,
            sharing: false,
            me_speaking: false,
            local_rev: 0,
            peers: Vec::new(),
            notice: None,
        }));
        spawn_local(async move {
            let opened = media::open(video).await;
            // Hung up while the browser asked for permission.
            if self
                .active
                .with_untracked(|a| a.as_ref().map(|a| a.call.clone()))
                != Some(call.clone())
            {
                if let Ok((stream, _)) = &opened {
                    stop_all(stream);
                }
                return;
            }
            let (stream, notice) = match opened {
                Ok(opened) => opened,
                Err(why) => {
                    self.active.set(None);
                    self.problem.set(Some(why));
                    return;
                }
            };
            let Some(mic) = first_track(stream.get_audio_tracks()) else {
                self.active.set(None);
                self.problem
                    .set(Some("No microphone was found.".to_owned()));
                return;
            };
            let camera = first_track(stream.get_video_tracks());
            let start_request = starting.then(new_client_id);
            let live = Rc::new(LiveCall {
                room: room.clone(),
                id: call.clone(),
                start_request: start_request.clone(),
                mic,
                camera: RefCell::new(camera),
                screen: RefCell::new(None),
                peers: RefCell::new(HashMap::new()),
                answered: Cell::new(false),
                stats_timer: Cell::new(None),
                _on_screen_end: RefCell::new(None),
            });
            let has_camera = live.camera.borrow().is_some();
            if let Some(inner) = self.inner() {
                *inner.call.borrow_mut() = Some(live.clone());
            }
            self.update_view(|v| {
                v.camera_on = has_camera;
                v.notice = notice;
                v.local_rev += 1;
            });
            let timer = set_interval_with_handle(move || self.refresh_stats(), STATS_EVERY).ok();
            live.stats_timer.set(timer);
            // The server answers in order: a joiner's relay arrives before the call's state,
            // which starts the connections; a caller's before anyone can answer.
            match start_request {
                Some(client_id) => {
                    self.send(&ClientMessage::StartCall {
                        room: room.clone(),
                        client_id,
                        call: call.clone(),
                        video,
                    });
                    self.ask_relay(&room, Some(&call), None);
                }
                None => {
                    self.ask_relay(&room, Some(&call), None);
                    self.send(&ClientMessage::JoinCall { room, call });
                }
            }
        });
    }

    fn update_view(self, change: impl FnOnce(&mut CallView)) {
        self.active.update(|a| {
            if let Some(view) = a.as_mut() {
                change(view);
            }
        });
    }

    fn update_peer_view(self, name: &str, change: impl FnOnce(&mut PeerView)) {
        self.update_view(|v| {
            if let Some(p) = v.peers.iter_mut().find(|p| p.name == name) {
                change(p);
            }
        });
    }

    pub fn hang_up(self) {
        let Some(view) = self.active.get_untracked() else {
            return;
        };
        self.dismissed.update(|d| {
            d.insert(view.call.clone());
        });
        if self.live_call().is_some() {
            self.send(&ClientMessage::LeaveCall {
                room: view.room,
                call: view.call,
            });
        }
        self.end_call(None);
    }

    /// Ends my side of the call: media off, connections closed, the screen gone.
    fn end_call(self, why: Option<String>) {
        let live = self.inner().and_then(|i| i.call.borrow_mut().take());
        if let Some(live) = live {
            live.stop_media();
            live.peers.borrow_mut().clear();
        }
        self.active.set(None);
        if why.is_some() {
            self.problem.set(why);
        }
    }

    pub fn decline_call(self, room: RoomId, call: String) {
        self.dismissed.update(|d| {
            d.insert(call.clone());
        });
        self.send(&ClientMessage::DeclineCall { room, call });
    }

    pub(super) fn call_declined(self, room: &RoomId, call: &str) {
        if self
            .live_call()
            .is_some_and(|c| &c.room == room && c.id == call)
        {
            let declined = "The call was declined.";
            self.end_call(Some(declined.to_owned()));
            // News, not a problem to act on: it goes by itself.
            let problem = self.problem;
            leptos::prelude::set_timeout(
                move || {
                    if problem.with_untracked(|p| p.as_deref() == Some(declined)) {
                        problem.set(None);
                    }
                },
                std::time::Duration::from_secs(DECLINED_SHOWN_SECS),
            );
        }
    }

    /// After a reconnect the server has forgotten me in the call (and the others closed their
    /// connections to me): start over from a fresh join.
    pub(super) fn rejoin_call(self) {
        let Some(live) = self.live_call() else {
            return;
        };
        if !self
            .active
            .with_untracked(|a| a.as_ref().is_some_and(|a| a.joined))
        {
            return;
        }
        live.peers.borrow_mut().clear();
        self.update_view(|v| v.peers.clear());
        self.ask_relay(&live.room, Some(&live.id), None);
        self.send(&ClientMessage::JoinCall {
            room: live.room.clone(),
            call: live.id.clone(),
        });
    }

    pub(super) fn call_refused(
        self,
        code: ErrorCode,
        message: &str,
        client_id: Option<&ClientMsgId>,
    ) -> bool {
        let Some(live) = self.live_call() else {
            return false;
        };
        let joined = self
            .active
            .with_untracked(|a| a.as_ref().is_some_and(|a| a.joined));
        let mine = match client_id {
            Some(id) => live.start_request.as_ref() == Some(id),
            None => !joined && matches!(code, ErrorCode::NoSuchCall | ErrorCode::LimitReached),
        };
        let ended_meanwhile = client_id.is_none() && code == ErrorCode::NoSuchCall;
        if mine || ended_meanwhile {
            self.end_call(Some(message.to_owned()));
        }
        mine || ended_meanwhile
    }

    pub(super) fn on_call_state(self, room: RoomId, info: super::CallInfo) {
        let me = self.me();
        self.calls.update(|calls| {
            if info.participants.is_empty() {
                if calls.get(&room).is_some_and(|c| c.call == info.call) {
                    calls.remove(&room);
                }
            } else {
                calls.insert(room.clone(), info.clone());
            }
        });
        let Some(live) = self.live_call() else {
            return;
        };
        if live.room != room || live.id != info.call {
            return;
        }
        if info.participants.is_empty() {
            let why = if live.answered.get() {
                "The call ended."
            } else {
                "Nobody answered."
            };
            self.end_call(Some(why.to_owned()));
            return;
        }
        if !info.participants.contains(&me) {
            // Not (yet, or any more) in it on the server: the welcome's rejoin fixes that.
            return;
        }
        let others: Vec<String> = info.participants.into_iter().filter(|p| p != &me).collect();
        if !others.is_empty() {
            live.answered.set(true);
        }
        live.peers
            .borrow_mut()
            .retain(|name, _| others.contains(name));
        let answered = live.answered.get();
        self.update_view(|v| {
            v.joined = true;
            v.answered = answered;
            v.peers.retain(|p| others.contains(&p.name));
            for name in &others {
                if !v.peers.iter().any(|p| &p.name == name) {
                    v.peers.push(PeerView {
                        name: name.clone(),
                        link: Link::Connecting,
                        speaking: false,
                        video_live: false,
                        frames_decoded: 0,
                        stream_rev: 0,
                        muted: false,
                    });
                }
            }
        });
        for name in others {
            if me < name && live.peer(&name).is_none() {
                self.offer_to(&live, name);
            }
        }
    }
}

fn stop_all(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}
