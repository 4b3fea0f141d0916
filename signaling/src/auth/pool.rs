//! A fixed set of threads that run argon2, each in the one buffer it keeps.
//!
//! Hashing is CPU- and memory-heavy by design, so it stays off the async threads. It does not go
//! to tokio's blocking pool either: that pool starts and retires threads as load comes and goes,
//! and every thread that ever hashed kept a 19 MiB glibc arena. Here the threads, and so the
//! memory (threads x 19 MiB), are fixed at start. Requests queue in a bounded channel; when it
//! is full, callers wait for room instead of piling up jobs.

use super::AuthError;
use super::password::{self, DUMMY_HASH, Memory};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};

/// Hashing threads when the configuration does not say.
pub const DEFAULT_THREADS: usize = 2;
/// Jobs waiting per thread before callers wait to enqueue.
const QUEUE_PER_THREAD: usize = 16;

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String, AuthError>>,
    },
    Verify {
        password: String,
        /// `None` for an unknown user: checked against [`DUMMY_HASH`] and never accepted.
        stored: Option<String>,
        reply: oneshot::Sender<bool>,
    },
}

/// A handle to the hashing threads; cheap to clone. The threads end once every handle is gone.
#[derive(Clone)]
pub struct PasswordHasherPool {
    jobs: mpsc::Sender<Job>,
}

impl PasswordHasherPool {
    /// Starts `threads` hashing threads (at least one).
    pub fn start(threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel(threads * QUEUE_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&queue))
                .expect("the OS starts a thread");
        }
        Self { jobs }
    }

    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, reply }).await?;
        answer.await.map_err(|_| AuthError::Closed)?
    }

    /// Checks `password` against `stored`, or against a dummy hash when the user does not exist,
    /// so that the response time does not reveal which usernames exist.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, AuthError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            stored,
            reply,
        })
        .await?;
        answer.await.map_err(|_| AuthError::Closed)
    }

    async fn submit(&self, job: Job) -> Result<(), AuthError> {
        self.jobs.send(job).await.map_err(|_| AuthError::Closed)
    }
}

fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        // One idle thread waits on the queue while holding the lock, the others wait for the
        // lock; the guard is dropped before the job runs, so threads hash in parallel.
        let next = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(job) = next else {
            return;
        };
        // A panic must not cost the pool a thread; the caller then sees its reply dropped.
        let _ = catch_unwind(AssertUnwindSafe(|| run(job, &mut memory)));
    }
}

/// Runs one job; a job whose caller has gone away (a cancelled request) is skipped.
fn run(job: Job, memory: &mut Memory) {
    match job {
        Job::Hash { password, reply } => {
            if !reply.is_closed() {
                let _ = reply.send(password::hash(password.as_bytes(), memory));
            }
        }
        Job::Verify {
            password,
            stored,
            reply,
        } => {
            if reply.is_closed() {
                return;
            }
            let exists = stored.is_some();
            let phc = stored.as_deref().unwrap_or(DUMMY_HASH);
            let matches = password::verify(password.as_bytes(), phc, memory);
            let _ = reply.send(matches && exists);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let pool = PasswordHasherPool::start(1);
        assert!(
            !pool
                .verify("not a real password".into(), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_verify_through_the_pool() {
        let pool = PasswordHasherPool::start(2);
        let stored = pool.hash("correct horse".into()).await.unwrap();
        assert!(
            pool.verify("correct horse".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify("wrong horse".into(), Some(stored))
                .await
                .unwrap()
        );
    }

    /// Requests dropped while queued or while hashing (a client that disconnected) leave the
    /// pool working for everyone else.
    #[tokio::test]
    async fn cancelled_requests_do_not_break_the_pool() {
        let pool = PasswordHasherPool::start(1);
        for i in 0..3 * QUEUE_PER_THREAD {
            let cancelled =
                tokio::time::timeout(Duration::ZERO, pool.verify(format!("guess {i}"), None));
            assert!(cancelled.await.is_err(), "gave up before the answer");
        }
        let stored = pool.hash("still here".into()).await.unwrap();
        assert!(
            pool.verify("still here".into(), Some(stored))
                .await
                .unwrap()
        );
    }
}
