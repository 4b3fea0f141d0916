//! The command line and the two commands' main loops: log in, open the socket, route signals
//! to transfer sessions.

use crate::DropAfter;
use crate::output::{Event, emit};
use crate::receive::{self, Receiver, Report};
use crate::send;
use crate::signaling::{self, Connection, Remote};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use shared::RoomId;
use shared::calls::{SignalData, valid_session_id};
use shared::transfer::check_offer;
use shared::ws::{ErrorCode, ServerMessage};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Signals waiting for one session. A transfer exchanges a handful.
const SESSION_SIGNALS: usize = 64;

#[derive(Debug, Parser)]
#[command(
    name = "peer",
    version,
    about = "Send or receive files through the chat server, over WebRTC like the browser"
)]
pub struct Cli {
    /// The chat server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    #[arg(long)]
    pub username: String,
    #[arg(long, env = "PEER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Create the account first (an existing one is logged in instead).
    #[arg(long)]
    pub signup: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Accept every file offer and store the files in DIR.
    Receive {
        #[arg(long)]
        dir: PathBuf,
        /// Exit after this many files are verified (default: run until stopped).
        #[arg(long)]
        count: Option<u64>,
        /// Close the peer connection once after this many bytes, then resume (testing).
        #[arg(long, value_name = "BYTES")]
        drop_after: Option<u64>,
    },
    /// Offer FILEs to a user and exit once the receiver verified them all.
    Send {
        /// The receiving user; the direct conversation with them is opened unless --room.
        #[arg(long)]
        to: String,
        /// Signal in this room instead (both must be members).
        #[arg(long)]
        room: Option<String>,
        /// Close the peer connection once after this many bytes; the receiver resumes.
        #[arg(long, value_name = "BYTES")]
        drop_after: Option<u64>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let cookie = signaling::log_in(&cli.server, &cli.username, &cli.password, cli.signup)
        .await
        .context("log-in")?;
    let mut conn = Connection::open(&cli.server, &cookie)
        .await
        .context("opening the socket")?;
    emit(&Event::Ready {
        username: &conn.username,
    });
    let result = match cli.command {
        Command::Receive {
            dir,
            count,
            drop_after,
        } => {
            tokio::fs::create_dir_all(&dir)
                .await
                .with_context(|| format!("creating {}", dir.display()))?;
            let receiver = Arc::new(Receiver {
                dir,
                taken: Mutex::default(),
                drop_after: Mutex::new(DropAfter::new(drop_after)),
            });
            receive_loop(&mut conn, receiver, count).await
        }
        Command::Send {
            to,
            room,
            drop_after,
            files,
        } => {
            let room = match room {
                Some(room) => RoomId(room),
                None => conn
                    .open_direct(&to)
                    .await
                    .context("opening the direct conversation")?,
            };
            let files = send::prepare(&files).await?;
            // TURN credentials are handed out for a transfer with someone, not on connect.
            let ice_servers = conn
                .ice_servers(&room, &to)
                .await
                .context("asking for ICE servers")?;
            let remote = Remote {
                outbox: conn.outbox(),
                room,
                user: to,
                session: signaling::random_id(),
            };
            send_loop(&mut conn, remote, files, ice_servers, drop_after).await
        }
    };
    conn.close().await;
    result
}

/// Accepts every offer; returns once `count` files are verified and no session is running.
async fn receive_loop(
    conn: &mut Connection,
    receiver: Arc<Receiver>,
    count: Option<u64>,
) -> anyhow::Result<()> {
    let mut sessions: HashMap<(String, String), mpsc::Sender<SignalData>> = HashMap::new();
    let (report_tx, mut reports) = mpsc::channel(64);
    let mut verified = 0u64;
    loop {
        if count.is_some_and(|n| verified >= n) && sessions.is_empty() {
            return Ok(());
        }
        tokio::select! {
            message = conn.next() => match message {
                None => bail!("the server closed the socket"),
                Some(ServerMessage::Signal { room, from, session, data }) => {
                    let key = (from.clone(), session.clone());
                    if let Some(tx) = sessions.get(&key) {
                        if tx.try_send(data).is_err() {
                            tracing::warn!(%session, "session busy; signal dropped");
                        }
                        continue;
                    }
                    let SignalData::Files { files } = data else {
                        tracing::debug!(%session, "signal for no known session ignored");
                        continue;
                    };
                    let remote = Remote { outbox: conn.outbox(), room, user: from, session };
                    if !valid_session_id(&remote.session) || check_offer(&files).is_err() {
                        tracing::warn!(session = %remote.session, "invalid offer declined");
                        let _ = remote.signal(SignalData::Bye).await;
                        continue;
                    }
                    let ice_servers = match conn.ice_servers(&remote.room, &remote.user).await {
                        Ok(servers) => servers,
                        Err(e) => {
                            tracing::warn!(error = %e, "no ICE servers for an offer; declined");
                            let _ = remote.signal(SignalData::Bye).await;
                            continue;
                        }
                    };
                    emit(&Event::Offer { from: &remote.user, session: &remote.session, files: &files });
                    let (tx, rx) = mpsc::channel(SESSION_SIGNALS);
                    sessions.insert(key, tx);
                    tokio::spawn(receive::run(remote, files, receiver.clone(), ice_servers, rx, report_tx.clone()));
                }
                Some(ServerMessage::Error { code, message, .. }) => {
                    tracing::warn!(?code, %message, "server error");
                }
                Some(_) => {}
            },
            Some(report) = reports.recv() => match report {
                Report::Verified => verified += 1,
                Report::Finished { key, ok } => {
                    tracing::info!(session = %key.1, ok, "session ended");
                    sessions.remove(&key);
                }
            },
        }
    }
}

/// Runs the one sending session, feeding it the signals for it.
async fn send_loop(
    conn: &mut Connection,
    remote: Remote,
    files: Vec<send::Outgoing>,
    ice_servers: Vec<shared::calls::IceServer>,
    drop_after: Option<u64>,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel(SESSION_SIGNALS);
    let to = remote.user.clone();
    let id = remote.session.clone();
    let mut session = tokio::spawn(send::run(
        remote,
        files,
        ice_servers,
        rx,
        DropAfter::new(drop_after),
    ));
    loop {
        tokio::select! {
            result = &mut session => return Ok(result??),
            message = conn.next() => match message {
                None => bail!("the server closed the socket"),
                Some(ServerMessage::Signal { from, session, data, .. })
                    if session == id && from.eq_ignore_ascii_case(&to) =>
                {
                    if tx.try_send(data).is_err() {
                        tracing::warn!("session busy; signal dropped");
                    }
                }
                // Signals carry no request id, so an error now is about our signals (the
                // user is not in the room, a block...): waiting on would wait for nothing.
                Some(ServerMessage::Error { code, message, .. }) if code != ErrorCode::RateLimited => {
                    bail!("the server refused a signal ({code:?}): {message}");
                }
                Some(ServerMessage::Error { message, .. }) => {
                    tracing::warn!(%message, "rate limited");
                }
                Some(_) => {}
            },
        }
    }
}
