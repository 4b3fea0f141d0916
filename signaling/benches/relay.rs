//! Relay benchmark: runs the release `signaling` binary as its own process on loopback with a
//! fresh SQLite file, drives it over real WebSockets, and prints figures:
//!
//! 1. durable send → ack latency, one message at a time (each ack waits for an fsync);
//! 2. fan-out: one sender, many receivers, pipelined sends; deliveries per second and the time
//!    until the last receiver has a message;
//! 3. server memory per idle authenticated socket.
//!
//! `cargo bench -p signaling --bench relay` (sizes via BENCH_RECEIVERS, BENCH_MESSAGES, BENCH_IDLE).

#![allow(
    clippy::print_stdout,
    reason = "a benchmark's job is to print its figures"
)]

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn spawn(dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signaling"))
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .arg("--static-dir")
            .arg(dir.join("no-frontend"))
            .args(["--socket-frames-per-second", "1000000"])
            .args(["--auth-attempts-per-minute", "100000"])
            .args(["--user-events-per-second", "1000000"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the signaling binary starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("server output").unwrap();
            if let Some(url) = line.strip_prefix("Chat is running at ") {
                break url.to_owned();
            }
        };
        // Keep draining so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn create_user(http: &reqwest::Client, url: &str, name: &str) -> String {
    let response = http
        .post(format!("{url}/api/signup"))
        .json(&json!({"username": name, "password": "benchmark password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn connect(url: &str, cookie: &str) -> Socket {
    let mut request = format!("{}/ws", url.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Cookie", HeaderValue::from_str(cookie).unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let welcome = next_event(&mut ws).await;
    assert!(matches!(welcome, ServerMessage::Welcome { .. }));
    ws
}

async fn next_event(ws: &mut Socket) -> ServerMessage {
    loop {
        match ws.next().await.expect("open").expect("readable") {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            _ => continue,
        }
    }
}

fn send_frame(i: usize, body: &str) -> Message {
    let frame = ClientMessage::Send {
        attachment: None,
        room: RoomId::lobby(),
        client_id: ClientMsgId(format!("m{i}")),
        body: body.to_owned(),
        reply_to: None,
    };
    Message::text(serde_json::to_string(&frame).unwrap())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<34} p50 {:>8.2?}  p90 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}  (n={})",
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
        samples.len()
    );
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let receivers = env_or("BENCH_RECEIVERS", 100);
    let messages = env_or("BENCH_MESSAGES", 1000);
    let idle = env_or("BENCH_IDLE", 2000);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(dir.path());
    let http = reqwest::Client::new();
    let sender_cookie = create_user(&http, &server.url, "sender").await;
    let reader_cookie = create_user(&http, &server.url, "reader").await;
    println!(
        "relay benchmark: signaling (release) on {}, SQLite WAL synchronous=FULL",
        server.url
    );

    // 1. One message at a time: every ack waits for a committed, fsynced insert.
    let mut ws = connect(&server.url, &sender_cookie).await;
    let mut samples = Vec::with_capacity(messages);
    let started = Instant::now();
    for i in 0..messages {
        let sent = Instant::now();
        ws.send(send_frame(i, "sequential message")).await.unwrap();
        loop {
            if let ServerMessage::Ack { .. } = next_event(&mut ws).await {
                break;
            }
        }
        samples.push(sent.elapsed());
    }
    let rate = messages as f64 / started.elapsed().as_secs_f64();
    report("send -> durable ack, sequential", samples);
    println!("{:<34} {rate:.0} messages/s", "  sequential throughput");
    drop(ws);

    // 2. Fan-out to many receivers with up to 64 sends in flight.
    let mut readers = Vec::new();
    for _ in 0..receivers {
        readers.push(connect(&server.url, &reader_cookie).await);
    }
    let sender = connect(&server.url, &sender_cookie).await;
    let (mut sink, mut acks) = sender.split();
    let window = Arc::new(Semaphore::new(64));
    let mut send_times = vec![None::<Instant>; messages];
    let reader_tasks: Vec<_> = readers
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut received = Vec::with_capacity(messages);
                while received.len() < messages {
                    if let ServerMessage::Event { event } = next_event(&mut ws).await
                        && let Some(client_id) = event.client_id
                    {
                        let index: usize = client_id.0[1..].parse().unwrap();
                        received.push((index, Instant::now()));
                    }
                }
                received
            })
        })
        .collect();
    let ack_task = {
        let window = window.clone();
        tokio::spawn(async move {
            let mut acked = 0;
            while acked < messages {
                if let Some(Ok(Message::Text(text))) = acks.next().await
                    && let Ok(ServerMessage::Ack { .. }) = serde_json::from_str(text.as_str())
                {
                    acked += 1;
                    window.add_permits(1);
                }
            }
        })
    };
    let started = Instant::now();
    let offset = messages; // client ids must not collide with scenario 1
    for (i, sent_at) in send_times.iter_mut().enumerate() {
        window.acquire().await.unwrap().forget();
        *sent_at = Some(Instant::now());
        sink.send(send_frame(offset + i, "fan-out message"))
            .await
            .unwrap();
    }
    ack_task.await.unwrap();
    let mut last_receipt = vec![None::<Instant>; messages];
    for task in reader_tasks {
        for (index, at) in task.await.unwrap() {
            let slot = &mut last_receipt[index - offset];
            *slot = Some(slot.map_or(at, |t: Instant| t.max(at)));
        }
    }
    let elapsed = started.elapsed();
    let samples: Vec<Duration> = (0..messages)
        .map(|i| last_receipt[i].unwrap() - send_times[i].unwrap())
        .collect();
    report(&format!("send -> last of {receivers} receivers"), samples);
    println!(
        "{:<34} {:.0} messages/s stored, {:.0} deliveries/s",
        "  fan-out throughput",
        messages as f64 / elapsed.as_secs_f64(),
        (messages * receivers) as f64 / elapsed.as_secs_f64()
    );

    // 3. Memory per idle, authenticated socket.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_kib();
    let mut idle_sockets = Vec::with_capacity(idle);
    for _ in 0..idle {
        idle_sockets.push(connect(&server.url, &reader_cookie).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = server.rss_kib();
    println!(
        "{:<34} {:.1} KiB per socket ({idle} sockets: RSS {before} KiB -> {after} KiB)",
        "server memory, idle sockets",
        (after.saturating_sub(before)) as f64 / idle as f64
    );
}
