//! What a cluster run reports: for each configuration the median, min and max over the rounds
//! of each figure, the cost a node pays per event it relays, and the printed table.

use super::config::{CONFIGS, SINGLE_PG};
use super::workload::{Phase, RunResult};
use crate::stats::round;
use serde_json::{Map, Value, json};

/// One figure of a run.
struct Metric {
    key: &'static str,
    title: &'static str,
    get: fn(&RunResult) -> Option<f64>,
}

fn saturation<T>(r: &RunResult, f: impl Fn(&Phase) -> Option<T>) -> Option<T> {
    r.saturation.as_ref().and_then(f)
}

const METRICS: &[Metric] = &[
    Metric {
        key: "paced_deliveries_per_sec",
        title: "paced: deliveries/s",
        get: |r| Some(r.paced.deliveries_per_sec),
    },
    Metric {
        key: "paced_nodes_us_per_delivery",
        title: "paced: nodes' CPU µs/delivery",
        get: |r| r.paced.us_per_delivery(Some(r.paced.usage.nodes)),
    },
    Metric {
        key: "paced_postgres_us_per_delivery",
        title: "paced: PostgreSQL CPU µs/delivery",
        get: |r| r.paced.us_per_delivery(r.paced.usage.pg),
    },
    Metric {
        key: "paced_nats_us_per_delivery",
        title: "paced: nats-server CPU µs/delivery",
        get: |r| r.paced.us_per_delivery(r.paced.usage.nats),
    },
    Metric {
        key: "paced_all_servers_us_per_delivery",
        title: "paced: all servers µs/delivery",
        get: |r| r.paced.us_per_delivery(Some(r.paced.servers_cpu())),
    },
    Metric {
        key: "paced_p50_ms",
        title: "paced: latency p50 ms",
        get: |r| r.paced.p50_ms,
    },
    Metric {
        key: "paced_p99_ms",
        title: "paced: latency p99 ms",
        get: |r| r.paced.p99_ms,
    },
    Metric {
        key: "paced_cpu_stolen_seconds",
        title: "paced: CPU s stolen (hypervisor)",
        get: |r| Some(r.paced.usage.stolen),
    },
    Metric {
        key: "paced_other_processes_cpu_seconds",
        title: "paced: other processes' CPU s",
        get: |r| Some(r.paced.usage.others),
    },
    Metric {
        key: "saturation_deliveries_per_sec",
        title: "saturated: deliveries/s",
        get: |r| saturation(r, |p| Some(p.deliveries_per_sec)),
    },
    Metric {
        key: "saturation_nodes_us_per_delivery",
        title: "saturated: nodes' CPU µs/delivery",
        get: |r| saturation(r, |p| p.us_per_delivery(Some(p.usage.nodes))),
    },
    Metric {
        key: "saturation_postgres_us_per_delivery",
        title: "saturated: PostgreSQL µs/delivery",
        get: |r| saturation(r, |p| p.us_per_delivery(p.usage.pg)),
    },
    Metric {
        key: "saturation_nats_us_per_delivery",
        title: "saturated: nats-server µs/delivery",
        get: |r| saturation(r, |p| p.us_per_delivery(p.usage.nats)),
    },
    Metric {
        key: "saturation_p99_ms",
        title: "saturated: latency p99 ms",
        get: |r| saturation(r, |p| p.p99_ms),
    },
    Metric {
        key: "saturation_cpu_stolen_seconds",
        title: "saturated: CPU s stolen",
        get: |r| saturation(r, |p| Some(p.usage.stolen)),
    },
];

/// Median (of an even count: the mean of the middle two), min and max.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

pub fn spread(mut values: Vec<f64>) -> Option<Spread> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some(Spread {
        median,
        min: values[0],
        max: values[n - 1],
        n,
    })
}

impl Spread {
    fn json(self, digits: i32) -> Value {
        json!({
            "median": round(self.median, digits),
            "min": round(self.min, digits),
            "max": round(self.max, digits),
            "runs": self.n,
        })
    }

    fn cell(self) -> String {
        format!(
            "{} ({}-{})",
            short(self.median),
            short(self.min),
            short(self.max)
        )
    }
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The relay cost of one relaying run, against the single-node PostgreSQL run of its round.
///
/// Both ran the same workload (same sockets, rooms and messages, so the same deliveries and
/// the same writes to the same database), the only difference being that the sockets sit on
/// several nodes that relay every event over NATS. So the nodes' extra CPU per message is
/// what relaying costs them: publishing each event once, receiving every event on every node
/// (its own events come back too, are parsed and dropped), the smaller group commits and
/// socket writes of a node that has only part of the sockets, and each process's fixed
/// costs. Divided by the copies NATS handed to the nodes per message (counted by the
/// nats-server), it is the cost per event a node receives.
#[derive(Clone, Copy, Debug)]
pub struct Relay {
    pub extra_node_us_per_message: f64,
    pub copies_per_message: f64,
    pub us_per_received_event: f64,
}

fn relay_of(phase: &Phase, single: &Phase) -> Option<Relay> {
    let per_message = |p: &Phase| p.usage.nodes * 1e6 / p.messages.max(1) as f64;
    let copies = phase.usage.nats_out? as f64 / phase.messages.max(1) as f64;
    let extra = per_message(phase) - per_message(single);
    (copies > 0.0).then(|| Relay {
        extra_node_us_per_message: extra,
        copies_per_message: copies,
        us_per_received_event: extra / copies,
    })
}

/// (config id, round, paced relay, saturated relay) for every relaying run that has a
/// single-node PostgreSQL run in its round.
fn relays(runs: &[RunResult]) -> Vec<(usize, usize, Option<Relay>, Option<Relay>)> {
    runs.iter()
        .filter(|r| r.config.nats)
        .filter_map(|r| {
            let single = runs
                .iter()
                .find(|s| s.round == r.round && s.config.id == SINGLE_PG)?;
            let saturated = r
                .saturation
                .as_ref()
                .zip(single.saturation.as_ref())
                .and_then(|(p, s)| relay_of(p, s));
            Some((
                r.config.id,
                r.round,
                relay_of(&r.paced, &single.paced),
                saturated,
            ))
        })
        .collect()
}

fn relay_json(relays: &[Relay]) -> Value {
    let field = |f: fn(&Relay) -> f64| spread(relays.iter().map(f).collect());
    json!({
        "extra_node_cpu_us_per_message": field(|r| r.extra_node_us_per_message).map(|s| s.json(2)),
        "nats_copies_to_nodes_per_message": field(|r| r.copies_per_message).map(|s| s.json(3)),
        "node_cpu_us_per_received_event": field(|r| r.us_per_received_event).map(|s| s.json(2)),
    })
}

/// The per-configuration summary and the relay costs, as JSON.
pub fn summary(runs: &[RunResult]) -> Value {
    let mut configs = Map::new();
    for config in CONFIGS {
        let mine: Vec<&RunResult> = runs.iter().filter(|r| r.config.id == config.id).collect();
        if mine.is_empty() {
            continue;
        }
        let mut figures = Map::new();
        figures.insert("label".into(), json!(config.label()));
        for metric in METRICS {
            let values = mine.iter().filter_map(|r| (metric.get)(r)).collect();
            if let Some(s) = spread(values) {
                figures.insert(metric.key.into(), s.json(3));
            }
        }
        configs.insert(config.id.to_string(), Value::Object(figures));
    }
    let all = relays(runs);
    let mut relay = Map::new();
    for config in CONFIGS.iter().filter(|c| c.nats) {
        let paced: Vec<Relay> = all
            .iter()
            .filter(|r| r.0 == config.id)
            .filter_map(|r| r.2)
            .collect();
        let saturated: Vec<Relay> = all
            .iter()
            .filter(|r| r.0 == config.id)
            .filter_map(|r| r.3)
            .collect();
        if !paced.is_empty() {
            relay.insert(
                config.id.to_string(),
                json!({
                    "label": config.label(),
                    "paced": relay_json(&paced),
                    "saturated": relay_json(&saturated),
                    "per_round": all.iter().filter(|r| r.0 == config.id).map(|r| json!({
                        "round": r.1 + 1,
                        "paced_us_per_received_event": r.2.map(|x| round(x.us_per_received_event, 2)),
                        "saturated_us_per_received_event": r.3.map(|x| round(x.us_per_received_event, 2)),
                    })).collect::<Vec<_>>(),
                }),
            );
        }
    }
    json!({"configs": configs, "relay_cost": relay})
}

/// Prints each figure as "median (min-max)" per configuration, then the relay costs.
pub fn print_table(runs: &[RunResult]) {
    let present: Vec<_> = CONFIGS
        .iter()
        .filter(|c| runs.iter().any(|r| r.config.id == c.id))
        .collect();
    println!("\nmedian (min-max) over the rounds:");
    print!("{:<36}", "figure");
    for config in &present {
        print!(" {:>24}", config.label());
    }
    println!();
    for metric in METRICS {
        let cells: Vec<Option<Spread>> = present
            .iter()
            .map(|c| {
                spread(
                    runs.iter()
                        .filter(|r| r.config.id == c.id)
                        .filter_map(|r| (metric.get)(r))
                        .collect(),
                )
            })
            .collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        print!("{:<36}", metric.title);
        for cell in cells {
            print!(" {:>24}", cell.map_or("-".to_owned(), Spread::cell));
        }
        println!();
    }
    let all = relays(runs);
    for config in CONFIGS.iter().filter(|c| c.nats) {
        let mine: Vec<_> = all.iter().filter(|r| r.0 == config.id).collect();
        let paced = spread(
            mine.iter()
                .filter_map(|r| r.2.map(|x| x.us_per_received_event))
                .collect(),
        );
        let saturated = spread(
            mine.iter()
                .filter_map(|r| r.3.map(|x| x.us_per_received_event))
                .collect(),
        );
        let copies = spread(
            mine.iter()
                .filter_map(|r| r.2.map(|x| x.copies_per_message))
                .collect(),
        );
        if let Some(paced) = paced {
            println!(
                "relay cost, {} vs config {SINGLE_PG}: node CPU µs per event received from NATS: paced {}, saturated {} ({} copies per message)",
                config.label(),
                paced.cell(),
                saturated.map_or("-".to_owned(), Spread::cell),
                copies.map_or("-".to_owned(), Spread::cell),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn median_min_max() {
        let s = spread(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = spread(vec![4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(spread(vec![f64::NAN]).is_none());
    }
}
