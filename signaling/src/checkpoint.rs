//! Keeps the database's write-ahead log short while messages keep coming.
//!
//! SQLite appends every commit to its log and starts the file over only once a checkpoint has
//! copied every logged page back into the database. A checkpoint that runs beside the writers
//! never gets there under steady load: pages keep arriving while it copies. The log then grew
//! for as long as the load lasted (400 MB in 20 s at 2,000 messages/s, on disk until the
//! server stopped), and ext4's kernel threads spent about a fifth of a core allocating blocks
//! for the growing file. So each round copies the bulk beside the writers, then the pages
//! written meanwhile while it holds the order of room events (`room_log`), which every append holds:
//! that short pass (a fraction of a second's writes) ends with the whole log copied, and the
//! next commit writes the log from its beginning again, over blocks the file already has.

use crate::store::Storage;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// How often the log is copied back. Bounds it to about two intervals of writes.
const EVERY: Duration = Duration::from_secs(1);

/// Checkpoints every [`EVERY`] until `shutdown`.
pub async fn run(
    store: Arc<dyn Storage>,
    room_log: crate::room_log::RoomLog,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = round(store.as_ref(), room_log.order_lock()).await {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// One round; returns the pages still left in the log (0 unless a writer that does not take
/// the order lock, such as a read receipt, wrote during the short pass).
pub async fn round(
    store: &dyn Storage,
    order: &Mutex<()>,
) -> Result<u64, crate::store::StoreError> {
    // The first pass copies what was logged when it started; appends go on meanwhile, so
    // even "nothing left" from it does not mean the log is copied now.
    store.checkpoint().await?;
    let _appends_wait = order.lock().await;
    store.checkpoint().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NamedUser, PendingMessage, SqliteStore};
    use shared::{ClientMsgId, RoomId};

    /// A writer appends without pause (each batch under the order lock, as the group commit
    /// does) while rounds run: every round still ends with the whole log copied, and the log
    /// file is reused from its start instead of growing by every round's writes.
    #[tokio::test]
    async fn the_log_is_copied_completely_while_a_writer_keeps_going() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Storage> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let id = store.create_user("ann", "hash", 1).await.unwrap();
        let ann = NamedUser {
            id,
            name: "ann".into(),
        };
        let order = Arc::new(Mutex::new(()));
        let stop = CancellationToken::new();
        let writer = tokio::spawn({
            let (store, order, stop) = (store.clone(), order.clone(), stop.clone());
            async move {
                let mut n = 0u64;
                while !stop.is_cancelled() {
                    let batch: Vec<PendingMessage> = (0..20)
                        .map(|i| PendingMessage {
                            attachment: None,
                            room: RoomId::lobby(),
                            sender: ann.clone(),
                            client_id: ClientMsgId(format!("m-{n}-{i}")),
                            body: "x".repeat(200),
                            reply_to: None,
                            mentions: Vec::new(),
                        })
                        .collect();
                    let _order = order.lock().await;
                    store.append_messages(&batch, 1).await.unwrap();
                    n += 1;
                }
                n
            }
        });
        let wal = dir.path().join("chat.db-wal");
        let mut sizes = Vec::new();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(round(store.as_ref(), &order).await.unwrap(), 0);
            sizes.push(std::fs::metadata(&wal).unwrap().len());
        }
        stop.cancel();
        let batches = writer.await.unwrap();
        assert!(batches > 20, "the writer committed only {batches} batches");
        // A log that is never fully copied grows with time: in every round, about 10/3 from
        // the third round to the last. A log that starts over only grows when one round's
        // writes outdo every earlier round's, which a loaded machine does now and then (seen:
        // 0.66, 1.5, then 3.1 MB for the last seven rounds).
        let growths = sizes[2..].windows(2).filter(|w| w[1] > w[0]).count();
        assert!(
            sizes[9] < sizes[2] * 2 || growths <= 3,
            "the log kept growing: {sizes:?} after {batches} batches"
        );
        store.close().await;
    }
}
