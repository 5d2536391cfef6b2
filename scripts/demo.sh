#!/usr/bin/env bash
# A runnable tour: installs what is missing, builds, starts a broker on the
# default URL in a temp dir, and walks through what edatool does today.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_packages
build_edatool "$EDATOOL_ROOT/build" >/dev/null
edatool=$EDATOOL_ROOT/build/edatool

demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/edatool-demo.XXXXXX")
broker_pid=
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$demo_dir"
}
trap cleanup EXIT

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
show() {
  printf '$ %s\n' "$*"
  eval "$@"
}

cd "$demo_dir"
start_broker() {
  "$edatool" broker --data "$demo_dir/data" 2>>broker.log &
  broker_pid=$!
  for _ in $(seq 100); do grep -q 'listening on' broker.log 2>/dev/null && break; sleep 0.05; done
  if ! grep -q 'listening on' broker.log; then
    cat broker.log >&2
    echo "demo: the broker did not start (is port 7670 taken? stop the other broker first)" >&2
    exit 1
  fi
}
say "Start a broker on the default URL (tcp://127.0.0.1:7670), its log in $demo_dir/data"
start_broker
cat broker.log

say "Publish: one message per argument, with a key and typed headers"
show "$edatool pub orders.eu.created -k order-1 -H source=web -H amount:=120 '{\"id\":1,\"total\":120}'"
show "$edatool pub orders.us.created -k order-2 -H amount:=80 '{\"id\":2,\"total\":80}'"

say "Publish from a pipe: one message per line, confirmed by the broker before pub exits"
show "seq 1 100000 | $edatool pub numbers && echo published"

say "Subscribe with a wildcard (* one token, > the rest), from the start, exit at the end"
show "$edatool sub 'orders.*.created' --from earliest -e --template '%t key=%k amount=%{amount} %s\n'"

say "Filter in the broker: only big orders, by a typed header and a JSON payload field"
show "$edatool sub 'orders.>' --from earliest -e --filter 'amount > 100 AND payload.total >= 120'"

say "The last 3 numbers, as JSON lines"
show "$edatool sub numbers --from -3 -e --format json"

say "Copy a topic with ids, keys and headers intact: sub --format json | pub --json"
show "$edatool sub 'orders.>' --from earliest -e --format json | $edatool pub orders.archive --json"
show "$edatool sub orders.archive --from earliest -e --template '%i %k %h\n'"

say "A live subscriber receives new messages as they are published"
"$edatool" -v sub 'alerts.>' -n 2 --template '  live: %t %s\n' 2>sub.log &
sub_pid=$!
for _ in $(seq 100); do grep -q 'subscribed' sub.log 2>/dev/null && break; sleep 0.05; done
show "$edatool pub alerts.disk 'disk 91% full'"
show "$edatool pub alerts.cpu 'load 7.2'"
wait "$sub_pid"

say "Work a queue: 3 workers compete, a handler's exit status settles each message"
show "$edatool queue create jobs --max-deliveries 2"
show "seq 1 6 | $edatool pub jobs"
show "$edatool recv jobs --wait 1s --concurrency 3 --exec 'n=\$(cat); echo \"  worker \$\$ did job \$n\"; [ \$n != 4 ]'"
say "Job 4 failed twice: it is in the dead-letter queue, with the reason"
show "$edatool dlq jobs"
show "$edatool queue stats jobs"

say "tail shows the last messages of a topic; replay reads the stored log in order"
show "$edatool tail numbers -n 3"
show "$edatool replay numbers --from 500 --to 502 --template '%o %s\\n'"

say "Crash the broker with kill -9 and start it again: nothing confirmed is lost"
kill -9 "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
: >broker.log
start_broker
show "$edatool sub numbers --from earliest -e | wc -l"
show "$edatool topic stats"

say "replay --data reads the data directory directly, no broker needed"
show "$edatool replay numbers --data $demo_dir/data --from -2"

say "Bad input gets a clear message and exit status 2"
show "$edatool pub 'bad..topic' hi || echo \"exit status \$?\""

say "Done: the broker stops cleanly on SIGTERM"
