#!/usr/bin/env bash
# bench/compaction.sh: what compaction costs and what it saves (README
# "Topics", docs/STORAGE.md "Compacted topics", docs/PERFORMANCE.md "Compaction").
#
# Usage: bench/compaction.sh      (EDATOOL=path/to/edatool to pick the binary)
#
# One broker with a temp --data dir (--fsync batch, --segment-bytes SEGMENT,
# default 16MiB). `edatool pub --json` stores N (default 1,000,000) messages
# of about 100 bytes, each with a key out of KEYS (default 10,000), first on
# a topic a publish makes (retention), then on one made with `topic create
# --compact`; each publish is timed (generated on the fly by awk, no files).
# Then it waits until the compacted topic's segments have been compacted
# (the broker logs each pass), and reports both topics' bytes, every pass
# the broker logged (messages read and removed, bytes, time), and how many
# messages `sub --from earliest -e` reads from each.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
N=${N:-1000000}
KEYS=${KEYS:-10000}
SEGMENT=${SEGMENT:-16MiB}
source "$ROOT/bench/lib.sh"
bench_setup compaction.sh

start_broker --data "$WORK/data" --segment-bytes "$SEGMENT"
generate() {
  awk -v n="$N" -v keys="$KEYS" 'BEGIN {
    pad = sprintf("%080d", 0)
    for (i = 0; i < n; i++) printf "{\"key\":\"k%d\",\"payload\":\"%d-%s\"}\n", i % keys, i, pad }'
}
publish() {  # publish TOPIC: prints msg/s
  local start=$EPOCHREALTIME
  generate | "$BIN" pub "$1" --json
  calc "$N / ($EPOCHREALTIME - $start)" 0
}

echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $N messages, $KEYS keys, segments of $SEGMENT" >&2
plain_rate=$(publish plain.t)
"$BIN" topic create compact.t --compact
compact_rate=$(publish compact.t)
passes() { grep -c 'topic compact.t: compaction removed' "$WORK/broker.log" || true; }
deadline=$((SECONDS + 120))
until [ "$(passes)" -gt 0 ] && [ "$(ls "$WORK/data/default/compact.t"/*.log | wc -l)" -le 2 ]; do
  [ $SECONDS -lt $deadline ] || { echo "compaction.sh: no pass within 120 s" >&2; exit 1; }
  sleep 0.2
done
bytes() { "$BIN" topic stats "$1" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])'; }
count() { "$BIN" sub "$1" --from earliest -e | wc -l; }

echo "| topic | pub msg/s | bytes after | messages read from earliest |"
echo "|---|---|---|---|"
echo "| plain.t (retention) | $plain_rate | $(bytes plain.t) | $(count plain.t) |"
echo "| compact.t (--compact) | $compact_rate | $(bytes compact.t) | $(count compact.t) |"
echo
echo "passes:"
grep 'topic compact.t: compaction removed' "$WORK/broker.log" | sed 's/^edatool: /  /'
