//! Retention: messages older than a room's policy (its own, else the server's) are deleted
//! for good. What goes is every event up to the newest one stored before the cutoff, so
//! what stays is one unbroken run of seqs above the room's *floor*; `history` and
//! `caught_up` carry the floor, and clients drop their offline copies up to it (see
//! `client_core::timeline::Timeline::apply_floor`); sockets following the room are sent an
//! empty `caught_up` with the new floor at once.

use crate::hub::Audience;
use crate::state::AppState;
use crate::store::StoreError;
use shared::RoomId;
use shared::admin::RetentionRun;
use shared::ws::ServerMessage;

/// How long the insight aggregates are kept (the page shows 8 weeks).
const INSIGHT_KEPT_MS: i64 = 90 * 86_400_000;
/// Seqs deleted per transaction.
const CHUNK: i64 = 2_000;

/// Tells the sockets following `room`, on every node, the new floor: an empty `caught_up`
/// that carries it, so open apps drop their copies now instead of at their next reconnect.
/// (An empty page that says "up to date" changes nothing else for a client, whether or not it
/// was catching up: its own pages keep coming.)
async fn tell_open_apps(state: &AppState, room: &RoomId) {
    match state.store.history_floor(room).await {
        Ok(floor) => {
            let frame = crate::frames::encode(&ServerMessage::CaughtUp {
                room: room.clone(),
                after: floor,
                events: Vec::new(),
                up_to_date: true,
                floor,
            });
            state.fanout.send(Audience::Room(room.clone()), frame, None);
        }
        Err(e) => tracing::warn!(error = %e, "open apps learn the new floor when they reconnect"),
    }
}

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
            tell_open_apps(state, &room).await;
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
