//! The WebSocket to the server, kept alive: reconnects with capped exponential backoff after any
//! drop, and detects a silently stalled socket (offline laptop, dead NAT entry) with a ping
//! every [`HEARTBEAT`] that must be answered within [`SILENCE_LIMIT`]. The `close` event alone
//! is not enough: a socket whose network vanished can stay OPEN for minutes.
//!
//! States: Connecting → Online (on the server's Welcome) → Offline (drop; retry timer) →
//! Connecting … ; LoggedOut is final (the server closed with `close::LOGGED_OUT`).

use leptos::prelude::{
    IntervalHandle, WindowListenerHandle, set_interval_with_handle, set_timeout,
    window_event_listener_untyped,
};
use shared::ws::{ClientMessage, ServerMessage, close};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A ping unanswered this long means the network is gone. Checked by a timer set with each
/// ping, so a stall is noticed within [`HEARTBEAT`] + this, not at some later heartbeat.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(8);
/// A connection attempt still not open after this long is abandoned and retried: on a
/// black-holed network the browser's own timeout can take minutes.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The backoff restarts from its first step only after a socket stayed up this long, so a
/// server that accepts and then drops every connection is not hammered.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);
const BACKOFF_FIRST_MS: u32 = 500;
const BACKOFF_MAX_MS: u32 = 15_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Online,
    /// Disconnected; the next attempt starts at this time (`Date.now()` ms).
    Offline {
        retry_at_ms: u64,
    },
    LoggedOut,
}

impl ConnState {
    /// The state in a word or two, for the status region.
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Online => "Connected",
            Self::Offline { .. } => "Offline.",
            Self::LoggedOut => "Logged out",
        }
    }

    /// "Reconnecting in N s…" while offline: shown next to the status, not announced.
    pub fn countdown(self, now_ms: u64) -> Option<String> {
        match self {
            Self::Offline { retry_at_ms } => Some(format!(
                "Reconnecting in {} s…",
                retry_at_ms.saturating_sub(now_ms).div_ceil(1000).max(1)
            )),
            _ => None,
        }
    }
}

/// Delay before reconnect attempt number `attempt` (0-based): 0.5 s doubling to 15 s.
pub fn backoff_ms(attempt: u32) -> u32 {
    BACKOFF_FIRST_MS
        .saturating_mul(1u32 << attempt.min(10))
        .min(BACKOFF_MAX_MS)
}

pub enum Event {
    State(ConnState),
    Server(ServerMessage),
}

type Handler = Rc<dyn Fn(Event)>;

struct Socket {
    ws: WebSocket,
    // Kept alive as long as the socket; detached before it is dropped.
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    fn detach_and_close(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

struct Inner {
    socket: Option<Socket>,
    /// When the current socket was created (`Date.now()` ms).
    started_ms: f64,
    attempt: u32,
    last_heard_ms: f64,
    /// When the oldest unanswered ping went out. Silence is measured from it, not from the
    /// last frame: a hidden tab's timers may run only once a minute, and a socket must not be
    /// called dead just because nobody asked it anything.
    ping_outstanding_since: Option<f64>,
    stopped: bool,
    heartbeat: Option<IntervalHandle>,
    /// The browser's `offline` and `online` events.
    network_listeners: Vec<WindowListenerHandle>,
    nonce: u64,
    /// Bumped by every scheduled or manual reconnect; a retry timer whose generation is stale
    /// does nothing (the user already reconnected by hand).
    generation: u64,
}

/// Cheap-to-clone handle; all clones drive the same socket.
#[derive(Clone)]
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
    handler: Handler,
}

impl Connection {
    /// Opens the socket and keeps it open until [`Connection::stop`].
    pub fn start(handler: impl Fn(Event) + 'static) -> Self {
        let connection = Self {
            inner: Rc::new(RefCell::new(Inner {
                socket: None,
                started_ms: 0.0,
                attempt: 0,
                last_heard_ms: 0.0,
                ping_outstanding_since: None,
                stopped: false,
                heartbeat: None,
                network_listeners: Vec::new(),
                nonce: 0,
                generation: 0,
            })),
            handler: Rc::new(handler),
        };
        connection.connect();
        let beat = connection.clone();
        let handle = set_interval_with_handle(move || beat.heartbeat(), HEARTBEAT).ok();
        connection.inner.borrow_mut().heartbeat = handle;
        // The browser knows before any ping when the network interface goes away, and when it
        // comes back.
        let (down, up) = (connection.clone(), connection.clone());
        let listeners = vec![
            window_event_listener_untyped("offline", move |_| down.network_lost()),
            window_event_listener_untyped("online", move |_| up.reconnect_now()),
        ];
        connection.inner.borrow_mut().network_listeners = listeners;
        connection
    }

    /// Sends if the socket is open; returns false otherwise (the caller keeps the message
    /// queued and it is sent after the next Welcome).
    pub fn send(&self, message: &ClientMessage) -> bool {
        let inner = self.inner.borrow();
        let Some(socket) = inner.socket.as_ref() else {
            return false;
        };
        if socket.ws.ready_state() != WebSocket::OPEN {
            return false;
        }
        let text = serde_json::to_string(message).expect("protocol types serialize");
        socket.ws.send_with_str(&text).is_ok()
    }

    /// Closes the socket for good (log-out, leaving the page).
    pub fn stop(&self) {
        let (socket, heartbeat, listeners) = {
            let mut inner = self.inner.borrow_mut();
            inner.stopped = true;
            (
                inner.socket.take(),
                inner.heartbeat.take(),
                std::mem::take(&mut inner.network_listeners),
            )
        };
        for listener in listeners {
            listener.remove();
        }
        if let Some(socket) = socket {
            socket.detach_and_close();
        }
        if let Some(heartbeat) = heartbeat {
            heartbeat.clear();
        }
    }

    fn emit(&self, event: Event) {
        (self.handler)(event);
    }

    fn connect(&self) {
        if self.inner.borrow().stopped {
            return;
        }
        self.emit(Event::State(ConnState::Connecting));
        let ws = match WebSocket::new(&socket_url()) {
            Ok(ws) => ws,
            Err(_) => return self.schedule_reconnect(),
        };
        // The parts loaded on first use (public/room-panel.js, public/emoji.js) talk to the
        // server over this socket: one connection, one presence.
        let _ = js_sys::Reflect::set(&js_sys::global(), &"chatSocket".into(), &ws);
        let on_open = {
            let this = self.clone();
            Closure::<dyn FnMut()>::new(move || this.heard())
        };
        let on_message = {
            let this = self.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                this.heard();
                let Some(text) = event.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(message) => {
                        if matches!(message, ServerMessage::Welcome { .. }) {
                            this.emit(Event::State(ConnState::Online));
                        }
                        this.emit(Event::Server(message));
                    }
                    Err(e) => leptos::logging::warn!("unreadable server frame: {e}"),
                }
            })
        };
        let on_close = {
            let this = self.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let socket = this.inner.borrow_mut().socket.take();
                if let Some(socket) = socket {
                    // This very closure belongs to `socket`: drop it only after it returns.
                    set_timeout(move || socket.detach_and_close(), Duration::ZERO);
                }
                if event.code() == close::LOGGED_OUT {
                    this.stop();
                    this.emit(Event::State(ConnState::LoggedOut));
                } else {
                    this.schedule_reconnect();
                }
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.inner.borrow_mut().started_ms = js_sys::Date::now();
        let old = self.inner.borrow_mut().socket.replace(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        });
        if let Some(old) = old {
            old.detach_and_close();
        }
    }

    fn schedule_reconnect(&self) {
        let (delay, generation) = {
            let mut inner = self.inner.borrow_mut();
            if inner.stopped {
                return;
            }
            let delay = backoff_ms(inner.attempt);
            inner.attempt += 1;
            inner.generation += 1;
            // ±20 % jitter so a restarted server is not hit by every client at once.
            let jitter = 0.8 + js_sys::Math::random() * 0.4;
            ((f64::from(delay) * jitter) as u64, inner.generation)
        };
        let retry_at_ms = js_sys::Date::now() as u64 + delay;
        self.emit(Event::State(ConnState::Offline { retry_at_ms }));
        let this = self.clone();
        set_timeout(
            move || {
                if this.inner.borrow().generation == generation {
                    this.connect();
                }
            },
            Duration::from_millis(delay),
        );
    }

    /// Skips the rest of the backoff wait ("Reconnect now"). Does nothing while a socket is
    /// open or connecting.
    pub fn reconnect_now(&self) {
        {
            let mut inner = self.inner.borrow_mut();
            if inner.stopped || inner.socket.is_some() {
                return;
            }
            inner.generation += 1;
        }
        self.connect();
    }

    fn heard(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.last_heard_ms = js_sys::Date::now();
        inner.ping_outstanding_since = None;
    }

    /// The browser went offline: the socket cannot be alive, whatever its state says.
    fn network_lost(&self) {
        self.drop_socket_and_reconnect();
    }

    /// Closes the current socket, if there is one, and schedules the next attempt (with no
    /// socket, one is already scheduled).
    fn drop_socket_and_reconnect(&self) {
        let socket = {
            let mut inner = self.inner.borrow_mut();
            inner.ping_outstanding_since = None;
            inner.socket.take()
        };
        if let Some(socket) = socket {
            socket.detach_and_close();
            self.schedule_reconnect();
        }
    }

    /// Pings an open socket, or replaces it when it has been silent (or connecting) too long.
    fn heartbeat(&self) {
        let (stalled, open) = {
            let mut inner = self.inner.borrow_mut();
            let now = js_sys::Date::now();
            let ready_state = inner.socket.as_ref().map(|s| s.ws.ready_state());
            let open = ready_state == Some(WebSocket::OPEN);
            let silent = inner
                .ping_outstanding_since
                .is_some_and(|sent| now - sent > SILENCE_LIMIT.as_millis() as f64);
            let age_ms = now - inner.started_ms;
            let stuck_connecting = ready_state == Some(WebSocket::CONNECTING)
                && age_ms > CONNECT_TIMEOUT.as_millis() as f64;
            if open && age_ms > STABLE_AFTER.as_millis() as f64 {
                inner.attempt = 0;
            }
            ((open && silent) || stuck_connecting, open)
        };
        if stalled {
            leptos::logging::warn!("socket silent or stuck connecting; reconnecting");
            self.drop_socket_and_reconnect();
        } else if open {
            let nonce = {
                let mut inner = self.inner.borrow_mut();
                inner.nonce += 1;
                inner
                    .ping_outstanding_since
                    .get_or_insert_with(js_sys::Date::now);
                inner.nonce
            };
            self.send(&ClientMessage::Ping { nonce });
            // Look again once the answer is overdue.
            let check = self.clone();
            set_timeout(
                move || {
                    if check.inner.borrow().ping_outstanding_since.is_some() {
                        check.heartbeat();
                    }
                },
                SILENCE_LIMIT + Duration::from_millis(100),
            );
        }
    }
}

fn socket_url() -> String {
    let location = web_sys::window().expect("a window").location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws")
}
