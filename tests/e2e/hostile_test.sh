#!/usr/bin/env bash
# Hostile input (issue 8): while a normal publisher and subscriber run, a raw
# ZeroMQ client that no one here wrote (Debian's pyzmq) sends random bytes,
# truncated msgpack, other versions, huge declared lengths, bad namespaces and
# request floods, then 500 clients connect at once. The broker answers every
# malformed frame with an error, counts it in `edatool stats`, loses nothing
# of the normal pair's traffic, and keeps serving.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's interpreter: it has python3-zmq and python3-msgpack
N=20000

start_broker broker --data "$WORK/data"
start_sub normal hostile.ok -n "$N" --timeout 60s

# The hostile client. Each line it prints is "name value"; the checks compare them.
cat >"$WORK/hostile.py" <<'PY'
import random, sys, time
import msgpack, zmq

url, mode = sys.argv[1], sys.argv[2]
PING, PONG, PUBLISH, CONFIRM, ERROR = 3, 4, 5, 6, 15
BAD_FRAME, UNSUPPORTED_VERSION = 1, 2
ctx = zmq.Context()
rng = random.Random(8)

def dealer():
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(url)
    return s

def replies(s, n, timeout_s=30):
    """Up to n replies as (command, body); stops early at the deadline."""
    got, deadline = [], time.time() + timeout_s
    while len(got) < n and time.time() < deadline:
        if s.poll(200):
            frames = s.recv_multipart()
            got.append((frames[0][1], msgpack.unpackb(frames[1], strict_map_key=False)))
    return got

if mode == "garbage":
    s = dealer()
    sent = []
    def send(frames, expect=BAD_FRAME):
        s.send_multipart(frames)
        sent.append(expect)
    good = msgpack.packb([7, [["01J0000000000000000000000A", "hostile.x", None, {}, 0, b"p", None]]])
    for _ in range(300):  # random bytes in 1, 3 or 4 frames
        send([rng.randbytes(rng.randint(0, 64)) for _ in range(rng.choice([1, 3, 4]))])
    for cut in range(len(good)):  # every truncation of a valid PUBLISH body
        send([bytes([1, PUBLISH]), good[:cut]])
    for v in (0, 2, 255):  # other protocol versions
        send([bytes([v, PING]), msgpack.packb([1])], UNSUPPORTED_VERSION)
    for huge in (b"\xdd\xff\xff\xff\xff",            # array32 of 4G elements
                 b"\x92\x01\xdb\xff\xff\xff\xff",    # str32 of 4G bytes
                 b"\x92\x01\xdf\xff\xff\xff\xff",    # map32 of 4G entries
                 b"\x92\x01\xc6\x7f\xff\xff\xff",    # bin32 of 2G bytes
                 b"\x91" * 100000):                   # nested 100000 deep
        send([bytes([1, PUBLISH]), huge])
    for ns in (b"../etc", b"a.b", b"\x00", b"n" * 65):  # namespaces that are not names
        send([bytes([1, PING]) + ns, msgpack.packb([1])])
    for _ in range(300):  # a valid header and random bytes as the body
        send([bytes([1, rng.choice([PING, PUBLISH, 7, 9, 13, 16, 19, 21])]), rng.randbytes(rng.randint(0, 40))], None)
    got = replies(s, len(sent))
    print("sent", len(sent))
    print("answered", len(got))
    expected = [e for e in sent if e is not None]
    errors = [b for c, b in got if c == ERROR]
    print("errors", len(errors))
    print("wrong_code", sum(1 for (c, b), e in zip(got, sent) if e is not None and (c != ERROR or b[1] != e)))
elif mode == "flood":
    # Requests sent as fast as possible before reading any answer.
    s = dealer()
    n = int(sys.argv[3])
    for i in range(1, n + 1):
        s.send_multipart([bytes([1, PING]), msgpack.packb([i])])
    for i in range(n + 1, n + 1 + n // 10):
        s.send_multipart([bytes([1, PUBLISH]), msgpack.packb([i, [["", "hostile.flood", None, {}, 0, b"f", None]]])])
    got = replies(s, n + n // 10, 60)
    print("pongs", sum(1 for c, b in got if c == PONG))
    print("confirms", sum(1 for c, b in got if c == CONFIRM))
elif mode == "connections":
    n = int(sys.argv[3])
    sockets = [dealer() for _ in range(n)]
    for i, s in enumerate(sockets):
        s.send_multipart([bytes([1, PING]), msgpack.packb([i + 1])])
    answered, deadline = set(), time.time() + 30
    poller = zmq.Poller()
    for s in sockets:
        poller.register(s, zmq.POLLIN)
    while len(answered) < n and time.time() < deadline:
        for s, _ in poller.poll(200):
            frames = s.recv_multipart()
            if frames[0][1] == PONG:
                answered.add(msgpack.unpackb(frames[1])[0])
    print("answered", len(answered))
PY

seq "$N" | "$EDATOOL" pub hostile.ok >"$WORK/pub.out" 2>"$WORK/pub.err" &
PUB_PID=$!
BACKGROUND_PIDS+=("$PUB_PID")

"$PY" "$WORK/hostile.py" "$BROKER_URL" garbage >"$WORK/garbage.out" 2>"$WORK/garbage.err" || true
field() { awk -v k="$2" '$1 == k { print $2 }' "$WORK/$1.out"; }
sent=$(field garbage sent)
check_eq "${sent:-0}" 660 "the hostile client sent its 660 messages ($(cat "$WORK/garbage.err"))"
check_eq "$(field garbage answered)" "$sent" "every hostile message got one answer ($(cat "$WORK/garbage.err"))"
check_eq "$(field garbage wrong_code)" 0 "each malformed message got BAD_FRAME or UNSUPPORTED_VERSION"

"$PY" "$WORK/hostile.py" "$BROKER_URL" flood 20000 >"$WORK/flood.out" 2>"$WORK/flood.err" || true
check_eq "$(field flood pongs)" 20000 "a flood of 20000 PINGs is answered ($(cat "$WORK/flood.err"))"
check_eq "$(field flood confirms)" 2000 "2000 publishes sent in the flood are confirmed"

"$PY" "$WORK/hostile.py" "$BROKER_URL" connections 500 >"$WORK/connections.out" 2>"$WORK/connections.err" || true
check_eq "$(field connections answered)" 500 "500 clients connected at once are all served ($(cat "$WORK/connections.err"))"

# The normal pair lost nothing and saw nothing of the noise.
wait_for_exit "$PUB_PID" 60
check_eq "$WAIT_RC" 0 "the normal publisher confirmed everything ($(cat "$WORK/pub.err"))"
wait_for_exit "$SUB_PID" 60
check_eq "$WAIT_RC" 0 "the normal subscriber got its count"
if seq "$N" | cmp -s - "$WORK/normal.out"; then pass; else fail "the subscriber's messages differ from seq $N"; fi

# Malformed frames are counted; the broker is still up and serving.
run "$EDATOOL" stats --json
check_eq "$RC" 0 "stats after the noise (stderr: $ERR)"
malformed=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["malformed_frames"])')
if [ "$malformed" -ge "$((sent - 300))" ]; then pass; else fail "stats counts $malformed malformed frames, at least $((sent - 300)) were sent"; fi
run "$EDATOOL" sub hostile.flood --from earliest -e
check_eq "$(printf '%s\n' "$OUT" | wc -l)" 2000 "the flood's publishes were stored"
kill -0 "$BROKER_PID" && pass || fail "the broker died"

finish
