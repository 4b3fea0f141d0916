//! Intent-named helpers: start a server, create a user, open a socket, wait for an event.

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use shared::events::{Event, EventKind};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use signaling::config::Config;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub server: Option<signaling::Server>,
    pub dir: tempfile::TempDir,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir).await
    }

    /// A server whose limits are changed by `configure` (defaults: the shipped socket limit,
    /// generous per-user and auth limits, a short presence grace).
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::boot(dir, configure).await
    }

    /// A server that lets one socket send thousands of frames a second.
    pub async fn start_unthrottled() -> Self {
        Self::start_with(|c| c.socket_frames_per_second = 100_000).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> Self {
        Self::boot(dir, |_| {}).await
    }

    /// A server on `store` (a wrapped real store, see `crate::faults`) in `dir`.
    pub async fn start_on_store(
        dir: tempfile::TempDir,
        store: std::sync::Arc<dyn signaling::store::Storage>,
    ) -> Self {
        Self::start_on_store_with(dir, store, |_| {}).await
    }

    /// [`TestServer::start_on_store`] with settings changed by `configure`.
    pub async fn start_on_store_with(
        dir: tempfile::TempDir,
        store: std::sync::Arc<dyn signaling::store::Storage>,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let config = Self::test_config(&dir, configure);
        let server = signaling::start_with_store(config, store).await.unwrap();
        let base = server.url();
        Self {
            server: Some(server),
            dir,
            base,
            http: reqwest::Client::new(),
        }
    }

    fn test_config(dir: &tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Config {
        let mut config = Config::for_data_dir(dir.path().to_path_buf());
        config.static_dir = dir.path().join("no-frontend");
        config.auth_attempts_per_minute = 1000;
        config.user_events_per_second = 100_000;
        config.presence_grace_ms = 300;
        // Unused blobs go at once, so tests see the store as the collector leaves it.
        config.media_grace_secs = 0;
        configure(&mut config);
        config
    }

    async fn boot(dir: tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Self {
        let config = Self::test_config(&dir, configure);
        let server = signaling::start(config).await.unwrap();
        let base = server.url();
        Self {
            server: Some(server),
            dir,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server cleanly and starts a new one on the same data directory.
    pub async fn restart(self) -> Self {
        self.restart_with(|_| {}).await
    }

    /// [`Self::restart`] with settings changed by `configure`.
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut Config)) -> Self {
        let server = self.server.take().unwrap();
        server.shutdown();
        server.wait().await.unwrap();
        Self::boot(self.dir, configure).await
    }

    pub fn origin(&self) -> String {
        self.base.clone()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Origin", self.origin())
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The JSON answer of `GET path`, with the session `cookie` when given.
    pub async fn get_json(&self, path: &str, cookie: Option<&str>) -> serde_json::Value {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// Signs `name` up and returns the session cookie (`chat_session=...`).
    pub async fn create_user(&self, name: &str) -> String {
        let response = self
            .post(
                "/api/signup",
                json!({"username": name, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(response.status(), 201, "sign-up of {name}");
        session_cookie(&response).expect("sign-up sets the session cookie")
    }

    pub async fn connect(&self, cookie: &str) -> Client {
        self.try_connect(Some(cookie), Some(&self.origin()))
            .await
            .expect("socket opens")
    }

    /// Opens a socket and returns it with its welcome, for a client that needs the welcome
    /// itself (a client core).
    pub async fn connect_welcomed(&self, cookie: &str) -> (Client, ServerMessage) {
        let url = format!("{}/ws", self.base.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("Cookie", HeaderValue::from_str(cookie).unwrap());
        headers.insert("Origin", HeaderValue::from_str(&self.origin()).unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = Client { ws };
        let welcome = client.next_event().await;
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        (client, welcome)
    }

    /// Opens a socket and returns the room list of its welcome.
    pub async fn connect_and_welcome(&self, cookie: &str) -> Vec<shared::rooms::RoomSummary> {
        match self.connect_welcomed(cookie).await.1 {
            ServerMessage::Welcome { rooms, .. } => rooms,
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    pub async fn try_connect(
        &self,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Client, tungstenite::Error> {
        let url = format!("{}/ws", self.base.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert("Cookie", HeaderValue::from_str(cookie).unwrap());
        }
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", HeaderValue::from_str(origin).unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        let mut client = Client { ws };
        let welcome = client.next_event().await;
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        Ok(client)
    }
}

/// The real binary on a free port with `dir` as its data directory and `env` added to its
/// environment; its stderr is drained so it never blocks on logging. The caller kills it.
pub fn spawn_server(dir: tempfile::TempDir, env: &[(&str, &str)]) -> (Child, TestServer) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_signaling"))
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--static-dir")
        .arg(dir.path().join("no-frontend"))
        .env("CHAT_SOCKET_FRAMES_PER_SECOND", "100000")
        .env("CHAT_USER_EVENTS_PER_SECOND", "100000")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("server announces its URL").unwrap();
        if let Some(url) = line.strip_prefix("Chat is running at ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let server = TestServer {
        server: None,
        dir,
        base,
        http: reqwest::Client::new(),
    };
    (child, server)
}

/// The `name=value` part of the session `Set-Cookie` header (`chat_session`, or
/// `__Host-chat_session` from a server with `--secure-cookies`).
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("chat_session=") || v.starts_with("__Host-chat_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).unwrap();
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// Writes all of `messages` and flushes once, so the server reads them as one burst.
    pub async fn send_burst(&mut self, messages: &[ClientMessage]) {
        for message in messages {
            let text = serde_json::to_string(message).unwrap();
            self.ws.feed(Message::text(text)).await.unwrap();
        }
        self.ws.flush().await.unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    /// Posts to the lobby without waiting.
    pub async fn say(&mut self, client_id: &str, body: &str) {
        self.say_in(&RoomId::lobby(), client_id, body).await;
    }

    pub async fn say_in(&mut self, room: &RoomId, client_id: &str, body: &str) {
        self.send(&ClientMessage::Send {
            attachment: None,
            room: room.clone(),
            client_id: ClientMsgId(client_id.into()),
            body: body.into(),
            reply_to: None,
        })
        .await;
    }

    /// Sends a request that carries `client_id` and waits for its ack (the event) or error.
    pub async fn request(
        &mut self,
        client_id: &str,
        message: ClientMessage,
    ) -> Result<Event, ErrorCode> {
        self.send(&message).await;
        let key = ClientMsgId(client_id.into());
        self.wait_for(|e| match e {
            ServerMessage::Ack { client_id, event } if client_id == key => Some(Ok(event)),
            ServerMessage::Error {
                code,
                client_id: Some(id),
                ..
            } if id == key => Some(Err(code)),
            _ => None,
        })
        .await
    }

    /// Posts to `room` and waits for the ack.
    pub async fn post(&mut self, room: &RoomId, client_id: &str, body: &str) -> Event {
        let answer = self.post_result(room, client_id, body).await;
        answer.unwrap_or_else(|code| panic!("message {client_id} refused: {code:?}"))
    }

    /// Posts to `room`: the ack's event, or the error's code.
    pub async fn post_result(
        &mut self,
        room: &RoomId,
        client_id: &str,
        body: &str,
    ) -> Result<Event, ErrorCode> {
        let message = ClientMessage::Send {
            attachment: None,
            room: room.clone(),
            client_id: ClientMsgId(client_id.into()),
            body: body.into(),
            reply_to: None,
        };
        self.request(client_id, message).await
    }

    /// Creates a group room and returns its id.
    pub async fn create_room(&mut self, name: &str) -> RoomId {
        let client_id = format!("create-{name}").replace(' ', "-");
        let message = ClientMessage::CreateRoom {
            client_id: ClientMsgId(client_id.clone()),
            name: name.into(),
            topic: String::new(),
        };
        self.request(&client_id, message)
            .await
            .expect("room created")
            .room
    }

    /// Adds `user` to `room`.
    pub async fn add(&mut self, room: &RoomId, user: &str) -> Result<Event, ErrorCode> {
        let client_id = format!("add-{user}-{}", room.0);
        let message = ClientMessage::AddMember {
            room: room.clone(),
            client_id: ClientMsgId(client_id.clone()),
            user: user.into(),
        };
        self.request(&client_id, message).await
    }

    /// One page of history.
    pub async fn history(
        &mut self,
        room: &RoomId,
        before: Option<Seq>,
        limit: u32,
    ) -> (Vec<Event>, bool) {
        self.send(&ClientMessage::History {
            room: room.clone(),
            before,
            limit,
        })
        .await;
        self.wait_for(|e| match e {
            ServerMessage::History {
                events, complete, ..
            } => Some((events, complete)),
            _ => None,
        })
        .await
    }

    /// Every event after `after`, fetched page by page as a reconnecting client does.
    pub async fn catch_up(&mut self, room: &RoomId, mut after: Seq, limit: u32) -> Vec<Event> {
        let mut all = Vec::new();
        loop {
            self.send(&ClientMessage::CatchUp {
                room: room.clone(),
                after,
                limit,
            })
            .await;
            let (page, up_to_date) = self
                .wait_for(|e| match e {
                    ServerMessage::CaughtUp {
                        events, up_to_date, ..
                    } => Some((events, up_to_date)),
                    _ => None,
                })
                .await;
            if let Some(last) = page.last() {
                after = last.seq;
            }
            all.extend(page);
            if up_to_date {
                return all;
            }
        }
    }

    /// The next event delivered live from another socket.
    pub async fn next_room_event(&mut self) -> Event {
        self.wait_for(|e| match e {
            ServerMessage::Event { event } => Some(event),
            _ => None,
        })
        .await
    }

    /// Asserts nothing arrives for a short while (besides pongs).
    pub async fn expect_silence(&mut self, for_ms: u64) {
        let quiet = tokio::time::timeout(Duration::from_millis(for_ms), self.ws.next()).await;
        if let Ok(Some(Ok(Message::Text(text)))) = quiet {
            panic!("expected nothing, got {text}");
        }
    }

    /// The next protocol event, skipping nothing. Panics after [`WAIT`].
    pub async fn next_event(&mut self) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("an event within the wait")
                .expect("socket still open")
                .expect("readable frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// The next answer to a request: skips what the server pushes on its own (presence,
    /// typing, receipts, room events and updates).
    pub async fn next_reply(&mut self) -> ServerMessage {
        loop {
            match self.next_event().await {
                ServerMessage::Presence { .. }
                | ServerMessage::Typing { .. }
                | ServerMessage::Receipt { .. }
                | ServerMessage::Event { .. }
                | ServerMessage::RoomUpdated { .. }
                | ServerMessage::RoomRemoved { .. } => {}
                reply => return reply,
            }
        }
    }

    /// The next presence change of `who` this socket is told about.
    pub async fn presence_of(&mut self, who: &str) -> shared::rooms::Presence {
        self.wait_for(|e| match e {
            ServerMessage::Presence { user, status, .. } if user == who => Some(status),
            _ => None,
        })
        .await
    }

    /// Waits for the first event that `pick` accepts, skipping others.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(ServerMessage) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.next_event().await) {
                return found;
            }
        }
    }

    /// Reads (and so answers pings, as a browser's WebSocket layer does) for `for_ms` without
    /// sending anything; returns how many pings came. Panics if the socket closes.
    pub async fn answer_pings_for(&mut self, for_ms: u64) -> usize {
        let until = tokio::time::Instant::now() + Duration::from_millis(for_ms);
        let mut pings = 0;
        loop {
            match tokio::time::timeout_at(until, self.ws.next()).await {
                Err(_) => return pings,
                Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
                Ok(Some(Ok(Message::Close(frame)))) => panic!("closed while answering: {frame:?}"),
                Ok(Some(Ok(_))) => {}
                Ok(other) => panic!("socket broke while answering pings: {other:?}"),
            }
        }
    }

    /// Reads until the server closes the socket and returns its close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("closes in time")
            {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// The text of a message event (panics for other kinds).
pub fn body(event: &Event) -> &str {
    match &event.kind {
        EventKind::Message { body, .. } => body,
        other => panic!("not a message: {other:?}"),
    }
}

pub fn bodies(events: &[Event]) -> Vec<&str> {
    events.iter().map(body).collect()
}

/// A real `nats-server` on its own loopback port, killed when dropped. `stop` and `start`
/// take it away and bring it back on the same port (an outage).
pub struct NatsServer {
    pub port: u16,
    child: Option<Child>,
}

impl NatsServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut nats = Self { port, child: None };
        nats.restart().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) and waits until it accepts connections.
    pub async fn restart(&mut self) {
        self.stop();
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("nats-server");
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (scripts/test.sh installs Debian's package)");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "nats-server starts");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fresh database on the test PostgreSQL server (`CHAT_TEST_POSTGRES_URL`, default the
/// local one), dropped when this is.
pub struct PgDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        use sqlx::{Connection, Executor};
        let admin = std::env::var("CHAT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).unwrap();
        let name = format!("chat_it_{:016x}", u64::from_le_bytes(id));
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (scripts/test.sh starts one): {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').expect("a URL with a database name");
        Self {
            url: format!("{base}/{name}"),
            admin,
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use sqlx::{Connection, Executor};
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = conn.execute(drop.as_str()).await;
                }
            });
        })
        .join();
    }
}
