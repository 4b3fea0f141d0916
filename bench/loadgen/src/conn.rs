//! One client socket: the handshake (chat `/ws` with a session cookie, or Engine.IO v4 /
//! Socket.IO v5 over a raw WebSocket), then a reader task that parses as little as it can (the
//! message id is found by substring) and, for the one sender of each room, the sending logic.
//!
//! Each room's sender gets an ack (chat `ack`, Socket.IO `43<id>`) and no copy of its own message.
//! A message id is `m-<phase letter><connection index>-<n>-<µs since the run started>`; it is
//! the chat `client_id` and body, and the Socket.IO text.

use crate::stats::{FINAL, Global, KILL, PHASE_LETTERS};
use futures_util::{SinkExt, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
const RETRY_AFTER: Duration = Duration::from_millis(50);
const MAX_ATTEMPTS: u32 = 50;
/// The chat server closes a socket that sent nothing for 150 s; idle receivers send a WebSocket
/// ping this often (spread over the interval by connection index).
const KEEPALIVE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Chat,
    SocketIo,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Chat => "chat",
            Kind::SocketIo => "socket.io",
        }
    }
}

#[derive(Clone)]
pub struct Target {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// How many 127.0.0.x source addresses to spread sockets over (x = 2, 3, ...).
    pub sources: usize,
    /// Message bodies of 100-300 bytes ([`padded_body`]) instead of the message id alone, so
    /// the database and NATS carry a realistic payload (Socket.IO: relayed as a second
    /// argument beside the id).
    pub padded: bool,
}

pub struct ConnSpec {
    pub index: usize,
    pub room: Arc<str>,
    pub sender: bool,
    /// Chat only: the session token for the `chat_session` cookie.
    pub token: Option<String>,
}

pub enum Cmd {
    /// Send one new message now; `t_us` is when it was due (the latency start).
    Send {
        phase: usize,
        t_us: u64,
    },
    /// Keep `n` messages in flight until [`Global::stop`].
    Window {
        phase: usize,
        n: usize,
    },
    Report(oneshot::Sender<SenderReport>),
}

pub struct SenderReport {
    pub acked: Vec<String>,
    pub outstanding: usize,
}

type Ws = WebSocketStream<TcpStream>;

/// Connects, reports to `ready`, then reads until the socket ends or the task is aborted.
pub async fn run(
    global: Arc<Global>,
    target: Target,
    spec: ConnSpec,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<bool>,
    commands: Option<mpsc::UnboundedReceiver<Cmd>>,
) {
    let permit = gate.acquire_owned().await;
    let ws = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&global, &target, &spec)).await;
    drop(permit);
    let ws = match ws {
        Ok(Ok(ws)) => {
            global.connected.fetch_add(1, Relaxed);
            let _ = ready.send(true);
            ws
        }
        Ok(Err(e)) => {
            global.failed.fetch_add(1, Relaxed);
            global.count_error(&format!("connect: {}", short(&e.to_string())));
            let _ = ready.send(false);
            return;
        }
        Err(_) => {
            global.failed.fetch_add(1, Relaxed);
            global.count_error("connect: timeout");
            let _ = ready.send(false);
            return;
        }
    };
    drop(ready);
    read_loop(global, target.kind, target.padded, spec, ws, commands).await;
}

fn short(text: &str) -> String {
    text.chars().take(60).collect()
}

async fn handshake(global: &Global, target: &Target, spec: &ConnSpec) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    let source = Ipv4Addr::new(127, 0, 0, 2 + (spec.index % target.sources) as u8);
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let url = match target.kind {
        Kind::Chat => format!("ws://{}/ws", target.addr),
        Kind::SocketIo => format!("ws://{}/socket.io/?EIO=4&transport=websocket", target.addr),
    };
    let mut request = url.into_client_request()?;
    let origin = format!("http://{}", target.addr);
    request
        .headers_mut()
        .insert("Origin", HeaderValue::from_str(&origin)?);
    if let Some(token) = &spec.token {
        request.headers_mut().insert(
            "Cookie",
            HeaderValue::from_str(&format!("{}={token}", shared::api::SESSION_COOKIE))?,
        );
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(16 << 20));
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    match target.kind {
        Kind::Chat => loop {
            let text = next_text(&mut ws).await?;
            if text.starts_with("{\"type\":\"welcome\"") {
                break;
            }
            count_other(global, &text);
        },
        Kind::SocketIo => {
            let open = next_text(&mut ws).await?;
            anyhow::ensure!(
                open.starts_with("0{"),
                "expected an Engine.IO open, got {open}"
            );
            ws.send(Message::text("40")).await?;
            until_socketio(&mut ws, "40").await?;
            ws.send(Message::text(format!("420[\"join\",\"{}\"]", spec.room)))
                .await?;
            until_socketio(&mut ws, "430").await?;
        }
    }
    Ok(ws)
}

/// Waits for a Socket.IO packet starting with `prefix`, answering the server's pings meanwhile.
async fn until_socketio(ws: &mut Ws, prefix: &str) -> anyhow::Result<()> {
    loop {
        let text = next_text(ws).await?;
        if text.starts_with(prefix) {
            return Ok(());
        }
        if text == "2" {
            ws.send(Message::text("3")).await?;
        }
    }
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => anyhow::bail!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("closed"),
        }
    }
}

fn count_other(global: &Global, text: &str) {
    if text.starts_with("{\"type\":\"presence\"") {
        global.presence_frames.fetch_add(1, Relaxed);
    } else {
        global.other_frames.fetch_add(1, Relaxed);
    }
}

/// Text the padded bodies are cut from: plain ASCII, nothing JSON must escape, no `"m-` (the
/// readers find the message id by that substring; it stays in `client_id`).
const FILLER: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud \
exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in \
reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur sint occaecat.";

/// A message body of 100 to 300 bytes, its length spread evenly by `seed`.
pub fn padded_body(seed: u64) -> &'static str {
    // A multiplicative hash, so consecutive messages of one sender differ in length.
    let spread = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    &FILLER[..100 + (spread % 201) as usize]
}

struct Pending {
    id: String,
    phase: usize,
    attempts: u32,
}

/// The sending half of a room's first member.
struct Sender {
    next_n: u64,
    window_phase: Option<usize>,
    outstanding: HashMap<u64, Pending>,
    retry: VecDeque<(Instant, u64)>,
    acked: Vec<String>,
}

/// A parsed message id.
pub struct Id {
    phase: usize,
    conn: usize,
    n: u64,
    t_us: u64,
}

fn find_id(text: &str) -> Option<Id> {
    let start = memchr::memmem::find(text.as_bytes(), b"\"m-")? + 1;
    let rest = &text[start..];
    let end = rest.find('"')?;
    parse_id(&rest[..end])
}

/// `m-<phase letter><connection index>-<n>-<µs due>` parsed.
pub fn parse_id(id: &str) -> Option<Id> {
    let phase = PHASE_LETTERS
        .iter()
        .position(|&l| id.as_bytes().get(2) == Some(&l))?;
    let mut parts = id[3..].split('-');
    Some(Id {
        phase,
        conn: parts.next()?.parse().ok()?,
        n: parts.next()?.parse().ok()?,
        t_us: parts.next()?.parse().ok()?,
    })
}

/// Counts a message reaching a member other than its sender, and its latency.
pub fn record_delivery(global: &Global, id: &Id) {
    global.deliveries[id.phase].fetch_add(1, Relaxed);
    global.latency[id.phase].record(global.now_us().saturating_sub(id.t_us));
    if id.phase == FINAL {
        global.final_ok.fetch_add(1, Relaxed);
    }
}

struct Conn {
    global: Arc<Global>,
    kind: Kind,
    padded: bool,
    index: usize,
    room: Arc<str>,
    out: mpsc::UnboundedSender<Message>,
    sender: Option<Sender>,
}

impl Conn {
    fn frame(&self, id: &str, n: u64) -> Message {
        match self.kind {
            Kind::Chat => {
                let body = if self.padded {
                    padded_body(self.index as u64 ^ (n << 20))
                } else {
                    id
                };
                Message::text(format!(
                    "{{\"type\":\"send\",\"room\":\"{}\",\"client_id\":\"{id}\",\"body\":\"{body}\"}}",
                    self.room
                ))
            }
            // The padding as an argument of its own, which the reference relays with the id.
            Kind::SocketIo if self.padded => Message::text(format!(
                "42{n}[\"chat\",\"{}\",\"{id}\",\"{}\"]",
                self.room,
                padded_body(self.index as u64 ^ (n << 20))
            )),
            Kind::SocketIo => Message::text(format!("42{n}[\"chat\",\"{}\",\"{id}\"]", self.room)),
        }
    }

    fn send_new(&mut self, phase: usize, t_us: u64) {
        let Some(sender) = self.sender.as_mut() else {
            return;
        };
        sender.next_n += 1;
        let n = sender.next_n;
        let id = format!(
            "m-{}{}-{n}-{t_us}",
            PHASE_LETTERS[phase] as char, self.index
        );
        let frame = self.frame(&id, n);
        if let Some(sender) = self.sender.as_mut() {
            sender.outstanding.insert(
                n,
                Pending {
                    id,
                    phase,
                    attempts: 1,
                },
            );
        }
        self.global.sent[phase].fetch_add(1, Relaxed);
        let _ = self.out.send(frame);
    }

    fn on_ack(&mut self, n: u64) {
        let global = self.global.clone();
        let Some(sender) = self.sender.as_mut() else {
            return;
        };
        let Some(pending) = sender.outstanding.remove(&n) else {
            return;
        };
        global.acks[pending.phase].fetch_add(1, Relaxed);
        if pending.phase == FINAL {
            global.final_ok.fetch_add(1, Relaxed);
        }
        // Scenarios check acked messages against the database afterwards (all but the one
        // final message per room).
        if pending.phase == KILL {
            global
                .kill_acked
                .lock()
                .expect("not poisoned")
                .push(pending.id);
        } else if pending.phase != FINAL {
            sender.acked.push(pending.id);
        }
        if sender.window_phase == Some(pending.phase) && !global.stop.load(Relaxed) {
            self.send_new(pending.phase, global.now_us());
        }
    }

    fn on_text(&mut self, text: &str) {
        let global = &self.global;
        match self.kind {
            Kind::Chat => {
                let Some(kind) = text.strip_prefix("{\"type\":\"") else {
                    global.other_frames.fetch_add(1, Relaxed);
                    return;
                };
                if kind.starts_with("event\"") {
                    if let Some(id) = find_id(text) {
                        self.delivered(&id);
                    } else {
                        global.other_frames.fetch_add(1, Relaxed);
                    }
                } else if kind.starts_with("ack\"") {
                    if let Some(id) = find_id(text) {
                        self.on_ack(id.n);
                    }
                } else if kind.starts_with("error\"") {
                    self.on_error(text);
                } else {
                    count_other(global, text);
                }
            }
            Kind::SocketIo => {
                if text == "2" {
                    let _ = self.out.send(Message::text("3"));
                } else if text.starts_with("42[") {
                    if let Some(id) = find_id(text) {
                        // `io.to(room)` would echo to the sender too: not a delivery (the
                        // reference uses `socket.to(room)`, so none come).
                        if id.conn != self.index {
                            self.delivered(&id);
                        }
                    }
                } else if let Some(rest) = text.strip_prefix("43") {
                    let digits = rest.find('[').map_or(rest, |i| &rest[..i]);
                    if let Ok(n) = digits.parse() {
                        self.on_ack(n);
                    }
                } else {
                    global.other_frames.fetch_add(1, Relaxed);
                }
            }
        }
    }

    fn delivered(&self, id: &Id) {
        record_delivery(&self.global, id);
    }

    fn on_error(&mut self, text: &str) {
        let global = self.global.clone();
        let code = text
            .find("\"code\":\"")
            .map(|i| &text[i + 8..])
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("?");
        global.count_error(code);
        let retryable = code == "rate_limited" || code == "internal";
        let Some(id) = find_id(text) else {
            return;
        };
        let Some(sender) = self.sender.as_mut() else {
            return;
        };
        let Some(pending) = sender.outstanding.get_mut(&id.n) else {
            return;
        };
        if retryable && pending.attempts < MAX_ATTEMPTS {
            pending.attempts += 1;
            global.retries.fetch_add(1, Relaxed);
            sender.retry.push_back((Instant::now() + RETRY_AFTER, id.n));
        } else {
            sender.outstanding.remove(&id.n);
            global.gave_up.fetch_add(1, Relaxed);
        }
    }

    fn resend_due(&mut self) {
        let now = Instant::now();
        let mut frames = Vec::new();
        if let Some(sender) = self.sender.as_mut() {
            while let Some(&(due, n)) = sender.retry.front() {
                if due > now {
                    break;
                }
                sender.retry.pop_front();
                if let Some(pending) = sender.outstanding.get(&n) {
                    frames.push((pending.id.clone(), n));
                }
            }
        }
        for (id, n) in frames {
            let frame = self.frame(&id, n);
            let _ = self.out.send(frame);
        }
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Send { phase, t_us } => self.send_new(phase, t_us),
            Cmd::Window { phase, n } => {
                if let Some(sender) = self.sender.as_mut() {
                    sender.window_phase = Some(phase);
                }
                for _ in 0..n {
                    self.send_new(phase, self.global.now_us());
                }
            }
            Cmd::Report(reply) => {
                let report = match self.sender.as_mut() {
                    Some(sender) => {
                        sender.window_phase = None;
                        SenderReport {
                            acked: std::mem::take(&mut sender.acked),
                            outstanding: sender.outstanding.len(),
                        }
                    }
                    None => SenderReport {
                        acked: Vec::new(),
                        outstanding: 0,
                    },
                };
                let _ = reply.send(report);
            }
        }
    }
}

async fn read_loop(
    global: Arc<Global>,
    kind: Kind,
    padded: bool,
    spec: ConnSpec,
    ws: Ws,
    mut commands: Option<mpsc::UnboundedReceiver<Cmd>>,
) {
    let (mut sink, mut stream) = ws.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
    // Writes never block reading: a sender whose frames wait in TCP buffers keeps reading acks.
    tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            if sink.feed(message).await.is_err() {
                return;
            }
            while let Ok(message) = outgoing.try_recv() {
                if sink.feed(message).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut conn = Conn {
        global: global.clone(),
        kind,
        padded,
        index: spec.index,
        room: spec.room,
        out,
        sender: spec.sender.then(|| Sender {
            next_n: 0,
            window_phase: None,
            outstanding: HashMap::new(),
            retry: VecDeque::new(),
            acked: Vec::new(),
        }),
    };
    let offset = Duration::from_millis((spec.index as u64 * 7919) % KEEPALIVE.as_millis() as u64);
    let mut keepalive = tokio::time::interval_at(Instant::now() + offset, KEEPALIVE);
    loop {
        let next_retry = conn
            .sender
            .as_ref()
            .and_then(|s| s.retry.front().map(|&(due, _)| due));
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => conn.on_text(text.as_str()),
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map_or_else(
                        || "close without code".to_owned(),
                        |f| format!("close {} {}", u16::from(f.code), f.reason),
                    );
                    global.count_close(reason);
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    global.count_close(format!("error: {}", short(&e.to_string())));
                    break;
                }
                None => {
                    global.count_close("ended".to_owned());
                    break;
                }
            },
            cmd = recv(&mut commands) => match cmd {
                Some(cmd) => conn.command(cmd),
                None => commands = None,
            },
            () = sleep_until(next_retry), if next_retry.is_some() => conn.resend_due(),
            _ = keepalive.tick(), if kind == Kind::Chat => {
                let _ = conn.out.send(Message::Ping(Default::default()));
            }
        }
    }
    // Keep answering reports so the driver never waits on a dead sender.
    if let Some(mut commands) = commands {
        while let Some(cmd) = commands.recv().await {
            if let Cmd::Report(reply) = cmd {
                let (acked, outstanding) = conn.sender.as_mut().map_or((Vec::new(), 0), |s| {
                    (std::mem::take(&mut s.acked), s.outstanding.len())
                });
                let _ = reply.send(SenderReport { acked, outstanding });
            }
        }
    }
}

async fn recv(commands: &mut Option<mpsc::UnboundedReceiver<Cmd>>) -> Option<Cmd> {
    match commands {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
