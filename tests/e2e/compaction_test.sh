#!/usr/bin/env bash
# Compacted topics (issue 10, docs/STORAGE.md "Compacted topics"): the newest
# message per key survives with its original offset, tombstones delete keys
# after --tombstone-retention, a kill -9 mid-compaction loses nothing
# confirmed, offline replay and `view build` read the compacted log, errors,
# and the same behaviour in a --memory broker. Sections carry the numbers of
# the task's list; they run in the order that lets them share brokers and data.
# Waits are for log lines or for a settled state (every sealed segment a
# compacted one, format version 2), never for a fixed time.
source "$(dirname "$0")/lib.sh"

# Generates inputs and checks sub/replay output against them; see the usage of each mode.
cat >"$WORK/compaction.py" <<'EOF'
import json, random, struct, sys, os

def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

def is_tombstone(m):
    return m.get("headers", {}).get("tombstone") is True and m["payload"] == ""

mode = sys.argv[1]
if mode == "gen":
    # gen SEED N KEYS TAIL_KEYS TOMBSTONES FILLER: N updates of KEYS random keys (the
    # last 1/6 only to the first TAIL_KEYS, so the other keys' newest messages end up
    # in compacted segments), then tombstones of the first TOMBSTONES keys, then FILLER
    # updates of other keys (so the tombstones are sealed too). One JSON line each.
    seed, n, keys, tail_keys, tombstones, filler = map(int, sys.argv[2:8])
    r = random.Random(seed)
    for i in range(n):
        k = r.randrange(keys if i < n - n // 6 else tail_keys)
        print(json.dumps({"key": "k%d" % k, "payload": "v%d-%d" % (i, r.randrange(10**6))}))
    for k in range(tombstones):
        print(json.dumps({"key": "k%d" % k, "payload": "", "headers": {"tombstone": True}}))
    for i in range(filler):
        print(json.dumps({"key": "f%d" % r.randrange(10), "payload": "fill-%d" % i}))
elif mode == "check":
    # check INPUT OUT ACTIVE GONE [BELOW]: OUT (sub/replay --format json of a topic that
    # holds INPUT at offsets 0..N-1) against INPUT. Offsets >= ACTIVE (the active
    # segment) must all be there; below BELOW (default ACTIVE: what compaction saw)
    # each key at most once, exactly its newest when that lies below; GONE
    # (comma-separated keys, or -) must be absent.
    # Prints one line per check: "ok" or what is wrong.
    inp, out = load(sys.argv[2]), load(sys.argv[3])
    active = int(sys.argv[4])
    below_end = int(sys.argv[6]) if len(sys.argv) > 6 else active
    gone = set() if sys.argv[5] == "-" else set(sys.argv[5].split(","))
    latest, latest_below = {}, {}
    for o, m in enumerate(inp):
        latest[m["key"]] = o
        if o < below_end:
            latest_below[m["key"]] = o
    bad = [m for m in out if not (0 <= m["offset"] < len(inp))
           or (m["key"], m["payload"], is_tombstone(m))
           != (inp[m["offset"]]["key"], inp[m["offset"]]["payload"], is_tombstone(inp[m["offset"]]))]
    print("ok" if not bad else "message differs from the one published at its offset: %s" % bad[0])
    offs = [m["offset"] for m in out]
    print("ok" if all(a < b for a, b in zip(offs, offs[1:])) else "offsets do not strictly increase: %s" % offs[:50])
    have = set(offs)
    missing = sorted(k for k, o in latest.items() if k not in gone and o not in have)
    present_gone = sorted(set(m["key"] for m in out) & gone)
    print("ok" if not missing and not present_gone else
          "newest message missing for keys %s (offsets %s); deleted keys present: %s"
          % (missing[:10], [latest[k] for k in missing[:10]], present_gone))
    lost = [o for o in range(active, len(inp)) if o not in have]
    print("ok" if not lost else "offsets of the active segment missing: %s" % lost[:20])
    below = {}
    for m in out:
        if m["offset"] < below_end:
            below.setdefault(m["key"], []).append(m["offset"])
    wrong = []
    for k, o in latest_below.items():
        got = below.get(k, [])
        if k in gone:
            want_ok = got == []
        elif latest[k] < below_end:
            want_ok = got == [o]
        else:
            want_ok = got in ([], [o])
        if not want_ok:
            wrong.append("%s: kept %s, newest below %d is %d" % (k, got[:5], below_end, o))
    print("ok" if not wrong else "compacted part wrong for %d keys, e.g. %s" % (len(wrong), wrong[:3]))
    print("ok" if len(out) < len(inp) else "nothing was removed (%d of %d messages)" % (len(out), len(inp)))
elif mode == "removed-from":
    # removed-from OUT: "O NEXT": an offset O that compaction removed, and the next kept
    # offset NEXT, which is some key's newest (so no later pass can remove it).
    out = load(sys.argv[2])
    offs = [m["offset"] for m in out]
    newest = {}
    for m in out:
        newest[m["key"]] = m["offset"]
    newest = set(newest.values())
    for a, b in zip(offs, offs[1:]):
        if b > a + 1 and b in newest:
            print(a + 1 + (b - a - 1) // 2, b)
            break
elif mode == "latest":
    # latest INPUT GONE: "KEY<TAB>PAYLOAD" of each key's newest message, sorted, without GONE.
    gone = set() if sys.argv[3] == "-" else set(sys.argv[3].split(","))
    latest = {}
    for m in load(sys.argv[2]):
        latest[m["key"]] = m["payload"]
    for k in sorted(latest):
        if k not in gone:
            print("%s\t%s" % (k, latest[k]))
elif mode == "view":
    # view: `view build --format json` lines on stdin as sorted "KEY<TAB>VALUE".
    rows = [json.loads(line) for line in sys.stdin if line.strip()]
    for row in sorted(rows, key=lambda r: r["key"]):
        v = row["value"]
        print("%s\t%s" % (row["key"], v if isinstance(v, str) else json.dumps(v)))
elif mode == "compacted-dir":
    # compacted-dir DIR: exit 0 when DIR has at least two segments and every one but
    # the newest (the active one) is a compacted segment (format version 2).
    names = sorted(n for n in os.listdir(sys.argv[2]) if n.endswith(".log"))
    versions = []
    for n in names[:-1]:
        with open(os.path.join(sys.argv[2], n), "rb") as f:
            versions.append(struct.unpack("<I", f.read(12)[8:12])[0])
    sys.exit(0 if len(names) >= 2 and all(v == 2 for v in versions) else 1)
elif mode == "active-base":
    # active-base DIR: the base offset of the newest segment.
    print(int(sorted(n for n in os.listdir(sys.argv[2]) if n.endswith(".log"))[-1][:-4]))
EOF
cv() { /usr/bin/python3 "$WORK/compaction.py" "$@"; }

# check_lines PREFIX FILE: one check per line of FILE ("ok" passes; anything else fails).
check_lines() {
  local n=0 line
  while IFS= read -r line; do
    n=$((n + 1))
    if [ "$line" == ok ]; then pass; else fail "$1.$n: $line"; fi
  done <"$2"
  [ "$n" -gt 0 ] || fail "$1: the checker printed nothing"
}

# compaction_lines LOG TOPIC: how many compaction passes that removed messages LOG shows for TOPIC.
compaction_lines() { grep -c "topic $2: compaction removed" "$1" || true; }
# more_compactions LOG TOPIC N: LOG shows more than N such passes.
more_compactions() { [ "$(compaction_lines "$1" "$2")" -gt "$3" ]; }

# pub_chunks TOPIC FILE: publishes FILE's JSON lines 100 at a time. The broker
# rolls a segment only between batches, so each 100 (about 7 KB) is a segment
# of its own with --segment-bytes 4KiB.
pub_chunks() {
  rm -f "$WORK"/chunk.*
  split -l 100 "$2" "$WORK/chunk."
  local chunk
  for chunk in "$WORK"/chunk.*; do "$EDATOOL" pub "$1" --json --timeout 20s <"$chunk" || return 1; done
}

# sub_json TOPIC FILE: the topic's stored messages (sub --from earliest -e --format json) into FILE.
sub_json() { "$EDATOOL" sub "$1" --from earliest -e --timeout 20s --format json >"$2"; }

# keys_absent TOPIC KEY...: none of the KEYs is stored in TOPIC.
keys_absent() {
  local topic=$1 k
  shift
  "$EDATOOL" sub "$topic" --from earliest -e --timeout 20s --template '%k\n' >"$WORK/keys"
  for k in "$@"; do ! grep -qxF "$k" "$WORK/keys" || return 1; done
}

DATA=$WORK/data
TOPICS=$DATA/default
start_broker disk --data "$DATA" --segment-bytes 4KiB

# ---------------------------------------------------------------------------
# (7) Errors: a message without a key, settings other than the topic's, a
# tombstone retention without --compact and a bad duration.
run "$EDATOOL" topic create c.t --compact
check_eq "$RC" 0 "(7a) topic create --compact (stderr: $ERR)"
run "$EDATOOL" topic create c.t --compact
check_eq "$RC" 0 "(7b) topic create again with the same settings (stderr: $ERR)"
run "$EDATOOL" topic create c.t
check_error 1 "exists already" "(7c) topic create again without --compact"
run "$EDATOOL" topic create c.t --compact --tombstone-retention 5m
check_error 1 "exists already" "(7d) topic create again with another tombstone retention"
run "$EDATOOL" topic create c.other --tombstone-retention 1s
check_error 2 "--compact" "(7e) --tombstone-retention without --compact"
run "$EDATOOL" topic create c.other --compact --tombstone-retention soon
check_error 2 "invalid duration" "(7f) a bad --tombstone-retention"
run "$EDATOOL" pub c.t no-key-here
check_error 1 "no key" "(7g) pub without a key to a compacted topic"
check_contains "$ERR" "compacted" "(7g) the refusal says the topic is compacted"
check_contains "$ERR" "pub -k" "(7g) the refusal says how to give a key"
check_eq "$(stats_field c.t next_offset)" 0 "(7g) nothing was stored by the refused pub"
check_eq "$(stats_field c.t policy)" compact "(7h) topic stats --json: policy"
check_eq "$(stats_field c.t tombstone_retention_ms)" 86400000 "(7h) the default tombstone retention is 1d"
check_contains "$("$EDATOOL" topic stats | grep '^c\.t ')" " compact" "(7h) topic stats: POLICY column"
if [ -f "$TOPICS/c.t/topic.settings" ]; then pass; else fail "(7h) no topic.settings in $TOPICS/c.t"; fi

# ---------------------------------------------------------------------------
# (1) The newest value per key survives at its original offset; the active
# segment is untouched; offsets strictly increase; --from a removed offset
# starts at the next kept one. 20 keys make the compacted part smaller than a
# segment, so each newly sealed segment starts a pass and the topic settles
# with every sealed segment compacted.
cv gen 10 3000 20 8 0 0 >"$WORK/c.t.in"
run pub_chunks c.t "$WORK/c.t.in"
check_eq "$RC" 0 "(1a) pub of 3000 keyed updates (stderr: $ERR)"
if wait_for_line "$WORK/disk.log" 'topic c\.t: compaction removed [0-9]+ of' 20; then pass; else fail "(1b) no compaction pass logged"; fi
if wait_until 20 cv compacted-dir "$TOPICS/c.t"; then
  pass
else
  fail "(1c) every sealed segment of c.t compacted (version 2): $(cd "$TOPICS/c.t" && echo *)"
fi
ACTIVE=$(cv active-base "$TOPICS/c.t")
sub_json c.t "$WORK/c.t.out"
cv check "$WORK/c.t.in" "$WORK/c.t.out" "$ACTIVE" - >"$WORK/c.t.check"
check_lines "(1d) sub --from earliest -e of c.t" "$WORK/c.t.check"
read -r REMOVED NEXT_KEPT < <(cv removed-from "$WORK/c.t.out")
if [ -n "${REMOVED:-}" ]; then
  run "$EDATOOL" sub c.t --from "$REMOVED" -e --timeout 20s --template '%o\n'
  check_eq "$RC/$(sed -n 1p <<<"$OUT")" "0/$NEXT_KEPT" "(1e) sub --from $REMOVED (removed) starts at the next kept offset"
else
  fail "(1e) found no removed offset followed by a key's newest message in c.t"
fi
check_eq "$(stats_field c.t next_offset)" 3000 "(1f) next offset after compaction (never renumbered)"

# ---------------------------------------------------------------------------
# (2) sub --from earliest (no -e) yields the current state, then live changes.
run "$EDATOOL" topic create c.live --compact
cv gen 20 600 10 4 0 0 >"$WORK/c.live.in"
pub_chunks c.live "$WORK/c.live.in"
if wait_until 20 cv compacted-dir "$TOPICS/c.live"; then pass; else fail "(2a) c.live never compacted"; fi
sub_json c.live "$WORK/c.live.state"
start_sub live c.live --from earliest --format json
if wait_for_line "$WORK/live.out" '"offset":599,' 10; then pass; else fail "(2b) the live sub did not print the current state"; fi
"$EDATOOL" pub -k new1 c.live live-1
"$EDATOOL" pub -k k0 c.live live-2
if wait_for_line "$WORK/live.out" '"offset":601,' 10; then pass; else fail "(2c) the live sub did not print live changes"; fi
check_eq "$(head -n "$(line_count "$WORK/c.live.state")" "$WORK/live.out")" "$(cat "$WORK/c.live.state")" \
  "(2d) sub --from earliest starts with the current state"
check_eq "$(tail -n +"$(($(line_count "$WORK/c.live.state") + 1))" "$WORK/live.out" |
  /usr/bin/python3 -c 'import json,sys
for l in sys.stdin: m=json.loads(l); print(m["offset"], m["key"], m["payload"])')" \
  $'600 new1 live-1\n601 k0 live-2' "(2e) then the live changes, in order"
check_lt "$(line_count "$WORK/c.live.state")" 600 "(2f) the current state is shorter than the log"
kill "$SUB_PID" 2>/dev/null || true

# ---------------------------------------------------------------------------
# (3) Tombstones. With --tombstone-retention 1s a tombstoned key goes (values
# and tombstone) once the tombstone is sealed and expired, and does not come
# back; with the default 1d the tombstone stays and the older values go.
run "$EDATOOL" topic create c.tomb --compact --tombstone-retention 1s
check_eq "$RC" 0 "(3a) topic create --tombstone-retention 1s (stderr: $ERR)"
check_eq "$(stats_field c.tomb tombstone_retention_ms)" 1000 "(3a) tombstone_retention_ms"
cv gen 30 400 10 10 3 300 >"$WORK/c.tomb.in"
pub_chunks c.tomb "$WORK/c.tomb.in"
if wait_until 20 keys_absent c.tomb k0 k1 k2; then pass; else fail "(3b) tombstoned keys k0..k2 still in c.tomb"; fi
wait_until 20 cv compacted-dir "$TOPICS/c.tomb" || fail "(3b) c.tomb never settled compacted"
sub_json c.tomb "$WORK/c.tomb.out"
cv check "$WORK/c.tomb.in" "$WORK/c.tomb.out" "$(cv active-base "$TOPICS/c.tomb")" k0,k1,k2 >"$WORK/c.tomb.check"
check_lines "(3c) c.tomb after the tombstones expired" "$WORK/c.tomb.check"
# More writes make more passes: the deleted keys must stay deleted.
PASSES=$(compaction_lines "$WORK/disk.log" c.tomb)
cv gen 31 0 0 0 0 300 >"$WORK/c.tomb.more"
pub_chunks c.tomb "$WORK/c.tomb.more"
cat "$WORK/c.tomb.more" >>"$WORK/c.tomb.in"
if wait_until 20 more_compactions "$WORK/disk.log" c.tomb "$PASSES"; then
  pass
else
  fail "(3d) no compaction pass of c.tomb after more writes"
fi
if keys_absent c.tomb k0 k1 k2; then pass; else fail "(3e) a deleted key came back in c.tomb"; fi

run "$EDATOOL" topic create c.tomb1d --compact
cv gen 40 400 10 10 3 300 >"$WORK/c.tomb1d.in"
pub_chunks c.tomb1d "$WORK/c.tomb1d.in"
if wait_until 20 cv compacted-dir "$TOPICS/c.tomb1d"; then pass; else fail "(3g) c.tomb1d never compacted"; fi
sub_json c.tomb1d "$WORK/c.tomb1d.out"
cv check "$WORK/c.tomb1d.in" "$WORK/c.tomb1d.out" "$(cv active-base "$TOPICS/c.tomb1d")" - >"$WORK/c.tomb1d.check"
check_lines "(3h) c.tomb1d: tombstones kept as each key's newest, older values gone" "$WORK/c.tomb1d.check"
check_eq "$(/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["key"] in ("k0", "k1", "k2"): print(m["offset"], m["key"], json.dumps(m["headers"]), repr(m["payload"]))' \
  "$WORK/c.tomb1d.out")" $'400 k0 {"tombstone": true} \'\'\n401 k1 {"tombstone": true} \'\'\n402 k2 {"tombstone": true} \'\'' \
  "(3i) c.tomb1d: each tombstoned key is only its tombstone"

# ---------------------------------------------------------------------------
# (5) replay --data of a compacted topic (broker stopped) equals sub -e, and
# (6) view build --reduce last equals the newest values.
sub_json c.t "$WORK/c.t.final"
check_eq "$(cat "$WORK/c.t.final")" "$(cat "$WORK/c.t.out")" "(5a) c.t did not change since it settled"
stop_broker "$BROKER_PID" "disk broker"
run "$EDATOOL" replay --data "$DATA" c.t --format json
check_eq "$RC" 0 "(5b) replay --data c.t (stderr: $ERR)"
check_eq "$OUT" "$(cat "$WORK/c.t.final")" "(5c) replay --data c.t equals sub --from earliest -e"
run "$EDATOOL" replay --data "$DATA" c.t --from "$REMOVED" --template '%o\n'
check_eq "$(sed -n 1p <<<"$OUT")" "$NEXT_KEPT" "(5d) replay --data --from a removed offset starts at the next kept one"
cv latest "$WORK/c.t.in" - >"$WORK/c.t.latest"
run "$EDATOOL" view build --data "$DATA" --from c.t --key sys.key --reduce last --format json
check_eq "$RC" 0 "(6a) view build --data c.t (stderr: $ERR)"
check_eq "$(cv view <<<"$OUT")" "$(cat "$WORK/c.t.latest")" "(6b) view build --reduce last equals the newest values"
cv latest "$WORK/c.tomb.in" k0,k1,k2 >"$WORK/c.tomb.latest"
check_eq "$("$EDATOOL" view build --data "$DATA" --from c.tomb --key sys.key --reduce last --format json 2>&1 | cv view)" \
  "$(cat "$WORK/c.tomb.latest")" "(6c) view build of c.tomb: the keys that were not deleted, newest values"

# ---------------------------------------------------------------------------
# (4) kill -9 while a publisher writes keyed batches and compaction runs. The
# restarted broker keeps the topic compacted, has every confirmed newest
# value, removes .compacted debris at start and compacts on.
CDATA=$WORK/crash
CRASH_URL=tcp://127.0.0.1:$(free_port)
start_broker_at crash1 "$CRASH_URL" --data "$CDATA" --segment-bytes 4KiB
"$EDATOOL" topic create c.crash --compact
# batch I: payloads "I-<padding>" for keys c0..c29 in batches 1..5, then only for
# c0..c14 (so the newest messages of c15..c29 are in compacted segments).
batch() {
  awk -v i="$1" 'BEGIN { for (k = 0; k < (i <= 5 ? 30 : 15); k++)
    printf "{\"key\":\"c%d\",\"payload\":\"%d-%040d\"}\n", k, i, k }'
}
(
  for ((i = 1; ; i++)); do
    batch "$i" | "$EDATOOL" pub c.crash --json --timeout 3s 2>/dev/null || break
    echo "$i" >>"$WORK/confirmed"
  done
) &
PUBLISHER=$!
confirmed_at_least() { [ "$(line_count "$WORK/confirmed")" -ge "$1" ]; }
BACKGROUND_PIDS+=("$PUBLISHER")
if wait_for_line "$WORK/crash1.log" 'topic c\.crash: compaction removed' 20 &&
  wait_until 20 confirmed_at_least 40; then
  pass
else
  fail "(4a) no compaction during publishing"
fi
kill -9 "$BROKER_PID"
wait_for_exit "$BROKER_PID" 5
check_eq "$WAIT_RC" 137 "(4a) the broker was killed by SIGKILL"
wait_for_exit "$PUBLISHER" 20
CONFIRMED=$(tail -1 "$WORK/confirmed")
# What a pass stopped by the kill may leave, whether or not this kill left one.
printf 'half-written' >"$CDATA/default/c.crash/00000000000000000000.log.compacted"
start_broker_at crash2 "$CRASH_URL" --data "$CDATA" --segment-bytes 4KiB
check_eq "$(find "$CDATA/default/c.crash" -name '*.compacted' | wc -l)" 0 "(4b) no .compacted debris after the restart"
check_eq "$(stats_field c.crash policy)" compact "(4c) c.crash is still compacted after the restart"
run "$EDATOOL" sub c.crash --from earliest -e --timeout 20s --format json
check_eq "$RC" 0 "(4d) sub c.crash after the restart (stderr: $ERR)"
check_eq "$(/usr/bin/python3 -c 'import json,sys
newest, offs = {}, []
for l in sys.stdin:
    m = json.loads(l); offs.append(m["offset"]); newest[m["key"]] = int(m["payload"].split("-")[0])
bad = [k for k in ("c%d" % i for i in range(15)) if newest.get(k, 0) < int(sys.argv[1])]
bad += [k for k in ("c%d" % i for i in range(15, 30)) if newest.get(k) != 5]
print("ok" if not bad and all(a < b for a, b in zip(offs, offs[1:])) else "newest older than confirmed: %s" % bad)' \
  "$CONFIRMED" <<<"$OUT")" ok \
  "(4e) c0..c14 have at least the last confirmed batch ($CONFIRMED), c15..c29 batch 5, offsets increase"
PASSES=$(compaction_lines "$WORK/crash2.log" c.crash)
for i in $(seq 100001 100010); do batch "$i" | "$EDATOOL" pub c.crash --json; done
if wait_until 20 more_compactions "$WORK/crash2.log" c.crash "$PASSES"; then
  pass
else
  fail "(4f) no compaction pass after the restart"
fi
check_eq "$("$EDATOOL" sub c.crash --from earliest -e --timeout 20s --template '%k %s\n' | sort -u | grep -c ' 100010-')" 15 \
  "(4g) the newest batch after the restart is there for c0..c14"
stop_broker "$BROKER_PID" "crash broker"

# ---------------------------------------------------------------------------
# (8) A --memory broker compacts the same way (the whole log, on its loop).
start_broker mem --memory
"$EDATOOL" topic create m.t --compact --tombstone-retention 1s
"$EDATOOL" topic create m.tomb1d --compact
cv gen 50 1000 20 8 3 200 >"$WORK/m.t.in"
"$EDATOOL" pub m.t --json <"$WORK/m.t.in"
"$EDATOOL" pub m.tomb1d --json <"$WORK/m.t.in"
if wait_for_line "$WORK/mem.log" 'topic m\.t: compaction removed' 20; then pass; else fail "(8a) no compaction pass in memory"; fi
if wait_until 20 keys_absent m.t k0 k1 k2; then pass; else fail "(8b) tombstoned keys k0..k2 still in m.t"; fi
sub_json m.t "$WORK/m.t.out"
# In memory nothing is an active segment; below offset 1003 (the keys k*, published
# before the tombstones expired) each key is once.
cv check "$WORK/m.t.in" "$WORK/m.t.out" 1203 k0,k1,k2 1003 >"$WORK/m.t.check"
check_lines "(8c) m.t in memory after the tombstones expired" "$WORK/m.t.check"
# key_messages TOPIC N: TOPIC holds exactly N messages with keys k<number>.
key_messages() {
  [ "$("$EDATOOL" sub "$1" --from earliest -e --timeout 20s --template '%k\n' | grep -cx 'k[0-9]*')" -eq "$2" ]
}
if wait_until 20 key_messages m.tomb1d 20; then
  pass
else
  fail "(8d) m.tomb1d in memory never compacted to one message per key"
fi
sub_json m.tomb1d "$WORK/m.tomb1d.out"
cv check "$WORK/m.t.in" "$WORK/m.tomb1d.out" 1203 - 1003 >"$WORK/m.tomb1d.check"
check_lines "(8e) m.tomb1d in memory: tombstones kept, older values gone" "$WORK/m.tomb1d.check"
stop_broker "$BROKER_PID" "memory broker"

finish
