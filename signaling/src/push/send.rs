//! Sending a push to a push service (RFC 8030), encrypted for the browser (RFC 8291) and
//! signed with the server's VAPID key (RFC 8292) by `web-push-native`. The endpoint comes from
//! a browser, so it is checked like any address a user gives the server: HTTPS, and never a
//! private, loopback or link-local address, neither written in the URL nor after DNS
//! resolution (unless `--push-allow-private-endpoints`, for tests and closed networks).

use super::rules::Push;
use crate::outbound::{self, is_public};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::Duration;
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::{Auth, WebPushBuilder, p256};

/// A push service that does not answer in this time is given up on.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest endpoint URL accepted.
pub const MAX_ENDPOINT_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the subscription's keys are not valid")]
    BadKeys,
    #[error("the endpoint is not an address a push may go to")]
    BadEndpoint,
    #[error("could not encrypt or sign: {0}")]
    Build(String),
    #[error("push service unreachable: {0}")]
    Network(String),
    /// 404 or 410: the subscription is gone and must be forgotten.
    #[error("the subscription is gone")]
    Gone,
    #[error("push service answered {0}")]
    Refused(u16),
}

/// Whether a browser's endpoint may be stored: an absolute `https` URL (or `http` when private
/// endpoints are allowed) whose host, if written as an address, is public.
pub fn endpoint_acceptable(endpoint: &str, allow_private: bool) -> bool {
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return false;
    }
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    let scheme_ok = url.scheme() == "https" || (allow_private && url.scheme() == "http");
    let host_ok = match url.host() {
        Some(url::Host::Domain(_)) => true,
        Some(url::Host::Ipv4(ip)) => allow_private || is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => allow_private || is_public(IpAddr::V6(ip)),
        None => false,
    };
    scheme_ok && host_ok && url.username().is_empty() && url.password().is_none()
}

/// The HTTP client pushes go out with: the address guard, no redirects, a timeout.
pub fn client(allow_private: bool) -> reqwest::Client {
    outbound::client(
        allow_private,
        SEND_TIMEOUT,
        reqwest::redirect::Policy::none(),
    )
}

/// The `Topic` of a room's pushes: a push service keeps only the newest of a topic for a
/// device that is offline, so it finds one per room, not a pile (32 base64url characters).
pub fn topic(room: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(room.as_bytes())[..24])
}

pub struct Target<'a> {
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
}

/// Sends `push` to one subscription.
pub async fn send(
    http: &reqwest::Client,
    key: &ES256KeyPair,
    contact: &str,
    allow_private: bool,
    target: Target<'_>,
    push: &Push,
) -> Result<(), SendError> {
    if !endpoint_acceptable(target.endpoint, allow_private) {
        return Err(SendError::BadEndpoint);
    }
    let endpoint = target
        .endpoint
        .parse()
        .map_err(|_| SendError::BadEndpoint)?;
    let public = URL_SAFE_NO_PAD
        .decode(target.p256dh)
        .ok()
        .and_then(|bytes| p256::PublicKey::from_sec1_bytes(&bytes).ok())
        .ok_or(SendError::BadKeys)?;
    let auth = URL_SAFE_NO_PAD
        .decode(target.auth)
        .ok()
        .filter(|bytes| bytes.len() == 16)
        .map(|bytes| Auth::clone_from_slice(&bytes))
        .ok_or(SendError::BadKeys)?;
    let body = serde_json::to_vec(&push.payload).map_err(|e| SendError::Build(e.to_string()))?;
    let request = WebPushBuilder::new(endpoint, public, auth)
        .with_valid_duration(Duration::from_secs(push.ttl_secs))
        .with_vapid(key, contact)
        .build(body)
        .map_err(|e| SendError::Build(e.to_string()))?;
    let (parts, body) = request.into_parts();
    let mut outgoing = http.post(parts.uri.to_string()).body(body);
    for (name, value) in &parts.headers {
        outgoing = outgoing.header(name.as_str(), value.as_bytes());
    }
    let response = outgoing
        .header("Topic", topic(&push.payload.room))
        .header("Urgency", push.urgency)
        .send()
        .await
        .map_err(|e| SendError::Network(e.to_string()))?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        404 | 410 => Err(SendError::Gone),
        other => Err(SendError::Refused(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_endpoints_on_public_addresses_unless_allowed() {
        assert!(endpoint_acceptable(
            "https://fcm.googleapis.com/fcm/send/abc",
            false
        ));
        assert!(endpoint_acceptable("https://8.8.8.8/push", false));
        for bad in [
            "http://push.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.9/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://100.64.0.1/x",
            "https://user:pw@push.example.com/x",
            "ftp://push.example.com/x",
            "not a url",
        ] {
            assert!(!endpoint_acceptable(bad, false), "{bad}");
        }
        assert!(endpoint_acceptable("http://127.0.0.1:9999/push/1", true));
        assert!(!endpoint_acceptable(
            &format!("https://a.example/{}", "x".repeat(2000)),
            true
        ));
    }

    #[test]
    fn a_rooms_topic_is_32_url_safe_characters_and_stable() {
        let t = topic("00c0ffee00c0ffee");
        assert_eq!(t.len(), 32);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(t, topic("00c0ffee00c0ffee"));
        assert_ne!(t, topic("lobby"));
    }
}
