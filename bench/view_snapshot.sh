#!/usr/bin/env bash
# bench/view_snapshot.sh: does writing a big view's snapshot stall the broker
# (docs/PERFORMANCE.md "Views")? Publish-to-receive latency at a steady rate
# while a view of KEYS keys is snapshotted, against the same with no snapshot.
#
# Usage: bench/view_snapshot.sh   (EDATOOL=path/to/edatool to pick the binary)
#
# One broker (-v, a temp --data dir, --fsync batch). `pub --json` stores KEYS
# (default 1,000,000) messages with distinct keys on topic snap.src, and view
# `big --from snap.src --key sys.key` folds them (not timed). Then, RUNS times
# (default 2) each:
#   quiet      `edatool bench --rate RATE --messages M` (defaults 10000 and
#              100000: 10 s) with nothing else going on: no view changes, so
#              no snapshot is written
#   snapshots  the same while `pub snap.src --rate 20` changes the view, so
#              the broker snapshots it every 5 s (two or three times a run)
# Reported: bench's p50/p99/p99.9/max publish-to-receive latency per run, and
# the broker's own debug lines on how long each snapshot took to serialize.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
KEYS=${KEYS:-1000000}
RUNS=${RUNS:-2}
RATE=${RATE:-10000}
M=${M:-100000}

source "$ROOT/bench/lib.sh"
bench_setup view_snapshot.sh
start_broker -v --data "$WORK/data"

awk -v n="$KEYS" 'BEGIN {
  for (i = 0; i < n; i++) printf "{\"key\":\"key-%07d\",\"payload\":\"value %d\"}\n", i, i
}' | "$BIN" pub snap.src --json
"$BIN" view create big --from snap.src --key sys.key
until "$BIN" view stats big --json | grep -q "\"keys\":$KEYS,.*\"lag\":0"; do sleep 0.1; done
# The snapshot of the whole fold comes within 5 s; after it the view is quiet.
touch "$WORK/folded"
until [ "$WORK/data/default/.views/big.view" -nt "$WORK/folded" ]; do sleep 0.1; done
echo "view big: $KEYS keys folded and snapshotted ($(du -h "$WORK/data/default/.views/big.view" | cut -f1))" >&2

# latency NAME: one bench run; prints "NAME p50 p99 p99.9 max" in ms.
latency() {
  "$BIN" bench --rate "$RATE" --messages "$M" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)["latency_ns"]
print(sys.argv[1], *("%.2f" % (r[k] / 1e6) for k in ("p50", "p99", "p99_9", "max")))' "$1"
}

{
  for run in $(seq "$RUNS"); do
    latency quiet
    yes x | "$BIN" pub snap.src -k key-0000001 --rate 20 --no-confirm 2>/dev/null &
    TRICKLE=$!
    latency snapshots
    kill "$TRICKLE"
    wait "$TRICKLE" 2>/dev/null || true
  done
} | tee "$WORK/rows"
echo
printf '%-10s %8s %8s %8s %8s   (ms, publish to receive, each run)\n' ROW p50 p99 p99.9 max
awk '{ printf "%-10s %8s %8s %8s %8s\n", $1, $2, $3, $4, $5 }' "$WORK/rows"
echo
grep -E 'view big: snapshot' "$WORK/broker.log" | sed 's/^edatool: //' | tail -n 8
