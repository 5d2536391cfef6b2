#!/usr/bin/env bash
# Completions and man pages: generated from the flag definitions, committed,
# and checked so they cannot drift from the binary.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
commands=$("$EDATOOL" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}')
check_contains "$commands" "pub" "the command list comes from --help"

# The committed files are exactly what the binary generates.
for shell_file in bash:edatool.bash zsh:_edatool fish:edatool.fish; do
  shell=${shell_file%%:*} file=${shell_file#*:}
  if "$EDATOOL" completion "$shell" | cmp -s - "$ROOT/completions/$file"; then pass
  else fail "completions/$file differs from 'edatool completion $shell' (run scripts/generate-docs.sh)"; fi
done
if "$EDATOOL" man | cmp -s - "$ROOT/man/edatool.1"; then pass; else fail "man/edatool.1 is stale"; fi
for command in $commands; do
  page=$ROOT/man/edatool-$command.1
  if [ ! -f "$page" ]; then fail "no man page for '$command'"; continue; fi
  if "$EDATOOL" man "$command" | cmp -s - "$page"; then pass; else fail "man/edatool-$command.1 is stale"; fi
  # Every long flag of --help (above its examples) is documented in the page.
  for flag in $("$EDATOOL" "$command" --help | sed '/^Examples:/,$d' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
    roff_flag=${flag//-/\\-}
    if grep -qF -- "$roff_flag" "$page"; then pass; else fail "edatool-$command.1 lacks $flag"; fi
  done
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES "EXIT STATUS" ENVIRONMENT "SEE ALSO"; do
    if grep -q "^\.SH $section" "$page"; then pass; else fail "edatool-$command.1 lacks $section"; fi
  done
done

for page in edatool edatool-broker; do
  if grep -q '^\.SH FILES' "$ROOT/man/$page.1"; then pass; else fail "$page.1 lacks FILES"; fi
done
check_contains "$(cat "$ROOT/man/edatool.1")" "share/zsh/site\\-functions/_edatool" "edatool.1 says where completions go"

# Pages render without a single groff warning.
if command -v groff >/dev/null; then
  for page in "$ROOT"/man/*.1; do
    warnings=$(groff -man -ww -z "$page" 2>&1)
    check_eq "$warnings" "" "groff warnings in $(basename "$page")"
  done
fi

# help and --help: the same text on stdout, ending in the command's examples.
run "$EDATOOL" help
check_eq "$RC" 0 "edatool help: exit status"
check_eq "$OUT" "$("$EDATOOL" --help)" "edatool help is edatool --help"
run "$EDATOOL" help sub
check_eq "$RC" 0 "edatool help sub: exit status"
check_eq "$OUT" "$("$EDATOOL" sub --help)" "edatool help sub is edatool sub --help"
check_contains "$OUT" "Examples:" "edatool help sub shows examples"
check_contains "$OUT" "  edatool sub 'orders.eu.>' --format json" "edatool help sub shows an example"
for command in $commands; do
  examples=$("$EDATOOL" "$command" --help | sed -n '/^Examples:/,$p' | grep -v '^  #')
  if [[ "$examples" == *"edatool $command"* ]]; then pass
  else fail "'edatool $command --help' shows no example of '$command'"; fi
done

# The bash completion, driven as bash drives it.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _edatool; echo "${COMPREPLY[*]}"' \
    _ "$ROOT/completions/edatool.bash" "$@"
}
check_eq "$(complete_words edatool pu)" "pub" "command name"
check_eq "$(complete_words edatool sub --format '')" "raw json msgpack" "--format choices"
check_eq "$(complete_words edatool -b tcp://h:1 broker --fsync b)" "batch" "choices after a global option"
check_eq "$(complete_words edatool topic '')" "create list stats delete" "nested commands"
check_eq "$(complete_words edatool completion '')" "bash zsh fish" "positional choices"
check_eq "$(complete_words edatool help bro)" "broker" "help completes command names"
check_contains "$(complete_words edatool pub --n)" "--no-confirm" "pub flags"
check_contains "$(complete_words edatool pub --n)" "--namespace" "global flags in a subcommand"
mkdir -p "$WORK/files" && touch "$WORK/files/report.pdf"
check_eq "$(cd "$WORK/files" && complete_words edatool pub -f rep)" "report.pdf" "file names for -f"

# Topic names come from the running broker (the script runs `edatool` from PATH).
export PATH="$(dirname "$EDATOOL"):$PATH"
start_broker
"$EDATOOL" pub orders.eu.created x
"$EDATOOL" pub orders.us.created y
check_eq "$(complete_words edatool sub orders.)" "orders.eu.created orders.us.created" "topics from the broker"
kill "$BROKER_PID"
wait_for_exit "$BROKER_PID"
check_eq "$(complete_words edatool sub orders.)" "" "silent without a broker"

if command -v zsh >/dev/null; then
  if zsh -n "$ROOT/completions/_edatool"; then pass; else fail "zsh syntax"; fi
  # Sourced rather than autoloaded from $fpath, the script registers itself.
  registered=$(zsh -fc 'autoload -Uz compinit && compinit -u -d "$1/zcompdump" && source "$2" && print -r -- "$_comps[edatool]"' \
    _ "$WORK" "$ROOT/completions/_edatool" 2>&1)
  check_eq "$registered" "_edatool" "source <(edatool completion zsh) registers the completion"
fi
if command -v fish >/dev/null; then
  if fish -n "$ROOT/completions/edatool.fish"; then pass; else fail "fish syntax"; fi
fi
finish
