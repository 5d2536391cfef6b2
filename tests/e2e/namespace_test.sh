#!/usr/bin/env bash
# Namespaces (DESIGN §4 --namespace): one broker, several applications whose
# topics, queues and groups never see each other's; a directory per namespace.
source "$(dirname "$0")/lib.sh"
start_broker broker --data "$WORK/data"

# The same topic name in two namespaces: each has its own log and offsets.
"$EDATOOL" --namespace shop pub orders s0 s1
EDATOOL_NAMESPACE=billing "$EDATOOL" pub orders b0
"$EDATOOL" pub orders d0

run "$EDATOOL" --namespace shop sub orders --from earliest -e --template '%o:%s\n'
check_eq "$RC" 0 "sub in shop: exit status (stderr: $ERR)"
check_eq "$OUT" $'0:s0\n1:s1' "sub in shop sees only shop's orders"
run "$EDATOOL" --namespace billing sub '>' --from earliest -e
check_eq "$OUT" "b0" "sub '>' in billing sees only billing's topics"
run "$EDATOOL" sub orders --from earliest -e
check_eq "$OUT" "d0" "without --namespace: the default namespace"

# A live subscriber is not woken by another namespace's messages.
EDATOOL_NAMESPACE=shop start_sub live orders -n 1
"$EDATOOL" --namespace billing pub orders not-for-shop
"$EDATOOL" --namespace shop pub orders for-shop
wait_for_exit "$SUB_PID" 10
check_eq "$(cat "$WORK/live.out")" "for-shop" "live subscriber in shop"

# topic list shows the current namespace only; delete touches only it.
"$EDATOOL" --namespace shop pub refunds r0
run "$EDATOOL" --namespace shop topic list
check_eq "$OUT" $'orders\nrefunds' "topic list in shop"
run "$EDATOOL" --namespace billing topic delete orders
check_eq "$RC" 0 "topic delete in billing: exit status (stderr: $ERR)"
run "$EDATOOL" --namespace billing topic list
check_eq "$OUT" "" "billing has no topics left"
run "$EDATOOL" --namespace shop sub orders --from earliest -e
check_eq "$(printf '%s\n' "$OUT" | wc -l)" 3 "shop's orders survive billing's delete"

# Queues: a worker in one namespace never gets another's jobs; queue list is per namespace.
"$EDATOOL" --namespace shop pub jobs shop-job
"$EDATOOL" --namespace billing pub jobs billing-job
run "$EDATOOL" --namespace billing recv jobs -n 1 --wait 5s
check_eq "$OUT" "billing-job" "recv in billing"
run "$EDATOOL" --namespace billing recv jobs -n 1 --wait 300ms
check_eq "$OUT" "" "billing's queue is empty after its one job"
run "$EDATOOL" --namespace billing queue list
check_eq "$OUT" "jobs" "queue list in billing"
run "$EDATOOL" --namespace shop queue list
check_eq "$OUT" "" "shop has no queue yet"
run "$EDATOOL" --namespace shop recv jobs -n 1 --wait 5s
check_eq "$OUT" "shop-job" "recv in shop"

# Views live in the default namespace only: another namespace is told so.
run "$EDATOOL" --namespace shop view create totals --from orders --key sys.key --reduce count
check_contains "$ERR" "views live in the default namespace only" "view create in shop is refused"
check_eq "$RC" 2 "view create in shop: exit status"

# Each namespace is a directory of the data dir, and survives a restart.
for ns in shop billing default; do
  if [ -d "$WORK/data/$ns" ]; then pass; else fail "no directory for namespace $ns"; fi
done
stop_broker
start_broker broker2 --data "$WORK/data"
run "$EDATOOL" --namespace shop sub orders --from earliest -e --template '%o:%s\n'
check_eq "$OUT" $'0:s0\n1:s1\n2:for-shop' "shop's orders after a restart"
run "$EDATOOL" topic list
check_eq "$OUT" "orders" "the default namespace after a restart"
stop_broker

# replay --data reads one namespace of a data directory with no broker.
run "$EDATOOL" --namespace shop replay refunds --data "$WORK/data"
check_eq "$OUT" "r0" "replay --data in shop"

# A namespace that is not a name is a usage error before anything is sent.
for bad in 'a.b' '../etc' '' "$(printf 'x%.0s' {1..65})"; do
  run "$EDATOOL" --namespace "$bad" pub orders x
  check_error 2 "namespace" "pub with namespace '$bad'"
done
run env EDATOOL_NAMESPACE=no/slash "$EDATOOL" replay orders --data "$WORK/data"
check_error 2 "namespace" "replay with a bad EDATOOL_NAMESPACE"

finish
