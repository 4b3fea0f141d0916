//! A socket's bounded queue of outgoing frames, between the hub (which must never wait) and
//! the socket's task.
//!
//! Why not `tokio::sync::mpsc`: a bounded channel allocates its first block of 32 slots when it
//! is made, about 1.1 KiB, and keeps it for the socket's lifetime. Most sockets are idle most of
//! the time, so here the storage grows only when frames queue up and is given back whenever
//! the queue drains: an idle connection costs a few dozen bytes here. Keeping a few slots
//! instead cost every socket that ever received a frame 128-256 bytes for its lifetime; the
//! allocation a queue now makes per burst is tens of nanoseconds against a frame's write.

use axum::extract::ws::Utf8Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

struct Shared {
    state: Mutex<State>,
    ready: Notify,
}

#[derive(Default)]
struct State {
    frames: VecDeque<Utf8Bytes>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only a VecDeque behind it: a panic elsewhere leaves nothing half-changed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The queue was full: the socket is not keeping up.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

/// Nothing is queued.
#[derive(Debug, PartialEq, Eq)]
pub struct Empty;

pub fn frame_queue(capacity: usize) -> (FrameSender, FrameReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        ready: Notify::new(),
    });
    (
        FrameSender {
            shared: shared.clone(),
            capacity,
        },
        FrameReceiver { shared },
    )
}

pub struct FrameSender {
    shared: Arc<Shared>,
    capacity: usize,
}

impl FrameSender {
    /// Frames waiting now.
    pub fn len(&self) -> usize {
        self.shared.lock().frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues `frame` unless `capacity` frames are already waiting. Never waits.
    pub fn try_send(&self, frame: Utf8Bytes) -> Result<(), Full> {
        {
            let mut state = self.shared.lock();
            if state.frames.len() >= self.capacity {
                return Err(Full);
            }
            state.frames.push_back(frame);
        }
        // Stores a permit if the receiver is not waiting yet, so no wake-up is lost.
        self.shared.ready.notify_one();
        Ok(())
    }
}

impl Drop for FrameSender {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
    }
}

pub struct FrameReceiver {
    shared: Arc<Shared>,
}

impl FrameReceiver {
    /// The next frame; `None` once the sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Utf8Bytes> {
        loop {
            match self.try_recv() {
                Ok(frame) => return Some(frame),
                Err(Empty) if self.shared.lock().closed => return None,
                Err(Empty) => self.shared.ready.notified().await,
            }
        }
    }

    pub fn try_recv(&mut self) -> Result<Utf8Bytes, Empty> {
        let mut state = self.shared.lock();
        let frame = state.frames.pop_front().ok_or(Empty)?;
        if state.frames.is_empty() {
            state.frames = VecDeque::new();
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn frames_arrive_in_order_up_to_the_capacity() {
        let (tx, mut rx) = frame_queue(3);
        for text in ["a", "b", "c"] {
            tx.try_send(text.into()).unwrap();
        }
        assert_eq!(tx.try_send("d".into()), Err(Full));
        for text in ["a", "b", "c"] {
            assert_eq!(rx.recv().await.unwrap().as_str(), text);
        }
        assert_eq!(rx.try_recv(), Err(Empty));
        tx.try_send("e".into()).unwrap();
        assert_eq!(rx.try_recv().unwrap().as_str(), "e");
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_and_sees_the_end() {
        let (tx, mut rx) = frame_queue(4);
        let waiter = tokio::spawn(async move {
            let first = rx.recv().await;
            let end = rx.recv().await;
            (first, end)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.try_send("late".into()).unwrap();
        drop(tx);
        let (first, end) = waiter.await.unwrap();
        assert_eq!(first.unwrap().as_str(), "late");
        assert!(end.is_none());
    }

    #[test]
    fn storage_is_released_whenever_the_queue_drains() {
        let (tx, mut rx) = frame_queue(1000);
        for burst in [500, 1] {
            for _ in 0..burst {
                tx.try_send("x".into()).unwrap();
            }
            assert!(rx.shared.lock().frames.capacity() >= burst);
            while rx.try_recv().is_ok() {}
            assert_eq!(rx.shared.lock().frames.capacity(), 0, "after {burst}");
        }
    }
}
