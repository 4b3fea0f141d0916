#!/usr/bin/env bash
# Runs every benchmark and prints its figures (also written as JSON to bench/results/):
#   server  bench/loadgen: the chat server and the Socket.IO reference side by side (loopback)
#   sweep   bench/loadgen sweep: open-loop rate sweeps of both servers, alternating, medians of
#           5 runs, both cores and one core each, on a database holding a million messages;
#           Synapse (Matrix, from PyPI, on the local PostgreSQL) beside them at lower rates;
#           and the SIGKILL loss check (bench/results/sweep.json, docs/BENCHMARKS.md from it)
#   cluster bench/loadgen cluster: the chat server on SQLite, on PostgreSQL, and on 2 and 3
#           nodes relaying over NATS (the local PostgreSQL server, a nats-server of its own)
#   client  bench/browser/client.mjs: first-load bytes, warm start, a 10,000-message room
#   p2p     bench/browser/p2p.mjs: file transfer vs raw data channel, memory, call set-up
#
#   ./scripts/bench.sh                  everything, full sizes (about 90 minutes; the sweep 35 of them)
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
    server|sweep|cluster|client|p2p) parts+=("$arg") ;;
    *) echo "unknown argument: $arg (server, sweep, cluster, client, p2p, --smoke)" >&2; exit 2 ;;
  esac
done
[[ ${#parts[@]} -gt 0 ]] || parts=(server sweep cluster client p2p)
wants() { [[ " ${parts[*]} " == *" $1 "* ]]; }

# The wasm toolchain and Chromium only for the browser parts, the npm packages (Socket.IO,
# the browser drivers) for all but the cluster part.
if wants client || wants p2p; then
  setup_build_tools
  setup_browser_tools
fi
# PostgreSQL running (CHAT_TEST_POSTGRES_URL) and nats-server installed; the sweep runs
# Synapse on that PostgreSQL.
if wants cluster || wants sweep; then setup_cluster_tools; fi
if wants sweep; then setup_synapse; fi
if { wants server || wants sweep || wants client || wants p2p; } &&
   { [[ ! -d bench/node_modules/socket.io ]] ||
     ! cmp -s bench/package-lock.json bench/node_modules/.installed-lock.json; }; then
  say "installing the benchmarks' npm packages"
  (cd bench && npm ci --silent --no-audit --no-fund && cp package-lock.json node_modules/.installed-lock.json)
fi

say "building the release server and load generator"
cargo build --locked --release -p signaling -p loadgen
# Cargo's target directory (CARGO_TARGET_DIR when it is set elsewhere).
bin="$(cd "$ROOT" && realpath -m "${CARGO_TARGET_DIR:-target}")/release"
export SIGNALING_BIN="$bin/signaling"
if wants client || wants p2p; then
  say "building the frontend (release)"
  build_frontend
fi

if wants server; then
  say "server: chat vs Socket.IO"
  "$bin/loadgen" ${BENCH_SMOKE:+--smoke}
fi
if wants sweep; then
  say "sweep: chat and Socket.IO at the same offered rates, alternating; SIGKILL under load"
  "$bin/loadgen" sweep ${BENCH_SMOKE:+--smoke}
  # The doc's sweep tables come from the committed JSON (a smoke run writes elsewhere).
  [[ -n "${BENCH_SMOKE:-}" ]] || python3 scripts/bench-report.py
fi
if wants cluster; then
  say "cluster: SQLite, PostgreSQL, PostgreSQL + NATS on 2 and 3 nodes"
  "$bin/loadgen" cluster ${BENCH_SMOKE:+--smoke}
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
