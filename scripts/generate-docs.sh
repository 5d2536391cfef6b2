#!/usr/bin/env bash
# Regenerates completions/ and man/ from the binary's own flag definitions.
# tests/e2e/shell_test.sh fails when the committed files differ from these.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
edatool=${EDATOOL:-$root/build/edatool}
"$edatool" completion bash >"$root/completions/edatool.bash"
"$edatool" completion zsh >"$root/completions/_edatool"
"$edatool" completion fish >"$root/completions/edatool.fish"
rm -f "$root"/man/*.1
"$edatool" man >"$root/man/edatool.1"
for command in $("$edatool" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}'); do
  "$edatool" man "$command" >"$root/man/edatool-$command.1"
done
