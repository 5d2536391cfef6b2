# Helpers for end-to-end tests that run the real edatool binary.
# Sourced by tests/e2e/*_test.sh; ctest sets $EDATOOL to the binary.
# Every wait is on a condition (a line in a log, a process exit) with a deadline.
set -euo pipefail

: "${EDATOOL:?set EDATOOL to the edatool binary}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edatool-$TEST_NAME.XXXXXX")
FAILURES=0
CHECKS=0
declare -a BACKGROUND_PIDS=()

cleanup() {
  local pid
  for pid in "${BACKGROUND_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

pass() { CHECKS=$((CHECKS + 1)); }

# check_eq ACTUAL EXPECTED DESCRIPTION
check_eq() {
  if [ "$1" == "$2" ]; then pass; else fail "$3: expected [$2], got [$1]"; fi
}

# check_contains HAYSTACK NEEDLE DESCRIPTION
check_contains() {
  if [[ "$1" == *"$2"* ]]; then pass; else fail "$3: [$1] does not contain [$2]"; fi
}

# Runs "$@", storing stdout, stderr and the exit status in OUT, ERR, RC.
run() {
  set +e
  "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}

# wait_for_line FILE PATTERN [SECONDS]: waits until FILE has a line matching PATTERN.
wait_for_line() {
  local file=$1 pattern=$2 deadline=$((SECONDS + ${3:-10}))
  until grep -qE "$pattern" "$file" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out waiting for /$pattern/ in $file:" >&2
      cat "$file" >&2 || true
      return 1
    fi
    sleep 0.02
  done
}

# wait_for_exit PID [SECONDS]: waits for a background process; sets WAIT_RC.
wait_for_exit() {
  local pid=$1 deadline=$((SECONDS + ${2:-10}))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      fail "process $pid still running after ${2:-10}s"
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.02
  done
  set +e
  wait "$pid"
  WAIT_RC=$?
  set -e
}

# start_broker [NAME] [ARGS...]: starts a broker on a free port; sets BROKER_URL
# and BROKER_PID (and exports EDATOOL_BROKER for the commands that follow).
start_broker() {
  local name=${1:-broker}
  shift || true
  "$EDATOOL" broker --bind 'tcp://127.0.0.1:*' "$@" 2>"$WORK/$name.log" &
  BROKER_PID=$!
  BACKGROUND_PIDS+=("$BROKER_PID")
  wait_for_line "$WORK/$name.log" 'listening on tcp://'
  BROKER_URL=$(grep -oE 'tcp://[0-9.]+:[0-9]+' "$WORK/$name.log" | head -1)
  export EDATOOL_BROKER=$BROKER_URL
}

# start_sub NAME ARGS...: runs `edatool -v sub ARGS` in the background, output in
# $WORK/NAME.out, and waits until it is subscribed; sets SUB_PID.
start_sub() {
  local name=$1
  shift
  "$EDATOOL" -v sub "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  SUB_PID=$!
  BACKGROUND_PIDS+=("$SUB_PID")
  wait_for_line "$WORK/$name.log" 'subscribed to'
}

# A port nothing listens on: bind one with a broker-less probe and release it.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Ends the test: prints the tally and exits non-zero on any failure.
finish() {
  echo "$TEST_NAME: $CHECKS passed, $FAILURES failed"
  [ "$FAILURES" -eq 0 ]
}
