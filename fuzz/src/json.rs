//! A JSON tree that is written by hand, so a generated frame can also carry what `serde_json::Value`
//! cannot: keys in any order and repeated, non-ASCII written as `\u` escapes (surrogate pairs),
//! and raw snippets such as lone surrogates, huge or fractional numbers and invalid escapes.

use std::fmt::Write;

#[derive(Debug, Clone)]
pub enum Json {
    Null,
    Bool(bool),
    /// Written as it is: a number, or any other raw JSON snippet (valid or not).
    Raw(String),
    Str(String),
    Arr(Vec<Json>),
    /// Keys in this order; a key may appear twice.
    Obj(Vec<(String, Json)>),
}

/// How to write the text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Every non-ASCII character (and `/`) as `\u` escapes, UTF-16 surrogate pairs above U+FFFF.
    pub ascii: bool,
    /// Spaces and newlines between tokens.
    pub spaced: bool,
}

impl Json {
    pub fn to_text(&self, style: Style) -> String {
        let mut out = String::new();
        self.write(&mut out, style);
        out
    }

    fn write(&self, out: &mut String, style: Style) {
        let gap = if style.spaced { "\n " } else { "" };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Raw(raw) => out.push_str(raw),
            Json::Str(s) => write_str(s, out, style),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(gap);
                    item.write(out, style);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(gap);
                    write_str(key, out, style);
                    out.push(':');
                    out.push_str(gap);
                    value.write(out, style);
                }
                out.push_str(gap);
                out.push('}');
            }
        }
    }
}

fn write_str(s: &str, out: &mut String, style: Style) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if style.ascii => out.push_str("\\/"),
            c if (c as u32) < 0x20 || (style.ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_to_the_same_string() {
        let s = "a\"\\/\n\t\u{0}\u{1f}é\u{202e}👍\u{10ffff}";
        for ascii in [false, true] {
            let text = Json::Str(s.into()).to_text(Style {
                ascii,
                spaced: false,
            });
            assert_eq!(serde_json::from_str::<String>(&text).unwrap(), s);
        }
    }
}
