//! Reads what a connection's `getStats()` says about media: how loud the other person is, how
//! many of their video frames were decoded, how loud my microphone is.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

/// An audio level (0..1) above this counts as speaking.
pub const SPEAKING_LEVEL: f64 = 0.02;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MediaReading {
    /// The remote person's audio level.
    pub remote_level: f64,
    /// Video frames of theirs decoded so far.
    pub frames_decoded: f64,
    /// My microphone's level as sent on this connection.
    pub local_level: f64,
}

fn number(report: &JsValue, key: &str) -> Option<f64> {
    js_sys::Reflect::get(report, &JsValue::from_str(key))
        .ok()?
        .as_f64()
}

fn text(report: &JsValue, key: &str) -> String {
    js_sys::Reflect::get(report, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

pub async fn read(pc: &RtcPeerConnection) -> MediaReading {
    let mut reading = MediaReading::default();
    let Ok(report) = JsFuture::from(pc.get_stats()).await else {
        return reading;
    };
    let Ok(Some(entries)) = js_sys::try_iter(&report) else {
        return reading;
    };
    for entry in entries.flatten() {
        // A stats report is a map: entries are [id, stats].
        let stats = js_sys::Reflect::get(&entry, &JsValue::from_f64(1.0)).unwrap_or(entry);
        match (text(&stats, "type").as_str(), text(&stats, "kind").as_str()) {
            ("inbound-rtp", "audio") => {
                reading.remote_level = reading
                    .remote_level
                    .max(number(&stats, "audioLevel").unwrap_or(0.0));
            }
            ("inbound-rtp", "video") => {
                reading.frames_decoded += number(&stats, "framesDecoded").unwrap_or(0.0);
            }
            ("media-source", "audio") => {
                reading.local_level = reading
                    .local_level
                    .max(number(&stats, "audioLevel").unwrap_or(0.0));
            }
            _ => {}
        }
    }
    reading
}
