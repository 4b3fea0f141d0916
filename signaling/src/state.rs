//! The state every handler shares: a cheap-to-clone handle over one `Arc`.

use crate::auth::PasswordHasherPool;
use crate::fanout::Fanout;
use crate::hub::Hub;
use crate::store::{Storage, UserId};
use governor::DefaultKeyedRateLimiter;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Storage>,
    /// Web Push (`None` only where the key could not be loaded: then pushes are off).
    pub push: Option<Arc<crate::push::Pusher>>,
    /// Files left on the server (`None` only where its directory could not be opened).
    pub media: Option<Arc<crate::media::Media>>,
    /// Who may scrape `/metrics` (`None` unless `--metrics-token`).
    pub metrics: Option<crate::metrics::MetricsAccess>,
    /// Link previews (`None` unless `--link-previews`).
    pub previews: Option<Arc<crate::previews::Previews>>,
    /// Settings, abuse controls and activity counts (`crate::admin`).
    pub admin: crate::admin::Admin,
    /// Outgoing webhooks: the client and settings their delivery uses (`crate::webhooks`).
    pub webhooks: crate::webhooks::Webhooks,
    /// The support desk (`None` unless `--support-kb`).
    pub support: Option<Arc<crate::support::desk::Desk>>,
    /// This process's sockets.
    pub hub: Hub,
    /// How events reach sockets (through `hub` in the embedded setup).
    pub fanout: Arc<dyn Fanout>,
    pub hasher: PasswordHasherPool,
    /// Exact `Origin` values allowed to open sockets and call the API.
    pub allowed_origins: Vec<String>,
    /// The session cookie's name and attributes (`__Host-` behind HTTPS).
    pub session_cookie: crate::session_cookie::SessionCookie,
    pub sessions: SessionPolicy,
    pub trust_forwarded_for: bool,
    /// The write path of the room timelines: the order of room events, the group commit of
    /// messages, and their fan-out.
    pub room_log: crate::room_log::RoomLog,
    /// How often sockets are pinged, and how long one may be silent (see `Config::ws_ping_secs`).
    pub ws_ping: Duration,
    pub ws_idle: Duration,
    /// Per-socket frame quota (see `Config::socket_frames_per_second`).
    pub socket_quota: governor::Quota,
    /// Events (messages, edits, reactions, room changes) per user, across all their sockets.
    pub user_event_limiter: DefaultKeyedRateLimiter<UserId>,
    /// Frames per user across all their sockets: opening more sockets buys no more requests.
    pub user_frame_limiter: DefaultKeyedRateLimiter<UserId>,
    /// Room lists per user: each reads every room's summary.
    pub room_list_limiter: DefaultKeyedRateLimiter<UserId>,
    /// Socket openings per user: each welcome summarises every room of the user, so opening
    /// and closing sockets in a loop must not be free.
    pub connect_limiter: DefaultKeyedRateLimiter<UserId>,
    /// Data exports per user: each reads the whole history of every room.
    pub export_limiter: DefaultKeyedRateLimiter<UserId>,
    /// WebSockets one user may have open at once.
    pub max_sockets_per_user: usize,
    /// Sign-up and log-in attempts per client IP.
    pub auth_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Failed log-ins per account, from any address.
    pub login_throttle: crate::login_throttle::LoginThrottle,
    /// Who may create an account.
    pub registration: shared::api::RegistrationMode,
    /// The lobby lists every account to everyone (`--user-directory everyone`); otherwise only
    /// to server administrators.
    pub open_directory: bool,
    /// Passkey ceremonies, when the server has a relying-party id for them.
    pub passkeys: Option<crate::passkeys::Passkeys>,
    /// Calls in progress.
    pub calls: crate::calls::Calls,
    /// STUN/TURN servers for clients.
    pub ice: crate::turn::IceConfig,
    /// How long a user who lost their last socket still shows as present.
    pub presence_grace: std::time::Duration,
    /// Socket tasks, so shutdown can wait for them to say goodbye.
    pub sockets: TaskTracker,
    /// The single sign-on provider, when one is configured.
    pub sso: Option<crate::sso::Sso>,
}

/// How long sessions last, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// From log-in to expiry, however much the session is used.
    pub lifetime_ms: i64,
    /// Unused for this long, a session stops working.
    pub idle_ms: i64,
    /// How stale the recorded last use may get before a use is written again.
    pub touch_every_ms: i64,
}

impl SessionPolicy {
    /// Last use is written at most once a minute, or ten times per idle limit when that is
    /// shorter (tests), so it is never more than a tenth of the limit out of date.
    pub fn new(lifetime: Duration, idle: Duration) -> Self {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let touch_every = (idle / 10).min(Duration::from_secs(60));
        Self {
            lifetime_ms: ms(lifetime),
            idle_ms: ms(idle),
            touch_every_ms: ms(touch_every),
        }
    }
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
