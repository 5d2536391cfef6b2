#!/usr/bin/env bash
# The durable log (docs/STORAGE.md, DESIGN §7): restarts keep everything, a
# second broker cannot share a data directory, recovery of torn tails, missing
# indexes and corrupt records, offline replay, retention, tail and topic admin.
source "$(dirname "$0")/lib.sh"

# offsets_and_payloads TOPIC [FROM]: "%o %s" lines of what is stored from FROM (default earliest).
offsets_and_payloads() {
  "$EDATOOL" sub "$1" --from "${2:-earliest}" -e --timeout 20s --template '%o %s\n'
}
# numbered FIRST_OFFSET PREFIX FIRST LAST: the "%o %s" lines expected for
# payloads PREFIX-FIRST..PREFIX-LAST stored from FIRST_OFFSET on.
numbered() {
  seq "$3" "$4" | awk -v o="$1" -v p="$2" '{ printf "%d %s-%d\n", o + NR - 1, p, $1 }'
}
# gap_free FILE: the first column of FILE counts up by one from its first line.
gap_free() { awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$1"; }
# fat_lines FIRST LAST: lines "NNNNNNN-xxx...", about 1000 bytes each.
fat_lines() {
  awk -v s="$1" -v e="$2" 'BEGIN { pad = sprintf("%992s", ""); gsub(/ /, "x", pad)
    for (i = s; i <= e; i++) printf "%07d-%s\n", i, pad }'
}

# fat_lines_4k FIRST LAST: like fat_lines, about 4 KB each.
fat_lines_4k() {
  awk -v s="$1" -v e="$2" 'BEGIN { pad = sprintf("%4000s", ""); gsub(/ /, "x", pad)
    for (i = s; i <= e; i++) printf "%07d-%s\n", i, pad }'
}
# fifo_bytes FIFO: how many bytes wait unread in FIFO.
fifo_bytes() {
  /usr/bin/python3 -c 'import fcntl, os, struct, sys, termios
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
print(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])' "$1"
}

# ---------------------------------------------------------------------------
# (a) Persistence: a SIGTERM'd broker restarted on the same directory serves
# every message as it was (ids, keys, headers, timestamps, offsets), in
# order, and new publishes continue the offsets without a gap.
DATA=$WORK/persist
start_broker persist1 --data "$DATA"
if wait_for_line "$WORK/persist1.log" 'data directory'; then pass; else fail "(a) broker does not log its data directory"; fi
check_contains "$(cat "$WORK/persist1.log")" "data directory $DATA (fsync batch)" "(a) broker names its data directory"
seq -f 'p-%g' 1 3000 | "$EDATOOL" pub persist.t
"$EDATOOL" pub -k k7 -H source=shell -H n:=42 persist.t keyed-1 keyed-2
"$EDATOOL" pub persist.other solo
"$EDATOOL" sub persist.t --from earliest -e --format json >"$WORK/persist-before.json"
check_eq "$(line_count "$WORK/persist-before.json")" 3002 "(a) messages stored before the restart"
stop_broker "$BROKER_PID" "(a) first broker"
check_contains "$(cat "$WORK/persist1.log")" "broker stopped" "(a) first broker logs its clean stop"
start_broker persist2 --data "$DATA"
run "$EDATOOL" sub persist.t --from earliest -e --format json
check_eq "$RC" 0 "(a) sub after the restart"
printf '%s\n' "$OUT" >"$WORK/persist-after.json"
if cmp -s "$WORK/persist-before.json" "$WORK/persist-after.json"; then
  pass
else
  fail "(a) the restarted broker serves different messages; first difference: $(
    diff "$WORK/persist-before.json" "$WORK/persist-after.json" | sed -n 1,4p | tr '\n' ' ')"
fi
check_eq "$("$EDATOOL" sub persist.other --from earliest -e)" "solo" "(a) a second topic survives too"
run "$EDATOOL" pub persist.t new-1 new-2 new-3
check_eq "$RC" 0 "(a) pub after the restart"
offsets_and_payloads persist.t >"$WORK/persist-all.txt"
check_eq "$(tail -3 "$WORK/persist-all.txt")" $'3002 new-1\n3003 new-2\n3004 new-3' "(a) new offsets continue after the restart"
check_eq "$(cut -d' ' -f1 "$WORK/persist-all.txt" | md5sum)" "$(seq 0 3004 | md5sum)" "(a) offsets 0..3004 without a gap"
check_eq "$(sed -n '1p;3000p' "$WORK/persist-all.txt")" $'0 p-1\n2999 p-3000' "(a) old messages in place"

# ---------------------------------------------------------------------------
# (b) A second broker on the same directory refuses to start (exit 1, names
# the directory and says it is in use), and the first keeps serving.
run timeout 10 "$EDATOOL" broker --bind 'tcp://127.0.0.1:*' --data "$DATA"
check_error 1 "in use" "(b) second broker on the same --data"
check_contains "$ERR" "$DATA" "(b) the refusal names the data directory"
check_contains "$ERR" "pid $BROKER_PID" "(b) the refusal names the running broker's pid"
if kill -0 "$BROKER_PID" 2>/dev/null; then pass; else fail "(b) the first broker died"; fi
check_eq "$("$EDATOOL" sub persist.t --from -1 -e)" "new-3" "(b) the first broker still serves"
stop_broker "$BROKER_PID" "(b) broker"
# Once it stopped, the directory is free again.
start_broker persist3 --data "$DATA"
check_eq "$("$EDATOOL" sub persist.t --from -1 -e)" "new-3" "(b) a broker starts once the directory is free"
stop_broker "$BROKER_PID" "(b) third broker"

# ---------------------------------------------------------------------------
# (c) A torn tail is cut on start: garbage appended to the last segment, then
# a record missing its last 7 bytes.
DATA=$WORK/torn
TOPIC_DIR=$DATA/default/torn.t
start_broker torn1 --data "$DATA"
seq -f 'torn-%g' 1 500 | "$EDATOOL" pub torn.t
stop_broker "$BROKER_PID" "(c) broker"
segment=$(last_segment "$TOPIC_DIR")
clean_size=$(stat -c %s "$segment")
printf 'GARBAGE-TAIL-BYTES' >>"$segment" # 18 bytes; "GARB" as a length is far over 64 MiB
start_broker torn2 --data "$DATA"
check_contains "$(cat "$WORK/torn2.log")" "cut 18 bytes" "(c) broker reports the 18 garbage bytes it cut"
check_eq "$(stat -c %s "$segment")" "$clean_size" "(c) the segment is back to its size before the garbage"
offsets_and_payloads torn.t >"$WORK/torn1.txt"
check_eq "$(md5sum <"$WORK/torn1.txt")" "$(numbered 0 torn 1 500 | md5sum)" "(c) all 500 complete records served after cutting garbage"
run "$EDATOOL" pub torn.t after-1 after-2
check_eq "$RC" 0 "(c) pub after cutting garbage"
check_eq "$(offsets_and_payloads torn.t 499)" $'499 torn-500\n500 after-1\n501 after-2' \
  "(c) offsets continue after the cut"
stop_broker "$BROKER_PID" "(c) broker after garbage"
# The last record loses its last 7 bytes: it is gone, everything before it stays.
truncate -s -7 "$segment"
run "$EDATOOL" replay torn.t --data "$DATA" --template '%o %s\n'
check_eq "$RC" 0 "(c) offline replay of a torn segment"
check_eq "$(printf '%s\n' "$OUT" | tail -2)" $'499 torn-500\n500 after-1' "(c) offline replay stops before the torn record"
check_contains "$ERR" "torn or corrupt tail" "(c) offline replay reports the torn tail"
start_broker torn3 --data "$DATA"
if grep -qE 'cut [0-9]+ bytes of a torn or corrupt tail at offset 501' "$WORK/torn3.log"; then
  pass
else
  fail "(c) broker should report cutting the torn record at offset 501: $(cat "$WORK/torn3.log")"
fi
offsets_and_payloads torn.t >"$WORK/torn2.txt"
check_eq "$(md5sum <"$WORK/torn2.txt")" "$( (numbered 0 torn 1 500; echo '500 after-1') | md5sum)" \
  "(c) after the 7-byte cut: the last message is gone, all before intact"
run "$EDATOOL" pub torn.t after-3
check_eq "$RC" 0 "(c) pub after the 7-byte cut"
check_eq "$(offsets_and_payloads torn.t -2)" $'500 after-1\n501 after-3' "(c) the new message takes the cut record's offset"
stop_broker "$BROKER_PID" "(c) broker after the 7-byte cut"
# A clean restart cuts nothing.
start_broker torn4 --data "$DATA"
if grep -q 'cut' "$WORK/torn4.log"; then fail "(c) a clean restart cut bytes: $(cat "$WORK/torn4.log")"; else pass; fi
check_eq "$(offsets_and_payloads torn.t -1)" "501 after-3" "(c) clean restart keeps the last message"
stop_broker "$BROKER_PID" "(c) broker after a clean restart"

# ---------------------------------------------------------------------------
# (d) Missing and broken index files of a multi-segment topic are rebuilt:
# offset and time lookups in the middle segments still find the right record.
DATA=$WORK/idx
TOPIC_DIR=$DATA/default/idx.t
start_broker idx1 --data "$DATA" --segment-bytes 64KiB
seq -f 'idx-%g' 1 6000 | "$EDATOOL" pub idx.t
group_a_done=$(now_ms)
wait_past_ms "$group_a_done"
boundary=$(now_ms)
wait_past_ms "$boundary"
seq -f 'idx-%g' 6001 6500 | "$EDATOOL" pub idx.t
stop_broker "$BROKER_PID" "(d) broker"
segments=$(segment_count "$TOPIC_DIR")
if [ "$segments" -ge 4 ]; then pass; else fail "(d) expected at least 4 segments with --segment-bytes 64KiB, got $segments"; fi
rm -f "$TOPIC_DIR"/*.idx
start_broker idx2 --data "$DATA" --segment-bytes 64KiB
check_eq "$("$EDATOOL" sub idx.t --from 2500 -n 1 --timeout 10s --template '%o %s\n')" "2500 idx-2501" "(d) --from 2500 without index files"
check_eq "$("$EDATOOL" sub idx.t --from 4321 -n 3 --timeout 10s --template '%o %s\n')" $'4321 idx-4322\n4322 idx-4323\n4323 idx-4324' \
  "(d) --from 4321 -n 3 without index files"
check_eq "$("$EDATOOL" sub idx.t --from -1 -e --template '%o %s\n')" "6499 idx-6500" "(d) the last message"
at=$(rfc3339_ms "$boundary")
run "$EDATOOL" replay idx.t --from "@$at" --template '%o %s\n'
check_eq "$RC" 0 "(d) replay --from @TIME through the broker"
check_eq "$(printf '%s\n' "$OUT" | md5sum)" "$(numbered 6000 idx 6001 6500 | md5sum)" "(d) replay --from @$at starts at the second group"
run "$EDATOOL" sub idx.t --from "@$at" -n 1 --timeout 10s --template '%o %s\n'
check_eq "$OUT" "6000 idx-6001" "(d) sub --from @TIME without index files"
stop_broker "$BROKER_PID" "(d) broker without index files"
# Offline, with every index missing again and one replaced by junk.
rm -f "$TOPIC_DIR"/*.idx
printf 'junk' >"$TOPIC_DIR/00000000000000001000.idx"
run "$EDATOOL" replay idx.t --data "$DATA" --from "@$at" --template '%o %s\n'
check_eq "$RC:$(printf '%s\n' "$OUT" | md5sum)" "0:$(numbered 6000 idx 6001 6500 | md5sum)" "(d) offline replay --from @TIME without index files"
run "$EDATOOL" replay idx.t --data "$DATA" --from 1500 --to 1502 --template '%o %s\n'
check_eq "$RC:$OUT" $'0:1500 idx-1501\n1501 idx-1502\n1502 idx-1503' "(d) offline replay from a segment with a junk index"

# ---------------------------------------------------------------------------
# (e) A corrupt record in a sealed segment is reported, never delivered: one
# payload byte flipped so that the record still decodes (only the CRC can tell).
DATA=$WORK/corrupt
TOPIC_DIR=$DATA/default/corrupt.t
start_broker corrupt1 --data "$DATA" --segment-bytes 64KiB
seq -f 'c-%g' 1 4000 | "$EDATOOL" pub corrupt.t
stop_broker "$BROKER_PID" "(e) broker"
victim=$(find "$TOPIC_DIR" -name '*.log' | sort | sed -n 2p)
# Flip one digit of the payload of the victim segment's middle record: c-NNNN becomes another c-NNNN.
flipped=$(/usr/bin/python3 - "$victim" <<'PY'
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
pos, records = 32, []
while pos + 16 <= len(data):
    (length,) = struct.unpack_from("<I", data, pos)
    records.append((pos, length))
    pos += 16 + length
start, length = records[len(records) // 2]
body = data[start + 16:start + 16 + length]
base = struct.unpack_from("<Q", data, 12)[0]
offset = base + len(records) // 2
needle = b"c-%d" % (offset + 1)
at = body.find(needle)
assert at >= 0, "payload not found in the record body"
data[start + 16 + at + len(needle) - 1] ^= 0x01  # last digit: 0<->1, 2<->3, ...
open(path, "wb").write(bytes(data))
print(offset)
PY
)
echo "(e) flipped a payload byte of offset $flipped in $victim" >&2
start_broker corrupt2 --data "$DATA" --segment-bytes 64KiB
run "$EDATOOL" sub corrupt.t --from earliest -e --timeout 20s --template '%o %s\n'
check_eq "$RC" 0 "(e) sub over a corrupt record exits 0"
printf '%s\n' "$OUT" >"$WORK/corrupt.txt"
# Every delivered line is exactly the message published at its offset.
bad=$(awk '$2 != "c-" ($1 + 1) { n++ } END { print n + 0 }' "$WORK/corrupt.txt")
check_eq "$bad" 0 "(e) payloads that do not match their offset (garbage delivered)"
check_eq "$(grep -c "^$flipped " "$WORK/corrupt.txt" || true)" 0 "(e) the corrupt record at offset $flipped is not delivered"
if awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad }' "$WORK/corrupt.txt"; then
  pass
else
  fail "(e) offsets not increasing after a corrupt record"
fi
check_eq "$(tail -1 "$WORK/corrupt.txt")" "3999 c-4000" "(e) later segments are still served"
check_eq "$(grep -c '^0 c-1$' "$WORK/corrupt.txt" || true)" 1 "(e) earlier segments are still served"
check_contains "$ERR" "offset $flipped" "(e) subscriber is told about the corrupt record"
check_contains "$(cat "$WORK/corrupt2.log")" "offset $flipped" "(e) broker log reports the corrupt record"
if kill -0 "$BROKER_PID" 2>/dev/null; then pass; else fail "(e) broker died on a corrupt record"; fi
delivered_before=$(awk -v f="$flipped" -v b="$(basename "$victim" .log)" '$1 >= b + 0 && $1 < f' "$WORK/corrupt.txt" | wc -l)
# Only the corrupt record and the rest of its segment may be skipped; the
# intact records before it in the same segment are owed to the subscriber.
check_eq "$delivered_before" "$((flipped - $(basename "$victim" .log | sed 's/^0*//')))" \
  "(e) intact records of the corrupt segment before offset $flipped that were delivered"
run "$EDATOOL" pub corrupt.t after
check_eq "$RC:$("$EDATOOL" sub corrupt.t --from -1 -e --template '%o %s\n')" "0:4000 after" "(e) publishing still works"
run "$EDATOOL" replay corrupt.t --data "$DATA" --template '%o %s\n'
printf '%s\n' "$OUT" >"$WORK/corrupt-replay.txt"
check_eq "$(awk '$2 != "c-" ($1 + 1) && $2 != "after" { n++ } END { print n + 0 }' "$WORK/corrupt-replay.txt")" 0 \
  "(e) offline replay delivers no garbage"
check_contains "$ERR" "offset $flipped" "(e) offline replay reports the corrupt record"
stop_broker "$BROKER_PID" "(e) broker"

# ---------------------------------------------------------------------------
# (f) replay equals sub, byte for byte, online and offline; --from -N,
# --from @TIME, --to N (inclusive), --to @TIME and --republish.
DATA=$WORK/replay
start_broker replay1 --data "$DATA"
seq -f 'r-%g' 1 300 | "$EDATOOL" pub -k key-a -H group=a replay.t
first_group_end=$(now_ms)
wait_past_ms "$first_group_end"
second_group_start=$(now_ms)
wait_past_ms "$second_group_start"
seq -f 'r-%g' 301 500 | "$EDATOOL" pub -H group=b -H n:=2 replay.t
printf 'bin\0ary\xff\n' | "$EDATOOL" pub --whole replay.bin
"$EDATOOL" pub replay.bin 'plain text'
for fmt in raw json; do
  "$EDATOOL" sub replay.t --from earliest -e --format "$fmt" >"$WORK/sub.$fmt"
  "$EDATOOL" replay replay.t --format "$fmt" >"$WORK/replay-online.$fmt"
  "$EDATOOL" replay replay.t --data "$DATA" --format "$fmt" >"$WORK/replay-offline-running.$fmt"
  if cmp -s "$WORK/sub.$fmt" "$WORK/replay-online.$fmt"; then pass; else fail "(f) replay ($fmt) differs from sub"; fi
  if cmp -s "$WORK/sub.$fmt" "$WORK/replay-offline-running.$fmt"; then pass; else
    fail "(f) replay --data ($fmt, broker running) differs from sub"; fi
done
check_eq "$(line_count "$WORK/sub.json")" 500 "(f) sub read all 500"
"$EDATOOL" sub replay.bin --from earliest -e --format json >"$WORK/sub-bin.json"
"$EDATOOL" sub replay.bin --from earliest -e >"$WORK/sub-bin.raw"
"$EDATOOL" replay replay.bin --data "$DATA" --format json >"$WORK/replay-bin.json"
"$EDATOOL" replay replay.bin --data "$DATA" >"$WORK/replay-bin.raw"
if cmp -s "$WORK/sub-bin.json" "$WORK/replay-bin.json" && cmp -s "$WORK/sub-bin.raw" "$WORK/replay-bin.raw"; then
  pass
else
  fail "(f) replay --data of a binary payload differs from sub"
fi
check_eq "$("$EDATOOL" replay replay.t --from -3)" $'r-498\nr-499\nr-500' "(f) replay --from -3"
check_eq "$("$EDATOOL" replay replay.t --data "$DATA" --from -3)" $'r-498\nr-499\nr-500' "(f) replay --data --from -3"
at=$(rfc3339_ms "$second_group_start")
run "$EDATOOL" replay replay.t --data "$DATA" --from "@$at" --template '%o %s\n'
check_eq "$RC:$(printf '%s\n' "$OUT" | sed -n '1p;$p' | tr '\n' ' ')$(printf '%s\n' "$OUT" | wc -l)" \
  "0:300 r-301 499 r-500 200" "(f) replay --data --from @$at: first, last, count"
run "$EDATOOL" replay replay.t --from "@$at" --template '%o %s\n'
check_eq "$RC:$(printf '%s\n' "$OUT" | md5sum)" "0:$(numbered 300 r 301 500 | md5sum)" "(f) replay --from @$at through the broker"
check_eq "$("$EDATOOL" replay replay.t --to 10 --template '%o %s\n' | tr '\n' ' ')" \
  "$(numbered 0 r 1 11 | tr '\n' ' ')" "(f) replay --to 10 is inclusive"
check_eq "$("$EDATOOL" replay replay.t --data "$DATA" --from 100 --to 100 --template '%o %s\n')" "100 r-101" "(f) replay --data --from 100 --to 100"
before=$(rfc3339_ms "$first_group_end")
run "$EDATOOL" replay replay.t --data "$DATA" --to "@$before"
check_eq "$RC:$(printf '%s\n' "$OUT" | tail -1):$(printf '%s\n' "$OUT" | wc -l)" "0:r-300:300" "(f) replay --to @TIME stops at the first group"
run "$EDATOOL" replay replay.t --republish replay.copy
check_eq "$RC" 0 "(f) replay --republish"
fields='%i|%k|%h|%s\n'
check_eq "$("$EDATOOL" sub replay.copy --from earliest -e --template "$fields" | md5sum)" \
  "$("$EDATOOL" sub replay.t --from earliest -e --template "$fields" | md5sum)" "(f) --republish copies ids, keys, headers, payloads"
if [ "$("$EDATOOL" sub replay.copy --from earliest -n 1 --template '%T')" == "$("$EDATOOL" sub replay.t --from earliest -n 1 --template '%T')" ]; then
  echo "(f) observed: --republish keeps the original timestamps" >&2
else
  echo "(f) observed: --republish gives the copies new timestamps (ts is not kept)" >&2
fi
run "$EDATOOL" replay replay.t --from 450 --to 459 --republish replay.part
check_eq "$RC:$("$EDATOOL" sub replay.part --from earliest -e --template '%o %s\n' | sed -n '1p;$p' | tr '\n' ' ')" \
  "0:0 r-451 9 r-460 " "(f) --republish --from --to copies that range into offsets 0.."
stop_broker "$BROKER_PID" "(f) broker"
for fmt in raw json; do
  "$EDATOOL" replay replay.t --data "$DATA" --format "$fmt" >"$WORK/replay-offline.$fmt"
  if cmp -s "$WORK/sub.$fmt" "$WORK/replay-offline.$fmt"; then pass; else
    fail "(f) replay --data ($fmt, broker stopped) differs from sub"; fi
done
run "$EDATOOL" replay no.such.topic --data "$DATA"
check_error 1 "no.such.topic" "(f) replay --data of a missing topic"

# ---------------------------------------------------------------------------
# (g) Retention by bytes: whole segments go, oldest first, never the last.
DATA=$WORK/retention
TOPIC_DIR=$DATA/default/ret.t
# Retention removes whole segments, never the last, and a segment may exceed
# --segment-bytes by one publish batch (~256 KiB): allow for that.
retained_max=$((640 * 1024))
RET_URL="tcp://127.0.0.1:$(free_port)"
start_broker_at ret1 "$RET_URL" --data "$DATA" --segment-bytes 64KiB --retention-bytes 200KiB
for chunk in $(seq 0 15); do
  fat_lines $((chunk * 64)) $((chunk * 64 + 63)) | "$EDATOOL" pub ret.t
done
retained() {
  local first bytes
  first=$(stats_field ret.t first_offset)
  bytes=$(stats_field ret.t bytes)
  [ -n "$first" ] && [ "$first" -gt 0 ] && [ "$bytes" -le "$retained_max" ]
}
if wait_until 10 retained; then pass; else
  fail "(g) retention did not bring ret.t near 200KiB: $("$EDATOOL" topic stats --json)"
fi
first=$(stats_field ret.t first_offset)
bytes=$(stats_field ret.t bytes)
check_lt "$bytes" "$retained_max" "(g) topic bytes after retention (limit + one segment + one batch)"
check_eq "$(stats_field ret.t next_offset)" 1024 "(g) next offset unchanged by retention"
on_disk=$(find "$TOPIC_DIR" -name '*.log' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
check_eq "$on_disk" "$bytes" "(g) segment files on disk add up to the reported bytes"
check_eq "$(find "$TOPIC_DIR" -name '*.log' | sort | head -1 | xargs -r basename)" "$(printf '%020d.log' "$first")" \
  "(g) the first segment on disk starts at the first offset"
run "$EDATOOL" sub ret.t --from 0 -e --template '%o\n'
check_eq "$RC:$(printf '%s\n' "$OUT" | head -1):$(printf '%s\n' "$OUT" | tail -1)" "0:$first:1023" "(g) sub --from 0 starts at the earliest retained offset"
if [[ "$ERR" == *retention* ]]; then
  echo "(g) observed: sub --from 0 below the earliest offset mentions retention: $ERR" >&2
else
  echo "(g) observed: sub --from 0 below the earliest offset ($first) is clamped silently (no notice on stderr)" >&2
fi
run "$EDATOOL" replay ret.t --data "$DATA" --from 0 --template '%o\n'
check_eq "$RC:$(printf '%s\n' "$OUT" | head -1)" "0:$first" "(g) replay --data --from 0 starts at the earliest retained offset"
# A subscriber that falls behind retention: its stdout is a FIFO nobody reads,
# so it stops granting credit; then 18 MB more go by (past its 16 MiB credit).
mkfifo "$WORK/ret.fifo"
exec 3<>"$WORK/ret.fifo"
"$EDATOOL" -v sub ret.t --from earliest --template '%o %s\n' >"$WORK/ret.fifo" 2>"$WORK/ret-sub.log" 3<&- &
behind=$!
BACKGROUND_PIDS+=("$behind")
wait_for_line "$WORK/ret-sub.log" 'subscribed to'
fat_lines_4k 1024 5523 | "$EDATOOL" pub ret.t
# Retention is done with the new messages once next_offset is 5524 and at most 200KiB are left.
past_credit() { [ "$(stats_field ret.t next_offset)" -eq 5524 ] && [ "$(stats_field ret.t bytes)" -le "$retained_max" ]; }
if wait_until 10 past_credit; then pass; else fail "(g) retention did not follow 18 MB of new messages"; fi
cat <"$WORK/ret.fifo" >"$WORK/ret-sub.out" 3<&- &
reader=$!
BACKGROUND_PIDS+=("$reader")
exec 3<&-
if wait_for_line "$WORK/ret-sub.out" '^5523 ' 20; then pass; else fail "(g) the lagging subscriber did not reach the end"; fi
kill -TERM "$behind"
wait_for_exit "$behind" 5
wait_for_exit "$reader" 5
check_contains "$(cat "$WORK/ret-sub.log")" "removed by retention" "(g) the lagging subscriber is told it fell behind retention"
if gap_free "$WORK/ret-sub.out"; then
  fail "(g) the lagging subscriber saw no gap although it fell behind retention"
else
  pass
fi
if awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad }' "$WORK/ret-sub.out"; then pass; else
  fail "(g) the lagging subscriber's offsets are not increasing"; fi
# The same across a broker restart: the subscriber holds a cursor (it has
# read the last messages into a full FIFO), the broker restarts, 18 MB go
# by, then the subscriber resumes where it left off, which retention removed.
mkfifo "$WORK/ret2.fifo"
exec 4<>"$WORK/ret2.fifo"
# Retention left only a few 4 KB messages: print each payload 8 times to fill the FIFO.
resume_first=$(stats_field ret.t first_offset)
"$EDATOOL" -v sub ret.t --from -100 --template '%o %s %s %s %s %s %s %s %s\n' >"$WORK/ret2.fifo" 2>"$WORK/ret2-sub.log" 4<&- &
resumer=$!
BACKGROUND_PIDS+=("$resumer")
fifo_full() { [ "$(fifo_bytes "$WORK/ret2.fifo")" -ge $((65536 - 4096)) ]; }
if wait_until 10 fifo_full; then pass; else fail "(g) the subscriber did not fill its FIFO"; fi
stop_broker "$BROKER_PID" "(g) broker before the restart"
# (4<&-: the broker must not hold the FIFO open, or its reader never sees the end.)
start_broker_at ret1b "$RET_URL" --data "$DATA" --segment-bytes 64KiB --retention-bytes 200KiB 4<&-
fat_lines_4k 5524 10023 | "$EDATOOL" pub ret.t
past_resume() { [ "$(stats_field ret.t first_offset)" -gt 9000 ]; }
if wait_until 10 past_resume; then pass; else fail "(g) retention did not follow 18 MB after the restart"; fi
cat <"$WORK/ret2.fifo" >"$WORK/ret2-sub.out" 4<&- &
reader=$!
BACKGROUND_PIDS+=("$reader")
exec 4<&-
if wait_for_line "$WORK/ret2-sub.out" '^10023 ' 20; then pass; else fail "(g) the resumed subscriber did not reach the end"; fi
kill -TERM "$resumer"
wait_for_exit "$resumer" 5
wait_for_exit "$reader" 5
check_contains "$(cat "$WORK/ret2-sub.log")" "restarted" "(g) the subscriber noticed the broker restart"
check_eq "$(head -1 "$WORK/ret2-sub.out" | cut -d' ' -f1)" "$resume_first" "(g) the subscriber started at the earliest offset"
if gap_free "$WORK/ret2-sub.out"; then
  fail "(g) the resumed subscriber saw no gap although retention removed its position"
else
  pass
  jump=$(awk 'NR > 1 && $1 != prev + 1 { print prev "->" $1; exit } { prev = $1 }' "$WORK/ret2-sub.out")
  check_contains "$(cat "$WORK/ret2-sub.log")" "removed by retention" \
    "(g) a subscriber resumed after a restart behind retention (offsets $jump) is told so on stderr"
fi
stop_broker "$BROKER_PID" "(g) broker"
# Retention by age: every segment but the last goes once its newest record is old enough.
start_broker ret2 --data "$WORK/retention-age" --segment-bytes 64KiB --retention-age 1s
seq -f 'age-%g' 1 3000 | "$EDATOOL" pub age.t
aged() { [ "$(stats_field age.t first_offset)" -gt 0 ]; }
if wait_until 10 aged; then pass; else fail "(g) --retention-age 1s removed nothing: $("$EDATOOL" topic stats --json)"; fi
check_eq "$(stats_field age.t first_offset):$(stats_field age.t next_offset)" "2000:3000" "(g) age retention keeps only the last segment"
check_eq "$("$EDATOOL" sub age.t --from -1 -e)" "age-3000" "(g) the last message survives age retention"
stop_broker "$BROKER_PID" "(g) age broker"

# ---------------------------------------------------------------------------
# (h) tail -n and tail -f; (i) topic list, stats, delete.
DATA=$WORK/admin
start_broker admin1 --data "$DATA"
seq -f 'tail-%g' 1 50 | "$EDATOOL" pub tail.t
check_eq "$("$EDATOOL" tail tail.t -n 3)" $'tail-48\ntail-49\ntail-50' "(h) tail -n 3"
check_eq "$("$EDATOOL" tail tail.t | wc -l)" 10 "(h) tail shows 10 by default"
"$EDATOOL" tail tail.t -n 2 -f >"$WORK/tailf.out" 2>"$WORK/tailf.err" &
tailf=$!
BACKGROUND_PIDS+=("$tailf")
wait_for_line "$WORK/tailf.out" '^tail-50$'
"$EDATOOL" pub tail.t tail-51 tail-52
if wait_for_line "$WORK/tailf.out" '^tail-52$'; then pass; else fail "(h) tail -f did not follow"; fi
if kill -0 "$tailf" 2>/dev/null; then pass; else fail "(h) tail -f exited"; fi
kill -TERM "$tailf"
wait_for_exit "$tailf" 5
check_eq "$(cat "$WORK/tailf.out")" $'tail-49\ntail-50\ntail-51\ntail-52' "(h) tail -n 2 -f output"

"$EDATOOL" pub admin.b x y
"$EDATOOL" pub admin.a z
check_eq "$("$EDATOOL" topic list)" $'admin.a\nadmin.b\ntail.t' "(i) topic list"
check_eq "$("$EDATOOL" topic list 'admin.*')" $'admin.a\nadmin.b' "(i) topic list PATTERN"
check_eq "$(stats_field tail.t messages):$(stats_field tail.t first_offset):$(stats_field tail.t next_offset)" \
  "52:0:52" "(i) topic stats --json counts"
check_eq "$(stats_field admin.b bytes)" "$(stat -c %s "$DATA/default/admin.b/00000000000000000000.log")" "(i) stats bytes = segment size"
run "$EDATOOL" topic stats
check_eq "$RC:$(printf '%s\n' "$OUT" | sed -n 1p | awk '{ print $1, $2 }')" "0:TOPIC MESSAGES" "(i) topic stats table header"
check_eq "$(printf '%s\n' "$OUT" | awk '$1 == "tail.t" { print $2, $4, $5 }')" "52 0 52" "(i) topic stats table row"
run "$EDATOOL" topic delete admin.b
check_eq "$RC" 0 "(i) topic delete"
check_eq "$("$EDATOOL" topic list)" $'admin.a\ntail.t' "(i) deleted topic is gone from the list"
if [ -e "$DATA/default/admin.b" ]; then fail "(i) deleted topic's directory is still on disk"; else pass; fi
run "$EDATOOL" topic delete admin.b
check_error 1 "admin.b" "(i) deleting a missing topic"
run "$EDATOOL" topic delete never.existed
check_error 1 "never.existed" "(i) deleting a topic that never existed"
stop_broker "$BROKER_PID" "(i) broker"
start_broker admin2 --data "$DATA"
check_eq "$("$EDATOOL" topic list)" $'admin.a\ntail.t' "(i) the deletion survives a restart"
stop_broker "$BROKER_PID" "(i) broker after restart"

finish
