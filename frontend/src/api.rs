//! Calls to the account endpoints. The session cookie is HttpOnly: this code never sees the
//! token, the browser attaches it.

use gloo_net::http::{Request, Response};
use shared::api::{ApiError, ApiErrorCode, Credentials, SessionInfo};

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

/// The button label of the server's single sign-on, when it offers one (`None` also when the
/// server cannot be asked: the password form works without it).
pub async fn sso_name() -> Option<String> {
    let response = send(Request::get("/api/auth-options").build()).await.ok()?;
    // Only `sso` of `shared::api::AuthOptions` is read, by the browser's JSON parser: a serde
    // decoder for it would cost the first load about a kilobyte.
    let options = js_sys::JSON::parse(&response.text().await.ok()?).ok()?;
    js_sys::Reflect::get(&options, &"sso".into())
        .ok()?
        .as_string()
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
