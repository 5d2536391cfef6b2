#!/usr/bin/env bash
# `cmake --install` into a temporary prefix puts the binary, a man page per
# command and the completions where a distribution would (issue 6).
source "$(dirname "$0")/lib.sh"
: "${EDATOOL_BUILD_DIR:?set EDATOOL_BUILD_DIR to the build directory (ctest does)}"
prefix=$WORK/prefix

run cmake --install "$EDATOOL_BUILD_DIR" --prefix "$prefix"
check_eq "$RC" 0 "cmake --install (stderr: $ERR)"

installed=$prefix/bin/edatool
run "$installed" --version
check_eq "$RC" 0 "the installed binary runs"
check_contains "$OUT" "edatool " "the installed binary's --version"

# A page per command, each what the binary generates, and nothing left over.
man1=$prefix/share/man/man1
commands=$("$installed" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}')
check_contains "$commands" "help" "the installed binary lists its commands"
expected_pages=edatool.1
for command in $commands; do expected_pages+=" edatool-$command.1"; done
check_eq "$(cd "$man1" && ls -- *.1 | sort | xargs)" "$(echo "$expected_pages" | xargs -n1 | sort | xargs)" \
  "the installed man pages are one per command and edatool.1"
if "$installed" man | cmp -s - "$man1/edatool.1"; then pass; else fail "installed edatool.1 is stale"; fi
for command in $commands; do
  if "$installed" man "$command" | cmp -s - "$man1/edatool-$command.1"; then pass
  else fail "installed edatool-$command.1 is missing or stale"; fi
done

# Completions where bash-completion, zsh and fish look under a prefix.
for shell_path in bash:share/bash-completion/completions/edatool zsh:share/zsh/site-functions/_edatool \
  fish:share/fish/vendor_completions.d/edatool.fish; do
  shell=${shell_path%%:*} path=${shell_path#*:}
  if "$installed" completion "$shell" | cmp -s - "$prefix/$path"; then pass
  else fail "$path is missing or differs from 'edatool completion $shell'"; fi
done
finish
