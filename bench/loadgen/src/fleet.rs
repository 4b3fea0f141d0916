//! A fleet of client sockets in rooms of `room_size` (each room's first member sends), and the
//! ways a scenario drives it: broadcast commands, open-loop pacing, sender reports.

use crate::conn::{self, Cmd, ConnSpec, Target};
use crate::server::room_id;
use crate::stats::Global;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

pub struct Fleet {
    tasks: Vec<JoinHandle<()>>,
    pub senders: Vec<mpsc::UnboundedSender<Cmd>>,
    pub connected: usize,
    pub seconds: f64,
}

impl Fleet {
    /// A fleet whose connections another module made (the Matrix clients).
    pub fn from_parts(
        tasks: Vec<JoinHandle<()>>,
        senders: Vec<mpsc::UnboundedSender<Cmd>>,
        connected: usize,
        seconds: f64,
    ) -> Self {
        Self {
            tasks,
            senders,
            connected,
            seconds,
        }
    }

    pub fn close(self) {
        for task in self.tasks {
            task.abort();
        }
    }

    pub fn broadcast(&self, make: impl Fn() -> Cmd) {
        for sender in &self.senders {
            let _ = sender.send(make());
        }
    }

    pub async fn reports(&self) -> (Vec<String>, usize) {
        let mut acked = Vec::new();
        let mut outstanding = 0;
        for sender in &self.senders {
            let (tx, rx) = oneshot::channel();
            if sender.send(Cmd::Report(tx)).is_ok()
                && let Ok(Ok(report)) = tokio::time::timeout(Duration::from_secs(10), rx).await
            {
                acked.extend(report.acked);
                outstanding += report.outstanding;
            }
        }
        (acked, outstanding)
    }
}

/// The node socket `i` connects to when there are several: round robin, shifted by one per
/// room so that the rooms' senders (each room's first member) are spread over the nodes too
/// rather than all on node 0 whenever the room size is a multiple of the node count.
pub fn node_of(i: usize, room_size: usize, nodes: usize) -> usize {
    (i + i / room_size) % nodes.max(1)
}

/// Connects `count` sockets, socket `i` to `targets[node_of(i, ..)]`, at most 256 handshakes
/// at a time, and waits up to `limit` for all of them to answer.
pub async fn connect_fleet(
    global: &Arc<Global>,
    targets: &[Target],
    count: usize,
    room_size: usize,
    tokens: Option<&[String]>,
    limit: Duration,
) -> Fleet {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(256));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::with_capacity(count);
    let mut senders = Vec::with_capacity(count / room_size);
    let mut room: Arc<str> = Arc::from("");
    for i in 0..count {
        let sender = i % room_size == 0;
        if sender {
            room = Arc::from(room_id(i / room_size));
        }
        let commands = sender.then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            rx
        });
        let spec = ConnSpec {
            index: i,
            room: room.clone(),
            sender,
            token: tokens.map(|t| t[i].clone()),
        };
        let target = &targets[node_of(i, room_size, targets.len())];
        tasks.push(tokio::spawn(conn::run(
            global.clone(),
            target.clone(),
            spec,
            gate.clone(),
            ready_tx.clone(),
            commands,
        )));
    }
    drop(ready_tx);
    let mut connected = 0;
    let deadline = tokio::time::Instant::now() + limit;
    let mut answered = 0;
    while answered < count {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(ok)) => {
                answered += 1;
                connected += usize::from(ok);
            }
            _ => break,
        }
    }
    Fleet {
        tasks,
        senders,
        connected,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Polls `done` every 50 ms until it holds or `limit` passes; returns whether it held.
pub async fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `rate` messages per second for `secs`, round-robin over the rooms' senders, open loop.
pub async fn paced(global: &Global, fleet: &Fleet, phase: usize, rate: f64, secs: f64) -> u64 {
    let total = (rate * secs).round() as u64;
    let t0 = Instant::now();
    let senders = fleet.senders.len().max(1);
    for k in 0..total {
        let due = t0 + Duration::from_secs_f64(k as f64 / rate);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        let t_us = due.duration_since(global.start).as_micros() as u64;
        let _ = fleet.senders[k as usize % senders].send(Cmd::Send { phase, t_us });
    }
    total
}

#[cfg(test)]
mod tests {
    use super::node_of;

    #[test]
    fn members_and_senders_spread_over_the_nodes() {
        for nodes in [2, 3] {
            let mut per_node = vec![0; nodes];
            let mut senders = vec![0; nodes];
            for i in 0..60 {
                per_node[node_of(i, 10, nodes)] += 1;
                if i % 10 == 0 {
                    senders[node_of(i, 10, nodes)] += 1;
                }
            }
            assert!(per_node.iter().all(|&n| n == 60 / nodes), "{per_node:?}");
            assert!(senders.iter().all(|&n| n == 6 / nodes), "{senders:?}");
            // Every room has members on more than one node.
            for room in 0..6 {
                let first = node_of(room * 10, 10, nodes);
                assert!((1..10).any(|j| node_of(room * 10 + j, 10, nodes) != first));
            }
        }
        assert!((0..25).all(|i| node_of(i, 10, 1) == 0));
    }
}
