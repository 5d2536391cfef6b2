#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest:
# once in a normal build and once under AddressSanitizer + UBSan (all but the
# Kafka end-to-end test).
# EDATOOL_SKIP_SANITIZE=1 skips the second run (for a quick local loop).
# Then it fuzzes the filter language (60 s) and the protocol decoders (30 s)
# (EDATOOL_SKIP_FUZZ=1 skips that).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_packages python3-zmq python3-msgpack groff zsh fish
cd "$EDATOOL_ROOT"

jobs=$(nproc)
build_edatool build
# Twice as many tests as cores: the normal run mostly waits (brokers, --wait
# timeouts, Kafka's group joins), it used a quarter of 2 cores at -j 2.
# Measured on 2 cores: 87 s at -j 2, 56 s at -j 4 (the Kafka test, a minute,
# starts first: see COST in CMakeLists.txt). The sanitizer run below uses
# its cores, so it keeps -j "$jobs".
(cd build && ctest --output-on-failure -j $((2 * jobs)))

if [ "${EDATOOL_SKIP_SANITIZE:-0}" != 1 ]; then
  # -O1 -g1 instead of RelWithDebInfo's -O2 -g (NDEBUG as before): the
  # sanitizer build is compiled for its checks, not its speed. That halves
  # its compile time (a unity batch: 36 -> 19 s of CPU); the whole build,
  # with the unity-built tests, went from 1007 to 451 s of CPU, and its
  # ctest did not get slower (143 -> 141 s of CPU). ASan and UBSan reports
  # keep their stack traces with file:line (-g1 keeps the line tables).
  build_edatool build-asan -DEDATOOL_SANITIZE=ON '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG'
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The Kafka e2e test runs once, in the normal build: it drives librdkafka
  # and a mock cluster for a minute, and our Kafka code's own unit tests run
  # here too. That keeps the whole run within its 20 minutes on 2 cores.
  (cd build-asan && ctest --output-on-failure -j "$jobs" -E '^e2e[.]kafka_test$')
fi

# The fuzz targets (tests/fuzz/, clang's libFuzzer with ASan + UBSan): the
# filter language (first every input in tests/fuzz/crashes/, each crashed it
# once, then 60 s from a copy of the seed corpus) and the protocol's body
# decoders (30 s from nothing: its first byte picks the message type). A
# crash fails the run and leaves its input in build-fuzz/.
# EDATOOL_SKIP_FUZZ=1 skips this step.
if [ "${EDATOOL_SKIP_FUZZ:-0}" != 1 ]; then
  ensure_packages clang-14 libclang-rt-14-dev
  if [ ! -f build-fuzz/CMakeCache.txt ]; then
    cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
      -DEDATOOL_FUZZ=ON -DEDATOOL_TESTS=OFF >/dev/null
  fi
  cmake --build build-fuzz -j "$jobs" --target edatool_filter_fuzz edatool_protocol_fuzz
  export ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  fuzz=build-fuzz/edatool_filter_fuzz
  crashes=(tests/fuzz/crashes/*)
  if [ -e "${crashes[0]}" ]; then "$fuzz" "${crashes[@]}"; fi
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  cp tests/fuzz/corpus/* "$corpus"
  "$fuzz" -dict=tests/fuzz/filter.dict -max_total_time=60 -max_len=512 -timeout=10 \
    -artifact_prefix=build-fuzz/ "$corpus"
  mkdir "$corpus/protocol"
  build-fuzz/edatool_protocol_fuzz -max_total_time=30 -max_len=4096 -timeout=10 \
    -artifact_prefix=build-fuzz/ "$corpus/protocol"
fi
