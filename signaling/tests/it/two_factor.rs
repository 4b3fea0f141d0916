//! Two-factor authentication: set-up, log-in with a code (once only), recovery codes (once
//! each), turning it off. Codes are computed here from the key the server showed, as an
//! authenticator app would.

use crate::harness::{TestServer, session_cookie};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use totp_rs::{Algorithm, Secret, TOTP};

const PASSWORD: &str = "correct horse battery";

fn app(secret_base32: &str) -> TOTP {
    let secret = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .unwrap();
    TOTP::new(Algorithm::SHA1, 6, 0, 30, secret, None, "x".to_owned()).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn post(
    server: &TestServer,
    path: &str,
    cookie: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = server
        .http
        .post(format!("{}{path}", server.base))
        .header("Origin", server.origin())
        .json(&body);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn code_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

async fn log_in(server: &TestServer, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({"username": "alice", "password": PASSWORD});
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    post(server, "/api/login", None, body).await
}

#[tokio::test]
async fn log_in_asks_for_a_code_once_two_factor_is_on() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;

    // Set-up shows a key; log-in does not change until a code proves the app has it.
    let setup: Value = post(&server, "/api/2fa/setup", Some(&cookie), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let key = setup["secret"].as_str().unwrap();
    assert!(
        setup["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Chat:alice?")
    );
    assert_eq!(log_in(&server, None).await.status(), 200);
    let wrong = post(
        &server,
        "/api/2fa/enable",
        Some(&cookie),
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(code_of(wrong).await, (401, "invalid_code".to_owned()));
    let first = app(key).generate(now());
    let enabled: Value = post(
        &server,
        "/api/2fa/enable",
        Some(&cookie),
        json!({"code": first}),
    )
    .await
    .json()
    .await
    .unwrap();
    let recovery: Vec<String> = serde_json::from_value(enabled["codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    let again = post(&server, "/api/2fa/setup", Some(&cookie), json!({})).await;
    assert_eq!(code_of(again).await, (409, "two_factor_enabled".to_owned()));

    // The password alone is not enough now; a wrong code is refused.
    assert_eq!(
        code_of(log_in(&server, None).await).await,
        (401, "two_factor_required".to_owned())
    );
    assert_eq!(
        code_of(log_in(&server, Some("123456")).await).await.1,
        "invalid_code"
    );
    // The code used to turn it on does not work again; a later one works, once.
    assert_eq!(
        code_of(log_in(&server, Some(&first)).await).await.1,
        "invalid_code"
    );
    let next = app(key).generate(now() + 30);
    let ok = log_in(&server, Some(&next)).await;
    assert_eq!(ok.status(), 200);
    assert!(session_cookie(&ok).is_some());
    assert_eq!(
        code_of(log_in(&server, Some(&next)).await).await.1,
        "invalid_code"
    );

    // A recovery code works once, however it is typed.
    let typed = recovery[3].to_uppercase().replace('-', " ");
    assert_eq!(log_in(&server, Some(&typed)).await.status(), 200);
    assert_eq!(
        code_of(log_in(&server, Some(&recovery[3])).await).await.1,
        "invalid_code"
    );
    let status: Value = server
        .http
        .get(format!("{}/api/2fa", server.base))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status, json!({"enabled": true, "recovery_codes_left": 9}));

    // Turning it off needs the password.
    let refused = post(
        &server,
        "/api/2fa/disable",
        Some(&cookie),
        json!({"password": "nope nope"}),
    )
    .await;
    assert_eq!(refused.status(), 401);
    let off = post(
        &server,
        "/api/2fa/disable",
        Some(&cookie),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(off.status(), 204);
    assert_eq!(log_in(&server, None).await.status(), 200);
}

#[tokio::test]
async fn guessing_codes_counts_as_failed_log_ins() {
    let server = TestServer::start_with(|c| c.login_failures_per_account = 3).await;
    let cookie = server.create_user("alice").await;
    let setup: Value = post(&server, "/api/2fa/setup", Some(&cookie), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let key = setup["secret"].as_str().unwrap().to_owned();
    let code = app(&key).generate(now());
    post(
        &server,
        "/api/2fa/enable",
        Some(&cookie),
        json!({"code": code}),
    )
    .await;
    for guess in ["111111", "222222", "333333"] {
        assert_eq!(
            code_of(log_in(&server, Some(guess)).await).await.1,
            "invalid_code"
        );
    }
    let right = app(&key).generate(now() + 30);
    assert_eq!(
        log_in(&server, Some(&right)).await.status(),
        429,
        "the account's log-in is throttled after three wrong codes"
    );
}
