//! Sockets' timers on a shared grid.
//!
//! Every socket pings its client every `--ws-ping-secs` and checks for silence. With each
//! socket's timers set from the moment it connected, 2,000 sockets fire 200 pings a second at
//! 200 different instants, and each wakes a parked runtime worker (a futex call and a context
//! switch, tens of µs on a virtual machine): 0.018 cores with nothing sent. Rounding every
//! deadline up to a common grid makes the sockets whose turn falls in the same cell fire
//! together, in one wake-up, as one event loop's timer list does.

use std::sync::OnceLock;
use std::time::Duration;
use tokio::time::Instant;

/// The grid's finest cell: late by at most this much, a ping or an idle close is no different
/// to a client.
const MAX_CELL: Duration = Duration::from_millis(250);

/// The cell for timers of `period`: at most [`MAX_CELL`], and small against short periods
/// (tests run with pings every few hundred ms).
pub fn cell_for(period: Duration) -> Duration {
    (period / 8).clamp(Duration::from_millis(1), MAX_CELL)
}

/// `deadline` rounded up to the next multiple of `cell` since the grid's origin (the first
/// call in this process).
pub fn on_grid(deadline: Instant, cell: Duration) -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    round_up(origin, deadline, cell)
}

/// A socket's three deadlines (its session's end, the next idle check, the next ping), kept
/// behind one timer: a tokio `Sleep` is 112 bytes that every idle socket's task carries.
pub struct Deadlines {
    session_end: Instant,
    idle_check: Instant,
    ping: Instant,
    idle_limit: Duration,
    ping_every: Duration,
}

/// What a socket's timer found due.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    SessionEnded,
    /// Nothing heard from the client for the idle limit.
    Idle,
    Ping,
    Nothing,
}

impl Deadlines {
    /// The deadlines of a socket opened at `now`; the pings and idle checks fall on the grid.
    pub fn new(
        now: Instant,
        session_end: Instant,
        idle_limit: Duration,
        ping_every: Duration,
    ) -> Self {
        Self {
            session_end,
            idle_check: on_grid(now + idle_limit, cell_for(idle_limit)),
            ping: on_grid(now + ping_every, cell_for(ping_every)),
            idle_limit,
            ping_every,
        }
    }

    /// When the timer should fire next.
    pub fn next(&self) -> Instant {
        self.session_end.min(self.idle_check).min(self.ping)
    }

    /// What is due at `now`, the most pressing first, for a client last heard at
    /// `last_heard`; the deadline it answers moves on. The idle check only closes a socket
    /// whose client said nothing for the whole limit: one that spoke meanwhile is checked
    /// again when the limit runs out from then.
    pub fn due(&mut self, now: Instant, last_heard: Instant) -> Due {
        if now >= self.session_end {
            return Due::SessionEnded;
        }
        if now >= self.idle_check {
            let quiet_until = last_heard + self.idle_limit;
            if now >= quiet_until {
                return Due::Idle;
            }
            self.idle_check = on_grid(quiet_until, cell_for(self.idle_limit));
        }
        if now >= self.ping {
            self.ping = on_grid(now + self.ping_every, cell_for(self.ping_every));
            return Due::Ping;
        }
        Due::Nothing
    }
}

fn round_up(origin: Instant, deadline: Instant, cell: Duration) -> Instant {
    let since = deadline.saturating_duration_since(origin).as_nanos();
    let cell_nanos = cell.as_nanos().max(1);
    let cells = since.div_ceil(cell_nanos);
    let offset = u64::try_from(cells * cell_nanos).unwrap_or(u64::MAX);
    origin + Duration::from_nanos(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn one_timer_answers_the_ping_the_idle_check_and_the_session_end() {
        let start = Instant::now();
        let mut deadlines = Deadlines::new(start, start + 100 * SECOND, 30 * SECOND, 10 * SECOND);
        // Before anything is due.
        assert_eq!(deadlines.due(start + SECOND, start), Due::Nothing);
        // The ping comes first, on the grid (never early), and moves on by its period.
        let first_ping = deadlines.next();
        assert!(
            first_ping >= start + 10 * SECOND
                && first_ping <= start + 10 * SECOND + cell_for(10 * SECOND)
        );
        assert_eq!(deadlines.due(first_ping, start), Due::Ping);
        assert!(deadlines.next() >= first_ping + 10 * SECOND);
        assert_eq!(
            deadlines.due(first_ping, start),
            Due::Nothing,
            "answered once"
        );
        // The client spoke at 25 s: the idle check at 30 s finds it alive and looks again
        // when 30 s have passed since then.
        let idle_check = on_grid(start + 30 * SECOND, cell_for(30 * SECOND));
        let heard = start + 25 * SECOND;
        assert_ne!(deadlines.due(idle_check, heard), Due::Idle);
        assert_eq!(deadlines.due(start + 54 * SECOND, heard), Due::Ping);
        let again = on_grid(heard + 30 * SECOND, cell_for(30 * SECOND));
        assert_eq!(deadlines.due(again, heard), Due::Idle);
        // The session's end comes before anything else.
        assert_eq!(
            deadlines.due(start + 100 * SECOND, start + 99 * SECOND),
            Due::SessionEnded
        );
    }

    #[test]
    fn deadlines_in_one_cell_fire_together_and_never_early() {
        let origin = Instant::now();
        let cell = Duration::from_millis(250);
        let first = round_up(origin, origin + Duration::from_millis(10_001), cell);
        let second = round_up(origin, origin + Duration::from_millis(10_249), cell);
        assert_eq!(first, second);
        assert_eq!(first, origin + Duration::from_millis(10_250));
        // On the grid already: unchanged.
        let exact = origin + Duration::from_millis(10_500);
        assert_eq!(round_up(origin, exact, cell), exact);
        // The next cell is a different instant.
        let third = round_up(origin, origin + Duration::from_millis(10_251), cell);
        assert_eq!(third, origin + Duration::from_millis(10_500));
    }

    #[test]
    fn the_cell_is_small_against_short_periods() {
        assert_eq!(cell_for(Duration::from_secs(10)), MAX_CELL);
        assert_eq!(
            cell_for(Duration::from_millis(400)),
            Duration::from_millis(50)
        );
        assert_eq!(cell_for(Duration::ZERO), Duration::from_millis(1));
    }
}
