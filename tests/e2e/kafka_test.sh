#!/usr/bin/env bash
# The Kafka backend (docs/KAFKA.md) against librdkafka's mock cluster, run as
# its own process (tests/kafka_mock_cluster.cpp), with kcat as the client no
# one here wrote: pub/sub round trips, formats, --from, patterns, --filter,
# kcat interop both ways, settings and unreachable-cluster errors.
source "$(dirname "$0")/lib.sh"

MOCK=${EDATOOL_KAFKA_MOCK:-$(dirname "$EDATOOL")/edatool_kafka_mock_cluster}
# The mock serves until its stdin ends: a FIFO held open by this shell, so the
# cluster goes away with the test even if cleanup cannot kill it.
mkfifo "$WORK/mock.in"
exec 7<>"$WORK/mock.in"
"$MOCK" nums:1 nums.again:1 t1:1 t1.copy:1 t1.mp:1 multi:3 orders.eu.created:1 \
  orders.us.created:1 orders.eu.created.late:1 other.topic:1 colors:1 work:1 grp:1 gp.a:1 gp.b:1 <&7 >"$WORK/mock.out" 2>"$WORK/mock.err" &
BACKGROUND_PIDS+=($!)
wait_for_line "$WORK/mock.out" '^[0-9.:,]+$'
BOOTSTRAP=$(head -1 "$WORK/mock.out")
export EDATOOL_BROKER=kafka://$BOOTSTRAP

# pub then sub -e reads back payloads, key and headers.
run "$EDATOOL" pub -k K1 -H src=shell -H n:=42 t1 a b c
check_eq "$RC" 0 "pub exit status (stderr: $ERR)"
run "$EDATOOL" sub t1 --from earliest -e
check_eq "$RC" 0 "sub -e exit status (stderr: $ERR)"
check_eq "$OUT" $'a\nb\nc' "payloads read back in order"
run "$EDATOOL" sub t1 --from earliest -e --template '%t %p %o %k %s %h\n'
check_eq "$(printf '%s\n' "$OUT" | sed 's/edatool-id=.*//')" "t1 0 0 K1 a src=shell,n=42
t1 0 1 K1 b src=shell,n=42
t1 0 2 K1 c src=shell,n=42" "template: topic, partition, offset, key, headers (edatool-id not among them)"
run "$EDATOOL" sub t1 --from earliest -n 1 --format json
check_contains "$OUT" '{"topic":"t1","partition":0,"offset":0,"id":"' "json: topic, partition, offset, id"
check_contains "$OUT" '"key":"K1"' "json: key"
check_contains "$OUT" '"headers":{"src":"shell","n":"42"},"payload":"a"}' "json: headers (typed values as text) and payload"
ID=$(printf '%s' "$OUT" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check_eq "${#ID}" 26 "the id is a ULID"
run "$EDATOOL" pub --id my-id-1 t1 d
run "$EDATOOL" sub t1 --from 3 -e --template '%i %s\n'
check_eq "$OUT" "my-id-1 d" "--id travels as the message id"

# kcat reads what edatool published: same key, headers, and the id as edatool-id.
run kcat -C -b "$BOOTSTRAP" -t t1 -e -q -f '%k|%s|%h\n'
check_eq "$RC" 0 "kcat -C exit status"
check_eq "$(printf '%s\n' "$OUT" | sed -n 1p | sed 's/edatool-id=[0-9A-Z]*$/edatool-id=ID/')" \
  "K1|a|src=shell,n=42,edatool-id=ID" "kcat sees key, headers and edatool-id"
check_eq "$(printf '%s\n' "$OUT" | sed -n 4p)" "|d|edatool-id=my-id-1" "kcat sees --id"
run kcat -C -b "$BOOTSTRAP" -t t1 -e -q -o 3 -f '%T\n'
check_eq "$((OUT > 1700000000000))" 1 "the envelope ts is the Kafka timestamp"

# edatool reads what kcat produced.
printf 'p1\np2\n' | kcat -P -b "$BOOTSTRAP" -t fromkcat -k KK -H hx=vx -H hy=vy
run "$EDATOOL" sub fromkcat --from earliest -e --template '%k %s %h [%i]\n'
check_eq "$OUT" $'KK p1 hx=vx,hy=vy []\nKK p2 hx=vx,hy=vy []' "edatool sub reads kcat's key, payload, headers"

# Formats: json round-trips through pub --json; msgpack through pub --msgpack.
"$EDATOOL" sub t1 --from earliest -e --format json | "$EDATOOL" pub --json t1.copy
run "$EDATOOL" sub t1.copy --from earliest -e --template '%i %k %s %h\n'
check_eq "$OUT" "$("$EDATOOL" sub t1 --from earliest -e --template '%i %k %s %h\n')" "json round trip keeps id, key, headers"
"$EDATOOL" sub t1 --from earliest -e --format msgpack | "$EDATOOL" pub --msgpack t1.mp
run "$EDATOOL" sub t1.mp --from earliest -e
check_eq "$OUT" $'a\nb\nc\nd' "msgpack round trip"

# --from: earliest, latest, N, -N, @TIME (one partition, so offsets are exact).
seq 10 | "$EDATOOL" pub nums
run "$EDATOOL" sub nums --from earliest -n 3
check_eq "$OUT" $'1\n2\n3' "--from earliest -n 3"
run "$EDATOOL" sub nums --from -2 -e
check_eq "$OUT" $'9\n10' "--from -2"
run "$EDATOOL" sub nums --from 7 -e
check_eq "$OUT" $'8\n9\n10' "--from 7 (an offset)"
run "$EDATOOL" sub nums --from latest -e
check_eq "$RC:$OUT" "0:" "--from latest -e: nothing, exit 0"
# @TIME goes through offsetsForTimes. librdkafka 2.0.2's mock cluster answers
# "no message at or after TIME" (-1) for every time, so here only that answer
# is checked: nothing is read, and -e still ends. Against Kafka it is exact.
seq 11 12 | "$EDATOOL" pub nums
run "$EDATOOL" sub nums --from "@$(rfc3339_ms $(($(now_ms) + 3600000)))" -e
check_eq "$RC:$OUT" "0:" "--from @TIME with no message at or after it: nothing, exit 0"
run "$EDATOOL" sub nums --from @-1h --timeout 1s
# librdkafka 2.0.2's mock answers every time lookup with "none" (-1).
check_eq "$RC:$OUT" "0:" "--from @-1h follows without error (the mock finds no time)"
run "$EDATOOL" pub nums x --print-offsets
check_error 2 "--print-offsets works with edatool's broker only" "pub --print-offsets with kafka://"
run "$EDATOOL" sub nums --from 100 -e
check_eq "$RC:$OUT" "0:" "--from past the end -e: nothing yet"
run "$EDATOOL" tail nums -n 2
check_eq "$OUT" $'11\n12' "tail -n 2"
run "$EDATOOL" replay nums --from 10 --template '%o %s\n'
check_eq "$OUT" $'10 11\n11 12' "replay --from 10"
run "$EDATOOL" replay nums --from 2 --to 3
check_eq "$OUT" $'3\n4' "replay --to"
"$EDATOOL" replay nums --from 10 --republish nums.again
run "$EDATOOL" sub nums.again --from earliest -e
check_eq "$OUT" $'11\n12' "replay --republish"

# Several partitions: -e ends at the end of all of them; -N is per partition.
seq 30 | "$EDATOOL" pub multi
run "$EDATOOL" sub multi --from earliest -e --template '%p %s\n'
check_eq "$(printf '%s\n' "$OUT" | cut -d' ' -f2 | sort -n | tr '\n' ' ')" "$(seq 30 | tr '\n' ' ')" "all 30 from 3 partitions"
PARTITIONS=$(printf '%s\n' "$OUT" | cut -d' ' -f1 | sort -u | wc -l)
run "$EDATOOL" sub multi --from -1 -e
check_eq "$(printf '%s\n' "$OUT" | wc -l)" "$PARTITIONS" "--from -1: the last of each partition"
"$EDATOOL" pub -k same multi k1 k2 k3
run "$EDATOOL" sub multi --from earliest -e --template '%k %p\n'
check_eq "$(printf '%s\n' "$OUT" | grep '^same' | sort -u | wc -l)" 1 "one key, one partition"

# Patterns become regex subscriptions: * one token, > the rest.
"$EDATOOL" pub orders.eu.created one
"$EDATOOL" pub orders.us.created two
"$EDATOOL" pub orders.eu.created.late three
"$EDATOOL" pub other.topic four
run "$EDATOOL" sub 'orders.*.created' --from earliest -e --template '%t:%s\n'
check_eq "$(printf '%s\n' "$OUT" | sort)" $'orders.eu.created:one\norders.us.created:two' "* pattern"
run "$EDATOOL" sub 'orders.>' --from earliest -e --template '%s\n'
check_eq "$(printf '%s\n' "$OUT" | sort | tr '\n' ' ')" "one three two " "> pattern"

# --filter runs in the client, with the same language.
"$EDATOOL" pub -H color=red -H n:=5 colors '{"qty":3}'
"$EDATOOL" pub -H color=blue -H n:=50 colors '{"qty":9}'
"$EDATOOL" pub -H color=red -H n:=500 colors '{"qty":12}'
run "$EDATOOL" sub colors --from earliest -e --filter "color = 'red'" --template '%{n}\n'
check_eq "$OUT" $'5\n500' "--filter on a header"
run "$EDATOOL" sub colors --from earliest -e --filter "n > 40 AND payload.qty >= 9"
check_eq "$OUT" $'{"qty":9}\n{"qty":12}' "--filter: numeric text header and JSON payload"
run "$EDATOOL" sub colors --from earliest -e --filter "sys.offset = 1 AND sys.topic = 'colors'" --template '%s\n'
check_eq "$OUT" '{"qty":9}' "--filter on system fields"
run "$EDATOOL" sub colors --from earliest -e --filter "color = "
check_eq "$RC" 2 "a bad filter is a usage error"
check_contains "$ERR" "edatool: filter: unexpected end" "a bad filter is named"

# Following: new messages, and topics that appear after the subscription.
start_sub follow 'late.*' --template '%t %s\n'
"$EDATOOL" pub late.x hello
wait_until 10 grep -q 'late.x hello' "$WORK/follow.out"
check_eq "$(cat "$WORK/follow.out")" "late.x hello" "a following sub picks up a new topic"
kill -INT "$SUB_PID"
wait_for_exit "$SUB_PID"
check_eq "$WAIT_RC" 130 "SIGINT ends sub with 130"

# --no-confirm publishes too; a local failure names the error.
"$EDATOOL" pub --no-confirm fire one-way
run "$EDATOOL" sub fire --from earliest -e
check_eq "$OUT" "one-way" "--no-confirm"
run "$EDATOOL" -X message.max.bytes=1000 pub big "$(head -c 3000 /dev/zero | tr '\0' x)"
check_error 1 "too large" "a message over message.max.bytes"

# Settings: -X is checked by librdkafka; a bad one is a usage error naming it.
run "$EDATOOL" -X no.such.setting=1 pub t1 x
check_error 2 "no.such.setting" "unknown -X"
run "$EDATOOL" -X linger.ms=soon sub t1 -e
check_error 2 "linger.ms" "bad -X value"
run "$EDATOOL" -X linger.ms pub t1 x
check_error 2 "name=value" "-X without a value"
run "$EDATOOL" -X linger.ms=5 -b tcp://127.0.0.1:1 pub t1 x
check_error 2 "kafka://" "-X with edatool's broker"
run "$EDATOOL" -b kafka://nohostport pub t1 x
check_error 2 "kafka://nohostport" "a bad kafka URL"
run "$EDATOOL" -X client.id=edatool-test sub t1 --from -1 -e
check_eq "$RC:$OUT" "0:d" "a good -X"
printf '# for the test\nclient.id = from-file\nlinger.ms=nope\n' >"$WORK/kafka.conf"
run "$EDATOOL" --kafka-config "$WORK/kafka.conf" pub t1 x
check_error 2 "linger.ms=nope" "a bad setting in --kafka-config"
run "$EDATOOL" --kafka-config "$WORK/kafka.conf" -X linger.ms=1 sub t1 --from -1 -e
check_eq "$RC:$OUT" "0:d" "-X overrides --kafka-config"
run "$EDATOOL" topic list
check_error 2 "kafka://" "admin commands need edatool's broker"

# An unreachable cluster: exit 1 with a clear message (3 with a shorter
# --timeout), never a hang.
DEAD=kafka://127.0.0.1:$(free_port)
run_timed "$EDATOOL" -b "$DEAD" pub t1 x
check_error 1 "cannot reach the Kafka brokers" "pub to an unreachable cluster"
check_lt "$ELAPSED_MS" 8000 "pub gives up within seconds"
run_timed "$EDATOOL" -b "$DEAD" sub t1 -e
check_error 1 "cannot reach the Kafka brokers" "sub from an unreachable cluster"
check_lt "$ELAPSED_MS" 8000 "sub gives up within seconds"
run_timed "$EDATOOL" -b "$DEAD" pub --timeout 1s t1 x
check_error 3 "cannot reach" "pub --timeout to an unreachable cluster"
check_lt "$ELAPSED_MS" 4000 "pub --timeout 1s gives up after about 1 s"
run "$EDATOOL" -b "$DEAD" sub t1 --timeout 1s -e
check_error 3 "cannot reach" "sub --timeout from an unreachable cluster"

# Consumer groups. The mock cluster only lets a new member in once the last
# one's session has expired (even after it left), so sessions are short here.
GX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
# recv commits a message's offset only once --exec exits 0: a failed message
# comes again, to this process and after a restart.
seq 3 | "$EDATOOL" pub work
cat >"$WORK/handler.sh" <<'SH'
p=$(cat)
echo "$p $EDATOOL_DELIVERY_COUNT $EDATOOL_TOPIC $EDATOOL_PARTITION" >>"$HANDLER_LOG"
[ "$p" != 2 ]
SH
run env HANDLER_LOG="$WORK/handled" "$EDATOOL" "${GX[@]}" recv work -n 3 --exec "sh $WORK/handler.sh"
check_eq "$RC" 0 "recv --exec -n 3 exit status (stderr: $ERR)"
check_eq "$(cat "$WORK/handled")" $'1 1 work 0\n2 1 work 0\n2 2 work 0' "a failing handler gets its message again"
check_contains "$ERR" "abandoned" "recv says a message was abandoned"
run "$EDATOOL" "${GX[@]}" recv work --wait 2s
check_eq "$RC:$OUT" $'0:2\n3' "the next member starts at the first message not completed"
run "$EDATOOL" "${GX[@]}" recv work --wait 1s
check_eq "$RC:$OUT" "0:" "completed messages are not delivered again"
run "$EDATOOL" -X enable.auto.commit=true recv work --wait 1s
check_error 2 "would commit messages before they are completed" "recv refuses librdkafka's auto commit"
run "$EDATOOL" recv work --ack none
check_error 2 "--ack" "recv --ack none with Kafka"
run "$EDATOOL" recv work --lock 1m
check_error 2 "--lock" "recv --lock with Kafka"

# sub --group: printed is completed; the group goes on where it left off.
seq 4 | "$EDATOOL" pub grp
run "$EDATOOL" "${GX[@]}" sub grp --group G1 --from earliest -n 2
check_eq "$OUT" $'1\n2' "sub --group -n 2"
run "$EDATOOL" "${GX[@]}" sub grp --group G1 -n 2 --format json
check_contains "$OUT" '"partition":0,"offset":2' "the group goes on from its committed offset"
run "$EDATOOL" "${GX[@]}" sub grp --group G1 --from 3
check_error 2 "earliest or latest" "a group starts at earliest or latest"
# A pattern is a regex subscription.
"$EDATOOL" pub gp.a from-a
"$EDATOOL" pub gp.b from-b
run "$EDATOOL" "${GX[@]}" sub 'gp.*' --group GP --from earliest -n 2 --template '%t %s\n'
check_eq "$(printf '%s\n' "$OUT" | sort)" $'gp.a from-a\ngp.b from-b' "sub 'gp.*' --group: a regex subscription"
run "$EDATOOL" -b "$DEAD" recv work
check_error 1 "cannot reach the Kafka brokers" "recv from an unreachable cluster"

finish
