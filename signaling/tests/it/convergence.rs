//! The randomized convergence test: several devices, each a client core
//! (`client_core::client::ChatClient`) with its own storage, follow a seeded random schedule
//! against the real server: sending, replying, editing, deleting, reacting, opening rooms,
//! scrolling back, losing the connection, reloading (memory gone, storage kept) and coming
//! back. At the end every device opens every room and scrolls to its start, and then
//!
//! - each device's view and its storage equal the server's history, message for message
//!   (text, edits, deletions, reactions);
//! - every message any device typed is stored exactly once, acknowledged or not, and nothing
//!   is left in any send queue.
//!
//! The schedule comes from the seed; timing on a real server still varies between runs, which
//! is part of what is tested. A failing run names its seed. Replay or run longer with
//! `CONVERGENCE_SEED=<n>` (one seed), `CONVERGENCE_RUNS=<n>` (seeds 1..=n, default 3) and
//! `CONVERGENCE_STEPS=<n>` (default 200), e.g.
//! `CONVERGENCE_RUNS=50 CONVERGENCE_STEPS=1000 cargo test -p signaling --test it convergence`.

use crate::harness::{Client, TestServer};
use client_core::client::{ChatClient, Output};
use client_core::store::MemoryStore;
use client_core::timeline::{Delivery, Entry};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use shared::events::{Event, EventKind, Reaction};
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `CONVERGENCE_TRACE=1` prints every action and frame of a run.
fn tracing() -> bool {
    std::env::var_os("CONVERGENCE_TRACE").is_some()
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// What the test compares: a message as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    sender: String,
    client_id: Option<String>,
    body: String,
    edited: bool,
    deleted: bool,
    reply_to: Option<Seq>,
    reactions: Vec<(String, Vec<String>)>,
}

fn normalized(reactions: &[Reaction]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = reactions
        .iter()
        .filter(|r| !r.users.is_empty())
        .map(|r| {
            let mut users = r.users.clone();
            users.sort();
            (r.emoji.clone(), users)
        })
        .collect();
    out.sort();
    out
}

fn seen_entry(entry: &Entry) -> Seen {
    Seen {
        sender: entry.sender.clone(),
        client_id: Some(entry.client_id.0.clone()),
        body: entry.body.clone(),
        edited: entry.edited,
        deleted: entry.deleted,
        reply_to: entry.reply_to,
        reactions: normalized(&entry.reactions),
    }
}

/// One device: a client core, its storage (which a reload keeps) and its socket.
struct Device {
    name: String,
    user: String,
    cookie: String,
    core: ChatClient,
    store: MemoryStore,
    socket: Option<Client>,
    wakes: Vec<i64>,
    typed: u64,
}

/// What the whole run observed.
#[derive(Default)]
struct Record {
    /// (sender, client id) of every message typed anywhere.
    typed: HashSet<(String, String)>,
    /// (sender, client id) of every message whose ack reached a device.
    acked: HashSet<(String, String)>,
    frames: u64,
}

impl Device {
    async fn start(server: &TestServer, name: &str, user: &str, cookie: &str) -> Self {
        let mut device = Self {
            name: name.into(),
            user: user.into(),
            cookie: cookie.into(),
            core: ChatClient::new(user),
            store: MemoryStore::default(),
            socket: None,
            wakes: Vec::new(),
            typed: 0,
        };
        device.reload();
        device.connect(server, &mut Record::default()).await;
        device
    }

    /// Memory is lost, storage stays: a new core starts from what was stored.
    fn reload(&mut self) {
        self.socket = None;
        self.wakes.clear();
        self.core = ChatClient::new(self.user.clone());
        let (_, outputs) = self.core.restore(
            self.store.room_list(),
            self.store.room_states(),
            self.store.outbox(),
        );
        self.local(outputs);
    }

    /// Carries out outputs that need no socket (storage, timers); returns the frames.
    fn local(&mut self, outputs: Vec<Output>) -> Vec<ClientMessage> {
        let mut queue: VecDeque<Output> = outputs.into();
        let mut frames = Vec::new();
        while let Some(output) = queue.pop_front() {
            if self.store.write(&output) {
                continue;
            }
            match output {
                Output::Send(frame) => frames.push(frame),
                Output::LoadStored {
                    room,
                    before,
                    limit,
                } => {
                    let (entries, more) = self.store.messages(&room, before, limit);
                    queue.extend(self.core.stored_loaded(&room, before, entries, more));
                }
                Output::WakeAt(at) => self.wakes.push(at),
                Output::SessionEnded => panic!("{}: the session ended", self.name),
                Output::Changed(_) | Output::Notify(_) => {}
                other => unreachable!("a storage write: {other:?}"),
            }
        }
        frames
    }

    async fn run(&mut self, outputs: Vec<Output>) {
        let frames = self.local(outputs);
        for frame in frames {
            let Some(socket) = self.socket.as_mut() else {
                // The core never sends while it is not welcomed; a frame now is a bug.
                panic!("{}: a frame while offline: {frame:?}", self.name);
            };
            if tracing() {
                eprintln!("{} -> {frame:?}", self.name);
            }
            let text = serde_json::to_string(&frame).unwrap();
            if socket.ws.send(Message::text(text)).await.is_err() {
                self.drop_connection();
                return;
            }
        }
    }

    fn drop_connection(&mut self) {
        self.socket = None;
        let outputs = self.core.disconnected();
        self.local(outputs);
    }

    async fn connect(&mut self, server: &TestServer, record: &mut Record) {
        if self.socket.is_some() {
            return;
        }
        let (socket, welcome) = server.connect_welcomed(&self.cookie).await;
        self.socket = Some(socket);
        self.deliver(welcome, record).await;
    }

    async fn deliver(&mut self, message: ServerMessage, record: &mut Record) {
        record.frames += 1;
        if tracing() {
            eprintln!("{} <- {message:?}", self.name);
        }
        if let ServerMessage::Ack { client_id, event } = &message
            && matches!(event.kind, EventKind::Message { .. })
        {
            record
                .acked
                .insert((event.sender.clone(), client_id.0.clone()));
        }
        let outputs = self.core.on_server(message, now_ms());
        self.run(outputs).await;
    }

    /// Reads what the server sent until it has been quiet for `quiet_ms`; returns how many
    /// frames came.
    async fn pump(&mut self, quiet_ms: u64, record: &mut Record) -> usize {
        let mut count = 0;
        loop {
            self.tick().await;
            let Some(socket) = self.socket.as_mut() else {
                return count;
            };
            let next =
                tokio::time::timeout(Duration::from_millis(quiet_ms), socket.ws.next()).await;
            match next {
                Err(_) => return count,
                Ok(Some(Ok(Message::Text(text)))) => {
                    let message: ServerMessage = serde_json::from_str(text.as_str()).unwrap();
                    count += 1;
                    self.deliver(message, record).await;
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                // Closed by the server (say, this socket fell too far behind): a real client
                // reconnects later, and so will this one.
                Ok(_) => {
                    self.drop_connection();
                    return count;
                }
            }
        }
    }

    async fn tick(&mut self) {
        let now = now_ms();
        if self.wakes.iter().any(|&at| at <= now) {
            self.wakes.retain(|&at| at > now);
            let outputs = self.core.tick(now);
            self.run(outputs).await;
        }
    }

    fn member_rooms(&self) -> Vec<RoomId> {
        let mut rooms: Vec<RoomId> = self
            .core
            .rooms()
            .all()
            .iter()
            .map(|r| r.id.clone())
            .collect();
        rooms.sort();
        rooms
    }

    /// Stored messages of `room` that are messages (not notices).
    fn stored_messages(&self, room: &RoomId) -> Vec<Entry> {
        self.store
            .all_messages(room)
            .into_iter()
            .filter(|e| e.notice.is_none())
            .cloned()
            .collect()
    }

    /// This user's messages among `stored` that are not deleted (the ones it may edit or
    /// delete).
    fn mine<'a>(&self, stored: &'a [Entry]) -> Vec<&'a Entry> {
        stored
            .iter()
            .filter(|e| e.sender == self.user && !e.deleted)
            .collect()
    }

    fn next_client_id(&mut self) -> ClientMsgId {
        self.typed += 1;
        ClientMsgId(format!("{}-{}", self.name, self.typed))
    }

    /// One random action.
    async fn act(&mut self, rng: &mut StdRng, server: &TestServer, record: &mut Record) {
        let rooms = self.member_rooms();
        let room = rooms.choose(rng).cloned().unwrap_or_else(RoomId::lobby);
        let stored = self.stored_messages(&room);
        let roll = rng.random_range(0..100);
        if tracing() {
            eprintln!("{} acts: {roll} in {room:?}", self.name);
        }
        match roll {
            0..=39 => {
                let client_id = self.next_client_id();
                let reply_to = if rng.random_bool(0.2) {
                    stored.choose(rng).and_then(|e| e.id)
                } else {
                    None
                };
                record
                    .typed
                    .insert((self.user.clone(), client_id.0.clone()));
                let body = format!("{} says {}", self.name, client_id.0);
                let outputs = self
                    .core
                    .send_message(room, client_id, body, reply_to, now_ms());
                self.run(outputs).await;
            }
            40..=49 => {
                if let Some(target) = self.mine(&stored).choose(rng).and_then(|e| e.id) {
                    let id = self.next_client_id();
                    let body = format!("edited by {} ({})", self.name, id.0);
                    let outputs = self.core.edit(room, id, target, body);
                    self.run(outputs).await;
                }
            }
            50..=59 => {
                if let Some(target) = stored.choose(rng).and_then(|e| e.id) {
                    let emoji = ["👍", "🎉", "❤️"].choose(rng).unwrap().to_string();
                    let id = self.next_client_id();
                    let add = rng.random_bool(0.7);
                    let outputs = self.core.react(room, id, target, emoji, add);
                    self.run(outputs).await;
                }
            }
            60..=62 => {
                if let Some(target) = self.mine(&stored).choose(rng).and_then(|e| e.id) {
                    let id = self.next_client_id();
                    let outputs = self.core.delete(room, id, target);
                    self.run(outputs).await;
                }
            }
            63..=70 => {
                if self.socket.is_some() {
                    self.drop_connection();
                }
            }
            71..=80 => self.connect(server, record).await,
            81..=84 => self.reload(),
            85..=89 => {
                let outputs = self.core.open(room);
                self.run(outputs).await;
            }
            90..=92 => {
                let outputs = self.core.load_older(&room);
                self.run(outputs).await;
            }
            _ => {
                self.pump(30, record).await;
            }
        }
    }

    /// Whether this device has nothing left to do: connected, nothing unsent, every room open
    /// and synced back to its start.
    fn settled(&self) -> bool {
        self.unsettled().is_none()
    }

    /// Why [`Self::settled`] is false.
    fn unsettled(&self) -> Option<String> {
        if self.socket.is_none() || !self.core.is_online() {
            return Some(format!("{} is offline", self.name));
        }
        if let Some((item, stage)) = self.core.queue().items().next() {
            return Some(format!("{} has unsent {item:?} ({stage:?})", self.name));
        }
        self.member_rooms().iter().find_map(|room| {
            let t = self.core.timeline(room)?;
            (t.is_catching_up() || !t.reached_start).then(|| {
                format!(
                    "{} in {room:?}: catching up {}, reached start {}, more stored {}, state {:?}",
                    self.name,
                    t.is_catching_up(),
                    t.reached_start,
                    t.more_stored,
                    t.state()
                )
            })
        })
    }
}

/// The server's history of `room`, message by message, as a fresh client reads it.
async fn server_view(reader: &mut Client, room: &RoomId) -> BTreeMap<Seq, Seen> {
    let mut all: Vec<Event> = Vec::new();
    let mut before = None;
    loop {
        let (page, complete) = reader.history(room, before, 100).await;
        before = page.first().map(|e| e.seq);
        let empty = page.is_empty();
        all.extend(page);
        if complete || empty {
            break;
        }
    }
    all.into_iter()
        .filter_map(|event| match event.kind {
            EventKind::Message {
                body,
                edited_at_ms,
                deleted,
                reply_to,
                reactions,
                ..
            } => Some((
                event.seq,
                Seen {
                    sender: event.sender,
                    client_id: event.client_id.map(|c| c.0),
                    body,
                    edited: edited_at_ms.is_some(),
                    deleted,
                    reply_to,
                    reactions: normalized(&reactions),
                },
            )),
            _ => None,
        })
        .collect()
}

/// (seq, the device's copy, the server's) wherever they differ.
fn differences(
    device: &BTreeMap<Seq, Seen>,
    server: &BTreeMap<Seq, Seen>,
) -> Vec<(Seq, Option<Seen>, Option<Seen>)> {
    let seqs: std::collections::BTreeSet<Seq> =
        device.keys().chain(server.keys()).copied().collect();
    seqs.into_iter()
        .filter(|s| device.get(s) != server.get(s))
        .map(|s| (s, device.get(&s).cloned(), server.get(&s).cloned()))
        .collect()
}

async fn run_seed(seed: u64, steps: u64) {
    eprintln!("convergence: seed {seed}, {steps} steps (replay: CONVERGENCE_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let server = TestServer::start_unthrottled().await;
    let ann = server.create_user("ann").await;
    let bob = server.create_user("bob").await;
    let cat = server.create_user("cat").await;
    let mut owner = server.connect(&ann).await;
    let team = owner.create_room("team").await;
    owner.add(&team, "bob").await.unwrap();
    let mut record = Record::default();
    let mut devices = vec![
        Device::start(&server, "ann-laptop", "ann", &ann).await,
        Device::start(&server, "ann-phone", "ann", &ann).await,
        Device::start(&server, "bob", "bob", &bob).await,
        Device::start(&server, "cat", "cat", &cat).await,
    ];

    for step in 0..steps {
        let who = rng.random_range(0..devices.len());
        devices[who].act(&mut rng, &server, &mut record).await;
        // Everyone reads a little now and then, as open tabs do.
        let quiet = if step % 5 == 0 { 5 } else { 1 };
        for device in &mut devices {
            device.pump(quiet, &mut record).await;
        }
    }

    // Settle: everyone comes back, opens every room and scrolls to its start.
    for round in 0.. {
        if round == 100 {
            let why: Vec<String> = devices.iter().filter_map(Device::unsettled).collect();
            panic!("seed {seed}: the devices did not settle: {why:?}");
        }
        let mut quiet = true;
        for device in &mut devices {
            device.connect(&server, &mut record).await;
            for room in device.member_rooms() {
                if device.core.timeline(&room).is_none() {
                    let outputs = device.core.open(room.clone());
                    device.run(outputs).await;
                }
                let needs_older = device
                    .core
                    .timeline(&room)
                    .is_some_and(|t| !t.reached_start && !t.is_catching_up());
                if needs_older {
                    let outputs = device.core.load_older(&room);
                    device.run(outputs).await;
                }
            }
            if device.pump(40, &mut record).await > 0 {
                quiet = false;
            }
        }
        if quiet && devices.iter().all(Device::settled) {
            break;
        }
    }

    // Compare every device with the server.
    let mut readers: HashMap<String, Client> = HashMap::new();
    for (user, cookie) in [("ann", &ann), ("bob", &bob), ("cat", &cat)] {
        readers.insert(user.to_owned(), server.connect(cookie).await);
    }
    let mut stored_anywhere: HashMap<(String, String), usize> = HashMap::new();
    for room in [RoomId::lobby(), team.clone()] {
        let truth = server_view(readers.get_mut("ann").unwrap(), &room).await;
        for seen in truth.values() {
            if let Some(id) = &seen.client_id {
                *stored_anywhere
                    .entry((seen.sender.clone(), id.clone()))
                    .or_default() += 1;
            }
        }
        for device in &devices {
            if !device.member_rooms().contains(&room) {
                continue;
            }
            let timeline = device.core.timeline(&room).expect("every room is open");
            let in_view: BTreeMap<Seq, Seen> = timeline
                .entries()
                .iter()
                .filter(|e| e.notice.is_none())
                .map(|e| {
                    assert_ne!(
                        e.delivery,
                        Delivery::Pending,
                        "seed {seed}: {} still shows a pending message",
                        device.name
                    );
                    assert!(
                        !matches!(e.delivery, Delivery::Failed(_)),
                        "seed {seed}: {} shows a failed message: {e:?}",
                        device.name
                    );
                    (e.id.unwrap(), seen_entry(e))
                })
                .collect();
            let in_storage: BTreeMap<Seq, Seen> = device
                .stored_messages(&room)
                .iter()
                .map(|e| (e.id.unwrap(), seen_entry(e)))
                .collect();
            assert!(
                in_view == truth,
                "seed {seed}: {}'s view of {room:?} differs from the server: {:#?}",
                device.name,
                differences(&in_view, &truth)
            );
            assert!(
                in_storage == truth,
                "seed {seed}: {}'s storage of {room:?} differs from the server: {:#?}",
                device.name,
                differences(&in_storage, &truth)
            );
        }
    }
    for key in &record.typed {
        assert_eq!(
            stored_anywhere.get(key).copied().unwrap_or(0),
            1,
            "seed {seed}: message {key:?} must be stored exactly once"
        );
    }
    for key in &record.acked {
        assert!(
            record.typed.contains(key),
            "seed {seed}: an ack for a message nobody typed: {key:?}"
        );
    }
    assert!(
        stored_anywhere.values().all(|&n| n == 1),
        "seed {seed}: a message was stored twice"
    );
    assert!(
        !record.typed.is_empty() && !record.acked.is_empty(),
        "seed {seed}: the schedule sent nothing"
    );
    eprintln!(
        "convergence: seed {seed} converged: {} messages typed, {} acks seen, {} frames",
        record.typed.len(),
        record.acked.len(),
        record.frames
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_converge_on_the_servers_history_whatever_the_schedule() {
    let steps = env_number("CONVERGENCE_STEPS").unwrap_or(200);
    let seeds: Vec<u64> = match env_number("CONVERGENCE_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_number("CONVERGENCE_RUNS").unwrap_or(3)).collect(),
    };
    for seed in seeds {
        run_seed(seed, steps).await;
    }
}
