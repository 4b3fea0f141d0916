//! Single sign-on callbacks the server must refuse: no or the wrong flow cookie, an unknown,
//! reused or expired `state`, and a code the provider does not confirm. The whole flow against
//! a real provider is the browser test `e2e/tests/sso.test.js`; here the provider is down,
//! which the server must also survive (it starts, and retries discovery at each log-in).

use crate::harness::{TestServer, session_cookie};
use serde_json::Value;
use signaling::auth::{hash_token, new_session_token};
use signaling::store::{SqliteStore, SsoLogin, Storage};
use std::sync::Arc;

/// A loopback address where nothing listens.
fn nowhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

async fn server_with_provider_down() -> (TestServer, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let server = TestServer::start_on_store_with(dir, Arc::new(store.clone()), |c| {
        c.oidc_issuer = Some(nowhere());
        c.oidc_client_id = Some("chat".to_owned());
        c.oidc_name = "Example ID".to_owned();
    })
    .await;
    (server, store)
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Stores a pending log-in begun `age_ms` ago; returns the browser's flow cookie.
async fn pending(store: &SqliteStore, state: &str, age_ms: i64) -> String {
    let (token, _) = new_session_token();
    let login = SsoLogin {
        state: state.to_owned(),
        browser_hash: hash_token(&token),
        pkce_verifier: "v".repeat(43),
        nonce: "n".to_owned(),
        created_ms: signaling::now_ms() - age_ms,
    };
    assert!(store.add_sso_login(&login, 0, 100).await.unwrap());
    format!("chat_sso={token}")
}

/// Calls the callback; returns its status, and whether it started a session. A refusal shows
/// the failure page.
async fn callback(server: &TestServer, query: &str, cookie: Option<&str>) -> (u16, bool) {
    let mut request = browser().get(format!("{}/api/sso/callback?{query}", server.base));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let session = session_cookie(&response).is_some_and(|c| c != "chat_session=");
    if status != 303 {
        let page = response.text().await.unwrap();
        assert!(page.contains("Single sign-on did not work"), "{page}");
    }
    (status, session)
}

/// The failure page, and no session.
const REFUSED: (u16, bool) = (400, false);

#[tokio::test]
async fn the_button_is_offered_and_a_provider_that_is_down_fails_the_log_in_not_the_server() {
    let (server, _store) = server_with_provider_down().await;
    let options: Value = browser()
        .get(format!("{}/api/auth-options", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(options["sso"], "Example ID");

    let response = browser()
        .get(format!("{}/api/sso/start", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502, "the provider is unreachable");
    let page = response.text().await.unwrap();
    assert!(page.contains("Back to log-in"), "{page}");
}

#[tokio::test]
async fn callbacks_without_the_starting_browser_or_with_a_used_state_are_refused() {
    let (server, store) = server_with_provider_down().await;

    let cookie = pending(&store, "s1", 0).await;
    assert_eq!(callback(&server, "code=c&state=s1", None).await, REFUSED);
    assert_eq!(
        callback(&server, "code=c&state=s1", Some(&cookie)).await,
        REFUSED,
        "a refused callback used the state up"
    );

    let _theirs = pending(&store, "s2", 0).await;
    let (mine, _) = new_session_token();
    let wrong = format!("chat_sso={mine}");
    assert_eq!(
        callback(&server, "code=c&state=s2", Some(&wrong)).await,
        REFUSED,
        "another browser's cookie"
    );

    let cookie = pending(&store, "s3", 11 * 60 * 1000).await;
    assert_eq!(
        callback(&server, "code=c&state=s3", Some(&cookie)).await,
        REFUSED,
        "older than ten minutes"
    );

    assert_eq!(
        callback(&server, "code=c&state=never-issued", Some(&cookie)).await,
        REFUSED
    );
    assert_eq!(callback(&server, "code=c", Some(&cookie)).await, REFUSED);
    assert_eq!(callback(&server, "", None).await, REFUSED);

    // Everything of ours checks out; the code cannot be exchanged (the provider is down).
    let cookie = pending(&store, "s4", 0).await;
    assert_eq!(
        callback(&server, "code=c&state=s4", Some(&cookie)).await,
        (502, false)
    );
    assert!(store.take_sso_login("s4").await.unwrap().is_none());
}

#[tokio::test]
async fn without_a_provider_there_is_no_single_sign_on() {
    let server = TestServer::start().await;
    let options: Value = browser()
        .get(format!("{}/api/auth-options", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(options.get("sso"), None);
    for path in ["/api/sso/start", "/api/sso/callback?code=c&state=s"] {
        let response = browser()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

/// A session of `user` started `age_ms` ago; returns its cookie.
async fn session_started_ago(
    store: &SqliteStore,
    user: signaling::store::UserId,
    age_ms: i64,
) -> String {
    let (token, hash) = new_session_token();
    let started = signaling::now_ms() - age_ms;
    store
        .create_session(
            &hash,
            user,
            started,
            started + 24 * 3600 * 1000,
            &signaling::store::SessionOrigin::default(),
        )
        .await
        .unwrap();
    format!("chat_session={token}")
}

#[tokio::test]
async fn an_account_made_by_single_sign_on_confirms_changes_with_a_recent_sign_on() {
    let (server, store) = server_with_provider_down().await;
    let user = store
        .create_sso_user("https://idp.example", "sub-1", "ada", "unusable", 1)
        .await
        .unwrap();
    let delete = |cookie: String| {
        let request = server
            .http
            .post(format!("{}/api/account/delete", server.base))
            .header("Origin", server.origin())
            .header("Cookie", cookie)
            .json(&serde_json::json!({ "password": "" }));
        async move { request.send().await.unwrap() }
    };
    let stale = session_started_ago(&store, user, 11 * 60 * 1000).await;
    let me: Value = server.get_json("/api/session", Some(&stale)).await;
    assert_eq!(me["password"], false, "no password anyone knows");
    let refused = delete(stale).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "sign_in_again");

    let fresh = session_started_ago(&store, user, 60 * 1000).await;
    // No local password: it would keep the account open after the provider shut it.
    let password = server
        .http
        .post(format!("{}/api/password", server.base))
        .header("Origin", server.origin())
        .header("Cookie", &fresh)
        .json(&serde_json::json!({ "current": "", "new": "a brand new password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), 400);
    assert_eq!(
        delete(fresh).await.status(),
        204,
        "a recent sign-on confirms"
    );
    assert!(
        store
            .sso_user("https://idp.example", "sub-1")
            .await
            .unwrap()
            .is_none()
    );
}
