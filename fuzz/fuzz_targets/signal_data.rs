//! WebRTC signaling payloads: `shared::calls::SignalData` as the `data` of a `signal` frame
//! (offer, answer, candidate, a file offer, bye), with the server's size limit and offer rules.
//! Decoded on its own here, so every input reaches it rather than the frame around it.
#![no_main]

use chat_fuzz::schema::{SIGNAL, SIGNAL_DATA, check_tags};
use chat_fuzz::{check_signal, generate, round_trip};
use libfuzzer_sys::fuzz_target;
use shared::calls::SignalData;

fn check(text: &str) {
    if let Ok(data) = serde_json::from_str::<SignalData>(text) {
        check_signal(&data);
        round_trip(&data);
    }
}

fuzz_target!(
    init: check_tags::<SignalData>(&SIGNAL_DATA),
    |data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            check(text);
        }
        check(&generate::frame(data, &SIGNAL));
    }
);
