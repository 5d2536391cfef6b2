#!/usr/bin/env bash
# Queues end to end (docs/QUEUES.md): competing consumers, --exec and
# dead-lettering after --max-deliveries, resubmitting, lock expiry of a
# stopped consumer, manual settling, receive-and-delete, sub --group, and a
# broker killed with -9 in the middle of a worker run.
source "$(dirname "$0")/lib.sh"

start_broker broker --data "$WORK/data"

# ---- competing consumers: 3 recv processes, every message completed exactly once ----
N=3000
seq -f 'job-%05g' 1 $N | "$EDATOOL" pub jobs
for w in 1 2 3; do
  "$EDATOOL" recv jobs --wait 2s >"$WORK/worker$w.out" 2>"$WORK/worker$w.err" &
  eval "W$w=\$!"
done
for w in 1 2 3; do
  eval "wait_for_exit \$W$w 60"
  check_eq "$WAIT_RC" 0 "worker $w exit status ($(cat "$WORK/worker$w.err"))"
done
cat "$WORK"/worker{1,2,3}.out | sort >"$WORK/all.out"
check_eq "$(wc -l <"$WORK/all.out")" "$N" "messages received by the 3 workers together"
check_eq "$(sort -u "$WORK/all.out" | wc -l)" "$N" "distinct messages received"
check_eq "$(seq -f 'job-%05g' 1 $N | cmp - "$WORK/all.out" && echo same)" same \
  "the workers received exactly the published messages"
run "$EDATOOL" recv jobs --wait 300ms
check_eq "$RC:$OUT" "0:" "nothing is left in the queue"

# ---- slow handlers: each of 3 workers holds one message at a time, so all get a share ----
seq -f 'slow-%03g' 1 90 | "$EDATOOL" pub shared
for w in 1 2 3; do
  "$EDATOOL" recv shared --wait 2s --exec "cat >>$WORK/shared$w.out; echo >>$WORK/shared$w.out; sleep 0.05" \
    2>"$WORK/shared$w.err" &
  eval "S$w=\$!"
done
busy=0
for w in 1 2 3; do
  eval "wait_for_exit \$S$w 60"
  [ -s "$WORK/shared$w.out" ] && busy=$((busy + 1))
done
check_eq "$busy" 3 "with slow handlers every worker got a share"
check_eq "$(cat "$WORK"/shared{1,2,3}.out | sed '/^$/d' | sort -u | wc -l)" 90 "and together all 90, once each"
check_eq "$(cat "$WORK"/shared{1,2,3}.out | sed '/^$/d' | wc -l)" 90 "no message was handled twice"

# ---- --exec false with --max-deliveries 3: three attempts each, then the DLQ ----
"$EDATOOL" queue create failing --max-deliveries 3 --lock 5s
"$EDATOOL" pub failing one two
run "$EDATOOL" recv failing --exec 'echo "$EDATOOL_DELIVERY_COUNT $(cat)" >>'"$WORK/attempts"'; exit 1' --wait 1s
check_eq "$RC" 0 "recv --exec false exit status ($ERR)"
check_eq "$(sort "$WORK/attempts" | tr '\n' ' ')" "1 one 1 two 2 one 2 two 3 one 3 two " \
  "each message was delivered 3 times, with its delivery count"
run "$EDATOOL" dlq failing
check_eq "$OUT" "$(printf 'MaxDeliveryCountExceeded\t3\tone\nMaxDeliveryCountExceeded\t3\ttwo')" \
  "dlq lists both with reason and delivery count"
run "$EDATOOL" sub '$dlq.failing' --from earliest -e --format json
check_contains "$OUT" '"dlq.reason":"MaxDeliveryCountExceeded"' "the dead-letter copy carries the reason"
run "$EDATOOL" dlq failing --resubmit
check_eq "$RC" 0 "dlq --resubmit exit status ($ERR)"
run "$EDATOOL" recv failing --wait 1s
check_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "one two " "resubmitted messages are back in the queue"
run "$EDATOOL" dlq failing
check_eq "$OUT" "" "the dead-letter queue is empty after resubmitting"

# ---- lock expiry: a stopped consumer's message goes to another with count 2 ----
"$EDATOOL" queue create slow --lock 1s
"$EDATOOL" pub slow stuck
# Its output goes to a file and its handler is killed at the end: a process
# left holding ctest's pipe makes ctest wait for it (the sleep's 60 s).
"$EDATOOL" recv slow -n 1 --exec "echo \$\$ >$WORK/slow.handler; cat >$WORK/slow.first; kill -STOP \$PPID; exec sleep 60" \
  >"$WORK/slow.out" 2>&1 &
STOPPED=$!
BACKGROUND_PIDS+=("$STOPPED")
wait_until 10 test -s "$WORK/slow.first"
BACKGROUND_PIDS+=("$(cat "$WORK/slow.handler")")
# The third field of /proc/PID/stat is the state: T once stopped.
is_stopped() { [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" == T ]; }
wait_until 10 is_stopped "$STOPPED"
run "$EDATOOL" recv slow -n 1 --wait 10s --exec 'echo "$EDATOOL_DELIVERY_COUNT $(cat)"'
check_eq "$RC:$OUT" "0:2 stuck" "a locked message of a stopped consumer is redelivered after the lock, count 2"
kill -9 "$STOPPED" 2>/dev/null || true

# ---- --ack manual + settle, and --ack none ----
"$EDATOOL" pub manual m1 m2
run "$EDATOOL" recv manual -n 2 --ack manual --wait 5s
check_eq "$RC" 0 "recv --ack manual exit status ($ERR)"
t1=$(sed -n 1p <<<"$OUT" | cut -d' ' -f1)
t2=$(sed -n 2p <<<"$OUT" | cut -d' ' -f1)
check_eq "$(cut -d' ' -f2 <<<"$OUT" | tr '\n' ' ')" "m1 m2 " "manual prints TOKEN PAYLOAD"
run "$EDATOOL" settle manual "$t1" complete
check_eq "$RC" 0 "settle complete ($ERR)"
run "$EDATOOL" settle manual "$t1" complete
check_error 1 "$t1" "settling a settled token"
run "$EDATOOL" settle manual "$t2" abandon
check_eq "$RC" 0 "settle abandon ($ERR)"
run "$EDATOOL" recv manual -n 1 --ack none --wait 5s --format json
check_contains "$OUT" '"payload":"m2"' "the abandoned message is delivered again"
run "$EDATOOL" recv manual --ack none --wait 300ms
check_eq "$OUT" "" "--ack none removed it"

# ---- tail QUEUE: pending messages, without locking them ----
"$EDATOOL" queue create peeked
"$EDATOOL" pub peeked p1 p2 p3
run "$EDATOOL" tail peeked -n 2
check_eq "$(tr '\n' ' ' <<<"$OUT")" "p1 p2 " "tail on a queue shows the next pending messages"
run "$EDATOOL" recv peeked -n 1 --ack manual
run "$EDATOOL" tail peeked
check_eq "$(tr '\n' ' ' <<<"$OUT")" "p2 p3 " "a locked message is not pending"
run "$EDATOOL" tail manual:nosuchgroup
check_error 1 "no group nosuchgroup" "tail on an unknown group"

# ---- sub --group: members of a group split a topic, a second group gets all ----
"$EDATOOL" pub grouped a b c d
run "$EDATOOL" sub grouped --group billing --from earliest -n 4
check_eq "$(tr '\n' ' ' <<<"$OUT")" "a b c d " "sub --group reads the topic from --from"
run "$EDATOOL" sub grouped --group audit --from earliest -n 4
check_eq "$(tr '\n' ' ' <<<"$OUT")" "a b c d " "another group gets every message too"
run "$EDATOOL" recv grouped:billing --wait 300ms
check_eq "$OUT" "" "the billing group has completed everything"

# ---- crash: kill -9 the broker during a worker run; completed stay completed ----
seq -f 'c-%04g' 1 2000 | "$EDATOOL" pub crashq
"$EDATOOL" recv crashq --exec "cat >>$WORK/handled; echo >>$WORK/handled" >/dev/null 2>"$WORK/crash-worker.err" &
CW=$!
BACKGROUND_PIDS+=("$CW")
handled_at_least() { [ "$(line_count "$WORK/handled")" -ge "$1" ]; }
wait_until 30 handled_at_least 300
kill -9 "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
kill -TERM "$CW" 2>/dev/null || true
wait_for_exit "$CW" 10
start_broker_at broker2 "$BROKER_URL" --data "$WORK/data"
run "$EDATOOL" recv crashq --wait 2s
check_eq "$RC" 0 "draining after the restart ($ERR)"
printf '%s\n' "$OUT" | sed '/^$/d' >"$WORK/after"
sort -u "$WORK/handled" | sed '/^$/d' >"$WORK/handled.sorted"
# Every message was handled before the crash or is delivered after it; a
# message completed before the crash may only come again if its completion
# was not yet stored (a few at most, never most of them).
check_eq "$(sort -u "$WORK/after" "$WORK/handled.sorted" | wc -l)" 2000 "no message is lost across the crash"
again=$(comm -12 "$WORK/handled.sorted" <(sort -u "$WORK/after") | wc -l)
check_lt "$again" "$(($(wc -l <"$WORK/handled.sorted") / 2 + 1))" "completed messages are not delivered again wholesale (again: $again)"

# ---- crash, exactly: completions that settle confirmed never come back ----
seq -f 's-%03g' 1 100 | "$EDATOOL" pub strict
run "$EDATOOL" recv strict -n 60 --ack manual --lock 1m --wait 5s
check_eq "$RC" 0 "recv --ack manual of 60 ($ERR)"
head -40 <<<"$OUT" >"$WORK/strict.done"
run "$EDATOOL" settle strict $(cut -d' ' -f1 "$WORK/strict.done") complete
check_eq "$RC" 0 "settle of 40 ($ERR)"
kill -9 "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
start_broker_at broker2b "$BROKER_URL" --data "$WORK/data"
run "$EDATOOL" recv strict --ack none --wait 1s
check_eq "$(printf '%s\n' "$OUT" | sort | tr '\n' ' ')" \
  "$(seq -f 's-%03g' 41 100 | tr '\n' ' ')" \
  "after kill -9: the 40 completed are gone, the 20 locked and the 40 unread come again"

# ---- dedup: the same --id twice, also across a restart, is stored once ----
"$EDATOOL" pub dedupq --id order-1 first
"$EDATOOL" pub dedupq --id order-1 again
stop_broker "$BROKER_PID" broker2b
start_broker_at broker3 "$BROKER_URL" --data "$WORK/data"
"$EDATOOL" pub dedupq --id order-1 third
run "$EDATOOL" recv dedupq --ack none --wait 500ms
check_eq "$OUT" "first" "a repeated id is stored once, across a restart"

finish
