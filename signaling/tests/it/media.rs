//! Files left on the server: resumable uploads, who may fetch them, how they are served,
//! quotas, and what happens to them when their message is deleted or never sent.

use crate::harness::{Client, TestServer, spawn_server};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::events::{Attachment, Event, EventKind};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId, Seq};
use std::path::Path;
use std::time::Duration;

/// A user's cookie and socket.
struct User {
    cookie: String,
    socket: Client,
}

async fn user(server: &TestServer, name: &str) -> User {
    let cookie = server.create_user(name).await;
    let socket = server.connect(&cookie).await;
    User { cookie, socket }
}

/// `alice` and `bob` in a room; `carol` is not in it.
async fn room_of_two(server: &TestServer) -> (User, User, User, RoomId) {
    let mut alice = user(server, "alice").await;
    let bob = user(server, "bob").await;
    let carol = user(server, "carol").await;
    let room = alice.socket.create_room("files").await;
    alice.socket.add(&room, "bob").await.unwrap();
    (alice, bob, carol, room)
}

pub async fn start_upload(
    server: &TestServer,
    cookie: &str,
    room: &RoomId,
    name: &str,
    size: usize,
    mime: &str,
) -> reqwest::Response {
    server
        .http
        .post(format!("{}/api/rooms/{}/uploads", server.base, room.0))
        .header("Cookie", cookie)
        .header("Origin", server.origin())
        .json(&json!({"name": name, "size": size, "mime": mime}))
        .send()
        .await
        .unwrap()
}

pub async fn patch(
    server: &TestServer,
    cookie: &str,
    id: &str,
    offset: usize,
    chunk: &[u8],
) -> reqwest::Response {
    server
        .http
        .patch(format!("{}/api/uploads/{id}", server.base))
        .header("Cookie", cookie)
        .header("Origin", server.origin())
        .header("Upload-Offset", offset.to_string())
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap()
}

pub async fn get(server: &TestServer, cookie: Option<&str>, path: &str) -> reqwest::Response {
    let mut request = server.http.get(format!("{}{path}", server.base));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap()
}

/// Uploads `bytes` in one chunk; returns the attachment.
async fn upload(
    server: &TestServer,
    cookie: &str,
    room: &RoomId,
    name: &str,
    bytes: &[u8],
    mime: &str,
) -> Attachment {
    let started = start_upload(server, cookie, room, name, bytes.len(), mime).await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let id = started.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = patch(server, cookie, &id, 0, bytes).await;
    assert_eq!(done.status(), StatusCode::OK);
    let done: Value = done.json().await.unwrap();
    serde_json::from_value(done["attachment"].clone()).expect("complete upload")
}

async fn send_with(
    socket: &mut Client,
    room: &RoomId,
    client_id: &str,
    attachment: &str,
) -> Result<Event, ErrorCode> {
    let message = ClientMessage::Send {
        room: room.clone(),
        client_id: ClientMsgId(client_id.into()),
        body: String::new(),
        reply_to: None,
        attachment: Some(attachment.to_owned()),
    };
    socket.request(client_id, message).await
}

pub fn carried(event: &Event) -> Option<&Attachment> {
    match &event.kind {
        EventKind::Message { attachment, .. } => attachment.as_deref(),
        _ => None,
    }
}

fn blob_count(dir: &Path) -> usize {
    let root = dir.join("media").join("sha256");
    std::fs::read_dir(root)
        .map(|dirs| {
            dirs.flatten()
                .map(|d| std::fs::read_dir(d.path()).map_or(0, |f| f.count()))
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_file_left_for_a_room_resumes_and_reaches_its_members_only() {
    let server = TestServer::start().await;
    let (mut alice, mut bob, carol, room) = room_of_two(&server).await;
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();

    let started = start_upload(
        &server,
        &alice.cookie,
        &room,
        "../notes.bin",
        content.len(),
        "",
    )
    .await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let id = started.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Someone else cannot add to it or see it.
    let foreign = patch(&server, &bob.cookie, &id, 0, &content[..10]).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    // The first half arrives; the connection "breaks"; the client asks where to resume.
    let half = content.len() / 2;
    let first = patch(&server, &alice.cookie, &id, 0, &content[..half]).await;
    assert_eq!(first.status(), StatusCode::OK);
    let status: Value = get(&server, Some(&alice.cookie), &format!("/api/uploads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["offset"], half);
    assert!(status.get("attachment").is_none());
    // A chunk resent from the wrong place is refused, and nothing is written twice.
    let wrong = patch(&server, &alice.cookie, &id, 0, &content[..half]).await;
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    let rest = patch(&server, &alice.cookie, &id, half, &content[half..]).await;
    assert_eq!(rest.status(), StatusCode::OK);
    let done: Value = rest.json().await.unwrap();
    let attachment: Attachment = serde_json::from_value(done["attachment"].clone()).unwrap();
    assert_eq!(
        attachment.name, "notes.bin",
        "the path is dropped from the name"
    );
    assert_eq!(attachment.size, content.len() as u64);
    assert_eq!(attachment.mime, "application/octet-stream");

    // Before a message carries it, only its owner can fetch it.
    let path = format!("/api/attachments/{id}");
    assert_eq!(get(&server, Some(&bob.cookie), &path).await.status(), 404);
    assert_eq!(get(&server, Some(&alice.cookie), &path).await.status(), 200);

    let event = send_with(&mut alice.socket, &room, "file-1", &id)
        .await
        .unwrap();
    assert_eq!(carried(&event), Some(&attachment));
    let seen = bob
        .socket
        .wait_for(|m| match m {
            ServerMessage::Event { event } if carried(&event).is_some() => Some(event),
            _ => None,
        })
        .await;
    assert_eq!(carried(&seen), Some(&attachment));
    // The history serves it too (after a reload).
    let history = bob.socket.catch_up(&room, Seq(0), 50).await;
    assert!(history.iter().any(|e| carried(e) == Some(&attachment)));

    let fetched = get(&server, Some(&bob.cookie), &path).await;
    assert_eq!(fetched.status(), 200);
    let headers = fetched.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "private, no-cache");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), content.as_slice());
    // A copy the reader has is confirmed without the bytes.
    let again = server
        .http
        .get(format!("{}{path}", server.base))
        .header("Cookie", &bob.cookie)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Someone outside the room, and someone not logged in, get nothing.
    assert_eq!(get(&server, Some(&carol.cookie), &path).await.status(), 404);
    assert_eq!(get(&server, None, &path).await.status(), 401);
    // Carol cannot leave files in a room she is not in either.
    let outside = start_upload(&server, &carol.cookie, &room, "x", 3, "").await;
    assert_eq!(outside.status(), 404);
    // Nor send a message carrying Alice's file (in a room of hers, or this one).
    let mut carol_socket = carol.socket;
    let stolen = send_with(&mut carol_socket, &RoomId::lobby(), "steal", &id).await;
    assert_eq!(stolen, Err(ErrorCode::InvalidMessage));
    // And Alice cannot send it twice.
    let twice = send_with(&mut alice.socket, &room, "file-2", &id).await;
    assert_eq!(twice, Err(ErrorCode::InvalidMessage));
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::ImageBuffer::from_pixel(width, height, image::Rgb([200u8, 30, 30]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[tokio::test]
async fn images_are_recognised_by_their_bytes_and_get_a_thumbnail() {
    let server = TestServer::start().await;
    let (mut alice, bob, _carol, room) = room_of_two(&server).await;
    // Declared as HTML: what counts is what the bytes are.
    let photo = upload(
        &server,
        &alice.cookie,
        &room,
        "photo.png",
        &png(1200, 800),
        "text/html",
    )
    .await;
    assert_eq!(photo.mime, "image/png");
    assert_eq!((photo.width, photo.height), (Some(1200), Some(800)));
    send_with(&mut alice.socket, &room, "photo", &photo.id)
        .await
        .unwrap();

    let full = get(
        &server,
        Some(&bob.cookie),
        &format!("/api/attachments/{}", photo.id),
    )
    .await;
    assert_eq!(full.headers()["content-type"], "image/png");
    assert!(
        full.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    let thumb = get(
        &server,
        Some(&bob.cookie),
        &format!("/api/attachments/{}/thumb", photo.id),
    )
    .await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (480, 320));

    // A page dressed as an image is a download, never a page of this origin.
    let page = b"<html><script>alert(document.cookie)</script></html>";
    let trap = upload(
        &server,
        &alice.cookie,
        &room,
        "cat.png.html",
        page,
        "text/html",
    )
    .await;
    assert_eq!(trap.mime, "application/octet-stream");
    assert_eq!(trap.width, None);
    send_with(&mut alice.socket, &room, "trap", &trap.id)
        .await
        .unwrap();
    let served = get(
        &server,
        Some(&bob.cookie),
        &format!("/api/attachments/{}", trap.id),
    )
    .await;
    assert_eq!(served.headers()["content-type"], "application/octet-stream");
    assert!(
        served.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let no_thumb = get(
        &server,
        Some(&bob.cookie),
        &format!("/api/attachments/{}/thumb", trap.id),
    )
    .await;
    assert_eq!(no_thumb.status(), 404);
    // A voice note keeps its audio type, so the page can play it.
    let voice = upload(
        &server,
        &alice.cookie,
        &room,
        "voice.webm",
        b"\x1aE\xdf\xa3",
        "audio/webm;codecs=opus",
    )
    .await;
    assert_eq!(voice.mime, "audio/webm");
}

#[tokio::test]
async fn files_and_accounts_have_limits() {
    let server = TestServer::start_with(|c| {
        c.max_upload_mb = 1;
        c.upload_quota_mb = 2;
    })
    .await;
    let (alice, _bob, _carol, room) = room_of_two(&server).await;
    const MB: usize = 1024 * 1024;
    let limits: Value = get(&server, Some(&alice.cookie), "/api/media")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(limits["max_file"], MB);
    assert_eq!(limits["quota"], 2 * MB);

    let too_big = start_upload(&server, &alice.cookie, &room, "big", MB + 1, "").await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let said: Value = too_big.json().await.unwrap();
    assert!(said["message"].as_str().unwrap().contains("1 MB"), "{said}");

    let first = start_upload(&server, &alice.cookie, &room, "a", MB, "").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_id = first.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = start_upload(&server, &alice.cookie, &room, "b", MB, "").await;
    assert_eq!(second.status(), StatusCode::CREATED);
    // Unfinished uploads count: a third would pass the quota.
    let third = start_upload(&server, &alice.cookie, &room, "c", 10, "").await;
    assert_eq!(third.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A chunk may not run past the declared size.
    let past = patch(&server, &alice.cookie, &first_id, 0, &vec![0; MB + 1]).await;
    assert!(past.status().is_client_error());
    // Giving one up makes room.
    let dropped = server
        .http
        .delete(format!("{}/api/uploads/{first_id}", server.base))
        .header("Cookie", &alice.cookie)
        .header("Origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(dropped.status(), StatusCode::NO_CONTENT);
    let third = start_upload(&server, &alice.cookie, &room, "c", 10, "").await;
    assert_eq!(third.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn deleting_the_message_deletes_the_file_unless_another_message_holds_it() {
    let server = TestServer::start().await;
    let (mut alice, bob, _carol, room) = room_of_two(&server).await;
    let bytes = b"the same bytes twice".to_vec();
    let one = upload(&server, &alice.cookie, &room, "one.txt", &bytes, "").await;
    let two = upload(&server, &alice.cookie, &room, "two.txt", &bytes, "").await;
    let first = send_with(&mut alice.socket, &room, "one", &one.id)
        .await
        .unwrap();
    send_with(&mut alice.socket, &room, "two", &two.id)
        .await
        .unwrap();
    assert_eq!(blob_count(server.dir.path()), 1, "one content, one blob");

    let delete = ClientMessage::Delete {
        room: room.clone(),
        client_id: ClientMsgId("del-one".into()),
        target: first.seq,
    };
    let deleted = alice.socket.request("del-one", delete).await.unwrap();
    assert_eq!(deleted.seq, Seq(first.seq.0 + 2));
    assert_eq!(
        get(
            &server,
            Some(&bob.cookie),
            &format!("/api/attachments/{}", one.id)
        )
        .await
        .status(),
        404
    );
    // The tombstone carries no file.
    let history = alice.socket.catch_up(&room, Seq(0), 50).await;
    let tombstone = history.iter().find(|e| e.seq == first.seq).unwrap();
    assert_eq!(carried(tombstone), None);
    // The other message still has its copy.
    let kept = get(
        &server,
        Some(&bob.cookie),
        &format!("/api/attachments/{}", two.id),
    )
    .await;
    assert_eq!(kept.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_eq!(blob_count(server.dir.path()), 1);
}

#[tokio::test]
async fn a_crash_between_upload_and_message_leaves_nothing_anyone_else_sees() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, server) = spawn_server(dir, &[]);
    let (alice, bob, _carol, room) = room_of_two(&server).await;
    let file = upload(&server, &alice.cookie, &room, "lost.txt", b"never sent", "").await;
    child.kill().unwrap();
    child.wait().unwrap();
    drop((alice.socket, bob.socket));

    let TestServer { dir, .. } = server;
    let (mut child, server) = spawn_server(dir, &[]);
    let path = format!("/api/attachments/{}", file.id);
    assert_eq!(get(&server, Some(&bob.cookie), &path).await.status(), 404);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(blob_count(server.dir.path()), 1);

    // The collector removes it once it is stale (a day; here, now).
    let store = signaling::store::open(None, server.dir.path())
        .await
        .unwrap();
    let blobs = signaling::media::blobs::FsBlobs::open(&server.dir.path().join("media")).unwrap();
    let media =
        signaling::media::Media::new(std::sync::Arc::new(blobs), 1 << 20, 1 << 20, Duration::ZERO);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let gone = signaling::media::collect(store.as_ref(), &media, now - 60_000)
        .await
        .unwrap();
    assert_eq!(gone, 0, "a fresh upload is kept for its sender to send");
    let gone = signaling::media::collect(store.as_ref(), &media, now + 1)
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert_eq!(blob_count(server.dir.path()), 0);
    assert!(store.stored_file(&file.id).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(10)).await;
}

async fn put_picture(
    server: &TestServer,
    cookie: &str,
    path: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    server
        .http
        .put(format!("{}{path}", server.base))
        .header("Cookie", cookie)
        .header("Origin", server.origin())
        .body(bytes)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pictures_of_accounts_and_rooms_are_squares_made_by_the_server() {
    let server = TestServer::start().await;
    let (alice, bob, carol, room) = room_of_two(&server).await;

    // Without one, a drawn initial (the same for an account that does not exist).
    let drawn = get(&server, Some(&bob.cookie), "/api/avatars/alice").await;
    assert_eq!(drawn.status(), 200);
    assert_eq!(drawn.headers()["content-type"], "image/svg+xml");
    assert!(drawn.text().await.unwrap().contains(">A</text>"));
    let nobody = get(&server, Some(&bob.cookie), "/api/avatars/nobody").await;
    assert_eq!(nobody.headers()["content-type"], "image/svg+xml");
    assert_eq!(get(&server, None, "/api/avatars/alice").await.status(), 401);

    let refused = put_picture(&server, &alice.cookie, "/api/avatar", b"<svg/>".to_vec()).await;
    assert_eq!(refused.status(), 400);
    let set = put_picture(&server, &alice.cookie, "/api/avatar", png(1000, 400)).await;
    assert_eq!(set.status(), 204);
    let shown = get(&server, Some(&bob.cookie), "/api/avatars/Alice").await;
    assert_eq!(shown.headers()["content-type"], "image/jpeg");
    assert_eq!(shown.headers()["cache-control"], "private, no-cache");
    let etag = shown.headers()["etag"].to_str().unwrap().to_owned();
    let square = image::load_from_memory(&shown.bytes().await.unwrap()).unwrap();
    assert_eq!((square.width(), square.height()), (256, 256));
    let again = server
        .http
        .get(format!("{}/api/avatars/alice", server.base))
        .header("Cookie", &bob.cookie)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // A new picture replaces the old one's bytes.
    assert_eq!(blob_count(server.dir.path()), 1);
    put_picture(&server, &alice.cookie, "/api/avatar", png(300, 300)).await;
    assert_eq!(blob_count(server.dir.path()), 1);
    let removed = server
        .http
        .delete(format!("{}/api/avatar", server.base))
        .header("Cookie", &alice.cookie)
        .header("Origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(blob_count(server.dir.path()), 0);

    // A room's picture: set by its admins, seen by its members.
    let path = format!("/api/rooms/{}/avatar", room.0);
    let by_member = put_picture(&server, &bob.cookie, &path, png(64, 64)).await;
    assert_eq!(by_member.status(), 403);
    let by_owner = put_picture(&server, &alice.cookie, &path, png(64, 64)).await;
    assert_eq!(by_owner.status(), 204);
    let seen = get(&server, Some(&bob.cookie), &path).await;
    assert_eq!(seen.headers()["content-type"], "image/jpeg");
    assert_eq!(get(&server, Some(&carol.cookie), &path).await.status(), 404);
}

#[tokio::test]
async fn a_deleted_account_takes_its_picture_and_files_with_it() {
    let server = TestServer::start().await;
    let (mut alice, bob, _carol, room) = room_of_two(&server).await;
    put_picture(&server, &alice.cookie, "/api/avatar", png(100, 100)).await;
    let file = upload(&server, &alice.cookie, &room, "notes.txt", b"my notes", "").await;
    send_with(&mut alice.socket, &room, "with-file", &file.id)
        .await
        .unwrap();
    assert_eq!(blob_count(server.dir.path()), 2);
    let deleted = server
        .http
        .post(format!("{}/api/account/delete", server.base))
        .header("Cookie", &alice.cookie)
        .header("Origin", server.origin())
        .json(&json!({"password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let path = format!("/api/attachments/{}", file.id);
    assert_eq!(get(&server, Some(&bob.cookie), &path).await.status(), 404);
    for _ in 0..50 {
        if blob_count(server.dir.path()) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        blob_count(server.dir.path()),
        0,
        "nothing of the account is kept"
    );
}
