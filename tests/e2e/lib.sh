# Helpers for end-to-end tests that run the real edatool binary.
# Sourced by tests/e2e/*_test.sh; ctest sets $EDATOOL to the binary.
# Every wait is on a condition (a line in a log, a process exit) with a deadline.
set -euo pipefail

: "${EDATOOL:?set EDATOOL to the edatool binary}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edatool-$TEST_NAME.XXXXXX")
# Brokers started without --data keep their log under $XDG_DATA_HOME: keep it in this test's dir.
export XDG_DATA_HOME=$WORK/xdg
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

# check_not_contains HAYSTACK NEEDLE DESCRIPTION
check_not_contains() {
  if [[ "$1" != *"$2"* ]]; then pass; else fail "$3: [$1] contains [$2]"; fi
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

# ---- helpers for errors_test.sh and faults_test.sh ----

# now_ms: milliseconds since the epoch, for measuring how long a command took.
now_ms() { date +%s%3N; }

# run_timed CMD...: like run, and sets ELAPSED_MS to how long CMD took.
run_timed() {
  local start
  start=$(now_ms)
  run "$@"
  ELAPSED_MS=$(($(now_ms) - start))
}

# check_error EXPECTED_RC NEEDLE DESCRIPTION: after `run`, checks the exit status,
# that stderr is diagnostics only (every line starts with "edatool: "), and that
# its first line names the problem (contains NEEDLE).
check_error() {
  local expected_rc=$1 needle=$2 what=$3 first
  check_eq "$RC" "$expected_rc" "$what: exit status (stderr: $ERR)"
  first=$(printf '%s\n' "$ERR" | sed -n 1p)
  if [[ "$first" == "edatool: "* && "$first" == *"$needle"* ]]; then
    pass
  else
    fail "$what: first stderr line should be 'edatool: ...$needle...', stderr was [$ERR]"
  fi
  if [ -n "$ERR" ] && ! printf '%s\n' "$ERR" | grep -qv '^edatool: '; then
    pass
  else
    fail "$what: every stderr line should start with 'edatool: ', stderr was [$ERR]"
  fi
}

# check_lt ACTUAL LIMIT DESCRIPTION: integer ACTUAL < LIMIT.
check_lt() {
  if [ "$1" -lt "$2" ]; then pass; else fail "$3: expected less than $2, got $1"; fi
}

# wait_until SECONDS CMD...: polls CMD until it succeeds; returns 1 after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out after waiting for: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

# line_count FILE: number of lines in FILE (0 when it does not exist).
line_count() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# start_broker_at NAME URL [ARGS...]: starts a broker on a given URL (e.g. a fixed
# port, to restart it there); sets BROKER_URL and BROKER_PID, exports EDATOOL_BROKER.
start_broker_at() {
  local name=$1 url=$2
  shift 2
  "$EDATOOL" broker --bind "$url" "$@" 2>"$WORK/$name.log" &
  BROKER_PID=$!
  BACKGROUND_PIDS+=("$BROKER_PID")
  wait_for_line "$WORK/$name.log" 'listening on '
  BROKER_URL=$url
  export EDATOOL_BROKER=$BROKER_URL
}

# ---- helpers for storage_test.sh and crash_test.sh ----

# stop_broker [PID] [WHAT]: SIGTERM, waits for the exit (sets WAIT_RC) and checks it is 0.
stop_broker() {
  local pid=${1:-$BROKER_PID}
  kill -TERM "$pid" 2>/dev/null || true
  wait_for_exit "$pid" 10
  check_eq "$WAIT_RC" 0 "${2:-broker} exit status after SIGTERM"
}

# last_segment TOPIC_DIR: the path of the topic's newest segment file (*.log).
last_segment() { find "$1" -maxdepth 1 -name '*.log' | sort | tail -1; }

# segment_count TOPIC_DIR: how many segment files (*.log) the topic has.
segment_count() { find "$1" -maxdepth 1 -name '*.log' | wc -l; }

# rfc3339_ms MS: milliseconds since the epoch as an RFC 3339 UTC time, e.g. 2026-05-01T12:00:00.250Z.
rfc3339_ms() { date -u -d "@${1:0:${#1}-3}.${1:${#1}-3}" +%Y-%m-%dT%H:%M:%S.%3NZ; }

# wait_past_ms MS: waits until the clock reads later than MS (a time boundary, not readiness).
wait_past_ms() {
  local deadline=$((SECONDS + 5))
  until [ "$(now_ms)" -gt "$1" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.005
  done
}

# stats_field TOPIC FIELD: one field of `topic stats --json` for exactly TOPIC
# at $EDATOOL_BROKER; empty when the broker does not list the topic.
stats_field() {
  "$EDATOOL" topic stats --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    if row.get("topic") == sys.argv[1]:
        print(row.get(sys.argv[2], ""))' "$1" "$2"
}
