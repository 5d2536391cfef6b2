#!/usr/bin/env bash
# --filter end to end: several filtered subscribers at once each get exactly
# their subset, in order (after the fact and live, memory and disk brokers);
# tail -n N and replay (broker and --data) with a filter; bad filters are
# usage errors in every command, and the broker refuses them from a raw client.
#
# The expected subsets come from the generator below, which knows what it put
# in every message and decides each filter in Python, not from edatool.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3 # Debian's interpreter: it has python3-zmq

# The filters, by name. The generator (gen.py) decides each one per message.
declare -A FILTERS=(
  [json]="payload.customer.tier = 'gold' AND payload.total > 100"
  [like]="sys.key LIKE 'user-1%' OR note LIKE '50!%%' ESCAPE '!'"
  [in]="tier IN ('gold', 'silver') AND amount > 100"
  [notnull]="NOT priority = 'high' AND sys.key IS NOT NULL"
  [bare]="payload.items[1].sku = 'X-2' OR urgent"
  [between]="region LIKE 'eu-%' AND amount NOT BETWEEN 0 AND 120"
)
NAMES=(json like in notnull bare between)
TOPICS=(audit orders.eu orders.us)
TEMPLATE='%t %o %{seq}\n'

# gen.py COUNT: writes $WORK/in.TOPIC.jsonl (pub --json input, one file per
# topic) and $WORK/expect.NAME (lines "topic offset seq", by topic then offset).
cat >"$WORK/gen.py" <<'PY'
import json, os, random, sys

count, work = int(sys.argv[1]), sys.argv[2]
rng = random.Random(4)
topics = ["audit", "orders.eu", "orders.us"]
MISSING = object()

def pick(*choices):
    return rng.choice(choices)

# (value sent, the number a filter reads from it or None when it reads none)
AMOUNTS = [(150, 150), ("150", 150), (100.5, 100.5), ("99", 99), (100, 100), ("abc", None),
           (True, None), (-5, -5), ("1e3", 1000.0), ("120", 120), (121, 121), (MISSING, None)]
TOTALS = [(150, 150), ("150", 150), (50, 50), (100, 100), (100.01, 100.01), ("x", None),
          (None, None), (MISSING, None)]

def payload_of(i):
    """(payload text, parsed JSON or None, numeric total or None)"""
    kind = rng.randrange(8)
    if kind == 0:
        return f"plain text {i}", None, None
    if kind == 1:
        return '{"customer": {"tier": "gold"}, "total": 500', None, None  # not JSON
    if kind == 2:
        return "[1, 2, 3]", [1, 2, 3], None
    doc = {}
    if kind == 3:
        doc["customer"] = "gold"  # no object: customer.tier is absent
    else:
        tier = pick("gold", "silver", None, "Gold", MISSING)
        doc["customer"] = {} if tier is MISSING else {"tier": tier}
    total, number = rng.choice(TOTALS)
    if total is not MISSING:
        doc["total"] = total
    doc["items"] = [{"sku": pick("X-1", "X-2")} for _ in range(rng.randrange(3))]
    if rng.randrange(4) == 0:
        doc["items"].append("X-2")  # items[n] that is no object
    return json.dumps(doc), doc, number

def decide(m):
    doc, key, h = m["doc"], m["key"], m["headers"]
    def header(name):  # header names ignore case
        for k, v in h.items():
            if k.lower() == name:
                return v
        return MISSING
    tier, note, prio, urgent, region = (header(n) for n in ("tier", "note", "priority", "urgent", "region"))
    amount = m["amount"]
    items = doc.get("items") if isinstance(doc, dict) else None
    return {
        "json": isinstance(doc, dict) and isinstance(doc.get("customer"), dict)
                and doc["customer"].get("tier") == "gold"
                and m["total"] is not None and m["total"] > 100,
        "like": (key is not None and key.startswith("user-1"))
                or (isinstance(note, str) and note.startswith("50%")),
        # unknown for a typed number compared with 'high': NOT unknown is unknown
        "notnull": prio in ("low", "normal") and key is not None,
        "in": tier in ("gold", "silver") and amount is not None and amount > 100,
        # a bare field holds only for a typed TRUE, not for the string 'true'
        "bare": (isinstance(items, list) and len(items) > 1 and isinstance(items[1], dict)
                 and items[1].get("sku") == "X-2") or urgent is True,
        "between": isinstance(region, str) and region.startswith("eu-")
                   and amount is not None and not (0 <= amount <= 120),
    }

inputs = {t: open(os.path.join(work, f"in.{t}.jsonl"), "w") for t in topics}
offsets = {t: 0 for t in topics}
expect = {}
for i in range(count):
    topic = rng.choice(topics)
    key = pick(None, None, f"user-{rng.randrange(30)}", f"user-{rng.randrange(30)}", "admin")
    headers = {"seq": i}
    region = pick("eu-west", "eu-north", "us-east", "EU-west", MISSING)
    if region is not MISSING:
        headers[pick("region", "Region", "REGION")] = region
    amount, number = rng.choice(AMOUNTS)
    if amount is not MISSING:
        headers["amount"] = amount
    for name, values in (("tier", ("gold", "silver", "bronze", "Gold")),
                         ("note", ("50% off", "500 units", "5% off", "50%")),
                         ("priority", ("high", "low", "normal", 3)),
                         ("urgent", (True, False, "true"))):
        value = pick(*values, MISSING)
        if value is not MISSING:
            headers[name] = value
    payload, doc, total = payload_of(i)
    m = {"key": key, "headers": headers, "doc": doc, "amount": number, "total": total}
    line = {"headers": headers, "payload": payload}
    if key is not None:
        line["key"] = key
    inputs[topic].write(json.dumps(line) + "\n")
    for name, hit in decide(m).items():
        if hit:
            expect.setdefault(name, []).append((topic, offsets[topic], i))
    offsets[topic] += 1
for name in ("json", "like", "in", "notnull", "bare", "between"):
    rows = sorted(expect.get(name, []))  # by topic, then offset
    with open(os.path.join(work, f"expect.{name}"), "w") as f:
        f.writelines(f"{t} {o} {s}\n" for t, o, s in rows)
PY
"$PY" "$WORK/gen.py" 3000 "$WORK"

# by_topic FILE: its lines grouped by topic, keeping their order within each topic.
by_topic() { LC_ALL=C sort -s -k1,1 "$1"; }

# publish PREFIX: publishes the generated input into PREFIX + each topic.
publish() {
  local t
  for t in "${TOPICS[@]}"; do "$EDATOOL" pub --json "$1$t" <"$WORK/in.$t.jsonl"; done
}

# check_subsets WHAT PREFIX: each $WORK/WHAT.NAME.out holds exactly expect.NAME, in order.
check_subsets() {
  local what=$1 prefix=$2 name n
  for name in "${NAMES[@]}"; do
    n=$(wc -l <"$WORK/expect.$name")
    if [ "$n" -lt 20 ]; then fail "$what $name: only $n expected matches; the generator is off"; fi
    check_eq "$(by_topic "$WORK/$what.$name.out")" "$(sed "s/^/$prefix/" "$WORK/expect.$name")" \
      "$what: filter $name (${FILTERS[$name]}) gets exactly its $n messages, in order per topic"
  done
}

# Runs every filter at once over what is stored, each with -e, and waits for all.
subscribe_all_stored() {
  local what=$1 prefix=$2 name pids=()
  for name in "${NAMES[@]}"; do
    "$EDATOOL" sub "${prefix}orders.>" "${prefix}audit" --from earliest -e \
      --filter "${FILTERS[$name]}" --template "$TEMPLATE" \
      >"$WORK/$what.$name.out" 2>"$WORK/$what.$name.err" &
    pids+=($!)
    BACKGROUND_PIDS+=($!)
  done
  for pid in "${pids[@]}"; do
    wait_for_exit "$pid" 60
    check_eq "$WAIT_RC" 0 "$what: sub -e exit status"
  done
  check_subsets "$what" "$prefix"
}

# Subscribes with every filter before anything is published (-n: its expected
# count), then publishes: live delivery filters too.
subscribe_all_live() {
  local what=$1 prefix=$2 name pids=()
  for name in "${NAMES[@]}"; do
    start_sub "$what.$name" "${prefix}>" -n "$(wc -l <"$WORK/expect.$name")" \
      --filter "${FILTERS[$name]}" --template "$TEMPLATE"
    pids+=("$SUB_PID")
  done
  publish "$prefix"
  for pid in "${pids[@]}"; do
    wait_for_exit "$pid" 60
    check_eq "$WAIT_RC" 0 "$what: live sub -n exit status"
  done
  check_subsets "$what" "$prefix"
}

# ---- a memory broker: live, then stored, then tail -n with a filter ----
start_broker memory --memory
subscribe_all_live live.memory live.
subscribe_all_stored stored.memory live.
for name in in notnull; do
  run "$EDATOOL" tail -n 7 orders.eu --filter "${FILTERS[$name]}" --template "$TEMPLATE"
  check_eq "$RC" 0 "tail -n 7 --filter ($name) exit status"
  # nothing was published to orders.eu itself yet: an empty result
  check_eq "$OUT" "" "tail of a topic that does not exist yet ($name)"
done
publish ""
for name in in notnull json; do
  run "$EDATOOL" tail -n 7 orders.eu --filter "${FILTERS[$name]}" --template "$TEMPLATE"
  check_eq "$RC:$OUT" "0:$(grep '^orders\.eu ' "$WORK/expect.$name" | tail -n 7)" \
    "tail -n 7 --filter: the last 7 that match ($name)"
done
run "$EDATOOL" tail -n 100000 orders.us --filter "${FILTERS[like]}" --template "$TEMPLATE"
check_eq "$OUT" "$(grep '^orders\.us ' "$WORK/expect.like")" "tail -n more than match: all that match"
stop_broker "$BROKER_PID" "memory broker"

# ---- a disk broker: stored, then replay through the broker and offline ----
DATA=$WORK/data
start_broker disk --data "$DATA"
publish ""
subscribe_all_stored stored.disk ""
for name in json between bare; do
  for t in orders.eu audit; do
    run "$EDATOOL" replay "$t" --filter "${FILTERS[$name]}" --format json
    check_eq "$RC" 0 "replay --filter ($name, $t) exit status"
    via_broker=$OUT
    run "$EDATOOL" replay "$t" --data "$DATA" --filter "${FILTERS[$name]}" --format json
    check_eq "$RC" 0 "replay --data --filter ($name, $t) exit status"
    check_eq "$OUT" "$via_broker" "replay --filter ($name, $t): offline and through the broker agree"
    check_eq "$(printf '%s\n' "$OUT" | "$PY" -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        m = json.loads(line)
        print(m["topic"], m["offset"], m["headers"]["seq"])')" "$(grep "^$t " "$WORK/expect.$name")" \
      "replay --filter ($name, $t): exactly the matching messages"
  done
done
stop_broker "$BROKER_PID" "disk broker"
run "$EDATOOL" replay 'orders.>' --data "$DATA" --filter "${FILTERS[in]}" --template "$TEMPLATE"
check_eq "$(by_topic "$WORK/out")" "$(grep '^orders\.' "$WORK/expect.in")" \
  "replay --data of a pattern with the broker stopped"

# ---- bad filters: exit 2 with the message and a caret, before any I/O ----
# Nothing listens at this broker address: the error must come first.
EDATOOL_BROKER="tcp://127.0.0.1:$(free_port)"
export EDATOOL_BROKER
bad="amount > 100 AND region = 'eu"
bad_message=$'edatool: filter: unterminated string; close it with \' (column 27)\n'"  $bad"$'\n'"$(printf '%29s' '^')"
for cmd in "sub orders" "tail orders" "replay orders" "replay orders --data $DATA"; do
  # shellcheck disable=SC2086 # split the command on purpose
  run_timed "$EDATOOL" $cmd --filter "$bad"
  check_eq "$RC" 2 "$cmd with a bad filter: exit status"
  check_eq "$ERR" "$bad_message" "$cmd with a bad filter: message and caret"
  check_eq "$OUT" "" "$cmd with a bad filter: nothing on stdout"
  check_lt "$ELAPSED_MS" 2000 "$cmd with a bad filter: fails at once (ms)"
done
declare -A BAD_FILTERS=(
  ["sys.bogus = 1"]="unknown system field 'sys.bogus'"
  ["amount > 5 AND 7"]="expected a condition, found a number"
  ["tier IN ('gold',"]="unexpected end of the filter"
  ["x LIKE 'a!' ESCAPE '!'"]="the LIKE pattern ends with its escape character"
)
for expr in "${!BAD_FILTERS[@]}"; do
  run "$EDATOOL" tail orders --filter "$expr"
  check_eq "$RC" 2 "tail --filter \"$expr\": exit status"
  check_contains "$(sed -n 1p "$WORK/err")" "edatool: filter: ${BAD_FILTERS[$expr]}" "tail --filter \"$expr\": message"
  check_eq "$(sed -n 2p "$WORK/err")" "  $expr" "tail --filter \"$expr\": the expression"
  check_eq "$(sed -n 3p "$WORK/err" | grep -cE '^ +\^$')" 1 "tail --filter \"$expr\": a caret line"
done

# ---- the broker validates too: a raw SUBSCRIBE with a bad filter is REJECTED ----
start_broker raw --memory
"$EDATOOL" pub raw.t 'x'
run "$EDATOOL" sub raw.t --filter "$bad"
cli_message=${ERR#edatool: }
"$PY" - "$BROKER_URL" "$bad" >"$WORK/raw.out" 2>"$WORK/raw.err" <<'PY' || true
import struct, sys, zmq

# Just enough msgpack for a SUBSCRIBE body and an ERROR reply.
def pack(v):
    if v is None:
        return b"\xc0"
    if isinstance(v, int):
        assert 0 <= v < 1 << 32
        return bytes([v]) if v < 128 else b"\xce" + struct.pack(">I", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xda" + struct.pack(">H", len(b))) + b
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)

def unpack_error(body):  # [req_id, code, text]: fixarray(3), fixints, str
    assert body[0] == 0x93, body
    req_id, code, tag, at = body[1], body[2], body[3], 4
    if 0xa0 <= tag <= 0xbf:
        n = tag & 0x1f
    elif tag == 0xd9:
        n, at = body[4], 5
    else:
        n, at = struct.unpack(">H", body[4:6])[0], 6
    return req_id, code, body[at:at + n].decode()

url, bad = sys.argv[1], sys.argv[2]
s = zmq.Context().socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect(url)
EARLIEST = 0
for req_id, filter_text in ((7, bad), (8, "amount > 1")):
    # SUBSCRIBE [req_id, sub_id, patterns, position, credit_messages, credit_bytes, resume, filter]
    body = [req_id, 1, ["raw.t"], [EARLIEST, 0], 100, 100000, {}, filter_text]
    s.send_multipart([b"\x01\x07", pack(body)])
    if not s.poll(5000):
        print(req_id, "no-reply")
        continue
    header, reply = s.recv_multipart()
    if header[1] == 15:
        req, code, text = unpack_error(reply)
        print(req, "ERROR", code)
        sys.stdout.write("TEXT-BEGIN\n" + text + "\nTEXT-END\n")
    else:
        print(req_id, "command", header[1])
PY
if [ -s "$WORK/raw.err" ]; then fail "raw SUBSCRIBE client failed: $(cat "$WORK/raw.err")"; fi
check_eq "$(sed -n 1p "$WORK/raw.out")" "7 ERROR 3" "raw SUBSCRIBE with a bad filter: ERROR with code REJECTED"
check_eq "$(sed -n '/^TEXT-BEGIN$/,/^TEXT-END$/p' "$WORK/raw.out" | sed '1d;$d')" "$cli_message" \
  "raw SUBSCRIBE with a bad filter: the same three lines the client prints"
check_eq "$(tail -n 1 "$WORK/raw.out")" "8 command 8" "raw SUBSCRIBE with a good filter: OK"
if kill -0 "$BROKER_PID" 2>/dev/null; then pass; else fail "broker died on a bad filter"; fi

finish
