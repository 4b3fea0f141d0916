//! Client → server: a WebSocket text frame decoded as `shared::ws::ClientMessage` the way
//! `signaling/src/ws/dispatch.rs` `parse` does (`serde_json::from_str`), then the server's field
//! checks; and the sign-up/log-in body (`shared::api::Credentials`) with its two rules.
#![no_main]

use chat_fuzz::{
    check_client_message, check_password_rule, check_username_rule, generate, round_trip,
};
use libfuzzer_sys::fuzz_target;
use shared::api::Credentials;
use shared::ws::ClientMessage;

fn check(text: &str) {
    if let Ok(msg) = serde_json::from_str::<ClientMessage>(text) {
        check_client_message(&msg);
        round_trip(&msg);
    }
    if let Ok(creds) = serde_json::from_str::<Credentials>(text) {
        check_username_rule(&creds.username);
        check_password_rule(&creds.password);
        round_trip(&creds);
    }
}

fuzz_target!(
    init: chat_fuzz::schema::check_tags::<ClientMessage>(&chat_fuzz::schema::CLIENT_MESSAGE),
    |data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            check(text);
        }
        check(&generate::frame(data, &chat_fuzz::schema::CLIENT_INPUT));
    }
);
