#!/usr/bin/env bash
# The queue commands of docs/PROTOCOL.md §12a spoken by a client written from
# the document alone (Python, pyzmq + msgpack), against the real broker:
# RECEIVE, SETTLE (complete, abandon), redelivery with delivery_count 2, a
# bogus lock token, a mode out of range, and a RECEIVE that waits.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's interpreter: it has python3-zmq and python3-msgpack

start_broker broker --data "$WORK/data"
"$EDATOOL" pub wire.jobs one two

# Each line the client prints is "name value"; the checks below compare them.
"$PY" - "$BROKER_URL" "$EDATOOL" >"$WORK/wire.out" 2>"$WORK/wire.err" <<'PY' || true
import subprocess, sys, time
import msgpack, zmq

url, edatool = sys.argv[1], sys.argv[2]
RECEIVE, RECEIVED, SETTLE, SETTLED, ERROR = 19, 20, 21, 22, 15
PEEK_LOCK, COMPLETE, ABANDON = 0, 1, 2
TOPIC, QUEUE = "wire.jobs", "$queue"   # a queue is its topic's "$queue" group

s = zmq.Context().socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect(url)

def send(command, body):
    s.send_multipart([bytes([1, command]), msgpack.packb(body)])

def recv(timeout_ms=5000):
    if not s.poll(timeout_ms, zmq.POLLIN):
        raise RuntimeError("no answer from the broker")
    header, body = s.recv_multipart()
    assert len(header) == 2 and header[0] == 1, header
    return header[1], msgpack.unpackb(body)

def receive(req_id, max, wait_ms=0, mode=PEEK_LOCK):
    # RECEIVE [req_id, topic, group, max, lock_ms, mode, wait_ms]
    send(RECEIVE, [req_id, TOPIC, QUEUE, max, 0, mode, wait_ms])
    command, body = recv(wait_ms + 5000)
    assert command == RECEIVED and body[0] == req_id, (command, body)
    _, envelopes, locks = body
    assert len(envelopes) == len(locks), body
    # envelope: [id, topic, key, headers, ts, payload, offset]; lock: [token, count, expiry]
    return [(e[5].decode(), e[6], token, count, expiry)
            for e, (token, count, expiry) in zip(envelopes, locks)]

def settle(req_id, settlements):
    # SETTLE [req_id, topic, group, [[lock_token, action, reason, description]...]]
    send(SETTLE, [req_id, TOPIC, QUEUE, [[t, a, "", ""] for t, a in settlements]])
    command, body = recv()
    assert command == SETTLED and body[0] == req_id, (command, body)
    return body[1]

now = int(time.time() * 1000)
first = receive(1, 2)
print("first", " ".join(f"{p}@{o}:{c}" for p, o, _, c, _ in first))
print("locks_are_u64", all(0 <= t < 1 << 64 for _, _, t, _, _ in first))
print("expiry_in_future", all(e > now for *_, e in first))
tokens = {p: t for p, _, t, _, _ in first}
print("settled", settle(2, [(tokens["one"], COMPLETE), (tokens["two"], ABANDON)]))

again = receive(3, 2)
print("again", " ".join(f"{p}@{o}:{c}" for p, o, _, c, _ in again))
bogus = 0x0123456789ABCDEF if again[0][2] != 0x0123456789ABCDEF else 1
errors = settle(4, [(bogus, COMPLETE), (again[0][2], COMPLETE)])
print("bogus_error_nonempty", errors[0] != "")
print("bogus_error", errors[0])
print("second_of_batch", repr(errors[1]))

# A RECEIVE that waits: an empty queue answers when the wait ends, with no envelopes...
start = time.monotonic()
print("waited_empty", receive(5, 1, wait_ms=300))
print("waited_long_enough", time.monotonic() - start >= 0.25)
# ...and is answered early by a message published meanwhile.
send(RECEIVE, [6, TOPIC, QUEUE, 1, 0, PEEK_LOCK, 10000])
time.sleep(0.2)  # a delay the RECEIVE has to wait through, not a readiness wait
start = time.monotonic()
subprocess.run([edatool, "-b", url, "pub", TOPIC, "three"], check=True)
command, body = recv(15000)
print("parked_answer", command, body[0], [e[5].decode() for e in body[1]], body[2][0][1])
print("parked_answered_early", time.monotonic() - start < 5)
settle(7, [(body[2][0][0], COMPLETE)])

send(RECEIVE, [8, TOPIC, QUEUE, 1, 0, 7, 0])
command, body = recv()
print("mode7", command, body[0], body[1])
print("mode7_text", body[2])
PY

if [ -s "$WORK/wire.err" ]; then fail "python client failed: $(cat "$WORK/wire.err")"; fi
field() { sed -n "s/^$1 //p" "$WORK/wire.out"; }
check_eq "$(field first)" "one@0:1 two@1:1" "RECEIVE of 2: both messages, delivery count 1"
check_eq "$(field locks_are_u64)" True "lock tokens are u64"
check_eq "$(field expiry_in_future)" True "lock expiry is ms since the epoch, in the future"
check_eq "$(field settled)" "['', '']" "SETTLED of complete + abandon: two empty errors"
check_eq "$(field again)" "two@1:2" "RECEIVE again: only the abandoned message, delivery count 2"
check_eq "$(field bogus_error_nonempty)" True "SETTLE of a bogus token: a non-empty error string"
check_contains "$(field bogus_error)" "not held" "the error says the lock is not held"
check_eq "$(field second_of_batch)" "''" "the other settlement of that SETTLE is done all the same"
check_eq "$(field waited_empty)" "[]" "a RECEIVE that waits on an empty queue: RECEIVED with nothing"
check_eq "$(field waited_long_enough)" True "... sent when the wait ends"
check_eq "$(field parked_answer)" "20 6 ['three'] 1" "a waiting RECEIVE gets a message published meanwhile"
check_eq "$(field parked_answered_early)" True "... before its wait ends"
check_eq "$(field mode7)" "15 0 1" "RECEIVE with mode 7: ERROR [0, BAD_FRAME, ...]"
check_contains "$(field mode7_text)" "mode" "the BAD_FRAME text names the mode"
if kill -0 "$BROKER_PID" 2>/dev/null; then pass; else fail "the broker died"; fi

run "$EDATOOL" queue stats wire.jobs --json
check_contains "$OUT" '"completed":3' "queue stats agree: 3 completed"

finish
