#!/usr/bin/env bash
# Sets up, builds and runs vial's whole test suite (unit, end-to-end, package consumer).
#   scripts/test.sh                                  GCC Debug build in build/
#   scripts/test.sh --sanitize address,undefined     clang, ASan+UBSan, in build-address-undefined/
#   scripts/test.sh --sanitize thread                clang, TSan, in build-thread/
#   scripts/test.sh [--sanitize ...] --build-only    configure and build, run nothing (CI builds
#                                                    the sanitizer builds this way, niced, while
#                                                    the previous stage's tests run)
# Extra arguments after the options go to ctest (e.g. -L routing).
#
# Every build is a unity build: a few large translation units parse Boost.Asio and Beast a few
# times instead of once per source, which cuts a clean build by about three times (design.md).
# Sanitizer builds use clang, which compiles them about 1.7x faster than GCC; the ASan+UBSan
# build also links the fuzz targets with libFuzzer, so `scripts/fuzz.sh --build-dir
# build-address-undefined` can run them without another build.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
build_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize="$2"; shift 2 ;;
    --build-only) build_only=true; shift ;;
    *) break ;;
  esac
done

build=build
config=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_UNITY_BUILD=ON)
if [ -n "$sanitize" ]; then
  scripts/install-deps.sh --browser --clang
  build="build-$(echo "$sanitize" | tr ',' '-')"
  # lld links these 200 MB sanitized binaries about 4x faster than ld.bfd.
  config+=(-DCMAKE_CXX_COMPILER=clang++-14 -DVIAL_SANITIZE="$sanitize"
           -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld)
  [[ "$sanitize" == *address* ]] && config+=(-DVIAL_BUILD_FUZZ=ON)
  # Any report fails the run, including one from a server an end-to-end test started.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
  # Wall-clock bounds in the end-to-end tests stretch with the sanitizer's slowdown (capped below
  # the serial time where a bound proves concurrency: tests/e2e/process.py).
  if [[ "$sanitize" == *thread* ]]; then export VIAL_TEST_SLACK=3; else export VIAL_TEST_SLACK=2; fi
else
  # Chromium for the examples page test; clang 14 for consumer_natural's second compiler.
  scripts/install-deps.sh --browser --clang
  # lld links GCC's debug binaries too, several times faster than ld.bfd (design.md).
  command -v ld.lld >/dev/null && config+=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld)
fi
command -v ccache >/dev/null && config+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja "${config[@]}"
cmake --build "$build" -j"$(nproc)"
$build_only && exit 0
if [ $# -gt 0 ]; then
  ctest --test-dir "$build" --output-on-failure --timeout 300 -LE slow "$@"
  exit
fi
# The compile_fail cases are compiler runs that measure nothing: one per core. Then the rest
# serially: several tests measure concurrency with generous wall-clock bounds.
status=0
ctest --test-dir "$build" --output-on-failure --timeout 300 -L compile_fail -j"$(nproc)" || status=1
ctest --test-dir "$build" --output-on-failure --timeout 300 -LE 'slow|compile_fail' || status=1
exit $status
