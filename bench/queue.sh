#!/usr/bin/env bash
# bench/queue.sh: queue throughput with competing consumers (docs/QUEUES.md).
#
# Usage: bench/queue.sh      (EDATOOL=path/to/edatool to pick the binary;
#                             RECV_EDATOOL=another/edatool runs the consumers
#                             with another binary, to compare clients)
#
# One broker with a temp --data dir and its default --fsync batch (group
# commit), on a free loopback port. For each consumer count C in CONSUMERS
# (default "1 2 4"), RUNS times (default 3), on a fresh queue each time:
#   1. `edatool pub QUEUE <file` stores N (default 1,000,000) distinct
#      100-byte messages (not timed in the result; printed on stderr);
#   2. C processes `edatool recv QUEUE --wait 1s >/dev/null` start at once
#      (--ack auto: each message is completed once written, and a
#      completion counts only once the broker stored it);
#   3. the clock runs from their start until `queue stats --json` reports
#      completed == N (polled every POLL seconds, default 0.05), so the 1 s
#      idle wait at the end is not counted.
# Reported: completed msg/s (N / that time), the broker's CPU seconds and
# the consumers' CPU seconds (summed) over the same interval. After the
# consumers exit it checks completed == N, pending == locked == 0 and
# dead_lettered == 0.
# Small sizes for a quick check: N=20000 RUNS=1 bench/queue.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
N=${N:-1000000}
RUNS=${RUNS:-3}
CONSUMERS=${CONSUMERS:-"1 2 4"}
POLL=${POLL:-0.05}
SEGMENT=${SEGMENT:-64MiB}  # the broker's --segment-bytes (its default)
STALL=${STALL:-10}  # seconds without progress before a round fails

source "$ROOT/bench/lib.sh"
bench_setup queue.sh
RECV_BIN=$BIN
if [ -n "${RECV_EDATOOL:-}" ]; then
  RECV_BIN=$WORK/edatool-recv
  cp "$RECV_EDATOOL" "$RECV_BIN"
fi

# stat_field QUEUE FIELD: one number from `queue stats QUEUE --json`.
stat_field() {
  "$BIN" queue stats "$1" --json | grep -oE "\"$2\":[0-9]+" | cut -d: -f2
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo);" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $EDATOOL${RECV_EDATOOL:+ (consumers: $RECV_EDATOOL)}; HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "data dir: $WORK/data on $(df -T "$WORK" | awk 'NR == 2 { print $2 }')"
echo "N=$N messages of 100 B; consumers: $CONSUMERS; $RUNS runs" >&2

seq -f '%0100.0f' 1 "$N" >"$WORK/in.txt"  # N distinct lines of 100 digits

start_broker --data "$WORK/data" --segment-bytes "$SEGMENT"

# round C RUN: C consumers drain a fresh queue of N; sets WALL, BROKER_CPU, RECV_CPU.
round() {
  local c=$1 q="q$1-$2" i pids=() before start done_count=0 last=0 stalled check
  "$BIN" queue create "$q"
  start=$EPOCHREALTIME
  "$BIN" pub "$q" <"$WORK/in.txt" 2>/dev/null
  echo "  pub $q: $N messages in $(calc "$EPOCHREALTIME - $start") s" >&2
  before=$(cpu_seconds "$BROKER_PID")
  start=$EPOCHREALTIME
  for ((i = 0; i < c; i++)); do
    "$RECV_BIN" recv "$q" --wait 1s >/dev/null 2>"$WORK/recv.$i.err" &
    pids+=($!)
  done
  stalled=$EPOCHREALTIME
  while [ "${done_count:-0}" -lt "$N" ]; do
    sleep "$POLL"
    done_count=$(stat_field "$q" completed)
    if [ "${done_count:-0}" -gt "$last" ]; then
      last=$done_count stalled=$EPOCHREALTIME
    elif [ "$(calc "($EPOCHREALTIME - $stalled > $STALL)" 0)" = 1 ]; then
      echo "queue $q: no completion for ${STALL}s: $("$BIN" queue stats "$q" --json)" >&2
      exit 1
    fi
  done
  WALL=$(calc "$EPOCHREALTIME - $start" 3)
  BROKER_CPU=$(calc "$(cpu_seconds "$BROKER_PID") - $before")
  RECV_CPU=$(cpu_seconds "${pids[@]}")
  for ((i = 0; i < c; i++)); do
    wait "${pids[$i]}" || { echo "recv $i failed: $(cat "$WORK/recv.$i.err")" >&2; exit 1; }
  done
  check=$("$BIN" queue stats "$q" --json)
  for field in completed:$N pending:0 locked:0 dead_lettered:0; do
    grep -q "\"${field%%:*}\":${field#*:}[,}]" <<<"$check" ||
      { echo "queue $q after the run: $check (expected ${field%%:*} = ${field#*:})" >&2; exit 1; }
  done
  "$BIN" queue delete "$q"  # its topic too: later rounds do not pay for its files
}

declare -A WALLS BCPUS RCPUS
for ((run = 1; run <= RUNS; run++)); do
  for c in $CONSUMERS; do
    round "$c" "$run"
    echo "run $run, $c consumer(s): ${WALL}s; broker CPU ${BROKER_CPU}s, recv CPU ${RECV_CPU}s" >&2
    WALLS[$c]+="$WALL "
    BCPUS[$c]+="$BROKER_CPU "
    RCPUS[$c]+="$RECV_CPU "
  done
done

echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| consumers | $N × 100 B, wall s (runs) | median s | completed msg/s | broker CPU s | recv CPU s (all) |"
echo "|---|---|---|---|---|---|"
for c in $CONSUMERS; do
  m=$(median "${WALLS[$c]}")
  printf '| %s | %s| %s | %s | %s | %s |\n' "$c" "${WALLS[$c]}" "$m" "$(calc "$N / $m" 0)" \
    "$(median "${BCPUS[$c]}")" "$(median "${RCPUS[$c]}")"
done
