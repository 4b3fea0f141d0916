//! A `nats-server` of this run's own (never a system one) on free loopback ports, with its
//! monitoring endpoint on, whose `/varz` counts the messages it took in and handed out.

use anyhow::Context;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct NatsProcess {
    child: Child,
    port: u16,
    monitor_port: u16,
}

/// Messages (and their payload bytes) published to the server and delivered by it to
/// subscribers, so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct NatsCounters {
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Debian installs it in /usr/sbin, which is not on every user's PATH.
pub fn binary() -> &'static str {
    ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("nats-server")
}

impl NatsProcess {
    pub async fn start() -> anyhow::Result<Self> {
        let (port, monitor_port) = (free_port()?, free_port()?);
        let child = Command::new(binary())
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .args(["-m", &monitor_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nats-server (scripts/setup.sh installs Debian's package)")?;
        let nats = Self {
            child,
            port,
            monitor_port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while nats.counters().await.is_none() {
            anyhow::ensure!(Instant::now() < deadline, "nats-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(nats)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The message and byte counters of `/varz`, or `None` if the server does not answer.
    pub async fn counters(&self) -> Option<NatsCounters> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.monitor_port))
            .await
            .ok()?;
        stream
            .write_all(b"GET /varz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let start = memchr::memmem::find(&response, b"\r\n\r\n")? + 4;
        let varz: serde_json::Value = serde_json::from_slice(&response[start..]).ok()?;
        Some(NatsCounters {
            in_msgs: varz["in_msgs"].as_u64()?,
            out_msgs: varz["out_msgs"].as_u64()?,
            in_bytes: varz["in_bytes"].as_u64()?,
            out_bytes: varz["out_bytes"].as_u64()?,
        })
    }
}

impl Drop for NatsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
