//! Other processes on this machine (builds, other benchmarks) take the same cores: wait for
//! them to go quiet before measuring, and say how much CPU they took while a figure was taken.

use crate::stats::{cpu_secs, machine_busy_secs};
use std::time::{Duration, Instant};

/// CPU seconds this load generator has used.
pub fn gen_cpu() -> f64 {
    cpu_secs(std::process::id())
}

/// Waits, at most `limit_secs`, until processes other than the measured ones (`ours`: their
/// CPU seconds so far, this generator included) used under a fifth of a core for a whole
/// second; returns how long it waited.
pub async fn wait_for_quiet(limit_secs: f64, ours: impl Fn() -> f64) -> f64 {
    let started = Instant::now();
    let mut quiet_halves = 0;
    while started.elapsed().as_secs_f64() < limit_secs {
        let (m0, o0) = (machine_busy_secs(), ours());
        tokio::time::sleep(Duration::from_millis(500)).await;
        let others = other_cpu(machine_busy_secs() - m0, ours() - o0);
        quiet_halves = if others < 0.1 { quiet_halves + 1 } else { 0 };
        if quiet_halves >= 2 {
            break;
        }
    }
    let waited = started.elapsed().as_secs_f64();
    if waited > 1.5 {
        println!("  (waited {waited:.0} s for other processes to leave the cores)");
    }
    waited
}

/// CPU seconds the rest of the machine used while a scenario ran: all of the machine's busy
/// time less what the measured processes (`ours`) used.
pub fn other_cpu(machine: f64, ours: f64) -> f64 {
    (machine - ours).max(0.0)
}
