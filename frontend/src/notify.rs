//! System notifications for new messages while the tab is hidden, and the unread count on the
//! installed app's icon.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

/// Whether notifications can be asked for, are allowed, or were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Unsupported,
    NotAsked,
    Granted,
    Denied,
}

fn supported() -> bool {
    web_sys::window().is_some_and(|w| {
        js_sys::Reflect::has(&w, &JsValue::from_str("Notification")).unwrap_or(false)
    })
}

pub fn permission() -> Permission {
    if !supported() {
        return Permission::Unsupported;
    }
    match Notification::permission() {
        NotificationPermission::Granted => Permission::Granted,
        NotificationPermission::Denied => Permission::Denied,
        _ => Permission::NotAsked,
    }
}

/// Asks the user (must run from a click). Returns the answer.
pub async fn request() -> Permission {
    if !supported() {
        return Permission::Unsupported;
    }
    if let Ok(promise) = Notification::request_permission() {
        let _ = JsFuture::from(promise).await;
    }
    permission()
}

/// Whether the user is looking at this tab.
pub fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

/// Shows a notification; `on_click` runs when the user clicks it (after the tab is focused).
/// Notifications of one room replace each other (`tag`).
pub fn show(title: &str, body: &str, tag: &str, on_click: impl FnOnce() + 'static) {
    if permission() != Permission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    options.set_icon("/icon.svg");
    let Ok(notification) = Notification::new_with_options(title, &options) else {
        return;
    };
    let shown = notification.clone();
    let clicked = Closure::once_into_js(move || {
        if let Some(window) = web_sys::window() {
            let _ = window.focus();
        }
        shown.close();
        on_click();
    });
    notification.set_onclick(Some(clicked.unchecked_ref()));
}

/// Puts the unread count on the installed app's icon, where the browser supports it.
pub fn set_badge(count: u32) {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return;
    };
    let name = if count > 0 {
        "setAppBadge"
    } else {
        "clearAppBadge"
    };
    if let Ok(method) = js_sys::Reflect::get(&navigator, &JsValue::from_str(name))
        && let Some(method) = method.dyn_ref::<js_sys::Function>()
    {
        let result = if count > 0 {
            method.call1(&navigator, &JsValue::from(count))
        } else {
            method.call0(&navigator)
        };
        // A rejected promise (no permission) is not an error worth reporting.
        if let Ok(promise) = result.and_then(|p| p.dyn_into::<js_sys::Promise>()) {
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
    }
}
