//! Several server processes on one PostgreSQL database, each with a pool of its own, appending
//! to the same rooms at once: the in-process order lock does not span them, so the store alone
//! must keep each room's seqs gap-free and its client ids stored once, without deadlocks.

use super::fixtures::TestDatabase;
use super::*;
use shared::events::EventKind;
use std::collections::{HashMap, HashSet};

/// Processes, and the rounds of appends each makes.
const NODES: usize = 3;
const ROUNDS: usize = 24;
/// Messages in one group commit.
const BATCH: usize = 9;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_processes_append_to_the_same_rooms_without_gaps_or_deadlocks() {
    let database = TestDatabase::create().await;
    let mut nodes: Vec<Arc<dyn Storage>> = Vec::new();
    for _ in 0..NODES {
        nodes.push(Arc::new(database.store().await));
    }
    let setup = &nodes[0];
    let mut people = Vec::new();
    for name in ["ann", "bo", "cy", "dee"] {
        people.push(user(setup, name).await);
    }
    let others: Vec<&NamedUser> = people[1..].iter().collect();
    let rooms = vec![
        RoomId::lobby(),
        group(setup, "0000000000000001", &people[0], &others).await,
        group(setup, "0000000000000002", &people[0], &others).await,
    ];

    let writers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(node, store)| {
            let (store, people, rooms) = (store.clone(), people.clone(), rooms.clone());
            tokio::spawn(async move { write(node, store.as_ref(), &people, &rooms).await })
        })
        .collect();
    let mut returned = Vec::new();
    for writer in writers {
        returned.extend(writer.await.unwrap());
    }

    let mut stored = HashMap::new();
    for room in &rooms {
        let (events, up_to_date) = nodes[1].events_after(room, Seq(0), 100_000).await.unwrap();
        assert!(up_to_date);
        let seqs: Vec<i64> = events.iter().map(|e| e.seq.0).collect();
        let expected: Vec<i64> = (1..=events.len() as i64).collect();
        assert_eq!(seqs, expected, "{room:?}: 1..N, no gap, no duplicate");
        let summary = nodes[2]
            .room_summary(room, people[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(summary.last_seq.0, events.len() as i64);
        for event in events {
            stored.insert((event.room.clone(), event.seq), event);
        }
    }
    // What each process was told is what is stored.
    for event in &returned {
        assert_eq!(stored.get(&(event.room.clone(), event.seq)), Some(event));
    }
    // Each client id once, and every message stored was acknowledged to its process.
    let keys: Vec<(&str, &ClientMsgId)> = stored
        .values()
        .filter(|e| matches!(e.kind, EventKind::Message { .. }))
        .map(|e| {
            (
                e.sender.as_str(),
                e.client_id.as_ref().expect("sent with one"),
            )
        })
        .collect();
    let distinct: HashSet<_> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len());
    assert_eq!(keys.len(), returned.len());
    for node in nodes {
        node.close().await;
    }
}

/// One process's appends: group commits over every room, in an order that differs from round
/// to round and process to process (with a resend of one of its earlier messages), and
/// `append_all`s of two messages. Returns the events it stored.
async fn write(
    node: usize,
    store: &dyn Storage,
    people: &[NamedUser],
    rooms: &[RoomId],
) -> Vec<Event> {
    let mut sent: Vec<PendingMessage> = Vec::new();
    let mut stored = Vec::new();
    for round in 0..ROUNDS {
        let now = i64::try_from(round).unwrap();
        if round % 4 == 3 {
            let room = &rooms[(node + round) % rooms.len()];
            let sender = &people[(node + round) % people.len()];
            let drafts = (0..2)
                .map(|i| {
                    let key = ClientMsgId(format!("n{node}r{round}a{i}"));
                    (Some(key), message("appended"))
                })
                .collect();
            let events = store
                .append_all(room, sender, drafts, now)
                .await
                .unwrap_or_else(|e| panic!("node {node}, round {round}: {e}"));
            stored.extend(events);
            continue;
        }
        let mut order: Vec<&RoomId> = rooms.iter().collect();
        order.rotate_left(round % rooms.len());
        if node % 2 == 1 {
            order.reverse();
        }
        let mut batch: Vec<PendingMessage> = (0..BATCH)
            .map(|i| {
                let sender = &people[(node + i) % people.len()];
                pending(
                    order[i % order.len()],
                    sender,
                    &format!("n{node}r{round}b{i}"),
                )
            })
            .collect();
        let resend = sent.get(round * 2).cloned();
        batch.extend(resend);
        let results = store
            .append_messages(&batch, now)
            .await
            .unwrap_or_else(|e| panic!("node {node}, round {round}: {e}"));
        for (i, (message, result)) in batch.iter().zip(results).enumerate() {
            match result {
                Appended::New(event) if i < BATCH => {
                    sent.push(message.clone());
                    stored.push(event);
                }
                Appended::Earlier if i == BATCH => {}
                other => panic!("node {node}, round {round}, message {i}: {other:?}"),
            }
        }
    }
    stored
}
