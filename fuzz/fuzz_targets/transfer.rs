//! Peer-to-peer file transfer: the data channel's control messages
//! (`shared::transfer::ChannelMessage`, decoded by the browser and the native peer), and the
//! offered files' metadata (`FileMeta`, alone or as an offer) with `check_offer` and the name a
//! received file is stored under (`safe_name`). File bytes are opaque binary messages.
#![no_main]

use chat_fuzz::schema::{CHANNEL_MESSAGE, TRANSFER_INPUT, check_tags};
use chat_fuzz::{check_file_meta, check_offer_rules, generate, round_trip};
use libfuzzer_sys::fuzz_target;
use shared::transfer::{ChannelMessage, FileMeta};

fn check(text: &str) {
    if let Ok(msg) = serde_json::from_str::<ChannelMessage>(text) {
        round_trip(&msg);
    }
    if let Ok(files) = serde_json::from_str::<Vec<FileMeta>>(text) {
        check_offer_rules(&files);
        round_trip(&files);
    }
    if let Ok(file) = serde_json::from_str::<FileMeta>(text) {
        check_file_meta(&file);
        round_trip(&file);
    }
}

fuzz_target!(
    init: check_tags::<ChannelMessage>(&CHANNEL_MESSAGE),
    |data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            check(text);
        }
        check(&generate::frame(data, &TRANSFER_INPUT));
    }
);
