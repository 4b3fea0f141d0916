//! What every protected request checks first: where it comes from and who sends it.

use crate::auth::hash_token;
use crate::error::ApiFailure;
use crate::now_ms;
use crate::state::AppState;
use crate::store::UserId;
use axum::http::{HeaderMap, header};
use shared::api::SESSION_COOKIE;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: UserId,
    pub username: String,
    pub session_hash: [u8; 32],
}

/// Browsers always send `Origin` on WebSocket upgrades and on cross-site or POST requests, so a
/// present but unlisted `Origin` is a page on another site trying to use the visitor's cookie:
/// refuse it. A missing `Origin` comes from a non-browser client, which holds its own token
/// anyway and gains nothing from forging one.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiFailure> {
    match headers.get(header::ORIGIN) {
        None => Ok(()),
        Some(origin) => {
            let origin = origin.to_str().map_err(|_| ApiFailure::ForbiddenOrigin)?;
            if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
                Ok(())
            } else {
                tracing::warn!(origin, "refused request from a foreign origin");
                Err(ApiFailure::ForbiddenOrigin)
            }
        }
    }
}

/// The session token from the `Cookie` header(s), if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authed, ApiFailure> {
    let token = session_token(headers).ok_or(ApiFailure::Unauthenticated)?;
    let session_hash = hash_token(&token);
    let (user, username) = state
        .store
        .session_user(&session_hash, now_ms())
        .await?
        .ok_or(ApiFailure::Unauthenticated)?;
    Ok(Authed {
        user,
        username,
        session_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origin_allowlist() {
        let allowed = vec!["http://127.0.0.1:8080".to_owned()];
        let mut headers = HeaderMap::new();
        assert!(check_origin(&headers, &allowed).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(check_origin(&headers, &allowed).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(check_origin(&headers, &allowed).is_err());
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&headers, &allowed).is_err());
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; chat_session=tok; b=2"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("tok"));
        let mut empty = HeaderMap::new();
        empty.append(header::COOKIE, HeaderValue::from_static("chat_session="));
        assert_eq!(session_token(&empty), None);
    }
}
