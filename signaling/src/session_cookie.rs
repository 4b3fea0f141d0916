//! The session cookie: its name, how it is read from a request and written into a response.
//!
//! Behind HTTPS (`--secure-cookies`) it is `__Host-chat_session`: a browser keeps a cookie with
//! that prefix only if it is `Secure`, has `Path=/` and no `Domain`, so a page on a sibling
//! subdomain cannot plant one for this host ("cookie tossing"). The prefix requires `Secure`,
//! which plain http on 127.0.0.1 cannot have, so there the name stays `chat_session`, and only
//! the name of the current mode is read.
//!
//! A request carrying that name twice is treated as carrying none. A browser sends two only
//! when another scope (a parent domain, a longer path) set one too, and taking either could
//! act as someone else's account.

use axum::http::{HeaderMap, HeaderValue, header};
use shared::api::{SECURE_SESSION_COOKIE, SESSION_COOKIE};

/// The request carries the session cookie more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ambiguous;

#[derive(Debug, Clone, Copy)]
pub struct SessionCookie {
    secure: bool,
}

impl SessionCookie {
    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    pub fn name(self) -> &'static str {
        if self.secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// The session token in the `Cookie` header(s): `None` when absent or empty.
    pub fn token(self, headers: &HeaderMap) -> Result<Option<String>, Ambiguous> {
        single_cookie(headers, self.name())
    }

    /// `Set-Cookie` for a new session that lasts `max_age_secs`.
    pub fn set(self, token: &str, max_age_secs: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let name = self.name();
        let cookie = format!(
            "{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
        );
        HeaderValue::from_str(&cookie).expect("the token is base64url, the attributes ASCII")
    }

    /// `Set-Cookie` that makes the browser drop the cookie.
    pub fn clear(self) -> HeaderValue {
        self.set("", 0)
    }
}

/// The value of the cookie `name` in the `Cookie` header(s): `None` when absent or empty, an
/// error when it is there twice.
pub fn single_cookie(headers: &HeaderMap, name: &str) -> Result<Option<String>, Ambiguous> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(Ambiguous);
    }
    Ok(first
        .filter(|c| !c.value().is_empty())
        .map(|c| c.value().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::COOKIE, HeaderValue::from_static(value));
        }
        headers
    }

    const PLAIN: SessionCookie = SessionCookie { secure: false };
    const SECURE: SessionCookie = SessionCookie { secure: true };

    #[test]
    fn finds_the_session_among_other_cookies() {
        let headers = cookies(&["a=1; chat_session=tok; b=2"]);
        assert_eq!(PLAIN.token(&headers), Ok(Some("tok".to_owned())));
        assert_eq!(PLAIN.token(&cookies(&["chat_session="])), Ok(None));
        assert_eq!(PLAIN.token(&cookies(&["other=1"])), Ok(None));
    }

    #[test]
    fn two_session_cookies_are_refused_not_chosen_between() {
        let one_header = cookies(&["chat_session=attacker; chat_session=victim"]);
        assert_eq!(PLAIN.token(&one_header), Err(Ambiguous));
        let two_headers = cookies(&["chat_session=attacker", "a=1; chat_session=victim"]);
        assert_eq!(PLAIN.token(&two_headers), Err(Ambiguous));
        let secure = cookies(&["__Host-chat_session=a; __Host-chat_session=b"]);
        assert_eq!(SECURE.token(&secure), Err(Ambiguous));
    }

    #[test]
    fn behind_https_only_the_host_prefixed_name_counts() {
        let both = cookies(&["chat_session=tossed; __Host-chat_session=mine"]);
        assert_eq!(SECURE.token(&both), Ok(Some("mine".to_owned())));
        assert_eq!(SECURE.token(&cookies(&["chat_session=tossed"])), Ok(None));
        assert_eq!(PLAIN.token(&cookies(&["__Host-chat_session=x"])), Ok(None));
    }

    #[test]
    fn the_secure_cookie_meets_the_host_prefix_rules() {
        let set = SECURE.set("tok", 60);
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-chat_session=tok;"), "{set}");
        for attribute in [
            "Secure",
            "Path=/",
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=60",
        ] {
            assert!(
                set.split("; ").any(|a| a == attribute),
                "{attribute} in {set}"
            );
        }
        assert!(!set.contains("Domain"), "{set}");
        let plain = PLAIN.set("tok", 60);
        assert!(!plain.to_str().unwrap().contains("Secure"));
        let cleared = SECURE.clear();
        assert!(
            cleared
                .to_str()
                .unwrap()
                .starts_with("__Host-chat_session=; ")
        );
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }
}
