//! The support desk's conversations: who has each, exactly one agent per claim, and the
//! figures the insight page shows.

use super::*;

pub(super) async fn a_support_conversation_goes_from_the_assistant_to_one_agent_and_back(
    store: Arc<dyn Storage>,
) {
    let customer = user(&store, "cus").await;
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    let room = group(&store, "support-0000000001", &customer, &[]).await;
    store.open_support(&room, customer.id, 100).await.unwrap();
    let opened = store.support_conversation(&room).await.unwrap().unwrap();
    assert_eq!(
        (
            opened.state,
            opened.customer,
            opened.agent,
            opened.created_ms
        ),
        (SupportState::Assistant, customer.id, None, 100)
    );
    assert!(
        store
            .support_conversation(&RoomId::lobby())
            .await
            .unwrap()
            .is_none()
    );

    // Unsure answers are counted in a row; a sure one starts over.
    assert_eq!(store.support_answered(&room, true).await.unwrap(), Some(1));
    assert_eq!(store.support_answered(&room, false).await.unwrap(), Some(0));
    assert_eq!(store.support_answered(&room, true).await.unwrap(), Some(1));
    assert_eq!(store.support_answered(&room, true).await.unwrap(), Some(2));

    // Nobody claims it before it waits.
    assert!(!store.claim_support(&room, ann.id, 150).await.unwrap());
    assert!(
        store
            .escalate_support(&room, "topic", "asked for a refund", 200)
            .await
            .unwrap()
    );
    assert!(
        !store
            .escalate_support(&room, "negative", "again", 210)
            .await
            .unwrap(),
        "handed over once"
    );
    assert_eq!(
        store.support_answered(&room, true).await.unwrap(),
        None,
        "the assistant no longer has it"
    );
    let queue = store.support_queue(bob.id, 10).await.unwrap();
    assert_eq!(queue.len(), 1, "every agent sees what waits");
    assert_eq!(
        (queue[0].reason.as_str(), queue[0].summary.as_str()),
        ("topic", "asked for a refund")
    );

    // Two agents claim at once: exactly one gets it.
    let (a, b) = tokio::join!(
        store.claim_support(&room, ann.id, 300),
        store.claim_support(&room, bob.id, 300)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "exactly one claim wins: {a} {b}");
    let (winner, loser) = if a {
        (ann.id, bob.id)
    } else {
        (bob.id, ann.id)
    };
    let claimed = store.support_conversation(&room).await.unwrap().unwrap();
    assert_eq!(
        (claimed.state, claimed.agent, claimed.claimed_ms),
        (SupportState::Agent, Some(winner), Some(300))
    );
    assert!(
        store.support_queue(loser, 10).await.unwrap().is_empty(),
        "gone from the others' queue"
    );
    assert_eq!(
        store.support_queue(winner, 10).await.unwrap().len(),
        1,
        "in the winner's own"
    );

    // Only the agent's replies count, and only the first is timed.
    assert!(!store.support_replied(&room, loser, 350).await.unwrap());
    assert!(store.support_replied(&room, winner, 400).await.unwrap());
    assert!(!store.support_replied(&room, winner, 500).await.unwrap());
    assert!(
        !store.resolve_support(&room, loser, 600).await.unwrap(),
        "only its agent resolves it"
    );
    assert!(store.resolve_support(&room, winner, 600).await.unwrap());
    let resolved = store.support_conversation(&room).await.unwrap().unwrap();
    assert_eq!(
        (
            resolved.state,
            resolved.first_reply_ms,
            resolved.resolved_ms
        ),
        (SupportState::Resolved, Some(400), Some(600))
    );

    // The customer writes again: back to the assistant, which starts counting anew.
    assert!(store.support_to_assistant(&room).await.unwrap());
    assert!(!store.support_to_assistant(&room).await.unwrap());
    let again = store.support_conversation(&room).await.unwrap().unwrap();
    assert_eq!(
        (again.state, again.agent, again.unsure_in_a_row),
        (SupportState::Assistant, None, 0)
    );

    assert_eq!(store.open_supports_of(customer.id).await.unwrap(), 1);
    // Another conversation the assistant answers alone.
    let other = group(&store, "support-0000000002", &customer, &[]).await;
    store.open_support(&other, customer.id, 700).await.unwrap();
    let figures = store.support_figures(0).await.unwrap();
    assert_eq!((figures.conversations, figures.without_person), (2, 1));
    assert_eq!(figures.escalations, vec![("topic".to_owned(), 1)]);
    assert_eq!(
        figures.median_first_reply_ms,
        Some(200),
        "from handing over (200) to the reply (400)"
    );
    let later = store.support_figures(650).await.unwrap();
    assert_eq!(
        (
            later.conversations,
            later.without_person,
            later.median_first_reply_ms
        ),
        (1, 1, None)
    );
}

pub(super) async fn a_guest_is_not_an_account_and_an_agent_hands_a_conversation_back(
    store: Arc<dyn Storage>,
) {
    // A guest who comes before anyone signed up is not the server's first account.
    let guest = store.create_guest("guest-00aa", "Dana", 5).await.unwrap();
    assert!(store.is_guest(guest).await.unwrap());
    assert!(!store.is_bot(guest).await.unwrap());
    assert!(
        !store.has_accounts().await.unwrap(),
        "a guest is not a person's account"
    );
    assert!(matches!(
        store.create_guest("GUEST-00AA", "Dan", 6).await,
        Err(StoreError::UsernameTaken)
    ));
    assert_eq!(store.display_name(guest).await.unwrap(), "Dana");
    let first = user(&store, "ann").await;
    assert!(store.is_admin(first.id).await.unwrap());
    assert!(!store.is_guest(first.id).await.unwrap());
    // A guest's session says it is one; a person's says it is not.
    store
        .create_session(&[7; 32], guest, 10, 1_000, &SessionOrigin::default())
        .await
        .unwrap();
    assert!(
        store
            .session_user(&[7; 32], 20)
            .await
            .unwrap()
            .unwrap()
            .guest
    );
    store
        .create_session(&[8; 32], first.id, 10, 1_000, &SessionOrigin::default())
        .await
        .unwrap();
    assert!(
        !store
            .session_user(&[8; 32], 20)
            .await
            .unwrap()
            .unwrap()
            .guest
    );

    // The agent who has it puts it back in the queue, and only that agent.
    let bob = user(&store, "bob").await;
    let named = NamedUser {
        id: guest,
        name: "guest-00aa".into(),
    };
    let room = group(&store, "support-0000000002", &named, &[]).await;
    store.open_support(&room, guest, 100).await.unwrap();
    assert!(
        !store.unassign_support(&room, first.id).await.unwrap(),
        "nobody has it"
    );
    assert!(
        store
            .escalate_support(&room, "topic", "s", 200)
            .await
            .unwrap()
    );
    assert!(store.claim_support(&room, first.id, 300).await.unwrap());
    assert!(!store.unassign_support(&room, bob.id).await.unwrap());
    assert!(store.unassign_support(&room, first.id).await.unwrap());
    let back = store.support_conversation(&room).await.unwrap().unwrap();
    assert_eq!(
        (back.state, back.agent, back.claimed_ms, back.escalated_ms),
        (SupportState::Waiting, None, None, Some(200))
    );
    assert!(store.claim_support(&room, bob.id, 400).await.unwrap());
}
