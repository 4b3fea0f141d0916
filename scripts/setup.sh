#!/usr/bin/env bash
# Installs what building and testing need on a fresh machine, and nothing twice.
# Sourced by scripts/run.sh and scripts/test.sh; versions are explained in docs/TOOLCHAIN.md.
#
#   setup_build_tools    wasm32 target, rust-src, Trunk, wasm-bindgen-cli (= Cargo.lock), wasm-opt,
#                        terser
#   build_frontend       the release build of the browser client into dist/
#   setup_browser_tools  Debian Chromium + chromedriver, the e2e suite's npm packages
#   setup_fuzz_tools     a C++ compiler (libfuzzer-sys builds libFuzzer from source)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION="0.21.14"
BINARYEN_VERSION="132.0.0"
TERSER_VERSION="5.51.4"
EMOJIBASE_VERSION="17.0.0"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$ROOT/.tools/binaryen/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The wasm-bindgen version that Cargo.lock resolved; the CLI must match it exactly.
locked_wasm_bindgen() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

setup_build_tools() {
  command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; return 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! rustup component list --installed | grep -q '^rust-src'; then
    say "adding the rust-src component (the release wasm rebuilds the standard library)"
    rustup component add rust-src
  fi
  if [[ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]]; then
    say "installing trunk $TRUNK_VERSION (takes a few minutes, once)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  fi
  local wb
  wb="$(locked_wasm_bindgen)"
  if ! grep -q "wasm_bindgen = \"$wb\"" "$ROOT/Trunk.toml"; then
    echo "Trunk.toml [tools] wasm_bindgen must equal Cargo.lock's wasm-bindgen $wb" >&2
    return 1
  fi
  if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]] ||
     [[ "$(wasm-bindgen-test-runner --version 2>/dev/null)" != *"$wb"* ]]; then
    say "installing wasm-bindgen-cli $wb (takes a few minutes, once)"
    # Not --locked: the CLI's own lockfile pins a crate this registry lacks.
    cargo install wasm-bindgen-cli --version "=$wb" --force
  fi
  if [[ ! -f "$ROOT/.tools/terser/node_modules/terser/package.json" ]] ||
     ! grep -q "\"version\": \"$TERSER_VERSION\"" "$ROOT/.tools/terser/node_modules/terser/package.json"; then
    say "installing terser $TERSER_VERSION from npm (minifies the release JS glue)"
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools/terser" "terser@$TERSER_VERSION"
  fi
  if [[ ! -f "$ROOT/.tools/emojibase/node_modules/emojibase-data/package.json" ]] ||
     ! grep -q "\"version\": \"$EMOJIBASE_VERSION\"" "$ROOT/.tools/emojibase/node_modules/emojibase-data/package.json"; then
    say "installing emojibase-data $EMOJIBASE_VERSION from npm (the emoji picker's data)"
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools/emojibase" "emojibase-data@$EMOJIBASE_VERSION"
  fi
  if [[ "$(wasm-opt --version 2>/dev/null)" != *"version_${BINARYEN_VERSION%%.*}"* ]]; then
    say "installing wasm-opt from npm binaryen@$BINARYEN_VERSION"
    # Debian's binaryen (108) produces a wasm that crashes at start: never use it.
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools/binaryen" "binaryen@$BINARYEN_VERSION"
  fi
}

# The release build of the browser client, into dist/. Two unstable compiler flags make the
# wasm about a tenth smaller (docs/BENCHMARKS.md): the standard library is rebuilt so that a
# panic aborts at once instead of formatting a message nobody reads (-Zbuild-std,
# -Cpanic=immediate-abort), and Leptos erases component types (--cfg erase_components).
# RUSTC_BOOTSTRAP lets the pinned stable compiler accept them; dev builds and tests keep
# ordinary panics with messages. A panic in the release client shows as "unreachable".
build_frontend() {
  # Trunk runs cargo offline (Trunk.toml), so the crates it needs are fetched first: the
  # project's, and those of the standard library that -Zbuild-std compiles (its own lock file
  # in rust-src; a fresh machine has none of them cached).
  (cd "$ROOT" && cargo fetch --locked --target wasm32-unknown-unknown &&
    RUSTC_BOOTSTRAP=1 cargo fetch --locked \
      --manifest-path "$(rustc --print sysroot)/lib/rustlib/src/rust/library/Cargo.toml")
  (cd "$ROOT" &&
    RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none --cfg erase_components" \
    trunk build --release "$@")
}

# Installs Debian packages as root (directly, or through sudo).
apt_install() {
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || {
      echo "$* missing; install as root: apt-get install $*" >&2
      return 1
    }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

setup_browser_tools() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian's chromium and chromium-driver"
    apt_install chromium chromium-driver
  fi
  # A colour emoji font, as every desktop and phone has: without it emoji render as empty boxes
  # in the screenshots people look at (docs/screenshots) and in the emoji picker's tests.
  if [[ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]]; then
    say "installing Debian's fonts-noto-color-emoji"
    apt_install fonts-noto-color-emoji
  fi
  if [[ ! -d "$ROOT/e2e/node_modules/playwright-core" ]] ||
     ! cmp -s "$ROOT/e2e/package-lock.json" "$ROOT/e2e/node_modules/.installed-lock.json"; then
    say "installing the e2e suite's npm packages"
    (cd "$ROOT/e2e" && npm ci --silent --no-audit --no-fund &&
      cp package-lock.json node_modules/.installed-lock.json)
  fi
}

# The fuzz targets (scripts/fuzz.sh) link libFuzzer, which libfuzzer-sys compiles from its C++
# sources with the system's C++ compiler (GCC works; clang is not needed).
setup_fuzz_tools() {
  if ! command -v c++ >/dev/null; then
    say "installing Debian's g++ (libFuzzer is C++)"
    apt_install g++
  fi
}

# Several nodes (docs/DEPLOYMENT.md): the tests start their own nats-server on a free port, and
# the store tests need a PostgreSQL server (CHAT_TEST_POSTGRES_URL, default the local one).
# The load balancer of the fault test is Debian's HAProxy.
# Synapse, the Matrix homeserver the sweep runs beside the chat server: PyPI's matrix-synapse in
# a virtual environment of its own, every package's version pinned in
# bench/synapse/requirements.txt (reinstalled when that file changes).
setup_synapse() {
  local venv="$ROOT/target/synapse-venv"
  if [[ ! -x "$venv/bin/python" ]] ||
     ! cmp -s "$ROOT/bench/synapse/requirements.txt" "$venv/.installed-requirements.txt"; then
    say "installing Synapse from PyPI (bench/synapse/requirements.txt)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      -r "$ROOT/bench/synapse/requirements.txt"
    cp "$ROOT/bench/synapse/requirements.txt" "$venv/.installed-requirements.txt"
  fi
  export SYNAPSE_PYTHON="$venv/bin/python"
}

setup_cluster_tools() {
  if ! command -v nats-server >/dev/null && [[ ! -x /usr/sbin/nats-server ]]; then
    say "installing Debian's nats-server"
    apt_install nats-server
  fi
  if ! command -v haproxy >/dev/null && [[ ! -x /usr/sbin/haproxy ]]; then
    say "installing Debian's haproxy"
    apt_install haproxy
  fi
  export CHAT_TEST_POSTGRES_URL="${CHAT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if ! command -v psql >/dev/null || ! psql "$CHAT_TEST_POSTGRES_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    say "installing and starting Debian's PostgreSQL for the store and cluster tests"
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local version
    version="$(ls /etc/postgresql | sort -n | tail -1)"
    pg_ctlcluster "$version" main start 2>/dev/null || service postgresql start
    # Debian's server asks for a password over TCP: give the test role one.
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    export CHAT_TEST_POSTGRES_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
    psql "$CHAT_TEST_POSTGRES_URL" -qAtc 'SELECT 1' >/dev/null
  fi
}
