//! The state every handler shares: a cheap-to-clone handle over one `Arc`.

use crate::auth::PasswordHasherPool;
use crate::hub::Hub;
use crate::store::Store;
use governor::DefaultKeyedRateLimiter;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub hub: Hub,
    pub hasher: PasswordHasherPool,
    /// Exact `Origin` values allowed to open sockets and call the API.
    pub allowed_origins: Vec<String>,
    pub secure_cookies: bool,
    pub session_ms: i64,
    pub trust_forwarded_for: bool,
    /// Held from a message's insert to its broadcast, so every socket receives a room's
    /// messages in id order and a client may resume from the newest one it got live. An async
    /// mutex on purpose: it must be held across the insert's `.await`; SQLite serialises those
    /// writes anyway, so it costs no parallelism.
    pub delivery_order: tokio::sync::Mutex<()>,
    /// Per-socket frame quota (see `Config::socket_frames_per_second`).
    pub socket_quota: governor::Quota,
    /// Sign-up and log-in attempts per client IP.
    pub auth_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Cancelled once on shutdown; sockets then close with 1001.
    pub shutdown: CancellationToken,
    /// Socket tasks, so shutdown can wait for them to say goodbye.
    pub sockets: TaskTracker,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
