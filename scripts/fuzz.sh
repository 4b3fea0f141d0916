#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ (libFuzzer, stable Rust: no nightly, no cargo-fuzz) and runs
# each for a bounded time. docs/TESTING.md ("Fuzzing") describes the targets.
#
#   scripts/fuzz.sh --ci               every target for 20 s (what scripts/test.sh runs)
#   scripts/fuzz.sh SECONDS            every target for SECONDS (a long run: 3600)
#   scripts/fuzz.sh SECONDS TARGET...  only these targets
#   scripts/fuzz.sh --list             the targets' names
#
# Corpora: the committed seeds in fuzz/corpus/TARGET/ are read; what the fuzzer finds goes to
# fuzz/corpus-run/TARGET/ (git-ignored, kept between runs). A crashing input is written to
# fuzz/artifacts/TARGET/ and the script fails, printing how to replay it. libFuzzer's output is
# in fuzz/logs/TARGET.log. Targets run one per core (FUZZ_PARALLEL=N to change); extra libFuzzer
# flags go in FUZZ_ARGS (say FUZZ_ARGS=-max_len=65536).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
FUZZ="$ROOT/fuzz"

TARGETS=(client_message server_message signal_data transfer format)
case "${1:-}" in
  --ci) SECONDS_EACH=20; shift ;;
  --list) printf '%s\n' "${TARGETS[@]}"; exit 0 ;;
  -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') echo "usage: scripts/fuzz.sh --ci | SECONDS [TARGET...] (see --help)" >&2; exit 2 ;;
  *[!0-9]*) echo "not a number of seconds: $1 (see --help)" >&2; exit 2 ;;
  *) SECONDS_EACH="$1"; shift ;;
esac
if (($#)); then
  for t in "$@"; do
    [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "no fuzz target $t (--list)" >&2; exit 2; }
  done
  TARGETS=("$@")
fi

setup_fuzz_tools
HOST="$(rustc -vV | sed -n 's/^host: //p')"

# The instrumentation cargo-fuzz asks of rustc, all of it stable: SanitizerCoverage's edge
# counters and comparison tracing, which libFuzzer reads, and `--cfg fuzzing`. No sanitizer
# (shared has no unsafe code), but debug assertions and overflow checks on. `--target` keeps
# these flags off build scripts and proc macros, which do not link libFuzzer.
export RUSTFLAGS="-Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  -Cllvm-args=-sanitizer-coverage-stack-depth \
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
  --cfg fuzzing -Cdebug-assertions -Coverflow-checks -Ccodegen-units=1"
say "building the fuzz targets (${TARGETS[*]})"
build_started=$SECONDS
bins=()
for t in "${TARGETS[@]}"; do bins+=(--bin "$t"); done
cargo build --locked --release --manifest-path "$FUZZ/Cargo.toml" --target "$HOST" \
  --target-dir "$FUZZ/target" "${bins[@]}"
say "built in $((SECONDS - build_started)) s"

# Runs one target; prints its last status line, or where the crashing input is.
fuzz_one() {
  local t="$1"
  local corpus="$FUZZ/corpus-run/$t" artifacts="$FUZZ/artifacts/$t" log="$FUZZ/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$FUZZ/logs"
  # -timeout: one input taking 10 s is a bug (a frame must be cheap); -rss_limit_mb also bounds
  # any single allocation. New inputs go to the first corpus directory only.
  # shellcheck disable=SC2086
  if "$FUZZ/target/$HOST/release/$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      ${FUZZ_ARGS:-} "$corpus" "$FUZZ/corpus/$t" >"$log" 2>&1; then
    # The last status line: executions, coverage (cov: edges, ft: features), corpus size.
    echo "$t: $(grep -E '^#[0-9]+' "$log" | tail -n 1)" >&2
    return 0
  fi
  {
    echo "---- $t FAILED (all of it in $log):"
    grep -A 3 -E "panicked at|ERROR: libFuzzer" "$log" | head -n 30 || true
    echo "...."
    tail -n 12 "$log"
    local crash
    crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    if [[ -n "$crash" ]]; then
      echo "---- the input is $crash; replay it with:"
      echo "     $FUZZ/target/$HOST/release/$t $crash"
    fi
  } >&2
  return 1
}

# One fuzzer per core (FUZZ_PARALLEL to change it): on 2 cores the CI run takes 3 x 20 s.
parallel="${FUZZ_PARALLEL:-$(nproc)}"
say "fuzzing ${TARGETS[*]} for ${SECONDS_EACH} s each, $parallel at a time"
failed=()
for ((i = 0; i < ${#TARGETS[@]}; i += parallel)); do
  batch=("${TARGETS[@]:i:parallel}")
  pids=()
  for t in "${batch[@]}"; do
    fuzz_one "$t" &
    pids+=($!)
  done
  for j in "${!batch[@]}"; do
    wait "${pids[j]}" || failed+=("${batch[j]}")
  done
done

if ((${#failed[@]})); then
  say "fuzzing FAILED: ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/logs/)"
  exit 1
fi
say "fuzzing passed: ${TARGETS[*]}, ${SECONDS_EACH} s each"
