//! docs/PROTOCOL.md names every message either side sends and every error code: a variant added
//! to the wire types without a word in the doc fails here.

const WS: &str = include_str!("../src/ws.rs");
const DOC: &str = include_str!("../../docs/PROTOCOL.md");

/// The variants of `pub enum <name>` in `ws.rs`, as serde names them on the wire.
fn wire_names(name: &str) -> Vec<String> {
    let start = WS
        .find(&format!("pub enum {name} {{"))
        .unwrap_or_else(|| panic!("enum {name} in ws.rs"));
    let body = &WS[start..];
    let end = body.find("\n}\n").expect("the enum ends");
    body[..end]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let variant = line.strip_prefix("    ")?;
            let first = variant.chars().next()?;
            if !first.is_ascii_uppercase() {
                return None;
            }
            let ident: String = variant
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            Some(snake_case(&ident))
        })
        .collect()
}

fn snake_case(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_message_and_error_code_is_in_the_protocol_doc() {
    let mut missing = Vec::new();
    for kind in ["ClientMessage", "ServerMessage", "ErrorCode"] {
        let names = wire_names(kind);
        assert!(names.len() > 5, "{kind} read from ws.rs: {names:?}");
        for name in names {
            if !DOC.contains(&format!("`{name}`")) && !DOC.contains(&format!("`{name} ")) {
                missing.push(format!("{kind}::{name}"));
            }
        }
    }
    assert!(missing.is_empty(), "not in docs/PROTOCOL.md: {missing:?}");
}
