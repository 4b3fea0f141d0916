//! Counters shared by every connection of one run, and a lock-free latency histogram.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// The phases a message can belong to; the phase letter is part of every message id.
pub const FINAL: usize = 0;
pub const THROUGHPUT: usize = 1;
pub const LATENCY: usize = 2;
pub const OVERLOAD: usize = 3;
/// Load during which the server is killed (`sweep`): its acks are kept in
/// [`Global::kill_acked`], since the sockets end with the server.
pub const KILL: usize = 4;
pub const PHASES: usize = 5;
pub const PHASE_LETTERS: [u8; PHASES] = [b'F', b'T', b'L', b'O', b'K'];

/// 10 µs buckets below 100 ms, then 1 ms buckets up to 60 s (everything above lands in the last).
const FINE_US: u64 = 100_000;
const FINE_BUCKETS: usize = 10_000;
const COARSE_BUCKETS: usize = 59_900;

pub struct Histogram {
    buckets: Vec<AtomicU64>,
    max_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new() -> Self {
        Self {
            buckets: (0..FINE_BUCKETS + COARSE_BUCKETS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            max_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn record(&self, us: u64) {
        let index = if us < FINE_US {
            (us / 10) as usize
        } else {
            (FINE_BUCKETS + ((us - FINE_US) / 1000) as usize).min(self.buckets.len() - 1)
        };
        self.buckets[index].fetch_add(1, Relaxed);
        self.max_us.fetch_max(us, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Forgets everything recorded (between the steps of a sweep, once nothing is in flight).
    pub fn reset(&self) {
        for bucket in &self.buckets {
            bucket.store(0, Relaxed);
        }
        self.max_us.store(0, Relaxed);
        self.count.store(0, Relaxed);
    }

    /// The upper edge of the bucket holding the `p` quantile, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64 * p).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Relaxed);
            if seen >= rank {
                let upper_us = if i < FINE_BUCKETS {
                    (i as u64 + 1) * 10
                } else {
                    FINE_US + (i - FINE_BUCKETS) as u64 * 1000 + 1000
                };
                return Some((upper_us.min(self.max_us.load(Relaxed).max(1)) as f64) / 1000.0);
            }
        }
        self.max_ms()
    }

    pub fn max_ms(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.max_us.load(Relaxed) as f64 / 1000.0)
    }
}

/// What every connection task reports into.
pub struct Global {
    pub start: Instant,
    pub deliveries: [AtomicU64; PHASES],
    pub acks: [AtomicU64; PHASES],
    pub sent: [AtomicU64; PHASES],
    pub latency: [Histogram; PHASES],
    /// Sockets that got the one final message of their room (or the ack of their own).
    pub final_ok: AtomicU64,
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    /// Sockets that ended while the run still wanted them.
    pub dropped: AtomicU64,
    pub close_reasons: Mutex<HashMap<String, u64>>,
    pub errors: Mutex<HashMap<String, u64>>,
    pub retries: AtomicU64,
    pub gave_up: AtomicU64,
    pub presence_frames: AtomicU64,
    pub other_frames: AtomicU64,
    /// Closed-loop senders stop refilling their window once this is set.
    pub stop: AtomicBool,
    /// Ids of the [`KILL`] phase's acked messages, as the acks arrive.
    pub kill_acked: Mutex<Vec<String>>,
}

impl Global {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            deliveries: Default::default(),
            acks: Default::default(),
            sent: Default::default(),
            latency: std::array::from_fn(|_| Histogram::new()),
            final_ok: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            close_reasons: Mutex::default(),
            errors: Mutex::default(),
            retries: AtomicU64::new(0),
            gave_up: AtomicU64::new(0),
            presence_frames: AtomicU64::new(0),
            other_frames: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            kill_acked: Mutex::default(),
        }
    }

    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    pub fn count_error(&self, code: &str) {
        *self
            .errors
            .lock()
            .expect("not poisoned")
            .entry(code.to_owned())
            .or_default() += 1;
    }

    pub fn count_close(&self, reason: String) {
        self.dropped.fetch_add(1, Relaxed);
        *self
            .close_reasons
            .lock()
            .expect("not poisoned")
            .entry(reason)
            .or_default() += 1;
    }

    pub fn errors_snapshot(&self) -> HashMap<String, u64> {
        self.errors.lock().expect("not poisoned").clone()
    }

    pub fn closes_snapshot(&self) -> HashMap<String, u64> {
        self.close_reasons.lock().expect("not poisoned").clone()
    }
}

/// utime + stime of a process, in seconds (`/proc/PID/stat`, 100 ticks per second).
pub fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After "pid (comm)": state is field 3 of the man page, utime 14 and stime 15.
    (tick(11) + tick(12)) as f64 / 100.0
}

/// Resident set size of a process in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The machine's `cpu` line of `/proc/stat`, in ticks: user nice system idle iowait irq
/// softirq steal.
fn machine_ticks() -> Vec<u64> {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Vec::new();
    };
    let Some(line) = stat.lines().next() else {
        return Vec::new();
    };
    line.split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// CPU seconds this machine's cores spent busy (all cores; idle, iowait and time stolen by the
/// hypervisor excluded), so a scenario can show how much CPU other processes took meanwhile.
pub fn machine_busy_secs() -> f64 {
    let ticks = machine_ticks();
    let busy: u64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| ticks.get(i)).sum();
    busy as f64 / 100.0
}

/// CPU seconds the hypervisor gave to other virtual machines while this one had work to run
/// (steal time). On a shared host it varies from run to run and takes cores from everything
/// measured here.
pub fn stolen_secs() -> f64 {
    machine_ticks().get(7).copied().unwrap_or(0) as f64 / 100.0
}

/// Context switches (voluntary + involuntary) of all threads of a process so far.
pub fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

fn ms(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |v| json!((v * 1000.0).round() / 1000.0))
}

/// A phase's send-to-delivery latency: samples, p50, p99 and max in milliseconds.
pub fn latency_json(global: &Global, phase: usize) -> Value {
    let h = &global.latency[phase];
    json!({
        "samples": h.count(),
        "p50_ms": ms(h.percentile_ms(0.5)),
        "p99_ms": ms(h.percentile_ms(0.99)),
        "max_ms": ms(h.max_ms()),
    })
}

/// `v` rounded to `digits` decimals, for the JSON reports.
pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// The numeric fields of `/proc/PID/stat` after "pid (comm)", from the state on (field 3 of
/// the man page is index 0 here).
fn stat_fields(pid: u32) -> Option<Vec<i64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    Some(
        after
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect(),
    )
}

/// The parent of a process, if it is still there.
pub fn parent_pid(pid: u32) -> Option<u32> {
    stat_fields(pid)?
        .get(1)
        .and_then(|&p| u32::try_from(p).ok())
}

/// CPU seconds of a process's children that it has waited for (cutime + cstime): what exited
/// children used, which their own `/proc` entries no longer show.
pub fn reaped_children_cpu_secs(pid: u32) -> f64 {
    stat_fields(pid).map_or(0.0, |f| {
        (f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0)) as f64 / 100.0
    })
}

/// The processes whose parent is `parent`.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_pid(pid) == Some(parent))
        .collect()
}
