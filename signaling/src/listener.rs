//! Accepting TCP connections and serving HTTP/1.1 on them, with the limits `axum::serve` does
//! not set: a client that connects and then sends nothing, or sends its headers a byte at a
//! time, or holds an idle keep-alive connection, is cut off after [`ConnectionLimits::header_timeout`];
//! no address holds more than [`ConnectionLimits::per_ip`] connections; the process never
//! accepts more than [`ConnectionLimits::total`] (kept below the open-file limit, so `/healthz`
//! and the database always find a descriptor).
//!
//! hyper's own header-read timer covers the first two cases and the idle keep-alive wait (it
//! starts whenever the connection waits for a request head), but only when a timer is
//! installed, which `axum::serve` does not do. HTTP/1.1 only: the version sniffing of hyper's
//! "auto" builder reads the first bytes with no timeout at all, and browsers speak HTTP/2 only
//! over TLS, which a reverse proxy terminates.
//!
//! A connection's slot is held by its stream, so an upgraded WebSocket keeps counting until it
//! closes.

use crate::request::address_key;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::{Service, ServiceExt};

/// How long accepting pauses after the process ran out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The bounds on connections (see the module comment).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head: from the connection's start, and between
    /// requests on a kept-alive connection.
    pub header_timeout: Duration,
    /// Connections one client address may hold at once (IPv6: one /64); `None`: no cap.
    pub per_ip: Option<usize>,
    /// Connections the process holds at once.
    pub total: usize,
}

/// Open connections, in total and per client address. One owner: [`Admission`] slots are
/// only made and given back here.
#[derive(Clone)]
pub struct ConnectionCounter {
    limits: ConnectionLimits,
    counts: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The process holds [`ConnectionLimits::total`] connections.
    Full,
    /// This address holds [`ConnectionLimits::per_ip`] connections.
    TooManyFromAddress,
}

/// One admitted connection's slot; given back when dropped.
pub struct Admission {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl ConnectionCounter {
    pub fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            counts: Arc::default(),
        }
    }

    /// Takes a slot for a connection from `peer`, if the limits allow one more.
    pub fn admit(&self, peer: IpAddr) -> Result<Admission, Refusal> {
        let ip = address_key(peer);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= self.limits.total {
            return Err(Refusal::Full);
        }
        let from_ip = counts.per_ip.get(&ip).copied().unwrap_or(0);
        if self.limits.per_ip.is_some_and(|cap| from_ip >= cap) {
            return Err(Refusal::TooManyFromAddress);
        }
        counts.total += 1;
        counts.per_ip.insert(ip, from_ip + 1);
        Ok(Admission {
            counts: self.counts.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream that holds its connection's slot for as long as it lives, upgrades included.
struct Counted {
    stream: TcpStream,
    _slot: Admission,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    counter: ConnectionCounter,
    shutdown: CancellationToken,
) {
    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let connections = TaskTracker::new();
    let header_timeout = counter.limits.header_timeout;
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let slot = match counter.admit(peer.ip()) {
            Ok(slot) => slot,
            // Dropping the stream closes it: the cheapest answer to a flood.
            Err(refusal) => {
                tracing::debug!(peer = %peer.ip(), ?refusal, "connection refused");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(router) = make_service.call(peer).await;
        let service = TowerToHyperService::new(
            router.map_request(|request: Request<Incoming>| request.map(Body::new)),
        );
        let io = TokioIo::new(Counted {
            stream,
            _slot: slot,
        });
        let stop = shutdown.clone();
        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(io, service)
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    connections.close();
    connections.wait().await;
}

/// Errors of one connection (reset before it was accepted) are skipped; running out of file
/// descriptors pauses accepting briefly, since only closing connections can fix it.
async fn accept_failed(e: &io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// The total connection cap that leaves `reserve` descriptors of the open-file limit for
/// everything else (the database, its log, the listener), or `wanted` if that is lower.
pub fn total_cap(wanted: Option<usize>, reserve: usize) -> usize {
    let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(soft, _)| usize::try_from(soft).unwrap_or(usize::MAX))
        .unwrap_or(1024);
    let fits = open_files.saturating_sub(reserve).max(1);
    wanted.map_or(fits, |w| w.min(fits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(per_ip: Option<usize>, total: usize) -> ConnectionCounter {
        ConnectionCounter::new(ConnectionLimits {
            header_timeout: Duration::from_secs(1),
            per_ip,
            total,
        })
    }

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let counter = counter(Some(2), 100);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = counter.admit(a).unwrap();
        let _second = counter.admit(a).unwrap();
        assert_eq!(counter.admit(a).err(), Some(Refusal::TooManyFromAddress));
        assert!(counter.admit(b).is_ok(), "another address is not affected");
        drop(first);
        assert!(
            counter.admit(a).is_ok(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_per_64() {
        let counter = counter(Some(1), 100);
        let _one = counter.admit("2001:db8::1".parse().unwrap()).unwrap();
        assert_eq!(
            counter.admit("2001:db8::2".parse().unwrap()).err(),
            Some(Refusal::TooManyFromAddress)
        );
    }

    #[test]
    fn the_total_is_capped_and_given_back() {
        let counter = counter(None, 2);
        let one = counter.admit("10.0.0.1".parse().unwrap()).unwrap();
        let _two = counter.admit("10.0.0.2".parse().unwrap()).unwrap();
        assert_eq!(
            counter.admit("10.0.0.3".parse().unwrap()).err(),
            Some(Refusal::Full)
        );
        drop(one);
        assert_eq!(counter.open(), 1);
        assert!(counter.admit("10.0.0.3".parse().unwrap()).is_ok());
    }
}
