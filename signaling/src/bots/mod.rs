//! Bot accounts: made by a server administrator, acting through an API token instead of a
//! password and a session, over the same WebSocket protocol as the app or over a small HTTP
//! API ([`api`]). A bot's scope is the rooms it is a member of, and only an administrator puts
//! it in rooms ([`admin`]): people cannot add it to a room or open a conversation with it,
//! and the bot itself cannot create, join or leave rooms. docs/BOTS.md is the guide.

pub mod admin;
pub mod api;
pub mod commands;

use crate::auth::hash_token;
use crate::error::ApiFailure;
use crate::request::Authed;
use crate::state::AppState;
use crate::store::UserId;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::ws::ClientMessage;

/// What every bot token starts with, so a leaked one is recognised (secret scanners) and
/// never mistaken for a session.
pub const TOKEN_PREFIX: &str = "chatbot_";
/// How long a bot's socket stays open before it must connect again (its token does not
/// expire; the socket's timer needs an end).
const SOCKET_LIFETIME_MS: i64 = 30 * 86_400_000;
/// How stale a token's recorded last use may get before it is written again.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A new token: what the administrator is shown once, and its hash for the database.
pub fn new_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

/// The bot token in `Authorization: Bearer …`, if the request carries one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && token.starts_with(TOKEN_PREFIX)).then_some(token)
}

/// The bot behind the request's bearer token. A deactivated bot, an ended token or a request
/// without one is refused.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authed, ApiFailure> {
    let token = bearer_token(headers).ok_or(ApiFailure::Unauthenticated)?;
    let hash = hash_token(token);
    let bot = state
        .store
        .bot_by_token(&hash)
        .await?
        .ok_or(ApiFailure::Unauthenticated)?;
    let now = crate::now_ms();
    if now.saturating_sub(bot.last_used_ms) >= TOUCH_EVERY_MS
        && let Err(e) = state.store.touch_bot_token(&hash, now).await
    {
        tracing::warn!(error = %e, "could not record a bot token's use");
    }
    Ok(Authed {
        user: bot.user,
        username: bot.username,
        session_hash: hash,
        expires_at_ms: now + SOCKET_LIFETIME_MS,
        session_created_ms: bot.token_created_ms,
        account_created_ms: bot.account_created_ms,
        bot: true,
        guest: false,
    })
}

/// Ends every token of `user` and closes the sockets opened with them, on every node (the
/// account was deactivated or signed out everywhere).
pub async fn end_tokens(state: &AppState, user: UserId) -> Result<usize, ApiFailure> {
    let ended = state.store.end_bot_tokens(user).await?;
    close_sockets(state, &ended);
    Ok(ended.len())
}

pub(crate) fn close_sockets(state: &AppState, hashes: &[Vec<u8>]) {
    for hash in hashes {
        if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            state.fanout.disconnect_session(&hash);
        }
    }
}

/// Whether a bot may send this frame: it reads and writes in its rooms, and does not change
/// which rooms it is in, moderate, call, or block.
pub fn may_send(request: &ClientMessage) -> bool {
    use ClientMessage as C;
    matches!(
        request,
        C::Ping { .. }
            | C::History { .. }
            | C::CatchUp { .. }
            | C::Send { .. }
            | C::Edit { .. }
            | C::Delete { .. }
            | C::React { .. }
            | C::ListMembers { .. }
            | C::ListRooms
            | C::MarkDelivered { .. }
            | C::MarkRead { .. }
            | C::Typing { .. }
            | C::SetPresence { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_recognisable_random_and_read_only_from_a_bearer_header() {
        let (token, hash) = new_token();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(hash_token(&token), hash);
        assert_ne!(new_token().0, token);
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        let bearer = format!("Bearer {token}");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&bearer).unwrap(),
        );
        assert_eq!(bearer_token(&headers), Some(token.as_str()));
        // A session token or another scheme is not a bot token.
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic chatbot_x"),
        );
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn bots_read_and_write_but_do_not_change_rooms_or_call() {
        let send: ClientMessage = serde_json::from_value(serde_json::json!({
            "type": "send", "room": "lobby", "client_id": "c1", "body": "hi"
        }))
        .unwrap();
        assert!(may_send(&send));
        assert!(may_send(&ClientMessage::ListRooms));
        let create: ClientMessage = serde_json::from_value(serde_json::json!({
            "type": "create_room", "client_id": "c2", "name": "x"
        }))
        .unwrap();
        assert!(!may_send(&create));
        let join: ClientMessage = serde_json::from_value(serde_json::json!({
            "type": "join_by_invite", "client_id": "c3", "token": "t"
        }))
        .unwrap();
        assert!(!may_send(&join));
    }
}
