//! The chat server client: log in over HTTP, then one WebSocket carrying JSON
//! [`ClientMessage`]s up and [`ServerMessage`]s down, as `docs/PROTOCOL.md` describes.
//!
//! The socket is split into a reader task and a writer task joined to the rest of the program
//! by bounded queues, so a slow consumer slows the socket down instead of growing memory. The
//! writer also pings every [`PING_EVERY`]: the server closes sockets that stay silent.

use futures_util::{SinkExt, StreamExt};
use shared::api::{ApiError, Credentials, SECURE_SESSION_COOKIE, SESSION_COOKIE};
use shared::calls::{IceServer, SignalData};
use shared::ws::{ClientMessage, ErrorCode, ServerMessage};
use shared::{ClientMsgId, RoomId};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

/// Well within the server's idle timeout (150 s), as the protocol asks.
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// How long a request (open_direct, ice_servers) may take before we give up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Frames waiting to be written. Signaling is a handful of frames per transfer.
const OUTBOX_FRAMES: usize = 64;
/// Frames read but not yet handled.
const INBOX_FRAMES: usize = 256;
/// Frames set aside while waiting for the answer to a request.
const SET_ASIDE_FRAMES: usize = 256;
/// How long closing waits for queued frames to be written.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum SignalingError {
    /// The server refused the log-in or sign-up; the message is the server's sentence.
    #[error("{0}")]
    Refused(String),
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("WebSocket failed: {0}")]
    Socket(#[from] tungstenite::Error),
    #[error("the server sent {0} before its welcome")]
    NoWelcome(String),
    #[error("the connection to the server closed")]
    Closed,
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the server refused the request ({code:?}): {message}")]
    Server { code: ErrorCode, message: String },
    #[error("bad server URL {0:?}: use http://HOST:PORT")]
    BadUrl(String),
}

/// The server's base URL without a trailing slash (`http://127.0.0.1:8080`).
fn base(server: &str) -> Result<String, SignalingError> {
    let base = server.trim_end_matches('/');
    if base.starts_with("http://") || base.starts_with("https://") {
        Ok(base.to_owned())
    } else {
        Err(SignalingError::BadUrl(server.to_owned()))
    }
}

/// Logs in (or signs up when `signup`; an existing account is then logged in instead) and
/// returns the session cookie as `chat_session=...` (`__Host-chat_session=...` from a server
/// behind HTTPS), ready for a `Cookie` header.
pub async fn log_in(
    server: &str,
    username: &str,
    password: &str,
    signup: bool,
) -> Result<String, SignalingError> {
    let base = base(server)?;
    let http = reqwest::Client::new();
    let credentials = Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
        code: None,
        invite: None,
    };
    let post = |path: &str| {
        http.post(format!("{base}{path}"))
            // The API refuses requests whose Origin is not the server's own.
            .header("Origin", &base)
            .json(&credentials)
            .send()
    };
    let mut response = if signup {
        post("/api/signup").await?
    } else {
        post("/api/login").await?
    };
    if signup && response.status() == reqwest::StatusCode::CONFLICT {
        tracing::info!(username, "account exists; logging in instead");
        response = post("/api/login").await?;
    }
    let cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|v| {
            [SESSION_COOKIE, SECURE_SESSION_COOKIE].iter().any(|name| {
                v.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('='))
            })
        })
        .map(str::to_owned);
    match cookie {
        Some(cookie) if response.status().is_success() => Ok(cookie),
        _ => {
            let status = response.status();
            let message = match response.json::<ApiError>().await {
                Ok(err) => err.message,
                Err(_) => format!("HTTP {status} without a session cookie"),
            };
            Err(SignalingError::Refused(message))
        }
    }
}

/// A cheap-clone handle that queues frames for the writer task.
#[derive(Debug, Clone)]
pub struct Outbox(mpsc::Sender<ClientMessage>);

impl Outbox {
    pub async fn send(&self, message: ClientMessage) -> Result<(), SignalingError> {
        self.0
            .send(message)
            .await
            .map_err(|_| SignalingError::Closed)
    }
}

/// One transfer session's way back to the other peer: the room and user signals go to.
#[derive(Debug, Clone)]
pub struct Remote {
    pub outbox: Outbox,
    pub room: RoomId,
    pub user: String,
    pub session: String,
}

impl Remote {
    pub async fn signal(&self, data: SignalData) -> Result<(), SignalingError> {
        self.outbox
            .send(ClientMessage::Signal {
                room: self.room.clone(),
                to: self.user.clone(),
                session: self.session.clone(),
                data,
            })
            .await
    }
}

/// An open, welcomed WebSocket.
pub struct Connection {
    /// The username as the server spells it.
    pub username: String,
    outbox: Outbox,
    inbox: mpsc::Receiver<ServerMessage>,
    /// Frames that arrived while [`Connection::request`] waited for its answer.
    set_aside: VecDeque<ServerMessage>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Connection {
    /// Opens `/ws` with the session cookie and waits for the welcome.
    pub async fn open(server: &str, cookie: &str) -> Result<Self, SignalingError> {
        let base = base(server)?;
        let url = format!(
            "{}/ws",
            base.replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1)
        );
        let mut request = url.into_client_request()?;
        let headers = request.headers_mut();
        let value = |s: &str| {
            HeaderValue::from_str(s).map_err(|_| SignalingError::BadUrl(server.to_owned()))
        };
        headers.insert("Cookie", value(cookie)?);
        // The server accepts sockets only from its own pages' origin.
        headers.insert("Origin", value(&base)?);
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        let (mut sink, mut stream) = ws.split();

        let username = loop {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ServerMessage>(text.as_str()) {
                        Ok(ServerMessage::Welcome { username, .. }) => break username,
                        _ => return Err(SignalingError::NoWelcome(text.to_string())),
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => return Err(SignalingError::NoWelcome(format!("{other:?}"))),
                Some(Err(e)) => return Err(e.into()),
                None => return Err(SignalingError::Closed),
            }
        };

        let (in_tx, inbox) = mpsc::channel(INBOX_FRAMES);
        let reader = tokio::spawn(async move {
            while let Some(frame) = stream.next().await {
                match frame {
                    Ok(Message::Text(text)) => {
                        match serde_json::from_str::<ServerMessage>(text.as_str()) {
                            // Waiting here when the inbox is full is the back-pressure.
                            Ok(message) => {
                                if in_tx.send(message).await.is_err() {
                                    break;
                                }
                            }
                            // A newer server may send frames this build does not know.
                            Err(e) => tracing::debug!(error = %e, "unknown frame skipped"),
                        }
                    }
                    Ok(Message::Close(frame)) => {
                        tracing::info!(?frame, "server closed the socket");
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "socket read failed");
                        break;
                    }
                }
            }
        });

        let (out_tx, mut out_rx) = mpsc::channel::<ClientMessage>(OUTBOX_FRAMES);
        let writer = tokio::spawn(async move {
            let mut ping = tokio::time::interval(PING_EVERY);
            ping.tick().await; // the first tick is immediate; the welcome just proved liveness
            let mut nonce = 0u64;
            loop {
                let message = tokio::select! {
                    message = out_rx.recv() => match message {
                        Some(message) => message,
                        // Every handle is gone: everything queued was written. Say goodbye.
                        None => {
                            let _ = sink.send(Message::Close(None)).await;
                            break;
                        }
                    },
                    _ = ping.tick() => {
                        nonce += 1;
                        ClientMessage::Ping { nonce }
                    }
                };
                let text = match serde_json::to_string(&message) {
                    Ok(text) => text,
                    Err(e) => {
                        tracing::error!(error = %e, "could not encode a frame");
                        continue;
                    }
                };
                if let Err(e) = sink.send(Message::text(text)).await {
                    tracing::warn!(error = %e, "socket write failed");
                    break;
                }
            }
        });

        Ok(Self {
            username,
            outbox: Outbox(out_tx),
            inbox,
            set_aside: VecDeque::new(),
            reader,
            writer,
        })
    }

    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    /// The next frame from the server; `None` once the socket closed.
    pub async fn next(&mut self) -> Option<ServerMessage> {
        if let Some(message) = self.set_aside.pop_front() {
            return Some(message);
        }
        self.inbox.recv().await
    }

    /// Sends `message` and waits for the frame `answer` picks, setting other frames aside for
    /// [`Connection::next`] (an offer may arrive meanwhile). A server error that `answer` does
    /// not claim is logged and skipped.
    async fn request<T>(
        &mut self,
        message: ClientMessage,
        mut answer: impl FnMut(&ServerMessage) -> Option<Result<T, SignalingError>>,
    ) -> Result<T, SignalingError> {
        self.outbox.send(message).await?;
        let wait = async {
            loop {
                let frame = self.inbox.recv().await.ok_or(SignalingError::Closed)?;
                if let Some(result) = answer(&frame) {
                    return result;
                }
                if let ServerMessage::Error { code, message, .. } = &frame {
                    tracing::warn!(?code, %message, "server error");
                    continue;
                }
                if self.set_aside.len() >= SET_ASIDE_FRAMES {
                    tracing::warn!("too many frames while waiting for an answer; one dropped");
                    self.set_aside.pop_front();
                }
                self.set_aside.push_back(frame);
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, wait)
            .await
            .map_err(|_| SignalingError::Timeout)?
    }

    /// The STUN/TURN servers for a transfer with `peer` in `room` (none on a loopback test
    /// server). The server hands out TURN credentials only for such a session.
    pub async fn ice_servers(
        &mut self,
        room: &RoomId,
        peer: &str,
    ) -> Result<Vec<IceServer>, SignalingError> {
        let ask = ClientMessage::IceServers {
            room: Some(room.clone()),
            call: None,
            peer: Some(peer.to_owned()),
        };
        self.request(ask, |frame| match frame {
            ServerMessage::IceServers { servers, .. } => Some(Ok(servers.clone())),
            // The request has no id, so any refusal now is taken as its answer.
            ServerMessage::Error { code, message, .. } => Some(Err(SignalingError::Server {
                code: *code,
                message: message.clone(),
            })),
            _ => None,
        })
        .await
    }

    /// Opens (or finds) the direct conversation with `user` and returns its room.
    pub async fn open_direct(&mut self, user: &str) -> Result<RoomId, SignalingError> {
        let client_id = ClientMsgId(random_id());
        let key = client_id.clone();
        self.request(
            ClientMessage::OpenDirect {
                client_id,
                user: user.to_owned(),
            },
            |frame| match frame {
                ServerMessage::Ack { client_id, event } if *client_id == key => {
                    Some(Ok(event.room.clone()))
                }
                ServerMessage::Error {
                    code,
                    message,
                    client_id: Some(id),
                } if *id == key => Some(Err(SignalingError::Server {
                    code: *code,
                    message: message.clone(),
                })),
                _ => None,
            },
        )
        .await
    }

    /// Waits (briefly) until every queued frame is written and the socket is closed. Frames
    /// queued through other [`Outbox`] clones still alive are written too, up to the timeout.
    pub async fn close(self) {
        let Self {
            outbox,
            inbox,
            reader,
            writer,
            ..
        } = self;
        drop(outbox);
        drop(inbox);
        if tokio::time::timeout(CLOSE_TIMEOUT, writer).await.is_err() {
            tracing::warn!("socket writer did not finish in time");
        }
        reader.abort();
    }
}

/// 128 random bits in hex: client ids and transfer session ids.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source failing is not something a CLI can recover from.
    getrandom::fill(&mut bytes).expect("the OS random source works");
    shared::transfer::hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_session_and_client_ids() {
        let id = random_id();
        assert_eq!(id.len(), 32);
        assert!(shared::calls::valid_session_id(&id));
        assert!(ClientMsgId(id).is_valid());
    }

    #[test]
    fn server_urls_are_checked() {
        assert_eq!(base("http://127.0.0.1:1/").unwrap(), "http://127.0.0.1:1");
        assert!(base("127.0.0.1:1").is_err());
    }
}
