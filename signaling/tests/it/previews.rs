//! Link previews against a web server written for the test on loopback (reachable only with
//! the test-only allowance); the guard's refusals of private addresses are unit-tested in
//! `signaling/src/outbound.rs` and checked here through the endpoint.

use crate::harness::TestServer;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A site: `/page` (with Open Graph tags and an image), `/cover.png`, `/moved` (a redirect to
/// the page), `/loop` (redirects forever), `/text` (not HTML). Returns its base URL and how
/// often `/page` was fetched.
async fn site() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let mut cover = std::io::Cursor::new(Vec::new());
    image::ImageBuffer::from_pixel(800, 400, image::Rgb([20u8, 90, 160]))
        .write_to(&mut cover, image::ImageFormat::Png)
        .unwrap();
    let cover = cover.into_inner();
    let app = axum::Router::new()
        .route(
            "/page",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async {
                    axum::response::Html(
                        r#"<html><head><title>Fallback</title>
                        <meta property="og:title" content="Release notes 2.0">
                        <meta property="og:description" content="What is new this month.">
                        <meta property="og:site_name" content="Example Blog">
                        <meta property="og:image" content="/cover.png"></head>
                        <body>text</body></html>"#,
                    )
                }
            }),
        )
        .route(
            "/cover.png",
            axum::routing::get(move || {
                let cover = cover.clone();
                async move { ([(header::CONTENT_TYPE, "image/png")], cover).into_response() }
            }),
        )
        .route(
            "/moved",
            axum::routing::get(|| async { Redirect::temporary("/page") }),
        )
        .route(
            "/loop",
            axum::routing::get(|| async { Redirect::temporary("/loop") }),
        )
        .route("/text", axum::routing::get(|| async { "just text" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, hits)
}

async fn ask(
    server: &TestServer,
    cookie: Option<&str>,
    path: &str,
    url: &str,
) -> reqwest::Response {
    let mut request = server
        .http
        .get(format!("{}{path}", server.base))
        .query(&[("url", url)]);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn previews_are_off_unless_turned_on() {
    let server = TestServer::start().await;
    let cookie = server.create_user("alice").await;
    let (base, hits) = site().await;
    let answer = ask(
        &server,
        Some(&cookie),
        "/api/previews",
        &format!("{base}/page"),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was fetched");
}

#[tokio::test]
async fn a_page_gives_its_title_description_and_image_once_a_day() {
    let server = TestServer::start_with(|c| {
        c.link_previews = true;
        c.link_previews_allow_private = true;
    })
    .await;
    let cookie = server.create_user("alice").await;
    let (base, hits) = site().await;
    let page = format!("{base}/page");

    assert_eq!(
        ask(&server, None, "/api/previews", &page).await.status(),
        401
    );
    let card: Value = ask(&server, Some(&cookie), "/api/previews", &page)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["title"], "Release notes 2.0");
    assert_eq!(card["description"], "What is new this month.");
    assert_eq!(card["site"], "Example Blog");
    assert_eq!(card["image"], true);
    let image = ask(&server, Some(&cookie), "/api/previews/image", &page).await;
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    let image = image::load_from_memory(&image.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (image.width(), image.height()),
        (480, 240),
        "re-encoded, small"
    );
    // Kept: asking again (or for the image) does not fetch the page again.
    ask(&server, Some(&cookie), "/api/previews", &page).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A redirect is followed (within the limit); a loop, or what is not HTML, shows nothing.
    let moved: Value = ask(
        &server,
        Some(&cookie),
        "/api/previews",
        &format!("{base}/moved"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(moved["title"], "Release notes 2.0");
    for nothing in ["/loop", "/text", "/missing"] {
        let answer = ask(
            &server,
            Some(&cookie),
            "/api/previews",
            &format!("{base}{nothing}"),
        )
        .await;
        assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{nothing}");
    }
    let bad = ask(
        &server,
        Some(&cookie),
        "/api/previews",
        "javascript:alert(1)",
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_the_allowance_private_addresses_are_refused() {
    let server = TestServer::start_with(|c| c.link_previews = true).await;
    let cookie = server.create_user("alice").await;
    let (base, hits) = site().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    for refused in [
        format!("{base}/page"),
        format!("http://localhost:{port}/page"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]/".to_owned(),
        "http://2130706433/".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let answer = ask(&server, Some(&cookie), "/api/previews", &refused).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{refused}");
    }
    // A name that resolves to loopback, on the web's port, is refused when it is resolved.
    let answer = ask(
        &server,
        Some(&cookie),
        "/api/previews",
        "http://localhost/page",
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the site was never reached");
}
