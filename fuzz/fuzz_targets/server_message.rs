//! Server → client: a WebSocket text frame decoded as `shared::ws::ServerMessage` the way the
//! browser client (`frontend/src/connection.rs`) and the native peer do, through the hand-written
//! flat decoders of `shared/src/wire.rs` (events, room summaries, signals inside).
#![no_main]

use chat_fuzz::schema::{EVENT_TAGGED, SERVER_MESSAGE, Shape, check_tags};
use chat_fuzz::{check_signal, generate, round_trip};
use libfuzzer_sys::fuzz_target;
use shared::events::Event;
use shared::ws::ServerMessage;

fn check(text: &str) {
    if let Ok(msg) = serde_json::from_str::<ServerMessage>(text) {
        match &msg {
            ServerMessage::Event { event } | ServerMessage::Ack { event, .. } => {
                let _ = (event.is_visible(), event.target());
            }
            ServerMessage::Signal { data, .. } => {
                check_signal(data);
            }
            _ => {}
        }
        round_trip(&msg);
    }
}

fuzz_target!(
    init: {
        check_tags::<ServerMessage>(&SERVER_MESSAGE);
        check_tags::<Event>(&EVENT_TAGGED);
    },
    |data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            check(text);
        }
        check(&generate::frame(data, &Shape::Tagged(&SERVER_MESSAGE)));
    }
);
