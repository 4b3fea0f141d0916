//! The fault test of several nodes: three real server processes on one PostgreSQL database,
//! NATS between them and HAProxy in front, about a hundred clients sending with client ids
//! while one node is killed with SIGKILL and later NATS is stopped and started again. Clients
//! reconnect through the one address and resend what was not acknowledged, as the app does.
//! An offline check then reads the database: every acknowledged client id is stored exactly
//! once, each room's seqs have no gap, and every client's view equals the database.

use crate::harness::{NatsServer, PgDatabase, TestServer, WAIT, spawn_server};
use futures_util::{SinkExt, StreamExt};
use shared::events::Event;
use shared::rooms::Presence;
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const ROOMS: usize = 5;
const USERS_PER_ROOM: usize = 4;
const SOCKETS_PER_USER: usize = 5;
/// Pause between a client's messages: the run spans the faults at a modest rate.
const PAUSE: Duration = Duration::from_millis(40);

/// A node silent this long counts as gone (three missed reports), with a margin.
const PRESENCE_EXPIRY: Duration = Duration::from_secs(25);

/// The next presence of `who` the socket hears within `within`.
async fn presence_of(ws: &mut Socket, who: &str, within: Duration) -> Option<Presence> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let ServerMessage::Presence { user, status, .. } = read(ws, left).await?
            && user == who
        {
            return Some(status);
        }
    }
}

/// HAProxy on `port` in front of the nodes, health-checking `/healthz`; killed when dropped
/// (with the directory of its configuration).
struct LoadBalancer {
    process: Child,
    _config: tempfile::TempDir,
}

impl LoadBalancer {
    fn start(port: u16, nodes: &[u16]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let servers: String = nodes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!("    server node{i} 127.0.0.1:{p} check inter 300ms fall 2 rise 2\n")
            })
            .collect();
        let config = format!(
            "global\n    maxconn 4096\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n\
             \x20   timeout server 60s\n    timeout tunnel 1h\n    option redispatch\n\
             \x20   retries 3\n\
             frontend chat\n    bind 127.0.0.1:{port}\n    default_backend nodes\n\
             backend nodes\n    balance roundrobin\n    option httpchk GET /healthz\n{servers}"
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy runs (scripts/test.sh installs Debian's package)");
        Self {
            process: child,
            _config: dir,
        }
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn port_of(server: &TestServer) -> u16 {
    server.base.rsplit(':').next().unwrap().parse().unwrap()
}

/// What one client saw.
#[derive(Default)]
struct View {
    /// Acknowledged client ids and the seq each was stored under.
    acked: HashMap<String, Seq>,
    /// Every event of its room it received, live or fetched, by seq.
    events: BTreeMap<i64, Event>,
    /// Live events that arrived out of order or twice on one connection.
    disorder: Vec<String>,
    reconnects: usize,
    /// Events of others received live.
    live: usize,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(lb: &str, cookie: &str) -> Option<Socket> {
    let mut request = format!("{}/ws", lb.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Cookie", HeaderValue::from_str(cookie).unwrap());
    headers.insert("Origin", HeaderValue::from_str(lb).unwrap());
    let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .ok()?
        .ok()?;
    Some(ws)
}

async fn read(ws: &mut Socket, within: Duration) -> Option<ServerMessage> {
    loop {
        match timeout(within, ws.next()).await.ok()?? {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            _ => return None,
        }
    }
}

async fn send(ws: &mut Socket, message: &ClientMessage) -> bool {
    let text = serde_json::to_string(message).unwrap();
    ws.send(Message::text(text)).await.is_ok()
}

/// Fetches everything after the client's newest contiguous event, as the app does after it
/// connects; `None` if the socket broke meanwhile.
async fn catch_up(ws: &mut Socket, room: &RoomId, view: &mut View) -> Option<()> {
    loop {
        let after = contiguous(view);
        let ask = ClientMessage::CatchUp {
            room: room.clone(),
            after,
            limit: 200,
        };
        if !send(ws, &ask).await {
            return None;
        }
        loop {
            match read(ws, WAIT).await? {
                ServerMessage::CaughtUp {
                    events, up_to_date, ..
                } => {
                    for event in events {
                        view.events.insert(event.seq.0, event);
                    }
                    if up_to_date {
                        return Some(());
                    }
                    break;
                }
                ServerMessage::Event { event } if &event.room == room => {
                    view.events.insert(event.seq.0, event);
                }
                _ => {}
            }
        }
    }
}

fn contiguous(view: &View) -> Seq {
    let mut last = 0;
    while view.events.contains_key(&(last + 1)) {
        last += 1;
    }
    Seq(last)
}

/// One client: sends its messages one at a time, each until acknowledged, reconnecting
/// through the load balancer whenever its socket breaks.
/// Sends until `stop` is set, finishing the message in flight.
async fn client(
    lb: String,
    cookie: String,
    room: RoomId,
    name: String,
    stop: Arc<AtomicBool>,
) -> (View, String) {
    let mut view = View::default();
    let mut next = 0;
    let deadline = Instant::now() + Duration::from_secs(150);
    let more = |next: usize| next == 0 || !stop.load(Ordering::Relaxed);
    'connect: while more(next) {
        assert!(Instant::now() < deadline, "{name} never finished");
        let Some(mut ws) = open(&lb, &cookie).await else {
            sleep(Duration::from_millis(100)).await;
            continue;
        };
        view.reconnects += 1;
        if !matches!(
            read(&mut ws, WAIT).await,
            Some(ServerMessage::Welcome { .. })
        ) {
            continue;
        }
        if catch_up(&mut ws, &room, &mut view).await.is_none() {
            continue;
        }
        let mut last_live = 0;
        while more(next) {
            let client_id = format!("{name}-m{next}");
            let message = ClientMessage::Send {
                attachment: None,
                room: room.clone(),
                client_id: ClientMsgId(client_id.clone()),
                body: format!("{name} says {next}"),
                reply_to: None,
            };
            if !send(&mut ws, &message).await {
                continue 'connect;
            }
            loop {
                match read(&mut ws, WAIT).await {
                    None => continue 'connect,
                    Some(ServerMessage::Ack {
                        client_id: id,
                        event,
                    }) if id.0 == client_id => {
                        view.acked.insert(client_id, event.seq);
                        view.events.insert(event.seq.0, event);
                        next += 1;
                        sleep(PAUSE).await;
                        break;
                    }
                    Some(ServerMessage::Error {
                        client_id: Some(id),
                        code,
                        ..
                    }) if id.0 == client_id => {
                        // Busy (a node just died): try again, as the app's outbox does.
                        let _ = code;
                        sleep(Duration::from_millis(50)).await;
                        break;
                    }
                    Some(ServerMessage::Event { event }) if event.room == room => {
                        if event.seq.0 <= last_live {
                            view.disorder
                                .push(format!("{name}: live {} after {last_live}", event.seq.0));
                        }
                        last_live = event.seq.0;
                        view.live += 1;
                        view.events.insert(event.seq.0, event);
                    }
                    Some(_) => {}
                }
            }
        }
    }
    (view, cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_lose_and_double_nothing_when_one_is_killed_and_nats_restarts() {
    let db = PgDatabase::create().await;
    let mut nats = NatsServer::start().await;
    let lb_port = free_port();
    let lb_url = format!("http://127.0.0.1:{lb_port}");
    let env = [
        ("CHAT_DATABASE_URL", db.url.as_str()),
        ("CHAT_NATS_URL", &nats.url()),
        ("CHAT_ALLOWED_ORIGINS", &lb_url),
        ("CHAT_AUTH_ATTEMPTS_PER_MINUTE", "100000"),
        ("CHAT_PRESENCE_GRACE_MS", "300"),
    ];
    let mut nodes: Vec<(Child, TestServer)> = (0..3)
        .map(|_| spawn_server(tempfile::tempdir().unwrap(), &env))
        .collect();
    let ports: Vec<u16> = nodes.iter().map(|(_, s)| port_of(s)).collect();
    let _lb = LoadBalancer::start(lb_port, &ports);
    let lb = TestServer {
        server: None,
        dir: tempfile::tempdir().unwrap(),
        base: lb_url.clone(),
        http: reqwest::Client::new(),
    };
    let deadline = Instant::now() + WAIT;
    while reqwest::get(format!("{lb_url}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the load balancer is up");
        sleep(Duration::from_millis(50)).await;
    }

    // Rooms of four people, each with five tabs open.
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        let mut cookies = Vec::new();
        for u in 0..USERS_PER_ROOM {
            cookies.push((
                format!("r{r}u{u}"),
                lb.create_user(&format!("r{r}u{u}")).await,
            ));
        }
        let mut owner = lb.connect(&cookies[0].1).await;
        let room = owner.create_room(&format!("room {r}")).await;
        for (name, _) in &cookies[1..] {
            owner.add(&room, name).await.expect("added");
        }
        rooms.push(room.clone());
        for (name, cookie) in cookies {
            for tab in 0..SOCKETS_PER_USER {
                let task = client(
                    lb_url.clone(),
                    cookie.clone(),
                    room.clone(),
                    format!("{name}t{tab}"),
                    stop.clone(),
                );
                clients.push((room.clone(), tokio::spawn(task)));
            }
        }
    }

    // Someone whose only socket is on the node about to die, watched from another node.
    let (watcher, victim) = (
        lb.create_user("watcher").await,
        lb.create_user("victim").await,
    );
    let mut watcher = nodes[0]
        .1
        .try_connect(Some(&watcher), Some(&lb_url))
        .await
        .unwrap();
    let _victim = nodes[1]
        .1
        .try_connect(Some(&victim), Some(&lb_url))
        .await
        .unwrap();
    let online = presence_of(&mut watcher.ws, "victim", WAIT).await;
    assert_eq!(online, Some(Presence::Online));

    sleep(Duration::from_millis(1_500)).await;
    let (mut killed, _) = nodes.remove(1);
    killed.kill().unwrap(); // SIGKILL: no goodbye, no flush
    killed.wait().unwrap();
    sleep(Duration::from_millis(1_500)).await;
    nats.stop();
    sleep(Duration::from_millis(1_500)).await;
    nats.restart().await;
    sleep(Duration::from_millis(2_000)).await;
    stop.store(true, Ordering::Relaxed);

    // The dead node reports no more: its users go offline for the others.
    let gone = presence_of(&mut watcher.ws, "victim", PRESENCE_EXPIRY).await;
    assert_eq!(
        gone,
        Some(Presence::Offline),
        "the dead node's users go offline"
    );

    let mut views = Vec::new();
    for (room, task) in clients {
        let (view, cookie) = task.await.expect("client task");
        views.push((room, view, cookie));
    }
    let reconnects: usize = views.iter().map(|(_, v, _)| v.reconnects).sum();
    let acked: usize = views.iter().map(|(_, v, _)| v.acked.len()).sum();
    let live: usize = views.iter().map(|(_, v, _)| v.live).sum();
    eprintln!(
        "{} clients: {acked} messages acknowledged, {live} received live, {} connections",
        views.len(),
        reconnects
    );
    assert!(reconnects > views.len(), "the kill made clients reconnect");

    // The offline check, against the database itself.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    for room in &rooms {
        let rows: Vec<(i64, Option<String>, String)> = sqlx::query_as(
            "SELECT seq, client_id, kind FROM events WHERE room_id = $1 ORDER BY seq",
        )
        .bind(&room.0)
        .fetch_all(&pool)
        .await
        .unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            seqs,
            (1..=rows.len() as i64).collect::<Vec<_>>(),
            "no gap in {}",
            room.0
        );
        let mut stored: HashMap<&str, Vec<i64>> = HashMap::new();
        for (seq, client_id, _) in &rows {
            if let Some(id) = client_id {
                stored.entry(id).or_default().push(*seq);
            }
        }
        for (_, view, _) in views.iter().filter(|(r, _, _)| r == room) {
            assert!(view.disorder.is_empty(), "{:?}", view.disorder);
            for (client_id, seq) in &view.acked {
                assert_eq!(
                    stored.get(client_id.as_str()),
                    Some(&vec![seq.0]),
                    "{client_id} stored once"
                );
            }
        }
        let messages = rows.iter().filter(|r| r.2 == "message").count();
        let acked: usize = views
            .iter()
            .filter(|(r, _, _)| r == room)
            .map(|(_, v, _)| v.acked.len())
            .sum();
        assert_eq!(
            messages, acked,
            "every stored message was acknowledged once"
        );
    }
    // Every client's view, brought up to date as the app would on its next start, equals
    // the database.
    for (room, view, cookie) in &mut views {
        let mut ws = open(&lb_url, cookie).await.expect("reconnects");
        assert!(matches!(
            read(&mut ws, WAIT).await,
            Some(ServerMessage::Welcome { .. })
        ));
        catch_up(&mut ws, room, view).await.expect("catches up");
        let rows: Vec<(i64, Option<String>)> =
            sqlx::query_as("SELECT seq, client_id FROM events WHERE room_id = $1 ORDER BY seq")
                .bind(&room.0)
                .fetch_all(&pool)
                .await
                .unwrap();
        let seen: Vec<(i64, Option<String>)> = view
            .events
            .values()
            .map(|e| (e.seq.0, e.client_id.as_ref().map(|c| c.0.clone())))
            .collect();
        assert_eq!(seen, rows, "a client's view of {}", room.0);
    }
    for (mut child, _) in nodes {
        let _ = child.kill();
    }
}
