//! Group commit for messages: the hot path of a chat server is many people sending at once, and
//! one fsynced transaction per message caps a whole server at about a thousand messages a
//! second. Sends instead queue here; one thread takes everything that queued while the previous
//! commit was on its way to disk, stores it in one transaction (one fsync), fans the new events
//! out in seq order, and only then answers each sender. A message is still durable before it is
//! acknowledged, and an idle server commits a lone message as soon as it arrives (no timer).

use crate::fanout::Fanout;
use crate::frames::encode;
use crate::hub::ConnId;
use crate::store::{Appended, BlockingAppend, PendingMessage, Storage, StoreError};
use shared::ws::ServerMessage;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Messages waiting for a commit. Senders wait for room beyond this (backpressure) and give up
/// after [`QUEUE_WAIT`], so an overloaded server answers "busy" instead of growing.
const QUEUE: usize = 8192;
/// Most messages stored in one transaction; bounds a commit's time and its fan-out burst.
/// Batches this large only form when sends queue faster than commits end. Then a bigger batch
/// costs less per message, both in the database and on the sockets: a socket receives more of
/// its frames per write. The fan-out benchmark (1,900 rooms of 10) went from 80,000-83,000
/// deliveries/s at 1,024 to 103,000-105,000 at 4,096, and from 14 to 11 µs of CPU each.
const MAX_BATCH: usize = 4096;
/// Longest wait for a place in the queue before the request is refused as retryable.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the commit queue is full")]
    Busy,
    #[error("the store failed")]
    Store,
}

struct Job {
    message: PendingMessage,
    /// The sender's socket, which gets an ack instead of the event.
    from: ConnId,
    done: oneshot::Sender<Result<Appended, WriteError>>,
}

/// The queue into the one task that commits messages.
#[derive(Clone)]
pub struct MessageWriter {
    queue: mpsc::Sender<Job>,
}

impl MessageWriter {
    /// Messages waiting for a group commit.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Starts the committing thread. `order` is the lock every room-changing request holds
    /// from its append through its fan-out, so batches and other changes reach sockets in seq
    /// order. Must be called within a tokio runtime (the thread uses it for the store and the
    /// fan-out).
    pub fn start(store: Arc<dyn Storage>, fanout: Arc<dyn Fanout>, order: Arc<Mutex<()>>) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let runtime = Handle::current();
        let writer = match store.blocking_appender() {
            Some(appender) => Writer::Blocking(appender),
            None => Writer::Async {
                store,
                runtime: runtime.clone(),
            },
        };
        // A thread rather than a task: SQLite's batch runs on it from start to fsync, with no
        // hand-off to a connection thread and back (see `store::sqlite::message_batch`). It
        // ends when the last sender is dropped.
        let started = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || {
                // The fan-out may spawn or wake tasks (the cluster's delivery).
                let _runtime = runtime.enter();
                run(jobs, &writer, fanout.as_ref(), &order);
            });
        if let Err(e) = started {
            // Without the thread no message can be stored: the queue's receiver is gone, so
            // every send is answered with a store error instead of hanging.
            tracing::error!(error = %e, "could not start the group commit's thread");
        }
        Self { queue }
    }

    /// Queues `message` for the next batch; the receipt resolves once it is on disk and fanned
    /// out. Messages are committed in the order they were queued, so a socket that queues
    /// several gets them stored, and answered, in that order.
    pub async fn submit(
        &self,
        message: PendingMessage,
        from: ConnId,
    ) -> Result<Receipt, WriteError> {
        let (done, receipt) = oneshot::channel();
        let job = Job {
            message,
            from,
            done,
        };
        match tokio::time::timeout(QUEUE_WAIT, self.queue.send(job)).await {
            Ok(Ok(())) => Ok(Receipt(receipt)),
            Ok(Err(_closed)) => Err(WriteError::Store),
            Err(_elapsed) => Err(WriteError::Busy),
        }
    }
}

/// A queued message's outcome, once its batch is committed.
pub struct Receipt(oneshot::Receiver<Result<Appended, WriteError>>);

impl Receipt {
    pub async fn outcome(self) -> Result<Appended, WriteError> {
        // The task answers every job it takes; a dropped sender means it is gone.
        self.0.await.unwrap_or(Err(WriteError::Store))
    }
}

/// How a batch reaches the store from the committing thread.
enum Writer {
    /// On this thread, blocking it (SQLite).
    Blocking(Arc<dyn BlockingAppend>),
    /// Through the runtime: the store's async call, driven from this thread (PostgreSQL).
    Async {
        store: Arc<dyn Storage>,
        runtime: Handle,
    },
}

impl Writer {
    fn append(&self, batch: &[PendingMessage], now_ms: i64) -> Result<Vec<Appended>, StoreError> {
        match self {
            Writer::Blocking(appender) => appender.append_messages(batch, now_ms),
            Writer::Async { store, runtime } => {
                runtime.block_on(store.append_messages(batch, now_ms))
            }
        }
    }
}

/// The committing thread: takes what queued while the previous commit was on its way to disk,
/// stores it, fans it out in seq order, and answers the senders.
fn run(mut queue: mpsc::Receiver<Job>, writer: &Writer, fanout: &dyn Fanout, order: &Mutex<()>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (messages, waiters): (Vec<_>, Vec<_>) = jobs
            .drain(..)
            .map(|job| (job.message, (job.from, job.done)))
            .unzip();
        let in_order = order.blocking_lock();
        let results = commit(writer, &messages);
        for ((from, _), result) in waiters.iter().zip(&results) {
            if let Ok(Appended::New(event)) = result {
                let frame = encode(&ServerMessage::Event {
                    event: event.clone(),
                });
                fanout.publish_event(&event.room, event.seq, frame, Some(*from));
            }
        }
        drop(in_order);
        for ((_, done), result) in waiters.into_iter().zip(results) {
            // The sender may have gone (socket closed); its message is stored all the same.
            let _ = done.send(result);
        }
        tracing::trace!(batch = messages.len(), "messages committed");
    }
}

/// Commits the batch; if the transaction fails, each message is tried on its own so one bad
/// message cannot take its neighbours down with it.
fn commit(writer: &Writer, messages: &[PendingMessage]) -> Vec<Result<Appended, WriteError>> {
    let now = crate::now_ms();
    let started = std::time::Instant::now();
    metrics::histogram!("chat_commit_batch_size").record(messages.len() as f64);
    match writer.append(messages, now) {
        Ok(results) => {
            metrics::histogram!("chat_commit_seconds").record(started.elapsed().as_secs_f64());
            let stored = results
                .iter()
                .filter(|r| matches!(r, Appended::New(_)))
                .count();
            metrics::counter!("chat_messages_stored_total").increment(stored as u64);
            results.into_iter().map(Ok).collect()
        }
        Err(e) if messages.len() == 1 => {
            tracing::error!(error = %e, "message not stored");
            vec![Err(WriteError::Store)]
        }
        Err(e) => {
            tracing::warn!(error = %e, batch = messages.len(), "batch failed; storing one by one");
            messages
                .iter()
                .map(|message| {
                    writer
                        .append(std::slice::from_ref(message), now)
                        .map_err(|e| {
                            tracing::error!(error = %e, "message not stored");
                            WriteError::Store
                        })
                        .and_then(|mut r| r.pop().ok_or(WriteError::Store))
                })
                .collect()
        }
    }
}
