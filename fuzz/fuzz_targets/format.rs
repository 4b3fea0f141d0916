//! The client's message formatting (`client-core/src/format.rs`, pure Rust, included by path):
//! any body, as the fuzzer's text and as a body built from markup, links and mentions, splits
//! into pieces without a panic, and the pieces keep their promises.
#![no_main]

#[path = "../../client-core/src/format.rs"]
mod format;

use chat_fuzz::generate;
use libfuzzer_sys::fuzz_target;

fn check(body: &str) {
    let pieces = format::parse(body);
    // The pieces' text is the body's, in order, with markers taken out.
    let mut rest = body.chars();
    for piece in &pieces {
        assert!(!piece.text.is_empty(), "empty piece from {body:?}");
        for c in piece.text.chars() {
            assert!(
                rest.any(|b| b == c),
                "{pieces:?} is not taken from {body:?}"
            );
        }
        if let Some(url) = &piece.link {
            assert_eq!(url, &piece.text);
            let lower = url.to_ascii_lowercase();
            assert!(
                lower.starts_with("http://") || lower.starts_with("https://"),
                "{url:?}"
            );
            assert!(!url.chars().any(char::is_whitespace), "{url:?}");
        }
        if piece.mention {
            let name = piece
                .text
                .strip_prefix('@')
                .expect("a mention starts with @");
            assert!(shared::limits::check_username(name).is_ok(), "{name:?}");
        }
        if piece.code {
            assert!(!piece.text.contains('`'), "{piece:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    check(&generate::message_body(data));
});
