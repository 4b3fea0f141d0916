//! Headers that tell the browser what the app may do: the policies on pages and the service
//! worker's script, the rest on every response.
//!
//! The Content-Security-Policy allows scripts only from this origin and the inline scripts of
//! the served `index.html`, by hash: Trunk injects an inline module script that loads the wasm
//! (its text changes with every build) and `frontend/index.html` has one that registers the
//! service worker. The hashes are taken when the server starts, so a server must be restarted
//! after the frontend is rebuilt (a deploy does that anyway). No `'unsafe-inline'` or
//! `'unsafe-eval'` for scripts: an injected `<script>` or `onclick=` does not run.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::path::Path;
use tower_http::set_header::SetResponseHeaderLayer;

/// Everything but `script-src`, which depends on the built `index.html`.
///
/// - `'wasm-unsafe-eval'` lets the page compile WebAssembly, and nothing else eval-like.
/// - `connect-src 'self'` covers the same-origin WebSocket: CSP 3 lets `'self'` match `ws:` and
///   `wss:` on the page's host and port (Chromium, Firefox, and Safari since 2022).
/// - `blob:` for workers: received files are written by a dedicated worker started from an
///   object URL (`frontend/src/rtc/file_writer.js`); previews and downloads of received files
///   are object URLs too, and the page may read them back (`connect-src blob:`: only objects it
///   made itself).
/// - Styles, fonts and the manifest fall back to `default-src 'self'`: the frontend sets no
///   `style` attributes and has no inline `<style>`, so inline styles need not be allowed (and
///   naming the same source three more times would cost bytes on every page).
const OTHER_DIRECTIVES: &str = "default-src 'self'; connect-src 'self' blob:; \
     img-src 'self' blob: data:; media-src 'self' blob:; worker-src 'self' blob:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Camera, microphone and screen sharing for calls, by this origin only; powerful features the
/// app does not use are off for every origin.
/// Passkeys (`publickey-credentials-*`) stay allowed for this origin: log-in with them is
/// planned. Only features Chromium knows are listed (an unknown one is a console warning).
const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(self), display-capture=(self), \
     fullscreen=(self), autoplay=(self), geolocation=(), payment=(), usb=(), serial=(), \
     hid=(), midi=(), accelerometer=(), gyroscope=(), magnetometer=(), \
     publickey-credentials-get=(self), publickey-credentials-create=(self), \
     screen-wake-lock=(), xr-spatial-tracking=()";

/// Two years, as the HSTS preload list asks.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

/// Adds the security headers to every response of `router`. `https` (`--secure-cookies`) adds
/// Strict-Transport-Security, which a plain-http server must not send.
pub fn add_to<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    static_dir: &Path,
    https: bool,
) -> Router<S> {
    let index = static_dir.join("index.html");
    let html = match std::fs::read_to_string(&index) {
        Ok(html) => Some(html),
        // No frontend: only the API is served (lib.rs warns about it).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(path = %index.display(), error = %e, "could not read index.html; its inline scripts will be blocked");
            None
        }
    };
    let csp = content_security_policy(html.as_deref().unwrap_or_default());
    // The policies that govern what a document (or a worker) may do are sent only with
    // documents and the service worker's script: on the wasm, scripts and styles they do
    // nothing, and they are over a kilobyte per response of the first load (which has a
    // 250 KB budget).
    let for_documents = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).expect("hashes are base64, the rest is ASCII"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        // Browsers that predate `frame-ancestors`; framing is a matter of documents only.
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    let mut for_all = vec![
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    if https {
        for_all.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        ));
    }
    let router = router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let for_documents = for_documents.clone();
            async move {
                let worker = request.uri().path() == SERVICE_WORKER;
                let mut response = next.run(request).await;
                if worker || is_document(&response) {
                    for (name, value) in for_documents {
                        response.headers_mut().insert(name, value);
                    }
                }
                response
            }
        },
    ));
    for_all.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(name, value))
    })
}

/// The service worker's script: its own headers set the worker's policy (other scripts run
/// under their page's).
const SERVICE_WORKER: &str = "/sw.js";

/// HTML, or an answer without a type that a browser might show as a page.
fn is_document(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("text/html"))
}

/// The policy for a page whose HTML is `html`.
pub fn content_security_policy(html: &str) -> String {
    let mut script_src = String::from("script-src 'self' 'wasm-unsafe-eval'");
    for script in inline_scripts(html) {
        script_src.push_str(" 'sha256-");
        script_src.push_str(&STANDARD.encode(Sha256::digest(normalize_newlines(script))));
        script_src.push('\'');
    }
    format!("{OTHER_DIRECTIVES}; {script_src}")
}

/// The HTML parser turns CR LF and lone CR into LF before a script's text is hashed.
fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The text of every inline `<script>` element (one without `src`), as written in `html`.
fn inline_scripts(html: &str) -> Vec<&str> {
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` cut `html`.
    let lower = html.to_ascii_lowercase();
    let mut scripts = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find("<script") {
        let after_name = from + found + "<script".len();
        from = after_name;
        // `<scripts>` or `<script-x>` is another element.
        if !lower[after_name..].starts_with(|c: char| c == '>' || c == '/' || c.is_whitespace()) {
            continue;
        }
        let Some(tag_len) = tag_length(&lower[after_name..]) else {
            break;
        };
        let body = after_name + tag_len + 1;
        let Some(body_len) = lower[body..].find("</script") else {
            break;
        };
        if !attribute_names(&lower[after_name..after_name + tag_len]).any(|n| n == "src") {
            scripts.push(&html[body..body + body_len]);
        }
        from = body + body_len;
    }
    scripts
}

/// Bytes up to the `>` that closes a start tag, skipping `>` inside quoted attribute values.
fn tag_length(rest: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (None, '>') => return Some(i),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    None
}

/// The attribute names of a start tag's inside (`type=module src="/x.js" async`).
fn attribute_names(mut attributes: &str) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        attributes = attributes.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if attributes.is_empty() {
            return None;
        }
        let name_len = attributes
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(attributes.len());
        let (name, rest) = attributes.split_at(name_len);
        attributes = rest.trim_start();
        if let Some(value) = attributes.strip_prefix('=') {
            let value = value.trim_start();
            attributes = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].find(q).map_or("", |end| &value[end + 2..]),
                _ => value
                    .find(char::is_whitespace)
                    .map_or("", |end| &value[end..]),
            };
        }
        Some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Trunk 0.21 writes into a release build's index.html (minified: unquoted attribute
    /// values), plus the service-worker registration of frontend/index.html.
    const BUILT: &str = "<!doctype html><html lang=en><head><meta charset=utf-8>\
        <link rel=modulepreload href=/frontend-0123456789abcdef.js crossorigin=anonymous \
        integrity=sha384-abc><script type=module>import init, * as bindings from \
        '/frontend-0123456789abcdef.js';\nconst wasm = await init({ module_or_path: \
        '/frontend-0123456789abcdef_bg.wasm' });\nwindow.wasmBindings = bindings;\n\
        dispatchEvent(new CustomEvent(\"TrunkApplicationStarted\", {detail: {wasm}}));\
        </script></head><body><SCRIPT>\n  navigator.serviceWorker.register('/sw.js');\n\
        </SCRIPT><script src=\"/other.js\" data-x='a>b'></script>\
        <scripts>not a script</scripts></body></html>";

    #[test]
    fn finds_the_inline_scripts_and_skips_external_ones() {
        let scripts = inline_scripts(BUILT);
        assert_eq!(scripts.len(), 2, "{scripts:?}");
        assert!(scripts[0].starts_with("import init, * as bindings"));
        assert!(scripts[0].ends_with("{detail: {wasm}}));"));
        assert_eq!(
            scripts[1],
            "\n  navigator.serviceWorker.register('/sw.js');\n"
        );
    }

    #[test]
    fn attribute_names_ignore_values() {
        let names: Vec<_> =
            attribute_names(r#" type=module data-src="src x" async nonce='src'"#).collect();
        assert_eq!(names, ["type", "data-src", "async", "nonce"]);
        let names: Vec<_> = attribute_names(r#" src="/a.js""#).collect();
        assert_eq!(names, ["src"]);
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_scripts() {
        let csp = content_security_policy(BUILT);
        let script_src = csp
            .split("; ")
            .find(|d| d.starts_with("script-src "))
            .unwrap();
        let sources: Vec<_> = script_src.split(' ').skip(1).collect();
        assert_eq!(sources.len(), 4, "{script_src}");
        assert_eq!(sources[..2], ["'self'", "'wasm-unsafe-eval'"]);
        for script in inline_scripts(BUILT) {
            let hash = STANDARD.encode(Sha256::digest(script));
            assert!(sources.contains(&format!("'sha256-{hash}'").as_str()));
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
    }

    #[test]
    fn hashes_what_the_browser_sees_after_newline_normalization() {
        let crlf = content_security_policy("<script>a();\r\nb();\r</script>");
        let lf = content_security_policy("<script>a();\nb();\n</script>");
        assert_eq!(crlf, lf);
    }
}
