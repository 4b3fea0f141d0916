//! Link previews (`--link-previews`, off by default): the server fetches a page a message
//! links to and keeps its title, description, site name and a small copy of its image, for
//! every node (`link_previews`), a day. Clients ask `GET /api/previews?url=` and show
//! the card (public/previews.js); the image comes from the server too
//! (`GET /api/previews/image?url=`), re-encoded, so a reader's browser never contacts the site
//! and the page's CSP stays `img-src 'self'`.
//!
//! Fetching is guarded (`crate::outbound`): only `http`/`https` on ports 80 and 443, never a
//! private, loopback or link-local address (written in the URL or resolved, on every redirect,
//! at most 3), at most 1 MiB of HTML and 5 MiB of image, 5 seconds each, and only for
//! signed-in users within a per-user quota. `--link-previews-allow-private` lifts the address
//! and port rule, for tests and closed networks.

pub mod page;

use crate::error::ApiFailure;
use crate::media::images;
use crate::now_ms;
use crate::outbound;
use crate::request::authenticate_metered;
use crate::state::AppState;
use crate::store::LinkPreview;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A preview is fetched again after this long.
const KEPT_MS: i64 = 24 * 3600 * 1000;
/// A page that could not be previewed is tried again after this long.
const FAILURE_KEPT_MS: i64 = 3600 * 1000;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_HTML: usize = 1024 * 1024;
const MAX_IMAGE: usize = 5 * 1024 * 1024;
const MAX_REDIRECTS: usize = 3;
/// Longest URL previewed.
const MAX_URL: usize = 2048;
/// New pages one user may have fetched per minute (cached ones are free).
const FETCHES_PER_MINUTE: u32 = 20;

pub struct Previews {
    http: reqwest::Client,
    allow_private: bool,
    fetches: DefaultKeyedRateLimiter<crate::store::UserId>,
    /// One fetch of a URL at a time on this node: readers who ask while it runs wait for it
    /// and get what it kept, so a link many open at once is fetched once.
    fetching: std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl Previews {
    pub fn new(allow_private: bool) -> Self {
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if outbound::url_acceptable(attempt.url(), allow_private) {
                attempt.follow()
            } else {
                attempt.error("a redirect to an address previews may not fetch")
            }
        });
        Self {
            http: outbound::client(allow_private, FETCH_TIMEOUT, redirects),
            allow_private,
            fetches: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(FETCHES_PER_MINUTE).unwrap_or(NonZeroU32::MIN),
            )),
            fetching: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The gate of `url`'s fetch, shared with whoever holds it now.
    fn gate(&self, url: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(gate) = fetching.get(url).and_then(Weak::upgrade) {
            return gate;
        }
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        fetching.insert(url.to_owned(), Arc::downgrade(&gate));
        gate
    }
}

impl Previews {
    /// Drops the quotas of users who fetched nothing lately (housekeeping).
    pub fn retain_recent(&self) {
        self.fetches.retain_recent();
        let mut fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        fetching.retain(|_, gate| gate.strong_count() > 0);
    }
}

#[derive(Deserialize)]
pub struct Asked {
    url: String,
}

#[derive(Serialize)]
pub struct Card {
    url: String,
    title: String,
    description: String,
    site: String,
    /// `/api/previews/image?url=…` serves it.
    image: bool,
}

/// The preview of `asked.url`, fetched now or kept from before.
async fn preview_of(
    state: &AppState,
    headers: &HeaderMap,
    asked: &Asked,
) -> Result<LinkPreview, ApiFailure> {
    let previews = state.previews.as_deref().ok_or(ApiFailure::NotFound)?;
    let authed = authenticate_metered(state, headers).await?;
    let url = url::Url::parse(&asked.url)
        .ok()
        .filter(|u| {
            asked.url.len() <= MAX_URL && outbound::url_acceptable(u, previews.allow_private)
        })
        .ok_or_else(|| {
            ApiFailure::BadRequest("not an address previews may be fetched from".into())
        })?;
    let key = url.as_str().to_owned();
    if let Some(kept) = current(state, &key).await? {
        return Ok(kept);
    }
    let gate = previews.gate(&key);
    let _fetching = gate.lock().await;
    // Someone else's fetch may have finished while this one waited.
    if let Some(kept) = current(state, &key).await? {
        return Ok(kept);
    }
    if previews.fetches.check_key(&authed.user).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    let now = now_ms();
    let fetched = fetch(previews, &url).await;
    let preview = match fetched {
        Some((page, image)) => LinkPreview {
            url: key,
            ok: !page.title.is_empty(),
            title: page.title,
            description: page.description,
            site: page.site,
            image,
            fetched_ms: now,
        },
        None => LinkPreview {
            url: key,
            ok: false,
            title: String::new(),
            description: String::new(),
            site: String::new(),
            image: None,
            fetched_ms: now,
        },
    };
    state.store.put_link_preview(&preview).await?;
    Ok(preview)
}

/// The kept preview of `url` if it is recent enough.
async fn current(state: &AppState, url: &str) -> Result<Option<LinkPreview>, ApiFailure> {
    let kept = state.store.link_preview(url).await?;
    Ok(kept.filter(|kept| {
        now_ms() - kept.fetched_ms < if kept.ok { KEPT_MS } else { FAILURE_KEPT_MS }
    }))
}

/// `GET /api/previews?url=`: 200 with the card, 204 when the page has nothing to show; 404
/// means previews are off.
pub async fn card(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(asked): Query<Asked>,
) -> Result<Response, ApiFailure> {
    let preview = preview_of(&state, &headers, &asked).await?;
    if !preview.ok {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(Card {
        url: preview.url,
        title: preview.title,
        description: preview.description,
        site: preview.site,
        image: preview.image.is_some(),
    })
    .into_response())
}

/// `GET /api/previews/image?url=`: the page's image as the server re-encoded it.
pub async fn image(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(asked): Query<Asked>,
) -> Result<Response, ApiFailure> {
    let preview = preview_of(&state, &headers, &asked).await?;
    let bytes = preview.image.ok_or(ApiFailure::NotFound)?;
    let mime = images::thumb_mime(&bytes[..bytes.len().min(16)]);
    let mut response = Body::from(bytes).into_response();
    crate::media::protect_served(
        response.headers_mut(),
        HeaderValue::from_static(mime),
        "private, max-age=3600",
    );
    Ok(response)
}

/// The page and its image, or `None` when it cannot be had (refused address, not HTML, too
/// slow, an error status).
async fn fetch(previews: &Previews, url: &url::Url) -> Option<(page::Page, Option<Vec<u8>>)> {
    let response = previews
        .http
        .get(url.clone())
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .ok()?;
    let html = response.status().is_success() && is_type(&response, "text/html");
    if !html {
        return None;
    }
    let base = response.url().clone();
    let body = read_at_most(response, MAX_HTML).await?;
    let page = page::read(&String::from_utf8_lossy(&body), &base);
    let image = match &page.image {
        Some(image) if outbound::url_acceptable(image, previews.allow_private) => {
            fetch_image(previews, image).await
        }
        _ => None,
    };
    Some((page, image))
}

async fn fetch_image(previews: &Previews, url: &url::Url) -> Option<Vec<u8>> {
    let response = previews.http.get(url.clone()).send().await.ok()?;
    if !response.status().is_success() || !is_type(&response, "image/") {
        return None;
    }
    let bytes = read_at_most(response, MAX_IMAGE).await?;
    images::examine_off_thread(bytes)
        .await
        .map(|found| found.thumb)
}

fn is_type(response: &reqwest::Response, prefix: &str) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with(prefix))
}

/// The body, cut at `limit` bytes (a page's head comes first; an image over it is refused).
async fn read_at_most(response: reqwest::Response, limit: usize) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        if body.len() + chunk.len() > limit {
            if limit == MAX_HTML {
                body.extend_from_slice(&chunk[..limit - body.len()]);
                return Some(body);
            }
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// Forgets previews older than a day (the collector calls it).
pub async fn forget_old(state: &AppState) {
    if let Err(e) = state.store.forget_link_previews(now_ms() - KEPT_MS).await {
        tracing::warn!(error = %e, "could not forget old link previews");
    }
}
