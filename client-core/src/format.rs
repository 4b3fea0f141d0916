//! Light message formatting: `**bold**`, `*italic*`, `` `code` ``, links and `@mentions`.
//!
//! The parser turns a body into [`Piece`]s of plain text with styles; views render each piece
//! as a text node inside an element chosen here, never as HTML, so a message can never inject
//! markup or script. Links are only `http://` and `https://` addresses.

/// A run of text and how to show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Piece {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub code: bool,
    /// The address of a link (equal to `text`).
    pub link: Option<String>,
    /// `@name` (the text includes the `@`).
    pub mention: bool,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The text as read, without formatting marks: for previews, quotes and announcements,
/// which show no styles.
pub fn plain_text(body: &str) -> String {
    parse(body).into_iter().map(|p| p.text).collect()
}

/// Splits `body` into styled pieces. Markers without a partner are shown as typed.
// One copy in the browser's bundle, not one inlined into each caller.
#[inline(never)]
pub fn parse(body: &str) -> Vec<Piece> {
    let chars: Vec<char> = body.chars().collect();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let (mut bold, mut italic) = (false, false);
    let flush = |text: &mut String, pieces: &mut Vec<Piece>, bold: bool, italic: bool| {
        if !text.is_empty() {
            pieces.push(Piece {
                text: std::mem::take(text),
                bold,
                italic,
                ..Piece::default()
            });
        }
    };
    let closes_later =
        |from: usize, marker: &[char]| (from..chars.len()).any(|i| chars[i..].starts_with(marker));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if c == '`'
            && let Some(len) = chars[i + 1..].iter().position(|&c| c == '`')
            && len > 0
        {
            flush(&mut text, &mut pieces, bold, italic);
            pieces.push(Piece {
                text: chars[i + 1..i + 1 + len].iter().collect(),
                code: true,
                ..Piece::default()
            });
            i += len + 2;
            continue;
        }
        if chars[i..].starts_with(&['*', '*']) && (bold || closes_later(i + 2, &['*', '*'])) {
            flush(&mut text, &mut pieces, bold, italic);
            bold = !bold;
            i += 2;
            continue;
        }
        if c == '*' && (italic || closes_later(i + 1, &['*'])) {
            flush(&mut text, &mut pieces, bold, italic);
            italic = !italic;
            i += 1;
            continue;
        }
        if boundary && let Some(len) = link_len(&chars[i..]) {
            flush(&mut text, &mut pieces, bold, italic);
            let url: String = chars[i..i + len].iter().collect();
            pieces.push(Piece {
                text: url.clone(),
                link: Some(url),
                bold,
                italic,
                ..Piece::default()
            });
            i += len;
            continue;
        }
        if c == '@' && (i == 0 || !is_name_char(chars[i - 1])) {
            let len = chars[i + 1..]
                .iter()
                .take_while(|c| is_name_char(**c))
                .count();
            let name: String = chars[i + 1..i + 1 + len].iter().collect();
            let name = name.trim_end_matches('.');
            if shared::limits::check_username(name).is_ok() {
                flush(&mut text, &mut pieces, bold, italic);
                pieces.push(Piece {
                    text: format!("@{name}"),
                    mention: true,
                    bold,
                    italic,
                    ..Piece::default()
                });
                i += 1 + name.chars().count();
                continue;
            }
        }
        text.push(c);
        i += 1;
    }
    flush(&mut text, &mut pieces, bold, italic);
    pieces
}

/// Length of the `http(s)://` address starting here, without trailing punctuation.
fn link_len(chars: &[char]) -> Option<usize> {
    let starts = |prefix: &str| {
        prefix.chars().count() <= chars.len()
            && chars
                .iter()
                .zip(prefix.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
    };
    let scheme = if starts("https://") {
        8
    } else if starts("http://") {
        7
    } else {
        return None;
    };
    let mut len = chars
        .iter()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '<' | '>' | '"' | '`'))
        .count();
    while len > scheme
        && matches!(
            chars[len - 1],
            '.' | ',' | '!' | '?' | ')' | ':' | ';' | '*'
        )
    {
        len -= 1;
    }
    (len > scheme).then_some(len)
}
