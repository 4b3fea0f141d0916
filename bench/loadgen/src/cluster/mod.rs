//! Issue 15's measurement: the same fan-out on four configurations in one run,
//!
//! 1. SQLite, 1 node; 2. PostgreSQL, 1 node; 3. PostgreSQL + NATS, 2 nodes; 4. the same, 3 nodes,
//!
//! with the sockets spread round robin over the nodes, so a room's members sit on different
//! nodes and most deliveries cross NATS. Each configuration sends at one paced open-loop rate
//! (the same for all), then optionally saturates; the configurations alternate over rounds,
//! the order rotated each round, and the report gives median, min and max over the rounds.
//! See docs/BENCHMARKS.md for what the figures mean and how the relay cost is derived.

mod config;
mod deploy;
mod nats;
mod postgres;
mod probe;
mod report;
mod workload;

use crate::checks::Checks;
use crate::server;
use crate::stats::round;
use config::{Config, Store};
use postgres::PgServer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;
use workload::{Ctx, RunResult};

#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Cluster scenario: sockets per configuration run (rooms of --room-size).
    #[arg(long, default_value_t = 3_000)]
    pub cluster_connections: usize,
    /// Cluster scenario: the paced open-loop rate, the same for every configuration, in
    /// deliveries per second (a message to a room of 10 is 9 deliveries).
    #[arg(long, default_value_t = 9_000.0)]
    pub cluster_deliveries_per_sec: f64,
    /// Cluster scenario: how long the paced phase sends.
    #[arg(long, default_value_t = 15.0)]
    pub cluster_secs: f64,
    /// Cluster scenario: then a closed-loop saturation phase (--window in flight per room
    /// sender) this long; 0 skips it.
    #[arg(long, default_value_t = 6.0)]
    pub cluster_saturation_secs: f64,
    /// Cluster scenario: rounds, each running every configuration once in rotated order.
    #[arg(long, default_value_t = 5)]
    pub cluster_rounds: usize,
    /// Cluster scenario: before each measured phase wait at most this long for other
    /// processes to leave the cores (twelve runs: a shorter wait than the server scenario's).
    #[arg(long, default_value_t = 10.0)]
    pub cluster_quiet_wait_secs: f64,
    /// Cluster scenario: which configurations (1 SQLite; 2 PostgreSQL; 3 and 4 PostgreSQL +
    /// NATS on 2 and 3 nodes).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4")]
    pub cluster_configs: Vec<usize>,
    /// A PostgreSQL server on which the cluster scenario may create and drop databases
    /// (`chat_bench_*`); its CPU is read from /proc when it runs on this machine.
    #[arg(
        long,
        env = "CHAT_TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
}

impl ClusterArgs {
    fn apply_smoke(&mut self, smoke: bool, room_size: usize) {
        if smoke {
            self.cluster_connections = self.cluster_connections.min(60);
            self.cluster_deliveries_per_sec = self.cluster_deliveries_per_sec.min(900.0);
            self.cluster_secs = self.cluster_secs.min(2.0);
            self.cluster_saturation_secs = self.cluster_saturation_secs.min(1.0);
            self.cluster_rounds = self.cluster_rounds.min(1);
            self.cluster_quiet_wait_secs = 0.0;
        }
        self.cluster_connections = self.cluster_connections.max(room_size);
        self.cluster_connections -= self.cluster_connections % room_size;
        self.cluster_rounds = self.cluster_rounds.max(1);
        self.cluster_configs
            .retain(|id| Config::by_id(*id).is_some());
        self.cluster_configs.dedup();
    }
}

/// The load generator's options the cluster scenario shares with the server one.
pub struct Common {
    pub smoke: bool,
    pub room_size: usize,
    pub window: usize,
    pub source_addrs: usize,
    pub quiet_wait_secs: f64,
    pub use_cache: bool,
    pub out: Option<PathBuf>,
}

/// Runs the scenario and writes `bench/results/cluster.json`; returns whether every check
/// passed.
pub async fn run(mut args: ClusterArgs, common: Common, root: &Path) -> anyhow::Result<bool> {
    args.apply_smoke(common.smoke, common.room_size);
    let started = Instant::now();
    let configs: Vec<Config> = args
        .cluster_configs
        .iter()
        .filter_map(|&id| Config::by_id(id))
        .collect();
    let wants = |store| configs.iter().any(|c| c.store == store);
    let recipients = common.room_size - 1;
    println!(
        "cluster: {} sockets in rooms of {} per run; paced {} deliveries/s ({:.0} messages/s, bodies of 100-300 bytes) for {} s, then {} s saturated (window {}); {} rounds of configurations {:?}",
        args.cluster_connections,
        common.room_size,
        args.cluster_deliveries_per_sec,
        args.cluster_deliveries_per_sec / recipients as f64,
        args.cluster_secs,
        args.cluster_saturation_secs,
        common.window,
        args.cluster_rounds,
        args.cluster_configs,
    );

    let sqlite = if wants(Store::Sqlite) {
        let seed = server::seed(
            root,
            args.cluster_connections,
            common.room_size,
            common.use_cache,
        )
        .await?;
        println!(
            "SQLite seed: {} ({:.1} s)",
            if seed.cached { "cached copy" } else { "seeded" },
            seed.seconds
        );
        Some(seed)
    } else {
        None
    };
    let pg_server = if wants(Store::Postgres) {
        let server = PgServer::connect(&args.postgres_url).await?;
        server.remove_databases(false).await?;
        if server.cpu_secs().is_none() {
            println!("  (PostgreSQL does not run on this machine: its CPU is not measured)");
        }
        Some(server)
    } else {
        None
    };
    let pg_seed = match &pg_server {
        Some(server) => {
            let seed = postgres::seed(server, args.cluster_connections, common.room_size).await?;
            println!(
                "PostgreSQL seed: template {} ({:.1} s); every run gets a fresh copy",
                seed.template, seed.seconds
            );
            Some(seed)
        }
        None => None,
    };

    let mut checks = Checks::default();
    let mut runs: Vec<RunResult> = Vec::new();
    let ctx = Ctx {
        root,
        args: &args,
        common: &common,
        sqlite: sqlite.as_ref(),
        pg: pg_server.as_ref().zip(pg_seed.as_ref()),
    };
    for round_no in 0..args.cluster_rounds {
        for id in config::order(&args.cluster_configs, round_no) {
            let Some(config) = Config::by_id(id) else {
                continue;
            };
            match workload::run_once(&ctx, config, round_no, &mut checks).await {
                Ok(run) => runs.push(run),
                Err(e) => checks.add(
                    format!("cluster round {} {}: run", round_no + 1, config.label()),
                    false,
                    format!("{e:#}"),
                ),
            }
        }
    }
    if let Some(server) = &pg_server {
        server.remove_databases(true).await?;
    }
    let _ =
        std::fs::remove_dir_all(root.join(format!("target/loadgen/run-{}", std::process::id())));

    report::print_table(&runs);
    let total = started.elapsed().as_secs_f64();
    println!(
        "\ncluster run took {total:.0} s; checks: {}",
        if checks.all_ok() {
            "all passed"
        } else {
            "FAILED"
        }
    );
    let out_path = common
        .out
        .clone()
        // A smoke run's figures mean nothing: they never replace the committed ones.
        .unwrap_or_else(|| {
            if common.smoke {
                root.join("target/loadgen/cluster-smoke.json")
            } else {
                root.join("bench/results/cluster.json")
            }
        });
    if let Some(parent) = out_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let report = json!({
        "generated_at_unix_ms": signaling::now_ms(),
        "smoke": common.smoke,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "config": {
            "sockets": args.cluster_connections,
            "room_size": common.room_size,
            "paced_deliveries_per_sec": args.cluster_deliveries_per_sec,
            "paced_messages_per_sec": round(args.cluster_deliveries_per_sec / recipients as f64, 1),
            "paced_secs": args.cluster_secs,
            "saturation_secs": args.cluster_saturation_secs,
            "window_per_sender": common.window,
            "rounds": args.cluster_rounds,
            "quiet_wait_secs": args.cluster_quiet_wait_secs,
            "configurations": configs.iter().map(|c| json!({"id": c.id, "label": c.label(), "nodes": c.nodes})).collect::<Vec<_>>(),
            "body_bytes": "100-300",
            "placement": "socket i on node (i + i / room_size) % nodes: round robin, shifted per room so the rooms' senders spread over the nodes too",
            "chat_flags": ["--socket-frames-per-second", "1000000", "--user-events-per-second", "1000000", "--auth-attempts-per-minute", "1000000", "--max-connections-per-ip", "0"],
            "delivery_counting": "a delivery is a message frame reaching a room member other than its sender",
            "cpu": "nodes: utime+stime of the signaling processes; postgres: the local server's postmaster with its reaped children, and its live children except backends of other databases; nats: the nats-server this run started",
        },
        "seeds": {
            "sqlite": sqlite.as_ref().map(|s| json!({"cached": s.cached, "seconds": round(s.seconds, 1)})),
            "postgres": pg_seed.as_ref().map(|s| json!({"seconds": round(s.seconds, 1)})),
        },
        "summary": report::summary(&runs),
        "runs": runs.iter().map(|r| r.json.clone()).collect::<Vec<Value>>(),
        "checks": checks.json(),
        "run_seconds": round(total, 1),
    });
    std::fs::write(&out_path, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("wrote {}", out_path.display());
    Ok(checks.all_ok())
}
