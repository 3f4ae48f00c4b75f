#!/usr/bin/env bash
# Installs vial from the build tree into <build>/consumer-natural, then builds
# tests/consumer/natural against it once per compiler, under ASan+UBSan, and runs its programs.
#   run_natural.sh <build dir> <source dir> [compiler...]   (default: g++-12 clang++-14)
set -euo pipefail
build="$1"; src="$2"; shift 2
compilers=("$@")
[ ${#compilers[@]} -eq 0 ] && compilers=(g++-12 clang++-14)
# Fixed paths under the build tree, so ccache hits when nothing changed (left for inspection).
work="$(cd "$build" && pwd)/consumer-natural"
rm -rf "$work/prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
flags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Each compiler builds one translation unit (natural/CMakeLists.txt): the builds run side by
# side, one per core, and the programs then run one compiler after the other.
built=()
pids=()
for cxx in "${compilers[@]}"; do
  if ! command -v "$cxx" >/dev/null; then
    echo "$cxx not found (scripts/install-deps.sh --clang installs clang++-14)"; status=1; continue
  fi
  out="$work/build-$cxx"
  cxxflags="$flags"
  # clang before 17 cannot emit -fsanitize=function's prologue for coroutines (llvm#49689).
  [[ "$cxx" == clang* ]] && cxxflags+=" -fno-sanitize=function"
  cmake -S "$src/tests/consumer/natural" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" \
        -DCMAKE_CXX_FLAGS="$cxxflags" >/dev/null
  cmake --build "$out" -j1 >"$work/build-$cxx.log" 2>&1 &
  pids+=($!)
  built+=("$cxx")
done
for i in "${!built[@]}"; do
  cxx="${built[$i]}"
  echo "== $cxx"
  if ! wait "${pids[$i]}"; then
    cat "$work/build-$cxx.log"; status=1; continue
  fi
  ctest --test-dir "$work/build-$cxx" --output-on-failure || status=1
done
exit $status
