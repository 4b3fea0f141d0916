//! Abuse controls beyond the rate limits, as pure checks (the send path applies them, the
//! administrators set them in `ServerSettings`): a word list that refuses or masks, a cap on
//! links for young accounts, and flood detection (the same text again and again).

use crate::store::UserId;
use shared::admin::{MAX_BLOCKED_WORD, MAX_BLOCKED_WORDS, ServerSettings, WordAction};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// What the controls make of a message's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored as written.
    Pass,
    /// Stored with the blocked words masked.
    Masked(String),
    /// Refused; the sentence says why.
    Refused(&'static str),
}

/// The server's word list, folded to lowercase once per settings change.
#[derive(Debug, Clone, Default)]
pub struct WordList {
    words: HashSet<String>,
    action: WordAction,
}

impl WordList {
    pub fn new(settings: &ServerSettings) -> Self {
        Self {
            words: settings
                .blocked_words
                .iter()
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
            action: settings.word_action,
        }
    }

    /// Words are runs of letters and digits, compared without case: "Spam!" holds "spam",
    /// "spammer" does not.
    pub fn check(&self, text: &str) -> Verdict {
        if self.words.is_empty() {
            return Verdict::Pass;
        }
        // Invisible characters (soft hyphens, zero-width spaces) would split a word without
        // showing: they go first. (Masking then returns the text without them.)
        let cleaned;
        let text = if text
            .chars()
            .any(|c| !c.is_whitespace() && shared::limits::is_invisible(c))
        {
            cleaned = text
                .chars()
                .filter(|c| c.is_whitespace() || !shared::limits::is_invisible(*c))
                .collect::<String>();
            cleaned.as_str()
        } else {
            text
        };
        let mut out = String::new();
        let mut last = 0;
        for (start, word) in words(text) {
            if !self.words.contains(&word.to_lowercase()) {
                continue;
            }
            if self.action == WordAction::Block {
                return Verdict::Refused(
                    "Your message holds a word this server does not allow. Change it and send \
                     it again.",
                );
            }
            out.push_str(&text[last..start]);
            out.extend(word.chars().map(|_| '*'));
            last = start + word.len();
        }
        if last == 0 {
            return Verdict::Pass;
        }
        out.push_str(&text[last..]);
        Verdict::Masked(out)
    }
}

/// The words of `text` (runs of alphanumeric characters) with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = rest.peek() {
            if c.is_alphanumeric() {
                break;
            }
            rest.next();
        }
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = rest.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            end = i + c.len_utf8();
            rest.next();
        }
        Some((start, &text[start..end]))
    })
}

/// Checks an administrator's word list: each entry one word, not too long, not too many.
pub fn check_word_list(words: &[String]) -> Result<(), String> {
    if words.len() > MAX_BLOCKED_WORDS {
        return Err(format!("At most {MAX_BLOCKED_WORDS} blocked words."));
    }
    for word in words {
        let word = word.trim();
        if word.chars().count() > MAX_BLOCKED_WORD {
            return Err(format!(
                "Blocked words are at most {MAX_BLOCKED_WORD} characters."
            ));
        }
        if !word.is_empty() && !word.chars().all(char::is_alphanumeric) {
            return Err(format!(
                "\"{word}\" is not one word: blocked words are letters and digits only."
            ));
        }
    }
    Ok(())
}

/// How many links `text` holds: words with a scheme (`https://...`) or starting `www.`.
pub fn count_links(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| {
            let w = w.trim_start_matches(|c: char| !c.is_alphanumeric());
            w.contains("://") || w.to_ascii_lowercase().starts_with("www.")
        })
        .count()
}

/// A young account (made less than `new_account_hours` ago) may put at most
/// `new_account_links` links in a message.
pub fn check_links(
    settings: &ServerSettings,
    text: &str,
    account_created_ms: i64,
    now_ms: i64,
) -> Result<(), String> {
    let young = now_ms - account_created_ms < i64::from(settings.new_account_hours) * 3_600_000;
    if !young {
        return Ok(());
    }
    let links = count_links(text);
    let allowed = settings.new_account_links as usize;
    if links > allowed {
        let hours = settings.new_account_hours;
        return Err(if allowed == 0 {
            format!("New accounts may not post links during their first {hours} hours.")
        } else {
            format!(
                "New accounts may post at most {allowed} links in a message during their first \
                 {hours} hours."
            )
        });
    }
    Ok(())
}

/// Recent messages per user on this node: the same text `flood_repeats` times within
/// `flood_window_secs` is a flood. Memory is bounded: each user keeps at most
/// [`FloodWatch::KEPT`] recent texts (as hashes), and idle users are forgotten.
#[derive(Default)]
pub struct FloodWatch {
    recent: Mutex<HashMap<UserId, VecDeque<(u64, i64)>>>,
    /// Accounts kept from posting, until when (also stored, and read by a node when the
    /// account connects to it).
    silenced: Mutex<HashMap<UserId, i64>>,
}

impl FloodWatch {
    const KEPT: usize = 64;

    /// Forgets users who posted nothing for `window_ms` (run now and then, not per message).
    pub fn sweep(&self, now_ms: i64, window_ms: i64) {
        let mut recent = self.recent.lock().expect("flood watch poisoned");
        recent.retain(|_, seen| seen.back().is_some_and(|(_, at)| now_ms - at < window_ms));
        drop(recent);
        let mut silenced = self.silenced.lock().expect("flood watch poisoned");
        silenced.retain(|_, until| *until > now_ms);
    }

    /// Keeps `user` from posting until `until_ms`.
    pub fn silence(&self, user: UserId, until_ms: i64) {
        let mut silenced = self.silenced.lock().expect("flood watch poisoned");
        silenced.retain(|_, until| *until > until_ms - 86_400_000);
        silenced.insert(user, until_ms);
    }

    /// Lets `user` post again (on this node; others learn it from the store, see
    /// `ws::timeline`).
    pub fn lift(&self, user: UserId) {
        self.silenced
            .lock()
            .expect("flood watch poisoned")
            .remove(&user);
    }

    /// Until when `user` may not post, if that is still ahead.
    pub fn silenced_until(&self, user: UserId, now_ms: i64) -> Option<i64> {
        let silenced = self.silenced.lock().expect("flood watch poisoned");
        silenced.get(&user).copied().filter(|until| *until > now_ms)
    }

    /// Records a message of `user`; true when it makes a flood.
    pub fn is_flood(
        &self,
        settings: &ServerSettings,
        user: UserId,
        text: &str,
        now_ms: i64,
    ) -> bool {
        // A 0 in any of the three turns it off (as the console says).
        if settings.flood_repeats == 0
            || settings.flood_window_secs == 0
            || settings.flood_mute_minutes == 0
        {
            return false;
        }
        let window_ms = i64::from(settings.flood_window_secs) * 1000;
        let fingerprint = fingerprint(text);
        let mut recent = self.recent.lock().expect("flood watch poisoned");
        let seen = recent.entry(user).or_default();
        while seen.front().is_some_and(|(_, at)| now_ms - at >= window_ms) {
            seen.pop_front();
        }
        if seen.len() == Self::KEPT {
            seen.pop_front();
        }
        seen.push_back((fingerprint, now_ms));
        let same = seen.iter().filter(|(f, _)| *f == fingerprint).count();
        if same >= settings.flood_repeats as usize {
            seen.clear();
            return true;
        }
        false
    }
}

/// The text without case and spacing differences, hashed: "Buy NOW" and "buy  now " match.
fn fingerprint(text: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for word in text.split_whitespace() {
        word.to_lowercase().hash(&mut hasher);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ServerSettings {
        ServerSettings {
            blocked_words: vec!["spam".into(), "Über".into()],
            ..ServerSettings::default()
        }
    }

    #[test]
    fn blocked_words_refuse_whole_words_in_any_case() {
        let list = WordList::new(&settings());
        assert!(matches!(list.check("buy SPAM now!"), Verdict::Refused(_)));
        assert!(matches!(list.check("(spam)"), Verdict::Refused(_)));
        assert!(matches!(list.check("über alles"), Verdict::Refused(_)));
        assert_eq!(list.check("spammer and spa m"), Verdict::Pass);
        assert_eq!(list.check("nothing here"), Verdict::Pass);
    }

    #[test]
    fn invisible_characters_do_not_hide_a_word() {
        let list = WordList::new(&settings());
        assert!(matches!(list.check("sp\u{AD}am"), Verdict::Refused(_)));
        assert!(matches!(list.check("s\u{200B}pam"), Verdict::Refused(_)));
    }

    #[test]
    fn masking_replaces_only_the_words() {
        let mut s = settings();
        s.word_action = WordAction::Mask;
        let list = WordList::new(&s);
        assert_eq!(
            list.check("Spam, spam and spammer"),
            Verdict::Masked("****, **** and spammer".into())
        );
        assert_eq!(
            list.check("ÜBER ok über"),
            Verdict::Masked("**** ok ****".into())
        );
    }

    #[test]
    fn word_lists_hold_single_words() {
        assert!(check_word_list(&["ok".into(), "fine2".into()]).is_ok());
        assert!(check_word_list(&["two words".into()]).is_err());
        assert!(check_word_list(&["x".repeat(65)]).is_err());
        assert!(check_word_list(&vec!["a".into(); 1001]).is_err());
    }

    #[test]
    fn young_accounts_post_few_links() {
        let s = ServerSettings {
            new_account_hours: 24,
            new_account_links: 1,
            ..ServerSettings::default()
        };
        let now = 100 * 3_600_000;
        let two = "see https://a.example and www.b.example";
        assert_eq!(count_links(two), 2);
        assert_eq!(count_links("no links: a.b, ftp is not"), 0);
        assert!(check_links(&s, two, now - 3_600_000, now).is_err());
        assert!(check_links(&s, "one https://a.example", now - 3_600_000, now).is_ok());
        // A day old: no longer new.
        assert!(check_links(&s, two, now - 25 * 3_600_000, now).is_ok());
        let none = ServerSettings {
            new_account_links: 0,
            ..s
        };
        let refused = check_links(&none, "https://x.example", now, now).unwrap_err();
        assert!(refused.contains("may not post links"), "{refused}");
    }

    #[test]
    fn the_same_text_again_and_again_is_a_flood() {
        let s = ServerSettings {
            flood_repeats: 3,
            flood_window_secs: 10,
            ..ServerSettings::default()
        };
        let watch = FloodWatch::default();
        let (ann, bo) = (UserId(1), UserId(2));
        assert!(!watch.is_flood(&s, ann, "Buy now", 0));
        assert!(!watch.is_flood(&s, ann, "something else", 1_000));
        assert!(!watch.is_flood(&s, bo, "buy now", 1_500));
        assert!(!watch.is_flood(&s, ann, "buy  NOW ", 2_000));
        assert!(watch.is_flood(&s, ann, "buy now", 3_000));
        // Outside the window the count starts again.
        assert!(!watch.is_flood(&s, bo, "buy now", 20_000));
        assert!(!watch.is_flood(&s, bo, "buy now", 31_000));
        for off in [
            ServerSettings {
                flood_repeats: 0,
                ..s.clone()
            },
            ServerSettings {
                flood_mute_minutes: 0,
                ..s.clone()
            },
        ] {
            for at in 0..10 {
                assert!(!watch.is_flood(&off, ann, "same", at));
            }
        }
    }
}
