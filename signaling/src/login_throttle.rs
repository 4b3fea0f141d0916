//! Failed log-ins per account, whatever address they come from.
//!
//! The per-IP limit does not stop a guesser who spreads over many addresses. This one counts
//! wrong passwords per username: after `max_failures` within `window`, every log-in to that name
//! is refused (429), the right password included, until the oldest of them is `window` old. It
//! is the same for names without an account, so a refusal does not reveal which names exist.
//! The price is that anyone can keep one account's log-in locked by guessing; its sessions keep
//! working.
//!
//! Not a governor limiter: only failures count, but the check comes before the password is
//! known, so an attempt reserves its place until it turns out right (the place is given back) or
//! wrong (it becomes a failure). Without the reservation, a burst of concurrent guesses would all
//! pass the check before the first failure was counted.

use shared::limits::check_username;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The account has used up its failures for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled;

pub struct LoginThrottle {
    max_failures: usize,
    window: Duration,
    /// Keyed by the lower-cased username (usernames match regardless of ASCII case). A std
    /// mutex: it is held for a few map operations and never across an `.await`.
    accounts: Mutex<HashMap<String, Account>>,
}

#[derive(Default)]
struct Account {
    /// When the failures still inside the window happened, oldest first.
    failures: VecDeque<Instant>,
    /// Attempts whose password is being checked right now.
    in_flight: usize,
}

impl Account {
    /// Forgets failures at or before `cutoff` (`None`: the process is younger than the window,
    /// so every failure is recent).
    fn forget_before(&mut self, cutoff: Option<Instant>) {
        let Some(cutoff) = cutoff else {
            return;
        };
        while self.failures.front().is_some_and(|&at| at <= cutoff) {
            self.failures.pop_front();
        }
    }
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: usize::try_from(max_failures.max(1)).unwrap_or(usize::MAX),
            window,
            accounts: Mutex::default(),
        }
    }

    /// Starts a log-in attempt at `username`, or refuses it when the account's recent failures
    /// and the attempts still in progress fill its allowance.
    pub fn begin(&self, username: &str) -> Result<Attempt<'_>, Throttled> {
        // No account can have a name that sign-up refuses (it always checked them), so there
        // is nothing to protect; leaving them out also keeps arbitrary 16 KiB keys out of memory.
        if check_username(username).is_err() {
            return Ok(Attempt {
                throttle: self,
                key: None,
            });
        }
        let key = username.to_ascii_lowercase();
        let cutoff = Instant::now().checked_sub(self.window);
        let mut accounts = self.lock();
        let account = accounts.entry(key.clone()).or_default();
        account.forget_before(cutoff);
        if account.failures.len() + account.in_flight >= self.max_failures {
            return Err(Throttled);
        }
        account.in_flight += 1;
        Ok(Attempt {
            throttle: self,
            key: Some(key),
        })
    }

    /// Drops accounts with no failure inside the window and nothing in progress.
    pub fn retain_recent(&self) {
        let cutoff = Instant::now().checked_sub(self.window);
        self.lock().retain(|_, account| {
            account.forget_before(cutoff);
            !account.failures.is_empty() || account.in_flight > 0
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Account>> {
        // The map stays consistent at every step, so a panic elsewhere does not spoil it.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One log-in attempt in progress. Dropping it (a right password, an error, a cancelled
/// request) gives its place back; [`Attempt::failed`] turns it into a failure.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    key: Option<String>,
}

impl Attempt<'_> {
    /// Counts the attempt as a wrong password. Returns whether this failure used up the
    /// account's allowance, so the caller can log that once.
    pub fn failed(mut self) -> bool {
        let Some(key) = self.key.take() else {
            return false;
        };
        let mut accounts = self.throttle.lock();
        let account = accounts.entry(key).or_default();
        account.in_flight = account.in_flight.saturating_sub(1);
        account.failures.push_back(Instant::now());
        account.failures.len() >= self.throttle.max_failures
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take()
            && let Some(account) = self.throttle.lock().get_mut(&key)
        {
            account.in_flight = account.in_flight.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn failures_lock_the_account_in_any_case_and_successes_do_not_count() {
        let throttle = LoginThrottle::new(3, LONG);
        for _ in 0..5 {
            drop(throttle.begin("alice").unwrap()); // right password: not counted
        }
        assert!(!throttle.begin("alice").unwrap().failed());
        assert!(!throttle.begin("ALICE").unwrap().failed());
        assert!(throttle.begin("Alice").unwrap().failed(), "third failure");
        assert_eq!(throttle.begin("alice").err(), Some(Throttled));
        assert!(throttle.begin("bob").is_ok(), "other accounts unaffected");
    }

    #[test]
    fn attempts_in_progress_hold_their_place() {
        let throttle = LoginThrottle::new(2, LONG);
        let first = throttle.begin("alice").unwrap();
        let second = throttle.begin("alice").unwrap();
        assert_eq!(throttle.begin("alice").err(), Some(Throttled));
        drop(first);
        let third = throttle.begin("alice").unwrap();
        second.failed();
        third.failed();
        assert_eq!(throttle.begin("alice").err(), Some(Throttled));
    }

    #[test]
    fn failures_expire_after_the_window() {
        let throttle = LoginThrottle::new(1, Duration::from_millis(50));
        throttle.begin("alice").unwrap().failed();
        assert_eq!(throttle.begin("alice").err(), Some(Throttled));
        std::thread::sleep(Duration::from_millis(60));
        assert!(throttle.begin("alice").is_ok());
        throttle.retain_recent();
        assert!(throttle.lock().is_empty(), "nothing left to remember");
    }

    #[test]
    fn names_no_account_can_have_are_not_remembered() {
        let throttle = LoginThrottle::new(1, LONG);
        let long = "x".repeat(10_000);
        for _ in 0..3 {
            assert!(!throttle.begin(&long).unwrap().failed());
        }
        assert!(throttle.lock().is_empty());
    }
}
