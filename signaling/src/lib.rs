//! The chat server as a library, so integration tests start the real thing on port 0.
//!
//! [`start`] binds, opens the store and serves until [`Server::shutdown`]; `main.rs` adds only
//! flag parsing, logging and signal handling.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod blocks;
pub mod bots;
pub mod calls;
pub mod checkpoint;
pub mod cluster;
pub mod commit;
pub mod config;
pub mod deletion;
pub mod devices;
pub mod error;
pub mod export;
pub mod fanout;
pub mod frame_queue;
pub mod frames;
pub mod hub;
pub mod listener;
pub mod login_throttle;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod passkeys;
pub mod presence;
pub mod previews;
pub mod push;
pub mod request;
pub mod room_log;
pub mod routes;
pub mod rules;
pub mod security_headers;
pub mod session_cookie;
pub mod sso;
pub mod state;
pub mod store;
pub mod support;
pub mod threads;
pub mod turn;
pub mod two_factor;
pub mod webhooks;
pub mod ws;

use crate::config::Config;
use crate::state::{AppState, SessionPolicy, Shared};
use crate::store::Storage;
use governor::{Quota, RateLimiter};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for sockets to send their close frames.
const SOCKET_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Open files kept free of connections: the database, its log, the listener, logs.
const FILE_DESCRIPTOR_RESERVE: usize = 64;
/// A user's frames across all sockets may add up to this many sockets' quota: a few tabs and
/// devices work as before, a dozen sockets opened to multiply the quota do not.
const USER_FRAMES_IN_SOCKETS: NonZeroU32 = NonZeroU32::new(3).expect("non-zero");
/// Room lists a user may ask for at once (then one a second): the welcome already carries the
/// list, so clients ask rarely, and each costs a summary of every room.
const ROOM_LISTS_BURST: NonZeroU32 = NonZeroU32::new(5).expect("non-zero");
/// Data exports a user may start at once (then one a minute).
const EXPORTS_BURST: NonZeroU32 = NonZeroU32::new(3).expect("non-zero");
/// How often expired and idle sessions and idle rate-limiter entries are swept.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(600);

pub fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Asks the server to stop: no new connections, sockets close with 1001.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped and the database is closed.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub async fn start(config: Config) -> anyhow::Result<Server> {
    // An empty CHAT_DATABASE_URL is no URL.
    let url = config
        .database_url
        .as_ref()
        .filter(|u| !u.as_str().trim().is_empty());
    let store = store::open(url.map(|u| u.as_str()), &config.data_dir).await?;
    match url {
        Some(url) => tracing::info!(database = %url.redacted(), "store: PostgreSQL"),
        None => tracing::info!(dir = %config.data_dir.display(), "store: SQLite"),
    }
    start_with_store(config, store).await
}

/// [`start`] on a store the caller opened: tests wrap the real store to hold an operation at
/// a chosen point and make a race happen every time.
pub async fn start_with_store(config: Config, store: Arc<dyn Storage>) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    // `--admin` names accounts that exist now; a name nobody has yet makes nobody an
    // administrator later (whoever signed up with it would be one).
    let admins: Vec<String> = config
        .admins
        .iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    for missing in store.make_admins(&admins).await? {
        tracing::warn!(username = ?missing, "--admin names no account; create it, then restart");
    }
    let attempts = NonZeroU32::new(config.auth_attempts_per_minute.max(1)).expect("max(1)");
    let shutdown = CancellationToken::new();
    let per_second = NonZeroU32::new(config.socket_frames_per_second.max(1)).expect("max(1)");
    let burst = per_second.saturating_mul(NonZeroU32::new(3).expect("non-zero"));
    let events = NonZeroU32::new(config.user_events_per_second.max(1)).expect("max(1)");
    let events_burst = events.saturating_mul(NonZeroU32::new(4).expect("non-zero"));
    let hub = hub::Hub::new(shutdown.clone());
    // This process in shared state (the sockets in calls): random, so a restarted process
    // is a new node and the old one's sockets are recognisably gone.
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).expect("the OS random number generator is available");
    let node = u64::from_le_bytes(id);
    let (fanout, node_news): (Arc<dyn fanout::Fanout>, _) = match &config.nats_url {
        Some(url) => {
            let (fanout, news) = cluster::start(
                url,
                &config.nats_subject_prefix,
                node,
                hub.clone(),
                store.clone(),
                config.user_directory == config::UserDirectory::Everyone,
                shutdown.clone(),
            )
            .await?;
            (fanout, news)
        }
        None => {
            // Alone: every other node in shared state is an earlier run of this one.
            let (news, receiver) = tokio::sync::mpsc::channel(1);
            let _ = news.try_send(cluster::NodeNews::Running(vec![node]));
            (Arc::new(fanout::LocalFanout::new(hub.clone())), receiver)
        }
    };
    let room_log = room_log::RoomLog::start(store.clone(), fanout.clone());
    let allowed_origins = config.effective_origins(addr);
    let sso = sso::Sso::from_config(&config, &allowed_origins)?;
    let passkeys = passkeys::Passkeys::new(&config, &allowed_origins);
    let push = match push::Pusher::load(
        store.as_ref(),
        config.push_contact.clone(),
        config.push_allow_private_endpoints,
    )
    .await
    {
        Ok(pusher) => Some(Arc::new(pusher)),
        Err(e) => {
            tracing::error!(error = %e, "Web Push is off: its key could not be loaded");
            None
        }
    };
    let media_dir = config
        .media_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("media"));
    let media = match media::blobs::FsBlobs::open(&media_dir) {
        Ok(blobs) => Some(Arc::new(media::Media::new(
            Arc::new(blobs),
            config.max_upload_mb.saturating_mul(1024 * 1024),
            config.upload_quota_mb.saturating_mul(1024 * 1024),
            Duration::from_secs(config.media_grace_secs),
        ))),
        Err(e) => {
            tracing::error!(dir = %media_dir.display(), error = %e, "leaving files on the server is off: its directory could not be opened");
            None
        }
    };
    let support = match &config.support_kb {
        Some(dir) => Some(Arc::new(support_desk(&config, dir)?)),
        None => None,
    };
    let state = AppState::new(Shared {
        store: store.clone(),
        push,
        media: media.clone(),
        metrics: config
            .metrics_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(metrics::MetricsAccess::new),
        previews: config
            .link_previews
            .then(|| Arc::new(previews::Previews::new(config.link_previews_allow_private))),
        admin: admin::Admin::new(config.retention_day_secs),
        support,
        webhooks: webhooks::Webhooks::new(
            config.webhooks_allow_private,
            config.webhook_retry_base_ms,
            &node.to_string(),
        ),
        fanout,
        hub,
        hasher: auth::PasswordHasherPool::start(config.password_hash_threads),
        allowed_origins,
        session_cookie: session_cookie::SessionCookie::new(config.secure_cookies),
        sessions: SessionPolicy::new(
            Duration::from_secs(u64::from(config.session_days) * 24 * 3600),
            config.session_idle,
        ),
        trust_forwarded_for: config.trust_forwarded_for,
        room_log,
        ws_ping: Duration::from_secs(config.ws_ping_secs.max(1)),
        ws_idle: Duration::from_secs(config.ws_idle_secs.max(2)),
        socket_quota: Quota::per_second(per_second).allow_burst(burst),
        user_event_limiter: RateLimiter::keyed(Quota::per_second(events).allow_burst(events_burst)),
        user_frame_limiter: RateLimiter::keyed(
            Quota::per_second(per_second.saturating_mul(USER_FRAMES_IN_SOCKETS))
                .allow_burst(burst.saturating_mul(USER_FRAMES_IN_SOCKETS)),
        ),
        room_list_limiter: RateLimiter::keyed(
            Quota::per_second(NonZeroU32::MIN).allow_burst(ROOM_LISTS_BURST),
        ),
        connect_limiter: RateLimiter::keyed(
            Quota::per_second(NonZeroU32::MIN).allow_burst(
                NonZeroU32::new(u32::try_from(config.max_sockets_per_user).unwrap_or(u32::MAX))
                    .unwrap_or(NonZeroU32::MIN),
            ),
        ),
        export_limiter: RateLimiter::keyed(
            Quota::per_minute(NonZeroU32::MIN).allow_burst(EXPORTS_BURST),
        ),
        max_sockets_per_user: config.max_sockets_per_user.max(1),
        auth_limiter: RateLimiter::keyed(Quota::per_minute(attempts)),
        login_throttle: login_throttle::LoginThrottle::new(
            config.login_failures_per_account,
            config.login_failure_window,
        ),
        registration: config.registration.into(),
        open_directory: config.user_directory == config::UserDirectory::Everyone,
        passkeys,
        presence_grace: Duration::from_millis(config.presence_grace_ms),
        calls: calls::Calls::new(store.clone(), node),
        ice: turn::IceConfig {
            stun_urls: config.stun_urls.clone(),
            turn_urls: config.turn_urls.clone(),
            turn_secret: config.turn_secret.clone(),
            ttl_secs: config.turn_ttl_secs,
        },
        sockets: TaskTracker::new(),
        sso,
    });
    if !config.static_dir.join("index.html").exists() {
        tracing::warn!(dir = %config.static_dir.display(), "no built frontend here; only the API is served");
    }
    if let Some(desk) = &state.support {
        desk.start(&state)
            .await
            .map_err(|e| anyhow::anyhow!("the support desk cannot start: {e}"))?;
        tracing::info!(passages = desk.kb.passages(), "support desk on");
    }
    let app = routes::router(state.clone(), &config.static_dir, config.secure_cookies);
    tracing::info!(%addr, origins = ?state.allowed_origins, "listening");

    if state.sso.is_some() {
        let state = state.clone();
        tokio::spawn(async move {
            if let Some(sso) = &state.sso {
                sso.warm_up().await;
            }
        });
    }
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    tokio::spawn(push::run(state.clone(), shutdown.clone()));
    tokio::spawn(admin::run(state.clone(), shutdown.clone()));
    tokio::spawn(webhooks::run(state.clone(), shutdown.clone()));
    if let Some(media) = media {
        tokio::spawn(media::run_collector(store.clone(), media, shutdown.clone()));
    }
    let node_state = state.clone();
    let mut node_news = node_news;
    tokio::spawn(async move {
        while let Some(news) = node_news.recv().await {
            ws::nodes_gone(&node_state, news).await;
        }
    });
    let checkpoints = tokio::spawn(checkpoint::run(
        store.clone(),
        state.room_log.clone(),
        shutdown.clone(),
    ));
    let server_shutdown = shutdown.clone();
    let connections = listener::ConnectionCounter::new(listener::ConnectionLimits {
        header_timeout: Duration::from_secs(config.header_timeout_secs.max(1)),
        per_ip: (config.max_connections_per_ip > 0 && !config.trust_forwarded_for)
            .then_some(config.max_connections_per_ip),
        total: listener::total_cap(
            (config.max_connections > 0).then_some(config.max_connections),
            FILE_DESCRIPTOR_RESERVE,
        ),
    });
    let task = tokio::spawn(async move {
        listener::serve(listener, app, connections, shutdown.clone()).await;
        // Upgraded sockets are not HTTP connections any more; wait for them separately.
        state.sockets.close();
        if tokio::time::timeout(SOCKET_DRAIN_TIMEOUT, state.sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close in time");
        }
        housekeeping.abort();
        let _ = checkpoints.await;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    });
    Ok(Server {
        addr,
        shutdown: server_shutdown,
        task,
    })
}

async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    loop {
        tick.tick().await;
        let now = now_ms();
        let idle_since = now.saturating_sub(state.sessions.idle_ms);
        match state.store.purge_expired_sessions(now, idle_since).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired sessions"),
        }
        state.auth_limiter.retain_recent();
        state.login_throttle.retain_recent();
        state.user_event_limiter.retain_recent();
        state.user_frame_limiter.retain_recent();
        state.room_list_limiter.retain_recent();
        state.connect_limiter.retain_recent();
        state.export_limiter.retain_recent();
        if let Some(desk) = &state.support {
            desk.guests.retain_recent();
        }
        if let Some(previews) = &state.previews {
            previews.retain_recent();
            previews::forget_old(&state).await;
        }
    }
}

/// The support desk the configuration asks for: its knowledge base read and indexed, its
/// rules, and the language model if one is given.
fn support_desk(config: &Config, dir: &std::path::Path) -> anyhow::Result<support::desk::Desk> {
    let kb = support::kb::KnowledgeBase::load(dir)
        .map_err(|e| anyhow::anyhow!("{e} ({})", dir.display()))?;
    let hours = config
        .support_hours
        .as_deref()
        .map(support::rules::OfficeHours::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    let rules = support::rules::Rules {
        unconfident_limit: config.support_unsure_limit,
        topics: config
            .support_topics
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        hours,
        ..support::rules::Rules::default()
    };
    let llm = config.support_llm_url.as_deref().map(|url| {
        support::llm::Llm::new(
            url,
            config.support_llm_key.clone(),
            &config.support_llm_model,
        )
    });
    Ok(support::desk::Desk::new(
        kb,
        llm,
        rules,
        config.support_kb_url.clone(),
        config.support_agents.clone(),
        config.support_assistant.clone(),
        dir.to_path_buf(),
    ))
}
