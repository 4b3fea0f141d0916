//! CPU time of everything a configuration runs on (its nodes, PostgreSQL, its nats-server),
//! of this generator and of the whole machine, and NATS's message counters, sampled at the
//! start and the end of a measured phase.

use super::nats::{NatsCounters, NatsProcess};
use super::postgres::PgServer;
use crate::quiet::{gen_cpu, other_cpu};
use crate::stats::{cpu_secs, machine_busy_secs, round, stolen_secs};
use serde_json::{Value, json};
use std::time::Instant;

pub struct Probe<'a> {
    pub nodes: Vec<u32>,
    /// Only in the PostgreSQL configurations (on SQLite, its idle server counts as "other").
    pub pg: Option<&'a PgServer>,
    pub nats: Option<&'a NatsProcess>,
}

#[derive(Clone, Copy)]
pub struct Sample {
    at: Instant,
    nodes: f64,
    pg: Option<f64>,
    nats: Option<f64>,
    generator: f64,
    machine: f64,
    stolen: f64,
    counters: Option<NatsCounters>,
}

/// What was used between two samples, in CPU seconds (and messages for NATS).
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub seconds: f64,
    /// The node processes together.
    pub nodes: f64,
    pub pg: Option<f64>,
    pub nats: Option<f64>,
    pub generator: f64,
    /// Every other process on the machine (builds, other benchmarks).
    pub others: f64,
    /// Time the hypervisor gave other virtual machines while this one had work.
    pub stolen: f64,
    /// Messages the nodes published on NATS, and copies NATS delivered to the nodes.
    pub nats_in: Option<u64>,
    pub nats_out: Option<u64>,
    /// The payload bytes of those.
    pub nats_in_bytes: Option<u64>,
    pub nats_out_bytes: Option<u64>,
}

impl Probe<'_> {
    /// CPU seconds of the measured processes and this generator, synchronously (for
    /// [`crate::quiet::wait_for_quiet`]).
    pub fn ours(&self) -> f64 {
        self.nodes_cpu()
            + self.pg.and_then(PgServer::cpu_secs).unwrap_or(0.0)
            + self.nats.map_or(0.0, |n| cpu_secs(n.pid()))
            + gen_cpu()
    }

    fn nodes_cpu(&self) -> f64 {
        self.nodes.iter().map(|&pid| cpu_secs(pid)).sum()
    }

    pub async fn sample(&self) -> Sample {
        let counters = match self.nats {
            Some(nats) => nats.counters().await,
            None => None,
        };
        Sample {
            at: Instant::now(),
            nodes: self.nodes_cpu(),
            pg: self.pg.and_then(PgServer::cpu_secs),
            nats: self.nats.map(|n| cpu_secs(n.pid())),
            generator: gen_cpu(),
            machine: machine_busy_secs(),
            stolen: stolen_secs(),
            counters,
        }
    }
}

impl Sample {
    pub fn until(&self, later: &Sample) -> Usage {
        let diff = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        let nodes = later.nodes - self.nodes;
        let pg = diff(self.pg, later.pg);
        let nats = diff(self.nats, later.nats);
        let generator = later.generator - self.generator;
        let ours = nodes + pg.unwrap_or(0.0) + nats.unwrap_or(0.0) + generator;
        let counters = self.counters.zip(later.counters);
        Usage {
            seconds: later.at.duration_since(self.at).as_secs_f64(),
            nodes,
            pg,
            nats,
            generator,
            others: other_cpu(later.machine - self.machine, ours),
            stolen: later.stolen - self.stolen,
            nats_in: counters.map(|(a, b)| b.in_msgs - a.in_msgs),
            nats_out: counters.map(|(a, b)| b.out_msgs - a.out_msgs),
            nats_in_bytes: counters.map(|(a, b)| b.in_bytes - a.in_bytes),
            nats_out_bytes: counters.map(|(a, b)| b.out_bytes - a.out_bytes),
        }
    }
}

impl Usage {
    pub fn json(&self) -> Value {
        let opt = |v: Option<f64>| v.map_or(Value::Null, |v| json!(round(v, 2)));
        json!({
            "seconds": round(self.seconds, 2),
            "nodes_cpu_seconds": round(self.nodes, 2),
            "postgres_cpu_seconds": opt(self.pg),
            "nats_cpu_seconds": opt(self.nats),
            "generator_cpu_seconds": round(self.generator, 2),
            "other_processes_cpu_seconds": round(self.others, 2),
            "cpu_stolen_seconds": round(self.stolen, 2),
            "nats_messages_in": self.nats_in,
            "nats_messages_out": self.nats_out,
            "nats_bytes_in": self.nats_in_bytes,
            "nats_bytes_out": self.nats_out_bytes,
        })
    }
}
