#!/usr/bin/env bash
# Crash safety (docs/STORAGE.md "Durability", DESIGN §5): a broker killed with
# -9 at a random moment under three concurrent publishers, then restarted on
# the same data directory. What pub confirmed (exit 0) is stored exactly once
# and in order, and the log's offsets stay gap-free. Ten rounds; every third
# one with --fsync always, the others with the default (batch).
source "$(dirname "$0")/lib.sh"

# A private copy of the binary: a rebuild during this long test must not swap it underneath.
cp "$EDATOOL" "$WORK/edatool"
EDATOOL=$WORK/edatool
ROUNDS=${CRASH_ROUNDS:-10}
LINES=1500 # per pub: at least two protocol batches (at most 1000 each), so a crash can split one pub
URL="tcp://127.0.0.1:$(free_port)"
TOPIC=crash.t

# publisher P DIR: publishes batches "pP-bB-NNNNN" (B = 1, 2, ...) until DIR/stop
# exists or two were confirmed after the restart; appends "P B STATUS PHASE"
# to DIR/batches for each, PHASE telling whether the batch began before or
# after the broker was restarted. The running pub's batch number and pid are
# in DIR/currentP, its stderr in DIR/pubP.err.
publisher() {
  local p=$1 dir=$2 b=0 phase rc pid after=0
  # Two batches confirmed by the restarted broker are enough: stop then.
  while [ ! -e "$dir/stop" ] && [ "$after" -lt 2 ]; do
    b=$((b + 1))
    phase=before
    [ -e "$dir/restarted" ] && phase=after
    seq -f "p$p-b$b-%05g" 1 "$LINES" | "$EDATOOL" -v pub "$TOPIC" 2>"$dir/pub$p.err" &
    pid=$!
    echo "$b $pid" >"$dir/current$p"
    if wait "$pid"; then rc=0; else rc=$?; fi
    [ "$rc" -eq 0 ] || sed "s/^/b$b exit $rc: /" "$dir/pub$p.err" >>"$dir/failures"
    echo "$p $b $rc $phase" >>"$dir/batches"
    [ "$rc-$phase" != 0-after ] || after=$((after + 1))
  done
}
confirmed_before() { grep -q ' 0 before$' "$1/batches" 2>/dev/null; }
# each publisher has a batch that began after the restart and was confirmed
all_confirmed_after() {
  local p
  for p in 1 2 3; do grep -q "^$p [0-9]* 0 after\$" "$1/batches" 2>/dev/null || return 1; done
}

# verify STORED BATCHES: prints "gaps=... missing=... duplicated=... unordered=...
# stray_duplicates=..." for the "%o %s" lines in STORED and the batch list.
verify() {
  /usr/bin/python3 - "$1" "$2" "$LINES" <<'PY'
import collections, re, sys
stored, batches, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])
offsets, payloads = [], []
for line in open(stored):
    o, _, s = line.rstrip("\n").partition(" ")
    offsets.append(int(o))
    payloads.append(s)
gaps = [f"{a}->{b}" for a, b in zip([-1] + offsets, offsets) if b != a + 1]
count = collections.Counter(payloads)
confirmed = {(p, b) for p, b, rc, _ in (l.split() for l in open(batches)) if rc == "0"}
missing = duplicated = 0
examples = []
for p, b in sorted(confirmed):
    for n in range(1, lines + 1):
        c = count.get(f"p{p}-b{b}-{n:05d}", 0)
        if c == 0:
            missing += 1
        elif c > 1:
            duplicated += 1
        if c != 1 and len(examples) < 3:
            examples.append(f"p{p}-b{b}-{n:05d} x{c}")
# Within one batch, lines appear in order (first occurrences, so that a
# duplicate is counted once above and not again here).
seen, last, unordered = set(), {}, set()
for s in payloads:
    m = re.fullmatch(r"p(\d+)-b(\d+)-(\d+)", s)
    if not m:
        unordered.add("garbage:" + s[:40])
        continue
    if s in seen:
        continue
    seen.add(s)
    key, n = (m.group(1), m.group(2)), int(m.group(3))
    if n < last.get(key, 0):
        unordered.add(f"p{key[0]}-b{key[1]}")
    last[key] = n
stray = sum(1 for s, c in count.items() if c > 1)
print(f"gaps={len(gaps)} {' '.join(gaps[:3])}".rstrip())
print(f"missing={missing} duplicated={duplicated} {' '.join(examples)}".rstrip())
print(f"unordered={len(unordered)} {' '.join(sorted(unordered)[:3])}".rstrip())
print(f"stray_duplicates={stray}")
print(f"confirmed_batches={len(confirmed)}")
PY
}

started=$SECONDS
hung_pubs=0
for round in $(seq 1 "$ROUNDS"); do
  dir=$WORK/round$round
  mkdir -p "$dir"
  : >"$dir/batches"
  data=$dir/data
  broker_args=(--data "$data")
  fsync="batch"
  if [ $((round % 3)) -eq 0 ]; then
    fsync=always
    broker_args+=(--fsync always)
  fi
  start_broker_at "crash$round-a" "$URL" "${broker_args[@]}"
  wait_for_line "$WORK/crash$round-a.log" 'data directory' || true
  check_contains "$(cat "$WORK/crash$round-a.log")" "(fsync $fsync)" "round $round: broker runs with fsync $fsync"
  first=$BROKER_PID
  pubs=()
  for p in 1 2 3; do
    publisher "$p" "$dir" &
    pubs+=($!)
    BACKGROUND_PIDS+=($!)
  done
  if wait_until 10 confirmed_before "$dir"; then pass; else fail "round $round: no batch confirmed before the crash"; fi
  # The kill moment: a random 100..700 ms after the first confirmation.
  delay=$((100 + RANDOM % 601))
  sleep "$(printf '0.%03d' "$delay")"
  kill -9 "$first"
  wait_for_exit "$first" 5
  check_eq "$WAIT_RC" 137 "round $round: the first broker was killed by SIGKILL"
  touch "$dir/restarted"
  start_broker_at "crash$round-b" "$URL" "${broker_args[@]}"
  # A pub in flight at the crash either gives up (exit 1, at most 5 s after it
  # last heard from the broker) or goes on with the restarted broker; then the
  # next batch of every publisher is confirmed by the new broker.
  restarted_at=$SECONDS
  if wait_until 8 all_confirmed_after "$dir"; then pass; else
    for p in 1 2 3; do
      grep -q "^$p [0-9]* 0 after\$" "$dir/batches" && continue
      read -r b pid <"$dir/current$p"
      if kill -0 "$pid" 2>/dev/null; then
        fail "round $round: publisher $p: pub of batch $b (in flight at the crash) still runs $((SECONDS - restarted_at)) s after the broker restarted; stderr: [$(cat "$dir/pub$p.err")]; killing it"
        echo "$p $b" >>"$dir/hung"
        kill -9 "$pid" 2>/dev/null || true
      else
        fail "round $round: publisher $p got no batch confirmed by the restarted broker: $(grep "^$p " "$dir/batches" | tail -3 | tr '\n' ';')"
      fi
    done
    hung_pubs=$((hung_pubs + 1))
  fi
  touch "$dir/stop"
  for pid in "${pubs[@]}"; do wait_for_exit "$pid" 15; done
  [ ! -e "$dir/failures" ] || sed "s/^/round $round: publisher failure: /" "$dir/failures" >&2

  # Every pub exited 0, or 1 (the broker was gone too long); nothing else.
  check_eq "$(touch "$dir/hung"; awk 'NR == FNR { hung[$1 " " $2] = 1; next }
    $3 != 0 && $3 != 1 && !(($1 " " $2) in hung)' "$dir/hung" "$dir/batches" | tr '\n' ';')" "" \
    "round $round: pub exit statuses other than 0 and 1"
  run "$EDATOOL" sub "$TOPIC" --from earliest -e --timeout 30s --template '%o %s\n'
  check_eq "$RC" 0 "round $round: reading the topic back"
  printf '%s\n' "$OUT" >"$dir/stored"
  result=$(verify "$dir/stored" "$dir/batches" || true)
  check_eq "$(grep '^gaps=' <<<"$result")" "gaps=0" "round $round (fsync $fsync, kill after ${delay} ms): offsets 0..N-1 gap-free"
  check_eq "$(grep '^missing=' <<<"$result")" "missing=0 duplicated=0" \
    "round $round (fsync $fsync, kill after ${delay} ms): every line of every confirmed batch stored exactly once"
  check_eq "$(grep '^unordered=' <<<"$result")" "unordered=0" "round $round (fsync $fsync, kill after ${delay} ms): lines of each batch in order"
  check_eq "$(stats_field "$TOPIC" next_offset)" "$(line_count "$dir/stored")" "round $round: next offset = messages read"
  recovery=$(grep -E 'torn|cut' "$WORK/crash$round-b.log" | tr '\n' ' ' || true)
  echo "round $round: fsync $fsync, kill after ${delay} ms; $(wc -l <"$dir/batches") batches" \
    "($(grep -c ' 0 [a-z]*$' "$dir/batches") confirmed), $(line_count "$dir/stored") stored," \
    "$(grep '^stray' <<<"$result"); ${recovery:-nothing cut on restart}" >&2
  stop_broker "$BROKER_PID" "round $round: restarted broker"
  rm -rf "$data"
done
echo "crash_test: $ROUNDS rounds in $((SECONDS - started)) s; $hung_pubs with a pub hanging after the restart" >&2

# ---------------------------------------------------------------------------
# The crash at its most awkward moment for pub, made deterministic: the broker
# receives pub's HELLO and dies before answering it (a stand-in that swallows
# the HELLO and closes, as a killed broker would); a real broker then starts
# on the same port. pub must go on with the new broker (exit 0, all stored) or
# give up within its 5 s (exit 1); it must not wait forever.
port_url="tcp://127.0.0.1:$(free_port)"
/usr/bin/python3 - "$port_url" >"$WORK/swallow.out" 2>&1 <<'PY' &
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.ROUTER)
s.setsockopt(zmq.LINGER, 0)
s.bind(sys.argv[1])
print("listening", flush=True)
if s.poll(10000):
    frames = s.recv_multipart()
    print("swallowed command", frames[1][1] if len(frames) > 1 and len(frames[1]) == 2 else -1, flush=True)
s.close()
ctx.term()
PY
swallower=$!
BACKGROUND_PIDS+=("$swallower")
wait_for_line "$WORK/swallow.out" 'listening'
seq -f 'hello-%g' 1 3 | "$EDATOOL" -v -b "$port_url" pub hello.t >"$WORK/hello-pub.out" 2>"$WORK/hello-pub.err" &
hello_pub=$!
BACKGROUND_PIDS+=("$hello_pub")
wait_for_exit "$swallower" 10
check_eq "$(grep swallowed "$WORK/swallow.out")" "swallowed command 1" "the stand-in broker swallowed pub's HELLO (command 1)"
start_broker_at hello-broker "$port_url" --data "$WORK/hello-data"
hello_started=$SECONDS
while kill -0 "$hello_pub" 2>/dev/null && [ $((SECONDS - hello_started)) -lt 10 ]; do sleep 0.05; done
if kill -0 "$hello_pub" 2>/dev/null; then
  fail "pub whose HELLO was lost in a broker crash still runs 10 s after a new broker started (stderr: $(tr '\n' ' ' <"$WORK/hello-pub.err")); it never resends HELLO"
  kill -9 "$hello_pub" 2>/dev/null || true
  wait "$hello_pub" 2>/dev/null || true
else
  wait_for_exit "$hello_pub" 1
  if [ "$WAIT_RC" -eq 0 ]; then
    check_eq "$("$EDATOOL" -b "$port_url" sub hello.t --from earliest -e --timeout 5s)" $'hello-1\nhello-2\nhello-3' \
      "pub whose HELLO was lost: everything stored once by the new broker"
  else
    check_eq "$WAIT_RC" 1 "pub whose HELLO was lost: exit status when it gives up (stderr: $(cat "$WORK/hello-pub.err"))"
  fi
fi
stop_broker "$BROKER_PID" "broker after the lost HELLO"

finish
