#!/usr/bin/env bash
# bench/compare.sh: edatool side by side with bare ZeroMQ and with the brokers
# a user might pick instead, in one go on this machine (docs/PERFORMANCE.md
# "Side by side").
#
# Usage: bench/compare.sh    (EDATOOL=path/to/edatool to pick the binary)
#
# Every row: one publisher and one subscriber over tcp loopback, N messages
# (default 1,000,000) of SIZE bytes (default 100), one message per publish;
# the clock runs from the first publish until the subscriber has the last
# message, and the subscriber must have all N (else the row fails). Rows run
# in turn, RUNS times (default 3); the table has each row's msg/s and its
# ratio to bare ZeroMQ PUSH/PULL of the same run, with their medians. How
# each row is driven:
#   zmq push-pull, pub-sub  bench/zmq_reference.cpp, built here with
#                           g++ -O2 -std=c++20 ... -lzmq: a sender and a receiver
#                           thread, cppzmq, one frame per message; PUB with
#                           ZMQ_XPUB_NODROP so that nothing is dropped
#   edatool memory, stored  `edatool bench --messages N --size SIZE [--stored] --json`:
#                           broker embedded in the bench process (in memory;
#                           stored: temp data dir, --fsync batch), edatool's own
#                           client (batches of up to 1000, every publish
#                           confirmed); the "receive" msg/s
#   nats-server core        nats-server 2.9 (Debian), no persistence; Debian has
#                           no `nats bench`, so a minimal client in Python
#                           (/usr/bin/python3, below) speaks the text protocol:
#                           the publisher writes `PUB` frames pipelined, 1000 per
#                           send(), without waiting for anything; the
#                           subscriber counts `MSG` frames as they arrive
#   nats jetstream file     the same, on a file-storage stream (nats-server -js,
#                           temp store dir); each PUB asks for the stream's ack
#                           (checked: N acks), a push consumer with ack_policy
#                           none delivers to the subscriber
#   redis pub/sub           redis-server 7.0 (Debian), no persistence, the
#                           subscriber's output-buffer limit lifted (else it is
#                           cut off); same Python client with RESP: pipelined
#                           PUBLISH, replies drained on another thread
#   mosquitto QoS 0         mosquitto 2.0 (Debian), MQTT 3.1.1; same Python
#                           client: pipelined QoS 0 PUBLISH packets (QoS 0 has
#                           no acknowledgement, like NATS core)
# After the table, once: edatool's publish-to-receive latency at RATE msg/s
# (default 10000; 0 skips it) for 10 s, `edatool bench --rate RATE`, memory
# and stored (DESIGN §10: p99 under 1 ms at 10k msg/s).
# The Python client builds each batch of frames once and counts frames with
# bytes.count, so it costs the peers little: theirs are best-case numbers.
# A peer that is not installed is skipped with the reason (as root:
# apt-get install -y nats-server redis-server mosquitto).
# Small sizes for a quick check: N=20000 RUNS=1 bench/compare.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL=${EDATOOL:-$ROOT/build/edatool}
N=${N:-1000000}
SIZE=${SIZE:-100}
RUNS=${RUNS:-3}
RATE=${RATE:-10000}
PY=/usr/bin/python3

source "$ROOT/bench/lib.sh"
bench_setup compare.sh
export TMPDIR=$WORK
echo "building bench/zmq_reference.cpp" >&2
g++ -O2 -std=c++20 "$ROOT/bench/zmq_reference.cpp" -lzmq -lpthread -o "$WORK/zmq_reference"

# json_field FIELD: a number from the JSON on stdin, rounded; FIELD a Python subscript like ["receive"]["msg_per_s"].
json_field() { "$PY" -c "import json, sys; print('%.0f' % json.load(sys.stdin)$1)"; }
# free_port: a loopback port nothing listens on.
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_port PORT: waits until something accepts connections on PORT.
wait_port() {
  local deadline=$((SECONDS + 10))
  until "$PY" -c "import socket, sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "compare.sh: nothing listens on port $1" >&2; return 1; }
    sleep 0.05
  done
}

# The peers' client: peer.py PROTOCOL PORT N SIZE prints msg/s (first publish to last receive).
cat >"$WORK/peer.py" <<'PY'
import json, socket, sys, threading, time

proto, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
payload = b"x" * size
BATCH = 1000

def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def read_until(s, marker, buf=b""):
    while marker not in buf:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("%s: connection closed waiting for %r" % (proto, marker))
        buf += chunk
    return buf

def count_frames(s, marker, want, done):
    """Counts `marker` in what `s` receives (across recv boundaries) until `want`."""
    seen, tail = 0, b""
    s.settimeout(10)
    try:
        while seen < want:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data = tail + chunk
            seen += data.count(marker)
            tail = data[-(len(marker) - 1):]
    except socket.timeout:
        pass
    done.append((seen, time.perf_counter()))

def mqtt_str(b):
    return len(b).to_bytes(2, "big") + b

def mqtt_packet(kind, body):
    n, length = len(body), b""
    while True:
        byte, n = n % 128, n // 128
        length += bytes([byte | (0x80 if n else 0)])
        if not n:
            return bytes([kind]) + length + body

sub, pub = connect(), connect()
acks = None
if proto in ("nats", "jetstream"):
    for s in (sub, pub):
        read_until(s, b"\r\n")  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n')
    subject = b"bench" if proto == "nats" else b"deliver.bench"
    sub.sendall(b"SUB %s 1\r\nPING\r\n" % subject)
    read_until(sub, b"PONG")
    reply = b""
    if proto == "jetstream":
        def api(subject, body):
            pub.sendall(b"SUB _INBOX.api 9\r\nPUB %s _INBOX.api %d\r\n%s\r\n" % (subject, len(body), body))
            answer = read_until(pub, b"}\r\n").decode()
            if '"error"' in answer:
                sys.exit("jetstream: %s" % answer)
            pub.sendall(b"UNSUB 9\r\n")
        api(b"$JS.API.STREAM.CREATE.BENCH",
            json.dumps({"name": "BENCH", "subjects": ["js.bench"], "storage": "file"}).encode())
        api(b"$JS.API.CONSUMER.CREATE.BENCH", json.dumps({"stream_name": "BENCH", "config": {
            "deliver_subject": "deliver.bench", "ack_policy": "none", "deliver_policy": "all"}}).encode())
        pub.sendall(b"SUB _INBOX.acks 2\r\n")
        reply = b" _INBOX.acks"
        acks = (pub, b"MSG _INBOX.acks")
    publish_subject = b"js.bench" if proto == "jetstream" else b"bench"
    frame = b"PUB %s%s %d\r\n%s\r\n" % (publish_subject, reply, size, payload)
    marker = b"MSG %s 1 " % publish_subject  # deliveries keep the subject published to
elif proto == "redis":
    sub.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n")
    read_until(sub, b":1\r\n")
    frame = b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$%d\r\n%s\r\n" % (size, payload)
    marker = b"$7\r\nmessage\r\n"
    acks = (pub, b"\r\n")  # one integer reply per PUBLISH
elif proto == "mqtt":
    for i, s in enumerate((sub, pub)):
        s.sendall(mqtt_packet(0x10, mqtt_str(b"MQTT") + b"\x04\x02\x00\x3c" + mqtt_str(b"bench%d" % i)))
        read_until(s, b"\x20\x02")  # CONNACK
    sub.sendall(mqtt_packet(0x82, b"\x00\x01" + mqtt_str(b"bench") + b"\x00"))
    read_until(sub, b"\x90\x03\x00\x01\x00")  # SUBACK, QoS 0 granted
    frame = mqtt_packet(0x30, mqtt_str(b"bench") + payload)
    marker = frame[:len(frame) - size]  # the header: fixed, as the payload is all 'x'
else:
    sys.exit("unknown protocol " + proto)

received, acked = [], []
counter = threading.Thread(target=count_frames, args=(sub, marker, n, received))
counter.start()
if acks:
    drainer = threading.Thread(target=count_frames, args=(acks[0], acks[1], n, acked))
    drainer.start()
start = time.perf_counter()
batch = frame * BATCH
for _ in range(n // BATCH):
    pub.sendall(batch)
pub.sendall(frame * (n % BATCH))
counter.join()
seen, end = received[0]
if seen != n:
    sys.exit("%s: the subscriber received %d of %d messages" % (proto, seen, n))
if acks:
    drainer.join()
    if acked[0][0] != n:
        sys.exit("%s: %d of %d publishes answered" % (proto, acked[0][0], n))
print("%.0f" % (n / (end - start)))
PY

# Each row function prints msg/s of one run on stdout.
row_zmq() { "$WORK/zmq_reference" --pattern "$1" --messages "$N" --size "$SIZE" --json | json_field '["msg_per_s"]'; }
row_edatool() { "$BIN" bench --messages "$N" --size "$SIZE" "$@" --json | json_field '["receive"]["msg_per_s"]'; }

# run_server NAME PORT CMD...: starts a peer server, waits for its port.
run_server() {
  local name=$1 port=$2
  shift 2
  "$@" >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" || { cat "$WORK/$name.log" >&2; return 1; }
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

# row_peer PROTOCOL: a fresh server per run (a fresh stream for JetStream).
row_peer() {
  local port
  port=$(free_port)
  case $1 in
    nats) run_server nats "$port" nats-server -a 127.0.0.1 -p "$port" ;;
    jetstream)
      rm -rf "$WORK/js"
      run_server jetstream "$port" nats-server -a 127.0.0.1 -p "$port" -js -sd "$WORK/js" ;;
    redis)
      run_server redis "$port" redis-server --bind 127.0.0.1 --port "$port" --save '' \
        --appendonly no --client-output-buffer-limit 'pubsub 0 0 0' ;;
    mqtt)
      printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$WORK/mosquitto.conf"
      run_server mosquitto "$port" mosquitto -c "$WORK/mosquitto.conf" ;;
  esac
  "$PY" "$WORK/peer.py" "$1" "$port" "$N" "$SIZE" || { stop_server; return 1; }
  stop_server
}

ROWS=("zmq push-pull|row_zmq push-pull" "zmq pub-sub|row_zmq pub-sub"
  "edatool memory|row_edatool --memory" "edatool stored (fsync batch)|row_edatool --stored")
for peer in "nats-server core:nats:nats-server" "nats jetstream file:jetstream:nats-server" \
  "redis pub/sub:redis:redis-server" "mosquitto QoS 0:mqtt:mosquitto"; do
  IFS=: read -r label proto program <<<"$peer"
  if command -v "$program" >/dev/null; then
    ROWS+=("$label|row_peer $proto")
  else
    echo "skipping $label: $program is not installed" >&2
  fi
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $EDATOOL; HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "N=$N messages of $SIZE B, 1 publisher, 1 subscriber, tcp loopback; $RUNS runs" >&2

# RATES: msg/s per run; RATIOS: per run, msg/s over that run's PUSH/PULL (the
# first row), so that load that comes and goes skews a ratio less.
declare -A RATES RATIOS
for ((run = 1; run <= RUNS; run++)); do
  for row in "${ROWS[@]}"; do
    label=${row%%|*}
    rate=$(${row#*|}) || { echo "compare.sh: $label failed" >&2; exit 1; }
    [ "$label" = "zmq push-pull" ] && reference=$rate
    echo "run $run $label: $rate msg/s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    RATES[$label]+="$rate "
    RATIOS[$label]+="$(calc "$rate / $reference") "
  done
done

echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| $N × $SIZE B, 1 pub, 1 sub | msg/s (runs) | median msg/s | × bare ZeroMQ PUSH/PULL (runs) | median × |"
echo "|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  label=${row%%|*}
  printf '| %s | %s| %s | %s| %sx |\n' "$label" "${RATES[$label]}" "$(median "${RATES[$label]}")" \
    "${RATIOS[$label]}" "$(median "${RATIOS[$label]}")"
done

[ "$RATE" != 0 ] || exit 0
echo
echo "| edatool bench --rate $RATE --messages $((RATE * 10)), $SIZE B | p50 | p90 | p99 | p99.9 | max |"
echo "|---|---|---|---|---|---|"
for storage in memory stored; do
  "$BIN" bench --rate "$RATE" --messages $((RATE * 10)) --size "$SIZE" "--$storage" --json |
    "$PY" -c '
import json, sys
j = json.load(sys.stdin)
l = j["latency_ns"]
print("| %s | " % sys.argv[1] + " | ".join("%.0f µs" % (l[k] / 1e3) for k in ("p50", "p90", "p99", "p99_9", "max")) + " |")' "$storage"
done
