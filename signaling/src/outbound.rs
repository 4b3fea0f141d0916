//! HTTP requests the server makes to addresses that users give it (push endpoints, links to
//! preview): they must never reach into the server's own network. Names are resolved as usual
//! and only public addresses are kept, on every connection (redirects included); callers check
//! addresses written in URLs themselves ([`url_acceptable`]), which need no resolving.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Whether `ip` is an address on the public internet (not private, loopback, link-local,
/// unspecified, shared, documentation or multicast).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 0 && c == 0)
                || a >= 240
                || a == 0)
        }
        IpAddr::V6(v6) => {
            // IPv4 written as IPv6 (mapped, compatible, NAT64, 6to4) is judged as IPv4.
            if let Some(v4) = v6.to_ipv4() {
                return !v6.is_loopback() && !v6.is_unspecified() && is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1) {
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                )));
            }
            if s[0] == 0x2002 {
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                    (s[1] >> 8) as u8,
                    s[1] as u8,
                    (s[2] >> 8) as u8,
                    s[2] as u8,
                )));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0)
        }
    }
}

/// Whether a URL a user gave may be fetched: `http` or `https`, no credentials in it, and a
/// host that is a name (resolved through the guard) or a public address. With
/// `allow_private` (tests, closed networks) any address will do.
pub fn url_acceptable(url: &url::Url, allow_private: bool) -> bool {
    let scheme_ok = matches!(url.scheme(), "http" | "https");
    let host_ok = match url.host() {
        Some(url::Host::Domain(_)) => true,
        Some(url::Host::Ipv4(ip)) => allow_private || is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => allow_private || is_public(IpAddr::V6(ip)),
        None => false,
    };
    let port_ok = allow_private || matches!(url.port_or_known_default(), Some(80 | 443));
    scheme_ok && host_ok && port_ok && url.username().is_empty() && url.password().is_none()
}

/// Resolves names as usual, then keeps only public addresses: a name that resolves to an
/// address inside the network is refused, on redirects too.
pub struct PublicOnly {
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
                return Err("no public address for this name".into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// A client with the guard, `redirects` and a `timeout` for whole requests.
pub fn client(
    allow_private: bool,
    timeout: Duration,
    redirects: reqwest::redirect::Policy,
) -> reqwest::Client {
    reqwest::Client::builder()
        // A proxy from the environment would resolve names itself, past the guard.
        .no_proxy()
        .dns_resolver(Arc::new(PublicOnly { allow_private }))
        .redirect(redirects)
        .timeout(timeout)
        .build()
        .expect("a client with these settings always builds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn only_public_addresses_on_web_ports_are_fetched() {
        let ok = |u: &str| url_acceptable(&url::Url::parse(u).unwrap(), false);
        assert!(ok("https://example.org/page"));
        assert!(ok("http://93.184.216.34/"));
        assert!(ok("http://[2606:2800:220:1:248:1893:25c8:1946]/"));
        assert!(
            ok("http://[64:ff9b::5db8:d822]/"),
            "NAT64 of a public address"
        );
        for refused in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fd00::1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://240.0.0.1/",
            "http://100.64.0.1/",
            "file:///etc/passwd",
            "ftp://example.org/",
            "http://user:secret@example.org/",
            "http://example.org:8080/",
        ] {
            assert!(!ok(refused), "{refused} must be refused");
        }
        // A test-only allowance lets a local server be reached.
        assert!(url_acceptable(
            &url::Url::parse("http://127.0.0.1:8080/").unwrap(),
            true
        ));
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_the_network_is_refused() {
        let guard = PublicOnly {
            allow_private: false,
        };
        let name = Name::from_str("localhost").unwrap();
        assert!(guard.resolve(name).await.is_err());
        let open = PublicOnly {
            allow_private: true,
        };
        assert!(
            open.resolve(Name::from_str("localhost").unwrap())
                .await
                .is_ok()
        );
    }
}
