//! Server administration: the console's endpoints (`api`), reports and the moderators'
//! answers to them (`reports`), abuse controls (`abuse`), retention (`retention`) and the
//! counts behind the insight page (`insight`).
//!
//! State shared by the nodes is in the database: settings (read again every few seconds by
//! each node), reports, the audit log, retention floors, the insight aggregates. Each node
//! keeps only caches and counts it has not written yet.

pub mod abuse;
pub mod api;
pub mod insight;
pub mod reports;
pub mod retention;

use crate::state::AppState;
use crate::store::Storage;
use shared::admin::ServerSettings;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often each node reads the settings again (another node may have changed them).
const SETTINGS_REFRESH: Duration = Duration::from_secs(5);
/// How often each node adds its counts to the insight aggregates.
const ACTIVITY_FLUSH: Duration = Duration::from_secs(30);
/// How often retention runs (every node runs it; a second run finds nothing to do).
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// The settings' key in the `settings` table.
const SETTINGS_KEY: &str = "server";

/// The settings with what is derived from them once per change.
pub struct Current {
    pub settings: ServerSettings,
    pub words: abuse::WordList,
}

impl Current {
    fn new(settings: ServerSettings) -> Arc<Self> {
        let words = abuse::WordList::new(&settings);
        Arc::new(Self { settings, words })
    }
}

/// This node's administration state.
pub struct Admin {
    current: RwLock<Arc<Current>>,
    pub activity: insight::Activity,
    pub flood: abuse::FloodWatch,
    /// How long a retention "day" is (a day; tests shorten it with `--retention-day-secs`).
    pub retention_day_ms: i64,
}

impl Admin {
    pub fn new(retention_day_secs: u64) -> Self {
        Self {
            current: RwLock::new(Current::new(ServerSettings::default())),
            activity: insight::Activity::default(),
            flood: abuse::FloodWatch::default(),
            retention_day_ms: i64::try_from(retention_day_secs.max(1).saturating_mul(1000))
                .unwrap_or(i64::MAX),
        }
    }

    /// The settings as this node last read them.
    pub fn current(&self) -> Arc<Current> {
        self.current.read().expect("settings lock poisoned").clone()
    }

    fn replace(&self, settings: ServerSettings) {
        let next = Current::new(settings);
        *self.current.write().expect("settings lock poisoned") = next;
    }

    /// Reads the stored settings (the defaults when none were saved).
    pub async fn load(&self, store: &dyn Storage) -> Result<(), crate::store::StoreError> {
        let settings = match store.setting(SETTINGS_KEY).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::error!(error = %e, "stored settings are unreadable; using the defaults");
                ServerSettings::default()
            }),
            None => ServerSettings::default(),
        };
        self.replace(settings);
        Ok(())
    }

    /// Stores new settings for every node and uses them here at once.
    pub async fn save(
        &self,
        store: &dyn Storage,
        settings: ServerSettings,
    ) -> Result<(), crate::store::StoreError> {
        let json = serde_json::to_string(&settings).expect("settings serialize");
        store.put_setting(SETTINGS_KEY, &json).await?;
        self.replace(settings);
        Ok(())
    }
}

/// Records an administrator's or moderator's action in the audit log. A failure is logged,
/// not returned: the action itself is done.
pub async fn audit(state: &AppState, actor: &str, action: &str, target: &str, detail: &str) {
    let now = crate::now_ms();
    if let Err(e) = state.store.audit(now, actor, action, target, detail).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
    tracing::info!(actor, action, target, "administration");
}

/// The node's background work: settings kept fresh, counts written, retention applied.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    if let Err(e) = state.admin.load(state.store.as_ref()).await {
        tracing::warn!(error = %e, "could not read the settings; using the defaults");
    }
    let mut settings = tokio::time::interval(SETTINGS_REFRESH);
    let mut flush = tokio::time::interval(ACTIVITY_FLUSH);
    let mut retention = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(60),
        RETENTION_EVERY,
    );
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = settings.tick() => {
                if let Err(e) = state.admin.load(state.store.as_ref()).await {
                    tracing::warn!(error = %e, "could not read the settings");
                }
            }
            _ = flush.tick() => {
                state.admin.activity.flush(state.store.as_ref()).await;
                let window = i64::from(state.admin.current().settings.flood_window_secs) * 1000;
                state.admin.flood.sweep(crate::now_ms(), window.max(60_000));
            }
            _ = retention.tick() => {
                if let Err(e) = retention::run(&state).await {
                    tracing::error!(error = %e, "retention failed; it runs again in an hour");
                }
            }
        }
    }
    // What was counted since the last flush is not lost on a clean stop.
    state.admin.activity.flush(state.store.as_ref()).await;
}
