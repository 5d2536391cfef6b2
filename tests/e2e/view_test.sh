#!/usr/bin/env bash
# Materialized views (README "Views", docs/PROTOCOL.md §12b): a broker folds
# published events into tables; view get/list/stats read them; pub
# --print-offsets and view get --after read your own writes; after kill -9
# mid-stream and a restart the broker resumes from its snapshot and the table
# equals a rebuild and an offline `view build`.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
URL="tcp://127.0.0.1:$(free_port)"
start_broker_at broker "$URL" --data "$DATA"

# events FILE FIRST COUNT SEED: `pub --json` envelopes keyed by one of 50
# accounts. Most carry a JSON payload {"account","amount","seq","name"?}
# (amounts integers; some names null); about 1 in 12 is a tombstone (an
# empty payload and header tombstone:=true), and as many have an empty
# payload alone or the header beside a payload — values, not tombstones.
events() {
  /usr/bin/python3 - "$@" <<'PY'
import json, random, sys
path, first, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
with open(path, "w") as f:
    for i in range(first, first + count):
        account = f"acct-{rng.randrange(50)}"
        kind = rng.randrange(24)
        if kind < 2:
            env = {"key": account, "headers": {"tombstone": True}, "payload": ""}
        elif kind == 2:
            env = {"key": account, "payload": ""}
        else:
            e = {"account": account, "amount": rng.randrange(-500, 1000), "seq": i}
            r = rng.randrange(4)
            if r == 0:
                e["name"] = f"n{rng.randrange(9)}"
            elif r == 1:
                e["name"] = None
            env = {"key": account, "payload": json.dumps(e)}
            if kind == 3:
                env["headers"] = {"tombstone": True}
        f.write(json.dumps(env) + "\n")
PY
}

# expected FILE...: the sum, last and merge tables of the envelopes in FILEs
# (`pub --json` input or `--format json` output), as "reducer key value"
# lines (values as JSON), computed here without edatool. A tombstone deletes
# the key from every table; an empty payload is "" for last and nothing for
# sum (payload.amount is NULL) and merge (no object).
expected() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
sums, last, merged = {}, {}, {}
for path in sys.argv[1:]:
    for line in open(path):
        env = json.loads(line)
        k, p = env["key"], env["payload"]
        if p == "" and env.get("headers", {}).get("tombstone") is True:
            for table in (sums, last, merged):
                table.pop(k, None)
            continue
        if p == "":
            last[k] = ""
            continue
        e = json.loads(p)
        sums[k] = sums.get(k, 0) + e["amount"]
        last[k] = e
        m = merged.setdefault(k, {})
        for f, v in e.items():
            if v is None:
                m.pop(f, None)
            else:
                m[f] = v
for name, table in (("sum", sums), ("last", last), ("merge", merged)):
    for k, v in table.items():
        print(name, k, json.dumps(v, separators=(",", ":"), sort_keys=True))
PY
}

# actual: the same lines from the running broker's views.
actual() {
  local r
  for r in sum last merge; do
    "$EDATOOL" view list "$r" --format json | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    print(sys.argv[1], row["key"], json.dumps(row["value"], separators=(",", ":"), sort_keys=True))' "$r"
  done | sort -k2,2 -k1,1r
}

# stats_of VIEW FIELD: one field of `view stats VIEW --json`.
stats_of() {
  "$EDATOOL" view stats "$1" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
row = json.loads(sys.stdin.readline())
v = row[sys.argv[1]]
print(v if not isinstance(v, dict) else json.dumps(v, sort_keys=True))' "$2"
}
caught_up() { [ "$(stats_of "$1" lag)" == 0 ] && [ "$(stats_of "$1" next_offsets)" == "{\"pay.eu\": $2}" ]; }

# --- definitions and usage errors ---
run "$EDATOOL" view create sum --from pay.eu --key payload.account --value 'payload.amount +'
check_eq "$RC" 2 "bad --value: exit status"
check_contains "$ERR" "edatool: --value: unexpected end of the expression" "bad --value: message"
check_contains "$ERR" "$(printf '  payload.amount +\n                  ^')" "bad --value: caret"
run "$EDATOOL" view create sum --from pay.eu --key payload.account --filter 'amount >' --reduce sum
check_eq "$RC" 2 "bad --filter: exit status"
check_contains "$ERR" "edatool: filter: unexpected end of the filter" "bad --filter: message"
run "$EDATOOL" view create sum --from pay.eu --key payload.account --reduce avg
check_eq "$RC" 2 "unknown reducer"
for r in sum last merge; do
  value=()
  [ "$r" == sum ] && value=(--value payload.amount)
  run "$EDATOOL" view create "$r" --from pay.eu --key sys.key "${value[@]}" --reduce "$r"
  check_eq "$RC" 0 "view create $r ($ERR)"
done
run "$EDATOOL" view create sum --from pay.eu --key payload.account --reduce max
check_error 1 "exists with another definition" "same name, other definition"
run "$EDATOOL" view get nosuch x
check_error 1 "no view named 'nosuch'" "get from a missing view"

# --- folding, get, list, stats ---
events "$WORK/a.jsonl" 0 3000 1
"$EDATOOL" pub pay.eu --json <"$WORK/a.jsonl"
wait_until 10 caught_up sum 3000 || fail "sum did not catch up to 3000"
wait_until 10 caught_up merge 3000 || fail "merge did not catch up to 3000"
wait_until 10 caught_up last 3000 || fail "last did not catch up to 3000"
expected "$WORK/a.jsonl" | sort -k2,2 -k1,1r >"$WORK/expected"
actual >"$WORK/actual"
check_eq "$(cat "$WORK/actual")" "$(cat "$WORK/expected")" "tables after 3000 events"
check_lt "$(wc -l <"$WORK/actual")" 150 "tombstones deleted keys that stayed deleted"
want=$(grep '^sum acct-7 ' "$WORK/expected" | cut -d' ' -f3)
run "$EDATOOL" view get sum acct-7
check_eq "$OUT" "$want" "view get prints the value alone"
run "$EDATOOL" view get merge acct-7
check_eq "${OUT:0:1}" "{" "view get prints JSON text for an object"
run "$EDATOOL" view get sum acct-nobody
check_error 1 "has no key 'acct-nobody'" "absent key"
run "$EDATOOL" view list sum --prefix acct-1
check_eq "$(printf '%s\n' "$OUT" | cut -f1 | tr '\n' ' ')" \
  "$(grep -oE '^sum acct-1[0-9]? ' "$WORK/expected" | cut -d' ' -f2 | LC_ALL=C sort | tr '\n' ' ')" \
  "list --prefix, in key order"
check_eq "$(stats_of sum keys)" "$(grep -c '^sum ' "$WORK/expected")" "stats keys"

# --- read your own writes ---
run "$EDATOOL" pub pay.eu -k acct-new --print-offsets '{"account":"acct-new","amount":42}'
check_eq "$OUT" "pay.eu:3000" "pub --print-offsets"
run "$EDATOOL" view get sum acct-new --after "$OUT" --timeout 5s
check_eq "$RC:$OUT" "0:42" "get --after the offset just published"
run_timed "$EDATOOL" view get sum acct-new --after pay.eu:999999 --timeout 300ms
check_error 3 "has not folded pay.eu:999999" "get --after an offset that never comes"
check_lt "$ELAPSED_MS" 3000 "get --after times out on time"
run "$EDATOOL" view get sum acct-new --after pay.us:0
check_error 2 "reads pay.eu, not topic pay.us" "get --after a topic the view does not read"

# --- tombstones ---
run "$EDATOOL" pub pay.eu -k acct-new --print-offsets ''
run "$EDATOOL" view get last acct-new --after "$OUT" --timeout 5s
check_eq "$RC:$OUT" "0:" "an empty payload alone is a value: the empty text"
run "$EDATOOL" view get sum acct-new
check_eq "$RC:$OUT" "0:42" "an empty payload alone leaves sum as it was"
run "$EDATOOL" pub pay.eu -k acct-new -H tombstone:=true --print-offsets ''
run "$EDATOOL" view get sum acct-new --after "$OUT" --timeout 5s
check_error 1 "has no key 'acct-new'" "a tombstone deletes the key from sum"
run "$EDATOOL" view get merge acct-new
check_error 1 "has no key 'acct-new'" "a tombstone deletes the key from merge"
run "$EDATOOL" view get last acct-new
check_error 1 "has no key 'acct-new'" "a tombstone deletes the key from last"

# --- kill -9 mid-stream, restart, resume from the snapshot ---
events "$WORK/b.jsonl" 3002 40000 2
"$EDATOOL" pub pay.eu --json --rate 4000 <"$WORK/b.jsonl" 2>"$WORK/pub-b.err" &
PUB_PID=$!
BACKGROUND_PIDS+=("$PUB_PID")
# Snapshots are written at most every 5 s: wait for one taken after part of the stream.
folded_some() { [ "$(stats_of sum folded)" -gt 5000 ]; }
wait_until 20 folded_some || fail "the stream is not being folded"
touch "$WORK/marker"
snapshot_since_marker() { [ "$DATA/default/.views/sum.view" -nt "$WORK/marker" ]; }
wait_until 20 snapshot_since_marker || fail "no snapshot written while folding"
kill -9 "$BROKER_PID"
wait_for_exit "$BROKER_PID" 5
kill -9 "$PUB_PID" 2>/dev/null || true
wait_for_exit "$PUB_PID" 5
start_broker_at broker2 "$URL" --data "$DATA"
resumed_at=$(grep -oE 'view sum: [0-9]+ keys from the snapshot; folding on from pay.eu:[0-9]+' \
  "$WORK/broker2.log" | grep -oE '[0-9]+$' || true)
check_lt 5000 "${resumed_at:-0}" "the restarted broker resumes from a snapshot taken mid-stream"
stored=$("$EDATOOL" topic stats --json | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    if row["topic"] == "pay.eu":
        print(row["next_offset"])')
wait_until 20 caught_up sum "$stored" || fail "sum did not catch up after the restart"
wait_until 20 caught_up last "$stored" || fail "last did not catch up after the restart"
wait_until 20 caught_up merge "$stored" || fail "merge did not catch up after the restart"
actual >"$WORK/resumed"
# The expected tables: what was stored (the killed pub stored a prefix of b).
"$EDATOOL" replay pay.eu --data "$DATA" --format json >"$WORK/stored.jsonl" 2>/dev/null
expected "$WORK/stored.jsonl" | sort -k2,2 -k1,1r >"$WORK/expected-after"
check_eq "$(wc -l <"$WORK/stored.jsonl")" "$stored" "replay reads every stored event"
check_eq "$(cat "$WORK/resumed")" "$(cat "$WORK/expected-after")" "tables after kill -9 and restart"
for r in sum last merge; do
  run "$EDATOOL" view rebuild "$r"
  check_eq "$RC" 0 "rebuild $r"
done
for r in sum last merge; do wait_until 20 caught_up "$r" "$stored" || fail "$r rebuild"; done
actual >"$WORK/rebuilt"
check_eq "$(cat "$WORK/rebuilt")" "$(cat "$WORK/resumed")" "resumed tables equal a rebuild"

# --- offline, with no broker ---
"$EDATOOL" view build --data "$DATA" --from pay.eu --key sys.key --value payload.amount \
  --reduce sum --format json >"$WORK/offline.jsonl"
offline=$(/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    print("sum", row["key"], json.dumps(row["value"], separators=(",", ":")))' "$WORK/offline.jsonl")
check_eq "$offline" "$(grep '^sum ' "$WORK/rebuilt")" "view build equals the broker's view"
run "$EDATOOL" view build --data "$WORK/nowhere" --from pay.eu --key sys.key
check_error 1 "no data directory" "view build without a data directory"

# --- drop ---
run "$EDATOOL" view drop last
check_eq "$RC" 0 "drop"
run "$EDATOOL" view get last acct-1
check_error 1 "no view named 'last'" "a dropped view is gone"
check_eq "$(ls "$DATA/default/.views" | tr '\n' ' ')" "merge.view sum.view " "its snapshot is gone"

# --- a clean shutdown waits for the snapshots of what was just folded ---
events "$WORK/c.jsonl" 50000 3 3
"$EDATOOL" pub pay.eu --json <"$WORK/c.jsonl"
wait_until 10 caught_up sum $((stored + 3)) || fail "sum did not fold the last 3"
"$EDATOOL" view list sum --format json >"$WORK/before-stop"
stop_broker "$BROKER_PID" broker2
start_broker_at broker3 "$URL" --data "$DATA"
check_contains "$(cat "$WORK/broker3.log")" "keys from the snapshot; folding on from pay.eu:$((stored + 3))" \
  "the snapshot written at shutdown holds everything folded"
run "$EDATOOL" view list sum --format json
check_eq "$OUT" "$(cat "$WORK/before-stop")" "the table after a clean restart"
stop_broker "$BROKER_PID" broker3

finish
