//! The built frontend is served with the right types, compression, caching and SPA fallback,
//! and every answer with the security headers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use signaling::config::Config;
use std::sync::{Arc, Mutex};

/// A server whose built frontend is `files` (name, contents), in a directory that lives as
/// long as the returned guard.
async fn serving(files: &[(&str, &[u8])]) -> (tempfile::TempDir, signaling::Server) {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for (name, contents) in files {
        std::fs::write(dist.join(name), contents).unwrap();
    }
    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.static_dir = dist;
    (dir, signaling::start(config).await.unwrap())
}

#[tokio::test]
async fn serves_the_frontend_compressed_with_spa_fallback() {
    let wasm = vec![0u8; 64 * 1024];
    let (_dir, server) = serving(&[
        ("index.html", b"<!doctype html><title>Chat</title>"),
        ("frontend-0123456789abcdef_bg.wasm", &wasm),
    ])
    .await;
    let http = reqwest::Client::new();

    let asset = http
        .get(format!(
            "{}/frontend-0123456789abcdef_bg.wasm",
            server.url()
        ))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(asset.headers()["content-type"], "application/wasm");
    assert_eq!(asset.headers()["content-encoding"], "gzip");
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(asset.bytes().await.unwrap().len() < wasm.len() / 10);

    for path in ["/", "/rooms/some-client-route"] {
        let page = http
            .get(format!("{}{path}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(page.headers()["cache-control"], "no-cache");
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert!(page.text().await.unwrap().contains("<title>Chat</title>"));
    }
}

fn directive<'a>(csp: &'a str, name: &str) -> Vec<&'a str> {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {csp}"))
        .split(' ')
        .collect()
}

/// A returning browser (or the service worker's install) revalidates the page and the files
/// with their ETag and gets 304 without the body; the headers that would only repeat it are
/// not sent (the first load's budget counts headers).
#[tokio::test]
async fn files_revalidate_by_etag_without_being_sent_again() {
    let (_dir, server) = serving(&[
        ("index.html", b"<!doctype html><title>Chat</title>"),
        ("style-0123456789abcdef.css", b"body{margin:0}"),
    ])
    .await;
    let http = reqwest::Client::new();
    for path in ["/", "/style-0123456789abcdef.css"] {
        let url = format!("{}{path}", server.url());
        let first = http.get(&url).send().await.unwrap();
        assert_eq!(first.status(), 200, "{path}");
        assert!(first.headers().get("last-modified").is_none(), "{path}");
        assert!(first.headers().get("accept-ranges").is_none(), "{path}");
        let etag = first.headers()["etag"].clone();
        let again = http
            .get(&url)
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.bytes().await.unwrap().is_empty(), "{path}");
        let changed = http
            .get(&url)
            .header("If-None-Match", "\"some-other-version\"")
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), 200, "{path}");
    }
}

/// Scripts run only from this origin and the page's own inline scripts, by hash: an injected
/// `<script>` or event handler does not run. Trunk injects one inline script per build, the
/// service-worker registration is another.
#[tokio::test]
async fn pages_allow_exactly_their_inline_scripts_and_carry_the_security_headers() {
    let loader = "import init from '/frontend-0123456789abcdef.js';\nawait init();\n";
    let register = "\n  navigator.serviceWorker.register('/sw.js');\n";
    let html = format!(
        "<!doctype html><html><head><script type=\"module\">{loader}</script>\
         <script src=\"/external.js\"></script></head>\
         <body><script>{register}</script></body></html>"
    );
    let (_dir, server) = serving(&[
        ("index.html", html.as_bytes()),
        ("sw.js", b"self.addEventListener('fetch', () => {});"),
        ("frontend-0123456789abcdef_bg.wasm", b"\0asm"),
        ("style-0123456789abcdef.css", b"body {}"),
    ])
    .await;
    let http = reqwest::Client::new();

    let page = http.get(server.url()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    let hash = |script: &str| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(script)));
    let mut expected = vec![
        "'self'".to_owned(),
        "'wasm-unsafe-eval'".to_owned(),
        hash(loader),
        hash(register),
    ];
    let mut script_src: Vec<String> = directive(csp, "script-src")
        .into_iter()
        .map(str::to_owned)
        .collect();
    script_src.sort();
    expected.sort();
    assert_eq!(script_src, expected, "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
    for (name, sources) in [
        ("default-src", &["'self'"][..]),
        ("connect-src", &["'self'", "blob:"]),
        ("worker-src", &["'self'", "blob:"]),
        ("object-src", &["'none'"]),
        ("base-uri", &["'none'"]),
        ("frame-ancestors", &["'none'"]),
    ] {
        assert_eq!(directive(csp, name), sources, "{name}");
    }
    let permissions = headers["permissions-policy"].to_str().unwrap();
    for feature in ["camera=(self)", "microphone=(self)", "geolocation=()"] {
        assert!(permissions.contains(feature), "{feature}: {permissions}");
    }
    assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
    assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
    assert!(
        !headers.contains_key("strict-transport-security"),
        "plain http"
    );

    // API answers carry account data: never stored, by the browser or anyone between.
    let session = http
        .get(format!("{}/api/session", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 401);
    assert_eq!(session.headers()["cache-control"], "no-store");

    // The service worker's script sets the worker's policy; the wasm and the stylesheet need
    // none (they are most of the first load's bytes, which has a budget).
    let worker = http
        .get(format!("{}/sw.js", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(worker.headers()["content-security-policy"], csp);
    for asset in [
        "/frontend-0123456789abcdef_bg.wasm",
        "/style-0123456789abcdef.css",
    ] {
        let answer = http
            .get(format!("{}{asset}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{asset}");
        assert!(
            !answer.headers().contains_key("content-security-policy"),
            "{asset}"
        );
        assert!(
            !answer.headers().contains_key("permissions-policy"),
            "{asset}"
        );
        assert_eq!(
            answer.headers()["x-content-type-options"],
            "nosniff",
            "{asset}"
        );
    }
    for path in ["/api/login", "/api/nope"] {
        let answer = http
            .post(format!("{}{path}", server.url()))
            .json(&serde_json::json!({"username": "nobody", "password": "whatever123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.headers()["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn behind_https_browsers_are_told_to_stay_on_https() {
    let server = crate::harness::TestServer::start_with(|c| c.secure_cookies = true).await;
    let health = server
        .http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
}

/// Collects the error events logged on this thread: a `#[tokio::test]` runs the server's tasks
/// on the test's own thread, so its logs land here.
#[derive(Clone, Default)]
struct ErrorLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for ErrorLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A path segment longer than a file name may be (255 bytes), or a path longer than the file
/// system takes, names no file: 404 like any other missing file, not a 500 and an error log
/// that anyone can fill.
#[tokio::test]
async fn over_long_paths_are_not_found_without_an_error() {
    let errors = ErrorLog::default();
    let writer = errors.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::ERROR)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let (_dir, server) = serving(&[("index.html", b"<title>Chat</title>")]).await;
    let http = reqwest::Client::new();

    let long_segment = format!("/{}", "a".repeat(300));
    let long_path = "/a".repeat(2500);
    let long_asset = format!("/{}.js", "b".repeat(300));
    for path in [&long_segment, &long_path, &long_asset] {
        let response = http
            .get(format!("{}{path}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{} bytes", path.len());
    }
    // Ordinary client routes still get the app.
    let route = http
        .get(format!("{}/rooms/{}", server.url(), "c".repeat(200)))
        .send()
        .await
        .unwrap();
    assert_eq!(route.status(), 200);
    let logged = String::from_utf8(errors.0.lock().unwrap().clone()).unwrap();
    assert!(logged.is_empty(), "{logged}");
}
