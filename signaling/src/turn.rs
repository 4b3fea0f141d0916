//! ICE servers for clients, with TURN credentials in the "TURN REST API" scheme that coturn's
//! `use-auth-secret` / `static-auth-secret` understands: the username is
//! `<expiry unix seconds>:<user>` and the password is base64(HMAC-SHA1(secret, username)). The
//! TURN server checks both without asking us, and the credentials stop working at expiry.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use shared::calls::IceServer;

/// The ICE configuration from the command line.
#[derive(Debug, Clone, Default)]
pub struct IceConfig {
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    pub turn_secret: Option<String>,
    pub ttl_secs: u64,
}

/// The TURN password for `username` under `secret`.
pub fn turn_password(secret: &str, username: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

impl IceConfig {
    /// The servers to hand `user` now, with TURN only when `relay` (they are in a WebRTC
    /// session), and when the credentials expire (ms since the epoch).
    pub fn servers_for(&self, user: &str, relay: bool, now_ms: i64) -> (Vec<IceServer>, i64) {
        let ttl_ms = i64::try_from(self.ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let expires_at_ms = now_ms.saturating_add(ttl_ms);
        let mut servers = Vec::new();
        if !self.stun_urls.is_empty() {
            servers.push(IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        if let Some(secret) = self.turn_secret.as_deref()
            && relay
            && !self.turn_urls.is_empty()
        {
            let username = format!("{}:{user}", expires_at_ms / 1000);
            servers.push(IceServer {
                urls: self.turn_urls.clone(),
                credential: Some(turn_password(secret, &username)),
                username: Some(username),
            });
        }
        (servers, expires_at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_passwords_follow_the_rest_scheme() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        let expected = STANDARD.encode(hex_bytes("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"));
        assert_eq!(
            turn_password("Jefe", "what do ya want for nothing?"),
            expected
        );
    }

    #[test]
    fn servers_carry_expiring_credentials_only_with_a_secret() {
        let mut config = IceConfig {
            stun_urls: vec!["stun:stun.example.org:3478".into()],
            turn_urls: vec!["turn:turn.example.org:3478?transport=udp".into()],
            turn_secret: None,
            ttl_secs: 600,
        };
        let (servers, _) = config.servers_for("alice", true, 1_000_000);
        assert_eq!(servers.len(), 1, "no TURN without a secret");
        config.turn_secret = Some("s3cret".into());
        let (servers, _) = config.servers_for("alice", false, 1_000_000);
        assert_eq!(servers.len(), 1, "no TURN outside a WebRTC session");
        let (servers, expires) = config.servers_for("alice", true, 1_000_000);
        assert_eq!(expires, 1_600_000);
        let turn = &servers[1];
        assert_eq!(turn.username.as_deref(), Some("1600:alice"));
        assert_eq!(
            turn.credential.as_deref(),
            Some(turn_password("s3cret", "1600:alice").as_str())
        );
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }
}
