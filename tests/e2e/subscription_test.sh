#!/usr/bin/env bash
# Durable subscriptions with rules (docs/QUEUES.md): each subscription on a
# topic gets its own copy of the new messages its filter matches, with its
# SET/REMOVE actions applied; rules survive a broker restart.
source "$(dirname "$0")/lib.sh"

URL="tcp://127.0.0.1:$(free_port)"
start_broker_at broker "$URL" --data "$WORK/data"

"$EDATOOL" pub orders -H amount:=500 before-the-subscriptions
run "$EDATOOL" subscription create orders big --filter 'amount > 100' --set team=audit --set level:=2 --remove internal
check_eq "$RC" 0 "subscription create with a rule ($ERR)"
run "$EDATOOL" subscription create orders all
check_eq "$RC" 0 "subscription create without a rule ($ERR)"
run "$EDATOOL" subscription create orders big --filter 'amount > 100' --set team=audit --set level:=2 --remove internal
check_eq "$RC" 0 "the same subscription again is fine ($ERR)"
run "$EDATOOL" subscription create orders big --filter 'amount > 5'
check_error 1 "exists" "the same name with another rule"
run "$EDATOOL" subscription create orders bad --filter 'amount >'
check_eq "$RC" 2 "a bad filter: exit status"
check_contains "$ERR" "edatool: filter: unexpected end of the filter" "a bad filter: the message"
run "$EDATOOL" subscription create orders bad --set '=x'
check_error 2 "--set" "a bad --set"

"$EDATOOL" pub orders -H amount:=50 -H internal=x small
"$EDATOOL" pub orders -H amount:=150 -H internal=x medium
"$EDATOOL" pub orders -H amount:=200 large

run "$EDATOOL" recv orders:big --ack none --wait 1s --template '%s team=%{team} level=%{level} internal=%{internal}\n'
check_eq "$OUT" "$(printf 'medium team=audit level=2 internal=\nlarge team=audit level=2 internal=')" \
  "big gets what its filter matches, with SET and REMOVE applied"
run "$EDATOOL" recv orders:big --ack none --wait 1s --format json
check_eq "$OUT" "" "and nothing else"
run "$EDATOOL" recv orders:all --wait 1s
check_eq "$OUT" "$(printf 'small\nmedium\nlarge')" "all gets every new message, not the older one"
run "$EDATOOL" sub orders --from earliest -e --template '%s internal=%{internal}\n'
check_contains "$OUT" "medium internal=x" "the topic itself keeps the message as published"

run "$EDATOOL" subscription list orders
check_contains "$OUT" "orders:big	amount > 100 --set team=audit --set level:=2 --remove internal" "list shows the rule"
check_contains "$OUT" "orders:all	(every message)" "list shows the rule-less one"
run "$EDATOOL" subscription list --json
check_contains "$OUT" '"name":"big","filter":"amount > 100"' "list --json"

# The rule survives a restart.
stop_broker "$BROKER_PID" broker
start_broker_at broker2 "$URL" --data "$WORK/data"
"$EDATOOL" pub orders -H amount:=20 tiny
"$EDATOOL" pub orders -H amount:=300 huge
run "$EDATOOL" recv orders:big --ack none --wait 1s --template '%s team=%{team}\n'
check_eq "$OUT" "huge team=audit" "after a restart the rule still filters and sets"

run "$EDATOOL" subscription delete orders big
check_eq "$RC" 0 "subscription delete ($ERR)"
run "$EDATOOL" recv orders:big --wait 300ms
check_error 1 "no group big on orders" "recv on a deleted subscription"
run "$EDATOOL" subscription delete orders big
check_error 1 "no group big" "deleting it again"

finish
