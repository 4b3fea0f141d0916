//! Integration tests: the real server on port 0 with a real SQLite file, driven over real HTTP
//! and WebSocket connections. One binary, one module per topic.

mod accounts;
mod harness;
mod messaging;
mod robustness;
mod static_files;
