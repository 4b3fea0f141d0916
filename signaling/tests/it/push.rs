//! Web Push against a push service written for the test: it receives the pushes, checks the
//! VAPID signature against the server's public key and decrypts them with the subscription's
//! private key, as a browser's push service and the browser would.

use crate::harness::TestServer;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::ClientMsgId;
use shared::ws::{ClientMessage, ServerMessage};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256PublicKey};
use web_push_native::jwt_simple::claims::NoCustomClaims;
use web_push_native::p256;

/// What the push service received.
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct PushService {
    pub url: String,
    received: mpsc::UnboundedReceiver<Received>,
    /// The status it answers with.
    pub status: Arc<AtomicU16>,
}

pub async fn push_service() -> PushService {
    let (tx, received) = mpsc::unbounded_channel();
    let status = Arc::new(AtomicU16::new(201));
    let answer = status.clone();
    let app = axum::Router::new()
        .route(
            "/push/{id}",
            axum::routing::post(
                |State((tx, answer)): State<(mpsc::UnboundedSender<Received>, Arc<AtomicU16>)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let _ = tx.send(Received { headers, body });
                    StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
                },
            ),
        )
        .with_state((tx, answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push/bob", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    PushService {
        url,
        received,
        status,
    }
}

impl PushService {
    pub async fn next(&mut self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.received.recv())
            .await
            .ok()
            .flatten()
    }
}

/// A browser's subscription keys: its P-256 key pair and auth secret.
pub struct BrowserKeys {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl BrowserKeys {
    pub fn new() -> Self {
        Self {
            secret: p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()).unwrap(),
            auth: rand::random(),
        }
    }

    pub fn subscription(&self, endpoint: &str) -> Value {
        let public = self.secret.public_key();
        let point = p256::EncodedPoint::from(public);
        json!({
            "endpoint": endpoint,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(point.as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    pub fn decrypt(&self, body: &[u8]) -> Value {
        let auth = web_push_native::Auth::clone_from_slice(&self.auth);
        let plain = web_push_native::decrypt(body.to_vec(), &self.secret, &auth).unwrap();
        serde_json::from_slice(&plain).unwrap()
    }
}

pub async fn subscribe(server: &TestServer, cookie: &str, body: &Value) -> u16 {
    server
        .http
        .post(format!("{}/api/push/subscriptions", server.base))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_dm_to_someone_with_no_open_app_is_pushed_signed_and_encrypted() {
    let server = TestServer::start_with(|c| c.push_allow_private_endpoints = true).await;
    let mut service = push_service().await;
    let alice_cookie = server.create_user("alice").await;
    let bob_cookie = server.create_user("bob").await;
    let keys = BrowserKeys::new();
    assert_eq!(
        subscribe(&server, &bob_cookie, &keys.subscription(&service.url)).await,
        204
    );
    let public_key = server.get_json("/api/push", Some(&bob_cookie)).await["public_key"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut alice = server.connect(&alice_cookie).await;
    let dm = alice
        .request(
            "dm",
            ClientMessage::OpenDirect {
                client_id: ClientMsgId("dm".into()),
                user: "bob".into(),
            },
        )
        .await
        .unwrap()
        .room;
    alice.post(&dm, "m1", "see you at 5").await;

    // The DM reaches bob's push service, which checks who signed it.
    let push = service.next(Duration::from_secs(10)).await.expect("a push");
    let header = |name: &str| push.headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-encoding"), "aes128gcm");
    assert_eq!(header("ttl"), "86400");
    assert_eq!(header("urgency"), "high");
    assert_eq!(header("topic").len(), 32);
    let authorization = header("authorization");
    let (token, key) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .expect("vapid t=…, k=…");
    assert_eq!(key, public_key, "signed with the key browsers are given");
    let verifier = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
    let claims = verifier
        .verify_token::<NoCustomClaims>(token, None)
        .expect("a valid VAPID signature");
    assert!(claims.audiences.is_some());
    assert_eq!(
        claims.subject.as_deref(),
        Some("mailto:postmaster@localhost")
    );
    // Only bob's browser can read it; it names the room and the sender, not the text.
    let payload = keys.decrypt(&push.body);
    assert_eq!(payload["room"], dm.0.as_str());
    assert_eq!(payload["title"], "alice");
    assert_eq!(payload["kind"], "message");
    assert!(!payload.to_string().contains("see you"), "{payload}");

    // Bob lets pushes carry the text (the account page's setting): the next one does.
    let response = server
        .http
        .post(format!("{}/api/push/settings", server.base))
        .header("Origin", server.origin())
        .header("Cookie", &bob_cookie)
        .json(&json!({"show_text": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        server.get_json("/api/push", Some(&bob_cookie)).await["show_text"],
        true
    );
    alice.post(&dm, "m1b", "**bring** the slides").await;
    let push = service.next(Duration::from_secs(10)).await.expect("a push");
    assert_eq!(keys.decrypt(&push.body)["body"], "bring the slides");

    // With the app open, bob gets no push.
    let mut bob = server.connect(&bob_cookie).await;
    alice.post(&dm, "m2", "are you there?").await;
    let _ = bob
        .wait_for(|e| matches!(e, ServerMessage::Event { .. }).then_some(()))
        .await;
    assert!(service.next(Duration::from_millis(1500)).await.is_none());

    // Gone again; the push service now says the subscription is gone: it is forgotten.
    drop(bob);
    tokio::time::sleep(Duration::from_millis(800)).await;
    service.status.store(410, Ordering::SeqCst);
    alice.post(&dm, "m3", "ok, later").await;
    assert!(service.next(Duration::from_secs(10)).await.is_some());
    alice.post(&dm, "m4", "one more").await;
    assert!(service.next(Duration::from_millis(2000)).await.is_none());
}

#[tokio::test]
async fn subscriptions_are_checked_and_private_endpoints_refused() {
    let server = TestServer::start().await;
    let cookie = server.create_user("carol").await;
    let keys = BrowserKeys::new();
    // Without the test allowance, no endpoint inside the network, and no plain http.
    for endpoint in [
        "http://127.0.0.1:9/push/1",
        "https://127.0.0.1/push/1",
        "https://10.0.0.5/push",
        "https://169.254.169.254/latest/meta-data",
        "http://push.example.com/x",
    ] {
        assert_eq!(
            subscribe(&server, &cookie, &keys.subscription(endpoint)).await,
            400,
            "{endpoint}"
        );
    }
    let mut bad = keys.subscription("https://push.example.com/x");
    bad["keys"]["p256dh"] = json!("bm90IGEga2V5");
    assert_eq!(subscribe(&server, &cookie, &bad).await, 400);
    assert_eq!(
        subscribe(&server, &cookie, &json!({"endpoint": 5})).await,
        400
    );
    // Signed in only.
    let response = server
        .http
        .post(format!("{}/api/push/subscriptions", server.base))
        .header("Origin", server.origin())
        .json(&keys.subscription("https://push.example.com/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        subscribe(
            &server,
            &cookie,
            &keys.subscription("https://push.example.com/x")
        )
        .await,
        204
    );
}
