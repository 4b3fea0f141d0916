//! The HTTP surface: API, WebSocket, health check, and the built frontend.

use crate::state::AppState;
use crate::{accounts, ws};
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{any, get, post};
use std::path::Path;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Largest API request body; credentials are far smaller.
const MAX_API_BODY: usize = 16 * 1024;

pub fn router(state: AppState, static_dir: &Path) -> Router {
    let api = Router::new()
        .route("/api/signup", post(accounts::signup))
        .route("/api/login", post(accounts::login))
        .route("/api/logout", post(accounts::logout))
        .route("/api/session", get(accounts::session))
        .route("/api/{*rest}", any(accounts::not_found))
        .layer(RequestBodyLimitLayer::new(MAX_API_BODY));

    // Unknown paths get index.html so client-side routes survive a reload.
    let frontend = ServeDir::new(static_dir)
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(static_dir.join("index.html")));

    Router::new()
        .merge(api)
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .fallback_service(frontend)
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(TraceLayer::new_for_http())
}

async fn healthz() -> &'static str {
    "ok"
}
