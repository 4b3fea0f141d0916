//! Input rules shared by server and client. The server is the authority; the client applies the
//! same rules to explain a problem before a round trip.

/// Largest WebSocket message (and frame) the server reads, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Longest message body, in bytes of UTF-8 (16 KiB). Bytes, not characters, because bytes are
/// what a message costs to store and deliver.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most events returned by one history or catch-up request.
pub const MAX_HISTORY_PAGE: u32 = 100;
/// Longest room name and topic, in characters.
pub const ROOM_NAME_MAX: usize = 64;
pub const ROOM_TOPIC_MAX: usize = 300;
/// Longest reaction, in bytes: room for one emoji with skin tone and joiners, not for text.
pub const EMOJI_MAX_BYTES: usize = 32;
/// Different emoji one message can carry.
pub const MAX_REACTIONS_PER_MESSAGE: usize = 20;
/// Rooms and direct conversations one account can be in; keeps the room list one frame.
pub const MAX_ROOMS_PER_USER: usize = 300;
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
/// OWASP ASVS asks for at least 8 characters and allowing at least 64.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
/// A display name: what people see beside the username.
pub const DISPLAY_NAME_MAX: usize = 64;

/// Why a username, password or message body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidInput {
    UsernameLength,
    UsernameCharacters,
    PasswordLength,
    BodyEmpty,
    BodyTooLong,
    BodyControlCharacters,
    RoomNameLength,
    RoomTopicLength,
    NotAnEmoji,
    DisplayName,
    /// Text-direction override characters (see [`is_direction_override`]).
    DirectionOverride,
}

impl InvalidInput {
    /// A sentence a person can act on.
    pub fn explain(self) -> String {
        match self {
            Self::UsernameLength => {
                format!("Username must be {USERNAME_MIN} to {USERNAME_MAX} characters long.")
            }
            Self::UsernameCharacters => {
                "Username may contain only letters, digits, '.', '_' and '-'.".to_owned()
            }
            Self::PasswordLength => {
                format!("Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long.")
            }
            Self::BodyEmpty => "Message is empty.".to_owned(),
            Self::BodyTooLong => {
                format!("Message is longer than {} KiB.", MAX_BODY_BYTES / 1024)
            }
            Self::BodyControlCharacters => "Message contains control characters.".to_owned(),
            Self::RoomNameLength => {
                format!("Room name must be 1 to {ROOM_NAME_MAX} characters long.")
            }
            Self::RoomTopicLength => {
                format!("Topic must be at most {ROOM_TOPIC_MAX} characters long.")
            }
            Self::NotAnEmoji => "A reaction must be a single emoji.".to_owned(),
            Self::DisplayName => format!(
                "A display name is at most {DISPLAY_NAME_MAX} characters, without control or \
                 invisible-only text."
            ),
            Self::DirectionOverride => {
                "Text-direction override characters (U+202A-U+202E, U+2066-U+2069) are not allowed."
                    .to_owned()
            }
        }
    }
}

/// Usernames are ASCII letters, digits, `.`, `_` and `-`. They are unique regardless of case.
pub fn check_username(name: &str) -> Result<(), InvalidInput> {
    let len = name.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(InvalidInput::UsernameLength);
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(InvalidInput::UsernameCharacters);
    }
    Ok(())
}

pub fn check_password(password: &str) -> Result<(), InvalidInput> {
    let len = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(InvalidInput::PasswordLength);
    }
    Ok(())
}

/// A body must have visible content, fit [`MAX_BODY_BYTES`] and carry no control characters
/// other than newline and tab (they would let one message forge the look of another).
pub fn check_body(body: &str) -> Result<(), InvalidInput> {
    if body.chars().all(is_invisible) {
        return Err(InvalidInput::BodyEmpty);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(InvalidInput::BodyTooLong);
    }
    if body
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(InvalidInput::BodyControlCharacters);
    }
    if body.chars().any(is_direction_override) {
        return Err(InvalidInput::DirectionOverride);
    }
    Ok(())
}

/// The explicit embedding, override and isolate characters (U+202A-U+202E, U+2066-U+2069):
/// they reorder the text around them, so `invoice\u{202e}fdp.exe` shows as "invoiceexe.pdf"
/// ("Trojan Source"). Right-to-left text needs none of them; the plain marks U+200E and U+200F
/// stay allowed.
pub fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Longest file name kept, in bytes.
pub const FILE_NAME_MAX: usize = 160;

/// The caption of a message that carries a file: may be empty, otherwise a valid body.
pub fn check_caption(body: &str) -> Result<(), InvalidInput> {
    if body.is_empty() {
        Ok(())
    } else {
        check_body(body)
    }
}

/// A file name safe to show and to offer as a download's name: only what follows the last `/`
/// or `\`, without control, direction-override or other invisible characters at its ends or
/// inside, without leading dots (no hidden files), at most [`FILE_NAME_MAX`] bytes (cut before
/// the extension, which is kept when short), and `file` when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|&c| !c.is_control() && !is_direction_override(c))
        .map(|c| if is_invisible(c) { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return "file".to_owned();
    }
    if cleaned.len() <= FILE_NAME_MAX {
        return cleaned.to_owned();
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| ext.len() <= 16);
    let room = FILE_NAME_MAX - extension.map_or(0, |ext| ext.len() + 1);
    let mut cut = room;
    while !cleaned.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = cleaned[..cut].trim_end();
    match extension {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem.to_owned(),
    }
}

/// Characters that show nothing: whitespace, and Unicode's default-ignorable code points
/// (zero-width spaces and joiners, the BOM, variation selectors, fillers), plus the blank
/// braille pattern. A message of only these would look empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// A room name has visible content, no control characters, and fits [`ROOM_NAME_MAX`].
pub fn check_room_name(name: &str) -> Result<(), InvalidInput> {
    if name.chars().all(is_invisible)
        || name.chars().count() > ROOM_NAME_MAX
        || name.chars().any(char::is_control)
    {
        return Err(InvalidInput::RoomNameLength);
    }
    if name.chars().any(is_direction_override) {
        return Err(InvalidInput::DirectionOverride);
    }
    Ok(())
}

/// Empty clears it. Otherwise visible text of at most [`DISPLAY_NAME_MAX`] characters: a name
/// of only invisible characters, or with text-direction overrides, could pass for another.
pub fn check_display_name(name: &str) -> Result<(), InvalidInput> {
    if name.is_empty() {
        return Ok(());
    }
    // Direction marks (LRM, RLM, ALM) and line or paragraph separators reorder or break the
    // text around a name as overrides do.
    let reorders = |c: char| {
        matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}'
        )
    };
    if name.chars().all(is_invisible)
        || name.chars().count() > DISPLAY_NAME_MAX
        || name.chars().any(|c| c.is_control() || reorders(c))
    {
        return Err(InvalidInput::DisplayName);
    }
    if name.chars().any(is_direction_override) {
        return Err(InvalidInput::DirectionOverride);
    }
    Ok(())
}

pub fn check_room_topic(topic: &str) -> Result<(), InvalidInput> {
    if topic.chars().count() > ROOM_TOPIC_MAX || topic.chars().any(char::is_control) {
        return Err(InvalidInput::RoomTopicLength);
    }
    if topic.chars().any(is_direction_override) {
        return Err(InvalidInput::DirectionOverride);
    }
    Ok(())
}

/// A reaction is a short run of non-ASCII symbols (one emoji, possibly with modifiers and
/// joiners): no letters, digits, spaces or control characters, so it cannot carry text. The
/// emoji built on a letter or digit are let through as emoji only: a keycap (`#`, `*` or a
/// digit, then U+20E3, as in 1️⃣) and a letter-like symbol in emoji presentation (U+FE0F
/// after it, as in ℹ️ and Ⓜ️).
pub fn check_emoji(emoji: &str) -> Result<(), InvalidInput> {
    const PRESENTATION: char = '\u{FE0F}';
    const KEYCAP: char = '\u{20E3}';
    let chars: Vec<char> = emoji.chars().collect();
    let allowed = |i: usize, c: char| {
        if c.is_control() || c.is_whitespace() {
            return false;
        }
        if !c.is_alphanumeric() && !c.is_ascii() {
            return true;
        }
        let next = chars.get(i + 1).copied();
        let after = chars.get(i + 2).copied();
        let keycap = matches!(c, '0'..='9' | '#' | '*')
            && (next == Some(KEYCAP) || (next == Some(PRESENTATION) && after == Some(KEYCAP)));
        keycap || (!c.is_ascii() && next == Some(PRESENTATION))
    };
    let plausible = !emoji.is_empty()
        && emoji.len() <= EMOJI_MAX_BYTES
        && !emoji.is_ascii()
        && chars.iter().enumerate().all(|(i, &c)| allowed(i, c));
    if plausible {
        Ok(())
    } else {
        Err(InvalidInput::NotAnEmoji)
    }
}

/// The `@name` mentions in `body`, in order of first appearance, without duplicates. A mention
/// starts at the beginning or after a character that cannot be part of a username, so e-mail
/// addresses are not mentions. The server keeps only names of room members.
pub fn mentioned_names(body: &str) -> Vec<&str> {
    let is_name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let bytes = body.as_bytes();
    let mut names: Vec<&str> = Vec::new();
    for (at, _) in body.match_indices('@') {
        if at > 0 && is_name_byte(bytes[at - 1]) {
            continue;
        }
        let start = at + 1;
        let len = bytes[start..]
            .iter()
            .take_while(|b| is_name_byte(**b))
            .count();
        // A trailing '.' ends a sentence, not a name.
        let name = body[start..start + len].trim_end_matches('.');
        let known = names.iter().any(|n| n.eq_ignore_ascii_case(name));
        if check_username(name).is_ok() && !known {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_lose_paths_hidden_dots_and_tricks() {
        use super::clean_file_name as clean;
        assert_eq!(clean("../../etc/passwd"), "passwd");
        assert_eq!(clean("C:\\Users\\me\\photo.png"), "photo.png");
        assert_eq!(clean(".htaccess"), "htaccess");
        assert_eq!(clean("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean("  \u{200b} "), "file");
        assert_eq!(clean(""), "file");
        let long = format!("{}.jpeg", "é".repeat(200));
        let kept = clean(&long);
        assert!(kept.len() <= super::FILE_NAME_MAX, "{}", kept.len());
        assert!(kept.ends_with("é.jpeg"), "{kept}");
    }

    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(check_username("alice"), Ok(()));
        assert_eq!(check_username("Bob_1.x-y"), Ok(()));
        assert_eq!(check_username("al"), Err(InvalidInput::UsernameLength));
        assert_eq!(
            check_username(&"a".repeat(33)),
            Err(InvalidInput::UsernameLength)
        );
        assert_eq!(
            check_username("al ice"),
            Err(InvalidInput::UsernameCharacters)
        );
        assert_eq!(
            check_username("ålice"),
            Err(InvalidInput::UsernameCharacters)
        );
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert_eq!(check_password("12345678"), Ok(()));
        assert_eq!(check_password("1234567"), Err(InvalidInput::PasswordLength));
        assert_eq!(check_password(&"é".repeat(100)), Ok(()));
        assert_eq!(
            check_password(&"x".repeat(129)),
            Err(InvalidInput::PasswordLength)
        );
    }

    #[test]
    fn bodies() {
        assert_eq!(check_body("hi"), Ok(()));
        assert_eq!(check_body("line\nline\ttab"), Ok(()));
        assert_eq!(check_body("  \n "), Err(InvalidInput::BodyEmpty));
        assert_eq!(check_body(&"ü".repeat(MAX_BODY_BYTES / 2)), Ok(()));
        assert_eq!(
            check_body(&"x".repeat(MAX_BODY_BYTES + 1)),
            Err(InvalidInput::BodyTooLong)
        );
        assert_eq!(
            check_body("a\u{1b}[31m"),
            Err(InvalidInput::BodyControlCharacters)
        );
    }

    #[test]
    fn bodies_that_look_empty_or_reorder_text_are_refused() {
        for invisible in [
            "\u{200b}",
            "\u{200b}\u{200d}\u{feff}",
            "\u{2800}\u{3164} ",
            "\u{2060}",
        ] {
            assert_eq!(
                check_body(invisible),
                Err(InvalidInput::BodyEmpty),
                "{invisible:?}"
            );
        }
        assert_eq!(
            check_body("invoice\u{202e}fdp.exe"),
            Err(InvalidInput::DirectionOverride)
        );
        assert_eq!(
            check_body("a\u{2067}b"),
            Err(InvalidInput::DirectionOverride)
        );
        // Right-to-left text and its plain marks are ordinary text.
        assert_eq!(check_body("שלום עולם"), Ok(()));
        assert_eq!(check_body("\u{200f}مرحبا"), Ok(()));
        assert_eq!(check_body("👍🏽"), Ok(()));
        assert_eq!(
            check_room_name("x\u{202e}y"),
            Err(InvalidInput::DirectionOverride)
        );
        assert_eq!(
            check_room_name("\u{200b}"),
            Err(InvalidInput::RoomNameLength)
        );
        assert_eq!(
            check_room_topic("\u{202d}t"),
            Err(InvalidInput::DirectionOverride)
        );
    }

    #[test]
    fn room_names_and_topics() {
        assert_eq!(check_room_name("Design crew"), Ok(()));
        assert_eq!(check_room_name("  "), Err(InvalidInput::RoomNameLength));
        assert_eq!(
            check_room_name(&"x".repeat(65)),
            Err(InvalidInput::RoomNameLength)
        );
        assert_eq!(check_room_name("a\nb"), Err(InvalidInput::RoomNameLength));
        assert_eq!(check_room_topic(""), Ok(()));
        assert_eq!(
            check_room_topic(&"x".repeat(301)),
            Err(InvalidInput::RoomTopicLength)
        );
    }

    #[test]
    fn reactions_are_emoji_not_text() {
        for ok in [
            "👍",
            "❤️",
            "👍🏽",
            "👩‍👩‍👧",
            "🇫🇷",
            "1️⃣",
            "#️⃣",
            "*⃣",
            "ℹ️",
            "Ⓜ️",
            "🅰️",
        ] {
            assert_eq!(check_emoji(ok), Ok(()), "{ok}");
        }
        let bad_ones = [
            "",
            "a",
            "lol",
            "👍 ",
            "<b>",
            "é",
            "1",
            "12⃣",
            "1\u{FE0F}",
            "a\u{FE0F}",
            "ℹ",
            "é\u{20E3}",
        ];
        for bad in bad_ones.iter().copied().chain([&*"👍".repeat(9)]) {
            assert_eq!(check_emoji(bad), Err(InvalidInput::NotAnEmoji), "{bad}");
        }
    }

    #[test]
    fn mentions_are_usernames_after_an_at_sign() {
        assert_eq!(
            mentioned_names("@alice and @bob.smith, ask @Alice. mail x@example.org @ @x"),
            ["alice", "bob.smith"]
        );
        assert_eq!(mentioned_names("(@carol)"), ["carol"]);
    }
}
