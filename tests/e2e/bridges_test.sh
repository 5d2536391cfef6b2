#!/usr/bin/env bash
# ZeroMQ bridges (issue 9, docs/PROTOCOL.md "Bridges") with a client no one
# here wrote: Debian's pyzmq as a plain SUB on --tap and a plain PUSH on --ingest.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
PY=/usr/bin/python3 # Debian's interpreter: it has python3-zmq and python3-msgpack

# ---- flag errors ----
run "$EDATOOL" broker --memory --bind 'tcp://127.0.0.1:*' --tap foo
check_error 2 "--tap URL 'foo' is not tcp://HOST:PORT or ipc://PATH" "a --tap URL that is no URL"
run "$EDATOOL" broker --memory --bind 'tcp://127.0.0.1:*' --ingest tcp://127.0.0.1
check_error 2 "--ingest URL 'tcp://127.0.0.1' has no port" "an --ingest URL without a port"
"$EDATOOL" keygen --out server >/dev/null
run "$EDATOOL" broker --memory --curve-secret server.key --authorized-keys server.pub --tap 'tcp://127.0.0.1:*'
check_error 2 "cannot be combined with --curve-secret" "--tap with CURVE"

start_broker broker --memory --max-message-bytes 1KiB --tap 'tcp://127.0.0.1:*' \
  --tap "ipc://$WORK/tap.sock" --ingest 'tcp://127.0.0.1:*'
wait_for_line "$WORK/broker.log" 'ingest listening on tcp://'
TAP=$(grep -oE 'tap listening on tcp://[0-9.]+:[0-9]+' broker.log | grep -oE 'tcp://.*')
INGEST=$(grep -oE 'ingest listening on tcp://[0-9.]+:[0-9]+' broker.log | grep -oE 'tcp://.*')
check_contains "$(cat broker.log)" "tap listening on ipc://$WORK/tap.sock" "the ipc tap is announced"

run "$EDATOOL" broker --memory --bind 'tcp://127.0.0.1:*' --tap "$TAP"
check_error 1 "--tap: cannot listen on $TAP" "a --tap port in use"

# ---- tap: a plain SUB with prefix subscriptions ----
# Subscribes to "orders." and "sync" on the tap (tcp, or the ipc one for the
# second SUB), says "synced" at the first sync message, then writes every
# non-sync message as "topic payload" until it has $2 of them.
cat >tap_sub.py <<'PY'
import sys, zmq
url, want = sys.argv[1], int(sys.argv[2])
s = zmq.Context().socket(zmq.SUB)
s.setsockopt(zmq.SUBSCRIBE, b"orders.")
s.setsockopt(zmq.SUBSCRIBE, b"sync")
s.connect(url)
got = 0
synced = False
while got < want:
    if not s.poll(10000):
        print("timed out after %d messages" % got, file=sys.stderr)
        sys.exit(1)
    frames = s.recv_multipart()
    if frames[0] == b"sync":
        if not synced:
            synced = True
            print("synced", file=sys.stderr, flush=True)
        continue
    print(len(frames), frames[0].decode(), frames[1].decode(), flush=True)
    got += 1
PY
$PY tap_sub.py "$TAP" 200 >tap.out 2>tap.err &
tap_sub=$!
BACKGROUND_PIDS+=("$tap_sub")
$PY tap_sub.py "ipc://$WORK/tap.sock" 200 >tap_ipc.out 2>tap_ipc.err &
tap_ipc_sub=$!
BACKGROUND_PIDS+=("$tap_ipc_sub")
# A SUB's subscription reaches the XPUB a moment after it connects: publish
# to "sync" until both have seen one.
synced() { grep -q synced tap.err && grep -q synced tap_ipc.err && return 0; "$EDATOOL" pub sync x; return 1; }
wait_until 10 synced

seq 1 100 | "$EDATOOL" pub orders.eu
seq 1 50 | "$EDATOOL" pub other.x
seq 1 30 | "$EDATOOL" pub ordersx
seq 101 200 | "$EDATOOL" pub orders.us.west
wait_for_exit "$tap_sub" 15
check_eq "$WAIT_RC" 0 "tap SUB exit status ($(cat tap.err))"
wait_for_exit "$tap_ipc_sub" 15
check_eq "$WAIT_RC" 0 "ipc tap SUB exit status ($(cat tap_ipc.err))"
{
  seq 1 100 | sed 's/^/2 orders.eu /'
  seq 101 200 | sed 's/^/2 orders.us.west /'
} >tap.want
check_eq "$(cat tap.out)" "$(cat tap.want)" "the SUB got [topic][payload] for exactly the orders. messages, in order"
check_eq "$(cat tap_ipc.out)" "$(cat tap.want)" "the ipc SUB got the same"

# ---- ingest: a plain PUSH ----
cat >push.py <<'PY'
import sys, zmq, msgpack
# The context is terminated at the end: that is what waits (up to LINGER) for
# queued messages to go out. At interpreter exit pyzmq does not terminate it,
# and whatever the broker had not yet taken (past its 1000-message queue)
# was lost: under load, the tail of the flood.
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.setsockopt(zmq.LINGER, 5000)
s.connect(sys.argv[1])
headers = msgpack.packb({"source": "sensor-1", "n": 42, "ratio": 0.5, "ok": True})
for frames in [
    [b"in.plain", b"plain payload"],
    [b"in.headed", b"with headers", headers],
    [b"in.plain"],                                  # one frame
    [b"in.plain", b"x", headers, b"fourth frame"],  # four frames
    [b"a..b", b"bad topic"],
    [b"in.plain", b"x", b"\xc1 not msgpack"],
    [b"in.plain", b"x" * 2000],                     # over --max-message-bytes 1KiB
]:
    s.send_multipart(frames)
for i in range(int(sys.argv[2])):                   # a flood of malformed messages
    s.send_multipart([b"in.flood"])
s.send_multipart([b"in.plain", b"after the bad ones"])
s.close()
ctx.term()
PY
run $PY push.py "$INGEST" 1000
check_eq "$RC" 0 "the PUSH client ran ($ERR)"
stored_all() { [ "$("$EDATOOL" sub 'in.>' -e --from earliest 2>/dev/null | wc -l)" -ge 3 ]; }
wait_until 10 stored_all
run "$EDATOOL" sub 'in.>' -e --from earliest --format json
check_eq "$RC" 0 "sub -e over the ingested topics"
check_eq "$(printf '%s\n' "$OUT" | $PY -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    print(m["topic"], m["offset"], m["payload"], json.dumps(m["headers"], sort_keys=True), len(m["id"]), m["ts"] > 0)
' | sort)" "in.headed 0 with headers {\"n\": 42, \"ok\": true, \"ratio\": 0.5, \"source\": \"sensor-1\"} 26 True
in.plain 0 plain payload {} 26 True
in.plain 1 after the bad ones {} 26 True" "the ingested messages, with their headers, ids and times"

drop_lines=$(grep -F 'ingest: dropped a message: ' broker.log || true)
for reason in "got 1 (" "got 4 (" "invalid topic 'a..b'" "headers frame is not msgpack" \
  "message for in.plain is 2000 bytes, over the broker's limit of 1024 bytes"; do
  check_contains "$drop_lines" "$reason" "dropped and logged: $reason"
done
# 1005 drops, most of them in one burst: the log holds only a handful of them.
check_lt "$(grep -c 'ingest: dropped' broker.log)" 20 "a flood of malformed messages is rate-limited in the log"

# The broker kept running, and counts the drops in stats.
run "$EDATOOL" stats --json
check_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["ingest_stored"], j["ingest_dropped"])')" \
  "3 1005" "stats counts what ingest stored and dropped"
run "$EDATOOL" pub in.plain still-here
check_eq "$RC" 0 "pub after the malformed pushes"
stop_broker "$BROKER_PID"
check_contains "$(cat broker.log)" "ingest: 3 messages stored, 1005 dropped" "the totals at stop"
check_contains "$(cat broker.log)" "tap: " "the tap's total at stop"

finish
