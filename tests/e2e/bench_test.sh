#!/usr/bin/env bash
# edatool bench: embedded (memory, stored) and against a running broker; every
# message counted, percentiles in order, the text histogram, bad flags. No
# timed assertions: only that the numbers are there and consistent.
source "$(dirname "$0")/lib.sh"
unset EDATOOL_BROKER

# check_bench_json WHAT SUBSCRIBERS STORAGE: checks $OUT, the JSON of a 20000-message run.
check_bench_json() {
  local problems
  problems=$(/usr/bin/python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
subs, storage = int(sys.argv[1]), sys.argv[2]
p = []
def want(ok, what):
    if not ok: p.append(what)
want(j["messages"] == 20000, "messages %s" % j["messages"])
want(j["published"] == 20000, "published %s" % j["published"])
want(j["received"] == 20000 * subs, "received %s, want %d" % (j["received"], 20000 * subs))
want(len(j["per_subscriber"]) == subs, "per_subscriber has %d entries" % len(j["per_subscriber"]))
want(all(s["received"] == 20000 and s["msg_per_s"] > 0 for s in j["per_subscriber"]),
     "per_subscriber %s" % j["per_subscriber"])
want(j["storage"] == storage, "storage %s" % j["storage"])
want(j["topic"].startswith("bench."), "topic %s" % j["topic"])
want(j["publish"]["msg_per_s"] > 0 and j["publish"]["mb_per_s"] > 0, "publish %s" % j["publish"])
want(j["receive"]["msg_per_s"] > 0, "receive %s" % j["receive"])
l = j["latency_ns"]
want(l["count"] == 20000 * subs, "latency count %s" % l["count"])
want(0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99_9"] <= l["max"], "percentiles %s" % l)
want(sum(b["count"] for b in j["histogram_ns"]) == l["count"], "histogram counts")
print("; ".join(p))' "$2" "$3" <<<"$OUT")
  check_eq "$problems" "" "$1: JSON fields"
}

# Embedded, in memory (the default) and stored.
run "$EDATOOL" bench --messages 20000 --json
check_eq "$RC" 0 "embedded memory bench exit status (stderr: $ERR)"
check_bench_json "embedded memory" 1 memory
mkdir "$WORK/tmp"
run env TMPDIR="$WORK/tmp" "$EDATOOL" bench --messages 20000 --stored --subscribers 2 --publishers 2 --json
check_eq "$RC" 0 "embedded stored bench exit status (stderr: $ERR)"
check_bench_json "embedded stored, 2 publishers, 2 subscribers" 2 stored
check_eq "$(ls -A "$WORK/tmp")" "" "the stored bench's temp data dir is removed"

# Paced, against a broker started separately (-b): its topic is deleted afterwards.
start_broker broker --memory
run "$EDATOOL" -b "$BROKER_URL" bench --messages 20000 --rate 50000 --json
check_eq "$RC" 0 "bench -b exit status (stderr: $ERR)"
check_bench_json "bench -b, --rate 50000" 1 external
check_eq "$("$EDATOOL" topic list 'bench.>')" "" "bench topic deleted from the running broker"
run env EDATOOL_BROKER="$BROKER_URL" "$EDATOOL" bench --messages 20000 --json
check_bench_json "bench with EDATOOL_BROKER" 1 external

# Text: the summary lines and a histogram of '#' bars.
run "$EDATOOL" bench --messages 20000 --size 1KiB
check_eq "$RC" 0 "text bench exit status (stderr: $ERR)"
check_contains "$OUT" "20000 messages of 1024 B, 1 publisher, 1 subscriber" "text header"
check_contains "$OUT" "every message confirmed" "publish line"
check_contains "$OUT" "subscriber 0  20000 msgs" "subscriber line"
check_contains "$OUT" "p99.9" "percentiles"
if printf '%s\n' "$OUT" | grep -qE '^ *[0-9.]+ [nµm]?s - .*% #+$'; then pass; else fail "histogram lines in [$OUT]"; fi
check_eq "$ERR" "" "nothing on stderr when it is not a terminal"

# Bad flags: exit 2 naming the flag, before any broker is started or reached.
run "$EDATOOL" bench --size 4
check_error 2 "--size" "--size 4"
check_contains "$ERR" "8-byte send time" "--size says why"
run "$EDATOOL" bench --messages 0
check_error 2 "--messages" "--messages 0"
run "$EDATOOL" bench --stored --memory
check_error 2 "--memory" "--stored with --memory"
run "$EDATOOL" bench --publishers 0
check_error 2 "--publishers" "--publishers 0"
run "$EDATOOL" bench --rate=-5
check_error 2 "--rate" "--rate=-5"
run "$EDATOOL" -b "$BROKER_URL" bench --stored
check_error 2 "--stored" "--stored with -b"

# An unreachable broker is a runtime failure.
run "$EDATOOL" -b "tcp://127.0.0.1:$(free_port)" bench --messages 10
check_error 1 "cannot reach" "unreachable broker"

finish
