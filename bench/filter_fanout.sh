#!/usr/bin/env bash
# bench/filter_fanout.sh: broker fan-out with filters evaluated in the broker.
#
# Usage: bench/filter_fanout.sh      (EDATOOL=path/to/edatool to pick the binary)
#
# One `edatool pub --json` stores N (default 1,000,000) 100-byte messages with
# headers g (0..9, an integer, round robin) and region ('eu') in a --memory
# broker. Then, RUNS times (default 3) in turn, SUBS (default 10) subscribers
# read the topic from the start at once with `sub --from earliest -e`:
#   unfiltered   no --filter: each gets all N
#   10% each     subscriber i: --filter "g = i AND region = 'eu'", N/10 each
#   match-all    --filter "g >= 0 AND region = 'eu'": all N, as unfiltered,
#                so the difference is what evaluating the filter costs
# For each round: wall time until all have exited, messages delivered per
# second, records the broker scanned per second (SUBS × N / wall) and the
# broker's CPU seconds. Each subscriber's count is checked.
# Small sizes for a quick check: N=20000 RUNS=1 bench/filter_fanout.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
N=${N:-1000000}
SUBS=${SUBS:-10}
RUNS=${RUNS:-3}
PY=/usr/bin/python3

source "$ROOT/bench/lib.sh"
bench_setup filter_fanout.sh
[ $((N % 10)) -eq 0 ] || { echo "filter_fanout.sh: N must be a multiple of 10" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
  "; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $EDATOOL; HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "N=$N messages of 100 B, $SUBS subscribers, $RUNS runs" >&2

"$PY" - "$N" >"$WORK/in.jsonl" <<'PY'
import sys
payload = "x" * 100
out = sys.stdout
for i in range(int(sys.argv[1])):
    out.write('{"headers":{"g":%d,"region":"eu"},"payload":"%s"}\n' % (i % 10, payload))
PY

start_broker --memory --retention-bytes 2GiB

start=$EPOCHREALTIME
"$BIN" pub --json t <"$WORK/in.jsonl"
echo "publish: $N messages in $(calc "$EPOCHREALTIME - $start") s" >&2

# round KIND: SUBS subscribers at once; sets WALL, DELIVERED_NOW and CPU.
round() {
  local kind=$1 i filter pids=() before after
  before=$(cpu_seconds "$BROKER_PID")
  start=$EPOCHREALTIME
  for ((i = 0; i < SUBS; i++)); do
    case $kind in
      unfiltered) filter=() ;;
      tenth) filter=(--filter "g = $((i % 10)) AND region = 'eu'") ;;
      all) filter=(--filter "g >= 0 AND region = 'eu'") ;;
    esac
    "$BIN" sub t --from earliest -e "${filter[@]}" --template '%o\n' | wc -l >"$WORK/count.$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  local got expected=$N
  WALL=$(calc "$EPOCHREALTIME - $start")
  after=$(cpu_seconds "$BROKER_PID")
  [ "$kind" = tenth ] && expected=$((N / 10))
  DELIVERED_NOW=0
  for ((i = 0; i < SUBS; i++)); do
    got=$(cat "$WORK/count.$i")
    [ "$got" -eq "$expected" ] || { echo "$kind: subscriber $i got $got, expected $expected" >&2; exit 1; }
    DELIVERED_NOW=$((DELIVERED_NOW + got))
  done
  CPU=$(calc "$after - $before")
}

declare -A WALLS CPUS DELIVERED
for ((run = 1; run <= RUNS; run++)); do
  for kind in unfiltered tenth all; do
    round "$kind"
    echo "run $run $kind: ${WALL}s, $DELIVERED_NOW delivered, broker CPU ${CPU}s" >&2
    WALLS[$kind]+="$WALL "
    CPUS[$kind]+="$CPU "
    DELIVERED[$kind]=$DELIVERED_NOW
  done
done

echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| $SUBS subscribers, $N × 100 B | wall s (runs) | median | delivered msg/s | scanned msg/s | broker CPU s (median) |"
echo "|---|---|---|---|---|---|"
for kind in unfiltered tenth all; do
  case $kind in
    unfiltered) label="no filter" ;;
    tenth) label="\`g = i AND region = 'eu'\` (10% each)" ;;
    all) label="\`g >= 0 AND region = 'eu'\` (100%)" ;;
  esac
  m=$(median "${WALLS[$kind]}")
  printf '| %s | %s| %s | %s | %s | %s |\n' "$label" "${WALLS[$kind]}" "$m" \
    "$(calc "${DELIVERED[$kind]} / $m" 0)" "$(calc "$SUBS * $N / $m" 0)" \
    "$(median "${CPUS[$kind]}")"
done
