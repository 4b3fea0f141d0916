//! Calls to the account endpoints. The session cookie is HttpOnly: this code never sees the
//! token, the browser attaches it.

use gloo_net::http::{Request, Response};
use shared::api::{Credentials, SessionInfo};
use wasm_bindgen::JsValue;

/// Why an account call failed, worded for the person at the keyboard, and the server's code
/// for it (`shared::api::ApiErrorCode` in its wire form, `two_factor_required`) when it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiProblem(pub String, pub Option<String>);

pub async fn sign_up(creds: &Credentials) -> Result<SessionInfo, ApiProblem> {
    let response = send(Request::post("/api/signup").json(creds)).await?;
    read(response).await
}

pub async fn log_in(creds: &Credentials) -> Result<SessionInfo, ApiProblem> {
    let response = send(Request::post("/api/login").json(creds)).await?;
    read(response).await
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
        // and the connection with it. It says what the sign-in form may offer
        // (`shared::api::SignedOut`): kept for the form, which then asks nothing more.
        if let Ok(text) = response.text().await
            && let Ok(body) = js_sys::JSON::parse(&text)
            && let Ok(options) = js_sys::Reflect::get(&body, &"auth_options".into())
            && options.is_object()
        {
            OFFERED.set(Some(options));
        }
        return Ok(None);
    }
    read(response).await.map(Some)
}

thread_local! {
    /// The sign-in options of the last session check that found none, until the form takes them.
    static OFFERED: std::cell::Cell<Option<JsValue>> = const { std::cell::Cell::new(None) };
}

/// What the sign-in screen may offer besides passwords (`shared::api::AuthOptions`), as the
/// browser's JSON parser reads it: a serde decoder for it would cost the first load about a
/// kilobyte. `None` when the server cannot be asked (the password form works without it).
pub async fn auth_options() -> Option<JsValue> {
    if let Some(offered) = OFFERED.take() {
        return Some(offered);
    }
    let response = send(Request::get("/api/auth-options").build()).await.ok()?;
    js_sys::JSON::parse(&response.text().await.ok()?).ok()
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

/// The server's `shared::api::ApiError`, read by the browser's JSON parser: serde decoders for
/// it and its two dozen codes would cost the first load about a kilobyte.
async fn problem(response: Response) -> ApiProblem {
    let status = response.status();
    let parsed = response
        .text()
        .await
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok());
    let field = |key: &str| {
        parsed
            .as_ref()
            .and_then(|p| js_sys::Reflect::get(p, &key.into()).ok())
            .and_then(|v| v.as_string())
    };
    match field("message") {
        Some(message) => ApiProblem(message, field("code")),
        None => ApiProblem(format!("The server answered {status}."), None),
    }
}
