//! Open-loop rate sweeps (issue 21): the chat server and the Socket.IO reference side by side
//! at the same offered rates, from a rate most deployments see to past saturation, so the
//! figures are not only taken where the chat server's batching flatters it.
//!
//! - Each run starts each server afresh and offers every rate of `--sweep-rates` in turn
//!   (deliveries per second: a message reaches the other `room_size - 1` members), for
//!   `--sweep-step-secs` each, with 100-300-byte bodies, on a chat database that already holds
//!   `--sweep-history` messages. A step waits until everything it sent was delivered before
//!   the next one starts, and a server that cannot deliver a step within 10 s is not offered
//!   higher rates in that run.
//! - `--sweep-runs` runs, the servers' order alternating from one run to the next; every
//!   figure is reported as the median of the runs with their min and max, and a rate counts as
//!   sustained under a p99 bound only when the median p99 is under it.
//! - With `--sweep-one-core` (on by default) the whole sweep is repeated with both servers on
//!   one core (`taskset -c 1`): equal cores, since Node runs JavaScript on one thread while the
//!   chat server's workers and SQLite thread use both.
//! - The loss check: the chat server under load is killed with SIGKILL (no shutdown, nothing
//!   written after the signal), started again on its data, and every message whose ack the
//!   clients had received is looked for in the database.
//!
//! - With `--sweep-matrix` (on by default) Synapse, the Matrix homeserver, joins the other two
//!   in a sweep of its own at the rates it can carry (`--matrix-rates`, `--matrix-clients`
//!   people), the three servers' order rotating from run to run ([`crate::matrix`]); this one
//!   also reports memory per connected client.
//!
//! Steal time (CPU the hypervisor gave to other machines) is reported for every step.

use crate::checks::Checks;
use crate::cluster::Common;
use crate::conn::{Kind, Target};
use crate::fleet::{Fleet, connect_fleet, paced, wait_until};
use crate::matrix::{self, Synapse, postgres_cpu_secs};
use crate::quiet::{gen_cpu, other_cpu, wait_for_quiet};
use crate::server::{self, Seed, ServerProcess};
use crate::stats::{
    Global, KILL, LATENCY, context_switches, cpu_secs, machine_busy_secs, round, rss_kib,
    stolen_secs,
};
use anyhow::Context;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct SweepArgs {
    /// Offered rates, in deliveries per second, in the order they are offered.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "2000,6000,18000,36000,72000,108000"
    )]
    pub sweep_rates: Vec<f64>,
    /// Sockets (rooms of `room_size`; each room's first member sends).
    #[arg(long, default_value_t = 2_000)]
    pub sweep_connections: usize,
    #[arg(long, default_value_t = 8.0)]
    pub sweep_step_secs: f64,
    /// Runs per server; the servers' order alternates from one run to the next.
    #[arg(long, default_value_t = 5)]
    pub sweep_runs: usize,
    /// Messages stored in the chat database before the run, spread over the rooms.
    #[arg(long, default_value_t = 1_000_000)]
    pub sweep_history: usize,
    /// The sweeps to run: `both_cores` (chat and Socket.IO free on the machine's cores),
    /// `one_core` (both on one core: equal cores), `matrix` (Synapse beside them, at
    /// `--matrix-rates`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "both_cores,one_core,matrix"
    )]
    pub sweep_variants: Vec<String>,
    /// The Matrix sweep's offered rates, in deliveries per second.
    #[arg(long, value_delimiter = ',', default_value = "10,30,100,300")]
    pub matrix_rates: Vec<f64>,
    /// People in the Matrix sweep (each server gets the same number of clients).
    #[arg(long, default_value_t = 200)]
    pub matrix_clients: usize,
    /// The SIGKILL check: the rate offered, in deliveries per second...
    #[arg(long, default_value_t = 18_000.0)]
    pub kill_deliveries_per_sec: f64,
    /// ...and how long after the load starts the server is killed.
    #[arg(long, default_value_t = 4.0)]
    pub kill_after_secs: f64,
}

impl SweepArgs {
    fn apply_smoke(&mut self, smoke: bool, room_size: usize) {
        if smoke {
            self.sweep_rates = vec![900.0, 1800.0];
            self.sweep_connections = self.sweep_connections.min(200);
            self.sweep_step_secs = self.sweep_step_secs.min(1.5);
            self.sweep_runs = self.sweep_runs.min(2);
            self.sweep_history = self.sweep_history.min(2_000);
            self.kill_deliveries_per_sec = self.kill_deliveries_per_sec.min(900.0);
            self.kill_after_secs = self.kill_after_secs.min(1.5);
            self.matrix_rates = vec![90.0, 180.0];
            self.matrix_clients = self.matrix_clients.min(20);
        }
        self.sweep_connections -= self.sweep_connections % room_size;
        self.sweep_connections = self.sweep_connections.max(room_size);
        // The chat server's Matrix-sweep clients are accounts of the seeded database.
        self.matrix_clients = self.matrix_clients.min(self.sweep_connections);
        self.matrix_clients -= self.matrix_clients % room_size;
        self.matrix_clients = self.matrix_clients.max(room_size);
        self.sweep_runs = self.sweep_runs.max(1);
    }
}

/// A server of the sweep.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Server {
    Chat,
    SocketIo,
    Synapse,
}

impl Server {
    fn key(self) -> &'static str {
        match self {
            Server::Chat => "chat",
            Server::SocketIo => "socketio",
            Server::Synapse => "synapse",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Server::Chat => "chat",
            Server::SocketIo => "socket.io",
            Server::Synapse => "synapse",
        }
    }
}

/// One sweep configuration: its servers, where they run, the rates and the clients.
struct Variant {
    name: &'static str,
    cpus: Option<&'static str>,
    servers: Vec<Server>,
    rates: Vec<f64>,
    clients: usize,
}

/// One server's sweep in one run: the steps it was offered.
struct Sweep {
    server: Server,
    steps: Vec<Value>,
}

/// Run `run`'s order of `servers`: rotated by one from each run to the next, so every server
/// goes first, second... equally often.
fn order_of(servers: &[Server], run: usize) -> Vec<Server> {
    let mut order = servers.to_vec();
    order.rotate_left(run % servers.len().max(1));
    order
}

/// Runs the sweep (and its one-core variant) and the SIGKILL check; writes
/// `bench/results/sweep.json`; returns whether every check passed.
pub async fn run(mut args: SweepArgs, common: Common, root: &Path) -> anyhow::Result<bool> {
    args.apply_smoke(common.smoke, common.room_size);
    let started = Instant::now();
    let mut checks = Checks::default();
    let seed = server::seed_with_history(
        root,
        args.sweep_connections,
        common.room_size,
        args.sweep_history,
        common.use_cache,
    )
    .await?;
    println!(
        "sweep: {} sockets in rooms of {}, {} messages stored beforehand ({}); rates {:?} deliveries/s, {} s each, {} runs per server, servers alternating",
        args.sweep_connections,
        common.room_size,
        args.sweep_history,
        if seed.cached {
            "cached copy".to_owned()
        } else {
            format!("seeded in {:.0} s", seed.seconds)
        },
        args.sweep_rates,
        args.sweep_step_secs,
        args.sweep_runs
    );
    let both = vec![Server::Chat, Server::SocketIo];
    let all = [
        Variant {
            name: "both_cores",
            cpus: None,
            servers: both.clone(),
            rates: args.sweep_rates.clone(),
            clients: args.sweep_connections,
        },
        Variant {
            name: "one_core",
            cpus: Some("1"),
            servers: both,
            rates: args.sweep_rates.clone(),
            clients: args.sweep_connections,
        },
        Variant {
            name: "matrix",
            cpus: None,
            servers: vec![Server::Chat, Server::SocketIo, Server::Synapse],
            rates: args.matrix_rates.clone(),
            clients: args.matrix_clients,
        },
    ];
    for name in &args.sweep_variants {
        anyhow::ensure!(
            all.iter().any(|v| v.name == name),
            "unknown sweep variant {name} (both_cores, one_core, matrix)"
        );
    }
    let variants: Vec<Variant> = all
        .into_iter()
        .filter(|v| args.sweep_variants.iter().any(|name| name == v.name))
        .collect();
    let mut raw = serde_json::Map::new();
    let mut summary = serde_json::Map::new();
    for variant in &variants {
        let variant_started = Instant::now();
        let synapse = if variant.servers.contains(&Server::Synapse) {
            println!("\n[{}] preparing Synapse", variant.name);
            match Synapse::prepare(root, variant.clients, common.room_size).await {
                Ok(synapse) => Some(synapse),
                Err(e) => {
                    checks.add(
                        format!("{}: Synapse prepared", variant.name),
                        false,
                        format!("{e:#}"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let mut sweeps = Vec::new();
        for run in 0..args.sweep_runs {
            for server in order_of(&variant.servers, run) {
                println!(
                    "\n[{}] run {}/{}: {}",
                    variant.name,
                    run + 1,
                    args.sweep_runs,
                    server.label()
                );
                let result = sweep_one(
                    server,
                    variant,
                    &args,
                    &common,
                    root,
                    &seed,
                    synapse.as_ref(),
                    &mut checks,
                )
                .await;
                match result {
                    Ok(steps) => sweeps.push((run, Sweep { server, steps })),
                    Err(e) => checks.add(
                        format!("{} {} run {}", variant.name, server.label(), run + 1),
                        false,
                        format!("{e:#}"),
                    ),
                }
            }
        }
        if let Some(synapse) = synapse {
            synapse.remove().await;
        }
        let mut table = summarize(&variant.rates, &variant.servers, &sweeps);
        print_summary(variant.name, &variant.servers, &table);
        table["run_at_unix_ms"] = json!(signaling::now_ms());
        table["run_seconds"] = json!(round(variant_started.elapsed().as_secs_f64(), 1));
        table["clients"] = json!(variant.clients);
        table["runs"] = json!(args.sweep_runs);
        summary.insert(variant.name.into(), table);
        raw.insert(
            variant.name.into(),
            sweeps
                .iter()
                .map(|(run, s)| json!({"run": run + 1, "server": s.server.key(), "steps": s.steps}))
                .collect(),
        );
    }
    let kill = match kill_check(&args, &common, root, &seed, &mut checks).await {
        Ok(kill) => kill,
        Err(e) => {
            checks.add("SIGKILL check".into(), false, format!("{e:#}"));
            Value::Null
        }
    };
    let total = started.elapsed().as_secs_f64();
    println!(
        "\nsweep took {total:.0} s; checks: {}",
        if checks.all_ok() {
            "all passed"
        } else {
            "FAILED"
        }
    );
    let out_path = common.out.clone().unwrap_or_else(|| {
        if common.smoke {
            root.join("target/loadgen/sweep-smoke.json")
        } else {
            root.join("bench/results/sweep.json")
        }
    });
    if let Some(parent) = out_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // Sweeps not run this time keep their figures from the last full file, with their date.
    if !common.smoke
        && let Ok(text) = std::fs::read_to_string(&out_path)
        && let Ok(previous) = serde_json::from_str::<Value>(&text)
    {
        for (name, table) in previous["summary"].as_object().into_iter().flatten() {
            if !summary.contains_key(name) && table.get("run_at_unix_ms").is_some() {
                summary.insert(name.clone(), table.clone());
                raw.insert(name.clone(), previous["runs"][name].clone());
            }
        }
    }
    let report = json!({
        "generated_at_unix_ms": signaling::now_ms(),
        "smoke": common.smoke,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "config": {
            "rates_deliveries_per_sec": args.sweep_rates,
            "sockets": args.sweep_connections,
            "room_size": common.room_size,
            "step_secs": args.sweep_step_secs,
            "runs": args.sweep_runs,
            "history_messages": args.sweep_history,
            "body_bytes": "100-300",
            "variants": args.sweep_variants,
            "one_core": "taskset -c 1 for both servers; the load generator is not pinned",
            "matrix_rates_deliveries_per_sec": args.matrix_rates,
            "matrix_clients": args.matrix_clients,
            "matrix": "Synapse from PyPI (bench/synapse/requirements.txt), one process on the local PostgreSQL; its CPU is its process's plus every postgres process's; senders PUT each message, receivers /sync long-poll with a stored filter",
            "order": "rotated by one server from each run to the next (chat first in the first run)",
            "delivery_counting": "a message frame reaching a room member other than its sender",
            "latency": "from when a message was due to be sent (open loop) to its delivery",
        },
        "summary": summary,
        "runs": raw,
        "kill": kill,
        "checks": checks.json(),
        "run_seconds": round(total, 1),
    });
    std::fs::write(&out_path, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("wrote {}", out_path.display());
    Ok(checks.all_ok())
}

/// Starts `server` (on the variant's cores), connects its clients and offers every rate in turn.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename these"
)]
async fn sweep_one(
    server_kind: Server,
    variant: &Variant,
    args: &SweepArgs,
    common: &Common,
    root: &Path,
    seed: &Seed,
    synapse: Option<&Synapse>,
    checks: &mut Checks,
) -> anyhow::Result<Vec<Value>> {
    let run_dir = root.join(format!("target/loadgen/sweep-{}", std::process::id()));
    let server = match server_kind {
        Server::Chat => {
            server::copy_seed(seed, &run_dir)?;
            ServerProcess::chat_on(root, &run_dir, &[], variant.cpus)?
        }
        Server::SocketIo => ServerProcess::socketio_on(root, variant.cpus)?,
        Server::Synapse => {
            synapse
                .context("Synapse was not prepared")?
                .start(variant.cpus)
                .await?
        }
    };
    let pid = server.pid();
    let label = format!("{} {}", variant.name, server_kind.label());
    // Synapse stores through PostgreSQL's processes: their CPU is part of its cost.
    let server_cpu = move || {
        cpu_secs(pid)
            + if server_kind == Server::Synapse {
                postgres_cpu_secs()
            } else {
                0.0
            }
    };
    let global = Arc::new(Global::new());
    let clients = variant.clients;
    let rss_before = rss_kib(pid);
    let fleet: Fleet = match server_kind {
        Server::Synapse => {
            matrix::connect(
                &global,
                server.addr,
                synapse.context("Synapse was not prepared")?,
                common.room_size,
                Duration::from_secs(120),
            )
            .await
        }
        Server::Chat | Server::SocketIo => {
            let kind = if server_kind == Server::Chat {
                Kind::Chat
            } else {
                Kind::SocketIo
            };
            let target = Target {
                kind,
                addr: server.addr,
                sources: common.source_addrs,
                padded: true,
            };
            let tokens = (kind == Kind::Chat).then_some(seed.tokens.as_slice());
            connect_fleet(
                &global,
                std::slice::from_ref(&target),
                clients,
                common.room_size,
                tokens,
                Duration::from_secs(60),
            )
            .await
        }
    };
    checks.add(
        format!("{label}: sweep clients connected"),
        fleet.connected == clients,
        format!("{}/{clients}", fleet.connected),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let memory_per_client_kib =
        rss_kib(pid).saturating_sub(rss_before) as f64 / fleet.connected.max(1) as f64;
    // What the connected sockets cost with nothing sent (pings, timers): part of every step's
    // CPU, and most of it at low rates.
    let (idle0, idle_t0) = (server_cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(args.sweep_step_secs.min(5.0))).await;
    let idle_cores = (server_cpu() - idle0) / idle_t0.elapsed().as_secs_f64();
    println!(
        "  idle: {:.3} cores with {} clients connected and nothing sent; {memory_per_client_kib:.1} KiB of memory per connected client",
        idle_cores, fleet.connected
    );
    let recipients = (common.room_size - 1) as u64;
    let mut steps = vec![json!({
        "idle_server_cores": round(idle_cores, 4),
        "memory_per_client_kib": round(memory_per_client_kib, 1),
    })];
    for &rate in &variant.rates {
        let msg_rate = rate / recipients as f64;
        let waited = wait_for_quiet(common.quiet_wait_secs, || server_cpu() + gen_cpu()).await;
        global.latency[LATENCY].reset();
        let delivered_before = global.deliveries[LATENCY].load(Relaxed);
        let pg0 = postgres_cpu_secs();
        let (s0, g0, m0, st0, cs0) = (
            server_cpu(),
            gen_cpu(),
            machine_busy_secs(),
            stolen_secs(),
            context_switches(pid),
        );
        let syncs0 = global.other_frames.load(Relaxed);
        let t0 = Instant::now();
        let offered = paced(&global, &fleet, LATENCY, msg_rate, args.sweep_step_secs).await;
        let expected = delivered_before + offered * recipients;
        let complete = wait_until(Duration::from_secs(10), || {
            global.deliveries[LATENCY].load(Relaxed) >= expected
        })
        .await;
        let elapsed = t0.elapsed().as_secs_f64();
        let (s1, g1) = (server_cpu(), gen_cpu());
        let postgres = postgres_cpu_secs() - pg0;
        let others = other_cpu(machine_busy_secs() - m0, (s1 - s0) + (g1 - g0));
        let stolen = stolen_secs() - st0;
        let delivered = global.deliveries[LATENCY].load(Relaxed) - delivered_before;
        let switches = (context_switches(pid) - cs0) as f64 / offered.max(1) as f64;
        let h = &global.latency[LATENCY];
        let cpu_us = (s1 - s0) * 1e6 / delivered.max(1) as f64;
        println!(
            "  {rate:>7.0} deliveries/s offered: {delivered}/{} delivered in {elapsed:.1} s; p50 {:?} p99 {:?} max {:?} ms; {cpu_us:.1} µs server CPU per delivery ({:.2} cores, {switches:.1} context switches per message); generator {:.1} s, others {others:.1} s, stolen {stolen:.2} s",
            offered * recipients,
            h.percentile_ms(0.5),
            h.percentile_ms(0.99),
            h.max_ms(),
            (s1 - s0) / elapsed,
            g1 - g0,
        );
        steps.push(json!({
            "offered_deliveries_per_sec": rate,
            "offered_messages": offered,
            "delivered": delivered,
            "complete": complete,
            "seconds_with_drain": round(elapsed, 2),
            "delivered_per_sec": round(delivered as f64 / elapsed, 0),
            "p50_ms": h.percentile_ms(0.5),
            "p99_ms": h.percentile_ms(0.99),
            "max_ms": h.max_ms(),
            "server_cpu_seconds": round(s1 - s0, 2),
            "server_cpu_us_per_delivery": round(cpu_us, 2),
            "server_context_switches_per_message": round(switches, 2),
            // Synapse's share in PostgreSQL (counted in its server CPU); for the others, what
            // PostgreSQL did meanwhile (nothing of theirs).
            "postgres_cpu_seconds": round(postgres, 2),
            // Synapse: /sync responses the receivers got (a long-poll answers once per news).
            "matrix_syncs": (server_kind == Server::Synapse)
                .then(|| global.other_frames.load(Relaxed) - syncs0),
            "generator_cpu_seconds": round(g1 - g0, 2),
            "other_processes_cpu_seconds": round(others, 2),
            "cpu_stolen_seconds": round(stolen, 2),
            "waited_for_quiet_seconds": round(waited, 1),
        }));
        if !complete {
            println!("  (not delivered within 10 s: higher rates are not offered in this run)");
            break;
        }
    }
    fleet.close();
    server.stop();
    let _ = std::fs::remove_dir_all(&run_dir);
    Ok(steps)
}

/// The median, min and max of `values` (the median of an even count is the mean of the two
/// middle values).
pub fn spread(values: &[f64]) -> Option<Value> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(json!({
        "median": round(median, 2),
        "min": round(sorted[0], 2),
        "max": round(sorted[n - 1], 2),
        "runs": n,
    }))
}

/// Per server and rate: medians with min and max over the runs; and per p99 bound, the
/// highest rate sustained (delivered in full in most runs) with a median p99 under it.
fn summarize(rates: &[f64], servers: &[Server], sweeps: &[(usize, Sweep)]) -> Value {
    let mut out = serde_json::Map::new();
    for &server in servers {
        let runs: Vec<&Sweep> = sweeps
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.server == server)
            .collect();
        let mut steps = Vec::new();
        let mut sustained: [Option<f64>; 3] = [None; 3];
        for &rate in rates {
            let at: Vec<&Value> = runs
                .iter()
                .filter_map(|s| {
                    s.steps
                        .iter()
                        .find(|st| st["offered_deliveries_per_sec"].as_f64() == Some(rate))
                })
                .collect();
            let figure =
                |name: &str| -> Vec<f64> { at.iter().filter_map(|st| st[name].as_f64()).collect() };
            let complete = at
                .iter()
                .filter(|st| st["complete"].as_bool() == Some(true))
                .count();
            // A run that stopped below this rate could not deliver it: count it as failed.
            let held = !runs.is_empty() && complete * 2 > runs.len();
            let p99 = spread(&figure("p99_ms"));
            let median_p99 = p99.as_ref().and_then(|v| v["median"].as_f64());
            for (slot, bound) in sustained.iter_mut().zip([10.0, 50.0, 100.0]) {
                if held && median_p99.is_some_and(|p| p < bound) {
                    *slot = Some(rate);
                }
            }
            steps.push(json!({
                "offered_deliveries_per_sec": rate,
                "runs_offered": at.len(),
                "runs_delivered_in_full": complete,
                "sustained": held,
                "p50_ms": spread(&figure("p50_ms")),
                "p99_ms": p99,
                "server_cpu_us_per_delivery": spread(&figure("server_cpu_us_per_delivery")),
                "delivered_per_sec": spread(&figure("delivered_per_sec")),
                "server_context_switches_per_message": spread(&figure("server_context_switches_per_message")),
                "cpu_stolen_seconds": spread(&figure("cpu_stolen_seconds")),
            }));
        }
        let first = |name: &str| -> Vec<f64> {
            runs.iter()
                .filter_map(|s| s.steps.first()?[name].as_f64())
                .collect()
        };
        out.insert(
            server.key().into(),
            json!({
                "idle_server_cores": spread(&first("idle_server_cores")),
                "memory_per_client_kib": spread(&first("memory_per_client_kib")),
                "steps": steps,
                "highest_rate_with_p99_under_ms": {
                    "10": sustained[0],
                    "50": sustained[1],
                    "100": sustained[2],
                },
            }),
        );
    }
    Value::Object(out)
}

fn median_of(v: &Value) -> String {
    match v["median"].as_f64() {
        Some(m) => format!(
            "{m:.1} ({:.1}-{:.1})",
            v["min"].as_f64().unwrap_or(0.0),
            v["max"].as_f64().unwrap_or(0.0)
        ),
        None => "-".to_owned(),
    }
}

fn print_summary(variant: &str, servers: &[Server], table: &Value) {
    println!("\n[{variant}] medians (min-max) over the runs: p99 ms, CPU µs per delivery");
    for &server in servers {
        for step in table[server.key()]["steps"]
            .as_array()
            .into_iter()
            .flatten()
        {
            println!(
                "  {:>9} {:>9} deliveries/s: p99 {:>22}  CPU {:>20}",
                server.label(),
                step["offered_deliveries_per_sec"],
                median_of(&step["p99_ms"]),
                median_of(&step["server_cpu_us_per_delivery"]),
            );
        }
    }
    for server in servers.iter().map(|s| s.key()) {
        println!(
            "  {server}: idle, clients connected and nothing sent: {} cores; {} KiB per connected client",
            median_of(&table[server]["idle_server_cores"]),
            median_of(&table[server]["memory_per_client_kib"])
        );
        println!(
            "  {server}: highest rate sustained with median p99 under 10 / 50 / 100 ms: {} / {} / {}",
            table[server]["highest_rate_with_p99_under_ms"]["10"],
            table[server]["highest_rate_with_p99_under_ms"]["50"],
            table[server]["highest_rate_with_p99_under_ms"]["100"],
        );
    }
}

/// Loads the chat server, kills it with SIGKILL mid-load, starts it again on its data and
/// looks for every acked message in the database.
async fn kill_check(
    args: &SweepArgs,
    common: &Common,
    root: &Path,
    seed: &Seed,
    checks: &mut Checks,
) -> anyhow::Result<Value> {
    let recipients = (common.room_size - 1) as f64;
    let rooms = args.sweep_connections / common.room_size;
    println!(
        "\n[kill] chat: {:.0} deliveries/s offered, SIGKILL after {} s, restart, every acked message looked for",
        args.kill_deliveries_per_sec, args.kill_after_secs
    );
    let run_dir = root.join(format!("target/loadgen/kill-{}", std::process::id()));
    server::copy_seed(seed, &run_dir)?;
    let server = ServerProcess::chat_on(root, &run_dir, &[], None)?;
    let target = Target {
        kind: Kind::Chat,
        addr: server.addr,
        sources: common.source_addrs,
        padded: true,
    };
    let global = Arc::new(Global::new());
    let fleet = connect_fleet(
        &global,
        std::slice::from_ref(&target),
        args.sweep_connections,
        common.room_size,
        Some(&seed.tokens),
        Duration::from_secs(60),
    )
    .await;
    let kill_after = Duration::from_secs_f64(args.kill_after_secs);
    let killing = async move {
        tokio::time::sleep(kill_after).await;
        server.kill();
    };
    let msg_rate = args.kill_deliveries_per_sec / recipients;
    let (offered, ()) = tokio::join!(
        paced(&global, &fleet, KILL, msg_rate, args.kill_after_secs * 2.0),
        killing
    );
    let sent = global.sent[KILL].load(Relaxed);
    let acked = global.kill_acked.lock().expect("not poisoned").clone();
    fleet.close();
    // Started again on what the kill left: it must come up, and hold what it acked.
    let restarted = ServerProcess::chat_on(root, &run_dir, &[], None)?;
    restarted.kill();
    let skip = (common.room_size + args.sweep_history.div_ceil(rooms.max(1))) as i64;
    let (missing, events) = server::missing_after(None, &run_dir, rooms, &acked, skip).await?;
    let _ = std::fs::remove_dir_all(&run_dir);
    println!(
        "  {sent} messages sent, {} acked before the kill; after a restart {missing} of them missing ({events} events stored during the load)",
        acked.len()
    );
    checks.add(
        "chat: every message acked before a SIGKILL is stored after the restart".into(),
        missing == 0 && !acked.is_empty(),
        format!("{missing} of {} acked missing", acked.len()),
    );
    Ok(json!({
        "offered_deliveries_per_sec": args.kill_deliveries_per_sec,
        "killed_after_secs": args.kill_after_secs,
        "offered_messages": offered,
        "sent_before_kill": sent,
        "acked_before_kill": acked.len(),
        "acked_missing_after_restart": missing,
        "events_stored_during_load": events,
    }))
}

#[cfg(test)]
mod tests {
    use super::{Server, order_of, spread};

    #[test]
    fn every_server_goes_first_in_turn() {
        let two = [Server::Chat, Server::SocketIo];
        assert_eq!(order_of(&two, 0), two);
        assert_eq!(order_of(&two, 1), [Server::SocketIo, Server::Chat]);
        let three = [Server::Chat, Server::SocketIo, Server::Synapse];
        let firsts: Vec<Server> = (0..6).map(|run| order_of(&three, run)[0]).collect();
        for server in three {
            assert_eq!(firsts.iter().filter(|&&s| s == server).count(), 2);
        }
        assert_eq!(
            order_of(&three, 1),
            [Server::SocketIo, Server::Synapse, Server::Chat]
        );
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        let odd = spread(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!(
            (
                odd["median"].as_f64(),
                odd["min"].as_f64(),
                odd["max"].as_f64()
            ),
            (Some(3.0), Some(1.0), Some(5.0))
        );
        let even = spread(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(even["median"].as_f64(), Some(2.5));
        assert!(spread(&[]).is_none());
    }
}
