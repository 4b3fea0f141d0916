#!/usr/bin/env bash
# Runs every benchmark and prints its figures (also written as JSON to bench/results/):
#   server  bench/loadgen: the chat server and the Socket.IO reference side by side (loopback)
#   client  bench/browser/client.mjs: first-load bytes, warm start, a 10,000-message room
#   p2p     bench/browser/p2p.mjs: file transfer vs raw data channel, memory, call set-up
#
#   ./scripts/bench.sh                  everything, full sizes (about 15 minutes)
#   ./scripts/bench.sh server client    only those parts
#   ./scripts/bench.sh --smoke          tiny sizes, exits non-zero if a check fails (CI)
# Results are discussed in docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

parts=()
for arg in "$@"; do
  case "$arg" in
    --smoke) export BENCH_SMOKE=1 ;;
    server|client|p2p) parts+=("$arg") ;;
    *) echo "unknown argument: $arg (server, client, p2p, --smoke)" >&2; exit 2 ;;
  esac
done
[[ ${#parts[@]} -gt 0 ]] || parts=(server client p2p)
wants() { [[ " ${parts[*]} " == *" $1 "* ]]; }

setup_build_tools
setup_browser_tools
if [[ ! -d bench/node_modules/socket.io ]] ||
   ! cmp -s bench/package-lock.json bench/node_modules/.installed-lock.json; then
  say "installing the benchmarks' npm packages"
  (cd bench && npm ci --silent --no-audit --no-fund && cp package-lock.json node_modules/.installed-lock.json)
fi

say "building the release server and load generator"
cargo build --locked --release -p signaling -p loadgen
export SIGNALING_BIN="$ROOT/target/release/signaling"
if wants client || wants p2p; then
  say "building the frontend (release)"
  build_frontend
fi

if wants server; then
  say "server: chat vs Socket.IO"
  target/release/loadgen ${BENCH_SMOKE:+--smoke}
fi
if wants client; then
  say "client: headless Chromium"
  node bench/browser/client.mjs
fi
if wants p2p; then
  say "p2p: two headless Chromium processes"
  node bench/browser/p2p.mjs
fi
say "benchmarks done (figures in bench/results/)"
