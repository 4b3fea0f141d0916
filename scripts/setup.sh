#!/usr/bin/env bash
# Installs what building and testing need on a fresh machine, and nothing twice.
# Sourced by scripts/run.sh and scripts/test.sh; versions are explained in docs/TOOLCHAIN.md.
#
#   setup_build_tools    wasm32 target, Trunk, wasm-bindgen-cli (= Cargo.lock), wasm-opt
#   setup_browser_tools  Debian Chromium + chromedriver, the e2e suite's npm packages

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION="0.21.14"
BINARYEN_VERSION="132.0.0"
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
  if [[ "$(wasm-opt --version 2>/dev/null)" != *"version_${BINARYEN_VERSION%%.*}"* ]]; then
    say "installing wasm-opt from npm binaryen@$BINARYEN_VERSION"
    # Debian's binaryen (108) produces a wasm that crashes at start: never use it.
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools/binaryen" "binaryen@$BINARYEN_VERSION"
  fi
}

setup_browser_tools() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian's chromium and chromium-driver"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
      command -v sudo >/dev/null || {
        echo "chromium and chromium-driver are missing; install them as root (apt-get install chromium chromium-driver)" >&2
        return 1
      }
      sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  if [[ ! -d "$ROOT/e2e/node_modules/playwright-core" ]] ||
     ! cmp -s "$ROOT/e2e/package-lock.json" "$ROOT/e2e/node_modules/.installed-lock.json"; then
    say "installing the e2e suite's npm packages"
    (cd "$ROOT/e2e" && npm ci --silent --no-audit --no-fund &&
      cp package-lock.json node_modules/.installed-lock.json)
  fi
}
