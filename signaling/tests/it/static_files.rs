//! The built frontend is served with the right types, compression, caching and SPA fallback.

use signaling::config::Config;

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
