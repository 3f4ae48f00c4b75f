#!/usr/bin/env bash
# Sets up, builds and runs vial's whole test suite (unit, end-to-end, package consumer).
#   scripts/test.sh                          Debug build in build/
#   scripts/test.sh --sanitize address,undefined   or   --sanitize thread
# Extra arguments after the options go to ctest (e.g. -L routing).
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
if [ "${1:-}" = "--sanitize" ]; then
  sanitize="$2"
  shift 2
fi
scripts/install-deps.sh --browser   # Chromium for the examples page test

build=build
if [ -n "$sanitize" ]; then
  build="build-$(echo "$sanitize" | tr ',' '-')"
  # Any report fails the run, including one from a server an end-to-end test started.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIAL_SANITIZE="$sanitize" "${launcher[@]}"
cmake --build "$build" -j"$(nproc)"
# Serially: several tests measure concurrency with generous wall-clock bounds.
ctest --test-dir "$build" --output-on-failure --timeout 300 -LE slow "$@"
