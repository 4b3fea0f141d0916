#!/usr/bin/env bash
# Builds the frontend (release) and the server, then runs the chat on the embedded SQLite store.
#   ./scripts/run.sh                     http://127.0.0.1:8080, data in ./data
#   ./scripts/run.sh --bind 0.0.0.0:9000 --allowed-origin https://chat.example.org
# Any flag is passed to the server; see `target/release/signaling --help`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
setup_build_tools
say "building the frontend (release)"
build_frontend
say "building the server (release)"
cargo build --release -p signaling
say "starting the server (Ctrl-C stops it)"
exec target/release/signaling --static-dir "$ROOT/dist" "$@"
