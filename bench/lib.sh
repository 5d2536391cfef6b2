# Shared by the bench scripts: a temp work dir cleaned on exit, a private
# copy of the binary, arithmetic, CPU time and a broker on a free port.
# Sourced after the script sets ROOT and EDATOOL.

# bench_setup SCRIPT: checks $EDATOOL and bash 5 (SCRIPT names the caller in
# errors); sets WORK (removed on exit, with every background job and what it
# started killed), BIN (a copy of $EDATOOL, so that a
# rebuild during the run does not change it) and an environment of its own.
bench_setup() {
  [ -x "$EDATOOL" ] || { echo "$1: no edatool binary at $EDATOOL (set EDATOOL)" >&2; exit 1; }
  [ -n "${EPOCHREALTIME:-}" ] || { echo "$1: needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/edatool-${1%.sh}.XXXXXX")
  trap bench_cleanup EXIT
  export XDG_DATA_HOME=$WORK/xdg
  unset EDATOOL_BROKER EDATOOL_NAMESPACE
  BIN=$WORK/edatool
  cp "$EDATOOL" "$BIN"
  # The Kafka module sits beside the binary it came with (docs/KAFKA.md).
  cp "$(dirname "$EDATOOL")/edatool-kafka.so" "$WORK/" 2>/dev/null || true
  CLK_TCK=$(getconf CLK_TCK)
}

bench_cleanup() {
  local pid
  for pid in $(jobs -p); do
    pkill -9 -P "$pid" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

# calc EXPR [DECIMALS]: floating-point arithmetic.
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

# median V...: the median of numbers, given as arguments or as words of one
# (the mean of the middle two for an even count).
median() {
  # shellcheck disable=SC2048,SC2086 # words of one argument are numbers too
  printf '%s\n' $* | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# cpu_seconds PID...: summed user+sys CPU time of running processes (a
# process that is gone counts 0).
cpu_seconds() {
  local pid total=0
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$(awk -v tck="$CLK_TCK" -v t="$total" \
      '{ sub(/^.*\) /, ""); printf "%.2f", t + ($12 + $13) / tck }' "/proc/$pid/stat")
  done
  echo "$total"
}

# start_broker ARGS...: `edatool broker ARGS` on a free loopback port, logging
# to $WORK/broker.log; waits for its "listening on" line, then sets
# BROKER_PID and exports EDATOOL_BROKER.
start_broker() {
  "$BIN" broker "$@" --bind 'tcp://127.0.0.1:*' 2>"$WORK/broker.log" &
  BROKER_PID=$!
  local deadline=$((SECONDS + 10))
  until grep -q 'listening on tcp://' "$WORK/broker.log"; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/broker.log" >&2; exit 1; }
    sleep 0.02
  done
  EDATOOL_BROKER=$(grep -oE 'tcp://[0-9.]+:[0-9]+' "$WORK/broker.log" | head -1)
  export EDATOOL_BROKER
}
