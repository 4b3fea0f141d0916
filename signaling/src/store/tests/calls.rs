//! Calls going on: joined and left by sockets of any node, ended exactly once.

use super::*;
use crate::calls::{CallKey, CallSocket, JoinError, Leaving, MAX_PARTICIPANTS};

fn socket(node: i64, conn: i64) -> CallSocket {
    CallSocket { node, conn }
}

fn key() -> CallKey {
    (RoomId::lobby(), "k".into())
}

pub(super) async fn a_call_ends_when_its_last_socket_leaves_and_says_if_it_was_missed(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    assert!(
        store
            .start_call(&key(), true, ann.id, socket(1, 1), 1000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .start_call(&key(), false, bo.id, socket(1, 9), 1000)
            .await
            .unwrap(),
        "ids are unique in a room"
    );
    let who = store
        .join_call(&key(), bo.id, socket(2, 1), MAX_PARTICIPANTS)
        .await
        .unwrap();
    assert_eq!(who, Ok(vec!["ann".to_owned(), "bo".to_owned()]));
    let info = store.calls_in(&[RoomId::lobby()]).await.unwrap();
    assert_eq!(info.len(), 1);
    assert!(info[0].video);
    assert_eq!(info[0].caller, "ann");
    let left = store
        .leave_calls(Leaving::Socket(socket(1, 1)), Some(&key()), 5000)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].participants.clone(), left[0].ended.clone()),
        (vec!["bo".to_owned()], None)
    );
    let left = store
        .leave_calls(Leaving::Socket(socket(2, 1)), None, 61_000)
        .await
        .unwrap();
    let ended = left[0].ended.clone().expect("the last one ends it");
    assert_eq!(
        (ended.duration_ms, ended.missed, ended.caller),
        (60_000, false, ann.id)
    );
    assert_eq!(ended.caller_name, "ann");
    assert_eq!(
        store
            .join_call(&key(), bo.id, socket(2, 2), MAX_PARTICIPANTS)
            .await
            .unwrap(),
        Err(JoinError::NoSuchCall)
    );
    assert!(store.calls_in(&[RoomId::lobby()]).await.unwrap().is_empty());
}

pub(super) async fn an_unanswered_call_rings_out_or_is_declined_and_calls_are_capped(
    store: Arc<dyn Storage>,
) {
    let mut people = Vec::new();
    for n in 0..=MAX_PARTICIPANTS {
        people.push(user(&store, &format!("u{n}")).await);
    }
    let caller = people[0].id;
    store
        .start_call(&key(), false, caller, socket(1, 1), 0)
        .await
        .unwrap();
    let ended = store
        .end_unanswered_call(&key(), None, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert!(ended.missed && !ended.declined);
    store
        .start_call(&key(), false, caller, socket(1, 1), 0)
        .await
        .unwrap();
    assert_eq!(
        store
            .end_unanswered_call(&key(), Some(caller), 10)
            .await
            .unwrap(),
        None,
        "the caller hangs up instead"
    );
    let declined = store
        .end_unanswered_call(&key(), Some(people[1].id), 3_000)
        .await
        .unwrap()
        .unwrap();
    assert!(declined.missed && declined.declined);
    assert_eq!(declined.duration_ms, 3_000);

    store
        .start_call(&key(), false, caller, socket(1, 1), 0)
        .await
        .unwrap();
    for (n, person) in people.iter().enumerate().take(MAX_PARTICIPANTS).skip(1) {
        let joined = store
            .join_call(&key(), person.id, socket(2, n as i64), MAX_PARTICIPANTS)
            .await
            .unwrap();
        assert!(joined.is_ok(), "{n} joins");
    }
    let late = people[MAX_PARTICIPANTS].id;
    assert_eq!(
        store
            .join_call(&key(), late, socket(3, 1), MAX_PARTICIPANTS)
            .await
            .unwrap(),
        Err(JoinError::Full)
    );
    // A second tab of someone already in the call is not a new participant.
    let again = store
        .join_call(&key(), people[2].id, socket(3, 2), MAX_PARTICIPANTS)
        .await;
    assert!(again.unwrap().is_ok());
    assert_eq!(
        store.end_unanswered_call(&key(), None, 1).await.unwrap(),
        None,
        "answered calls do not ring out"
    );
}

pub(super) async fn the_sockets_of_a_stopped_node_leave_and_only_one_departure_ends_a_call(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let other: CallKey = (RoomId::lobby(), "other".into());
    store
        .start_call(&key(), false, ann.id, socket(1, 1), 0)
        .await
        .unwrap();
    store
        .join_call(&key(), bo.id, socket(2, 1), 6)
        .await
        .unwrap()
        .unwrap();
    store
        .start_call(&other, false, bo.id, socket(2, 2), 0)
        .await
        .unwrap();
    // Node 2 stopped: bo's sockets leave both calls; the one only they were in ends.
    let mut left = store.leave_calls(Leaving::Node(2), None, 10).await.unwrap();
    left.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(left.len(), 2);
    assert_eq!(left[0].key, key());
    assert_eq!(left[0].participants, ["ann"]);
    assert_eq!(left[1].key, other);
    assert!(left[1].ended.as_ref().is_some_and(|e| e.missed));
    // Every running node but 1 is gone (a restart): ann's socket leaves too.
    let left = store
        .leave_calls(Leaving::NodesOtherThan(&[7, 8]), None, 20)
        .await
        .unwrap();
    assert!(left[0].ended.is_some());
    assert!(store.calls_in(&[RoomId::lobby()]).await.unwrap().is_empty());

    // Two nodes' last sockets leave at once: exactly one of them ends the call.
    for round in 0..10 {
        let key: CallKey = (RoomId::lobby(), format!("race{round}"));
        store
            .start_call(&key, false, ann.id, socket(1, 1), 0)
            .await
            .unwrap();
        store
            .join_call(&key, bo.id, socket(2, 1), 6)
            .await
            .unwrap()
            .unwrap();
        let (a, b) = tokio::join!(
            store.leave_calls(Leaving::Socket(socket(1, 1)), Some(&key), 5),
            store.leave_calls(Leaving::Socket(socket(2, 1)), Some(&key), 5),
        );
        let ends = [a.unwrap(), b.unwrap()]
            .into_iter()
            .flatten()
            .filter(|l| l.ended.is_some())
            .count();
        assert_eq!(ends, 1, "round {round}");
    }
}
