//! In-call controls (microphone, camera, screen) and the statistics behind the tiles.

use super::super::Rtc;
use super::super::media;
use super::super::stats::{self, SPEAKING_LEVEL};
use super::{CallPeer, LiveCall, first_track, send_track};
use leptos::task::spawn_local;
use shared::calls::SignalData;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

impl Rtc {
    pub fn toggle_mic(self) {
        let Some(live) = self.live_call() else { return };
        let on = !live.mic.enabled();
        live.mic.set_enabled(on);
        self.update_view(|v| v.mic_on = on);
        let peers: Vec<String> = live.peers.borrow().keys().cloned().collect();
        for name in peers {
            self.signal(
                &live.room,
                &name,
                &live.id,
                SignalData::Muted { muted: !on },
            );
        }
    }

    /// Camera off releases it (its light goes out); on opens it again.
    pub fn toggle_camera(self) {
        let Some(live) = self.live_call() else { return };
        let current = live.camera.borrow_mut().take();
        match current {
            Some(camera) => {
                camera.stop();
                self.update_view(|v| {
                    v.camera_on = false;
                    v.local_rev += 1;
                });
                self.switch_video(&live);
            }
            None => spawn_local(async move {
                match media::camera().await {
                    Ok(camera) => {
                        if !self.live_call().is_some_and(|l| Rc::ptr_eq(&l, &live)) {
                            camera.stop();
                            return;
                        }
                        *live.camera.borrow_mut() = Some(camera);
                        self.update_view(|v| {
                            v.camera_on = true;
                            v.notice = None;
                            v.local_rev += 1;
                        });
                        self.switch_video(&live);
                    }
                    Err(why) => self.update_view(|v| v.notice = Some(why)),
                }
            }),
        }
    }

    pub fn toggle_screen(self) {
        let Some(live) = self.live_call() else { return };
        let sharing = live.screen.borrow_mut().take();
        if let Some(screen) = sharing {
            screen.stop();
            self.update_view(|v| {
                v.sharing = false;
                v.local_rev += 1;
            });
            self.switch_video(&live);
            return;
        }
        spawn_local(async move {
            let stream = match media::screen().await {
                Ok(stream) => stream,
                Err(why) => {
                    self.update_view(|v| v.notice = Some(why));
                    return;
                }
            };
            let Some(track) = first_track(stream.get_video_tracks()) else {
                return;
            };
            // The browser's own "Stop sharing" button ends the track.
            let on_end = Closure::<dyn FnMut()>::new(move || {
                if let Some(live) = self.live_call()
                    && live.screen.borrow().is_some()
                {
                    self.toggle_screen();
                }
            });
            track.set_onended(Some(on_end.as_ref().unchecked_ref()));
            *live._on_screen_end.borrow_mut() = Some(on_end);
            *live.screen.borrow_mut() = Some(track);
            self.update_view(|v| {
                v.sharing = true;
                v.local_rev += 1;
            });
            self.switch_video(&live);
        });
    }

    /// Sends my current video (screen, camera or nothing) to everyone.
    fn switch_video(self, live: &Rc<LiveCall>) {
        let video = live.outgoing_video();
        let peers: Vec<Rc<CallPeer>> = live.peers.borrow().values().cloned().collect();
        spawn_local(async move {
            for peer in peers {
                send_track(&peer.peer, "video", video.as_ref()).await;
            }
        });
    }

    /// Who is speaking and whose video is arriving, from each connection's statistics.
    pub(in crate::rtc) fn refresh_stats(self) {
        let Some(live) = self.live_call() else { return };
        let peers: Vec<(String, Rc<CallPeer>)> = live
            .peers
            .borrow()
            .iter()
            .map(|(n, p)| (n.clone(), p.clone()))
            .collect();
        spawn_local(async move {
            let mut my_level: f64 = 0.0;
            for (name, peer) in peers {
                let reading = stats::read(&peer.peer.pc).await;
                my_level = my_level.max(reading.local_level);
                let fresh = reading.frames_decoded > peer.frames_seen.get();
                peer.frames_seen.set(reading.frames_decoded);
                self.update_peer_view(&name, |p| {
                    p.speaking = reading.remote_level > SPEAKING_LEVEL;
                    p.video_live = fresh;
                    p.frames_decoded = reading.frames_decoded as u64;
                });
            }
            let speaking = my_level > SPEAKING_LEVEL && live.mic.enabled();
            self.update_view(|v| v.me_speaking = speaking);
        });
    }
}
