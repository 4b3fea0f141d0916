#!/usr/bin/env bash
# Runs every test: formatting and lints, native unit and integration tests (server and the
# native WebRTC peer), a bounded fuzzing run of every decoder a peer controls, the frontend's tests
# in headless Chromium (wasm-bindgen-test), the end-to-end suite (Playwright + Chromium), and a
# smoke run of the benchmarks (they must still run and their checks pass).
# Installs whatever is missing first. CI (.ci/run) runs exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
setup_build_tools
setup_browser_tools
setup_cluster_tools

say "format and lints"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check
python3 scripts/pg-admin.py --check
python3 scripts/bench-report.py --check
cargo clippy --locked -p shared -p client-core -p signaling -p peer -p loadgen --all-targets -- -D warnings
cargo clippy --locked -p frontend --target wasm32-unknown-unknown --all-targets -- -D warnings

say "native unit and integration tests"
cargo test --locked -p shared -p client-core -p signaling -p peer -p loadgen

say "fuzzing (bounded; long runs: scripts/fuzz.sh SECONDS)"
./scripts/fuzz.sh --ci

say "frontend tests in headless Chromium"
cargo test --locked -p frontend --target wasm32-unknown-unknown

say "end-to-end tests in headless Chromium"
build_frontend
cargo build --locked -p signaling -p peer
(cd e2e && SIGNALING_BIN="$ROOT/target/debug/signaling" PEER_BIN="$ROOT/target/debug/peer" DIST_DIR="$ROOT/dist" npm test)
say "benchmark smoke run (tiny sizes; full figures: ./scripts/bench.sh)"
./scripts/bench.sh --smoke
say "all tests passed"
