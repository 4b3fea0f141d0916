//! Brings one configuration up (its store, its nats-server, its nodes) and down again.

use super::config::{Config, Store};
use super::nats::NatsProcess;
use super::postgres::PgServer;
use crate::conn::{Kind, Target};
use crate::server::{self, Seed, ServerProcess};
use std::path::{Path, PathBuf};

pub struct Deployment {
    pub nodes: Vec<ServerProcess>,
    pub nats: Option<NatsProcess>,
    /// The PostgreSQL database of this run: its name and URL.
    database: Option<(String, String)>,
    run_dir: PathBuf,
}

/// What the nodes stored in, for the check after they stopped.
pub struct Stored {
    /// PostgreSQL: the database's name and URL.
    database: Option<(String, String)>,
    run_dir: PathBuf,
}

impl Deployment {
    /// Copies the seeded database (SQLite: the cached seed; PostgreSQL: the template), starts a
    /// nats-server if the configuration relays, then its nodes one after the other.
    pub async fn start(
        root: &Path,
        config: &Config,
        tag: &str,
        sqlite: Option<&Seed>,
        pg: Option<(&PgServer, &str)>,
    ) -> anyhow::Result<Self> {
        let run_dir = root.join(format!(
            "target/loadgen/run-{}/cluster-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&run_dir);
        let mut extra = Vec::new();
        let mut database = None;
        match config.store {
            Store::Sqlite => {
                let seed = sqlite.ok_or_else(|| anyhow::anyhow!("no SQLite seed"))?;
                server::copy_seed(seed, &run_dir.join("node0"))?;
            }
            Store::Postgres => {
                let (pg, template) = pg.ok_or_else(|| anyhow::anyhow!("no PostgreSQL seed"))?;
                let name = PgServer::database_name(tag);
                let url = pg.create(&name, Some(template)).await?;
                pg.checkpoint().await?;
                extra.extend(["--database-url".to_owned(), url.clone()]);
                database = Some((name, url));
            }
        }
        let nats = if config.nats {
            let nats = NatsProcess::start().await?;
            extra.extend(["--nats-url".to_owned(), nats.url()]);
            Some(nats)
        } else {
            None
        };
        let mut deployment = Self {
            nodes: Vec::new(),
            nats,
            database,
            run_dir,
        };
        for n in 0..config.nodes {
            let dir = deployment.run_dir.join(format!("node{n}"));
            deployment
                .nodes
                .push(ServerProcess::chat_node(root, &dir, &extra)?);
        }
        Ok(deployment)
    }

    pub fn node_pids(&self) -> Vec<u32> {
        self.nodes.iter().map(ServerProcess::pid).collect()
    }

    /// One target per node, in node order.
    pub fn targets(&self, sources: usize) -> Vec<Target> {
        self.nodes
            .iter()
            .map(|node| Target {
                kind: Kind::Chat,
                addr: node.addr,
                sources,
                padded: true,
            })
            .collect()
    }

    /// Stops the nodes (all signalled first, so they shut down side by side), then NATS.
    pub fn stop(self) -> Stored {
        for node in &self.nodes {
            node.terminate();
        }
        for node in self.nodes {
            node.wait_or_kill();
        }
        drop(self.nats);
        Stored {
            database: self.database,
            run_dir: self.run_dir,
        }
    }
}

impl Stored {
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|(_, url)| url.as_str())
    }

    /// SQLite's data directory (node 0's, the only node on SQLite).
    pub fn data_dir(&self) -> PathBuf {
        self.run_dir.join("node0")
    }

    /// Deletes the run's data: its PostgreSQL database and its directory.
    pub async fn remove(self, pg: Option<&PgServer>) -> anyhow::Result<()> {
        let _ = std::fs::remove_dir_all(&self.run_dir);
        if let (Some((name, _)), Some(pg)) = (self.database, pg) {
            pg.drop_database(&name).await?;
        }
        Ok(())
    }
}
