//! The four configurations the cluster scenario compares.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// 1 to 4, as numbered in the report.
    pub id: usize,
    pub store: Store,
    pub nodes: usize,
    /// Nodes relay events to each other over NATS.
    pub nats: bool,
}

pub const CONFIGS: [Config; 4] = [
    Config {
        id: 1,
        store: Store::Sqlite,
        nodes: 1,
        nats: false,
    },
    Config {
        id: 2,
        store: Store::Postgres,
        nodes: 1,
        nats: false,
    },
    Config {
        id: 3,
        store: Store::Postgres,
        nodes: 2,
        nats: true,
    },
    Config {
        id: 4,
        store: Store::Postgres,
        nodes: 3,
        nats: true,
    },
];

/// The single-node PostgreSQL configuration the relaying ones are compared with.
pub const SINGLE_PG: usize = 2;

impl Config {
    pub fn by_id(id: usize) -> Option<Self> {
        CONFIGS.into_iter().find(|c| c.id == id)
    }

    pub fn label(&self) -> String {
        let store = match self.store {
            Store::Sqlite => "SQLite",
            Store::Postgres => "PostgreSQL",
        };
        let nodes = if self.nodes == 1 { "node" } else { "nodes" };
        let nats = if self.nats { " + NATS" } else { "" };
        format!("{}. {store}{nats}, {} {nodes}", self.id, self.nodes)
    }
}

/// The configurations of round `round` (0-based): `ids` rotated left by `round`, so each
/// configuration runs early in one round and late in another.
pub fn order(ids: &[usize], round: usize) -> Vec<usize> {
    let mut ids = ids.to_vec();
    if !ids.is_empty() {
        let by = round % ids.len();
        ids.rotate_left(by);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn each_round_starts_one_later() {
        assert_eq!(order(&[1, 2, 3, 4], 0), [1, 2, 3, 4]);
        assert_eq!(order(&[1, 2, 3, 4], 1), [2, 3, 4, 1]);
        assert_eq!(order(&[1, 2, 3, 4], 5), [2, 3, 4, 1]);
        assert!(order(&[], 2).is_empty());
    }
}
