//! Bots (accounts with API tokens) and outgoing webhooks (a cursor over the room's timeline,
//! leased to one node at a time).

use super::*;

pub(super) async fn a_bot_has_one_live_token_and_only_the_rooms_it_is_put_in(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bot = store.create_bot("helper", "Helper", 10).await.unwrap();
    assert!(matches!(
        store.create_bot("HELPER", "", 11).await,
        Err(StoreError::UsernameTaken)
    ));
    assert!(matches!(
        store.create_bot("Ann", "", 11).await,
        Err(StoreError::UsernameTaken)
    ));
    assert!(store.is_bot(bot).await.unwrap());
    assert!(!store.is_bot(ann.id).await.unwrap());
    assert!(
        store
            .membership(&RoomId::lobby(), bot)
            .await
            .unwrap()
            .is_none(),
        "a bot is in no room, not even the lobby, until it is put in one"
    );
    let listed = store.bots().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].username.as_str(), listed[0].display_name.as_str()),
        ("helper", "Helper")
    );
    assert_eq!((listed[0].tokens, listed[0].rooms.len()), (0, 0));

    assert!(
        store
            .replace_bot_token(bot, &[1; 32], 20)
            .await
            .unwrap()
            .is_empty()
    );
    let found = store.bot_by_token(&[1; 32]).await.unwrap().unwrap();
    assert_eq!((found.user, found.username.as_str()), (bot, "helper"));
    assert_eq!((found.token_created_ms, found.last_used_ms), (20, 0));
    store.touch_bot_token(&[1; 32], 30).await.unwrap();
    assert_eq!(
        store
            .bot_by_token(&[1; 32])
            .await
            .unwrap()
            .unwrap()
            .last_used_ms,
        30
    );
    // A new token ends the old one.
    let ended = store.replace_bot_token(bot, &[2; 32], 40).await.unwrap();
    assert_eq!(ended, vec![vec![1u8; 32]]);
    assert!(store.bot_by_token(&[1; 32]).await.unwrap().is_none());
    assert!(store.bot_by_token(&[2; 32]).await.unwrap().is_some());
    // A person's session hash is not a bot token.
    store
        .create_session(
            &[3; 32],
            ann.id,
            50,
            i64::MAX / 2,
            &SessionOrigin::default(),
        )
        .await
        .unwrap();
    assert!(store.bot_by_token(&[3; 32]).await.unwrap().is_none());

    let helper = NamedUser {
        id: bot,
        name: "helper".into(),
    };
    let room = group(&store, "0000000000000b01", &ann, &[&helper]).await;
    let listed = store.bots().await.unwrap();
    assert_eq!(
        listed[0].rooms,
        vec![(room.clone(), "0000000000000b01".to_owned())]
    );
    assert_eq!((listed[0].tokens, listed[0].last_used_ms), (1, 0));

    // Its slash commands are offered in its rooms only, and replaced as a whole.
    let weather = BotCommand {
        name: "weather".into(),
        description: "The weather".into(),
        usage: "<city>".into(),
    };
    let echo = BotCommand {
        name: "echo".into(),
        description: "Says it again".into(),
        usage: String::new(),
    };
    store
        .set_bot_commands(bot, &[weather.clone(), echo.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.room_commands(&room).await.unwrap(),
        vec![
            ("helper".to_owned(), echo),
            ("helper".to_owned(), weather.clone())
        ]
    );
    assert!(
        store
            .room_commands(&RoomId::lobby())
            .await
            .unwrap()
            .is_empty()
    );
    store
        .set_bot_commands(bot, std::slice::from_ref(&weather))
        .await
        .unwrap();
    assert_eq!(
        store.room_commands(&room).await.unwrap(),
        vec![("helper".to_owned(), weather)]
    );

    // Deactivated, its token stops working; ending its tokens returns them.
    assert!(store.set_deactivated(bot, Some(60)).await.unwrap());
    assert!(store.bot_by_token(&[2; 32]).await.unwrap().is_none());
    assert!(store.bots().await.unwrap()[0].deactivated);
    assert!(
        store.room_commands(&room).await.unwrap().is_empty(),
        "a deactivated bot offers nothing"
    );
    assert_eq!(
        store.end_bot_tokens(bot).await.unwrap(),
        vec![vec![2u8; 32]]
    );
    assert!(store.end_bot_tokens(bot).await.unwrap().is_empty());
}

fn progress(through: Seq, attempts: u32, next: i64, leased_until: i64) -> WebhookProgress {
    WebhookProgress {
        delivered_through: through,
        attempts,
        next_attempt_ms: next,
        last_status: format!("{attempts} attempts"),
        delivered: u32::from(attempts == 0),
        failed: 0,
        leased_until_ms: leased_until,
        now_ms: 200,
    }
}

pub(super) async fn a_webhook_is_leased_to_one_node_and_resumes_where_delivery_stopped(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let room = group(&store, "0000000000000b02", &ann, &[]).await;
    let say = |body: &'static str| (None, message(body));
    store
        .append_all(&room, &ann, vec![say("before")], 5)
        .await
        .unwrap();
    let hook = NewWebhook {
        id: "wh_1".into(),
        room: room.clone(),
        url: "https://example.org/hook".into(),
        secret: "whsec_AAAA".into(),
        created_by: "ann".into(),
        created_ms: 6,
    };
    assert!(store.create_webhook(&hook).await.unwrap());
    let missing = NewWebhook {
        id: "wh_2".into(),
        room: RoomId("00000000000000ff".into()),
        ..hook.clone()
    };
    assert!(
        !store.create_webhook(&missing).await.unwrap(),
        "no webhook for a room that is not there"
    );
    let (row, name, last) = store.webhooks().await.unwrap().remove(0);
    assert_eq!(name, "0000000000000b02");
    assert_eq!(
        row.delivered_through, last,
        "a new webhook gets the events from now on"
    );
    assert_eq!(
        (row.url.as_str(), row.secret.as_str()),
        (hook.url.as_str(), "whsec_AAAA")
    );
    assert!(
        store
            .claim_webhooks("a", 100, 60_100, 8)
            .await
            .unwrap()
            .is_empty(),
        "nothing to deliver, nothing claimed"
    );

    store
        .append_all(&room, &ann, vec![say("one"), say("two")], 7)
        .await
        .unwrap();
    // Two nodes claim at once: one gets it.
    let (a, b) = tokio::join!(
        store.claim_webhooks("a", 100, 60_100, 8),
        store.claim_webhooks("b", 100, 60_100, 8)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "exactly one node holds the webhook");
    let (holder, other) = if a.len() == 1 { ("a", "b") } else { ("b", "a") };
    assert!(
        store
            .claim_webhooks(other, 200, 60_200, 8)
            .await
            .unwrap()
            .is_empty(),
        "a held lease is left alone"
    );
    let first = Seq(last.0 + 1);
    assert!(
        !store
            .webhook_progress("wh_1", other, &progress(first, 0, 0, 60_300))
            .await
            .unwrap(),
        "only the holder records progress"
    );
    assert!(
        store
            .webhook_progress("wh_1", holder, &progress(first, 0, 0, 60_300))
            .await
            .unwrap()
    );
    // The next event fails: retried at 5,000, the lease let go.
    assert!(
        store
            .webhook_progress("wh_1", holder, &progress(first, 1, 5_000, 0))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_webhooks(other, 1_000, 61_000, 8)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let resumed = store.claim_webhooks(other, 5_000, 65_000, 8).await.unwrap();
    assert_eq!(resumed.len(), 1, "due again: any node takes it");
    assert_eq!(
        (resumed[0].delivered_through, resumed[0].attempts),
        (first, 1),
        "where delivery stopped, with its failed attempts"
    );
    assert_eq!(resumed[0].last_status, "1 attempts");
    assert!(
        !store
            .webhook_progress("wh_1", holder, &progress(Seq(last.0 + 2), 0, 0, 0))
            .await
            .unwrap(),
        "the node that let it go cannot write any more"
    );
    let mut done = progress(Seq(last.0 + 2), 0, 0, 0);
    done.failed = 1;
    done.delivered = 0;
    assert!(store.webhook_progress("wh_1", other, &done).await.unwrap());
    assert!(
        store
            .claim_webhooks("a", 6_000, 66_000, 8)
            .await
            .unwrap()
            .is_empty(),
        "caught up"
    );
    let (row, _, newest) = store.webhooks().await.unwrap().remove(0);
    assert_eq!(row.delivered_through, newest);
    assert_eq!((row.delivered, row.failed), (1, 1));

    // A lease that ran out is taken over.
    store
        .append_all(&room, &ann, vec![say("three")], 8)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_webhooks("a", 7_000, 8_000, 8)
            .await
            .unwrap()
            .len(),
        1
    );
    let mut late = progress(Seq(last.0 + 3), 0, 0, 9_000);
    late.now_ms = 8_500;
    assert!(
        !store.webhook_progress("wh_1", "a", &late).await.unwrap(),
        "a lease that ran out holds nothing, even for the node that had it"
    );
    assert!(
        store
            .claim_webhooks("b", 7_500, 9_000, 8)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .claim_webhooks("b", 8_001, 9_000, 8)
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(store.delete_webhook("wh_1").await.unwrap());
    assert!(!store.delete_webhook("wh_1").await.unwrap());
    assert!(store.webhooks().await.unwrap().is_empty());
}

pub(super) async fn a_bot_made_first_leaves_the_first_person_the_administrator(
    store: Arc<dyn Storage>,
) {
    // The support desk makes its assistant when the server starts, before anyone signs up.
    let assistant = store.create_bot("assistant", "Assistant", 1).await.unwrap();
    assert!(
        !store.has_accounts().await.unwrap(),
        "a bot is not an account of a person"
    );
    assert!(!store.is_admin(assistant).await.unwrap());
    let first = user(&store, "ann").await;
    assert!(
        store.is_admin(first.id).await.unwrap(),
        "the first person runs the server"
    );
    assert!(store.has_accounts().await.unwrap());
    let second = user(&store, "bob").await;
    assert!(!store.is_admin(second.id).await.unwrap());
}
