//! Small async helpers over browser callbacks: a wake-up an async loop can wait on, and sleep.

use std::cell::RefCell;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Lets one async loop wait until a browser event (buffer drained, ack arrived, state changed)
/// calls [`Wakeup::wake`]. A wake with nobody waiting is dropped: waiters re-check their
/// condition before waiting, and every event that changes it wakes them.
#[derive(Default)]
pub struct Wakeup {
    resolve: RefCell<Option<js_sys::Function>>,
}

impl Wakeup {
    pub async fn wait(&self) {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            *self.resolve.borrow_mut() = Some(resolve);
        });
        let _ = JsFuture::from(promise).await;
    }

    pub fn wake(&self) {
        let resolve = self.resolve.borrow_mut().take();
        if let Some(resolve) = resolve {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}
