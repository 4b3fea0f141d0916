//! The app's address: `#/room/<id>` names the room on screen (`#/room/<id>/<seq>`: and a
//! message to show in it), so a reload, a link, back and
//! forward and logging in again show that room; `#/join/<token>` carries an invite. The room
//! shown last is also kept per user, for starts without an address (the installed app opens
//! at `/`, offline too).

use shared::{RoomId, Seq};

const ROOM_PREFIX: &str = "#/room/";
const JOIN_PREFIX: &str = "#/join/";
const LAST_ROOM_KEY: &str = "chat.last-room.";

fn hash() -> Option<String> {
    web_sys::window()?.location().hash().ok()
}

/// The room named by the address, if any.
pub fn room_in_address() -> Option<RoomId> {
    let hash = hash()?;
    let encoded = hash.strip_prefix(ROOM_PREFIX)?;
    let encoded = encoded.split('/').next()?;
    let id = js_sys::decode_uri_component(encoded).ok()?.as_string()?;
    (!id.is_empty()).then_some(RoomId(id))
}

/// The message a `#/room/<id>/<seq>` address points at (a search hit).
pub fn message_in_address() -> Option<Seq> {
    let hash = hash()?;
    let (_, seq) = hash.strip_prefix(ROOM_PREFIX)?.split_once('/')?;
    seq.parse().ok().map(Seq)
}

/// The address that shows `room`.
pub fn room_address(room: &RoomId) -> String {
    format!(
        "{ROOM_PREFIX}{}",
        String::from(js_sys::encode_uri_component(&room.0))
    )
}

/// Puts `room` in the address: as a new history entry when `new_entry` (back returns to the
/// room before), else in place of the current one.
pub fn show_room_in_address(room: &RoomId, new_entry: bool) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let address = room_address(room);
    if hash().as_deref() == Some(address.as_str()) {
        return;
    }
    let Ok(history) = window.history() else {
        return;
    };
    let null = wasm_bindgen::JsValue::NULL;
    let _ = if new_entry {
        history.push_state_with_url(&null, "", Some(&address))
    } else {
        history.replace_state_with_url(&null, "", Some(&address))
    };
}

/// The invite token in the address, if there is one.
pub fn invite_token_in_address() -> Option<String> {
    let hash = hash()?;
    let token = hash.strip_prefix(JOIN_PREFIX)?;
    (!token.is_empty()).then(|| token.to_owned())
}

/// Reads an invite token from the address and removes it, so a reload does not join again.
pub fn take_invite_token() -> Option<String> {
    let token = invite_token_in_address()?;
    if let Ok(history) = web_sys::window()?.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
    Some(token)
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Keeps `room` as the one `user` saw last on this device.
pub fn remember_last_room(user: &str, room: &RoomId) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(&format!("{LAST_ROOM_KEY}{user}"), &room.0);
    }
}

/// The room `user` saw last on this device.
pub fn last_room(user: &str) -> Option<RoomId> {
    let id = local_storage()?
        .get_item(&format!("{LAST_ROOM_KEY}{user}"))
        .ok()??;
    Some(RoomId(id))
}

/// Log-out removes the account's traces from the device.
pub fn forget_last_room(user: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(&format!("{LAST_ROOM_KEY}{user}"));
    }
}
