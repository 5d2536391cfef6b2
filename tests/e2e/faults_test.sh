#!/usr/bin/env bash
# Faults: a broker restarted under a publisher, subscribers killed or stalled,
# malformed frames, and a clean stop on SIGTERM (DESIGN §5, §8).
source "$(dirname "$0")/lib.sh"
# Brokers keep their data under $WORK, never in the user's data directory.

# stored_count TOPIC: how many messages the broker at $EDATOOL_BROKER holds.
stored_count() { "$EDATOOL" sub "$1" --from earliest -e --timeout 5s 2>/dev/null | wc -l; }
has_stored() { [ "$(stored_count "$1")" -gt 0 ]; }
file_has_lines() { [ "$(line_count "$1")" -ge "$2" ]; }
# has_unread_bytes PORT: a connection accepted on local PORT has received bytes
# its owner has not read yet (rx_queue in /proc/net/tcp).
has_unread_bytes() {
  awk -v port="$(printf '%04X' "$1")" '
    $4 == "01" && substr($2, index($2, ":") + 1) == port && substr($5, index($5, ":") + 1) != "00000000" { found = 1 }
    END { exit !found }' /proc/net/tcp
}

# ---------------------------------------------------------------------------
# (a) An in-memory broker is killed and restarted on the same port while pub
# is running: the new one starts empty and must receive the unconfirmed tail.
port=$(free_port)
start_broker_at restart1 "tcp://127.0.0.1:$port" --memory
first_broker=$BROKER_PID
seq 3000 | "$EDATOOL" -v pub --rate 500 restart.t >"$WORK/restart-pub.out" 2>"$WORK/restart-pub.err" &
restart_pub=$!
BACKGROUND_PIDS+=("$restart_pub")
if wait_until 10 has_stored restart.t; then pass; else fail "(a) nothing stored by the first broker"; fi
if kill -0 "$restart_pub" 2>/dev/null; then pass; else fail "(a) pub finished before the broker was killed"; fi
# Freeze the broker until pub has sent it bytes it never reads, then kill it:
# at least one batch is certainly lost in flight and must be sent again (a
# plain kill -9 loses one only when it happens to land mid-batch).
kill -STOP "$first_broker"
if wait_until 10 has_unread_bytes "$port"; then pass; else fail "(a) pub sent nothing to the frozen broker"; fi
kill -9 "$first_broker"
wait_for_exit "$first_broker" 5
start_broker_at restart2 "tcp://127.0.0.1:$port" --memory
wait_for_exit "$restart_pub" 30
pub_err=$(cat "$WORK/restart-pub.err")
# Either every message was confirmed (by one broker or the other), or pub says
# exactly how many were not.
if [ "$WAIT_RC" -eq 0 ]; then
  pass
  echo "(a) observed: pub exited 0 after the broker restart" >&2
elif [ "$WAIT_RC" -eq 1 ] && [[ "$pub_err" =~ edatool:\ .*[0-9]+\ of\ 3000\ messages\ not\ (confirmed|published) ]]; then
  pass
  echo "(a) observed: pub exited 1: $pub_err" >&2
else
  fail "(a) pub across a broker restart: expected exit 0, or 1 saying how many were not confirmed; got $WAIT_RC: $pub_err"
fi
run "$EDATOOL" sub restart.t --from earliest -e
check_eq "$RC" 0 "(a) reading the second broker"
printf '%s\n' "$OUT" >"$WORK/restart-got.txt"
if grep -qx 3000 "$WORK/restart-got.txt"; then pass; else fail "(a) the second broker lacks the last message"; fi
first=$(sort -n "$WORK/restart-got.txt" | sed -n 1p)
if [ "$first" -gt 1 ]; then pass; else fail "(a) the second broker holds message 1: was the first one really killed?"; fi
# The second broker holds the tail: every message from its first on, exactly once...
check_eq "$(sort -n "$WORK/restart-got.txt" | md5sum)" "$(seq "$first" 3000 | md5sum)" \
  "(a) the second broker holds messages $first..3000, each exactly once"
# ...and in the order they were read from stdin: pub resends what the dead
# broker did not confirm before anything newer (transport/publisher.cpp).
if cmp -s "$WORK/restart-got.txt" <(seq "$first" 3000); then
  pass
else
  fail "(a) the second broker holds the tail out of order; first difference: $(
    diff <(seq "$first" 3000) "$WORK/restart-got.txt" | sed -n 1,4p | tr '\n' ' ')"
fi
kill -TERM "$BROKER_PID"
wait_for_exit "$BROKER_PID" 5

# ---------------------------------------------------------------------------
# (b) A subscriber killed with -9 mid-stream disturbs neither the broker nor
# another subscriber.
start_broker killsub
start_sub victim kill.t
victim=$SUB_PID
start_sub survivor kill.t -n 11000
survivor=$SUB_PID
seq 1000 | "$EDATOOL" pub --rate 2000 kill.t &
kill_pub=$!
BACKGROUND_PIDS+=("$kill_pub")
if wait_until 10 file_has_lines "$WORK/victim.out" 100; then pass; else fail "(b) the victim got nothing"; fi
kill -9 "$victim"
wait_for_exit "$kill_pub" 10
check_eq "$WAIT_RC" 0 "(b) pub while a subscriber was killed"
seq 1001 11000 >"$WORK/kill-more.in"
run "$EDATOOL" pub kill.t <"$WORK/kill-more.in"
check_eq "$RC" 0 "(b) publishing 10000 more after the kill"
wait_for_exit "$survivor" 15
check_eq "$WAIT_RC" 0 "(b) surviving subscriber exit status"
check_eq "$(line_count "$WORK/survivor.out")" 11000 "(b) surviving subscriber count"
check_eq "$(md5sum <"$WORK/survivor.out")" "$(seq 11000 | md5sum)" "(b) surviving subscriber got all, in order"
if kill -0 "$BROKER_PID" 2>/dev/null; then pass; else fail "(b) broker died"; fi
check_eq "$(stored_count kill.t)" 11000 "(b) broker still serves and holds all 11000"
start_sub late kill.t --from -1 -n 2
late=$SUB_PID
"$EDATOOL" pub kill.t after-kill
wait_for_exit "$late" 10
check_eq "$WAIT_RC:$(cat "$WORK/late.out")" $'0:11000\nafter-kill' "(b) a new live subscriber works after the kill"

# ---------------------------------------------------------------------------
# (c) A stalled consumer loses nothing: its stdout is a FIFO nobody reads until
# all 200000 messages are published.
mkfifo "$WORK/stall.fifo"
# Hold the FIFO open read-write so the subscriber's open for writing does not
# block; nothing ever reads this descriptor.
exec 3<>"$WORK/stall.fifo"
"$EDATOOL" -v sub stall.t -n 200000 >"$WORK/stall.fifo" 2>"$WORK/stall.log" 3<&- &
stalled=$!
BACKGROUND_PIDS+=("$stalled")
wait_for_line "$WORK/stall.log" 'subscribed to'
seq 200000 >"$WORK/stall.in"
run "$EDATOOL" pub stall.t <"$WORK/stall.in"
check_eq "$RC" 0 "(c) publishing 200000 while a subscriber is stalled"
if kill -0 "$stalled" 2>/dev/null; then pass; else fail "(c) the stalled subscriber exited before anyone read it"; fi
cat <"$WORK/stall.fifo" >"$WORK/stall.out" 3<&- &
reader=$!
BACKGROUND_PIDS+=("$reader")
exec 3<&- # now the reader is the only one; it sees EOF when the subscriber exits
wait_for_exit "$stalled" 30
check_eq "$WAIT_RC" 0 "(c) stalled subscriber exit status"
wait_for_exit "$reader" 10
check_eq "$(line_count "$WORK/stall.out")" 200000 "(c) stalled subscriber count"
check_eq "$(md5sum <"$WORK/stall.out")" "$(md5sum <"$WORK/stall.in")" "(c) stalled subscriber got all, in order"

# ---------------------------------------------------------------------------
# (d) Malformed frames get ERROR replies (header [1, 15]) and the broker keeps
# serving. Each line: case name, reply header command, error code.
/usr/bin/python3 - "$BROKER_URL" >"$WORK/malformed.out" 2>"$WORK/malformed.err" <<'PY' || true
import sys, zmq

ctx = zmq.Context()
cases = [
    ("one-frame", [b"\x01\x05"]),
    ("three-frames", [b"\x01\x05", b"\x92\x01\x90", b"extra"]),
    ("empty-header", [b"", b"\x91\x01"]),
    ("long-header", [b"\x01\x05\x00", b"\x91\x01"]),
    ("bad-version", [b"\x09\x05", b"\x92\x01\x90"]),
    ("unknown-command", [b"\x01\x63", b"\x91\x01"]),
    ("broker-only-command", [b"\x01\x06", b"\x92\x01\x90"]),
    ("publish-not-msgpack", [b"\x01\x05", b"\xc1\xc1 this is not msgpack"]),
    ("publish-truncated", [b"\x01\x05", b"\x92\x01\xdc\xff"]),
    ("publish-wrong-types", [b"\x01\x05", b"\x92\xa3abc\x07"]),
    ("publish-envelope-not-array", [b"\x01\x05", b"\x92\x01\x91\xa1x"]),
    ("publish-not-array", [b"\x01\x05", b"\x2a"]),
    ("subscribe-wrong-types", [b"\x01\x07", b"\x92\xc3\xc2"]),
    ("ping-empty-body", [b"\x01\x03", b""]),
    ("credit-wrong-types", [b"\x01\x09", b"\x93\xa1a\xa1b\xa1c"]),
]
for name, frames in cases:
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(sys.argv[1])
    s.send_multipart(frames)
    if s.poll(3000):
        reply = s.recv_multipart()
        header, body = reply[0], reply[-1]
        cmd = header[1] if len(header) == 2 else -1
        # ERROR body: [req_id, code, text] -> fixarray(3), positive fixint req_id, code
        code = body[2] if cmd == 15 and len(body) > 2 and body[0] == 0x93 else -1
        print(name, len(reply), cmd, code)
    else:
        print(name, "no-reply")
    s.close()
PY
if [ -s "$WORK/malformed.err" ]; then fail "(d) python client failed: $(cat "$WORK/malformed.err")"; fi
for name in one-frame three-frames empty-header long-header unknown-command broker-only-command \
  publish-not-msgpack publish-truncated publish-wrong-types publish-envelope-not-array \
  publish-not-array subscribe-wrong-types ping-empty-body credit-wrong-types; do
  check_eq "$(grep "^$name " "$WORK/malformed.out" || echo "$name missing")" "$name 2 15 1" \
    "(d) $name gets a 2-frame ERROR reply with code 1 (bad frame)"
done
check_eq "$(grep "^bad-version " "$WORK/malformed.out" || echo "bad-version missing")" "bad-version 2 15 2" \
  "(d) bad version gets a 2-frame ERROR reply with code 2 (unsupported version)"
if kill -0 "$BROKER_PID" 2>/dev/null; then pass; else fail "(d) broker died on malformed frames"; fi
start_sub after-garbage after.garbage -n 2
after_garbage=$SUB_PID
run "$EDATOOL" pub after.garbage still fine
check_eq "$RC" 0 "(d) pub after malformed frames"
wait_for_exit "$after_garbage" 10
check_eq "$WAIT_RC:$(cat "$WORK/after-garbage.out")" $'0:still\nfine' "(d) live sub after malformed frames"

# ---------------------------------------------------------------------------
# (e) SIGTERM: the broker stops within 2 s, exit status 0, "broker stopped",
# even with a subscriber still connected.
start_sub idle idle.t
idle=$SUB_PID
term_started=$(now_ms)
kill -TERM "$BROKER_PID"
wait_for_exit "$BROKER_PID" 5
check_eq "$WAIT_RC" 0 "(e) broker exit status after SIGTERM"
check_lt "$(($(now_ms) - term_started))" 2000 "(e) broker stops within 2 s of SIGTERM (ms)"
check_contains "$(cat "$WORK/killsub.log")" "edatool: broker stopped" "(e) broker logs 'broker stopped'"
kill -TERM "$idle"
wait_for_exit "$idle" 5
check_eq "$WAIT_RC" 130 "(e) subscriber interrupted by SIGTERM"

finish
