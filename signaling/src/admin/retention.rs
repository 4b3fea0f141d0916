//! Retention: messages older than a room's policy (its own, else the server's) are deleted
//! for good. What goes is every event up to the newest one stored before the cutoff, so
//! what stays is one unbroken run of seqs above the room's *floor*; `history` and
//! `caught_up` carry the floor, and clients drop their offline copies up to it (see
//! `client_core::timeline::Timeline::apply_floor`).

use crate::state::AppState;
use crate::store::StoreError;
use shared::admin::RetentionRun;

/// How long the insight aggregates are kept (the page shows 8 weeks).
const INSIGHT_KEPT_MS: i64 = 90 * 86_400_000;
/// Seqs deleted per transaction.
const CHUNK: i64 = 2_000;

/// Applies every room's retention now.
pub async fn run(state: &AppState) -> Result<RetentionRun, StoreError> {
    let current = state.admin.current();
    let rooms = state
        .store
        .retention_rooms(current.settings.retention_days)
        .await?;
    let now = crate::now_ms();
    let mut run = RetentionRun {
        rooms: 0,
        deleted: 0,
    };
    for (room, days) in rooms {
        let cutoff =
            now.saturating_sub(i64::from(days).saturating_mul(state.admin.retention_day_ms));
        let mut deleted = 0;
        // In chunks, each its own short transaction: a first run on a long history does not
        // hold the database's write lock (SQLite) for the whole of it.
        loop {
            match state.store.expire_room(&room, cutoff, CHUNK).await {
                Ok(0) => break,
                Ok(n) => deleted += n,
                Err(e) => {
                    // The next room is not held up by this one; it is tried again next time.
                    tracing::warn!(room = %room.0, error = %e, "retention failed for a room");
                    break;
                }
            }
        }
        if deleted > 0 {
            run.rooms += 1;
            run.deleted += deleted;
            tracing::info!(room = %room.0, deleted, "retention deleted old history");
        }
    }
    // The insight page reads 8 weeks at most; older counts go.
    let keep_from = now.saturating_sub(INSIGHT_KEPT_MS);
    if let Err(e) = state.store.prune_activity(keep_from).await {
        tracing::warn!(error = %e, "could not forget old activity counts");
    }
    if run.deleted > 0
        && let Some(media) = &state.media
    {
        media.wake_collector();
    }
    Ok(run)
}
