//! Input rules shared by server and client. The server is the authority; the client applies the
//! same rules to explain a problem before a round trip.

/// Largest WebSocket message (and frame) the server reads, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Longest message body, in characters (Unicode scalar values).
pub const MAX_BODY_CHARS: usize = 4000;
/// Most messages returned by one history request.
pub const MAX_HISTORY_PAGE: u32 = 100;
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
/// OWASP ASVS asks for at least 8 characters and allowing at least 64.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

/// Why a username, password or message body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidInput {
    UsernameLength,
    UsernameCharacters,
    PasswordLength,
    BodyEmpty,
    BodyTooLong,
    BodyControlCharacters,
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
            Self::BodyTooLong => format!("Message is longer than {MAX_BODY_CHARS} characters."),
            Self::BodyControlCharacters => "Message contains control characters.".to_owned(),
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

/// A body must have visible content, fit [`MAX_BODY_CHARS`] and carry no control characters
/// other than newline and tab (they would let one message forge the look of another).
pub fn check_body(body: &str) -> Result<(), InvalidInput> {
    if body.trim().is_empty() {
        return Err(InvalidInput::BodyEmpty);
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(InvalidInput::BodyTooLong);
    }
    if body
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(InvalidInput::BodyControlCharacters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
        assert_eq!(check_body(&"ü".repeat(MAX_BODY_CHARS)), Ok(()));
        assert_eq!(
            check_body(&"ü".repeat(MAX_BODY_CHARS + 1)),
            Err(InvalidInput::BodyTooLong)
        );
        assert_eq!(
            check_body("a\u{1b}[31m"),
            Err(InvalidInput::BodyControlCharacters)
        );
    }
}
