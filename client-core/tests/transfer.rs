//! The file-transfer machines against each other in memory: a sender and a receiver joined by
//! a simulated data channel that can drop (losing what is in flight), corrupt a byte, stall
//! writes or refuse to connect, with time under the test's control. The harness checks on every
//! step that the sender never has more than the window past the ack it heard, and that no byte
//! reaches the receiver twice.

use client_core::transfer::{
    Failure, FileDigest, Phase, Receiver, Sender, Violation, receive, rules, send,
};
use shared::transfer::{ACK_EVERY_BYTES, CHUNK_BYTES, ChannelMessage, FileMeta, WINDOW_BYTES};
use std::collections::VecDeque;

const MIB: usize = 1024 * 1024;

/// A reproducible byte stream (xorshift), so failures replay from their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn meta(i: usize, size: usize) -> FileMeta {
    FileMeta {
        name: format!("f{i}"),
        size: size as u64,
        mime: String::new(),
    }
}

fn digest(bytes: &[u8]) -> String {
    let mut d = FileDigest::new();
    d.update(bytes);
    d.finish()
}

enum Wire {
    Text(ChannelMessage),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Down,
    Up,
}

/// Two machines and everything between them.
struct Pair {
    now: u64,
    data: Vec<Vec<u8>>,
    sender: Sender,
    receiver: Receiver,
    link: Link,
    /// The sender closes its side once what it sent has arrived.
    sender_closing: bool,
    to_receiver: VecDeque<Wire>,
    to_sender: VecDeque<ChannelMessage>,
    /// `bye` or a WebRTC offer on their way through the server.
    offers: u32,
    byes_to_sender: u32,
    byes_to_receiver: u32,
    storage_ready: VecDeque<u32>,
    committing: VecDeque<u32>,
    writes: VecDeque<(u32, u64, Vec<u8>)>,
    /// The receiver's storage.
    stored: Vec<Vec<u8>>,
    committed: Vec<bool>,
    /// Every (file, offset) that reached the receiver, to prove nothing came twice.
    arrived: Vec<Vec<bool>>,
    /// Window check: the file streamed, the ack (or `get` offset) the sender heard last, and
    /// the end of what it sent.
    window: Option<(u32, u64, u64)>,
    /// Faults: drop the link once these many bytes have arrived in all (each once); flip the
    /// byte at this (file, offset) in flight; never open a connection; hold writes back.
    drops: Vec<u64>,
    corrupt: Option<(u32, u64)>,
    refuse_connections: bool,
    stall_writes: bool,
    arrived_total: u64,
    /// Where the next byte to arrive belongs.
    cursor: (u32, u64),
    /// Messages delivered per step in each direction (a slow link has few).
    per_step: usize,
    sender_log: Vec<send::Action>,
    receiver_log: Vec<receive::Action>,
    sent_outcome: Option<Result<(), Failure>>,
    received_outcome: Option<Result<(), Failure>>,
    connects: u32,
}

impl Pair {
    fn new(data: Vec<Vec<u8>>) -> Self {
        let metas: Vec<FileMeta> = data
            .iter()
            .enumerate()
            .map(|(i, d)| meta(i, d.len()))
            .collect();
        let mut sender = Sender::new(metas.clone(), 0);
        for (i, d) in data.iter().enumerate() {
            assert!(sender.digest(i, Ok(digest(d))).is_empty());
        }
        Self {
            now: 0,
            arrived: data.iter().map(|d| vec![false; d.len()]).collect(),
            stored: vec![Vec::new(); data.len()],
            committed: vec![false; data.len()],
            data,
            sender,
            receiver: Receiver::new(metas),
            link: Link::Down,
            sender_closing: false,
            to_receiver: VecDeque::new(),
            to_sender: VecDeque::new(),
            offers: 0,
            byes_to_sender: 0,
            byes_to_receiver: 0,
            storage_ready: VecDeque::new(),
            committing: VecDeque::new(),
            writes: VecDeque::new(),
            window: None,
            drops: Vec::new(),
            corrupt: None,
            refuse_connections: false,
            stall_writes: false,
            arrived_total: 0,
            cursor: (0, 0),
            per_step: 64,
            sender_log: Vec::new(),
            receiver_log: Vec::new(),
            sent_outcome: None,
            received_outcome: None,
            connects: 0,
        }
    }

    fn start(&mut self) {
        let actions = self.receiver.start(self.now);
        self.on_receiver(actions, None);
    }

    /// The connection goes away under both sides; what was in flight is lost.
    fn drop_link(&mut self) {
        if self.link == Link::Up {
            self.link = Link::Down;
            self.to_receiver.clear();
            self.to_sender.clear();
            let now = self.now;
            let a = self.sender.channel_closed(now);
            self.on_sender(a);
            let a = self.receiver.channel_closed(now);
            self.on_receiver(a, None);
        }
    }

    fn on_sender(&mut self, actions: Vec<send::Action>) {
        for action in actions {
            self.sender_log.push(action.clone());
            match action {
                send::Action::Send(message) => {
                    if self.link == Link::Up {
                        self.to_receiver.push_back(Wire::Text(message));
                    }
                }
                send::Action::Bye => self.byes_to_receiver += 1,
                send::Action::Phase(_) | send::Action::Verdict { .. } => {}
                send::Action::Finished(outcome) => {
                    assert!(self.sent_outcome.is_none(), "the sender finished twice");
                    assert!(self.sender.is_done());
                    self.sent_outcome = Some(outcome);
                    self.sender_closing = true;
                }
            }
        }
    }

    /// `chunk`: the bytes the receiver was just given, for its `write`.
    fn on_receiver(&mut self, actions: Vec<receive::Action>, chunk: Option<&[u8]>) {
        for action in actions {
            self.receiver_log.push(action.clone());
            match action {
                receive::Action::Send(message) => {
                    if self.link == Link::Up {
                        self.to_sender.push_back(message);
                    }
                }
                receive::Action::Bye => self.byes_to_sender += 1,
                receive::Action::Connect => {
                    self.drop_link();
                    self.connects += 1;
                    self.offers += 1;
                }
                receive::Action::CloseLink => self.drop_link(),
                receive::Action::Open { file } => {
                    self.stored[file as usize].clear();
                    self.storage_ready.push_back(file);
                }
                receive::Action::Write { file, offset, len } => {
                    let bytes = chunk.expect("a write answers a chunk");
                    assert_eq!(bytes.len() as u64, len);
                    self.writes.push_back((file, offset, bytes.to_vec()));
                }
                receive::Action::Commit { file } => {
                    assert_eq!(self.stored[file as usize], self.data[file as usize]);
                    self.committed[file as usize] = true;
                    self.committing.push_back(file);
                }
                receive::Action::Discard { file } => self.stored[file as usize].clear(),
                receive::Action::Resumed { .. }
                | receive::Action::Phase(_)
                | receive::Action::Verdict { .. } => {}
                receive::Action::Finished(outcome) => {
                    assert!(
                        self.received_outcome.is_none(),
                        "the receiver finished twice"
                    );
                    self.received_outcome = Some(outcome);
                }
            }
        }
    }

    /// One round of everything that can happen; false when nothing could.
    fn step(&mut self) -> bool {
        let mut busy = false;
        let now = self.now;
        while self.offers > 0 {
            self.offers -= 1;
            busy = true;
            let a = self.sender.offered(now);
            self.on_sender(a);
            if !self.refuse_connections {
                self.link = Link::Up;
                self.sender_closing = false;
                let a = self.sender.channel_open();
                self.on_sender(a);
                let a = self.receiver.channel_open(now);
                self.on_receiver(a, None);
            }
        }
        while self.byes_to_sender > 0 {
            self.byes_to_sender -= 1;
            busy = true;
            let a = self.sender.bye();
            self.on_sender(a);
        }
        while self.byes_to_receiver > 0 {
            self.byes_to_receiver -= 1;
            busy = true;
            let a = self.receiver.bye();
            self.on_receiver(a, None);
        }
        while let Some(file) = self.storage_ready.pop_front() {
            busy = true;
            let a = self.receiver.storage_ready(file);
            self.on_receiver(a, None);
        }
        while let Some(file) = self.committing.pop_front() {
            busy = true;
            let a = self.receiver.committed(now, file, Ok(()));
            self.on_receiver(a, None);
        }
        // The sender fills its buffer (a few chunks a step).
        for _ in 0..8 {
            let Some(read) = self.sender.poll_read(CHUNK_BYTES as u64) else {
                break;
            };
            busy = true;
            assert!(self.sender.is_current(&read));
            assert!(read.end - read.start <= CHUNK_BYTES as u64);
            let bytes =
                self.data[read.file as usize][read.start as usize..read.end as usize].to_vec();
            let (file, base, sent) = self.window.expect("bytes only after a get");
            assert_eq!(file, read.file);
            assert_eq!(
                sent, read.start,
                "bytes go out in order, each once per stream"
            );
            assert!(
                read.end - base <= WINDOW_BYTES,
                "window exceeded: {} past the ack {base}",
                read.end - base
            );
            self.window = Some((file, base, read.end));
            self.to_receiver.push_back(Wire::Bytes(bytes));
            let a = self.sender.sent(read);
            self.on_sender(a);
        }
        for _ in 0..self.per_step {
            let Some(wire) = self.to_receiver.pop_front() else {
                break;
            };
            busy = true;
            match wire {
                Wire::Text(message) => {
                    let a = self.receiver.message(now, message);
                    self.on_receiver(a, None);
                }
                Wire::Bytes(mut bytes) => {
                    let (file, start) = self.cursor;
                    self.cursor.1 += bytes.len() as u64;
                    if let Some((f, at)) = self.corrupt
                        && f == file
                        && (start..start + bytes.len() as u64).contains(&at)
                    {
                        bytes[(at - start) as usize] ^= 0x40;
                        self.corrupt = None;
                    }
                    for offset in start..start + bytes.len() as u64 {
                        let seen = &mut self.arrived[file as usize][offset as usize];
                        assert!(!*seen, "byte {offset} of file {file} arrived twice");
                        *seen = true;
                    }
                    self.arrived_total += bytes.len() as u64;
                    let a = self.receiver.chunk(&bytes);
                    self.on_receiver(a, Some(&bytes));
                    if let Some(i) = self.drops.iter().position(|&at| self.arrived_total >= at) {
                        self.drops.remove(i);
                        self.drop_link();
                        return true;
                    }
                }
            }
        }
        if !self.stall_writes {
            while let Some((file, offset, bytes)) = self.writes.pop_front() {
                busy = true;
                let stored = &mut self.stored[file as usize];
                assert_eq!(stored.len() as u64, offset, "writes come in order");
                stored.extend_from_slice(&bytes);
                let end = stored.len() as u64;
                let a = self.receiver.written(now, file, end);
                self.on_receiver(a, None);
            }
        }
        for _ in 0..self.per_step {
            let Some(message) = self.to_sender.pop_front() else {
                break;
            };
            busy = true;
            match &message {
                ChannelMessage::Get { file, offset } => {
                    self.window = Some((*file, *offset, *offset));
                    // What the sender sends next lands here (older bytes in flight were lost
                    // with their connection, or arrived before the `end` that led here).
                    self.cursor = (*file, *offset);
                }
                ChannelMessage::Ack { file, offset } => {
                    if let Some((f, base, sent)) = self.window
                        && f == *file
                    {
                        self.window = Some((f, base.max(*offset), sent));
                    }
                }
                _ => {}
            }
            let a = self.sender.message(message);
            self.on_sender(a);
        }
        if self.sender_closing && self.to_receiver.is_empty() && self.link == Link::Up {
            busy = true;
            self.drop_link();
        }
        busy
    }

    /// Runs until both sides are done; time jumps to the next deadline when all is quiet.
    fn run(&mut self) {
        for _ in 0..1_000_000 {
            if self.sender.is_done() && self.receiver.is_done() && !self.step() {
                return;
            }
            if self.step() {
                self.now += 1;
                continue;
            }
            let next = [self.sender.deadline(), self.receiver.deadline()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else {
                if self.sender.is_done() && self.receiver.is_done() {
                    return;
                }
                panic!("stuck: neither side has anything to do");
            };
            self.now = self.now.max(next);
            let a = self.sender.tick(self.now);
            self.on_sender(a);
            let a = self.receiver.tick(self.now);
            self.on_receiver(a, None);
        }
        panic!("the transfer did not end");
    }

    fn assert_all_arrived(&self) {
        assert_eq!(self.sent_outcome, Some(Ok(())));
        assert_eq!(self.received_outcome, Some(Ok(())));
        for (i, data) in self.data.iter().enumerate() {
            assert!(self.committed[i], "file {i} committed");
            assert!(self.stored[i] == *data, "file {i} stored byte for byte");
            assert!(
                self.arrived[i].iter().all(|&b| b),
                "every byte of file {i} arrived"
            );
        }
    }

    fn resumed(&self) -> Vec<(u32, u64)> {
        self.receiver_log
            .iter()
            .filter_map(|a| match a {
                receive::Action::Resumed { file, offset } => Some((*file, *offset)),
                _ => None,
            })
            .collect()
    }
}

fn files(rng: &mut Rng, sizes: &[usize]) -> Vec<Vec<u8>> {
    sizes.iter().map(|&n| rng.bytes(n)).collect()
}

#[test]
fn files_arrive_whole_and_verified() {
    let mut rng = Rng(7);
    let mut pair = Pair::new(files(&mut rng, &[0, 100 * 1024 + 7, 10 * MIB + 3, 1]));
    pair.start();
    pair.run();
    pair.assert_all_arrived();
    assert!(pair.resumed().is_empty());
    assert_eq!(pair.connects, 1);
    // Acks: about one per MiB stored, and one at each file's end.
    let acks = pair
        .receiver_log
        .iter()
        .filter(|a| matches!(a, receive::Action::Send(ChannelMessage::Ack { .. })))
        .count();
    assert!((13..=16).contains(&acks), "{acks} acks");
    assert_eq!(pair.sender.done_bytes(), 10 * MIB as u64 + 100 * 1024 + 11);
    assert_eq!(pair.receiver.done_bytes(), pair.sender.done_bytes());
}

#[test]
fn a_resume_after_a_drop_anywhere_sends_nothing_twice() {
    let size = MIB + 12_345;
    for seed in 1..=30u64 {
        let mut rng = Rng(seed * 0x9e37_79b9);
        let mut pair = Pair::new(files(&mut rng, &[size, 70_000]));
        // One to three drops at arbitrary points (a drop lands between messages).
        let drops = 1 + rng.below(3);
        pair.drops = (0..drops)
            .map(|_| 1 + rng.below(size as u64 + 70_000))
            .collect();
        pair.per_step = 1 + rng.below(40) as usize;
        pair.start();
        pair.run();
        pair.assert_all_arrived();
        let resumed = pair.resumed();
        assert!(!resumed.is_empty(), "seed {seed}: resumed after a drop");
        for (file, offset) in resumed {
            // The receiver asked for exactly what it did not have.
            assert!(
                offset <= pair.data[file as usize].len() as u64,
                "seed {seed}"
            );
        }
    }
}

#[test]
fn a_verdict_lost_in_a_drop_is_repeated_on_the_next_connection() {
    let mut rng = Rng(3);
    let mut pair = Pair::new(files(&mut rng, &[50_000, 60_000]));
    pair.start();
    // Run until the receiver has judged the first file, then lose what is in flight.
    while !pair
        .receiver_log
        .iter()
        .any(|a| matches!(a, receive::Action::Verdict { file: 0, .. }))
    {
        assert!(pair.step());
    }
    pair.drop_link();
    pair.run();
    pair.assert_all_arrived();
}

#[test]
fn a_corrupted_byte_is_detected_and_the_file_discarded() {
    let mut rng = Rng(11);
    let mut pair = Pair::new(files(&mut rng, &[2 * MIB + 5, 4096]));
    pair.corrupt = Some((0, 1_234_567));
    pair.start();
    pair.run();
    assert_eq!(pair.received_outcome, Some(Err(Failure::Mismatch(vec![0]))));
    assert_eq!(pair.sent_outcome, Some(Err(Failure::Mismatch(vec![0]))));
    assert!(
        !pair.committed[0] && pair.stored[0].is_empty(),
        "damaged file discarded"
    );
    assert!(
        pair.committed[1] && pair.stored[1] == pair.data[1],
        "the other arrived"
    );
    let verdict = pair.receiver_log.iter().find_map(|a| match a {
        receive::Action::Verdict {
            file: 0,
            ok,
            sha256,
        } => Some((*ok, sha256.clone())),
        _ => None,
    });
    let (ok, sha256) = verdict.unwrap();
    assert!(!ok);
    assert_ne!(sha256, digest(&pair.data[0]));
    // Both sides had their say on every file: nobody is told to cancel.
    assert!(!pair.sender_log.contains(&send::Action::Bye));
    assert!(!pair.receiver_log.contains(&receive::Action::Bye));
}

#[test]
fn the_window_bounds_what_is_unacknowledged() {
    let mut rng = Rng(5);
    let mut pair = Pair::new(files(&mut rng, &[20 * MIB]));
    // Writes never finish: no acks, so the sender stops at the window.
    pair.stall_writes = true;
    pair.start();
    for _ in 0..2_000 {
        pair.step();
    }
    let (_, base, sent) = pair.window.unwrap();
    assert_eq!((base, sent), (0, WINDOW_BYTES));
    assert_eq!(pair.sender.done_bytes(), 0, "nothing confirmed yet");
    assert!(pair.sender.poll_read(CHUNK_BYTES as u64).is_none());
    // Storage catches up: acks open the window again, and the file completes.
    pair.stall_writes = false;
    pair.run();
    pair.assert_all_arrived();
}

#[test]
fn the_sender_hands_out_at_most_the_window_past_the_last_ack() {
    let mut sender = Sender::new(vec![meta(0, 30 * MIB)], 0);
    sender.offered(0);
    sender.channel_open();
    sender.message(ChannelMessage::Get { file: 0, offset: 0 });
    let mut out = 0;
    while let Some(read) = sender.poll_read(3 * MIB as u64) {
        out = read.end;
        sender.sent(read);
    }
    assert_eq!(out, WINDOW_BYTES);
    sender.message(ChannelMessage::Ack {
        file: 0,
        offset: ACK_EVERY_BYTES,
    });
    let read = sender.poll_read(u64::MAX).unwrap();
    assert_eq!(
        (read.start, read.end),
        (WINDOW_BYTES, WINDOW_BYTES + ACK_EVERY_BYTES)
    );
    assert!(sender.poll_read(u64::MAX).is_none());
}

#[test]
fn progress_counts_what_the_receiver_confirmed_even_while_disconnected() {
    let mut sender = Sender::new(vec![meta(0, 3 * MIB), meta(1, 10)], 0);
    sender.digest(0, Ok(digest(b"")));
    sender.offered(0);
    sender.channel_open();
    sender.message(ChannelMessage::Get { file: 0, offset: 0 });
    let read = sender.poll_read(2 * MIB as u64).unwrap();
    sender.sent(read);
    sender.message(ChannelMessage::Ack {
        file: 0,
        offset: MIB as u64,
    });
    assert_eq!(sender.done_bytes(), MIB as u64);
    sender.channel_closed(10);
    assert_eq!(sender.done_bytes(), MIB as u64);
    sender.offered(20);
    sender.channel_open();
    sender.message(ChannelMessage::Get {
        file: 0,
        offset: 3 * MIB as u64 / 2,
    });
    assert_eq!(sender.done_bytes(), 3 * MIB as u64 / 2);
    let read = sender.poll_read(u64::MAX).unwrap();
    sender.sent(read);
    sender.message(ChannelMessage::Verified { file: 0, ok: true });
    assert_eq!(sender.done_bytes(), 3 * MIB as u64);
}

#[test]
fn reads_of_an_earlier_stream_are_not_sent() {
    let mut sender = Sender::new(vec![meta(0, 10 * MIB)], 0);
    sender.digest(0, Ok(digest(&[])));
    sender.offered(0);
    sender.channel_open();
    sender.message(ChannelMessage::Get { file: 0, offset: 0 });
    let stale = sender.poll_read(MIB as u64).unwrap();
    // The receiver asks again (as after a resume) before the read came back.
    sender.message(ChannelMessage::Get {
        file: 0,
        offset: 100,
    });
    assert!(!sender.is_current(&stale));
    assert!(sender.sent(stale).is_empty());
    let read = sender.poll_read(MIB as u64).unwrap();
    assert_eq!(read.start, 100);
}

#[test]
fn end_waits_for_the_digest() {
    let mut sender = Sender::new(vec![meta(0, 10)], 0);
    sender.offered(0);
    sender.channel_open();
    sender.message(ChannelMessage::Get { file: 0, offset: 0 });
    let read = sender.poll_read(100).unwrap();
    assert!(sender.sent(read).is_empty(), "no end without a digest");
    let actions = sender.digest(0, Ok("ab".into()));
    assert_eq!(
        actions,
        [send::Action::Send(ChannelMessage::End {
            file: 0,
            sha256: "ab".into()
        })]
    );
    // A file that cannot be hashed ends the session.
    let mut sender = Sender::new(vec![meta(0, 10)], 0);
    let actions = sender.digest(0, Err("gone".into()));
    assert!(actions.contains(&send::Action::Finished(Err(Failure::Local("gone".into())))));
}

fn open_sender(sizes: &[usize]) -> Sender {
    let metas = sizes.iter().enumerate().map(|(i, &n)| meta(i, n)).collect();
    let mut sender = Sender::new(metas, 0);
    for i in 0..sizes.len() {
        sender.digest(i, Ok(digest(b"")));
    }
    sender.offered(0);
    sender.channel_open();
    sender
}

fn protocol_error(violation: Violation) -> Failure {
    Failure::Protocol(violation)
}

fn sender_fails_with(messages: &[ChannelMessage], violation: Violation) {
    let mut sender = open_sender(&[1000, 10]);
    let mut actions = Vec::new();
    for message in messages {
        actions = sender.message(message.clone());
        if let Some(read) = sender.poll_read(u64::MAX) {
            actions.extend(sender.sent(read));
        }
    }
    assert!(sender.is_done(), "{messages:?}");
    assert_eq!(
        actions.last(),
        Some(&send::Action::Finished(Err(protocol_error(violation)))),
        "{messages:?}"
    );
    assert!(matches!(
        actions[0],
        send::Action::Send(ChannelMessage::Cancel { .. })
    ));
    assert!(actions.contains(&send::Action::Bye));
}

#[test]
fn a_hostile_receiver_gets_errors_not_panics() {
    use ChannelMessage::*;
    sender_fails_with(&[Get { file: 2, offset: 0 }], Violation::UnknownFile);
    sender_fails_with(
        &[Get {
            file: u32::MAX,
            offset: 0,
        }],
        Violation::UnknownFile,
    );
    sender_fails_with(
        &[Get {
            file: 0,
            offset: 1001,
        }],
        Violation::BadRequest,
    );
    sender_fails_with(
        &[Get {
            file: 0,
            offset: u64::MAX,
        }],
        Violation::BadRequest,
    );
    sender_fails_with(&[Ack { file: 9, offset: 0 }], Violation::UnknownFile);
    sender_fails_with(
        &[
            Get { file: 0, offset: 0 },
            Ack {
                file: 0,
                offset: 1001,
            },
        ],
        Violation::AckPastSent,
    );
    sender_fails_with(&[Verified { file: 0, ok: true }], Violation::BadVerdict);
    sender_fails_with(&[Verified { file: 7, ok: true }], Violation::UnknownFile);
    sender_fails_with(
        &[
            Get { file: 0, offset: 0 },
            Verified { file: 0, ok: true },
            Verified { file: 0, ok: false },
        ],
        Violation::BadVerdict,
    );
    sender_fails_with(
        &[
            Get { file: 0, offset: 0 },
            Verified { file: 0, ok: true },
            Get { file: 0, offset: 0 },
        ],
        Violation::BadRequest,
    );
    sender_fails_with(
        &[End {
            file: 0,
            sha256: String::new(),
        }],
        Violation::WrongRole,
    );
}

fn open_receiver(sizes: &[usize]) -> Receiver {
    let metas = sizes.iter().enumerate().map(|(i, &n)| meta(i, n)).collect();
    let mut receiver = Receiver::new(metas);
    receiver.start(0);
    receiver.channel_open(0);
    receiver
}

fn receiver_fails_with(receiver: &mut Receiver, actions: Vec<receive::Action>, why: Violation) {
    assert!(receiver.is_done());
    assert!(
        actions.contains(&receive::Action::Finished(Err(protocol_error(why)))),
        "{actions:?}"
    );
    assert!(actions.contains(&receive::Action::Bye));
    assert!(actions.contains(&receive::Action::CloseLink));
}

#[test]
fn a_hostile_sender_gets_errors_not_panics() {
    // Bytes before the `get` (storage not ready yet).
    let mut r = open_receiver(&[10]);
    let a = r.chunk(b"abc");
    receiver_fails_with(&mut r, a, Violation::UnexpectedBytes);

    // More bytes than the file has.
    let mut r = open_receiver(&[10, 5]);
    r.storage_ready(0);
    assert_eq!(r.chunk(b"0123456789").len(), 1);
    let a = r.chunk(b"x");
    // The partly stored file is discarded.
    assert!(a.contains(&receive::Action::Discard { file: 0 }));
    receiver_fails_with(&mut r, a, Violation::UnexpectedBytes);

    // `end` early, for another file, for a file not offered; messages of the other role.
    let cases: [(ChannelMessage, Violation); 5] = [
        (
            ChannelMessage::End {
                file: 0,
                sha256: "x".into(),
            },
            Violation::BadEnd,
        ),
        (
            ChannelMessage::End {
                file: 1,
                sha256: "x".into(),
            },
            Violation::BadEnd,
        ),
        (
            ChannelMessage::End {
                file: 99,
                sha256: "x".into(),
            },
            Violation::UnknownFile,
        ),
        (
            ChannelMessage::Get { file: 0, offset: 0 },
            Violation::WrongRole,
        ),
        (
            ChannelMessage::Verified { file: 0, ok: true },
            Violation::WrongRole,
        ),
    ];
    for (message, why) in cases {
        let mut r = open_receiver(&[10, 5]);
        r.storage_ready(0);
        r.chunk(b"01234");
        let a = r.message(0, message);
        assert!(a.contains(&receive::Action::Discard { file: 0 }));
        receiver_fails_with(&mut r, a, why);
    }
}

#[test]
fn random_messages_never_panic() {
    let mut rng = Rng(99);
    for _ in 0..300 {
        let mut sender = open_sender(&[5000, 0, 70_000]);
        let mut receiver = open_receiver(&[5000, 0, 70_000]);
        receiver.storage_ready(0);
        for _ in 0..40 {
            let file = rng.below(5) as u32;
            let offset = match rng.below(4) {
                0 => 0,
                1 => u64::MAX,
                _ => rng.below(80_000),
            };
            let message = match rng.below(5) {
                0 => ChannelMessage::Get { file, offset },
                1 => ChannelMessage::Ack { file, offset },
                2 => ChannelMessage::End {
                    file,
                    sha256: digest(b""),
                },
                3 => ChannelMessage::Verified {
                    file,
                    ok: rng.below(2) == 0,
                },
                _ => ChannelMessage::Cancel { reason: None },
            };
            sender.message(message.clone());
            while let Some(read) = sender.poll_read(rng.below(100_000)) {
                sender.sent(read);
            }
            receiver.message(rng.below(1000), message);
            let len = rng.below(3000) as usize;
            receiver.chunk(&rng.bytes(len));
            receiver.written(0, file, offset);
            receiver.tick(rng.below(100_000));
            sender.tick(rng.below(1_000_000));
        }
    }
}

#[test]
fn the_sender_gives_up_when_nobody_accepts_or_comes_back() {
    let mut sender = Sender::new(vec![meta(0, 10)], 1000);
    assert_eq!(sender.deadline(), Some(1000 + rules::ACCEPT_TIMEOUT_MS));
    assert!(sender.tick(1000 + rules::ACCEPT_TIMEOUT_MS - 1).is_empty());
    let actions = sender.tick(1000 + rules::ACCEPT_TIMEOUT_MS);
    assert_eq!(
        actions,
        [
            send::Action::Bye,
            send::Action::Finished(Err(Failure::NotAccepted))
        ]
    );

    // Accepted, connected, then lost: the receiver has the resume timeout to offer again,
    // and each new offer starts it over.
    let mut sender = Sender::new(vec![meta(0, 10)], 0);
    assert_eq!(sender.offered(0), [send::Action::Phase(Phase::Connecting)]);
    sender.channel_open();
    assert_eq!(sender.deadline(), None);
    assert_eq!(
        sender.channel_closed(500),
        [send::Action::Phase(Phase::Resuming)]
    );
    assert_eq!(sender.deadline(), Some(500 + rules::RESUME_TIMEOUT_MS));
    sender.offered(30_000);
    assert!(sender.tick(500 + rules::RESUME_TIMEOUT_MS).is_empty());
    let actions = sender.tick(30_000 + rules::RESUME_TIMEOUT_MS);
    assert!(actions.contains(&send::Action::Finished(Err(Failure::NotResumed))));
    assert!(sender.is_done());

    // A `bye` before any offer is a decline, and is not answered.
    let sender = Sender::new(vec![], 0);
    assert_eq!(sender.done_bytes(), 0);
    let mut sender = Sender::new(vec![meta(0, 10)], 0);
    assert_eq!(
        sender.bye(),
        [send::Action::Finished(Err(Failure::Declined))]
    );
}

#[test]
fn the_receiver_gives_up_after_fruitless_attempts() {
    let mut rng = Rng(1);
    let mut pair = Pair::new(files(&mut rng, &[1000]));
    pair.refuse_connections = true;
    pair.start();
    pair.run();
    assert_eq!(pair.received_outcome, Some(Err(Failure::GaveUp)));
    assert_eq!(pair.connects, rules::MAX_RESUME_ATTEMPTS);
    // The pauses between attempts double: 300, 600, 1200, 2400 ms, after each connect timeout.
    let pauses: u64 = (0..rules::MAX_RESUME_ATTEMPTS - 1)
        .map(|n| (rules::RETRY_DELAY_MS << n).min(rules::MAX_RETRY_DELAY_MS))
        .sum();
    let expected = u64::from(rules::MAX_RESUME_ATTEMPTS) * rules::CONNECT_TIMEOUT_MS + pauses;
    assert!(
        pair.now >= expected && pair.now < expected + 100,
        "{}",
        pair.now
    );
    // The sender heard `bye` and stopped too, well within its own resume timeout.
    assert_eq!(
        pair.sent_outcome,
        Some(Err(Failure::Cancelled {
            by_peer: true,
            reason: None
        }))
    );
}

#[test]
fn attempts_that_make_progress_are_not_counted() {
    let mut rng = Rng(2);
    let mut pair = Pair::new(files(&mut rng, &[2 * MIB]));
    // Far more drops than the fruitless-attempt limit, each after some progress.
    pair.drops = (1..=3 * rules::MAX_RESUME_ATTEMPTS as u64)
        .map(|i| i * 100_000)
        .collect();
    pair.start();
    pair.run();
    pair.assert_all_arrived();
    assert_eq!(
        pair.resumed().len(),
        3 * rules::MAX_RESUME_ATTEMPTS as usize
    );
}

#[test]
fn a_disconnected_connection_is_lost_after_the_grace() {
    let mut r = open_receiver(&[10]);
    assert!(r.disconnected(1000).is_empty());
    assert_eq!(r.deadline(), Some(1000 + rules::DISCONNECTED_GRACE_MS));
    // It recovers: nothing happens.
    r.connected();
    assert!(r.tick(1000 + rules::DISCONNECTED_GRACE_MS).is_empty());
    // It does not: lost, and a new offer after the retry pause.
    r.disconnected(10_000);
    let lost = r.tick(10_000 + rules::DISCONNECTED_GRACE_MS);
    assert_eq!(
        lost,
        [
            receive::Action::CloseLink,
            receive::Action::Phase(Phase::Resuming)
        ]
    );
    let at = 10_000 + rules::DISCONNECTED_GRACE_MS + rules::RETRY_DELAY_MS;
    assert_eq!(r.deadline(), Some(at));
    assert_eq!(r.tick(at), [receive::Action::Connect]);
}

#[test]
fn cancelling_tells_the_other_side_and_discards() {
    let mut rng = Rng(4);
    let mut pair = Pair::new(files(&mut rng, &[3 * MIB]));
    pair.start();
    while pair.arrived_total < MIB as u64 {
        pair.step();
    }
    let a = pair.receiver.cancel();
    assert!(a.contains(&receive::Action::Discard { file: 0 }));
    assert!(matches!(
        a[0],
        receive::Action::Send(ChannelMessage::Cancel { .. })
    ));
    pair.on_receiver(a, None);
    pair.run();
    assert_eq!(
        pair.received_outcome,
        Some(Err(Failure::Cancelled {
            by_peer: false,
            reason: None
        }))
    );
    assert!(matches!(
        pair.sent_outcome,
        Some(Err(Failure::Cancelled { by_peer: true, .. }))
    ));
    assert!(pair.stored[0].is_empty());
}

#[test]
fn the_receiver_closes_after_the_grace_or_when_the_sender_does() {
    let mut r = open_receiver(&[3]);
    r.storage_ready(0);
    r.chunk(b"abc");
    r.written(0, 0, 3);
    let a = r.message(
        100,
        ChannelMessage::End {
            file: 0,
            sha256: digest(b"abc").to_uppercase(),
        },
    );
    assert_eq!(a, [receive::Action::Commit { file: 0 }]);
    let a = r.committed(100, 0, Ok(()));
    assert_eq!(
        a,
        [
            receive::Action::Send(ChannelMessage::Verified { file: 0, ok: true }),
            receive::Action::Verdict {
                file: 0,
                ok: true,
                sha256: digest(b"abc")
            },
            receive::Action::Finished(Ok(())),
        ]
    );
    assert!(!r.is_done());
    assert_eq!(r.deadline(), Some(100 + rules::FINISH_GRACE_MS));
    assert_eq!(
        r.tick(100 + rules::FINISH_GRACE_MS),
        [receive::Action::CloseLink]
    );
    assert!(r.is_done());
}

#[test]
fn a_sender_gone_silent_on_an_open_connection_is_resumed() {
    // The transport stalls without reporting anything: no bytes, no close, `connected`.
    let mut r = open_receiver(&[3 * MIB]);
    let get = r.storage_ready(0);
    assert!(matches!(
        get[..],
        [receive::Action::Send(ChannelMessage::Get {
            file: 0,
            offset: 0
        })]
    ));
    assert_eq!(r.deadline(), Some(rules::SILENCE_LIMIT_MS));
    assert!(r.tick(rules::SILENCE_LIMIT_MS - 1).is_empty());
    // Bytes arrive and are stored just before the limit: the sender was heard from.
    let write = r.chunk(&[7u8; 1000]);
    assert_eq!(
        write,
        [receive::Action::Write {
            file: 0,
            offset: 0,
            len: 1000
        }]
    );
    assert_eq!(
        r.deadline(),
        None,
        "our own write is pending: not the sender's fault"
    );
    r.written(14_999, 0, 1000);
    assert_eq!(r.deadline(), Some(14_999 + rules::SILENCE_LIMIT_MS));
    assert!(r.tick(14_999 + rules::SILENCE_LIMIT_MS - 1).is_empty());
    let lost = r.tick(14_999 + rules::SILENCE_LIMIT_MS);
    assert_eq!(
        lost,
        [
            receive::Action::CloseLink,
            receive::Action::Phase(Phase::Resuming)
        ]
    );
    // The next attempt asks from the bytes already stored.
    let at = 14_999 + rules::SILENCE_LIMIT_MS + rules::RETRY_DELAY_MS;
    assert_eq!(r.tick(at), [receive::Action::Connect]);
    let resumed = r.channel_open(at + 100);
    assert!(
        resumed.contains(&receive::Action::Send(ChannelMessage::Get {
            file: 0,
            offset: 1000
        }))
    );
}
