#!/usr/bin/env bash
# Progress on stderr (issue 6): shown only when stderr is a terminal, never
# when piped, not with -q, and not when stdout prints to the same terminal.
# script(1) gives the command a terminal.
source "$(dirname "$0")/lib.sh"

start_broker
# 20 messages stamped 25 ms apart, so a replay at the original pace takes
# about half a second, past the meter's first redraw (200 ms).
# (%.0f: mawk's %d stops at 2^31.)
seq 1 20 | awk -v base="$(now_ms)" '{ printf "{\"payload\":\"%d\",\"ts\":%.0f}\n", $1, base + 25 * $1 }' |
  "$EDATOOL" pub --json paced

# in_terminal COMMAND: runs COMMAND with a terminal as stdin/stdout/stderr;
# what reached the terminal goes to $WORK/tty.
in_terminal() { script -qec "$1" /dev/null >"$WORK/tty" </dev/null; }

in_terminal "'$EDATOOL' replay paced --speed original >'$WORK/replayed'"
check_contains "$(cat "$WORK/tty")" "replay: " "a terminal sees the progress line"
check_contains "$(cat "$WORK/tty")" $'\e[K' "the line is erased at the end"
check_eq "$(cat "$WORK/replayed")" "$(seq 1 20)" "the output is untouched by progress"

in_terminal "'$EDATOOL' -q replay paced --speed original >'$WORK/replayed'"
if grep -q "replay: " "$WORK/tty"; then fail "-q shows progress"; else pass; fi

in_terminal "'$EDATOOL' replay paced --speed original"
if grep -q "replay: " "$WORK/tty"; then fail "progress tangled with output on the terminal"; else pass; fi
check_contains "$(tr -d '\r' <"$WORK/tty")" "$(seq 18 20)" "the output itself reached the terminal"

run "$EDATOOL" replay paced --speed original
check_eq "$ERR" "" "nothing on a piped stderr"
check_eq "$OUT" "$(seq 1 20)" "piped output"

finish
