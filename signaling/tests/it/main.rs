//! Integration tests: the real server on port 0 with a real SQLite file, driven over real HTTP
//! and WebSocket connections. One binary, one module per topic.

mod accounts;
mod admin;
mod cluster;
mod cluster_faults;
mod convergence;
mod crash;
mod deletion;
mod devices;
mod export;
mod faults;
mod harness;
mod integrations;
mod live;
mod login_memory;
mod media;
mod messaging;
mod metrics;
mod operations;
mod passkeys;
mod previews;
mod push;
mod registration;
mod robustness;
mod rooms;
mod sessions;
mod signaling;
mod sso;
mod static_files;
mod support;
mod trust;
mod two_factor;
