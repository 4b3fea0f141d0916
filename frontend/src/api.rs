//! Calls to the account endpoints. The session cookie is HttpOnly: this code never sees the
//! token, the browser attaches it.

use gloo_net::http::{Request, Response};
use shared::api::{ApiError, ApiErrorCode, Credentials, SessionInfo};
use wasm_bindgen::{JsCast, JsValue};

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

/// Logs `username` in with a passkey: `public/passkey.js`, loaded now (on first use, so the
/// first load does not carry it), runs the WebAuthn ceremony.
pub async fn log_in_with_passkey(username: &str) -> Result<String, ApiProblem> {
    let text = |value: &JsValue, key: &str| {
        js_sys::Reflect::get(value, &key.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    let failed = |error: JsValue| {
        ApiProblem(
            text(&error, "message").unwrap_or_else(|| "The passkey did not work.".to_owned()),
            None,
        )
    };
    let module = passkey_module().await.map_err(failed)?;
    let log_in: js_sys::Function = js_sys::Reflect::get(&module, &"logIn".into())
        .map_err(failed)?
        .unchecked_into();
    let promise: js_sys::Promise = log_in
        .call1(&module, &username.into())
        .map_err(failed)?
        .unchecked_into();
    let session = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(failed)?;
    text(&session, "username")
        .ok_or_else(|| ApiProblem("The server sent an unexpected answer.".to_owned(), None))
}

/// `window.chatPasskey`, which `/passkey.js` sets once a script element has loaded it.
async fn passkey_module() -> Result<JsValue, JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let key = JsValue::from_str("chatPasskey");
    let loaded = js_sys::Reflect::get(&window, &key)?;
    if !loaded.is_undefined() {
        return Ok(loaded);
    }
    let document = window.document().ok_or(JsValue::NULL)?;
    let script = document.create_element("script")?;
    script.set_attribute("type", "module")?;
    script.set_attribute("src", "/passkey.js")?;
    let ready = js_sys::Promise::new(&mut |resolve, reject| {
        let _ = script.add_event_listener_with_callback("load", &resolve);
        let _ = script.add_event_listener_with_callback("error", &reject);
    });
    document
        .body()
        .ok_or(JsValue::NULL)?
        .append_child(&script)?;
    wasm_bindgen_futures::JsFuture::from(ready).await?;
    js_sys::Reflect::get(&window, &key)
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

/// What the sign-in screen may offer besides passwords (`shared::api::AuthOptions`), as the
/// browser's JSON parser reads it: a serde decoder for it would cost the first load about a
/// kilobyte. `None` when the server cannot be asked (the password form works without it).
pub async fn auth_options() -> Option<JsValue> {
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

async fn problem(response: Response) -> ApiProblem {
    match response.json::<ApiError>().await {
        Ok(error) => ApiProblem(error.message, Some(error.code)),
        Err(_) => ApiProblem(format!("The server answered {}.", response.status()), None),
    }
}
