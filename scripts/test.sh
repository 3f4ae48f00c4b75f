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
[ -n "$sanitize" ] && build="build-$(echo "$sanitize" | tr ',' '-')"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIAL_SANITIZE="$sanitize" "${launcher[@]}"
cmake --build "$build" -j"$(nproc)"
# Serially: several tests measure concurrency with generous wall-clock bounds.
ctest --test-dir "$build" --output-on-failure --timeout 300 -LE slow "$@"
