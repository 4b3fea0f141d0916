//! Sending a push to a push service (RFC 8030), encrypted for the browser (RFC 8291) and
//! signed with the server's VAPID key (RFC 8292) by `web-push-native`. The endpoint comes from
//! a browser, so it is checked like any address a user gives the server: HTTPS, and never a
//! private, loopback or link-local address, neither written in the URL nor after DNS
//! resolution (unless `--push-allow-private-endpoints`, for tests and closed networks).

use super::rules::Push;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
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

/// Whether `ip` is an address on the public internet (not private, loopback, link-local,
/// unspecified, shared, documentation or multicast).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
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

/// Resolves names as usual, then keeps only public addresses: a push service's name that
/// resolves to an address inside the network is refused, redirects included.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err("no public address for this push service".into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client pushes go out with: the address guard, no redirects, a timeout.
pub fn client(allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PublicOnly { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(SEND_TIMEOUT)
        .build()
        .expect("a client with these settings always builds")
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
