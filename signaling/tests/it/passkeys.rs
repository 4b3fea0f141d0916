//! The passkey endpoints' refusals. The whole ceremony, with a real authenticator, is driven
//! in Chromium with the DevTools virtual authenticator (`e2e/tests/passkeys.test.js`).

use crate::harness::TestServer;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn post_as(server: &TestServer, cookie: &str, path: &str, body: Value) -> reqwest::Response {
    server
        .http
        .post(format!("{}{path}", server.base))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn adding_a_passkey_needs_the_password_and_each_challenge_works_once() {
    let server = TestServer::start().await;
    let alice = server.create_user("alice").await;
    let options_at = |host: String| {
        let request = server
            .http
            .get(format!("{}/api/auth-options", server.base))
            .header("Host", host);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let on_localhost = options_at(format!("localhost:{port}")).await;
    assert_eq!(
        on_localhost["passkeys"], true,
        "localhost is a relying party"
    );
    let on_ip = options_at(format!("127.0.0.1:{port}")).await;
    assert_eq!(
        on_ip["passkeys"], false,
        "WebAuthn does not work on an IP address"
    );

    let wrong = post_as(
        &server,
        &alice,
        "/api/passkeys/register",
        json!({"password": "guess me please"}),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(code(wrong).await, "invalid_credentials");

    let started = post_as(
        &server,
        &alice,
        "/api/passkeys/register",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(started.status(), 200);
    let started: Value = started.json().await.unwrap();
    let public_key = &started["options"]["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], "alice");
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert!(
        public_key["challenge"]
            .as_str()
            .is_some_and(|c| c.len() >= 22)
    );
    let ceremony = started["ceremony"].as_str().unwrap();

    // Another account cannot finish it, and a refused answer uses it up.
    let bob = server.create_user("bob").await;
    let finish = |ceremony: &str| {
        json!({"ceremony": ceremony, "name": "Phone", "credential": {
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": {"attestationObject": "AAAA", "clientDataJSON": "AAAA"}
        }})
    };
    let stolen = post_as(
        &server,
        &bob,
        "/api/passkeys/register/finish",
        finish(ceremony),
    )
    .await;
    assert_eq!(code(stolen).await, "ceremony_expired");
    let again = post_as(
        &server,
        &alice,
        "/api/passkeys/register/finish",
        finish(ceremony),
    )
    .await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        code(again).await,
        "ceremony_expired",
        "each challenge answers once"
    );

    let forged = post_as(
        &server,
        &alice,
        "/api/passkeys/register",
        json!({"password": PASSWORD}),
    )
    .await;
    let forged: Value = forged.json().await.unwrap();
    let refused = post_as(
        &server,
        &alice,
        "/api/passkeys/register/finish",
        finish(forged["ceremony"].as_str().unwrap()),
    )
    .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(code(refused).await, "passkey_refused");

    let listed: Value = server.get_json("/api/passkeys", Some(&alice)).await;
    assert_eq!(listed["passkeys"], json!([]), "nothing was added");
}

#[tokio::test]
async fn log_in_with_a_passkey_needs_an_account_that_has_one() {
    let server = TestServer::start().await;
    server.create_user("alice").await;
    for name in ["alice", "nobody"] {
        let refused = server
            .post("/api/passkey-login", json!({"username": name}))
            .await;
        assert_eq!(refused.status(), 404, "{name}");
        assert_eq!(code(refused).await, "no_passkey");
    }
    let unknown = server
        .post(
            "/api/passkey-login/finish",
            json!({"ceremony": "made-up", "credential": {}}),
        )
        .await;
    assert_eq!(code(unknown).await, "ceremony_expired");
}

#[tokio::test]
async fn passkeys_are_off_where_no_origin_has_a_domain_name() {
    let server = TestServer::start_with(|c| {
        c.allowed_origins = vec!["http://127.0.0.1:1".into()];
    })
    .await;
    let options: Value = server.get_json("/api/auth-options", None).await;
    assert_eq!(options["passkeys"], false);
    let refused = server
        .post("/api/passkey-login", json!({"username": "alice"}))
        .await;
    assert_eq!(refused.status(), 404);
}
