#!/usr/bin/env bash
# The admin side of queues (docs/QUEUES.md): queue create|delete|list|stats,
# settle, and dlq listing and resubmitting, through a real broker.
source "$(dirname "$0")/lib.sh"
start_broker broker --data "$WORK/data"

# queue stats --json: one field of exactly QUEUE; empty when it is not listed.
queue_field() {
  "$EDATOOL" queue stats "${3:->}" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    if row["queue"] == sys.argv[1]:
        print("null" if row[sys.argv[2]] is None else row[sys.argv[2]])' "$1" "$2"
}

# create: the same settings again is fine; other settings are a conflict.
run "$EDATOOL" queue create jobs --lock 1m --max-deliveries 3
check_eq "$RC" 0 "queue create: exit status (stderr: $ERR)"
run "$EDATOOL" queue create jobs --lock 1m --max-deliveries 3
check_eq "$RC" 0 "queue create with the same settings: exit status (stderr: $ERR)"
run "$EDATOOL" queue create jobs --lock 2m
check_error 1 "exists with other settings" "queue create with other settings"
run "$EDATOOL" queue create other --lock soon
check_error 2 "soon" "queue create with a bad --lock"
run "$EDATOOL" queue create other --lock 0s
check_error 2 "--lock" "queue create with a zero --lock"
run "$EDATOOL" queue create other --max-deliveries 0
check_error 2 "--max-deliveries" "queue create with --max-deliveries 0"
run "$EDATOOL" queue create 'bad..name'
check_error 2 "bad..name" "queue create with a bad name"

# list and stats show it, with its settings; a plain topic is no queue.
"$EDATOOL" pub plain.topic hello
"$EDATOOL" queue create timed --ttl 1h
run "$EDATOOL" queue list
check_eq "$OUT" $'jobs\ntimed' "queue list"
run "$EDATOOL" queue list timed
check_eq "$OUT" "timed" "queue list PATTERN"
run "$EDATOOL" queue list 'ti*'
check_error 2 "ti*" "queue list with a bad pattern"
run "$EDATOOL" queue stats
check_eq "$RC" 0 "queue stats: exit status"
check_contains "$(printf '%s\n' "$OUT" | sed -n 1p)" "QUEUE" "queue stats header"
check_contains "$(printf '%s\n' "$OUT" | sed -n 1p)" "OLDEST-PENDING-AGE" "queue stats header"
check_eq "$(queue_field jobs lock_ms)" 60000 "stats: lock_ms"
check_eq "$(queue_field jobs max_deliveries)" 3 "stats: max_deliveries"
check_eq "$(queue_field jobs ttl_ms)" null "stats: no ttl"
check_eq "$(queue_field timed ttl_ms)" 3600000 "stats: ttl_ms"

# Published messages are pending, and the oldest has an age.
"$EDATOOL" pub jobs one two three
check_eq "$(queue_field jobs pending)" 3 "pending after pub"
check_eq "$(queue_field jobs locked)" 0 "locked after pub"
age=$(queue_field jobs oldest_pending_age_ms)
if [ "$age" -ge 0 ] && [ "$age" -lt 60000 ]; then pass; else fail "oldest_pending_age_ms: $age"; fi
run "$EDATOOL" queue stats jobs
check_contains "$(printf '%s\n' "$OUT" | sed -n 2p)" "jobs" "queue stats row"

# settle: bad arguments are usage errors; an unknown token is an error naming it.
run "$EDATOOL" settle jobs not-a-token complete
check_error 2 "not-a-token" "settle with a malformed token"
run "$EDATOOL" settle jobs 0123456789abcdef finish
check_error 2 "complete, abandon or deadletter" "settle with an unknown action"
run "$EDATOOL" settle jobs 0123456789abcdef complete --reason Why
check_error 2 "--reason" "settle complete with --reason"
run "$EDATOOL" settle jobs 0123456789abcdef complete
check_error 1 "settle 0123456789abcdef:" "settle with an unknown token"

# Lock one with recv --ack manual, dead-letter it, and find it in the DLQ.
run "$EDATOOL" recv jobs --ack manual -n 1
check_eq "$RC" 0 "recv --ack manual: exit status (stderr: $ERR)"
token=${OUT%% *}
check_eq "${OUT#* }" "one" "recv --ack manual prints TOKEN PAYLOAD"
check_eq "$(queue_field jobs locked)" 1 "locked after recv --ack manual"
run "$EDATOOL" settle jobs "$token" deadletter --reason Bad --description 'no such job'
check_eq "$RC" 0 "settle deadletter: exit status (stderr: $ERR)"
check_eq "$(queue_field jobs dead_lettered)" 1 "dead_lettered after settle"
check_eq "$(queue_field jobs pending)" 2 "pending after settle"
run "$EDATOOL" settle jobs "$token" complete
check_error 1 "settle $token:" "settling a token twice"
run "$EDATOOL" dlq jobs
check_eq "$OUT" $'Bad\t1\tone' "dlq listing"
run "$EDATOOL" dlq jobs --template '%{dlq.description}|%s\n'
check_eq "$OUT" "no such job|one" "dlq --template"
run "$EDATOOL" dlq jobs --resubmit --format json
check_error 2 "--resubmit" "dlq --resubmit with --format"

# --resubmit publishes them back as new messages and empties the DLQ.
run "$EDATOOL" dlq jobs --resubmit
check_eq "$RC" 0 "dlq --resubmit: exit status (stderr: $ERR)"
check_contains "$ERR" "resubmitted 1 message to jobs" "dlq --resubmit says how many"
run "$EDATOOL" dlq jobs
check_eq "$OUT" "" "dlq is empty after --resubmit"
run "$EDATOOL" recv jobs --ack none -n 3 --wait 5s
check_eq "$RC" 0 "recv after resubmit: exit status (stderr: $ERR)"
check_eq "$OUT" $'two\nthree\none' "the resubmitted message is in the queue again, as a new one"
run "$EDATOOL" -q dlq jobs --resubmit
check_eq "$RC" 0 "dlq --resubmit of nothing: exit status"
check_eq "$ERR" "" "dlq -q --resubmit of nothing says nothing"

# The action may come first (for xargs); deadletter's reason has a default;
# a resubmitted message keeps its key and headers, not the dlq.* ones.
"$EDATOOL" queue create keyed
"$EDATOOL" pub -k k7 -H source=test keyed first
"$EDATOOL" pub keyed second
run "$EDATOOL" recv keyed --ack manual -n 1
check_eq "${OUT#* }" "first" "recv --ack manual on a second queue"
run "$EDATOOL" settle keyed deadletter "${OUT%% *}"
check_eq "$RC" 0 "settle with the action first (stderr: $ERR)"
run "$EDATOOL" dlq keyed
check_eq "$OUT" $'DeadLetteredByReceiver\t1\tfirst' "the default dead-letter reason"
run "$EDATOOL" dlq keyed --resubmit
check_eq "$RC" 0 "dlq --resubmit of a keyed message (stderr: $ERR)"
run "$EDATOOL" recv keyed --ack none -n 2 --wait 5s --format json
check_eq "$(printf '%s\n' "$OUT" | /usr/bin/python3 -c '
import json, sys
for r in map(json.loads, sys.stdin):
    print(r["payload"], r["key"], sorted(r["headers"].items()))')" \
  $'second None []\nfirst k7 [(\'source\', \'test\')]' "resubmitted with key and headers, without dlq.*"

# delete: the queue, its topic and its dead-letter queue go; twice is an error.
run "$EDATOOL" queue delete jobs
check_eq "$RC" 0 "queue delete: exit status (stderr: $ERR)"
run "$EDATOOL" queue list
check_eq "$OUT" $'keyed\ntimed' "queue list after delete"
check_eq "$(queue_field jobs pending)" "" "queue stats no longer lists it"
run "$EDATOOL" topic list '$dlq.>'
check_eq "$OUT" '$dlq.keyed' "the dead-letter queue is gone too"
run "$EDATOOL" queue delete jobs
check_error 1 "no queue jobs" "queue delete of a deleted queue"
run "$EDATOOL" queue delete plain.topic
check_error 1 "no queue plain.topic" "queue delete of a topic without a queue"

finish
