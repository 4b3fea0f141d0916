//! The HTTP surface: API, WebSocket, health check, and the built frontend.

use crate::state::AppState;
use crate::{
    accounts, admin, blocks, bots, deletion, devices, export, media, metrics, passkeys, previews,
    push, security_headers, sso, support, threads, two_factor, webhooks, ws,
};
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post, put};
use std::path::Path;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

/// Largest API request body; credentials are far smaller.
const MAX_API_BODY: usize = 16 * 1024;

/// `https`: the server is reached over HTTPS only (`--secure-cookies`).
pub fn router(state: AppState, static_dir: &Path, https: bool) -> Router {
    let api = Router::new()
        .route("/api/signup", post(accounts::signup))
        .route("/api/login", post(accounts::login))
        .route("/api/logout", post(accounts::logout))
        .route("/api/session", get(accounts::session))
        .route("/api/auth-options", get(accounts::auth_options))
        .route("/api/sso/start", get(sso::start))
        .route("/api/sso/callback", get(sso::callback))
        .route("/api/sessions", get(devices::list))
        .route("/api/blocks", get(blocks::list))
        .route("/api/push", get(push::api::key))
        .route("/api/push/settings", post(push::api::settings))
        .route(
            "/api/push/subscriptions",
            post(push::api::subscribe).delete(push::api::unsubscribe),
        )
        .route("/api/media", get(media::api::limits))
        .route("/api/rooms/{room}/uploads", post(media::api::start))
        .route(
            "/api/uploads/{id}",
            get(media::api::status).delete(media::api::discard),
        )
        .route("/api/avatars/{username}", get(media::avatars::of_user))
        .route("/api/previews", get(previews::card))
        .route("/api/previews/image", get(previews::image))
        .route("/api/attachments/{id}", get(media::api::fetch))
        .route("/api/attachments/{id}/thumb", get(media::api::thumb))
        .route("/api/rooms/{room}/threads", get(threads::list))
        .route("/api/rooms/{room}/threads/{root}", get(threads::page))
        .route("/api/sessions/{id}", delete(devices::end_one))
        .route("/api/logout-everywhere", post(devices::end_all))
        .route("/api/password", post(devices::change_password))
        .route("/api/export", get(export::download))
        .route("/api/account/delete", post(deletion::delete_account))
        .route("/api/2fa", get(two_factor::status))
        .route("/api/2fa/setup", post(two_factor::setup))
        .route("/api/2fa/enable", post(two_factor::enable))
        .route("/api/2fa/disable", post(two_factor::disable))
        .route(
            "/api/admin/users",
            get(admin::api::users).post(accounts::create_by_admin),
        )
        .route("/api/admin/users/{username}", post(admin::api::user_action))
        .route(
            "/api/admin/users/{username}/sessions",
            get(admin::api::sessions),
        )
        .route("/api/admin/rooms", get(admin::api::rooms))
        .route("/api/admin/rooms/{room}", delete(admin::api::delete_room))
        .route(
            "/api/admin/rooms/{room}/take-over",
            post(admin::api::take_over),
        )
        .route(
            "/api/admin/rooms/{room}/retention",
            put(admin::api::room_retention),
        )
        .route(
            "/api/admin/settings",
            get(admin::api::settings).put(admin::api::put_settings),
        )
        .route("/api/admin/retention/run", post(admin::api::run_retention))
        .route("/api/admin/audit", get(admin::api::audit_log))
        .route("/api/admin/insight", get(admin::insight::page))
        .route(
            "/api/admin/bots",
            get(bots::admin::list).post(bots::admin::create),
        )
        .route(
            "/api/admin/bots/{username}/token",
            post(bots::admin::new_token),
        )
        .route(
            "/api/admin/bots/{username}/rooms",
            put(bots::admin::set_rooms),
        )
        .route(
            "/api/admin/webhooks",
            get(webhooks::admin::list).post(webhooks::admin::create),
        )
        .route("/api/admin/webhooks/{id}", delete(webhooks::admin::remove))
        .route("/api/support/conversations", post(support::api::open))
        .route("/api/support/queue", get(support::api::queue))
        .route(
            "/api/support/conversations/{room}/claim",
            post(support::api::claim),
        )
        .route(
            "/api/support/conversations/{room}/resolve",
            post(support::api::resolve),
        )
        .route(
            "/api/support/conversations/{room}/unassign",
            post(support::api::unassign),
        )
        .route("/api/support/guest", post(support::guests::start))
        .route("/api/support/me", get(support::guests::me))
        .route("/api/bot/me", get(bots::api::me))
        .route("/api/bot/commands", put(bots::commands::register))
        .route("/api/rooms/{room}/commands", get(bots::commands::of_room))
        .route("/api/bot/rooms/{room}/messages", post(bots::api::send))
        .route(
            "/api/bot/rooms/{room}/messages/{seq}",
            put(bots::api::edit).delete(bots::api::delete),
        )
        .route(
            "/api/bot/rooms/{room}/messages/{seq}/reactions",
            post(bots::api::react),
        )
        .route("/api/bot/rooms/{room}/events", get(bots::api::events))
        .route(
            "/api/reports",
            get(admin::reports::mine).post(admin::reports::create),
        )
        .route("/api/moderation/reports", get(admin::reports::queue))
        .route("/api/moderation/reports/{id}", post(admin::reports::act))
        .route("/api/profile", post(accounts::set_profile))
        .route("/api/passkeys", get(passkeys::list))
        .route("/api/passkeys/register", post(passkeys::start_registration))
        .route(
            "/api/passkeys/register/finish",
            post(passkeys::finish_registration),
        )
        .route("/api/passkeys/{id}", delete(passkeys::remove))
        .route("/api/passkey-login", post(passkeys::start_log_in))
        .route("/api/passkey-login/finish", post(passkeys::finish_log_in))
        .route("/api/{*rest}", any(accounts::not_found))
        .layer(RequestBodyLimitLayer::new(MAX_API_BODY));
    // Chunks of uploads and pictures are larger than any other request body.
    let chunks = Router::new()
        .route("/api/uploads/{id}", patch(media::api::append))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(media::MAX_CHUNK));
    let pictures = Router::new()
        .route(
            "/api/avatar",
            put(media::avatars::set_mine).delete(media::avatars::remove_mine),
        )
        .route(
            "/api/rooms/{room}/avatar",
            get(media::avatars::of_room)
                .put(media::avatars::set_room)
                .delete(media::avatars::remove_room),
        )
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(
            media::avatars::MAX_PICTURE_BYTES,
        ));

    // Unknown paths get index.html so client-side routes survive a reload. A release build has
    // `.br` (quality 11) and `.gz` copies of its assets (scripts/precompress.mjs); they are sent
    // as they are, which is smaller than the on-the-fly compression below can afford to be.
    let frontend = ServeDir::new(static_dir)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(static_dir.join("index.html"))
                .precompressed_br()
                .precompressed_gzip(),
        );

    // The support desk's documents, which the assistant's answers link to.
    let documents = match &state.support {
        Some(desk) => Router::new().nest_service("/kb", ServeDir::new(&desk.kb_dir)),
        None => Router::new(),
    };
    let app = Router::new()
        .merge(documents)
        .merge(chunks)
        .merge(pictures)
        .merge(api)
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::scrape))
        .fallback(move |request: Request| serve_frontend(frontend.clone(), request))
        .with_state(state)
        .layer(middleware::from_fn(cache_policy))
        .layer(CompressionLayer::new());
    security_headers::add_to(app, static_dir, https).layer(TraceLayer::new_for_http())
}

/// The built frontend. A name the file system refuses as too long (a path segment over 255
/// bytes, or a path over 4 KiB) names no file: 404, where `ServeDir` would answer 500 and log
/// an error that any client can trigger.
async fn serve_frontend(mut frontend: ServeDir<ServeFile>, request: Request) -> Response {
    match frontend.try_call(request).await {
        Ok(response) => {
            let mut response = response.map(Body::new);
            // Browsers revalidate with the file's strong ETag (If-None-Match, which `ServeDir`
            // answers with 304); Last-Modified would say the same again, and no page file needs
            // Accept-Ranges advertised. About 70 bytes on every response of the first load,
            // whose 250 KB budget counts headers.
            let headers = response.headers_mut();
            if headers.contains_key(header::ETAG) {
                headers.remove(header::LAST_MODIFIED);
            }
            headers.remove(header::ACCEPT_RANGES);
            response
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidFilename => {
            StatusCode::NOT_FOUND.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read a file of the frontend");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Trunk names built assets `name-<content hash>.ext`, so they can be cached forever; everything
/// else (index.html, the manifest, icons) must be revalidated so that a deploy is picked up on
/// the next load. API answers carry account data and are never stored, except where their
/// handler says otherwise.
async fn cache_policy(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let immutable = is_hashed_asset(path);
    let api = path == "/api" || path.starts_with("/api/");
    let mut response = next.run(request).await;
    // A handler that chose keeps its choice (files and pictures: private copies, kept a day
    // or revalidated).
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if api {
            "no-store"
        } else if immutable && response.status().is_success() {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

fn is_hashed_asset(path: &str) -> bool {
    let Some(file) = path.rsplit('/').next() else {
        return false;
    };
    let stem = file.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_content_hashed_files_are_immutable() {
        assert!(is_hashed_asset("/frontend-449cbbd410f9c9a0_bg.wasm"));
        assert!(is_hashed_asset("/frontend-449cbbd410f9c9a0.js"));
        assert!(is_hashed_asset("/style-604a01a25487d229.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/"));
        assert!(!is_hashed_asset("/manifest.webmanifest"));
        assert!(!is_hashed_asset("/my-room"));
    }
}
