//! Prometheus metrics at `GET /metrics`, for operators (docs/OPERATIONS.md lists them). Off
//! unless `--metrics-token` is given; then a scrape must carry `Authorization: Bearer <token>`.
//! Figures are recorded with the `metrics` crate's macros where things happen (a no-op while
//! no recorder is installed) and rendered by `metrics-exporter-prometheus`. They are this
//! node's: scrape every node.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Commit latency buckets, in seconds.
const SECONDS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0];
/// Commit batch size buckets.
const BATCH: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 500.0, 4096.0];

/// The process's recorder, installed on first use (one per process: the macros record into
/// it from everywhere).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &SECONDS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full("chat_commit_batch_size".into()),
                        &BATCH,
                    )
                });
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::error!(error = %e, "metrics are off: the recorder could not start");
                    None
                }
            }
        })
        .as_ref()
}

/// The scrape token, kept as its hash so the comparison takes the same time for every guess.
pub struct MetricsAccess {
    token_hash: [u8; 32],
}

impl MetricsAccess {
    pub fn new(token: &str) -> Self {
        recorder();
        Self {
            token_hash: Sha256::digest(token.as_bytes()).into(),
        }
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given
            .iter()
            .zip(self.token_hash.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(access) = &state.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !access.allows(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(handle) = recorder() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    // Queue depths are read when scraped, not kept on the hot path.
    let (queued, fullest) = state.hub.queued_frames();
    #[allow(clippy::cast_precision_loss)]
    {
        metrics::gauge!("chat_socket_queue_frames").set(queued as f64);
        metrics::gauge!("chat_socket_queue_frames_max").set(fullest as f64);
        metrics::gauge!("chat_commit_queue_messages").set(state.room_log.commit_queue() as f64);
    }
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
