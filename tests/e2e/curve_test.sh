#!/usr/bin/env bash
# CURVE security (issue 8): keygen, a broker that admits only authorized keys,
# per-key rights, SIGHUP reload, and the messages a refused client gets.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

# ---- keygen ----
run "$EDATOOL" keygen
check_eq "$RC" 0 "keygen prints a pair"
check_eq "$(printf '%s\n' "$OUT" | grep -cE '^(public|secret): .{40}$')" 2 "public: and secret: lines"

for who in broker alice bob carol dave mallory; do
  run "$EDATOOL" keygen --out "$who"
  check_eq "$RC" 0 "keygen --out $who"
done
check_eq "$(stat -c %a alice.key)" 600 "the secret key file is mode 0600"
check_eq "$(head -c 40 alice.pub | wc -c)" 40 "the .pub file holds a 40-character key"
check_eq "$(wc -l <alice.pub)" 1 "the .pub file is one line"
before=$(cat alice.key)
run "$EDATOOL" keygen --out alice
check_error 1 "alice.pub exists" "keygen refuses to overwrite"
check_contains "$ERR" "--force" "keygen says how to overwrite"
check_eq "$(cat alice.key)" "$before" "the refused keygen left the secret key alone"
run "$EDATOOL" keygen --out mallory --force
check_eq "$RC" 0 "keygen --force replaces a pair"

# ---- broker flag errors: exit 2 ----
run "$EDATOOL" broker --memory --curve-secret broker.key
check_error 2 "--authorized-keys" "--curve-secret without --authorized-keys"
run "$EDATOOL" broker --memory --authorized-keys /dev/null
check_error 2 "--curve-secret" "--authorized-keys without --curve-secret"
printf '# ok\n%s\nnot-a-key pub=x\n' "$(cat alice.pub)" >bad-keys
run "$EDATOOL" broker --memory --curve-secret broker.key --authorized-keys bad-keys
check_error 2 "bad-keys:3: 'not-a-key'" "a bad authorized keys line names file and line"
run "$EDATOOL" broker --memory --curve-secret alice.pub --authorized-keys bad-keys
check_eq "$RC" 2 "a public key given as --curve-secret"

# ---- a CURVE broker ----
write_keys() {
  {
    echo "# everything"
    echo "$(cat alice.pub)"
    echo "$(cat bob.pub) pub=orders.> sub=orders.*"
    echo "$(cat dave.pub) ns=shop"
    [ "${1:-}" == "without-carol" ] || echo "$(cat carol.pub) sub=audit.>"
  } >keys.tmp
  mv keys.tmp keys
}
write_keys
start_broker curve --memory --curve-secret broker.key --authorized-keys keys
check_contains "$(cat "$WORK/curve.log")" "CURVE on, 4 keys authorized" "the broker says CURVE is on"

as() { # as NAME CMD...: runs edatool with NAME's key
  local who=$1
  shift
  run "$EDATOOL" --curve-key "$who.key" --server-key broker.pub "$@"
}

# An authorized key publishes and subscribes (keys from the environment here).
EDATOOL_CURVE_KEY=alice.key EDATOOL_SERVER_KEY=$(cat broker.pub) start_sub alice -n 1 'x.>'
as alice pub x.y hello
check_eq "$RC" 0 "alice publishes (stderr: $ERR)"
wait_for_exit "$SUB_PID" 10
check_eq "$WAIT_RC" 0 "alice's subscriber exits after one message"
check_eq "$(cat "$WORK/alice.out")" "hello" "alice's subscriber got the message"

# An unknown key: refused at once, saying so.
run_timed "$EDATOOL" --curve-key mallory.key --server-key broker.pub pub x.y nope
check_error 1 "authentication failed" "an unknown key is refused"
check_contains "$ERR" "$(cat mallory.pub)" "the refusal names the client's key"
check_contains "$ERR" "--authorized-keys" "the refusal says what to check"
check_lt "$ELAPSED_MS" 5000 "an unknown key fails within the unreachable timeout (ms)"
check_contains "$(cat "$WORK/curve.log")" "key $(cat mallory.pub) is not in keys" "the broker logs it"
run_timed "$EDATOOL" --curve-key mallory.key --server-key broker.pub sub 'x.>' -n 1
check_error 1 "authentication failed" "an unknown key cannot subscribe"
check_lt "$ELAPSED_MS" 5000 "sub with an unknown key fails at once (ms)"

# No key at all against a CURVE broker.
run_timed "$EDATOOL" pub x.y nope
check_eq "$RC" 1 "a client without keys is refused (stderr: $ERR)"
check_contains "$ERR" "CURVE" "the refusal of a plaintext client mentions CURVE"
check_contains "$ERR" "--server-key" "the refusal of a plaintext client names --server-key"
check_lt "$ELAPSED_MS" 6500 "a plaintext client fails within its timeout (ms)"

# A wrong server key: the handshake never completes.
run_timed "$EDATOOL" --curve-key alice.key --server-key mallory.pub pub x.y nope
check_eq "$RC" 1 "a wrong --server-key fails (stderr: $ERR)"
check_contains "$ERR" "--server-key" "a wrong server key is hinted at"
check_lt "$ELAPSED_MS" 6500 "a wrong server key fails within its timeout (ms)"

# Half the client keys: a usage error.
run "$EDATOOL" --curve-key alice.key pub x.y nope
check_error 2 "--server-key" "--curve-key without --server-key"

# ---- rights ----
as bob pub orders.eu.created ok
check_eq "$RC" 0 "bob publishes within pub=orders.> (stderr: $ERR)"
as bob pub billing.x no
check_error 1 "permission denied" "bob publishes outside pub=orders.>"
check_contains "$ERR" "$(cat bob.pub)" "the permission error names the key"
check_contains "$ERR" "may not publish to 'billing.x'" "the permission error names the right"
as bob sub 'billing.>' -n 1
check_error 1 "permission denied" "bob subscribes outside sub=orders.*"
check_contains "$ERR" "may not subscribe to or receive from 'billing.>'" "sub: the right is named"
as bob sub 'orders.>' -n 1
check_error 1 "permission denied" "sub=orders.* does not cover orders.>"
as bob sub orders.eu --from earliest -n 1 -e --timeout 5s
check_eq "$RC" 0 "bob subscribes within sub=orders.* (stderr: $ERR)"
as bob topic list
check_error 1 "lacks the admin right" "bob may not use admin commands"
as alice topic list
check_eq "$RC" 0 "alice (no rights listed) may use admin commands (stderr: $ERR)"
check_contains "$OUT" "orders.eu.created" "alice lists the topics"

# ns= limits a key to its namespaces, with every right within them.
as dave --namespace shop pub orders mine
check_eq "$RC" 0 "dave publishes in namespace shop (stderr: $ERR)"
as dave --namespace shop topic list
check_eq "$OUT" "orders" "dave administers namespace shop"
as dave pub orders not-mine
check_error 1 "permission denied" "dave may not use the default namespace"
check_contains "$ERR" "may not use namespace 'default' (its ns= rights: shop)" "the namespace is named"
as dave --namespace billing sub '>' -n 1
check_error 1 "may not use namespace 'billing'" "dave may not subscribe in billing"

# ---- SIGHUP ----
as carol sub audit.log --from earliest -e --timeout 5s
check_eq "$RC" 0 "carol is admitted before the reload (stderr: $ERR)"
echo garbage >keys
kill -HUP "$BROKER_PID"
wait_for_line "$WORK/curve.log" "SIGHUP: keeping the 4 keys"
as alice pub x.y still-here
check_eq "$RC" 0 "a bad file on SIGHUP keeps the old list (stderr: $ERR)"
write_keys without-carol
kill -HUP "$BROKER_PID"
wait_for_line "$WORK/curve.log" "SIGHUP: reread keys: 3 keys authorized"
as carol sub audit.log --from earliest -e --timeout 5s
check_error 1 "authentication failed" "a key removed on SIGHUP is refused"
as alice pub x.y after-reload
check_eq "$RC" 0 "alice is still admitted after the reload (stderr: $ERR)"
kill -0 "$BROKER_PID" && pass || fail "the broker survived SIGHUP"

# A CURVE client against a plaintext broker.
start_broker plain --memory
as alice pub x.y hi
check_error 1 "authentication failed" "a CURVE client against a plaintext broker"
# "does not use CURVE", or when the broker hung up first every time, a hint at it.
check_contains "$ERR" "CURVE" "a CURVE client against a plaintext broker: CURVE is named"

# ---- a plaintext broker on a non-loopback address warns ----
"$EDATOOL" broker --memory --bind 'tcp://0.0.0.0:*' 2>"$WORK/open.log" &
BACKGROUND_PIDS+=("$!")
wait_for_line "$WORK/open.log" 'listening on'
check_contains "$(cat "$WORK/open.log")" "warning: tcp://0.0.0.0:" "a plaintext non-loopback broker warns"
check_contains "$(cat "$WORK/plain.log")" "listening on" "a loopback broker starts"
if grep -q warning "$WORK/plain.log"; then fail "a loopback broker does not warn"; else pass; fi

finish
