//! One configuration run: bring it up, connect the sockets round robin over its nodes, send at
//! the paced rate, then (optionally) saturate it, and check every acked message in the store.

use super::config::{Config, Store};
use super::deploy::Deployment;
use super::postgres::{PgSeed, PgServer};
use super::probe::{Probe, Usage};
use super::{ClusterArgs, Common};
use crate::checks::Checks;
use crate::conn::Cmd;
use crate::fleet::{Fleet, connect_fleet, paced, wait_until};
use crate::quiet::wait_for_quiet;
use crate::server::{self, Seed};
use crate::stats::{Global, LATENCY, THROUGHPUT, latency_json, round};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// What every run of one invocation shares.
pub struct Ctx<'a> {
    pub root: &'a Path,
    pub args: &'a ClusterArgs,
    pub common: &'a Common,
    pub sqlite: Option<&'a Seed>,
    pub pg: Option<(&'a PgServer, &'a PgSeed)>,
}

/// One measured phase: the paced one or the saturation.
pub struct Phase {
    /// Messages acked in the phase (paced: all of them; saturation: within the window).
    pub messages: u64,
    pub deliveries: u64,
    pub deliveries_per_sec: f64,
    pub usage: Usage,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    json: Value,
}

impl Phase {
    fn new(global: &Global, which: usize, messages: u64, deliveries: u64, usage: Usage) -> Self {
        let h = &global.latency[which];
        let mut phase = Self {
            messages,
            deliveries,
            deliveries_per_sec: deliveries as f64 / usage.seconds.max(1e-9),
            usage,
            p50_ms: h.percentile_ms(0.5),
            p99_ms: h.percentile_ms(0.99),
            json: Value::Null,
        };
        phase.json = json!({
            "acked_messages": messages,
            "deliveries": deliveries,
            "deliveries_per_sec": round(phase.deliveries_per_sec, 0),
            "nodes_cpu_us_per_delivery": phase.us_per_delivery(Some(usage.nodes)),
            "postgres_cpu_us_per_delivery": phase.us_per_delivery(usage.pg),
            "nats_cpu_us_per_delivery": phase.us_per_delivery(usage.nats),
            "all_servers_cpu_us_per_delivery": phase.us_per_delivery(Some(phase.servers_cpu())),
            "nats_messages_out_per_message": usage.nats_out.map(|n| round(n as f64 / messages.max(1) as f64, 3)),
            "send_to_delivery": latency_json(global, which),
            "usage": usage.json(),
        });
        phase
    }

    /// Nodes, PostgreSQL and NATS together.
    pub fn servers_cpu(&self) -> f64 {
        self.usage.nodes + self.usage.pg.unwrap_or(0.0) + self.usage.nats.unwrap_or(0.0)
    }

    pub fn us_per_delivery(&self, cpu: Option<f64>) -> Option<f64> {
        cpu.map(|cpu| round(cpu * 1e6 / self.deliveries.max(1) as f64, 3))
    }
}

/// A figure for the progress lines: two decimals, or "-" where the configuration has none.
fn show(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

pub struct RunResult {
    pub round: usize,
    pub config: Config,
    pub paced: Phase,
    pub saturation: Option<Phase>,
    pub json: Value,
}

/// Runs configuration `config` once (round `round`, 0-based).
pub async fn run_once(
    ctx: &Ctx<'_>,
    config: Config,
    round_no: usize,
    checks: &mut Checks,
) -> anyhow::Result<RunResult> {
    let (args, common) = (ctx.args, ctx.common);
    let name = format!("round {} {}", round_no + 1, config.label());
    println!("\n[cluster] {name}");
    let (tokens, pg) = match config.store {
        Store::Sqlite => (
            ctx.sqlite.map(|s| s.tokens.as_slice()),
            None::<(&PgServer, &str)>,
        ),
        Store::Postgres => (
            ctx.pg.map(|(_, seed)| seed.tokens.as_slice()),
            ctx.pg
                .map(|(server, seed)| (server, seed.template.as_str())),
        ),
    };
    let tag = format!("r{}c{}", round_no + 1, config.id);
    let deployment = Deployment::start(ctx.root, &config, &tag, ctx.sqlite, pg).await?;
    let probe = Probe {
        nodes: deployment.node_pids(),
        pg: pg.map(|(server, _)| server),
        nats: deployment.nats.as_ref(),
    };
    let global = Arc::new(Global::new());
    let connect_limit = Duration::from_secs(if common.smoke { 30 } else { 180 });
    let fleet = connect_fleet(
        &global,
        &deployment.targets(common.source_addrs),
        args.cluster_connections,
        common.room_size,
        tokens,
        connect_limit,
    )
    .await;
    let connect_seconds = fleet.seconds;
    println!(
        "  {} nodes; connected {}/{} sockets in {:.1} s",
        config.nodes, fleet.connected, args.cluster_connections, fleet.seconds
    );
    checks.add(
        format!("cluster {name}: all sockets connected"),
        fleet.connected == args.cluster_connections,
        format!("{}/{}", fleet.connected, args.cluster_connections),
    );

    // Idle: what the nodes cost with the sockets connected and nothing sent (timers,
    // keepalives, presence reports), to put the relay cost beside.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_start = probe.sample().await;
    tokio::time::sleep(Duration::from_secs_f64(if common.smoke {
        0.5
    } else {
        2.0
    }))
    .await;
    let idle = idle_start.until(&probe.sample().await);
    let waited = wait_for_quiet(common.quiet_wait_secs, || probe.ours()).await;

    let paced_phase = paced_phase(args, common, &global, &fleet, &probe).await;
    let recipients = (common.room_size - 1) as u64;
    let complete = paced_phase.deliveries == paced_phase.messages * recipients
        && paced_phase.deliveries > 0
        && global.sent[LATENCY].load(Relaxed) == paced_phase.messages;
    checks.add(
        format!("cluster {name}: every paced message acked and delivered"),
        complete,
        format!(
            "{} acked of {} sent, {} deliveries of {}",
            paced_phase.messages,
            global.sent[LATENCY].load(Relaxed),
            paced_phase.deliveries,
            paced_phase.messages * recipients
        ),
    );
    if let Some(out) = paced_phase.usage.nats_out {
        // Every node subscribes to every event (its own come back too).
        let expected = paced_phase.messages * config.nodes as u64;
        checks.add(
            format!("cluster {name}: NATS relayed every event to every node"),
            out >= expected,
            format!("{out} messages delivered by NATS, {expected} expected at least"),
        );
    }

    let saturation = if args.cluster_saturation_secs > 0.0 {
        Some(saturation_phase(args, common, &global, &fleet, &probe, checks, &name).await)
    } else {
        None
    };

    let (acked_ids, outstanding) = fleet.reports().await;
    fleet.close();
    let stored = deployment.stop();
    let rooms = args.cluster_connections / common.room_size;
    let (lost, events) =
        server::missing_from_store(stored.database_url(), &stored.data_dir(), rooms, &acked_ids)
            .await?;
    let acked_total = global.acks[LATENCY].load(Relaxed) + global.acks[THROUGHPUT].load(Relaxed);
    println!(
        "  acked messages checked in the database after the nodes stopped: {} ({lost} missing; {events} events stored); unanswered {outstanding}",
        acked_ids.len()
    );
    checks.add(
        format!("cluster {name}: no acked message lost"),
        lost == 0 && acked_ids.len() as u64 == acked_total && !acked_ids.is_empty(),
        format!(
            "{lost} of {} acked missing ({acked_total} acks counted)",
            acked_ids.len()
        ),
    );
    stored.remove(ctx.pg.map(|(server, _)| server)).await?;

    let json = json!({
        "round": round_no + 1,
        "config": config.id,
        "label": config.label(),
        "nodes": config.nodes,
        "sockets": args.cluster_connections,
        "connect_seconds": round(connect_seconds, 2),
        "idle_nodes_cpu_per_sec": round(idle.nodes / idle.seconds.max(1e-9), 4),
        "idle": idle.json(),
        "waited_for_quiet_seconds": round(waited, 1),
        "paced": paced_phase.json,
        "saturation": saturation.as_ref().map_or(Value::Null, |s| s.json.clone()),
        "acked_checked_in_db": acked_ids.len(),
        "acked_lost": lost,
        "events_stored": events,
        "unanswered": outstanding,
        "errors": global.errors_snapshot(),
        "retries": global.retries.load(Relaxed),
        "gave_up": global.gave_up.load(Relaxed),
        "sockets_dropped": global.dropped.load(Relaxed),
    });
    Ok(RunResult {
        round: round_no,
        config,
        paced: paced_phase,
        saturation,
        json,
    })
}

/// Open loop at `--cluster-deliveries-per-sec`, the same for every configuration; measured
/// from the first send until the last delivery (or 20 s after the last send).
async fn paced_phase(
    args: &ClusterArgs,
    common: &Common,
    global: &Global,
    fleet: &Fleet,
    probe: &Probe<'_>,
) -> Phase {
    let recipients = (common.room_size - 1) as u64;
    let rate = args.cluster_deliveries_per_sec / recipients as f64;
    let start = probe.sample().await;
    let offered = paced(global, fleet, LATENCY, rate, args.cluster_secs).await;
    // `offered`, not the sent counter: the last sends may still sit in the senders' queues.
    wait_until(Duration::from_secs(20), || {
        global.acks[LATENCY].load(Relaxed) + global.gave_up.load(Relaxed) >= offered
            && global.deliveries[LATENCY].load(Relaxed)
                >= global.acks[LATENCY].load(Relaxed) * recipients
    })
    .await;
    let usage = start.until(&probe.sample().await);
    let phase = Phase::new(
        global,
        LATENCY,
        global.acks[LATENCY].load(Relaxed),
        global.deliveries[LATENCY].load(Relaxed),
        usage,
    );
    println!(
        "  paced: {offered} messages offered at {rate:.0}/s; {:.0} deliveries/s; CPU per delivery: nodes {} µs, PostgreSQL {} µs, NATS {} µs; p50 {} p99 {} ms; other processes {:.1} s, stolen {:.2} s",
        phase.deliveries_per_sec,
        show(phase.us_per_delivery(Some(usage.nodes))),
        show(phase.us_per_delivery(usage.pg)),
        show(phase.us_per_delivery(usage.nats)),
        show(phase.p50_ms),
        show(phase.p99_ms),
        usage.others,
        usage.stolen,
    );
    phase
}

/// Closed loop: every room's sender keeps `--window` messages in flight; deliveries counted
/// over `--cluster-saturation-secs` after a warm-up, then drained.
async fn saturation_phase(
    args: &ClusterArgs,
    common: &Common,
    global: &Global,
    fleet: &Fleet,
    probe: &Probe<'_>,
    checks: &mut Checks,
    name: &str,
) -> Phase {
    let recipients = (common.room_size - 1) as u64;
    let window = common.window;
    fleet.broadcast(|| Cmd::Window {
        phase: THROUGHPUT,
        n: window,
    });
    tokio::time::sleep(Duration::from_secs_f64(if common.smoke {
        0.5
    } else {
        1.5
    }))
    .await;
    let (a0, d0) = (
        global.acks[THROUGHPUT].load(Relaxed),
        global.deliveries[THROUGHPUT].load(Relaxed),
    );
    let start = probe.sample().await;
    tokio::time::sleep(Duration::from_secs_f64(args.cluster_saturation_secs)).await;
    let (a1, d1) = (
        global.acks[THROUGHPUT].load(Relaxed),
        global.deliveries[THROUGHPUT].load(Relaxed),
    );
    let usage = start.until(&probe.sample().await);
    global.stop.store(true, Relaxed);
    let drained = wait_until(Duration::from_secs(30), || {
        global.acks[THROUGHPUT].load(Relaxed) + global.gave_up.load(Relaxed)
            >= global.sent[THROUGHPUT].load(Relaxed)
            && global.deliveries[THROUGHPUT].load(Relaxed)
                >= global.acks[THROUGHPUT].load(Relaxed) * recipients
    })
    .await;
    let missing = (global.acks[THROUGHPUT].load(Relaxed) * recipients)
        .saturating_sub(global.deliveries[THROUGHPUT].load(Relaxed));
    checks.add(
        format!("cluster {name}: saturation deliveries complete"),
        drained && missing == 0 && d1 > d0,
        format!(
            "{missing} deliveries missing after the drain, {} in the window",
            d1 - d0
        ),
    );
    let phase = Phase::new(global, THROUGHPUT, a1 - a0, d1 - d0, usage);
    println!(
        "  saturation: {:.0} deliveries/s; CPU per delivery: nodes {} µs, PostgreSQL {} µs, NATS {} µs; p99 {} ms; other processes {:.1} s, stolen {:.2} s",
        phase.deliveries_per_sec,
        show(phase.us_per_delivery(Some(usage.nodes))),
        show(phase.us_per_delivery(usage.pg)),
        show(phase.us_per_delivery(usage.nats)),
        show(phase.p99_ms),
        usage.others,
        usage.stolen,
    );
    phase
}
