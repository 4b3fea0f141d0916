//! Names for accounts that single sign-on creates: from what the provider suggests, made valid
//! for [`check_username`] and unique by digits.

use shared::limits::{USERNAME_MAX, USERNAME_MIN, check_username};

/// A username that passes [`check_username`], from the provider's preferred username, else the
/// local part of the e-mail address, else "user": characters a username may not have are
/// dropped, and a name too short is filled up with `_`.
pub fn username_base(preferred: Option<&str>, email: Option<&str>) -> String {
    let clean = |raw: &str| -> String {
        raw.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(USERNAME_MAX)
            .collect()
    };
    let mut name = preferred.map(clean).unwrap_or_default();
    if name.is_empty() {
        name = email
            .and_then(|e| e.split('@').next())
            .map(clean)
            .unwrap_or_default();
    }
    if name.is_empty() {
        name = "user".to_owned();
    }
    while name.len() < USERNAME_MIN {
        name.push('_');
    }
    name
}

/// The `attempt`th candidate: `base`, then `base2`, `base3`, ..., cut so it stays in length.
pub fn numbered(base: &str, attempt: u32) -> String {
    let suffix = if attempt == 1 {
        String::new()
    } else {
        attempt.to_string()
    };
    let keep = USERNAME_MAX - suffix.len();
    let name = format!("{}{suffix}", &base[..base.len().min(keep)]);
    debug_assert!(check_username(&name).is_ok(), "{name}");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_come_from_the_preferred_name_then_the_email_then_a_default() {
        assert_eq!(username_base(Some("ann.lee"), Some("x@y")), "ann.lee");
        assert_eq!(username_base(Some("Jöhn Smith"), None), "JhnSmith");
        assert_eq!(
            username_base(Some("  "), Some("bo+tag@example.org")),
            "botag"
        );
        assert_eq!(username_base(None, Some("@example.org")), "user");
        assert_eq!(username_base(None, None), "user");
        assert_eq!(username_base(Some("é1"), None), "1__");
        let long = "a".repeat(40);
        assert_eq!(username_base(Some(&long), None).len(), USERNAME_MAX);
        for name in [
            username_base(Some("ann"), None),
            username_base(Some("日本語"), Some("ünï@x")),
        ] {
            assert!(check_username(&name).is_ok(), "{name}");
        }
    }

    #[test]
    fn taken_names_get_digits_and_stay_in_length() {
        assert_eq!(numbered("ann", 1), "ann");
        assert_eq!(numbered("ann", 2), "ann2");
        assert_eq!(numbered("ann", 50), "ann50");
        let long = "b".repeat(USERNAME_MAX);
        let numbered_long = numbered(&long, 12);
        assert_eq!(numbered_long.len(), USERNAME_MAX);
        assert!(numbered_long.ends_with("b12"));
    }
}
