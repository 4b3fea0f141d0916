//! Client message ids: 128 random bits as 32 hex digits.
//!
//! Uses `crypto.getRandomValues`, which (unlike `crypto.randomUUID`) also exists on pages served
//! over plain http from a LAN address.

use shared::ClientMsgId;

pub fn new_client_id() -> ClientMsgId {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !filled {
        // No Web Crypto (very old browser): fall back to Math.random; uniqueness per sender is
        // all the id needs.
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    ClientMsgId(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
