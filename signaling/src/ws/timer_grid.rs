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
