//! Microphone, camera and screen: opening them, and explaining why they could not be opened.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DisplayMediaStreamConstraints, MediaStream, MediaStreamConstraints};

fn devices() -> Result<web_sys::MediaDevices, String> {
    web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .ok_or_else(|| {
            "Calls need a secure connection (https): this browser offers no microphone here."
                .to_owned()
        })
}

/// A sentence for why a device could not be opened.
fn explain(error: &JsValue, what: &str) -> String {
    let name = error
        .dyn_ref::<web_sys::DomException>()
        .map(|e| e.name())
        .unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" | "SecurityError" => format!(
            "You did not allow the {what}. Allow it in the browser's site settings, then try again."
        ),
        "NotFoundError" | "OverconstrainedError" => format!("No {what} was found."),
        "NotReadableError" | "AbortError" => {
            format!("The {what} is in use by another app, or the system blocked it.")
        }
        _ => format!("Could not open the {what}."),
    }
}

async fn user_media(audio: bool, video: bool) -> Result<MediaStream, JsValue> {
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio_bool(audio);
    constraints.set_video_bool(video);
    let devices = devices().map_err(|e| JsValue::from_str(&e))?;
    let stream = JsFuture::from(devices.get_user_media_with_constraints(&constraints)?).await?;
    stream.dyn_into()
}

/// The microphone, plus the camera for a video call. A missing or busy camera does not stop a
/// video call: it goes on with sound only, and the second value says why.
pub async fn open(video: bool) -> Result<(MediaStream, Option<String>), String> {
    devices()?;
    match user_media(true, video).await {
        Ok(stream) => Ok((stream, None)),
        Err(error) if video => {
            let why = explain(&error, "camera");
            match user_media(true, false).await {
                Ok(stream) => Ok((stream, Some(why))),
                Err(error) => Err(explain(&error, "microphone")),
            }
        }
        Err(error) => Err(explain(&error, "microphone")),
    }
}

/// The screen (or a window or tab) the person picks.
pub async fn screen() -> Result<MediaStream, String> {
    let devices = devices()?;
    let constraints = DisplayMediaStreamConstraints::new();
    constraints.set_video_bool(true);
    let picked = devices
        .get_display_media_with_constraints(&constraints)
        .map_err(|e| explain(&e, "screen"))?;
    JsFuture::from(picked)
        .await
        .map_err(|e| explain(&e, "screen sharing"))?
        .dyn_into()
        .map_err(|_| "Could not share the screen.".to_owned())
}

/// The camera alone, turned on during a call.
pub async fn camera() -> Result<web_sys::MediaStreamTrack, String> {
    devices()?;
    let stream = user_media(false, true)
        .await
        .map_err(|e| explain(&e, "camera"))?;
    stream
        .get_video_tracks()
        .get(0)
        .dyn_into()
        .map_err(|_| "No camera was found.".to_owned())
}
