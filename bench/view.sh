#!/usr/bin/env bash
# bench/view.sh: how fast the broker folds a stored log into a materialized
# view, and how far behind a live view is (README "Views",
# docs/PERFORMANCE.md "Views"). bench/view_snapshot.sh measures snapshots.
#
# Usage: bench/view.sh      (EDATOOL=path/to/edatool to pick the binary)
#
# One broker with a temp --data dir (--fsync batch, -v for the lag row).
#
# Fold rows: `edatool pub --json` stores N (default 1,000,000) messages on
# topic fold.view, each with a key out of KEYS (default 100,000) and a small
# decimal payload (not timed; generated on the fly, no input files). Then,
# for each row, RUNS times (default 3): `view create` on the stored log, and
# the clock runs until `view stats --json` reports lag 0 (polled every POLL
# seconds, default 0.01); the view is dropped afterwards. Rows:
#   last        --key sys.key --reduce last          (the payload as text)
#   sum         --key sys.key --reduce sum           (the payload as a number)
#   sum-json    --key payload.k --value payload.n --reduce sum, on a second
#               topic whose payloads are {"k":...,"n":...} (a JSON parse each)
# Reported: fold msg/s (N / time to lag 0) and the broker's CPU seconds.
#
# Lag row: view `lag --from 'bench.*' --key 'sys.offset % 1000' --reduce
# count` exists before `edatool bench --rate LAG_RATE --messages LAG_N`
# (defaults 10000 and 200000: 20 s) publishes to a new topic bench.<id>. The
# lag of a live view is the fold delay: when the broker folded a message into
# the view minus the message's publish time (`ts`, stamped by the publisher
# when the message is due; ±1 ms). The broker logs it with -v every 5 s
# (p50, p99, max); reported per 5 s, next to bench's publish-to-receive
# latency of the same messages (what a subscriber sees).
#
# ROWS picks rows (default "last sum sum-json lag"). The issue's run:
#   N=10000000 RUNS=2 ROWS="last sum lag" bench/view.sh
# (10M messages take about 0.9 GB.) Small sizes for a quick check: N=100000 KEYS=10000 RUNS=1 LAG_N=20000 bench/view.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
N=${N:-1000000}
KEYS=${KEYS:-100000}
RUNS=${RUNS:-3}
POLL=${POLL:-0.01}
ROWS=${ROWS:-last sum sum-json lag}
LAG_RATE=${LAG_RATE:-10000}
LAG_N=${LAG_N:-200000}

source "$ROOT/bench/lib.sh"
bench_setup view.sh
wants() { [[ " $ROWS " == *" $1 "* ]]; }

# A stored message takes about 90 bytes with its index (measured); ask for
# 150 per message per topic, and leave 500 MB to everyone else.
need=$((N * 150 / 1048576 + 500))
wants sum-json && need=$((need + N * 150 / 1048576))
free=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
[ "$free" -gt "$need" ] || { echo "view.sh: needs about $need MB free in $WORK, has $free" >&2; exit 1; }
start_broker -v --data "$WORK/data"

start=$EPOCHREALTIME
if wants last || wants sum; then
  awk -v n="$N" -v keys="$KEYS" 'BEGIN {
    srand(1)
    for (i = 0; i < n; i++) printf "{\"key\":\"k%d\",\"payload\":\"%d.5\"}\n", int(rand() * keys), i % 100
  }' | "$BIN" pub fold.view --json
fi
if wants sum-json; then
  awk -v n="$N" -v keys="$KEYS" 'BEGIN {
    srand(2)
    for (i = 0; i < n; i++) printf "{\"k\":\"k%d\",\"n\":%d}\n", int(rand() * keys), i % 100
  }' | "$BIN" pub fold.json
fi
echo "stored $N messages per fold topic in $(calc "$EPOCHREALTIME - $start") s;" \
  "data dir $(du -sh "$WORK/data" | cut -f1)" >&2

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
  wants "$name" || return 0
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
  row last --from fold.view --key sys.key --reduce last
  row sum --from fold.view --key sys.key --reduce sum
  row sum-json --from fold.json --key payload.k --value payload.n --reduce sum
} | tee "$WORK/rows"
echo
printf '%-10s %14s %10s\n' ROW "MSG/S(median)" "CPU-S"
for name in last sum sum-json; do
  wants "$name" || continue
  printf '%-10s %14s %10s\n' "$name" "$(calc "$(median "$(grep "^$name " "$WORK/rows" | cut -d' ' -f2)")" 0)" \
    "$(median "$(grep "^$name " "$WORK/rows" | cut -d' ' -f3)")"
done

if wants lag; then
  "$BIN" view create lag --from 'bench.*' --key 'sys.offset % 1000' --reduce count
  "$BIN" bench --rate "$LAG_RATE" --messages "$LAG_N" --json >"$WORK/lag-bench.json"
  until [ "$(lag lag)" == 0 ]; do sleep "$POLL"; done
  # The broker reports the fold delay every 5 s: wait for the report of the last messages.
  reports() { grep -c 'view lag: fold delay' "$WORK/broker.log" || true; }
  want=$(($(reports) + 1))
  deadline=$((SECONDS + 10))
  while [ "$(reports)" -lt "$want" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  echo
  echo "live view at $LAG_RATE msg/s, fold delay (publish ts to folded) per 5 s:"
  grep 'view lag: fold delay' "$WORK/broker.log" | sed 's/^edatool: /  /'
  /usr/bin/python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))["latency_ns"]
print("bench, publish to receive: p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
      tuple(l[k] / 1e6 for k in ("p50", "p99", "max")))' "$WORK/lag-bench.json"
fi
