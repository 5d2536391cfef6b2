#!/usr/bin/env bash
# Bad input and unreachable brokers: exact exit statuses (DESIGN §4) and one
# `edatool:` diagnostic on stderr that names what is wrong.
source "$(dirname "$0")/lib.sh"
# Brokers keep their data under $WORK, never in the user's data directory.

# Usage errors are found before any connection is tried, so they are checked
# against a URL where nothing listens: each must exit 2 at once.
NO_BROKER="tcp://127.0.0.1:$(free_port)"
export EDATOOL_BROKER=$NO_BROKER

# usage_error NEEDLE DESCRIPTION CMD...: CMD exits 2 within 2 s naming NEEDLE.
usage_error() {
  local needle=$1 what=$2
  shift 2
  run_timed "$@" </dev/null
  check_error 2 "$needle" "$what"
  check_lt "$ELAPSED_MS" 2000 "$what: usage error reported without waiting for a broker (ms)"
}

# Topics and patterns.
usage_error "'a..b'" "pub topic a..b" "$EDATOOL" pub a..b x
usage_error "'a.>'" "pub topic a.>" "$EDATOOL" pub 'a.>' x
usage_error "'\$sys.x'" "pub topic \$sys.x" "$EDATOOL" pub '$sys.x' x
usage_error "'a.>.b'" "sub pattern a.>.b" "$EDATOOL" sub 'a.>.b'
usage_error "'a*'" "sub pattern a*" "$EDATOOL" sub 'a*'
# A second, valid pattern does not hide a bad one.
usage_error "'a*'" "sub bad pattern after a good one" "$EDATOOL" sub ok.topic 'a*'

# Durations and positions.
usage_error "'5x'" "pub --timeout 5x" "$EDATOOL" pub --timeout 5x t x
usage_error "'5x'" "sub --timeout 5x" "$EDATOOL" sub t --timeout 5x
usage_error "'abc'" "sub --from abc" "$EDATOOL" sub t --from abc
usage_error "'@notatime'" "sub --from @notatime" "$EDATOOL" sub t --from @notatime

# Unknown flags, in every place they can appear (--timeout bounds the run if
# the flag were ignored and the command went on to look for a broker).
usage_error "--bogus" "pub unknown flag" "$EDATOOL" pub --timeout 1s --bogus t x
check_contains "$ERR" "run 'edatool pub --help'" "an unknown flag with no near one points at --help"
usage_error "--bogus" "pub unknown flag after the arguments" "$EDATOOL" pub --timeout 1s t x --bogus
usage_error "--bogus" "sub unknown flag" "$EDATOOL" sub --timeout 1s -n 1 --bogus t
usage_error "--bogus" "unknown flag before the subcommand" "$EDATOOL" --bogus pub --timeout 1s t x
usage_error "give it after" "a subcommand's flag before the subcommand" "$EDATOOL" --timeout 1s pub t x
check_eq "$ERR" "edatool: '--timeout' is an option of 'edatool pub': give it after 'pub'" \
  "a subcommand's flag too early: the whole message"
usage_error "give it after" "a nested command's flag before it" "$EDATOOL" topic --json stats
check_eq "$ERR" "edatool: '--json' is an option of 'edatool topic stats': give it after 'stats'" \
  "a nested command's flag too early: the whole message"
usage_error "give it after 'pub'" "a subcommand's --flag=value before it" "$EDATOOL" --timeout=1s pub t x
usage_error "'-n' is an option of 'edatool sub'" "a short flag before the subcommand" "$EDATOOL" -n 1 sub t
usage_error "'-n' is an option of 'edatool sub'" "a short flag with its value attached" "$EDATOOL" -n1 sub t
usage_error "--json" "a flag the chosen command does not have" "$EDATOOL" --json sub t
check_not_contains "$ERR" "give it after" "no 'give it after' for a flag the command lacks"
usage_error "unexpected argument '--json' for 'edatool topic stats'" "a flag-like argument after --" \
  "$EDATOOL" topic stats p -- --json

# Unknown subcommand, with a suggestion.
usage_error "did you mean 'pub'" "unknown subcommand pubb" "$EDATOOL" pubb t x
check_contains "$ERR" "'pubb'" "unknown subcommand is named"

# Mistyped flags, with the nearest flag of that command (or a global one).
usage_error "did you mean '--format'?" "sub --form" "$EDATOOL" sub --timeout 1s t --form json
check_eq "$ERR" "edatool: unknown option '--form' for 'edatool sub' (did you mean '--format'?)" \
  "sub --form: the whole message"
usage_error "did you mean '--format'?" "sub --form=json" "$EDATOOL" sub --timeout 1s t --form=json
usage_error "did you mean '--json'?" "nested command topic stats --jsn" "$EDATOOL" topic stats --jsn
check_contains "$ERR" "'edatool topic stats'" "the nested command is named"
usage_error "did you mean '--namespace'?" "a global flag after the subcommand" \
  "$EDATOOL" pub --timeout 1s --namespce x t m
usage_error "did you mean '--verbose'?" "a global flag without a subcommand" "$EDATOOL" --verbos
usage_error "did you mean 'list'?" "nested command topic lst" "$EDATOOL" topic lst
check_contains "$ERR" "unknown command 'lst' for 'edatool topic'" "the nested command is named"

# help COMMAND: an unknown COMMAND is a usage error, with a suggestion when one is close.
usage_error "did you mean 'sub'?" "help sbu" "$EDATOOL" help sbu
usage_error "'nosuch'" "help nosuch" "$EDATOOL" help nosuch
usage_error "did you mean 'replay'?" "man replya" "$EDATOOL" man replya

# Output options.
usage_error "xml" "sub --format xml" "$EDATOOL" sub t --format xml
check_contains "$ERR" "--format" "bad --format names the flag"
usage_error "%q" "sub --template %q" "$EDATOOL" sub t --template '%q'

# pub input modes and message fields.
usage_error "--id" "--id with two messages" "$EDATOOL" pub --id 01J00000000000000000000000 t one two
usage_error "--json" "--json with -0" "$EDATOOL" pub --json -0 t
check_contains "$ERR" "-0" "conflicting stdin modes are both named"
usage_error "'noequals'" "-H noequals" "$EDATOOL" pub -H noequals t x
usage_error "'abc'" "-H n:=abc" "$EDATOOL" pub -H n:=abc t x

# Broker URLs that are neither tcp:// nor ipc://.
usage_error "'http://127.0.0.1:1'" "pub -b http://" "$EDATOOL" -b http://127.0.0.1:1 pub t x
usage_error "'udp://127.0.0.1:1'" "sub -b udp://" "$EDATOOL" -b udp://127.0.0.1:1 sub t
usage_error "'127.0.0.1:7670'" "-b without a scheme" "$EDATOOL" -b 127.0.0.1:7670 pub t x

# No broker at the URL. Run side by side: without --timeout each gives up after
# about 5 s with status 1; with --timeout 1s it is a timeout, status 3.
declare -A NB_PIDS
"$EDATOOL" pub t hello >"$WORK/nb-pub.out" 2>"$WORK/nb-pub.err" &
nb_pub=$!
"$EDATOOL" sub t >"$WORK/nb-sub.out" 2>"$WORK/nb-sub.err" &
nb_sub=$!
"$EDATOOL" pub --timeout 1s t hello >"$WORK/nb-pub-t.out" 2>"$WORK/nb-pub-t.err" &
nb_pub_t=$!
"$EDATOOL" sub t --timeout 1s >"$WORK/nb-sub-t.out" 2>"$WORK/nb-sub-t.err" &
nb_sub_t=$!
"$EDATOOL" sub t --timeout 1s -n 1 >"$WORK/nb-sub-tn.out" 2>"$WORK/nb-sub-tn.err" &
nb_sub_tn=$!
# Nothing to publish: the error is about the broker alone, no "0 of 0".
"$EDATOOL" pub t </dev/null >"$WORK/nb-pub-empty.out" 2>"$WORK/nb-pub-empty.err" &
nb_pub_empty=$!
"$EDATOOL" pub --timeout 1s t </dev/null >"$WORK/nb-pub-empty-t.out" 2>"$WORK/nb-pub-empty-t.err" &
nb_pub_empty_t=$!
BACKGROUND_PIDS+=("$nb_pub" "$nb_sub" "$nb_pub_t" "$nb_sub_t" "$nb_sub_tn" "$nb_pub_empty" "$nb_pub_empty_t")
# Queue workers and admin commands give up the same way, with status 1.
for cmd in "recv q" "recv q -n 1" "tail q" "topic list" "queue list" "subscription list t" \
  "settle q 00000000000000ab complete"; do
  name=${cmd// /-}
  # shellcheck disable=SC2086 # the words of $cmd are the arguments
  "$EDATOOL" $cmd >"$WORK/nb-$name.out" 2>"$WORK/nb-$name.err" &
  NB_PIDS[$name]=$!
  BACKGROUND_PIDS+=("$!")
done
started=$(now_ms)

# check_unreachable NAME PID EXPECTED_RC MAX_MS: the command exited with
# EXPECTED_RC within MAX_MS of the start, saying which URL it could not reach.
check_unreachable() {
  local name=$1 pid=$2 rc=$3 max_ms=$4 err
  wait_for_exit "$pid" 10
  local took=$(($(now_ms) - started))
  check_lt "$took" "$max_ms" "no broker, $name: gave up in time (ms)"
  err=$(cat "$WORK/nb-$name.err")
  RC=$WAIT_RC ERR=$err check_error "$rc" "$NO_BROKER" "no broker, $name"
}
check_unreachable pub-t "$nb_pub_t" 3 3000
check_unreachable pub-empty-t "$nb_pub_empty_t" 3 3000
check_eq "$(cat "$WORK/nb-pub-empty-t.err")" "edatool: timed out after 1s waiting for the broker at $NO_BROKER" \
  "no broker, pub --timeout with nothing to publish: the whole message"
check_unreachable sub-t "$nb_sub_t" 3 3000
check_unreachable sub-tn "$nb_sub_tn" 3 3000
check_unreachable pub "$nb_pub" 1 7500
check_contains "$(cat "$WORK/nb-pub.err")" "; 1 of 1 messages not confirmed" "no broker, pub: says how many were not confirmed"
check_unreachable pub-empty "$nb_pub_empty" 1 7500
check_eq "$(cat "$WORK/nb-pub-empty.err")" "edatool: cannot reach a broker at $NO_BROKER within 5s" \
  "no broker, pub with nothing to publish: the whole message"
check_unreachable sub "$nb_sub" 1 7500
for name in "${!NB_PIDS[@]}"; do check_unreachable "$name" "${NB_PIDS[$name]}" 1 7500; done
check_eq "$(cat "$WORK/nb-sub.out" "$WORK/nb-sub-t.out" "$WORK/nb-sub-tn.out")" "" "no broker: sub printed no data"

# From here on a broker that takes at most 1 KiB per message.
start_broker broker --max-message-bytes 1KiB
big=$(head -c 2000 /dev/zero | tr '\0' y)

# An oversized message on stdin: status 1 naming the limit; the small messages
# before it are stored and readable; the oversized one is not.
printf 'small1\nsmall2\n%s\nafter\n' "$big" >"$WORK/oversized.in"
run "$EDATOOL" pub big.stdin <"$WORK/oversized.in"
check_error 1 "1024" "oversized message on stdin"
check_contains "$ERR" "2000" "oversized message: its size is named"
run "$EDATOOL" sub big.stdin --from earliest -e
check_eq "$RC" 0 "sub after oversized message: exit status"
check_eq "$(printf '%s\n' "$OUT" | sed -n 1,2p)" $'small1\nsmall2' "messages before the oversized one are stored"
if [[ "$OUT" == *yyyy* ]]; then fail "the oversized message was stored"; else pass; fi

# An oversized message as an argument: the broker rejects it, status 1, nothing stored.
run "$EDATOOL" pub big.arg "$big"
check_error 1 "1024" "oversized message as an argument"
run "$EDATOOL" sub big.arg --from earliest -e
check_eq "$RC:$OUT" "0:" "oversized argument: nothing stored"

# Empty stdin publishes nothing and exits 0 at once.
run_timed "$EDATOOL" pub empty.stdin </dev/null
check_eq "$RC" 0 "empty stdin: exit status"
check_eq "$ERR" "" "empty stdin: no diagnostics"
check_lt "$ELAPSED_MS" 2000 "empty stdin: exits quickly (ms)"
run "$EDATOOL" sub empty.stdin --from earliest -e
check_eq "$OUT" "" "empty stdin: nothing stored"

# pub --json: an invalid line stops with status 1 naming its line number; the
# valid lines before it are stored.
printf '%s\n' '{"payload":"j1"}' '{"payload":"j2","key":"k"}' 'not json at all' '{"payload":"j4"}' \
  >"$WORK/bad.jsonl"
run "$EDATOOL" pub --json json.bad <"$WORK/bad.jsonl"
check_error 1 "line 3" "pub --json with an invalid line"
run "$EDATOOL" sub json.bad --from earliest -e --template '%k:%s\n'
check_eq "$OUT" $':j1\nk:j2' "valid JSON lines before the bad one are stored"

# The broker took all of that without complaint and is still running.
if kill -0 "$BROKER_PID" 2>/dev/null; then pass; else fail "broker died during the error tests"; fi

finish
