#!/usr/bin/env bash
# bench/view.sh: how fast the broker folds a stored log into a materialized
# view (README "Views", docs/PERFORMANCE.md "Views").
#
# Usage: bench/view.sh      (EDATOOL=path/to/edatool to pick the binary)
#
# One broker with a temp --data dir (--fsync batch). `edatool pub --json`
# stores N (default 1,000,000) messages on topic bench.view, each with a key
# out of KEYS (default 100,000) and a small decimal payload (not timed). Then,
# for each row, RUNS times (default 3): `view create` on the stored log, and
# the clock runs until `view stats --json` reports lag 0 (polled every POLL
# seconds, default 0.01); the view is dropped afterwards. Rows:
#   last        --key sys.key --reduce last          (the payload as text)
#   sum         --key sys.key --reduce sum           (the payload as a number)
#   sum-json    --key payload.k --value payload.n --reduce sum, on a second
#               topic whose payloads are {"k":...,"n":...} (a JSON parse each)
# Reported: fold msg/s (N / time to lag 0) and the broker's CPU seconds.
# Small sizes for a quick check: N=100000 KEYS=10000 RUNS=1 bench/view.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
N=${N:-1000000}
KEYS=${KEYS:-100000}
RUNS=${RUNS:-3}
POLL=${POLL:-0.01}

source "$ROOT/bench/lib.sh"
bench_setup view.sh
start_broker --data "$WORK/data"

awk -v n="$N" -v keys="$KEYS" 'BEGIN {
  srand(1)
  for (i = 0; i < n; i++) printf "{\"key\":\"k%d\",\"payload\":\"%d.5\"}\n", int(rand() * keys), i % 100
}' >"$WORK/keyed.jsonl"
awk -v n="$N" -v keys="$KEYS" 'BEGIN {
  srand(2)
  for (i = 0; i < n; i++) printf "{\"k\":\"k%d\",\"n\":%d}\n", int(rand() * keys), i % 100
}' >"$WORK/json.txt"
start=$EPOCHREALTIME
"$BIN" pub bench.view --json <"$WORK/keyed.jsonl"
"$BIN" pub bench.json <"$WORK/json.txt"
echo "stored 2 x $N messages in $(calc "$EPOCHREALTIME - $start") s" >&2

lag() {
  "$BIN" view stats "$1" --json | sed -E 's/.*"lag":([0-9]+).*/\1/'
}
folded_through() {
  "$BIN" view stats "$1" --json | sed -E 's/.*"next_offsets":\{[^}]*:([0-9]+)\}.*/\1/'
}

# row NAME ARGS...: one line "NAME msg/s cpu_s" per run.
row() {
  local name=$1 run start cpu0 elapsed
  shift
  for run in $(seq "$RUNS"); do
    cpu0=$(cpu_seconds "$BROKER_PID")
    start=$EPOCHREALTIME
    "$BIN" view create "v-$name" "$@"
    until [ "$(folded_through "v-$name" 2>/dev/null || echo 0)" == "$N" ] &&
      [ "$(lag "v-$name")" == 0 ]; do
      sleep "$POLL"
    done
    elapsed=$(calc "$EPOCHREALTIME - $start" 3)
    echo "$name $(calc "$N / $elapsed" 0) $(calc "$(cpu_seconds "$BROKER_PID") - $cpu0")"
    "$BIN" view drop "v-$name"
  done
}

{
  row last --from bench.view --key sys.key --reduce last
  row sum --from bench.view --key sys.key --reduce sum
  row sum-json --from bench.json --key payload.k --value payload.n --reduce sum
} | tee "$WORK/rows"
echo
printf '%-10s %14s %10s\n' ROW "MSG/S(median)" "CPU-S"
for name in last sum sum-json; do
  printf '%-10s %14s %10s\n' "$name" "$(median "$(grep "^$name " "$WORK/rows" | cut -d' ' -f2)")" \
    "$(median "$(grep "^$name " "$WORK/rows" | cut -d' ' -f3)")"
done
