//! Intent-named helpers: start a server, create a user, open a socket, wait for an event.

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use shared::ws::{ClientMessage, ServerMessage};
use shared::{ClientMsgId, RoomId};
use signaling::config::Config;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub server: Option<signaling::Server>,
    pub dir: tempfile::TempDir,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> Self {
        let mut config = Config::for_data_dir(dir.path().to_path_buf());
        config.static_dir = dir.path().join("no-frontend");
        config.auth_attempts_per_minute = 1000;
        let server = signaling::start(config).await.unwrap();
        let base = server.url();
        Self {
            server: Some(server),
            dir,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server cleanly and starts a new one on the same data directory.
    pub async fn restart(mut self) -> Self {
        let server = self.server.take().unwrap();
        server.shutdown();
        server.wait().await.unwrap();
        Self::start_in(self.dir).await
    }

    pub fn origin(&self) -> String {
        self.base.clone()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Origin", self.origin())
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Signs `name` up and returns the session cookie (`chat_session=...`).
    pub async fn create_user(&self, name: &str) -> String {
        let response = self
            .post(
                "/api/signup",
                json!({"username": name, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(response.status(), 201, "sign-up of {name}");
        session_cookie(&response).expect("sign-up sets the session cookie")
    }

    pub async fn connect(&self, cookie: &str) -> Client {
        self.try_connect(Some(cookie), Some(&self.origin()))
            .await
            .expect("socket opens")
    }

    pub async fn try_connect(
        &self,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Client, tungstenite::Error> {
        let url = format!("{}/ws", self.base.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert("Cookie", HeaderValue::from_str(cookie).unwrap());
        }
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", HeaderValue::from_str(origin).unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        let mut client = Client { ws };
        let welcome = client.next_event().await;
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        Ok(client)
    }
}

/// The `name=value` part of the session `Set-Cookie` header.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("chat_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).unwrap();
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    pub async fn say(&mut self, client_id: &str, body: &str) {
        self.send(&ClientMessage::Send {
            room: RoomId::lobby(),
            client_id: ClientMsgId(client_id.into()),
            body: body.into(),
        })
        .await;
    }

    /// The next protocol event, skipping nothing. Panics after [`WAIT`].
    pub async fn next_event(&mut self) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("an event within the wait")
                .expect("socket still open")
                .expect("readable frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// Waits for the first event that `pick` accepts, skipping others.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(ServerMessage) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.next_event().await) {
                return found;
            }
        }
    }

    /// Reads until the server closes the socket and returns its close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("closes in time")
            {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}
