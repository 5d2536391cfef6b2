#!/usr/bin/env bash
# `cmake --install` into a temporary prefix puts the binary, a man page per
# command, the completions and the Kafka module where a distribution would
# (issue 6), and the binary finds its module there.
source "$(dirname "$0")/lib.sh"
: "${EDATOOL_BUILD_DIR:?set EDATOOL_BUILD_DIR to the build directory (ctest does)}"
prefix=$WORK/prefix

run cmake --install "$EDATOOL_BUILD_DIR" --prefix "$prefix"
check_eq "$RC" 0 "cmake --install (stderr: $ERR)"

installed=$prefix/bin/edatool
run "$installed" --version
check_eq "$RC" 0 "the installed binary runs"
check_contains "$OUT" "edatool " "the installed binary's --version"

# The Kafka module is installed where the binary looks for it: librdkafka
# itself answers for an unknown -X setting (exit 2), which it can only do
# once the module is loaded.
run "$installed" -b kafka://127.0.0.1:1 -X no.such.setting=1 pub t x
check_eq "$RC" 2 "the installed binary loads the installed Kafka module (stderr: $ERR)"
check_contains "$ERR" 'No such configuration property: "no.such.setting"' \
  "librdkafka, from the module, names the unknown setting"

# Without the module, kafka:// fails with a clear error naming where it was
# looked for (exit 1), and edatool's own broker needs no module.
mkdir "$WORK/alone"
cp "$installed" "$WORK/alone/edatool"
run "$WORK/alone/edatool" -b kafka://127.0.0.1:1 pub t x
check_eq "$RC" 1 "kafka:// without the Kafka module exits 1"
check_contains "$ERR" "edatool: kafka:// needs edatool's Kafka module, found neither $WORK/alone/edatool-kafka.so nor $WORK/lib" \
  "the error names both places the module was looked for"
# Not just any library under the module's name.
cp "$(ldd "$installed" | awk '/libzmq/ {print $3}')" "$WORK/alone/edatool-kafka.so"
run "$WORK/alone/edatool" -b kafka://127.0.0.1:1 pub t x
check_eq "$RC" 1 "another library in the module's place exits 1"
check_contains "$ERR" "$WORK/alone/edatool-kafka.so is not edatool's Kafka module" \
  "the error says the file there is not the module"
# A module of another build (same version, other struct layouts) is refused
# before anything in it runs.
: "${EDATOOL_STALE_KAFKA_MODULE:?set EDATOOL_STALE_KAFKA_MODULE (ctest does)}"
cp "$EDATOOL_STALE_KAFKA_MODULE" "$WORK/alone/edatool-kafka.so"
run "$WORK/alone/edatool" -b kafka://127.0.0.1:1 pub t x
check_eq "$RC" 1 "a module of another build exits 1"
check_contains "$ERR" "$WORK/alone/edatool-kafka.so is from another edatool build" \
  "the error names the module"
# The point of the module: the binary itself does not load librdkafka.
check_eq "$(readelf -d "$installed" | grep -c 'NEEDED.*librdkafka')" 0 \
  "the installed binary does not link librdkafka"
start_broker broker --memory
run "$WORK/alone/edatool" -b "$BROKER_URL" pub t hello
check_eq "$RC" 0 "without the Kafka module, pub to edatool's broker works (stderr: $ERR)"

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
