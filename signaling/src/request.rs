//! What every protected request checks first: where it comes from and who sends it.

use crate::auth::hash_token;
use crate::error::ApiFailure;
use crate::now_ms;
use crate::session_cookie::Ambiguous;
use crate::state::AppState;
use crate::store::UserId;
use axum::http::{HeaderMap, header};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: UserId,
    pub username: String,
    pub session_hash: [u8; 32],
    /// When the session stops being valid; open sockets are closed then.
    pub expires_at_ms: i64,
    /// When the session was started (its log-in).
    pub session_created_ms: i64,
    /// When the account was made.
    pub account_created_ms: i64,
    /// A bot with an API token (`crate::bots`), not a person with a session.
    pub bot: bool,
    /// A guest of the support desk (`crate::support::guests`): reaches its own conversation
    /// and nothing else.
    pub guest: bool,
}

impl Authed {
    /// A bot or a guest: its socket may only read and write in its rooms
    /// (`crate::bots::may_send`).
    pub fn confined(&self) -> bool {
        self.bot || self.guest
    }
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

/// The person behind the session cookie: [`authenticate_guest_too`], and a guest of the
/// support desk is refused, so every endpoint but the few a guest needs is closed to guests.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authed, ApiFailure> {
    let authed = authenticate_guest_too(state, headers).await?;
    if authed.guest {
        return Err(ApiFailure::Forbidden(
            "A guest can only write in their support conversation.",
        ));
    }
    Ok(authed)
}

/// The caller behind the session cookie, a guest of the support desk included (the socket and
/// the support page's own requests). A session is refused when it has expired, when it has
/// gone unused for the idle limit, or when the request carries two session cookies.
pub async fn authenticate_guest_too(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Authed, ApiFailure> {
    let token = match state.session_cookie.token(headers) {
        Ok(Some(token)) => token,
        Ok(None) => return Err(ApiFailure::Unauthenticated),
        Err(Ambiguous) => {
            tracing::info!("refused a request with two session cookies");
            return Err(ApiFailure::Unauthenticated);
        }
    };
    let session_hash = hash_token(&token);
    let now = now_ms();
    let session = state
        .store
        .session_user(&session_hash, now)
        .await?
        .ok_or(ApiFailure::Unauthenticated)?;
    let idle_ms = now.saturating_sub(session.last_used_ms);
    if idle_ms >= state.sessions.idle_ms {
        return Err(ApiFailure::Unauthenticated);
    }
    // Last use is recorded coarsely, so that a busy session costs a write a minute rather than
    // one per request; the idle limit is days, so the slack does not matter.
    if idle_ms >= state.sessions.touch_every_ms
        && let Err(e) = state.store.touch_session(&session_hash, now).await
    {
        // The session itself is fine; the next request tries again.
        tracing::warn!(error = %e, "could not record a session's use");
    }
    // Daily and weekly active users on the insight page count who was let in.
    state.admin.activity.active(session.user, now);
    Ok(Authed {
        user: session.user,
        username: session.username,
        session_hash,
        expires_at_ms: session.expires_at_ms,
        session_created_ms: session.created_ms,
        account_created_ms: session.account_created_ms,
        bot: false,
        guest: session.guest,
    })
}

/// [`authenticate`], charging the request to the user's frame quota (the same one socket
/// frames use): for HTTP reads and writes that are not log-ins.
pub async fn authenticate_metered(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Authed, ApiFailure> {
    let authed = authenticate(state, headers).await?;
    if state.user_frame_limiter.check_key(&authed.user).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    Ok(authed)
}

/// The address that rate limits are counted against.
///
/// Behind a reverse proxy every request comes from the proxy, so with `trust_forwarded_for` the
/// rightmost `X-Forwarded-For` entry (the one the proxy itself appended; entries to its left are
/// whatever the client claimed) is used instead. IPv6 clients usually own a whole /64, so they
/// are counted per /64, not per address.
pub fn client_key(peer: IpAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| headers.get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    address_key(forwarded.unwrap_or(peer))
}

/// One client's key among addresses: an IPv6 client's /64 (it usually owns all of it), an
/// IPv4-mapped address as the IPv4 address it is.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(Ipv6Addr::from(segments))
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED)),
        v4 => v4,
    }
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
    fn rate_limit_keys() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 5.6.7.8"),
        );
        assert_eq!(
            client_key(peer, &headers, false),
            peer,
            "untrusted header ignored"
        );
        assert_eq!(
            client_key(peer, &headers, true),
            "5.6.7.8".parse::<IpAddr>().unwrap()
        );
        let v6: IpAddr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap();
        assert_eq!(
            client_key(v6, &HeaderMap::new(), false),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            client_key(mapped, &HeaderMap::new(), false),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }
}
