//! The built frontend is served with the right types, compression, caching and SPA fallback.

use signaling::config::Config;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn serves_the_frontend_compressed_with_spa_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Chat</title>",
    )
    .unwrap();
    let wasm = vec![0u8; 64 * 1024];
    std::fs::write(dist.join("frontend-0123456789abcdef_bg.wasm"), &wasm).unwrap();
    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.static_dir = dist;
    let server = signaling::start(config).await.unwrap();
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

    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<title>Chat</title>").unwrap();
    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.static_dir = dist;
    let server = signaling::start(config).await.unwrap();
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
