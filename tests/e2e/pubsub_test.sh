#!/usr/bin/env bash
# pub and sub through a real broker: order, counts, wildcards, formats, binary data.
source "$(dirname "$0")/lib.sh"
start_broker

# Order and exact count: 100k lines from stdin arrive in order, nothing lost.
seq 100000 | "$EDATOOL" pub nums
run "$EDATOOL" sub nums --from earliest -e
check_eq "$RC" 0 "sub -e exit status"
check_eq "$(printf '%s\n' "$OUT" | wc -l)" 100000 "message count"
check_eq "$(printf '%s\n' "$OUT" | md5sum)" "$(seq 100000 | md5sum)" "messages in order"

# A last line without a newline is still a message; empty input publishes nothing.
printf 'first\nlast-without-newline' | "$EDATOOL" pub tail.check
run "$EDATOOL" sub tail.check --from earliest -e
check_eq "$OUT" $'first\nlast-without-newline' "unterminated last line"
run "$EDATOOL" pub empty.topic </dev/null
check_eq "$RC" 0 "empty stdin exit status"

# Arguments, keys, typed headers and templates.
"$EDATOOL" pub -k user-7 -H source=shell -H n:=42 -H ok:=true orders.eu.created one two
run "$EDATOOL" sub orders.eu.created --from earliest -e --template '%o %k %s %{source} %h\n'
check_eq "$OUT" $'0 user-7 one shell source=shell,n=42,ok=true\n1 user-7 two shell source=shell,n=42,ok=true' "template output"

# Wildcards: * is one token, > the rest, across topics created before and after.
"$EDATOOL" pub orders.us.created three
"$EDATOOL" pub orders.eu.created.late four
"$EDATOOL" pub other.topic five
run "$EDATOOL" sub 'orders.*.created' --from earliest -e --template '%t:%s\n'
check_eq "$(printf '%s\n' "$OUT" | sort)" $'orders.eu.created:one\norders.eu.created:two\norders.us.created:three' "* wildcard"
run "$EDATOOL" sub 'orders.>' --from earliest -e --template '%s\n'
check_eq "$(printf '%s\n' "$OUT" | sort | tr '\n' ' ')" "four one three two " "> wildcard"

# -n stops after exactly N; --from -N takes the last N; --from N an offset.
run "$EDATOOL" sub nums --from earliest -n 5
check_eq "$OUT" $'1\n2\n3\n4\n5' "-n 5"
run "$EDATOOL" sub nums --from -2 -e
check_eq "$OUT" $'99999\n100000' "--from -2"
run "$EDATOOL" sub nums --from 99997 -n 1
check_eq "$OUT" "99998" "--from offset"

# --timeout: exit 3 when -n was not reached, 0 when it was only a time limit.
run "$EDATOOL" sub tail.check --from earliest -n 10 --timeout 300ms
check_eq "$RC" 3 "timeout before -n count"
check_contains "$ERR" "received 2 of 10" "timeout message"
run "$EDATOOL" sub tail.check --from earliest --timeout 300ms
check_eq "$RC" 0 "timeout without a count"
check_eq "$OUT" $'first\nlast-without-newline' "messages before the timeout"

# Live delivery to two subscribers, including a topic created after they started.
start_sub live1 'live.>' -n 3
live1=$SUB_PID
start_sub live2 'live.>' -n 3
live2=$SUB_PID
"$EDATOOL" pub live.a one
"$EDATOOL" pub live.b.c two three
wait_for_exit "$live1"
check_eq "$WAIT_RC" 0 "first live subscriber exit"
wait_for_exit "$live2"
check_eq "$WAIT_RC" 0 "second live subscriber exit"
check_eq "$(cat "$WORK/live1.out")" $'one\ntwo\nthree' "first subscriber got everything"
check_eq "$(cat "$WORK/live2.out")" $'one\ntwo\nthree' "second subscriber got everything"

# JSON output parses, with a binary payload as payload_base64.
printf 'bin\0ary\xff\x01' | "$EDATOOL" pub --whole -k k1 -H n:=5 binary.data
"$EDATOOL" pub binary.data 'plain text'
run "$EDATOOL" sub binary.data --from earliest -e --format json
check_eq "$RC" 0 "json sub exit"
check_eq "$(printf '%s\n' "$OUT" | /usr/bin/python3 -c '
import base64, json, sys
rows = [json.loads(line) for line in sys.stdin]
print(base64.b64decode(rows[0]["payload_base64"]) == b"bin\0ary\xff\x01", rows[0]["key"],
      rows[0]["headers"]["n"], rows[1]["payload"], rows[1]["offset"])')" "True k1 5 plain text 1" "json fields"

# Raw output of a binary payload is byte-exact.
"$EDATOOL" sub binary.data --from earliest -n 1 --template '%s' >"$WORK/raw.bin"
printf 'bin\0ary\xff\x01' >"$WORK/expected.bin"
if cmp -s "$WORK/raw.bin" "$WORK/expected.bin"; then pass; else fail "binary payload not byte-exact"; fi

# Round trips: sub --format json | pub --json and msgpack both keep id, key, headers, payload.
"$EDATOOL" sub binary.data --from earliest -e --format json | "$EDATOOL" pub copy.json --json
"$EDATOOL" sub binary.data --from earliest -e --format msgpack | "$EDATOOL" pub copy.msgpack --msgpack
fields='%i|%k|%h|%s\n'
original=$("$EDATOOL" sub binary.data --from earliest -e --template "$fields" | od -c)
check_eq "$("$EDATOOL" sub copy.json --from earliest -e --template "$fields" | od -c)" "$original" "json round trip"
check_eq "$("$EDATOOL" sub copy.msgpack --from earliest -e --template "$fields" | od -c)" "$original" "msgpack round trip"

# NUL-delimited and custom-delimited input.
printf 'a\0b\0c' | "$EDATOOL" pub -0 delim.nul
check_eq "$("$EDATOOL" sub delim.nul --from earliest -e)" $'a\nb\nc' "-0 input"
printf 'x,y,z' | "$EDATOOL" pub -d , delim.comma
check_eq "$("$EDATOOL" sub delim.comma --from earliest -e)" $'x\ny\nz' "-d , input"

# A line longer than 64 KiB is one message.
head -c 300000 /dev/zero | tr '\0' 'x' | "$EDATOOL" pub long.line
check_eq "$("$EDATOOL" sub long.line --from earliest -e | wc -c)" 300001 "300 KB line"

finish
