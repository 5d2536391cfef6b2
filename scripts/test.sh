#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest:
# once in a normal build and once under AddressSanitizer + UBSan.
# EDATOOL_SKIP_SANITIZE=1 skips the second run (for a quick local loop).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_packages python3-zmq groff zsh fish
cd "$EDATOOL_ROOT"

jobs=$(nproc)
build_edatool build
(cd build && ctest --output-on-failure -j "$jobs")

if [ "${EDATOOL_SKIP_SANITIZE:-0}" != 1 ]; then
  build_edatool build-asan -DEDATOOL_SANITIZE=ON
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest --output-on-failure -j "$jobs")
fi
