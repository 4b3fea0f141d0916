//! Structure-aware inputs: the fuzzer's bytes drive choices (which variant, which fields, which
//! kind of value) through `arbitrary::Unstructured`, so most generated frames get past the JSON
//! syntax and the tag and reach the fields and the validators behind them. Every choice also
//! has a small chance of going wrong on purpose: a field left out, a value of the wrong type, a
//! field of another variant, a repeated key, an unknown tag, a number out of range.

use crate::json::{Json, Style};
use crate::schema::{Field, Int, Shape, Tagged, Text};
use arbitrary::{Result, Unstructured};

/// Lists and objects nest at most this deep (the protocol needs 5: history, events, message,
/// reactions, users); random values nest deeper only as raw text.
const MAX_DEPTH: usize = 6;

/// A frame of `shape`, built from `data` and written as JSON text.
pub fn frame(data: &[u8], shape: &Shape) -> String {
    let mut u = Unstructured::new(data);
    let style = Style {
        ascii: u.ratio(1, 8).unwrap_or(false),
        spaced: u.ratio(1, 8).unwrap_or(false),
    };
    value(&mut u, shape, 0).unwrap_or(Json::Null).to_text(style)
}

/// A message body built from `data`: markup, links, mentions and awkward characters.
pub fn message_body(data: &[u8]) -> String {
    body(&mut Unstructured::new(data), 64).unwrap_or_default()
}

pub fn value(u: &mut Unstructured, shape: &Shape, depth: usize) -> Result<Json> {
    // Now and then a value of the wrong kind, to reach the decoders' type errors.
    if u.ratio(1, 32)? {
        return any(u, depth);
    }
    Ok(match *shape {
        Shape::Str(text) => {
            if u.ratio(1, 40)? {
                Json::Raw(u.choose(RAW_STRINGS)?.to_string())
            } else {
                Json::Str(string(u, text)?)
            }
        }
        Shape::Int(int) => Json::Raw(integer(u, int)?),
        Shape::Bool => Json::Bool(u.arbitrary()?),
        Shape::Word(words) => Json::Str(if u.ratio(1, 24)? {
            edge_string(u)?
        } else if u.ratio(1, 24)? {
            u.choose(words)?.to_uppercase()
        } else {
            u.choose(words)?.to_string()
        }),
        Shape::Opt(inner) => {
            if u.ratio(1, 4)? {
                Json::Null
            } else {
                value(u, inner, depth)?
            }
        }
        Shape::List(inner) => {
            let n = if depth >= MAX_DEPTH {
                0
            } else {
                u.int_in_range(0..=4)?
            };
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(value(u, inner, depth + 1)?);
            }
            Json::Arr(items)
        }
        Shape::Obj(own) => {
            let mut obj = Vec::new();
            fields(u, own, depth, &mut obj)?;
            finish(u, obj, &[own], depth)?
        }
        Shape::Tagged(tagged) => self::tagged(u, tagged, depth)?,
        Shape::Either(options) => {
            let shape = u.choose(options)?;
            value(u, shape, depth)?
        }
    })
}

/// `{tag: "variant", fields...}`: usually a real tag and the variant's own fields.
fn tagged(u: &mut Unstructured, t: &Tagged, depth: usize) -> Result<Json> {
    let (name, own) = u.choose(t.variants)?;
    let mut obj = Vec::new();
    match u.int_in_range(0..=23)? {
        0 => {} // no tag at all
        1 => obj.push((t.tag.to_owned(), any(u, depth + 1)?)),
        2 => obj.push((t.tag.to_owned(), Json::Str(edge_string(u)?))),
        3 => obj.push((t.tag.to_owned(), Json::Str(name.to_uppercase()))),
        _ => obj.push((t.tag.to_owned(), Json::Str((*name).to_owned()))),
    }
    fields(u, t.common, depth, &mut obj)?;
    fields(u, own, depth, &mut obj)?;
    let others: Vec<&[Field]> = t.variants.iter().map(|(_, f)| *f).collect();
    finish(u, obj, &others, depth)
}

/// The fields of one object; optional ones are often left out, required ones rarely.
fn fields(
    u: &mut Unstructured,
    fields: &[Field],
    depth: usize,
    out: &mut Vec<(String, Json)>,
) -> Result<()> {
    for (name, shape) in fields {
        let leave_out = if matches!(shape, Shape::Opt(_)) {
            u.ratio(1, 3)?
        } else {
            u.ratio(1, 40)?
        };
        if !leave_out {
            out.push(((*name).to_owned(), value(u, shape, depth + 1)?));
        }
    }
    Ok(())
}

/// Adds, some of the time, fields that do not belong (another variant's, unknown, repeated),
/// and shuffles the keys (a tag last makes serde's derived decoders buffer the whole object).
fn finish(
    u: &mut Unstructured,
    mut obj: Vec<(String, Json)>,
    others: &[&[Field]],
    depth: usize,
) -> Result<Json> {
    if u.ratio(1, 4)? {
        for _ in 0..u.int_in_range(1..=3)? {
            match u.int_in_range(0..=2)? {
                0 => {
                    let variant = *u.choose(others)?;
                    let (name, shape) = u.choose(variant)?;
                    obj.push(((*name).to_owned(), value(u, shape, depth + 1)?));
                }
                1 => obj.push((u.choose(KEYS)?.to_string(), any(u, depth + 1)?)),
                _ if !obj.is_empty() => {
                    let key = obj[u.choose_index(obj.len())?].0.clone();
                    obj.push((key, any(u, depth + 1)?));
                }
                _ => {}
            }
        }
    }
    if obj.len() > 1 && u.ratio(1, 3)? {
        for i in (1..obj.len()).rev() {
            let j = u.int_in_range(0..=i)?;
            obj.swap(i, j);
        }
    }
    Ok(Json::Obj(obj))
}

/// Any JSON value (and now and then text that is not JSON at all).
fn any(u: &mut Unstructured, depth: usize) -> Result<Json> {
    Ok(match u.int_in_range(0..=10)? {
        0 => Json::Null,
        1 => Json::Bool(u.arbitrary()?),
        2 => Json::Raw(integer(u, Int::I64)?),
        3 => Json::Raw(integer(u, Int::U64)?),
        4 | 5 => Json::Str(edge_string(u)?),
        6 if depth < MAX_DEPTH => {
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                items.push(any(u, depth + 1)?);
            }
            Json::Arr(items)
        }
        7 if depth < MAX_DEPTH => {
            let mut obj = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                obj.push((u.choose(KEYS)?.to_string(), any(u, depth + 1)?));
            }
            Json::Obj(obj)
        }
        8 => {
            // Around serde_json's nesting limit of 128.
            let n = *u.choose(&[127usize, 128, 129, 1_000])?;
            let (open, close) = if u.arbitrary()? {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            Json::Raw(format!("{}1{}", open.repeat(n), close.repeat(n)))
        }
        9 => Json::Raw(u.choose(RAW_STRINGS)?.to_string()),
        _ => Json::Raw(u.choose(NOT_JSON)?.to_string()),
    })
}

/// A string of the given kind, or (a quarter of the time) any awkward string at all.
pub fn string(u: &mut Unstructured, text: Text) -> Result<String> {
    if text == Text::Free || u.ratio(1, 4)? {
        edge_string(u)
    } else {
        typed(u, text)
    }
}

fn edge_string(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=6)? {
        0 | 1 => u.choose(EDGE)?.to_string(),
        2 => long(u)?,
        3 => u.arbitrary::<String>()?,
        4 => {
            let mut s = String::new();
            for _ in 0..u.int_in_range(2..=6)? {
                s.push_str(u.choose(EDGE)?);
            }
            s
        }
        5 => {
            let mut s = String::new();
            for _ in 0..u.int_in_range(1..=40)? {
                s.push(*u.choose(EDGE_CHARS)?);
            }
            s
        }
        _ => {
            let text = *u.choose(TEXTS)?;
            typed(u, text)?
        }
    })
}

/// A unit repeated to a length near a limit (name 64/65, username 32/33, body 16 KiB...).
fn long(u: &mut Unstructured) -> Result<String> {
    let unit = u.choose(UNITS)?;
    let n = *u.choose(LENGTHS)?;
    let mut s = unit.repeat(n);
    if u.ratio(1, 4)? {
        s.insert_str(0, u.choose(EDGE)?);
    }
    if u.ratio(1, 4)? {
        s.push_str(u.choose(EDGE)?);
    }
    Ok(s)
}

fn typed(u: &mut Unstructured, text: Text) -> Result<String> {
    Ok(match text {
        Text::User => {
            if u.ratio(1, 3)? {
                u.choose(USERS)?.to_string()
            } else {
                let n = u.int_in_range(0..=34)?;
                chars_from(u, NAME_CHARS, n)?
            }
        }
        Text::Password => {
            let n = *u.choose(&[0usize, 1, 7, 8, 9, 64, 127, 128, 129])?;
            let mut s = String::new();
            for _ in 0..n {
                s.push(*u.choose(&['p', 'w', '1', ' ', 'é', '👍', '\u{0}', '\u{202e}'])?);
            }
            s
        }
        Text::Id => {
            if u.ratio(1, 3)? {
                u.choose(IDS)?.to_string()
            } else {
                let n = *u.choose(&[0usize, 1, 2, 8, 16, 32, 63, 64, 65])?;
                chars_from(u, ID_CHARS, n)?
            }
        }
        Text::Body => body(u, 24)?,
        Text::Name => {
            if u.ratio(1, 8)? {
                "x".repeat(*u.choose(&[64usize, 65, 300, 301])?)
            } else if u.ratio(1, 2)? {
                u.choose(NAMES)?.to_string()
            } else {
                body(u, 6)?
            }
        }
        Text::Emoji => {
            let mut s = String::new();
            for _ in 0..u.int_in_range(1..=3)? {
                s.push_str(u.choose(EMOJI)?);
            }
            s
        }
        Text::Sdp => u.choose(SDP)?.to_string(),
        Text::FileName => {
            if u.ratio(1, 8)? {
                "x".repeat(*u.choose(&[255usize, 256])?)
            } else {
                u.choose(FILE_NAMES)?.to_string()
            }
        }
        Text::Mime => {
            if u.ratio(1, 8)? {
                "x".repeat(*u.choose(&[100usize, 101])?)
            } else {
                u.choose(MIMES)?.to_string()
            }
        }
        Text::Hex => {
            let n = *u.choose(&[64usize, 64, 64, 0, 63, 65, 128])?;
            chars_from(u, HEX_CHARS, n)?
        }
        Text::Url => u.choose(URLS)?.to_string(),
        Text::Free => u.arbitrary::<String>()?,
    })
}

fn chars_from(u: &mut Unstructured, set: &[u8], n: usize) -> Result<String> {
    let mut s = String::with_capacity(n);
    for _ in 0..n {
        s.push(*u.choose(set)? as char);
    }
    Ok(s)
}

/// Text as people type it, in pieces the formatter and the mention finder react to.
fn body(u: &mut Unstructured, max_pieces: usize) -> Result<String> {
    let mut s = String::new();
    for _ in 0..u.int_in_range(0..=max_pieces)? {
        if u.ratio(1, 8)? {
            s.push(u.arbitrary::<char>()?);
        } else {
            s.push_str(u.choose(BODY_PIECES)?);
        }
    }
    Ok(s)
}

fn integer(u: &mut Unstructured, int: Int) -> Result<String> {
    Ok(match u.int_in_range(0..=15)? {
        0..=9 => match int {
            Int::I64 => u.int_in_range(-2i64..=200)?.to_string(),
            _ => u.int_in_range(0u64..=200)?.to_string(),
        },
        10..=12 => match int {
            Int::I64 => u.arbitrary::<i64>()?.to_string(),
            Int::U64 => u.arbitrary::<u64>()?.to_string(),
            Int::U32 => u.arbitrary::<u32>()?.to_string(),
            Int::U16 => u.arbitrary::<u16>()?.to_string(),
        },
        13 | 14 => {
            let edges: &[&str] = match int {
                Int::I64 => &[
                    "9223372036854775807",
                    "-9223372036854775808",
                    "9223372036854775808",
                    "-9223372036854775809",
                    "1700000000000",
                ],
                Int::U64 => &["18446744073709551615", "18446744073709551616", "-1"],
                Int::U32 => &["4294967295", "4294967296", "-1", "100", "101"],
                Int::U16 => &["65535", "65536", "-1"],
            };
            u.choose(edges)?.to_string()
        }
        _ => u.choose(ODD_NUMBERS)?.to_string(),
    })
}

/// Strings that break rules: direction overrides, zero-width and control characters,
/// combining marks, emoji sequences, path tricks, markup.
const EDGE: &[&str] = &[
    "",
    " ",
    "a",
    "alice",
    "lobby",
    "\u{202e}",
    "\u{202d}",
    "\u{2066}",
    "\u{2069}",
    "\u{200b}",
    "\u{200c}",
    "\u{200d}",
    "\u{feff}",
    "\u{0}",
    "\n",
    "\t",
    "\r\n",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{a0}",
    "\u{3000}",
    "e\u{301}",
    "\u{301}",
    "é",
    "ß",
    "İ",
    "Ⅻ",
    "١٢٣",
    "👍",
    "👍🏽",
    "❤️",
    "👩‍👩‍👧",
    "🇫🇷",
    "\u{10ffff}",
    "\u{fffd}",
    "\u{e000}",
    "\u{fdd0}",
    "@",
    "@alice",
    "x@example.org",
    "**",
    "*",
    "`",
    "https://example.org/a_(b).",
    "../",
    "..",
    ".",
    "/",
    "\\",
    ":",
    "<b>",
    "\"",
    "'",
    "%00",
    "0",
    "null",
    "{}",
];

const EDGE_CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    '-',
    '_',
    '.',
    '@',
    '*',
    '`',
    ' ',
    '\n',
    '\t',
    '\0',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{202e}',
    '\u{200b}',
    '\u{200d}',
    '\u{feff}',
    '\u{301}',
    'é',
    'ß',
    '😀',
    '👍',
    '\u{1f3fd}',
    '\u{fe0f}',
    '\u{1f1eb}',
    '\u{10ffff}',
    '/',
    '\\',
    ':',
    '"',
];

const UNITS: &[&str] = &[
    "a", "x", " ", "é", "👍", "\u{202e}", "\u{200b}", "@a", "*", "`", "-",
];

const LENGTHS: &[usize] = &[
    2, 3, 4, 7, 8, 9, 31, 32, 33, 63, 64, 65, 99, 100, 101, 127, 128, 129, 254, 255, 256, 299, 300,
    301, 1_024, 16_383, 16_384, 16_385, 32_768, 32_769, 65_537,
];

const TEXTS: &[Text] = &[
    Text::User,
    Text::Id,
    Text::Body,
    Text::Name,
    Text::Emoji,
    Text::Sdp,
    Text::FileName,
    Text::Mime,
    Text::Hex,
];

const NAME_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
const ID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
const HEX_CHARS: &[u8] = b"0123456789abcdef";

const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "eve",
    "Bob_1.x-y",
    "ALICE",
    "al",
    "al ice",
    "ålice",
    "bob.",
    "...",
    "-_-",
    "abcdefghijklmnopqrstuvwxyz012345",
    "abcdefghijklmnopqrstuvwxyz0123456",
];

const IDS: &[&str] = &[
    "lobby",
    "r1",
    "c1",
    "k1",
    "t1",
    "9b1f0c2e7a4d4f1e8c3b6a5d2e1f0a9b",
    "0f8c2a1e-7d3b-4c5a-9e6f-1a2b3c4d5e6f",
    "a3f09c1d2b7e4410",
    "has space",
    "é",
];

const NAMES: &[&str] = &[
    "Design",
    "Lobby",
    "Design crew",
    "  ",
    "",
    " x ",
    "a\nb",
    "\u{202e}evil",
    "Everyone who has an account is here.",
];

const EMOJI: &[&str] = &[
    "👍",
    "❤️",
    "👍🏽",
    "👩‍👩‍👧",
    "🇫🇷",
    "🎉",
    "\u{fe0f}",
    "\u{200d}",
    "\u{1f3fd}",
    "©",
    "→",
    "a",
    " ",
    "é",
    "<b>",
    "\u{202e}",
    "1",
];

const SDP: &[&str] = &[
    "v=0",
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11:22\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n",
    "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host",
    "candidate:2 1 tcp 1518280447 ::1 9 typ host tcptype active",
    "",
    "0",
];

const FILE_NAMES: &[&str] = &[
    "cat.png",
    "report.pdf",
    "../../etc/passwd",
    "..",
    ".",
    "...",
    ".hidden",
    " a ",
    "a\nb.txt",
    "C:\\Windows\\x.txt",
    "a/b",
    "con",
    "\u{202e}gpj.exe",
    "\u{200b}",
    "",
    "x",
];

const MIMES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "text/plain",
    "application/octet-stream",
    "",
    "image/",
    "IMAGE/PNG",
];

const URLS: &[&str] = &[
    "stun:stun.example.org:3478",
    "turn:turn.example.org:3478?transport=udp",
    "turns:turn.example.org:5349",
    "",
];

const BODY_PIECES: &[&str] = &[
    "**",
    "*",
    "`",
    "``",
    "http://",
    "https://",
    "HTTPS://",
    "example.org",
    "/path_(x)",
    "?q=1&r=2",
    ".",
    ",",
    "!",
    "?",
    "(",
    ")",
    ":",
    ";",
    "@",
    "@alice",
    "@Bob.",
    "@bo",
    "x@example.org",
    "alice",
    "bob",
    "hi",
    "word",
    "-",
    "_",
    " ",
    " ",
    "  ",
    "\n",
    "\t",
    "é",
    "e\u{301}",
    "\u{202e}",
    "\u{200b}",
    "\u{200d}",
    "👍",
    "👩‍👩‍👧",
    "<",
    ">",
    "\"",
    "<script>",
    "\u{0}",
    "\u{1b}",
];

/// Whole JSON string tokens that a Rust `String` cannot hold or that are not valid JSON.
const RAW_STRINGS: &[&str] = &[
    r#""\ud800""#,
    r#""\udfff""#,
    r#""\ud83d""#,
    r#""\ud83d\ude00""#,
    r#""\udbff\udfff""#,
    r#""\u0000""#,
    r#""\u202E""#,
    r#""\u00e9""#,
    r#""\/""#,
    r#""\x""#,
    r#""\u12""#,
    "\"a\tb\"",
    "\"a\u{0}b\"",
];

/// Numbers serde_json accepts as JSON but that fit no integer field, or barely do.
const ODD_NUMBERS: &[&str] = &[
    "-0",
    "0.0",
    "1.0",
    "1.5",
    "1e3",
    "1E400",
    "-1e400",
    "1e-400",
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "340282366920938463463374607431768211456",
];

/// Text that is not JSON.
const NOT_JSON: &[&str] = &[
    "01",
    "-",
    "NaN",
    "Infinity",
    "[1,]",
    "{\"a\":1,}",
    "\"open",
    "tru",
    "nul",
    "1e",
    "0x10",
    "'a'",
    "\u{feff}1",
];

/// Keys that are not fields, or are fields of something else.
const KEYS: &[&str] = &[
    "type",
    "kind",
    "room",
    "blocked",
    "data",
    "event",
    "extra",
    "",
    "__proto__",
    "Type",
    "id",
    "files",
    "client_id",
    "\u{0}",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CHANNEL_MESSAGE, CLIENT_MESSAGE, SERVER_MESSAGE, SIGNAL};
    use serde::de::DeserializeOwned;

    /// The share of frames generated from pseudo-random bytes that decode as `T`.
    fn decoded_share<T: DeserializeOwned>(shape: &Shape) -> f64 {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut ok = 0;
        let n = 2_000;
        for _ in 0..n {
            let bytes: Vec<u8> = (0..512)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            ok += serde_json::from_str::<T>(&frame(&bytes, shape)).is_ok() as usize;
        }
        ok as f64 / n as f64
    }

    #[test]
    fn most_generated_frames_get_past_the_decoder() {
        use shared::{calls, transfer, ws};
        let shares = [
            decoded_share::<ws::ClientMessage>(&Shape::Tagged(&CLIENT_MESSAGE)),
            decoded_share::<ws::ServerMessage>(&Shape::Tagged(&SERVER_MESSAGE)),
            decoded_share::<calls::SignalData>(&SIGNAL),
            decoded_share::<transfer::ChannelMessage>(&Shape::Tagged(&CHANNEL_MESSAGE)),
        ];
        eprintln!("{shares:?}");
        // Measured: about half (a server frame, with its nested events, 0.3).
        assert!(shares.iter().all(|s| *s > 0.25), "{shares:?}");
    }
}
