//! The PostgreSQL server the PostgreSQL configurations run on (the local one): a template
//! database seeded once per run of the load generator, a fresh copy of it for every
//! configuration run, and the server's CPU time read from `/proc`.

use crate::server::populate;
use crate::stats::{children, cpu_secs, parent_pid, reaped_children_cpu_secs};
use anyhow::Context;
use signaling::store::{PgStore, Storage};
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};

/// Every database this generator makes is named `chat_bench_<its pid>_<tag>`, so a later run
/// can tell which ones a dead run left behind.
const PREFIX: &str = "chat_bench_";

pub struct PgServer {
    /// A URL of the server with a database to connect to for CREATE and DROP DATABASE.
    admin: String,
    /// The same URL without its database name.
    base: String,
    /// The server's main process, when it runs on this machine.
    postmaster: Option<u32>,
}

impl PgServer {
    pub async fn connect(admin: &str) -> anyhow::Result<Self> {
        let mut conn = PgConnection::connect(admin)
            .await
            .with_context(|| format!("PostgreSQL at {admin} (scripts/setup.sh starts one)"))?;
        // A backend's parent is the postmaster; a server elsewhere has no such local pid.
        let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await?;
        let postmaster = u32::try_from(backend)
            .ok()
            .and_then(parent_pid)
            .filter(|&pid| comm(pid).starts_with("postgres"));
        conn.close().await?;
        let (base, _) = admin
            .rsplit_once('/')
            .context("a PostgreSQL URL with a database name")?;
        Ok(Self {
            admin: admin.to_owned(),
            base: base.to_owned(),
            postmaster,
        })
    }

    pub fn url_of(&self, database: &str) -> String {
        format!("{}/{database}", self.base)
    }

    /// The name this run gives the database `tag`.
    pub fn database_name(tag: &str) -> String {
        format!("{PREFIX}{}_{tag}", std::process::id())
    }

    async fn execute(&self, sql: &str) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.admin).await?;
        let result = sqlx::raw_sql(sql).execute(&mut conn).await;
        let _ = conn.close().await;
        result.with_context(|| sql.to_owned())?;
        Ok(())
    }

    /// Creates `name`, empty or as a copy of `template`; returns its URL.
    pub async fn create(&self, name: &str, template: Option<&str>) -> anyhow::Result<String> {
        let sql = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        // A template must have no connection while it is copied, and the backends of the
        // pool that seeded it may take a moment to exit.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.execute(&sql).await {
                Ok(()) => return Ok(self.url_of(name)),
                Err(e) if Instant::now() < deadline && format!("{e:#}").contains("accessed") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        self.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
    }

    /// Writes every dirty page out now, so that the previous run's writes are not flushed
    /// (and counted) while the next one is measured.
    pub async fn checkpoint(&self) -> anyhow::Result<()> {
        self.execute("CHECKPOINT").await
    }

    /// Drops the `chat_bench_*` databases of runs that are gone and, with `ours`, this run's.
    pub async fn remove_databases(&self, ours: bool) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.admin).await?;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
                .bind(PREFIX)
                .fetch_all(&mut conn)
                .await?;
        let _ = conn.close().await;
        let me = std::process::id().to_string();
        for name in names {
            let pid = name[PREFIX.len()..].split('_').next().unwrap_or("");
            let dead = !std::path::Path::new(&format!("/proc/{pid}")).exists();
            if dead || (ours && pid == me) {
                self.drop_database(&name).await?;
            }
        }
        Ok(())
    }

    /// CPU seconds the server has used so far, when it runs on this machine: the postmaster
    /// and its children that have exited (reaped: backends of closed connections, autovacuum
    /// workers), and the live children (checkpointer, WAL writer, ...) except the backends
    /// of other databases, which serve somebody else.
    pub fn cpu_secs(&self) -> Option<f64> {
        let postmaster = self.postmaster?;
        let mut total = cpu_secs(postmaster) + reaped_children_cpu_secs(postmaster);
        for child in children(postmaster) {
            match backend_database(child) {
                Some(db) if !db.starts_with(PREFIX) => {}
                _ => total += cpu_secs(child),
            }
        }
        Some(total)
    }
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default()
}

/// The database a client backend serves, read from its process title
/// (`postgres: 15/main: user database 127.0.0.1(5432) idle`); `None` for the server's own
/// processes (`postgres: 15/main: checkpointer`).
fn backend_database(pid: u32) -> Option<String> {
    let title = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let title = String::from_utf8_lossy(&title).replace('\0', " ");
    let words: Vec<&str> = title.split_whitespace().collect();
    let client = words
        .iter()
        .position(|w| (w.ends_with(')') && w.contains('(')) || *w == "[local]")?;
    (client >= 2).then(|| words[client - 1].to_owned())
}

/// The seeded template every PostgreSQL configuration run copies.
pub struct PgSeed {
    pub template: String,
    pub tokens: Vec<String>,
    pub seconds: f64,
}

/// Seeds a fresh template database through the `signaling` library, as the SQLite seed is.
pub async fn seed(server: &PgServer, users: usize, room_size: usize) -> anyhow::Result<PgSeed> {
    let started = Instant::now();
    let template = PgServer::database_name("seed");
    server.drop_database(&template).await?;
    let url = server.create(&template, None).await?;
    let store = PgStore::connect(&url).await?;
    let tokens = populate(&store, users, room_size).await;
    store.close().await;
    Ok(PgSeed {
        template,
        tokens: tokens?,
        seconds: started.elapsed().as_secs_f64(),
    })
}
