//! Server load generator (issue 6): the chat server (`target/release/signaling`, its own process)
//! and the canonical Socket.IO chat-room server (`bench/socketio/server.mjs`) side by side, over
//! loopback, in one bounded run:
//!
//! 1. idle memory: N authenticated idle sockets in rooms of 10, RSS per socket, and one message
//!    per room that every socket must receive;
//! 2. durable fan-out: every room's first member pipelines sends (bounded window), the rest
//!    receive; acked messages/s, deliveries/s, server CPU per delivery;
//! 3. latency at a fixed open-loop rate (10,000 sockets);
//! 4. overload at twice the measured maximum: RSS over time, refusals and retries, and every
//!    acked message found in the database afterwards.
//!
//! `cargo build --release -p loadgen -p signaling && target/release/loadgen` (`--smoke` for CI).
//! Figures go to stdout and `bench/results/server.json`.
//!
//! `target/release/loadgen cluster` runs the cluster scenario instead ([`cluster`]), and
//! `target/release/loadgen sweep` the rate sweeps and the SIGKILL loss check ([`sweep`]).

#![allow(
    clippy::print_stdout,
    reason = "a load generator's job is to print its figures"
)]

mod checks;
mod cluster;
mod conn;
mod fleet;
mod matrix;
mod quiet;
mod server;
mod stats;
mod sweep;

use checks::Checks;
use clap::Parser;
use conn::{Cmd, Kind, Target};
use fleet::{connect_fleet, paced, wait_until};
use quiet::{gen_cpu, other_cpu, wait_for_quiet};
use serde_json::{Value, json};
use server::{Seed, ServerProcess};
use stats::{
    FINAL, Global, LATENCY, OVERLOAD, PHASE_LETTERS, THROUGHPUT, context_switches, cpu_secs,
    latency_json, machine_busy_secs, round, rss_kib, stolen_secs,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
#[command(about = "Chat server vs Socket.IO load generator (bounded, loopback only)")]
struct Args {
    /// `server`: the chat server against Socket.IO (bench/results/server.json); `cluster`: the
    /// chat server on SQLite, on PostgreSQL, and on 2 and 3 nodes relaying over NATS
    /// (bench/results/cluster.json).
    #[arg(value_enum, default_value_t = Scenario::Server)]
    scenario: Scenario,
    #[command(flatten)]
    cluster: cluster::ClusterArgs,
    #[command(flatten)]
    sweep: sweep::SweepArgs,
    /// Tiny sizes for CI; exits non-zero when a check fails.
    #[arg(long, env = "BENCH_SMOKE", value_parser = clap::builder::BoolishValueParser::new())]
    smoke: bool,
    /// Idle sockets (scenario 1) and sockets during the fan-out (scenario 2).
    #[arg(long, default_value_t = 19_000)]
    connections: usize,
    /// Sockets during the latency and overload scenarios (3, 4).
    #[arg(long, default_value_t = 10_000)]
    latency_connections: usize,
    #[arg(long, default_value_t = 10)]
    room_size: usize,
    /// Sends in flight per sending socket in scenario 2 (one sender per room).
    #[arg(long, default_value_t = 4)]
    window: usize,
    #[arg(long, default_value_t = 15.0)]
    throughput_secs: f64,
    /// Scenario 3's rate, counted in deliveries to the other members of a room.
    #[arg(long, default_value_t = 18_000.0)]
    latency_deliveries_per_sec: f64,
    #[arg(long, default_value_t = 20.0)]
    latency_secs: f64,
    /// Scenario 4 offers this multiple of scenario 2's acked messages/s.
    #[arg(long, default_value_t = 2.0)]
    overload_factor: f64,
    #[arg(long, default_value_t = 15.0)]
    overload_secs: f64,
    /// 127.0.0.x source addresses to spread client sockets over.
    #[arg(long, default_value_t = 32)]
    source_addrs: usize,
    /// Before each measured scenario, wait up to this long for other processes (builds, other
    /// benchmarks) to leave the cores alone.
    #[arg(long, default_value_t = 30.0)]
    quiet_wait_secs: f64,
    /// Which servers: chat, socketio or both.
    #[arg(long, default_value = "both")]
    servers: String,
    /// Runs per server; the servers' order alternates from one run to the next and every
    /// figure is reported as the median of the runs with min and max.
    #[arg(long, default_value_t = 5)]
    server_runs: usize,
    /// Seed the chat database again instead of reusing target/loadgen/seed-*.
    #[arg(long)]
    no_cache: bool,
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Server,
    Cluster,
    /// Open-loop rate sweeps, chat and Socket.IO alternating, medians of several runs, and the
    /// SIGKILL loss check (bench/results/sweep.json).
    Sweep,
}

impl Args {
    fn apply_smoke(&mut self) {
        if self.smoke {
            self.connections = self.connections.min(200);
            self.latency_connections = self.latency_connections.min(100);
            self.throughput_secs = self.throughput_secs.min(3.0);
            self.latency_deliveries_per_sec = self.latency_deliveries_per_sec.min(900.0);
            self.latency_secs = self.latency_secs.min(3.0);
            self.overload_secs = self.overload_secs.min(3.0);
            self.quiet_wait_secs = 0.0;
            self.server_runs = self.server_runs.min(2);
        }
        self.server_runs = self.server_runs.max(1);
        self.room_size = self.room_size.max(2);
        self.connections -= self.connections % self.room_size;
        self.latency_connections = self
            .latency_connections
            .min(self.connections)
            .max(self.room_size);
        self.latency_connections -= self.latency_connections % self.room_size;
        self.source_addrs = self.source_addrs.clamp(1, 250);
    }
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| manifest.join("../.."))
}

/// Runs all four scenarios against one server kind; returns its JSON section.
async fn run_kind(
    kind: Kind,
    args: &Args,
    root: &Path,
    seed: Option<&Seed>,
    checks: &mut Checks,
) -> anyhow::Result<Value> {
    let label = kind.label();
    let recipients = (args.room_size - 1) as u64;
    let run_base = root.join(format!("target/loadgen/run-{}", std::process::id()));
    let start_server = |phase: &str| -> anyhow::Result<ServerProcess> {
        match kind {
            Kind::Chat => ServerProcess::chat(
                root,
                seed.expect("chat runs are seeded"),
                &run_base.join(phase),
            ),
            Kind::SocketIo => ServerProcess::socketio(root),
        }
    };
    let target_of = |server: &ServerProcess| Target {
        kind,
        addr: server.addr,
        sources: args.source_addrs,
        padded: false,
    };
    let tokens = seed.map(|s| s.tokens.as_slice());
    let connect_limit = Duration::from_secs(if args.smoke { 30 } else { 240 });
    let mut out = serde_json::Map::new();

    // ---- Phase A: scenarios 1 and 2 on `connections` sockets.
    println!("\n[{label}] scenario 1: {} idle sockets", args.connections);
    let server = start_server("a")?;
    let pid = server.pid();
    let target = target_of(&server);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid);
    let cpu_before = cpu_secs(pid);
    let global = Arc::new(Global::new());
    let fleet = connect_fleet(
        &global,
        std::slice::from_ref(&target),
        args.connections,
        args.room_size,
        tokens,
        connect_limit,
    )
    .await;
    let connect_cpu = cpu_secs(pid) - cpu_before;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kib(pid);
    let per_conn_kib =
        (rss_after.saturating_sub(rss_before)) as f64 / fleet.connected.max(1) as f64;
    println!(
        "  connected {}/{} in {:.1} s (server CPU {:.1} s); RSS {} -> {} KiB = {:.2} KiB per socket; presence frames received {}",
        fleet.connected,
        args.connections,
        fleet.seconds,
        connect_cpu,
        rss_before,
        rss_after,
        per_conn_kib,
        global.presence_frames.load(Relaxed)
    );
    checks.add(
        format!("{label}: all idle sockets connected"),
        fleet.connected == args.connections,
        format!("{}/{}", fleet.connected, args.connections),
    );
    fleet.broadcast(|| Cmd::Send {
        phase: FINAL,
        t_us: global.now_us(),
    });
    let expect_final = fleet.connected as u64;
    let all_final = wait_until(
        Duration::from_secs(if args.smoke { 10 } else { 60 }),
        || global.final_ok.load(Relaxed) >= expect_final,
    )
    .await;
    let final_ok = global.final_ok.load(Relaxed);
    println!(
        "  one message per room: {final_ok}/{expect_final} sockets got theirs (p99 {:?} ms)",
        global.latency[FINAL].percentile_ms(0.99)
    );
    checks.add(
        format!("{label}: every idle socket got its room's message"),
        all_final && final_ok == args.connections as u64,
        format!("{final_ok}/{}", args.connections),
    );
    out.insert(
        "idle".into(),
        json!({
            "sockets": args.connections,
            "connected": fleet.connected,
            "connect_seconds": round(fleet.seconds, 2),
            "server_cpu_seconds_connecting": round(connect_cpu, 2),
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "kib_per_socket": round(per_conn_kib, 2),
            "kb_per_socket": round(per_conn_kib * 1.024, 2),
            "presence_frames_received": global.presence_frames.load(Relaxed),
            "final_message_received_by": final_ok,
            "final_latency": latency_json(&global, FINAL),
        }),
    );

    // Scenario 2: closed loop, `window` in flight per room sender.
    println!(
        "[{label}] scenario 2: fan-out, {} rooms of {}, window {} per sender, {} s",
        fleet.senders.len(),
        args.room_size,
        args.window,
        args.throughput_secs
    );
    let window = args.window;
    let waited_2 = wait_for_quiet(args.quiet_wait_secs, || cpu_secs(pid) + gen_cpu()).await;
    fleet.broadcast(|| Cmd::Window {
        phase: THROUGHPUT,
        n: window,
    });
    tokio::time::sleep(Duration::from_secs(if args.smoke { 1 } else { 2 })).await;
    let (m0, cs0, st0) = (machine_busy_secs(), context_switches(pid), stolen_secs());
    let (a0, d0, s0, g0, t0) = (
        global.acks[THROUGHPUT].load(Relaxed),
        global.deliveries[THROUGHPUT].load(Relaxed),
        cpu_secs(pid),
        gen_cpu(),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(args.throughput_secs)).await;
    let (a1, d1, s1, g1, elapsed) = (
        global.acks[THROUGHPUT].load(Relaxed),
        global.deliveries[THROUGHPUT].load(Relaxed),
        cpu_secs(pid),
        gen_cpu(),
        t0.elapsed().as_secs_f64(),
    );
    let others = other_cpu(machine_busy_secs() - m0, (s1 - s0) + (g1 - g0));
    let stolen = stolen_secs() - st0;
    let switches_per_msg = (context_switches(pid) - cs0) as f64 / (a1 - a0).max(1) as f64;
    global.stop.store(true, Relaxed);
    let drained = wait_until(Duration::from_secs(30), || {
        global.deliveries[THROUGHPUT].load(Relaxed)
            >= global.acks[THROUGHPUT].load(Relaxed) * recipients
            && global.acks[THROUGHPUT].load(Relaxed) + global.gave_up.load(Relaxed)
                >= global.sent[THROUGHPUT].load(Relaxed)
    })
    .await;
    let acked_rate = (a1 - a0) as f64 / elapsed;
    let delivery_rate = (d1 - d0) as f64 / elapsed;
    let server_cpu = s1 - s0;
    let cpu_per_delivery_us = server_cpu * 1e6 / (d1 - d0).max(1) as f64;
    let missing = (global.acks[THROUGHPUT].load(Relaxed) * recipients)
        .saturating_sub(global.deliveries[THROUGHPUT].load(Relaxed));
    println!(
        "  {acked_rate:.0} acked messages/s, {delivery_rate:.0} deliveries/s; server CPU {server_cpu:.1} s in {elapsed:.1} s = {cpu_per_delivery_us:.2} µs per delivery, {switches_per_msg:.1} server context switches per message; generator CPU {:.1} s, other processes {others:.1} s, stolen by the hypervisor {stolen:.1} s; latency p50 {:?} p99 {:?} ms; missing deliveries after drain {missing}",
        g1 - g0,
        global.latency[THROUGHPUT].percentile_ms(0.5),
        global.latency[THROUGHPUT].percentile_ms(0.99),
    );
    checks.add(
        format!("{label}: fan-out deliveries complete"),
        drained && missing == 0,
        format!(
            "{missing} deliveries missing; {} sockets dropped",
            global.dropped.load(Relaxed)
        ),
    );
    out.insert(
        "fanout".into(),
        json!({
            "rooms": fleet.senders.len(),
            "room_size": args.room_size,
            "window_per_sender": args.window,
            "seconds": round(elapsed, 2),
            "acked_messages_per_sec": round(acked_rate, 0),
            "deliveries_per_sec": round(delivery_rate, 0),
            "server_cpu_seconds": round(server_cpu, 2),
            "server_cpu_us_per_delivery": round(cpu_per_delivery_us, 3),
            "server_cores_busy": round(server_cpu / elapsed, 2),
            "server_context_switches_per_message": round(switches_per_msg, 2),
            "generator_cpu_seconds": round(g1 - g0, 2),
            "other_processes_cpu_seconds": round(others, 2),
            "cpu_stolen_seconds": round(stolen, 2),
            "waited_for_quiet_seconds": round(waited_2, 1),
            "latency_send_to_delivery": latency_json(&global, THROUGHPUT),
            "missing_deliveries_after_drain": missing,
            "errors": global.errors_snapshot(),
            "retries": global.retries.load(Relaxed),
            "sockets_dropped": global.dropped.load(Relaxed),
            "socket_close_reasons": global.closes_snapshot(),
        }),
    );
    let (acked_ids, _) = fleet.reports().await;
    fleet.close();
    let data_dir = server.data_dir.clone();
    server.stop();
    if let Some(dir) = data_dir {
        let rooms = args.connections / args.room_size;
        let (missing, _) = server::missing_from_store(None, &dir, rooms, &acked_ids).await?;
        println!(
            "  acked fan-out messages checked in the database after the server stopped: {} ({missing} missing)",
            acked_ids.len()
        );
        checks.add(
            format!("{label}: no acked fan-out message lost"),
            missing == 0 && acked_ids.len() as u64 == global.acks[THROUGHPUT].load(Relaxed),
            format!("{missing} of {} acked missing", acked_ids.len()),
        );
        if let Some(Value::Object(fanout)) = out.get_mut("fanout") {
            fanout.insert("acked_checked_in_db".into(), json!(acked_ids.len()));
            fanout.insert("acked_lost".into(), json!(missing));
        }
        // Deleted, not left for the end: the kernel could otherwise still be writing this
        // phase's dirty pages back while scenario 3 measures fsync-bound latency.
        let _ = std::fs::remove_dir_all(&dir);
    }
    let max_rate = acked_rate;

    // ---- Phase B: scenarios 3 and 4 on `latency_connections` sockets, a fresh server.
    let rooms_b = args.latency_connections / args.room_size;
    let msg_rate = args.latency_deliveries_per_sec / recipients as f64;
    println!(
        "[{label}] scenario 3: {} sockets, {msg_rate:.0} messages/s = {:.0} deliveries/s open loop for {} s",
        args.latency_connections, args.latency_deliveries_per_sec, args.latency_secs
    );
    let server = start_server("b")?;
    let pid = server.pid();
    let target = target_of(&server);
    let global = Arc::new(Global::new());
    let fleet = connect_fleet(
        &global,
        std::slice::from_ref(&target),
        args.latency_connections,
        args.room_size,
        tokens,
        connect_limit,
    )
    .await;
    checks.add(
        format!("{label}: all latency sockets connected"),
        fleet.connected == args.latency_connections,
        format!("{}/{}", fleet.connected, args.latency_connections),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let waited_3 = wait_for_quiet(args.quiet_wait_secs, || cpu_secs(pid) + gen_cpu()).await;
    let (s0, g0, m0, st0) = (cpu_secs(pid), gen_cpu(), machine_busy_secs(), stolen_secs());
    let cs0 = context_switches(pid);
    let offered = paced(&global, &fleet, LATENCY, msg_rate, args.latency_secs).await;
    let complete = wait_until(Duration::from_secs(15), || {
        global.deliveries[LATENCY].load(Relaxed) >= offered * recipients
    })
    .await;
    let (s1, g1) = (cpu_secs(pid), gen_cpu());
    let others = other_cpu(machine_busy_secs() - m0, (s1 - s0) + (g1 - g0));
    let stolen = stolen_secs() - st0;
    let switches_per_msg = (context_switches(pid) - cs0) as f64 / offered.max(1) as f64;
    let delivered = global.deliveries[LATENCY].load(Relaxed);
    let h = &global.latency[LATENCY];
    println!(
        "  offered {offered} messages, acked {}, deliveries {delivered}/{}; latency p50 {:?} p99 {:?} max {:?} ms; server CPU {:.1} s ({switches_per_msg:.1} context switches per message), generator CPU {:.1} s, other processes {others:.1} s, stolen by the hypervisor {stolen:.1} s",
        global.acks[LATENCY].load(Relaxed),
        offered * recipients,
        h.percentile_ms(0.5),
        h.percentile_ms(0.99),
        h.max_ms(),
        s1 - s0,
        g1 - g0
    );
    checks.add(
        format!("{label}: every paced message delivered"),
        complete,
        format!("{delivered}/{}", offered * recipients),
    );
    out.insert(
        "latency".into(),
        json!({
            "sockets": args.latency_connections,
            "rooms": rooms_b,
            "messages_per_sec": round(msg_rate, 1),
            "deliveries_per_sec": args.latency_deliveries_per_sec,
            "seconds": args.latency_secs,
            "offered_messages": offered,
            "acked_messages": global.acks[LATENCY].load(Relaxed),
            "deliveries": delivered,
            "expected_deliveries": offered * recipients,
            "send_to_delivery": latency_json(&global, LATENCY),
            "server_cpu_seconds": round(s1 - s0, 2),
            "server_cpu_us_per_delivery": round((s1 - s0) * 1e6 / delivered.max(1) as f64, 3),
            "server_context_switches_per_message": round(switches_per_msg, 2),
            "generator_cpu_seconds": round(g1 - g0, 2),
            "other_processes_cpu_seconds": round(others, 2),
            "cpu_stolen_seconds": round(stolen, 2),
            "waited_for_quiet_seconds": round(waited_3, 1),
        }),
    );

    // Scenario 4: twice the measured maximum, open loop.
    let overload_rate = (max_rate * args.overload_factor).max(10.0);
    println!(
        "[{label}] scenario 4: overload, {overload_rate:.0} messages/s offered ({}x {max_rate:.0}) for {} s",
        args.overload_factor, args.overload_secs
    );
    let errors_before = global.errors_snapshot();
    let retries_before = global.retries.load(Relaxed);
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut samples = Vec::new();
            while sampling.load(Relaxed) {
                samples.push((round(started.elapsed().as_secs_f64(), 2), rss_kib(pid)));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            samples
        })
    };
    let waited_4 = wait_for_quiet(args.quiet_wait_secs, || cpu_secs(pid) + gen_cpu()).await;
    let rss_start = rss_kib(pid);
    let (s0, g0, m0, st0, t0) = (
        cpu_secs(pid),
        gen_cpu(),
        machine_busy_secs(),
        stolen_secs(),
        Instant::now(),
    );
    let offered = paced(&global, &fleet, OVERLOAD, overload_rate, args.overload_secs).await;
    let send_secs = t0.elapsed().as_secs_f64();
    let acked_during = global.acks[OVERLOAD].load(Relaxed);
    // Drain: everything sent gets its ack or a final error (retries included), bounded.
    let drained = wait_until(
        Duration::from_secs(if args.smoke { 20 } else { 90 }),
        || {
            global.acks[OVERLOAD].load(Relaxed) + global.gave_up.load(Relaxed)
                >= global.sent[OVERLOAD].load(Relaxed)
        },
    )
    .await;
    let drain_secs = t0.elapsed().as_secs_f64() - send_secs;
    let (s1, g1) = (cpu_secs(pid), gen_cpu());
    let others = other_cpu(machine_busy_secs() - m0, (s1 - s0) + (g1 - g0));
    let stolen = stolen_secs() - st0;
    sampling.store(false, Relaxed);
    let samples = sampler.await.unwrap_or_default();
    let rss_max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let (mut acked_ids, outstanding) = fleet.reports().await;
    // Scenario 3's messages are reported too; this check is about the overload's.
    acked_ids.retain(|id| id.as_bytes().get(2) == Some(&PHASE_LETTERS[OVERLOAD]));
    let errors_after = global.errors_snapshot();
    let mut refused = serde_json::Map::new();
    for (code, count) in &errors_after {
        let new = count - errors_before.get(code).copied().unwrap_or(0);
        if new > 0 {
            refused.insert(code.clone(), json!(new));
        }
    }
    let retries = global.retries.load(Relaxed) - retries_before;
    let acked_total = global.acks[OVERLOAD].load(Relaxed);
    let h = &global.latency[OVERLOAD];
    println!(
        "  offered {offered}, written {}, acked {acked_total} ({:.0}/s while offered), unanswered {outstanding} after {drain_secs:.1} s drain; refused {refused:?}, retried {retries}; RSS {rss_start} -> max {rss_max} KiB; delivery p50 {:?} p99 {:?} ms; sockets dropped {}; CPU stolen by the hypervisor {stolen:.1} s",
        global.sent[OVERLOAD].load(Relaxed),
        acked_during as f64 / send_secs,
        h.percentile_ms(0.5),
        h.percentile_ms(0.99),
        global.dropped.load(Relaxed),
    );
    fleet.close();
    let data_dir = server.data_dir.clone();
    server.stop();
    let mut lost = Value::Null;
    let mut stored_events = Value::Null;
    if let Some(dir) = data_dir {
        let (missing, events) = server::missing_from_store(None, &dir, rooms_b, &acked_ids).await?;
        println!(
            "  acked messages checked in the database after the server stopped: {} ({missing} missing; {events} events stored)",
            acked_ids.len()
        );
        checks.add(
            format!("{label}: no acked message lost"),
            missing == 0 && acked_ids.len() as u64 == acked_total,
            format!("{missing} of {} acked missing", acked_ids.len()),
        );
        lost = json!(missing);
        stored_events = json!(events);
        let _ = std::fs::remove_dir_all(&run_base);
    }
    out.insert(
        "overload".into(),
        json!({
            "offered_messages_per_sec": round(overload_rate, 0),
            "factor_of_measured_max": args.overload_factor,
            "seconds": args.overload_secs,
            "offered": offered,
            "written": global.sent[OVERLOAD].load(Relaxed),
            "acked": acked_total,
            "acked_per_sec_while_offered": round(acked_during as f64 / send_secs, 0),
            "unanswered_after_drain": outstanding,
            "drain_seconds": round(drain_secs, 2),
            "drained": drained,
            "refused": refused,
            "retried": retries,
            "gave_up": global.gave_up.load(Relaxed),
            "sockets_dropped": global.dropped.load(Relaxed),
            "socket_close_reasons": global.closes_snapshot(),
            "rss_start_kib": rss_start,
            "rss_max_kib": rss_max,
            "rss_samples_kib": samples.iter().map(|(t, r)| json!([t, r])).collect::<Vec<_>>(),
            "server_cpu_seconds": round(s1 - s0, 2),
            "generator_cpu_seconds": round(g1 - g0, 2),
            "other_processes_cpu_seconds": round(others, 2),
            "cpu_stolen_seconds": round(stolen, 2),
            "waited_for_quiet_seconds": round(waited_4, 1),
            "delivery_latency": latency_json(&global, OVERLOAD),
            "acked_checked_in_db": if kind == Kind::Chat { json!(acked_ids.len()) } else { Value::Null },
            "acked_lost": lost,
            "events_stored": stored_events,
        }),
    );
    Ok(Value::Object(out))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.abs() >= 100.0 || f.fract() == 0.0 {
                format!("{f:.0}")
            } else {
                format!("{f:.2}")
            }
        }
        other => other.to_string(),
    }
}

/// The figures of a run: label, where in a server's result, target.
const ROWS: [(&str, &[&str], &str); 24] = [
    ("1 idle sockets connected", &["idle", "connected"], ""),
    ("1 KB per idle socket", &["idle", "kb_per_socket"], "<= 6.5"),
    (
        "1 sockets that got the final msg",
        &["idle", "final_message_received_by"],
        "all",
    ),
    (
        "1 server CPU s while connecting",
        &["idle", "server_cpu_seconds_connecting"],
        "",
    ),
    (
        "2 acked messages/s",
        &["fanout", "acked_messages_per_sec"],
        "",
    ),
    (
        "2 deliveries/s",
        &["fanout", "deliveries_per_sec"],
        ">= 150000",
    ),
    (
        "2 server CPU µs per delivery",
        &["fanout", "server_cpu_us_per_delivery"],
        "<= socket.io",
    ),
    (
        "2 server context switches per msg",
        &["fanout", "server_context_switches_per_message"],
        "",
    ),
    (
        "2 generator CPU s",
        &["fanout", "generator_cpu_seconds"],
        "",
    ),
    (
        "2 other processes' CPU s",
        &["fanout", "other_processes_cpu_seconds"],
        "0",
    ),
    (
        "2 CPU s stolen by the hypervisor",
        &["fanout", "cpu_stolen_seconds"],
        "0",
    ),
    (
        "2 latency p99 ms (saturated)",
        &["fanout", "latency_send_to_delivery", "p99_ms"],
        "",
    ),
    ("2 acked messages lost", &["fanout", "acked_lost"], "0"),
    (
        "3 latency p50 ms",
        &["latency", "send_to_delivery", "p50_ms"],
        "",
    ),
    (
        "3 latency p99 ms",
        &["latency", "send_to_delivery", "p99_ms"],
        "< 10",
    ),
    (
        "3 latency max ms",
        &["latency", "send_to_delivery", "max_ms"],
        "",
    ),
    (
        "3 server CPU µs per delivery",
        &["latency", "server_cpu_us_per_delivery"],
        "",
    ),
    (
        "3 other processes' CPU s",
        &["latency", "other_processes_cpu_seconds"],
        "0",
    ),
    (
        "3 CPU s stolen by the hypervisor",
        &["latency", "cpu_stolen_seconds"],
        "0",
    ),
    (
        "4 offered messages/s",
        &["overload", "offered_messages_per_sec"],
        "2x max",
    ),
    (
        "4 acked/s while offered",
        &["overload", "acked_per_sec_while_offered"],
        "",
    ),
    ("4 RSS max KiB", &["overload", "rss_max_kib"], "bounded"),
    ("4 retried", &["overload", "retried"], ""),
    ("4 acked messages lost", &["overload", "acked_lost"], "0"),
];

/// Per server and figure of [`ROWS`]: the median of the runs, with min and max.
fn summarize_runs(runs: &[(usize, &'static str, Value)]) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["chat", "socketio"] {
        let mut figures = serde_json::Map::new();
        for (name, path, _) in ROWS {
            let values: Vec<f64> = runs
                .iter()
                .filter(|(_, server, _)| *server == key)
                .filter_map(|(_, _, result)| get(result, path).as_f64())
                .collect();
            if let Some(spread) = sweep::spread(&values) {
                figures.insert(name.to_owned(), spread);
            }
        }
        if !figures.is_empty() {
            out.insert(key.into(), Value::Object(figures));
        }
    }
    Value::Object(out)
}

/// The medians of [`summarize_runs`], as a table.
fn print_table(summary: &Value) {
    let rows = ROWS;
    let median = |v: &Value| -> Value { v["median"].clone() };
    let none = Value::Null;
    let chat = summary.get("chat").unwrap_or(&none);
    let sio = summary.get("socketio").unwrap_or(&none);
    println!(
        "\nmedians of the runs\n{:<36} {:>14} {:>14} {:>12}",
        "scenario / figure", "chat", "socket.io", "target"
    );
    println!("{}", "-".repeat(79));
    for (name, _, target) in rows {
        println!(
            "{:<36} {:>14} {:>14} {:>12}",
            name,
            cell(&median(&chat[name])),
            cell(&median(&sio[name])),
            target
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    args.apply_smoke();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // On Ctrl-C or SIGTERM the run is dropped, and with it the server processes (killed).
    tokio::select! {
        result = run(args) => result,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("loadgen: interrupted; servers stopped");
            std::process::exit(130);
        }
        _ = terminate.recv() => {
            eprintln!("loadgen: terminated; servers stopped");
            std::process::exit(143);
        }
    }
}

/// Removes `target/loadgen/run-PID` directories of runs that are no longer alive.
fn remove_stale_runs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root.join("target/loadgen")) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        if let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("run-"))
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    let raised = rlimit::increase_nofile_limit(hard)?;
    println!(
        "loadgen: RLIMIT_NOFILE soft {soft} -> {raised} (hard {hard}); children inherit it. {} cores.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let root = workspace_root();
    remove_stale_runs(&root);
    if args.scenario == Scenario::Sweep {
        let common = cluster::Common {
            smoke: args.smoke,
            room_size: args.room_size,
            window: args.window,
            source_addrs: args.source_addrs,
            quiet_wait_secs: if args.smoke {
                0.0
            } else {
                args.quiet_wait_secs.min(10.0)
            },
            use_cache: !args.no_cache,
            out: args.out.clone(),
        };
        if !sweep::run(args.sweep, common, &root).await? && args.smoke {
            std::process::exit(1);
        }
        return Ok(());
    }
    if args.scenario == Scenario::Cluster {
        let common = cluster::Common {
            smoke: args.smoke,
            room_size: args.room_size,
            window: args.window,
            source_addrs: args.source_addrs,
            quiet_wait_secs: args.cluster.cluster_quiet_wait_secs,
            use_cache: !args.no_cache,
            out: args.out.clone(),
        };
        if !cluster::run(args.cluster, common, &root).await? && args.smoke {
            std::process::exit(1);
        }
        return Ok(());
    }
    let kinds: Vec<Kind> = match args.servers.as_str() {
        "chat" => vec![Kind::Chat],
        "socketio" | "socket.io" => vec![Kind::SocketIo],
        _ => vec![Kind::Chat, Kind::SocketIo],
    };
    println!(
        "sizes: {} idle sockets, {} for latency/overload, rooms of {}, {} source addresses; smoke: {}",
        args.connections, args.latency_connections, args.room_size, args.source_addrs, args.smoke
    );
    println!(
        "chat server flags raised for the load: --socket-frames-per-second 1000000 --user-events-per-second 1000000 --auth-attempts-per-minute 1000000 (defaults 10, 10, 20)"
    );
    let started = Instant::now();
    let mut checks = Checks::default();
    let mut runs: Vec<(usize, &'static str, Value)> = Vec::new();
    let mut seed_info = Value::Null;
    for run in 0..args.server_runs {
        let mut order = kinds.clone();
        if run % 2 == 1 {
            order.reverse();
        }
        for kind in order {
            println!("\nrun {}/{}: {}", run + 1, args.server_runs, kind.label());
            let seed = if kind == Kind::Chat {
                let seed =
                    server::seed(&root, args.connections, args.room_size, !args.no_cache).await?;
                println!(
                    "chat database: {} users, {} rooms of {} ({})",
                    args.connections,
                    args.connections / args.room_size,
                    args.room_size,
                    if seed.cached {
                        "cached copy".to_owned()
                    } else {
                        format!("seeded in {:.1} s", seed.seconds)
                    }
                );
                seed_info = json!({"cached": seed.cached, "seed_seconds": round(seed.seconds, 1)});
                Some(seed)
            } else {
                None
            };
            let key = match kind {
                Kind::Chat => "chat",
                Kind::SocketIo => "socketio",
            };
            match run_kind(kind, &args, &root, seed.as_ref(), &mut checks).await {
                Ok(v) => runs.push((run, key, v)),
                Err(e) => {
                    checks.add(format!("{key}: run {}", run + 1), false, format!("{e:#}"));
                }
            }
        }
    }
    let summary = summarize_runs(&runs);
    print_table(&summary);
    let total = started.elapsed().as_secs_f64();
    println!(
        "\nrun took {total:.0} s; checks: {}",
        if checks.all_ok() {
            "all passed"
        } else {
            "FAILED"
        }
    );
    let out_path = args
        .out
        .clone()
        // A smoke run's figures mean nothing: they never replace the committed ones.
        .unwrap_or_else(|| {
            if args.smoke {
                root.join("target/loadgen/server-smoke.json")
            } else {
                root.join("bench/results/server.json")
            }
        });
    if let Some(parent) = out_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let report = json!({
        "generated_at_unix_ms": signaling::now_ms(),
        "smoke": args.smoke,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "config": {
            "connections": args.connections,
            "latency_connections": args.latency_connections,
            "room_size": args.room_size,
            "window": args.window,
            "throughput_secs": args.throughput_secs,
            "latency_deliveries_per_sec": args.latency_deliveries_per_sec,
            "latency_secs": args.latency_secs,
            "overload_factor": args.overload_factor,
            "overload_secs": args.overload_secs,
            "source_addrs": args.source_addrs,
            "quiet_wait_secs": args.quiet_wait_secs,
            "chat_flags": ["--socket-frames-per-second", "1000000", "--user-events-per-second", "1000000", "--auth-attempts-per-minute", "1000000"],
            "delivery_counting": "a delivery is a message frame reaching a room member other than its sender (9 per message in rooms of 10); both servers answer the sender with an ack only (the reference uses socket.to(room).emit)",
            "runs": args.server_runs,
            "order": "chat first in odd runs, Socket.IO first in even runs; each run from a fresh server",
        },
        "chat_seed": seed_info,
        "targets": {
            "idle_kb_per_socket": 6.5,
            "deliveries_per_sec": 150_000,
            "cpu_per_delivery": "chat <= socket.io",
            "latency_p99_ms": 10,
            "acked_lost": 0,
        },
        "summary": summary,
        "runs": runs
            .iter()
            .map(|(run, server, result)| json!({"run": run + 1, "server": server, "result": result}))
            .collect::<Vec<_>>(),
        "checks": checks.json(),
        "run_seconds": round(total, 1),
    });
    std::fs::write(&out_path, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("wrote {}", out_path.display());
    if !checks.all_ok() && args.smoke {
        std::process::exit(1);
    }
    Ok(())
}
