//! Files left on the server: uploads within quotas, sealing, who may read, what a message
//! carries, and what the collector takes.

use super::*;

fn file(id: &str, owner: &NamedUser, room: &RoomId, size: u64, at: i64) -> StoredFile {
    StoredFile {
        id: id.into(),
        owner: owner.id,
        room: room.clone(),
        name: format!("{id}.bin"),
        size,
        mime: "application/octet-stream".into(),
        hash: None,
        thumb: None,
        width: None,
        height: None,
        released: false,
        carried: false,
        created_ms: at,
    }
}

fn sealed(hash: &str) -> SealedFile {
    SealedFile {
        hash: hash.into(),
        mime: "image/png".into(),
        thumb: Some(format!("{hash}-thumb")),
        width: Some(640),
        height: Some(480),
    }
}

pub(super) async fn uploads_respect_quotas_and_only_members_read_sent_files(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let room = group(&store, "files", &ann, &[&bo]).await;

    // Quota: 100 bytes; at most 2 unfinished.
    let f1 = file("f1", &ann, &room, 60, 10);
    assert_eq!(store.create_upload(&f1, 100, 2).await.unwrap(), Ok(()));
    assert_eq!(
        store
            .create_upload(&file("f2", &ann, &room, 50, 11), 100, 2)
            .await
            .unwrap(),
        Err(UploadRefused::Quota { used: 60 })
    );
    assert!(
        store.stored_file("f2").await.unwrap().is_none(),
        "refused leaves no row"
    );
    assert_eq!(
        store
            .create_upload(&file("f3", &ann, &room, 10, 12), 100, 2)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store
            .create_upload(&file("f4", &ann, &room, 10, 13), 100, 2)
            .await
            .unwrap(),
        Err(UploadRefused::TooManyOpen)
    );
    assert_eq!(store.media_used(ann.id).await.unwrap(), 70);
    assert_eq!(store.stored_file("f1").await.unwrap(), Some(f1.clone()));

    // Nobody reads an unfinished upload; once sealed, only its owner until it is sent.
    assert!(store.readable_file("f1", ann.id).await.unwrap().is_none());
    assert!(store.seal_upload("f1", &sealed("aa")).await.unwrap());
    assert!(
        !store.seal_upload("f1", &sealed("bb")).await.unwrap(),
        "sealed once"
    );
    let mine = store.readable_file("f1", ann.id).await.unwrap().unwrap();
    assert_eq!(mine.hash.as_deref(), Some("aa"));
    assert_eq!((mine.width, mine.height), (Some(640), Some(480)));
    assert!(store.readable_file("f1", bo.id).await.unwrap().is_none());

    // A message carries it: members read it, others do not; it reads back with the message.
    let draft = Draft::Message {
        body: String::new(),
        reply_to: None,
        mentions: Vec::new(),
        attachment: Some(mine.attachment()),
    };
    let event = store
        .append(&room, &ann, Some(&ClientMsgId("m1".into())), draft, 20)
        .await
        .unwrap();
    let stored = store.event_at(&room, event.seq).await.unwrap().unwrap();
    assert_eq!(stored, event);
    assert!(matches!(
        &stored.kind,
        shared::events::EventKind::Message { attachment: Some(a), .. } if a.id == "f1" && a.width == Some(640)
    ));
    assert!(store.stored_file("f1").await.unwrap().unwrap().carried);
    // The room list's preview names the file of a message without text.
    let summary = store.room_summary(&room, bo.id).await.unwrap().unwrap();
    assert_eq!(summary.last_message.unwrap().text, "📎 f1.bin");
    assert!(store.readable_file("f1", bo.id).await.unwrap().is_some());
    assert!(store.readable_file("f1", cy.id).await.unwrap().is_none());
    // A carried file is not the owner's to discard any more; an unsent one is.
    assert!(store.discard_upload("f1", ann.id).await.unwrap().is_none());
    assert!(store.discard_upload("f3", bo.id).await.unwrap().is_none());
    assert_eq!(
        store
            .discard_upload("f3", ann.id)
            .await
            .unwrap()
            .map(|f| f.id),
        Some("f3".to_owned())
    );
    assert_eq!(store.media_used(ann.id).await.unwrap(), 60);

    // Group commits carry files too.
    let f5 = file("f5", &ann, &room, 5, 30);
    store.create_upload(&f5, 100, 2).await.unwrap().unwrap();
    store.seal_upload("f5", &sealed("aa")).await.unwrap();
    let f5 = store.stored_file("f5").await.unwrap().unwrap();
    let mut message = pending(&room, &ann, "m2");
    message.attachment = Some(f5.attachment());
    let appended = store.append_messages(&[message], 40).await.unwrap();
    let Appended::New(event) = &appended[0] else {
        panic!("stored: {appended:?}");
    };
    assert_eq!(
        store.event_at(&room, event.seq).await.unwrap().as_ref(),
        Some(event)
    );
    assert!(store.readable_file("f5", bo.id).await.unwrap().is_some());
}

pub(super) async fn deleted_messages_and_stale_uploads_are_collected(store: Arc<dyn Storage>) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let room = group(&store, "files", &ann, &[&bo]).await;
    for (id, at) in [("sent", 10), ("stale", 20), ("fresh", 1_000)] {
        store
            .create_upload(&file(id, &ann, &room, 1, at), 100, 10)
            .await
            .unwrap()
            .unwrap();
        store.seal_upload(id, &sealed("same")).await.unwrap();
    }
    let sent = store.stored_file("sent").await.unwrap().unwrap();
    let draft = Draft::Message {
        body: "here".into(),
        reply_to: None,
        mentions: Vec::new(),
        attachment: Some(sent.attachment()),
    };
    let message = store
        .append(&room, &ann, Some(&ClientMsgId("m1".into())), draft, 30)
        .await
        .unwrap();

    // Uploads older than the cut-off that no message carries go; sent and fresh ones stay.
    let gone = store.collect_files(500, 100).await.unwrap();
    assert_eq!(
        gone.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["stale"]
    );
    assert!(
        store.blob_in_use("same").await.unwrap(),
        "others hold the same content"
    );
    assert!(store.blob_in_use("same-thumb").await.unwrap());

    // Deleting the message releases its file at once: nobody reads it, the collector takes it.
    let delete = Draft::Delete {
        target: message.seq,
    };
    store
        .append(&room, &ann, Some(&ClientMsgId("d1".into())), delete, 40)
        .await
        .unwrap();
    assert!(store.readable_file("sent", bo.id).await.unwrap().is_none());
    assert!(store.readable_file("sent", ann.id).await.unwrap().is_none());
    let tombstone = store.event_at(&room, message.seq).await.unwrap().unwrap();
    assert!(matches!(
        tombstone.kind,
        shared::events::EventKind::Message {
            attachment: None,
            deleted: true,
            ..
        }
    ));
    let gone = store.collect_files(500, 100).await.unwrap();
    assert_eq!(
        gone.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["sent"]
    );
    assert!(
        store.blob_in_use("same").await.unwrap(),
        "the fresh upload holds it"
    );

    // Two messages that raced to carry one upload: deleting one leaves the other its file.
    let fresh = store.stored_file("fresh").await.unwrap().unwrap();
    let mut carried = Vec::new();
    for key in ["t1", "t2"] {
        let draft = Draft::Message {
            body: String::new(),
            reply_to: None,
            mentions: Vec::new(),
            attachment: Some(fresh.attachment()),
        };
        let event = store
            .append(&room, &ann, Some(&ClientMsgId(key.into())), draft, 50)
            .await
            .unwrap();
        carried.push(event.seq);
    }
    for (key, target, readable) in [("d2", carried[0], true), ("d3", carried[1], false)] {
        let delete = Draft::Delete { target };
        store
            .append(&room, &ann, Some(&ClientMsgId(key.into())), delete, 60)
            .await
            .unwrap();
        assert_eq!(
            store.readable_file("fresh", bo.id).await.unwrap().is_some(),
            readable
        );
    }
    let gone = store.collect_files(2_000, 100).await.unwrap();
    assert_eq!(gone.len(), 1);
    assert!(!store.blob_in_use("same").await.unwrap());
    assert!(!store.blob_in_use("same-thumb").await.unwrap());
    assert_eq!(store.media_used(ann.id).await.unwrap(), 0);
}

pub(super) async fn pictures_belong_to_accounts_and_rooms_and_hold_their_blobs(
    store: Arc<dyn Storage>,
) {
    let ann = user(&store, "ann").await;
    let bo = user(&store, "bo").await;
    let cy = user(&store, "cy").await;
    let room = group(&store, "pics", &ann, &[&bo]).await;
    assert_eq!(
        store.set_user_avatar(ann.id, Some("p1")).await.unwrap(),
        None
    );
    assert_eq!(
        store.set_user_avatar(ann.id, Some("p2")).await.unwrap(),
        Some("p1".to_owned())
    );
    assert!(!store.blob_in_use("p1").await.unwrap());
    assert!(store.blob_in_use("p2").await.unwrap());
    // Found whatever the case; to those who share a room when the directory is closed.
    assert_eq!(
        store.user_avatar("ANN", bo.id, true).await.unwrap(),
        Some("p2".to_owned())
    );
    assert_eq!(
        store.user_avatar("ann", ann.id, true).await.unwrap(),
        Some("p2".to_owned())
    );
    assert_eq!(
        store.user_avatar("ann", cy.id, false).await.unwrap(),
        Some("p2".to_owned())
    );
    let cy_alone = store.user_avatar("ann", cy.id, true).await.unwrap();
    // Everyone shares the lobby, so only an account outside it would be refused; none is.
    assert_eq!(cy_alone, Some("p2".to_owned()));
    assert_eq!(
        store.user_avatar("nobody", bo.id, false).await.unwrap(),
        None
    );
    assert_eq!(
        store.set_user_avatar(ann.id, None).await.unwrap(),
        Some("p2".to_owned())
    );
    assert_eq!(store.user_avatar("ann", bo.id, false).await.unwrap(), None);

    assert_eq!(
        store.set_room_avatar(&room, Some("r1")).await.unwrap(),
        None
    );
    assert_eq!(
        store.room_avatar(&room).await.unwrap(),
        Some("r1".to_owned())
    );
    assert!(store.blob_in_use("r1").await.unwrap());
    assert_eq!(
        store.set_room_avatar(&room, None).await.unwrap(),
        Some("r1".to_owned())
    );
    assert_eq!(store.room_avatar(&room).await.unwrap(), None);
}

pub(super) async fn link_previews_are_kept_replaced_and_forgotten(store: Arc<dyn Storage>) {
    let preview = |url: &str, at: i64, image: Option<Vec<u8>>| LinkPreview {
        url: url.into(),
        ok: true,
        title: format!("title of {url}"),
        description: "words".into(),
        site: "site".into(),
        image,
        fetched_ms: at,
    };
    assert_eq!(
        store.link_preview("https://a.example/").await.unwrap(),
        None
    );
    let first = preview("https://a.example/", 10, Some(vec![0xff, 0xd8, 1, 2, 3]));
    store.put_link_preview(&first).await.unwrap();
    assert_eq!(
        store.link_preview("https://a.example/").await.unwrap(),
        Some(first)
    );
    let failed = LinkPreview {
        ok: false,
        image: None,
        ..preview("https://a.example/", 20, None)
    };
    store.put_link_preview(&failed).await.unwrap();
    assert_eq!(
        store.link_preview("https://a.example/").await.unwrap(),
        Some(failed)
    );
    store
        .put_link_preview(&preview("https://b.example/", 30, None))
        .await
        .unwrap();
    assert_eq!(store.forget_link_previews(25).await.unwrap(), 1);
    assert!(
        store
            .link_preview("https://a.example/")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .link_preview("https://b.example/")
            .await
            .unwrap()
            .is_some()
    );
}
