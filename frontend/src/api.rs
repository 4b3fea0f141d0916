//! Calls to the account endpoints. The session cookie is HttpOnly: this code never sees the
//! token, the browser attaches it.

use gloo_net::http::{Request, Response};
use shared::api::{ApiError, ApiErrorCode, AuthOptions, Credentials, SessionInfo};
use wasm_bindgen::prelude::*;

/// Why an account call failed, worded for the person at the keyboard, and the server's code
/// for it when it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiProblem(pub String, pub Option<ApiErrorCode>);

pub async fn sign_up(creds: &Credentials) -> Result<SessionInfo, ApiProblem> {
    let response = send(Request::post("/api/signup").json(creds)).await?;
    read(response).await
}

pub async fn log_in(creds: &Credentials) -> Result<SessionInfo, ApiProblem> {
    let response = send(Request::post("/api/login").json(creds)).await?;
    read(response).await
}

/// What the sign-in screen offers on this server; `None` when it cannot be had (offline).
pub async fn auth_options() -> Option<AuthOptions> {
    let response = send(Request::get("/api/auth-options").build()).await.ok()?;
    response.json().await.ok()
}

#[wasm_bindgen(
    inline_js = "export function passkeyLogIn(u) { return import('/passkey.js').then((m) => m.logIn(u)); }"
)]
extern "C" {
    /// `public/passkey.js`, loaded on first use: the WebAuthn ceremony of a log-in.
    #[wasm_bindgen(js_name = passkeyLogIn)]
    fn passkey_log_in_js(username: &str) -> js_sys::Promise;
}

/// Logs `username` in with a passkey (the browser asks for it).
pub async fn log_in_with_passkey(username: &str) -> Result<String, ApiProblem> {
    let text = |value: &JsValue, key: &str| {
        js_sys::Reflect::get(value, &key.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    match wasm_bindgen_futures::JsFuture::from(passkey_log_in_js(username)).await {
        Ok(session) => text(&session, "username")
            .ok_or_else(|| ApiProblem("The server sent an unexpected answer.".to_owned(), None)),
        Err(error) => Err(ApiProblem(
            text(&error, "message").unwrap_or_else(|| "The passkey did not work.".to_owned()),
            None,
        )),
    }
}

pub async fn log_out() -> Result<(), ApiProblem> {
    let response = send(Request::post("/api/logout").build()).await?;
    if response.ok() {
        Ok(())
    } else {
        Err(problem(response).await)
    }
}

/// The logged-in user, or `None` when the cookie is missing or expired.
pub async fn current_session() -> Result<Option<SessionInfo>, ApiProblem> {
    let response = send(Request::get("/api/session").build()).await?;
    if response.status() == 401 {
        // Read the (small) body anyway: an unread body keeps the request open in the browser,
        // and the connection with it.
        let _ = response.text().await;
        return Ok(None);
    }
    read(response).await.map(Some)
}

async fn send(
    request: Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<Response, ApiProblem> {
    let request =
        request.map_err(|e| ApiProblem(format!("Could not build the request: {e}"), None))?;
    request.send().await.map_err(|_| {
        ApiProblem(
            "Cannot reach the server. Check your connection.".to_owned(),
            None,
        )
    })
}

async fn read(response: Response) -> Result<SessionInfo, ApiProblem> {
    if response.ok() {
        response
            .json::<SessionInfo>()
            .await
            .map_err(|_| ApiProblem("The server sent an unexpected answer.".to_owned(), None))
    } else {
        Err(problem(response).await)
    }
}

async fn problem(response: Response) -> ApiProblem {
    match response.json::<ApiError>().await {
        Ok(error) => ApiProblem(error.message, Some(error.code)),
        Err(_) => ApiProblem(format!("The server answered {}.", response.status()), None),
    }
}
