//! The two servers as child processes, and the chat server's seeded database.

use anyhow::Context;
use shared::rooms::RoomKind;
use shared::{ClientMsgId, RoomId};
use signaling::store::{Draft, NamedUser, NewRoom, SqliteStore, Storage};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Room `r` (0-based) of the benchmark: 16 hex digits, like every non-lobby room id.
pub fn room_id(r: usize) -> String {
    format!("{:016x}", r + 1)
}

pub fn username(i: usize) -> String {
    format!("u{i}")
}

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: Option<PathBuf>,
}

impl ServerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts the release chat server (`SIGNALING_BIN`, else `target/release/signaling`) on a
    /// copy of the seeded SQLite database.
    pub fn chat(root: &Path, seed: &Seed, run_dir: &Path) -> anyhow::Result<Self> {
        copy_seed(seed, run_dir)?;
        Self::chat_node(root, run_dir, &[])
    }

    /// Starts the release chat server with its data in `run_dir` and `extra` arguments
    /// (`--database-url`, `--nats-url`), quotas raised for the load.
    pub fn chat_node(root: &Path, run_dir: &Path, extra: &[String]) -> anyhow::Result<Self> {
        Self::chat_on(root, run_dir, extra, None)
    }

    /// [`Self::chat_node`], on the cores `cpus` (a `taskset` list such as "1") when given.
    pub fn chat_on(
        root: &Path,
        run_dir: &Path,
        extra: &[String],
        cpus: Option<&str>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(run_dir)?;
        let binary = std::env::var_os("SIGNALING_BIN")
            .map_or_else(|| root.join("target/release/signaling"), PathBuf::from);
        anyhow::ensure!(
            binary.exists(),
            "{} is missing: cargo build --release -p signaling",
            binary.display()
        );
        let mut child = on_cpus(binary.as_os_str(), cpus)
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(run_dir)
            .arg("--static-dir")
            .arg(run_dir.join("none"))
            .args(["--socket-frames-per-second", "1000000"])
            .args(["--user-events-per-second", "1000000"])
            .args(["--auth-attempts-per-minute", "1000000"])
            // Thousands of simulated people connect from a few loopback addresses.
            .args(["--max-connections-per-ip", "0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting signaling")?;
        let url = wait_for_line(&mut child, "Chat is running at ")?;
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .context("the server's address")?;
        Ok(Self {
            child,
            addr,
            data_dir: Some(run_dir.to_owned()),
        })
    }

    /// Starts `node bench/socketio/server.mjs` on a free port.
    pub fn socketio(root: &Path) -> anyhow::Result<Self> {
        Self::socketio_on(root, None)
    }

    /// [`Self::socketio`], on the cores `cpus` when given.
    pub fn socketio_on(root: &Path, cpus: Option<&str>) -> anyhow::Result<Self> {
        let mut child = on_cpus(std::ffi::OsStr::new("node"), cpus)
            .arg(root.join("bench/socketio/server.mjs"))
            .arg("0")
            .current_dir(root.join("bench"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting node")?;
        let addr = wait_for_line(&mut child, "socket.io listening on ")?
            .parse()
            .context("the Socket.IO server's address")?;
        Ok(Self {
            child,
            addr,
            data_dir: None,
        })
    }

    /// A server another module started (Synapse), stopped and killed like the others.
    pub fn adopt(child: Child, addr: SocketAddr) -> Self {
        Self {
            child,
            addr,
            data_dir: None,
        }
    }

    /// Whether the process is still running.
    pub fn running(&self) -> bool {
        // `try_wait` needs `&mut`; /proc tells without reaping.
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    /// SIGKILL: the process ends at once, with no chance to write anything more.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (the server shuts down gracefully) without waiting.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// SIGTERM, then SIGKILL if it is still running after 10 s.
    pub fn stop(self) {
        self.terminate();
        self.wait_or_kill();
    }

    /// Waits for the process to exit after [`Self::terminate`]; SIGKILL after 10 s.
    pub fn wait_or_kill(mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `program`, run by `taskset -c cpus` when `cpus` is given (taskset execs it: same pid).
fn on_cpus(program: &std::ffi::OsStr, cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.args(["-c", cpus]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// A fresh copy of the seeded SQLite database in `run_dir`.
pub fn copy_seed(seed: &Seed, run_dir: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(run_dir);
    std::fs::create_dir_all(run_dir)?;
    for file in ["chat.db", "chat.db-wal", "chat.db-shm"] {
        let from = seed.dir.join(file);
        if from.exists() {
            std::fs::copy(&from, run_dir.join(file))?;
        }
    }
    Ok(())
}

fn wait_for_line(child: &mut Child, prefix: &str) -> anyhow::Result<String> {
    let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let mut seen = Vec::new();
    let found = loop {
        let Some(line) = lines.next() else {
            anyhow::bail!("the server exited before it was ready: {}", seen.join("\n"));
        };
        let line = line?;
        if let Some(rest) = line.split(prefix).nth(1) {
            break rest.trim().to_owned();
        }
        seen.push(line);
    };
    // Keep draining so the server never blocks on a full pipe; pass warnings through.
    std::thread::spawn(move || {
        let mut shown = 0;
        for line in lines.map_while(Result::ok) {
            if shown < 20 {
                eprintln!("  [server] {line}");
                shown += 1;
            }
        }
    });
    Ok(found)
}

/// A seeded chat database: `users` accounts `u0..`, rooms of `room_size` (`u0..u9` in room 0,
/// ...), all in the lobby, and one session per user.
pub struct Seed {
    pub dir: PathBuf,
    pub tokens: Vec<String>,
    pub seconds: f64,
    pub cached: bool,
}

fn migrations_hash(root: &Path) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let dir = root.join("signaling/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for file in files {
        file.file_name().hash(&mut hasher);
        std::fs::read(&file).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}

/// Seeds through the `signaling` library (no argon2 per user: one hash is reused), or reuses
/// the copy cached under `target/loadgen/` for the same sizes and migrations.
pub async fn seed(
    root: &Path,
    users: usize,
    room_size: usize,
    use_cache: bool,
) -> anyhow::Result<Seed> {
    seed_with_history(root, users, room_size, 0, use_cache).await
}

/// [`seed`], and then `history` messages of 100-300 bytes spread over the rooms, stored
/// before the run as if the rooms had been in use (the database a server has after a while).
pub async fn seed_with_history(
    root: &Path,
    users: usize,
    room_size: usize,
    history: usize,
    use_cache: bool,
) -> anyhow::Result<Seed> {
    let dir = root.join(format!(
        "target/loadgen/seed-{users}x{room_size}{}-{:016x}",
        if history > 0 {
            format!("-h{history}")
        } else {
            String::new()
        },
        migrations_hash(root)
    ));
    let tokens_file = dir.join("tokens.txt");
    if use_cache && tokens_file.exists() && dir.join("chat.db").exists() {
        let tokens: Vec<String> = std::fs::read_to_string(&tokens_file)?
            .lines()
            .map(str::to_owned)
            .collect();
        if tokens.len() == users {
            return Ok(Seed {
                dir,
                tokens,
                seconds: 0.0,
                cached: true,
            });
        }
    }
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::open(&dir).await?;
    let tokens = populate(&store, users, room_size).await?;
    prefill_history(&store, users / room_size, room_size, history).await?;
    store.close().await;
    std::fs::write(&tokens_file, tokens.join("\n") + "\n")?;
    Ok(Seed {
        dir,
        tokens,
        seconds: started.elapsed().as_secs_f64(),
        cached: false,
    })
}

/// Fills an empty store through the `signaling` library: `users` accounts `u0..` (one argon2
/// hash reused, not one per account), one session each, and rooms of `room_size` (`u0..u9` in
/// room 0, ...); every account is in the lobby. Returns the session tokens, by user.
pub async fn populate(
    store: &dyn Storage,
    users: usize,
    room_size: usize,
) -> anyhow::Result<Vec<String>> {
    let hash = signaling::auth::hash_password("benchmark password")
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let now = signaling::now_ms();
    let expires = now + 30 * 24 * 3600 * 1000;
    let mut named = Vec::with_capacity(users);
    let mut tokens = Vec::with_capacity(users);
    // A few requests in flight keep either store busy: SQLite has one writer, and on
    // PostgreSQL every new account locks the lobby's row.
    use futures_util::StreamExt;
    let results: Vec<anyhow::Result<(NamedUser, String)>> = futures_util::stream::iter(0..users)
        .map(|i| {
            let hash = hash.clone();
            async move {
                let name = username(i);
                let id = store.create_user(&name, &hash, now).await?;
                let (token, token_hash) = signaling::auth::new_session_token();
                store
                    .create_session(&token_hash, id, now, expires, &Default::default())
                    .await?;
                Ok((NamedUser { id, name }, token))
            }
        })
        .buffered(8)
        .collect()
        .await;
    for result in results {
        let (user, token) = result?;
        named.push(user);
        tokens.push(token);
    }
    let rooms = users / room_size;
    let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..rooms)
        .map(|r| {
            let members = &named[r * room_size..(r + 1) * room_size];
            async move {
                let room = RoomId(room_id(r));
                let creator = &members[0];
                store
                    .create_room(
                        NewRoom {
                            id: room.clone(),
                            kind: RoomKind::Group,
                            name: &format!("room {r}"),
                            topic: "",
                            creator,
                            client_id: &ClientMsgId(format!("seed-room-{r}")),
                            direct: None,
                        },
                        now,
                    )
                    .await?;
                let drafts = members[1..]
                    .iter()
                    .map(|user| (None, Draft::Added { user: user.clone() }))
                    .collect();
                store.append_all(&room, creator, drafts, now).await?;
                Ok(())
            }
        })
        .buffered(8)
        .collect()
        .await;
    for result in results {
        result?;
    }
    Ok(tokens)
}

/// Stores `total` messages spread evenly over the `rooms` (each by its members in turn), a
/// thousand per transaction.
pub async fn prefill_history(
    store: &dyn Storage,
    rooms: usize,
    room_size: usize,
    total: usize,
) -> anyhow::Result<()> {
    if total == 0 || rooms == 0 {
        return Ok(());
    }
    const BATCH: usize = 1000;
    let now = signaling::now_ms();
    let per_room = total.div_ceil(rooms);
    for r in 0..rooms {
        let room = RoomId(room_id(r));
        let mut written = 0;
        while written < per_room {
            let n = BATCH.min(per_room - written);
            let sender = NamedUser {
                // Members were created in order: room r's first member is user r * room_size.
                id: store
                    .user_by_name(&username(r * room_size + written % room_size))
                    .await?
                    .context("a seeded member")?
                    .id,
                name: username(r * room_size + written % room_size),
            };
            let drafts = (0..n)
                .map(|k| {
                    let body = crate::conn::padded_body((r * per_room + written + k) as u64);
                    (
                        None,
                        Draft::Message {
                            body: body.to_owned(),
                            reply_to: None,
                            mentions: Vec::new(),
                            attachment: None,
                        },
                    )
                })
                .collect();
            store.append_all(&room, &sender, drafts, now).await?;
            written += n;
        }
    }
    Ok(())
}

/// After the server stopped: which of `ids` are missing from the rooms' stored timelines, and
/// how many events those hold. The store is the server's: PostgreSQL at `database_url`, else
/// SQLite in `data_dir`.
pub async fn missing_from_store(
    database_url: Option<&str>,
    data_dir: &Path,
    rooms: usize,
    ids: &[String],
) -> anyhow::Result<(usize, u64)> {
    missing_after(database_url, data_dir, rooms, ids, 0).await
}

/// [`missing_from_store`], reading each room's timeline after seq `skip` (the history a
/// seed stored before the run).
pub async fn missing_after(
    database_url: Option<&str>,
    data_dir: &Path,
    rooms: usize,
    ids: &[String],
    skip: i64,
) -> anyhow::Result<(usize, u64)> {
    let store = signaling::store::open(database_url, data_dir).await?;
    let mut stored = HashSet::new();
    let mut events = 0u64;
    for r in 0..rooms {
        let room = RoomId(room_id(r));
        let mut after = shared::Seq(skip);
        loop {
            let (page, up_to_date) = store.events_after(&room, after, 100).await?;
            for event in &page {
                events += 1;
                after = event.seq;
                if let Some(id) = &event.client_id {
                    stored.insert(id.0.clone());
                }
            }
            if up_to_date || page.is_empty() {
                break;
            }
        }
    }
    store.close().await;
    Ok((
        ids.iter().filter(|id| !stored.contains(*id)).count(),
        events,
    ))
}
