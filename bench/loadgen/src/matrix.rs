//! Synapse, the Matrix homeserver many self-hosters pick, as a third server of the sweep
//! (issue 21): the same rooms of 10 through Matrix's client-server API.
//!
//! - Synapse runs from PyPI (`scripts/setup.sh`'s `setup_synapse`, versions pinned in
//!   `bench/synapse/requirements.txt`) as one process on the machine's PostgreSQL, in a
//!   database of its own that is dropped afterwards; `bench/synapse/homeserver.yaml` says what
//!   is tuned and why.
//! - Each room's first member sends (`PUT /rooms/{room}/send/m.room.message/{txn}`, open loop:
//!   a request per message, up to [`SENDS_IN_FLIGHT`] at a time per sender); the other members
//!   receive with `/sync` long-polls through a stored filter, as Element does.
//! - Its CPU is the Synapse process's plus PostgreSQL's (every `postgres` process: the
//!   backends do the storing that the chat server does in-process with SQLite).

use crate::conn::{Cmd, SenderReport, parse_id, record_delivery};
use crate::fleet::Fleet;
use crate::server::ServerProcess;
use crate::stats::{Global, PHASE_LETTERS};
use anyhow::Context;
use serde_json::{Value, json};
use sqlx::Connection;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Sends one sender keeps in flight; more messages wait their turn (their latency still counts
/// from when they were due).
const SENDS_IN_FLIGHT: usize = 16;
/// How long a `/sync` long-poll waits for news, as Element's.
const LONG_POLL_MS: u64 = 30_000;
/// Registrations and joins in flight while the accounts and rooms are made.
const SETUP_IN_FLIGHT: usize = 16;

/// The `/sync` filter every receiver stores: messages only, and enough of them per response
/// that a busy room's timeline is never cut ("limited").
const SYNC_FILTER: &str = r#"{"presence":{"types":[]},"account_data":{"types":[]},"room":{"ephemeral":{"types":[]},"state":{"types":[]},"account_data":{"types":[]},"timeline":{"types":["m.room.message"],"limit":1000}}}"#;

/// One registered Matrix account.
#[derive(Clone)]
pub struct Account {
    pub user_id: Arc<str>,
    pub token: Arc<str>,
    pub filter: Arc<str>,
}

/// Synapse's configuration, database and accounts, made once for all runs; each run starts a
/// fresh process on them.
pub struct Synapse {
    python: PathBuf,
    dir: PathBuf,
    database: String,
    admin_url: String,
    pub accounts: Vec<Account>,
    /// Room `r`'s Matrix id; its members are accounts `r * room_size ..`.
    pub rooms: Vec<Arc<str>>,
}

/// `postgres://user[:password]@host[:port]/database`, the parts Synapse's config wants.
#[derive(Debug, PartialEq, Eq)]
struct PgUrl {
    user: String,
    password: String,
    host: String,
    port: u16,
}

fn parse_pg_url(url: &str) -> anyhow::Result<PgUrl> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .context("a postgres:// URL")?;
    let (auth, rest) = rest.split_once('@').context("user@host in the URL")?;
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let host_port = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().context("the port")?),
        None => (host_port, 5432),
    };
    Ok(PgUrl {
        user: user.to_owned(),
        password: password.to_owned(),
        host: host.to_owned(),
        port,
    })
}

/// The PostgreSQL server the tests use (`CHAT_TEST_POSTGRES_URL`, as `scripts/setup.sh` sets it).
fn admin_url() -> String {
    std::env::var("CHAT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `s` percent-encoded for a URL path segment or query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Synapse {
    /// Writes the configuration, creates the database, starts Synapse once to register
    /// `clients` accounts (`u0..`) in rooms of `room_size`, and stops it.
    pub async fn prepare(root: &Path, clients: usize, room_size: usize) -> anyhow::Result<Self> {
        let python = std::env::var_os("SYNAPSE_PYTHON").map_or_else(
            || root.join("target/synapse-venv/bin/python"),
            PathBuf::from,
        );
        anyhow::ensure!(
            python.exists(),
            "{} is missing: run scripts/setup.sh's setup_synapse (./scripts/bench.sh does)",
            python.display()
        );
        let dir = root.join(format!("target/loadgen/synapse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("media"))?;
        let database = format!("bench_synapse_{}", std::process::id());
        let admin_url = admin_url();
        let pg = parse_pg_url(&admin_url)?;
        {
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .context("connecting to PostgreSQL for Synapse's database")?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {database}"))
                .execute(&mut conn)
                .await?;
            // Synapse wants C collation (its sort order of ids relies on it).
            sqlx::query(&format!(
                "CREATE DATABASE {database} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
            ))
            .execute(&mut conn)
            .await?;
        }
        let template = std::fs::read_to_string(root.join("bench/synapse/homeserver.yaml"))?;
        let config = template
            .replace("@PGUSER@", &pg.user)
            .replace("@PGPASSWORD@", &pg.password)
            .replace("@PGDATABASE@", &database)
            .replace("@PGHOST@", &pg.host)
            .replace("@PGPORT@", &pg.port.to_string())
            .replace("@DIR@", &dir.display().to_string())
            // Each start picks a free port and writes it here.
            .replace("@PORT@", "8008");
        std::fs::write(dir.join("homeserver.yaml"), config)?;
        std::fs::copy(root.join("bench/synapse/log.yaml"), dir.join("log.yaml"))?;
        let status = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(dir.join("homeserver.yaml"))
            .arg("--generate-keys")
            .stdout(Stdio::null())
            .status()
            .context("running Synapse's --generate-keys")?;
        anyhow::ensure!(status.success(), "Synapse's --generate-keys failed");
        let mut synapse = Self {
            python,
            dir,
            database,
            admin_url,
            accounts: Vec::new(),
            rooms: Vec::new(),
        };
        let started = Instant::now();
        let server = synapse.start(None).await?;
        let base: Arc<str> = Arc::from(format!("http://{}/_matrix/client/v3", server.addr));
        synapse.accounts = register(&base, clients).await?;
        synapse.rooms = make_rooms(&base, &synapse.accounts, room_size).await?;
        server.stop();
        println!(
            "  synapse: {} accounts in {} rooms made in {:.0} s",
            synapse.accounts.len(),
            synapse.rooms.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(synapse)
    }

    /// Starts Synapse (on `cpus` when given) and waits until its client API answers.
    pub async fn start(&self, cpus: Option<&str>) -> anyhow::Result<ServerProcess> {
        let port = free_port()?;
        let config = std::fs::read_to_string(self.dir.join("homeserver.yaml"))?;
        let port_line = config
            .lines()
            .find(|l| l.trim_start().starts_with("- port:"))
            .context("the listener's port line")?
            .to_owned();
        std::fs::write(
            self.dir.join("homeserver.yaml"),
            config.replace(&port_line, &format!("  - port: {port}")),
        )?;
        let log = std::fs::File::create(self.dir.join("synapse.log"))?;
        let mut command = match cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(&self.python);
                c
            }
            None => Command::new(&self.python),
        };
        let child = command
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(self.dir.join("homeserver.yaml"))
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting Synapse")?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let server = ServerProcess::adopt(child, addr);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ready = client
                .get(format!("http://{addr}/_matrix/client/versions"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(server);
            }
            if Instant::now() > deadline || !server.running() {
                let log = std::fs::read_to_string(self.dir.join("synapse.log")).unwrap_or_default();
                anyhow::bail!(
                    "Synapse did not start: {}",
                    log.lines().rev().take(15).collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Drops Synapse's database and removes its files.
    pub async fn remove(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.database
            ))
            .execute(&mut conn)
            .await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut request = client.post(url).body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(status.is_success(), "{url}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

/// Registers `count` accounts `u0..` and stores each one's `/sync` filter.
async fn register(base: &Arc<str>, count: usize) -> anyhow::Result<Vec<Account>> {
    let client = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(SETUP_IN_FLIGHT));
    let mut jobs = JoinSet::new();
    for i in 0..count {
        let (client, base, gate) = (client.clone(), base.clone(), gate.clone());
        jobs.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let registered = post(
                &client,
                &format!("{base}/register"),
                None,
                &json!({
                    "username": format!("u{i}"),
                    "password": "benchmark-password",
                    "auth": {"type": "m.login.dummy"},
                }),
            )
            .await?;
            let user_id = registered["user_id"]
                .as_str()
                .context("user_id")?
                .to_owned();
            let token = registered["access_token"]
                .as_str()
                .context("access_token")?
                .to_owned();
            let filter: Value = serde_json::from_str(SYNC_FILTER)?;
            let stored = post(
                &client,
                &format!("{base}/user/{}/filter", encode(&user_id)),
                Some(&token),
                &filter,
            )
            .await?;
            let filter = stored["filter_id"]
                .as_str()
                .context("filter_id")?
                .to_owned();
            anyhow::Ok((
                i,
                Account {
                    user_id: user_id.into(),
                    token: token.into(),
                    filter: filter.into(),
                },
            ))
        });
    }
    let mut accounts = vec![None; count];
    while let Some(done) = jobs.join_next().await {
        let (i, account) = done??;
        accounts[i] = Some(account);
    }
    Ok(accounts.into_iter().flatten().collect())
}

/// Room `r`'s first member creates it and the other members join.
async fn make_rooms(
    base: &Arc<str>,
    accounts: &[Account],
    room_size: usize,
) -> anyhow::Result<Vec<Arc<str>>> {
    let client = reqwest::Client::new();
    let mut rooms = Vec::new();
    for (r, members) in accounts.chunks(room_size).enumerate() {
        let created = post(
            &client,
            &format!("{base}/createRoom"),
            Some(&members[0].token),
            &json!({"preset": "public_chat", "name": format!("bench room {r}")}),
        )
        .await?;
        let room: Arc<str> = Arc::from(created["room_id"].as_str().context("room_id")?);
        rooms.push(room);
    }
    let gate = Arc::new(Semaphore::new(SETUP_IN_FLIGHT));
    let mut jobs = JoinSet::new();
    for (r, members) in accounts.chunks(room_size).enumerate() {
        for member in &members[1..] {
            let (client, base, gate) = (client.clone(), base.clone(), gate.clone());
            let (room, token) = (rooms[r].clone(), member.token.clone());
            jobs.spawn(async move {
                let _permit = gate.acquire_owned().await?;
                post(
                    &client,
                    &format!("{base}/join/{}", encode(&room)),
                    Some(&token),
                    &json!({}),
                )
                .await
                .map(drop)
            });
        }
    }
    while let Some(done) = jobs.join_next().await {
        done??;
    }
    Ok(rooms)
}

/// Connects `accounts` to Synapse at `addr`: each receiver's first `/sync` (its starting
/// point), then long-polls; each room's first member sends on [`Cmd::Send`]. Waits up to
/// `limit` for every receiver's first sync.
pub async fn connect(
    global: &Arc<Global>,
    addr: SocketAddr,
    synapse: &Synapse,
    room_size: usize,
    limit: Duration,
) -> Fleet {
    let started = Instant::now();
    let base: Arc<str> = Arc::from(format!("http://{addr}/_matrix/client/v3"));
    let gate = Arc::new(Semaphore::new(SETUP_IN_FLIGHT));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    let mut senders = Vec::new();
    for (i, account) in synapse.accounts.iter().enumerate() {
        let room = synapse.rooms[i / room_size].clone();
        // A client of its own per person: its own connections, as separate devices have.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(SENDS_IN_FLIGHT)
            .build()
            .expect("a plain HTTP client builds");
        if i % room_size == 0 {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            let _ = ready_tx.send(true);
            tasks.push(tokio::spawn(send_loop(
                global.clone(),
                client,
                base.clone(),
                account.token.clone(),
                room,
                i,
                rx,
            )));
        } else {
            tasks.push(tokio::spawn(receive_loop(
                global.clone(),
                client,
                base.clone(),
                account.clone(),
                gate.clone(),
                ready_tx.clone(),
            )));
        }
    }
    drop(ready_tx);
    let deadline = tokio::time::Instant::now() + limit;
    let (mut answered, mut connected) = (0, 0);
    while answered < synapse.accounts.len() {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(ok)) => {
                answered += 1;
                connected += usize::from(ok);
            }
            _ => break,
        }
    }
    Fleet::from_parts(tasks, senders, connected, started.elapsed().as_secs_f64())
}

/// What a `/sync` response holds: the next starting point, and the ids of the messages from
/// others in it.
fn read_sync(body: &Value, me: &str, global: &Global) -> Option<String> {
    let rooms = body["rooms"]["join"].as_object();
    for room in rooms.into_iter().flat_map(|r| r.values()) {
        if room["timeline"]["limited"].as_bool() == Some(true) {
            global.count_error("matrix_timeline_limited");
        }
        for event in room["timeline"]["events"].as_array().into_iter().flatten() {
            if event["sender"].as_str() == Some(me) {
                continue;
            }
            if let Some(id) = event["content"]["bench_id"].as_str().and_then(parse_id) {
                record_delivery(global, &id);
            }
        }
    }
    body["next_batch"].as_str().map(str::to_owned)
}

async fn sync(
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    since: Option<&str>,
    timeout_ms: u64,
) -> anyhow::Result<Value> {
    let mut url = format!(
        "{base}/sync?filter={}&timeout={timeout_ms}&set_presence=offline",
        encode(&account.filter)
    );
    if let Some(since) = since {
        url.push_str("&since=");
        url.push_str(&encode(since));
    }
    let response = client
        .get(url)
        .bearer_auth(&account.token)
        .timeout(Duration::from_millis(timeout_ms + 60_000))
        .send()
        .await?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "sync: {status}");
    Ok(response.json().await?)
}

async fn receive_loop(
    global: Arc<Global>,
    client: reqwest::Client,
    base: Arc<str>,
    account: Account,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<bool>,
) {
    let first = {
        let _permit = gate.acquire().await;
        sync(&client, &base, &account, None, 0).await
    };
    let mut since = match first.map(|body| read_sync(&body, &account.user_id, &global)) {
        Ok(Some(since)) => since,
        _ => {
            global.count_error("matrix_first_sync");
            let _ = ready.send(false);
            return;
        }
    };
    global.connected.fetch_add(1, Relaxed);
    let _ = ready.send(true);
    loop {
        match sync(&client, &base, &account, Some(&since), LONG_POLL_MS).await {
            Ok(body) => {
                global.other_frames.fetch_add(1, Relaxed);
                if let Some(next) = read_sync(&body, &account.user_id, &global) {
                    since = next;
                }
            }
            Err(_) => {
                global.count_error("matrix_sync");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn send_loop(
    global: Arc<Global>,
    client: reqwest::Client,
    base: Arc<str>,
    token: Arc<str>,
    room: Arc<str>,
    index: usize,
    mut commands: mpsc::UnboundedReceiver<Cmd>,
) {
    global.connected.fetch_add(1, Relaxed);
    let in_flight = Arc::new(Semaphore::new(SENDS_IN_FLIGHT));
    let mut n = 0u64;
    while let Some(command) = commands.recv().await {
        let (phase, t_us) = match command {
            Cmd::Send { phase, t_us } => (phase, t_us),
            Cmd::Report(reply) => {
                let _ = reply.send(SenderReport {
                    acked: Vec::new(),
                    outstanding: SENDS_IN_FLIGHT - in_flight.available_permits(),
                });
                continue;
            }
            // Closed-loop windows are the saturation scenarios', which Synapse is not in.
            Cmd::Window { .. } => continue,
        };
        n += 1;
        let id = format!("m-{}{index}-{n}-{t_us}", PHASE_LETTERS[phase] as char);
        let url = format!(
            "{base}/rooms/{}/send/m.room.message/{}",
            encode(&room),
            encode(&id)
        );
        let body = json!({
            "msgtype": "m.text",
            "body": crate::conn::padded_body(index as u64 ^ (n << 20)),
            "bench_id": id,
        })
        .to_string();
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        global.sent[phase].fetch_add(1, Relaxed);
        let (global, client, token) = (global.clone(), client.clone(), token.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let sent = client.put(url).bearer_auth(&*token).body(body).send().await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    global.acks[phase].fetch_add(1, Relaxed);
                }
                _ => global.count_error("matrix_send"),
            }
        });
    }
}

/// CPU seconds of every `postgres` process on the machine (backends and background writers):
/// the part of Synapse's cost that runs outside its own process.
pub fn postgres_cpu_secs() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(crate::stats::cpu_secs)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::{PgUrl, encode, parse_pg_url};

    #[test]
    fn postgres_urls_give_synapse_its_settings() {
        assert_eq!(
            parse_pg_url("postgres://postgres:secret@127.0.0.1:5433/postgres").unwrap(),
            PgUrl {
                user: "postgres".into(),
                password: "secret".into(),
                host: "127.0.0.1".into(),
                port: 5433
            }
        );
        let bare = parse_pg_url("postgresql://me@db/x").unwrap();
        assert_eq!((bare.password.as_str(), bare.port), ("", 5432));
        assert!(parse_pg_url("mysql://me@db/x").is_err());
    }

    #[test]
    fn matrix_ids_are_encoded_for_paths() {
        assert_eq!(encode("!abc:localhost"), "%21abc%3Alocalhost");
        assert_eq!(encode("m-L3-1-99"), "m-L3-1-99");
    }
}
