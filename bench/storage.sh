#!/usr/bin/env bash
# bench/storage.sh: throughput and restart time of the broker's durable log.
#
# Usage: bench/storage.sh            (EDATOOL=path/to/edatool to pick the binary)
#
# Measures, each RUNS times (default 3), reporting the median:
#   1. stored publish throughput: one `edatool pub` reading N_PUB 100-byte lines
#      from a file, timed until it exits (every message confirmed), for
#      --fsync batch, always, never, and --memory for reference;
#   2. end-to-end: the same with one live `edatool sub t -n N_PUB` running,
#      timed until the subscriber exits;
#   3. replay of a topic of N_REPLAY 100-byte messages: `edatool replay --data`
#      (offline, page cache warm and dropped) and `sub --from earliest -e`;
#   4. broker restart time with a topic of N_BIG messages of BIG_PAYLOAD bytes
#      (about 3 GB by default), after SIGTERM and after kill -9, page cache
#      warm and dropped: from exec until the "listening on" line; first right
#      after the bulk write, then again once no message is younger than the
#      broker's 2-minute duplicate-detection window (the script waits for it);
#   5. `seq 1000000 | edatool pub t` and one-shot `edatool pub t hello` (ONESHOT_RUNS).
# Everything lives in a temp dir (TMPDIR) that is removed at exit. Brokers bind
# free loopback ports; readiness is the broker's "listening on" line on stderr.
# Sizes can be overridden for a quick check, e.g.
#   N_PUB=10000 N_REPLAY=20000 N_BIG=20000 bench/storage.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
RUNS=${RUNS:-3}
N_PUB=${N_PUB:-1000000}
N_REPLAY=${N_REPLAY:-5000000}
N_BIG=${N_BIG:-3000000}
BIG_PAYLOAD=${BIG_PAYLOAD:-1000}
ONESHOT_RUNS=${ONESHOT_RUNS:-20}
PAYLOAD=100
MIN_FREE_GB=10
DEDUP_WINDOW_S=${DEDUP_WINDOW_S:-120}  # the broker's duplicate-detection window (core/broker_engine.h)

source "$ROOT/bench/lib.sh"
bench_setup storage.sh

# ---------------------------------------------------------------- helpers

die() {
  echo "storage.sh: $*" >&2
  exit 1
}

# seconds T0 T1: T1 - T0 for two EPOCHREALTIME values, with 6 decimals.
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# fmt_rate N SECONDS: N/SECONDS rounded, with thousands separators.
fmt_rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%\047d", n / s }'; }
# fmt_mb BYTES SECONDS: MB/s (10^6 bytes).
fmt_mb() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }
fmt_ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
fmt_s() { awk -v s="$1" 'BEGIN { printf "%.2f", s }'; }
# fmt_runs SECONDS...: "1.23 1.25 1.31"
fmt_runs() { printf '%s\n' "$@" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 }'; }

load() { cut -d' ' -f1-3 /proc/loadavg; }

# wait_for_line FILE PATTERN [SECONDS]: until FILE has a line matching PATTERN.
wait_for_line() {
  local file=$1 pattern=$2 deadline=$((SECONDS + ${3:-120}))
  until grep -qE "$pattern" "$file" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { cat "$file" >&2 || true; die "timed out waiting for /$pattern/ in $file"; }
    sleep 0.01
  done
}

# start_broker NAME ARGS...: starts `edatool broker` on a free loopback port and
# waits for its "listening on" line. Every stderr line is stamped with the
# wall clock when it arrives, so STARTUP_S (exec to "listening on") does not
# depend on how often we poll. Sets BROKER_PID, BROKER_URL, STARTUP_S.
start_broker() {
  local name=$1
  shift
  local log=$WORK/$name.log fifo=$WORK/$name.fifo t0 line
  rm -f "$fifo" "$log"
  mkfifo "$fifo"
  (while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done <"$fifo" >"$log") &
  t0=$EPOCHREALTIME
  "$BIN" broker --bind 'tcp://127.0.0.1:*' "$@" 2>"$fifo" &
  BROKER_PID=$!
  wait_for_line "$log" 'listening on tcp://'
  line=$(grep -m1 'listening on tcp://' "$log")
  BROKER_URL=$(grep -oE 'tcp://[0-9.]+:[0-9]+' <<<"$line")
  STARTUP_S=$(seconds "$t0" "${line%% *}")
}

# stop_broker [SIGNAL]: stops the broker (SIGTERM by default) and waits for it.
stop_broker() {
  local sig=${1:-TERM} rc=0
  kill -"$sig" "$BROKER_PID"
  { wait "$BROKER_PID"; } 2>/dev/null || rc=$?  # no "Killed" job notice
  if [ "$sig" = TERM ] && [ "$rc" -ne 0 ]; then die "broker exited $rc after SIGTERM"; fi
  wait  # the stderr stamper ends with the broker
}

# drop_cache DIR: writes back and evicts DIR's files from the page cache
# (per file, with fadvise through dd; nothing else on the machine is touched).
drop_cache() {
  local f
  while IFS= read -r -d '' f; do
    sync "$f"
    dd if="$f" iflag=nocache count=0 status=none
  done < <(find "$1" -type f -print0)
}

# timed VAR_SECONDS VAR_CPU CMD...: runs CMD, stores its wall time and its
# user+sys CPU time; fails the bench if CMD fails.
timed() {
  local -n _wall=$1 _cpu=$2
  shift 2
  local t0 t1 rc=0
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%U %S' -o "$WORK/time" "$@" || rc=$?
  t1=$EPOCHREALTIME
  [ "$rc" -eq 0 ] || die "exit $rc from: $*"
  _wall=$(seconds "$t0" "$t1")
  _cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/time")
}

ROWS=()
# row CELLS...: one line of the results table.
row() {
  local IFS='|'
  ROWS+=("|$*|")
  printf '  %s\n' "$*" | tr '|' '\t' >&2
}

# ---------------------------------------------------------------- machine

git_commit() {
  local head ref
  head=$(cat "$ROOT/.git/HEAD" 2>/dev/null) || { echo unknown; return; }
  if [[ $head == ref:* ]]; then
    ref=${head#ref: }
    cat "$ROOT/.git/$ref" 2>/dev/null ||
      awk -v r="$ref" '$2 == r { print $1 }' "$ROOT/.git/packed-refs" 2>/dev/null || echo unknown
  else
    echo "$head"
  fi
}

FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
FREE_KB=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
echo "# edatool storage benchmark"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- commit: $(git_commit) (binary $EDATOOL, built $(date -u -r "$EDATOOL" +%Y-%m-%dT%H:%M:%SZ))"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
echo "- kernel: $(uname -sr)"
echo "- temp dir: $WORK on $FS, $((FREE_KB / 1048576)) GiB free"
echo "- load average at start: $(load)"
echo "- runs per measurement: $RUNS (median shown)"
echo

# Scale the multi-GB topic down when the disk is short.
NOTE=""
if [ "$FREE_KB" -lt $((MIN_FREE_GB * 1048576)) ]; then
  # keep the topic (plus record overhead) under a third of what is free
  N_BIG=$((FREE_KB * 1024 / 3 / (BIG_PAYLOAD + 80)))
  NOTE="only $((FREE_KB / 1048576)) GiB free (< $MIN_FREE_GB GiB): restart topic scaled down to $N_BIG messages"
  echo "- NOTE: $NOTE"
  echo
fi

# ---------------------------------------------------------------- 1 + 2: publish

PAYLOADS=$WORK/payloads.txt
seq -f "%0${PAYLOAD}.0f" 1 "$N_PUB" >"$PAYLOADS"  # 100 digits and a newline per message
PUB_BYTES=$((N_PUB * PAYLOAD))

echo "publishing $N_PUB x $PAYLOAD B (load $(load))" >&2
declare -A MODE_ARGS=([batch]="--fsync batch" [always]="--fsync always" [never]="--fsync never" [memory]="--memory")
for e2e in 0 1; do
  for mode in batch always never memory; do
    walls=() pub_cpus=() broker_cpus=() sub_cpus=()
    for r in $(seq "$RUNS"); do
      data=$WORK/pub-$mode
      rm -rf "$data"
      if [ "$mode" = memory ]; then
        start_broker "pub-$mode" --memory
      else
        # shellcheck disable=SC2086
        start_broker "pub-$mode" --data "$data" ${MODE_ARGS[$mode]}
      fi
      b0=$(cpu_seconds "$BROKER_PID")
      if [ "$e2e" -eq 0 ]; then
        timed wall cpu "$BIN" -b "$BROKER_URL" pub t <"$PAYLOADS"
      else
        /usr/bin/time -f '%U %S' -o "$WORK/sub.time" \
          "$BIN" -v -b "$BROKER_URL" sub t -n "$N_PUB" >/dev/null 2>"$WORK/sub.log" &
        sub_pid=$!
        wait_for_line "$WORK/sub.log" 'subscribed to'
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%U %S' -o "$WORK/time" "$BIN" -b "$BROKER_URL" pub t <"$PAYLOADS" &
        pub_pid=$!
        wait "$sub_pid" || die "sub exited $? (stderr: $(cat "$WORK/sub.log"))"
        t1=$EPOCHREALTIME
        wait "$pub_pid" || die "pub exited $?"
        wall=$(seconds "$t0" "$t1")
        cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/time")
        sub_cpus+=("$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/sub.time")")
      fi
      broker_cpus+=("$(awk -v a="$b0" -v b="$(cpu_seconds "$BROKER_PID")" 'BEGIN { printf "%.2f", b - a }')")
      stop_broker
      rm -rf "$data"
      walls+=("$wall")
      pub_cpus+=("$cpu")
      echo "    $mode e2e=$e2e run $r: $(fmt_s "$wall") s" >&2
    done
    w=$(median "${walls[@]}")
    if [ "$e2e" -eq 0 ]; then what="pub, $mode"; else what="pub + live sub, $mode"; fi
    cpu_note="pub $(median "${pub_cpus[@]}") s, broker $(median "${broker_cpus[@]}") s"
    [ "$e2e" -eq 0 ] || cpu_note="$cpu_note, sub $(median "${sub_cpus[@]}") s"
    row "$what" "$N_PUB x ${PAYLOAD} B" "$(fmt_runs "${walls[@]}")" \
      "$(fmt_rate "$N_PUB" "$w")" "$(fmt_mb "$PUB_BYTES" "$w")" "$cpu_note"
  done
done

# ---------------------------------------------------------------- 3: replay

echo "replay: storing $N_REPLAY x $PAYLOAD B (load $(load))" >&2
data=$WORK/replay
start_broker replay --data "$data"
timed wall cpu sh -c "seq -f '%0${PAYLOAD}.0f' 1 $N_REPLAY | '$BIN' -b '$BROKER_URL' pub t"
stored=$("$BIN" -b "$BROKER_URL" topic stats t | awk 'NR == 2 { print $2 }')
[ "$stored" = "$N_REPLAY" ] || die "topic t holds $stored messages, expected $N_REPLAY"
stop_broker
REPLAY_BYTES=$((N_REPLAY * PAYLOAD))
log_mb=$(du -sm "$data" | cut -f1)

replay_rows() {  # replay_rows WHAT COLD CMD...
  local what=$1 cold=$2 walls=() cpus=() r w
  shift 2
  for r in $(seq "$RUNS"); do
    [ "$cold" -eq 0 ] || drop_cache "$data"
    timed wall cpu "$@"
    walls+=("$wall")
    cpus+=("$cpu")
  done
  w=$(median "${walls[@]}")
  row "$what" "$N_REPLAY x ${PAYLOAD} B, ${log_mb} MB log" \
    "$(fmt_runs "${walls[@]}")" \
    "$(fmt_rate "$N_REPLAY" "$w")" "$(fmt_mb "$REPLAY_BYTES" "$w")" "client $(median "${cpus[@]}") s"
}
replay_rows "replay --data (offline), page cache warm" 0 sh -c "'$BIN' replay t --data '$data' >/dev/null"
replay_rows "replay --data (offline), page cache dropped" 1 sh -c "'$BIN' replay t --data '$data' >/dev/null"
start_broker replay --data "$data"
b0=$(cpu_seconds "$BROKER_PID")
replay_rows "sub --from earliest -e (broker), warm" 0 sh -c "'$BIN' -b '$BROKER_URL' sub t --from earliest -e >/dev/null"
echo "    broker CPU for the $RUNS sub runs: $(awk -v a="$b0" -v b="$(cpu_seconds "$BROKER_PID")" 'BEGIN { printf "%.2f", b - a }') s" >&2
ROWS[-1]="${ROWS[-1]%|}, broker $(awk -v a="$b0" -v b="$(cpu_seconds "$BROKER_PID")" -v n="$RUNS" 'BEGIN { printf "%.2f", (b - a) / n }') s|"
stop_broker
rm -rf "$data"

# ---------------------------------------------------------------- 4: restart

echo "restart: storing $N_BIG x $BIG_PAYLOAD B (load $(load))" >&2
data=$WORK/big
start_broker big --data "$data"
timed wall cpu sh -c "seq -f '%0${BIG_PAYLOAD}.0f' 1 $N_BIG | '$BIN' -b '$BROKER_URL' pub big"
big_fill_s=$wall
stop_broker
big_bytes=$(du -sb "$data" | cut -f1)
segments=$(find "$data" -name '*.log' | wc -l)
last_seg_mb=$(find "$data" -name '*.log' | sort | tail -1 | xargs du -m | cut -f1)
big_desc="$(awk -v b="$big_bytes" 'BEGIN { printf "%.2f GB", b / 1e9 }'), $segments segments"
echo "    stored in $(fmt_s "$big_fill_s") s: $(fmt_rate "$N_BIG" "$big_fill_s") msg/s, $(fmt_mb "$((N_BIG * BIG_PAYLOAD))" "$big_fill_s") MB/s" >&2

restart_rows() {  # restart_rows WHAT KILL COLD
  local what=$1 kill9=$2 cold=$3 starts=() cpus=() r w
  for r in $(seq "$RUNS"); do
    if [ "$kill9" -eq 1 ]; then
      # a broker that appended to the last segment and died without writing its index
      start_broker big --data "$data"
      seq -f "%0${BIG_PAYLOAD}.0f" 1 1000 | "$BIN" -b "$BROKER_URL" pub big
      LAST_WRITE=$EPOCHREALTIME
      stop_broker KILL
    fi
    [ "$cold" -eq 0 ] || drop_cache "$data"
    start_broker big --data "$data"
    starts+=("$STARTUP_S")
    cpus+=("$(cpu_seconds "$BROKER_PID")")
    stop_broker
  done
  w=$(median "${starts[@]}")
  row "$what" "$big_desc" "$(printf '%s\n' "${starts[@]}" | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 * 1000 }')" \
    "$(fmt_ms "$w") ms" "" "broker $(median "${cpus[@]}") s until ready; last segment $last_seg_mb MB"
}
LAST_WRITE=$EPOCHREALTIME
restart_rows "restart after SIGTERM, page cache warm" 0 0
restart_rows "restart after SIGTERM, page cache dropped" 0 1
restart_rows "restart after kill -9, page cache warm" 1 0
restart_rows "restart after kill -9, page cache dropped" 1 1
# On start the broker reloads the ids of the records stored in the last
# DEDUP_WINDOW_S (at most 200,000; core/broker_engine.h), so a restart right
# after a bulk write does more work than one after a quiet spell. Wait until
# every message is older than that window and measure again.
idle_until=$(awk -v t="$LAST_WRITE" -v w="$DEDUP_WINDOW_S" 'BEGIN { printf "%d", t + w + 5 }')
echo "    waiting $((idle_until - ${EPOCHREALTIME%.*})) s until the last write is older than the ${DEDUP_WINDOW_S} s dedup window" >&2
while [ "${EPOCHREALTIME%.*}" -lt "$idle_until" ]; do sleep 1; done
restart_rows "restart after SIGTERM, no write for ${DEDUP_WINDOW_S} s, warm" 0 0
restart_rows "restart after SIGTERM, no write for ${DEDUP_WINDOW_S} s, dropped" 0 1
restart_rows "restart after kill -9 (1000 new msgs, older ones > ${DEDUP_WINDOW_S} s), warm" 1 0
restart_rows "restart after kill -9 (1000 new msgs, older ones > ${DEDUP_WINDOW_S} s), dropped" 1 1
rm -rf "$data"

# ---------------------------------------------------------------- 5: CLI

echo "CLI: seq | pub and one-shot pub (load $(load))" >&2
data=$WORK/cli
start_broker cli --data "$data"
walls=() cpus=()
for r in $(seq "$RUNS"); do
  timed wall cpu sh -c "seq 1000000 | '$BIN' -b '$BROKER_URL' pub seq$r"
  walls+=("$wall")
  cpus+=("$cpu")
done
w=$(median "${walls[@]}")
row "seq 1000000 \\| pub t (fsync batch)" "1000000 x 1-7 B" "$(fmt_runs "${walls[@]}")" \
  "$(fmt_rate 1000000 "$w")" "" "seq+pub $(median "${cpus[@]}") s; median $(fmt_s "$w") s"
walls=() cpus=()
for r in $(seq "$ONESHOT_RUNS"); do
  # timed directly: /usr/bin/time would add its own fork and exec to a few ms
  t0=$EPOCHREALTIME
  "$BIN" -b "$BROKER_URL" pub t hello
  t1=$EPOCHREALTIME
  walls+=("$(seconds "$t0" "$t1")")
done
w=$(median "${walls[@]}")
row "pub t hello (one-shot, fsync batch)" "$ONESHOT_RUNS runs" \
  "min $(fmt_ms "$(printf '%s\n' "${walls[@]}" | sort -g | head -1)") max $(fmt_ms "$(printf '%s\n' "${walls[@]}" | sort -g | tail -1)") ms" \
  "$(fmt_ms "$w") ms" "" ""
stop_broker

# ---------------------------------------------------------------- table

echo "| measurement | data | runs (s, or ms for restart) | median msg/s (or time) | MB/s payload | CPU, median per run |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "- load average at end: $(load)"
[ -z "$NOTE" ] || echo "- NOTE: $NOTE"
