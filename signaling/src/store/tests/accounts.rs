//! Accounts, sessions, two-factor, passkeys and single sign-on.

use super::*;

pub(super) async fn usernames_are_unique_and_found_whatever_their_case(store: Arc<dyn Storage>) {
    assert!(!store.has_accounts().await.unwrap());
    let ann = store.create_user("Ann", "h1", 1).await.unwrap();
    assert!(store.has_accounts().await.unwrap());
    assert!(matches!(
        store.create_user("aNN", "h2", 2).await,
        Err(StoreError::UsernameTaken)
    ));
    let found = store.find_user("ANN").await.unwrap().unwrap();
    assert_eq!(
        (
            found.id,
            found.username.as_str(),
            found.password_hash.as_str()
        ),
        (ann, "Ann", "h1"),
        "stored as chosen, found in any case"
    );
    assert_eq!(
        store.user_by_name("ann").await.unwrap(),
        Some(NamedUser {
            id: ann,
            name: "Ann".into()
        })
    );
    assert!(store.find_user("anne").await.unwrap().is_none());

    store.set_password_hash(ann, "h3").await.unwrap();
    assert_eq!(
        store.find_user("ann").await.unwrap().unwrap().password_hash,
        "h3"
    );

    let bo = user(&store, "bo").await;
    assert!(!store.is_admin(bo.id).await.unwrap());
    let missing = store
        .make_admins(&["BO".into(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(missing, ["nobody"]);
    assert!(
        store.is_admin(bo.id).await.unwrap(),
        "named in another case"
    );
}

pub(super) async fn only_the_first_account_signs_up_on_an_empty_server(store: Arc<dyn Storage>) {
    let tries: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create_first_user(&format!("u{i}"), "h", i).await })
        })
        .collect();
    let mut created = Vec::new();
    for task in tries {
        if let Some(id) = task.await.unwrap().unwrap() {
            created.push(id);
        }
    }
    assert_eq!(created.len(), 1, "exactly one of them, however many try");
    assert!(store.is_admin(created[0]).await.unwrap());
    let lobby = store.members(&RoomId::lobby()).await.unwrap();
    assert_eq!(lobby.len(), 1);
    assert_eq!(lobby[0].role, Role::Owner);
}

pub(super) async fn the_first_account_runs_the_lobby(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let role = |u: UserId| {
        let store = store.clone();
        async move {
            store
                .membership(&RoomId::lobby(), u)
                .await
                .unwrap()
                .unwrap()
                .role
        }
    };
    assert_eq!(role(ann.id).await, Role::Owner);
    assert_eq!(role(bo.id).await, Role::Member);
}

pub(super) async fn the_first_account_is_the_administrator(store: Arc<dyn Storage>) {
    let first = user(&store, "ann").await;
    let second = user(&store, "bo").await;
    assert!(store.is_admin(first.id).await.unwrap());
    assert!(!store.is_admin(second.id).await.unwrap());
}

pub(super) async fn session_use_moves_forward_and_idle_sessions_are_purged(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let far = 1_000_000;
    store
        .create_session(&[1], ann.id, 100, far, &SessionOrigin::default())
        .await
        .unwrap();
    store
        .create_session(&[2], ann.id, 100, far, &SessionOrigin::default())
        .await
        .unwrap();
    let last_used = |hash: u8| {
        let store = store.clone();
        async move {
            store
                .session_user(&[hash], 200)
                .await
                .unwrap()
                .unwrap()
                .last_used_ms
        }
    };
    assert_eq!(last_used(1).await, 100);
    store.touch_session(&[1], 500).await.unwrap();
    store.touch_session(&[1], 300).await.unwrap();
    assert_eq!(
        last_used(1).await,
        500,
        "a late write does not move it back"
    );

    // Idle since 400: session 2 (last used at 100) goes, session 1 (500) stays.
    assert_eq!(store.purge_expired_sessions(200, 400).await.unwrap(), 1);
    assert!(store.session_user(&[2], 200).await.unwrap().is_none());
    assert_eq!(last_used(1).await, 500);
}

pub(super) async fn sessions_are_listed_newest_first_and_ended(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let origin = |device: &str| SessionOrigin {
        device: device.into(),
        address: "192.0.2.1".into(),
    };
    for (hash, at) in [(1u8, 10), (2, 20), (3, 30)] {
        store
            .create_session(&[hash], ann.id, at, 1000, &origin(&format!("d{hash}")))
            .await
            .unwrap();
    }
    store
        .create_session(&[4], ann.id, 40, 50, &origin("old"))
        .await
        .unwrap();
    store
        .create_session(&[9], bo.id, 10, 1000, &origin("bo's"))
        .await
        .unwrap();
    store.touch_session(&[1], 60).await.unwrap();
    let listed = store.sessions_of(ann.id, 100).await.unwrap();
    let order: Vec<(u8, &str)> = listed
        .iter()
        .map(|s| (s.token_hash[0], s.origin.device.as_str()))
        .collect();
    assert_eq!(
        order,
        [(1, "d1"), (3, "d3"), (2, "d2")],
        "most recently used first; the expired one is not listed"
    );
    assert_eq!(listed[0].origin.address, "192.0.2.1");
    assert_eq!((listed[0].created_ms, listed[0].last_used_ms), (10, 60));
    let session = store.session_user(&[3], 100).await.unwrap().unwrap();
    assert_eq!(
        (
            session.user,
            session.username.as_str(),
            session.expires_at_ms
        ),
        (ann.id, "ann", 1000)
    );
    assert_eq!(session.created_ms, 30);

    assert!(!store.end_session(bo.id, &[1]).await.unwrap(), "not bo's");
    assert!(store.end_session(ann.id, &[2]).await.unwrap());
    let mut ended = store.end_sessions(ann.id, Some(&[3])).await.unwrap();
    ended.sort();
    assert_eq!(ended, [vec![1], vec![4]], "all but the one kept");
    assert!(store.session_user(&[3], 100).await.unwrap().is_some());
    store.delete_session(&[3]).await.unwrap();
    assert!(store.session_user(&[3], 100).await.unwrap().is_none());
    assert_eq!(store.end_sessions(bo.id, None).await.unwrap(), [vec![9]]);
}

pub(super) async fn two_factor_codes_and_recovery_codes_work_once(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    assert!(store.two_factor(ann.id).await.unwrap().is_none());
    assert!(store.begin_two_factor(ann.id, b"first").await.unwrap());
    assert!(
        store.begin_two_factor(ann.id, b"second").await.unwrap(),
        "set-up starts over"
    );
    let set_up = store.two_factor(ann.id).await.unwrap().unwrap();
    assert_eq!(
        (set_up.secret.as_slice(), set_up.enabled),
        (&b"second"[..], false)
    );
    assert!(
        !store.use_two_factor_step(ann.id, 5).await.unwrap(),
        "not on yet"
    );

    store
        .enable_two_factor(ann.id, 10, &[[1; 32], [2; 32], [3; 32]])
        .await
        .unwrap();
    assert!(store.two_factor(ann.id).await.unwrap().unwrap().enabled);
    assert!(
        !store.begin_two_factor(ann.id, b"third").await.unwrap(),
        "on: no new secret"
    );
    assert!(!store.use_two_factor_step(ann.id, 10).await.unwrap());
    assert!(store.use_two_factor_step(ann.id, 11).await.unwrap());
    assert!(
        !store.use_two_factor_step(ann.id, 11).await.unwrap(),
        "once"
    );
    assert!(!store.use_two_factor_step(ann.id, 9).await.unwrap());

    assert_eq!(store.recovery_codes_left(ann.id).await.unwrap(), 3);
    assert!(store.use_recovery_code(ann.id, &[2; 32]).await.unwrap());
    assert!(!store.use_recovery_code(ann.id, &[2; 32]).await.unwrap());
    assert!(!store.use_recovery_code(ann.id, &[7; 32]).await.unwrap());
    assert_eq!(store.recovery_codes_left(ann.id).await.unwrap(), 2);

    store.disable_two_factor(ann.id).await.unwrap();
    assert!(store.two_factor(ann.id).await.unwrap().is_none());
    assert_eq!(store.recovery_codes_left(ann.id).await.unwrap(), 0);
}

fn passkey(id: &[u8], name: &str) -> StoredPasskey {
    StoredPasskey {
        credential_id: id.to_vec(),
        name: name.into(),
        passkey: format!("{{\"key\":\"{name}\"}}"),
        created_ms: 5,
        last_used_ms: 0,
    }
}

pub(super) async fn a_passkey_belongs_to_one_account_and_their_number_is_capped(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    assert!(
        store
            .add_passkey(ann.id, &passkey(b"k1", "Phone"), 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_passkey(bo.id, &passkey(b"k1", "Stolen"), 2)
            .await
            .unwrap(),
        "a credential id is registered once, to one account"
    );
    assert!(
        store
            .add_passkey(ann.id, &passkey(b"k2", "Key"), 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_passkey(ann.id, &passkey(b"k3", "Third"), 2)
            .await
            .unwrap(),
        "the cap"
    );
    let names: Vec<String> = store
        .passkeys(ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Phone", "Key"]);
    assert!(store.passkeys(bo.id).await.unwrap().is_empty());

    store
        .passkey_used(b"k1", "{\"key\":\"counted\"}", 77)
        .await
        .unwrap();
    let used = &store.passkeys(ann.id).await.unwrap()[0];
    assert_eq!(
        (used.passkey.as_str(), used.last_used_ms),
        ("{\"key\":\"counted\"}", 77)
    );

    assert!(
        !store.remove_passkey(bo.id, b"k1").await.unwrap(),
        "only its owner removes it"
    );
    assert!(store.remove_passkey(ann.id, b"k1").await.unwrap());
    assert_eq!(store.passkeys(ann.id).await.unwrap().len(), 1);
    store.forget_account(ann.id).await.unwrap();
    assert!(
        store.passkeys(ann.id).await.unwrap().is_empty(),
        "deleted with the account"
    );

    // Registrations at once do not pass the cap together.
    let cy = user(&store, "cy").await;
    let tries: Vec<_> = (0..6u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.add_passkey(cy.id, &passkey(&[i], "k"), 3).await })
        })
        .collect();
    let mut added = 0;
    for task in tries {
        added += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(added, 3);
    assert_eq!(store.passkeys(cy.id).await.unwrap().len(), 3);
}

pub(super) async fn a_ceremony_is_taken_once_by_its_kind_before_it_expires(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    store
        .put_ceremony(b"h1", ann.id, CeremonyKind::Register, "s1", 100)
        .await
        .unwrap();
    store
        .put_ceremony(b"h2", ann.id, CeremonyKind::LogIn, "s2", 100)
        .await
        .unwrap();
    store
        .put_ceremony(b"h3", ann.id, CeremonyKind::LogIn, "s3", 100)
        .await
        .unwrap();
    assert_eq!(
        store
            .take_ceremony(b"h1", CeremonyKind::LogIn, 50)
            .await
            .unwrap(),
        None,
        "a registration is no log-in"
    );
    assert_eq!(
        store
            .take_ceremony(b"h1", CeremonyKind::Register, 50)
            .await
            .unwrap(),
        Some((ann.id, "s1".into()))
    );
    assert_eq!(
        store
            .take_ceremony(b"h1", CeremonyKind::Register, 50)
            .await
            .unwrap(),
        None,
        "once"
    );
    assert_eq!(
        store
            .take_ceremony(b"h2", CeremonyKind::LogIn, 100)
            .await
            .unwrap(),
        None,
        "expired"
    );
    store.purge_expired_sessions(100, 0).await.unwrap();
    assert_eq!(
        store
            .take_ceremony(b"h3", CeremonyKind::LogIn, 50)
            .await
            .unwrap(),
        None,
        "purged"
    );
}

pub(super) async fn an_account_keeps_a_few_ceremonies_and_the_newest_win(store: Arc<dyn Storage>) {
    let kept = crate::store::columns::CEREMONIES_PER_USER;
    let ann = user(&store, "ann").await;
    for i in 0..(kept as i64 + 3) {
        let id = format!("h{i}");
        store
            .put_ceremony(id.as_bytes(), ann.id, CeremonyKind::LogIn, "s", 1000 + i)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .take_ceremony(b"h0", CeremonyKind::LogIn, 0)
            .await
            .unwrap(),
        None,
        "the oldest went"
    );
    let newest = format!("h{}", kept + 2);
    assert!(
        store
            .take_ceremony(newest.as_bytes(), CeremonyKind::LogIn, 0)
            .await
            .unwrap()
            .is_some()
    );
}

fn sso_login(state: &str, created_ms: i64) -> SsoLogin {
    SsoLogin {
        state: state.into(),
        browser_hash: [7; 32],
        pkce_verifier: format!("verifier-{state}"),
        nonce: format!("nonce-{state}"),
        created_ms,
    }
}

pub(super) async fn a_pending_single_sign_on_is_taken_once_and_their_number_is_bounded(
    store: Arc<dyn Storage>,
) {
    assert!(
        store
            .add_sso_login(&sso_login("a", 100), 0, 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_sso_login(&sso_login("b", 200), 0, 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_sso_login(&sso_login("c", 300), 0, 2)
            .await
            .unwrap(),
        "two are pending already"
    );
    assert_eq!(
        store.take_sso_login("a").await.unwrap(),
        Some(sso_login("a", 100))
    );
    assert_eq!(store.take_sso_login("a").await.unwrap(), None, "once only");
    assert_eq!(store.take_sso_login("c").await.unwrap(), None);

    // Adding sweeps the expired ones first: "b" (200) goes, so "d" fits.
    assert!(
        store
            .add_sso_login(&sso_login("x", 300), 0, 3)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_sso_login(&sso_login("d", 400), 200, 2)
            .await
            .unwrap()
    );
    assert_eq!(store.take_sso_login("b").await.unwrap(), None);
    assert!(store.take_sso_login("d").await.unwrap().is_some());
}

pub(super) async fn a_single_sign_on_identity_finds_its_account_until_the_account_is_deleted(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    assert!(matches!(
        store
            .create_sso_user("https://idp", "sub-1", "ANN", "h", 5)
            .await,
        Err(StoreError::UsernameTaken)
    ));
    assert_eq!(
        store.sso_user("https://idp", "sub-1").await.unwrap(),
        None,
        "a refused account links nothing"
    );
    let linked = store
        .create_sso_user("https://idp", "sub-1", "ann2", "h", 5)
        .await
        .unwrap();
    assert_ne!(linked, ann.id);
    assert!(store.has_sso_identity(linked).await.unwrap());
    assert!(!store.has_sso_identity(ann.id).await.unwrap());
    let found = store.sso_user("https://idp", "sub-1").await.unwrap();
    assert_eq!(
        found,
        Some(NamedUser {
            id: linked,
            name: "ann2".into()
        })
    );
    assert_eq!(
        store.sso_user("https://other", "sub-1").await.unwrap(),
        None
    );
    let members = store.members(&RoomId::lobby()).await.unwrap();
    assert_eq!(members.len(), 2, "the new account is in the lobby");
    assert!(
        store
            .create_sso_user("https://idp", "sub-1", "ann3", "h", 6)
            .await
            .is_err(),
        "one account per identity"
    );
    assert!(store.user_by_name("ann3").await.unwrap().is_none());

    store.forget_account(linked).await.unwrap();
    assert_eq!(store.sso_user("https://idp", "sub-1").await.unwrap(), None);
    assert!(!store.has_sso_identity(linked).await.unwrap());
}

pub(super) async fn display_names_show_in_member_lists_and_go_with_the_account(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    store.set_display_name(ann.id, "Ann A.").await.unwrap();
    assert_eq!(store.display_name(ann.id).await.unwrap(), "Ann A.");
    let members = store.members(&RoomId::lobby()).await.unwrap();
    assert_eq!(members[0].display_name, "Ann A.");
    store.forget_account(ann.id).await.unwrap();
    assert_eq!(store.display_name(ann.id).await.unwrap(), "");
}

pub(super) async fn a_deleted_account_frees_its_name_and_leaves_its_events(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let lobby = RoomId::lobby();
    let room = group(&store, "00000000000000a1", &bo, &[&ann]).await;
    let first = store
        .append(&lobby, &ann, None, message("one"), 5)
        .await
        .unwrap();
    let gone = store
        .append(&room, &ann, None, message("two"), 6)
        .await
        .unwrap();
    store
        .append(&room, &ann, None, Draft::Delete { target: gone.seq }, 7)
        .await
        .unwrap();
    let third = store
        .append(&room, &ann, None, message("three"), 8)
        .await
        .unwrap();
    store
        .append(&lobby, &bo, None, message("bo's"), 9)
        .await
        .unwrap();
    assert_eq!(
        store.live_messages_of(ann.id).await.unwrap(),
        [(room.clone(), third.seq), (lobby.clone(), first.seq)],
        "not deleted ones, by room then seq"
    );

    store
        .create_session(&[1], ann.id, 1, 1000, &SessionOrigin::default())
        .await
        .unwrap();
    store.set_blocked(ann.id, bo.id, true, 1).await.unwrap();
    store.set_blocked(bo.id, ann.id, true, 1).await.unwrap();
    store.begin_two_factor(ann.id, b"s").await.unwrap();
    store
        .create_invite(&[5], &room, ann.id, 1, 1000)
        .await
        .unwrap();
    store.forget_account(ann.id).await.unwrap();

    assert!(store.find_user("ann").await.unwrap().is_none());
    assert!(store.session_user(&[1], 2).await.unwrap().is_none());
    assert!(store.blocked_by(bo.id).await.unwrap().is_empty());
    assert!(store.two_factor(ann.id).await.unwrap().is_none());
    assert_eq!(store.invite_room(&[5], 2).await.unwrap(), None);
    assert!(!store.is_admin(ann.id).await.unwrap());
    let renamed = format!("deleted-{}", ann.id.0);
    assert!(store.user_by_name(&renamed).await.unwrap().is_some());
    // The timeline keeps the events, under the row's new name.
    let (events, _) = store
        .events_after(&lobby, Seq(first.seq.0 - 1), 1)
        .await
        .unwrap();
    assert_eq!(events[0].sender, renamed);
    // The name is free again.
    let again = user(&store, "ANN").await;
    assert_ne!(again.id, ann.id);
}
