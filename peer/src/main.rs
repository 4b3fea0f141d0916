//! `peer`: send or receive files through the chat server over WebRTC. Progress is printed as
//! JSON lines on stdout (see `peer::output`); logs go to stderr (`RUST_LOG` filters them).

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("peer=info")),
        )
        .init();
    let cli = peer::cli::Cli::parse();
    match peer::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
