#!/usr/bin/env bash
# Builds vial's libFuzzer targets (tests/fuzz/) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/, then runs them.
#
#   scripts/fuzz.sh --smoke                     every target for 15 s (CI)
#   scripts/fuzz.sh --time 3600                 every target for an hour
#   scripts/fuzz.sh --time 7200 --target request --jobs 2
#   scripts/fuzz.sh --build                     build only
#
# Options:
#   --smoke          SMOKE_SECONDS (default 15) per target
#   --time SECONDS   how long each target runs (default 600)
#   --target NAME    run only NAME (repeatable): request router query multipart cookie session json
#                    websocket
#   --jobs N         fuzzing processes per target (libFuzzer -jobs/-workers), default 1
#   --parallel N     targets fuzzed at the same time, default 1 (CI: one per core; each target
#                    still gets its full time on a core of its own)
#   --build          build, do not run
#   --build-dir DIR  use DIR, an existing build configured with VIAL_BUILD_FUZZ=ON (as
#                    `scripts/test.sh --sanitize address,undefined` configures
#                    build-address-undefined), instead of configuring build-fuzz. CI does this
#                    to save a build; that build is -O0, so it runs fewer inputs per second.
# Anything after `--` is passed to libFuzzer (e.g. -- -only_ascii=1 -max_len=2048).
#
# Inputs: tests/fuzz/<target>.dict when there is one (tokens libFuzzer splices in), the seeds
# in tests/fuzz/corpus/<target>/ and the regression inputs in
# tests/fuzz/regressions/<target>/ are read, never written. What a run finds goes to the scratch
# corpus build-fuzz/corpus/<target>/, kept between runs (build dirs are gitignored): a long run
# resumes where the last one stopped. Logs are in build-fuzz/logs/<target>/.
#
# Result: a table of executions, speed, coverage and corpus size per target. The script exits
# non-zero when a target crashed, leaked, hung or ran out of memory, and prints the path of
# each input that did (build-fuzz/crashes/<target>/crash-<sha1>, leak-, timeout-, oom-).
#
# Turning a crash into a regression:
#   1. Reproduce it: build-fuzz/tests/fuzz/vial-fuzz-<target> <input>   (prints the report)
#   2. Fix the bug in vial (src/ or include/).
#   3. Copy the input to tests/fuzz/regressions/<target>/ under a name that says what it
#      hits (e.g. chunked-trailer-host). Every build replays it from then on:
#      `ctest -L fuzz` runs the corpus and regression inputs through each target, in the
#      default GCC build and in the sanitizer builds alike.
#   4. When the bug is in a module, also add a focused Catch2 test to that module's test file
#      (tests/<module>/<unit>_test.cpp) that fails without the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(request router query multipart cookie session json websocket)
seconds=600
smoke_seconds="${SMOKE_SECONDS:-15}"
jobs=1
parallel=1
build_only=0
build=""
targets=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) seconds="$smoke_seconds" ;;
    --time) seconds="$2"; shift ;;
    --target) targets+=("$2"); shift ;;
    --jobs) jobs="$2"; shift ;;
    --parallel) parallel="$2"; shift ;;
    --build) build_only=1 ;;
    --build-dir) build="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option: $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/${t}_fuzz.cpp" ] || { echo "no fuzz target '$t'" >&2; exit 2; }
done

scripts/install-deps.sh --clang

if [ -n "$build" ]; then
  grep -q '^VIAL_BUILD_FUZZ:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null || {
    echo "$build is not a build configured with VIAL_BUILD_FUZZ=ON" >&2
    exit 2
  }
else
  build=build-fuzz
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # -O1 -g without NDEBUG: assertions (Beast's included) stay on, as libFuzzer's docs advise.
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld \
    -DCMAKE_UNITY_BUILD=ON -DVIAL_BUILD_FUZZ=ON -DVIAL_BUILD_TESTS=OFF -DVIAL_BUILD_EXAMPLES=OFF \
    -DVIAL_INSTALL=OFF -DVIAL_SANITIZE=address,undefined "${launcher[@]}" >/dev/null
fi
binaries=()
for t in "${targets[@]}"; do binaries+=("vial-fuzz-$t"); done
cmake --build "$build" --target "${binaries[@]}" -j"$(nproc)"
[ "$build_only" -eq 0 ] || exit 0

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

root="$PWD"
out="$(cd "$build" && pwd)"
# Runs target $1; writes its summary row to $out/logs/$1/summary, and $out/logs/$1/failed when
# it failed.
fuzz_target() {
  local t="$1" bin scratch crashes logs max_len before args status log new
  local execs speed last cov ft corp
  bin="$out/tests/fuzz/vial-fuzz-$t"
  scratch="$out/corpus/$t"
  crashes="$out/crashes/$t"
  logs="$out/logs/$t"
  mkdir -p "$scratch" "$crashes" "$logs"
  rm -f "$logs"/*.log
  max_len=4096
  [ "$t" = request ] && max_len=16384
  before=$(ls "$crashes" | sort)
  echo "== $t: ${seconds}s x ${jobs} job(s)"
  # The first directory receives new inputs; the seeds and regressions are only read.
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len"
        -print_final_stats=1 -artifact_prefix="$crashes/" "${extra[@]}"
        "$scratch" "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/regressions/$t")
  [ -f "tests/fuzz/$t.dict" ] && args=(-dict="$root/tests/fuzz/$t.dict" "${args[@]}")
  status=0
  if [ "$jobs" -gt 1 ]; then
    # Each job logs to fuzz-<n>.log in the current directory.
    (cd "$logs" && "$bin" -jobs="$jobs" -workers="$jobs" "${args[@]}" >"$logs/main.log" 2>&1) ||
      status=$?
    cat "$logs"/fuzz-*.log >>"$logs/main.log" 2>/dev/null || true
  else
    "$bin" "${args[@]}" >"$logs/main.log" 2>&1 || status=$?
  fi
  log="$logs/main.log"
  new=$(comm -13 <(echo "$before") <(ls "$crashes" | sort) |
        grep -E '^(crash|leak|timeout|oom)-' || true)
  if [ "$status" -ne 0 ] || [ -n "$new" ]; then
    touch "$logs/failed"
    echo "!! $t failed (exit $status); last lines of $log:"
    grep -aE "ERROR|SUMMARY|runtime error|invariant|Assertion|Test unit written" "$log" |
      tail -n 12 || tail -n 30 "$log"
    for f in $new; do echo "!! crashing input: $crashes/$f"; done
  fi
  execs=$(grep -ah 'stat::number_of_executed_units' "$log" | awk '{s+=$2} END {print s+0}')
  speed=$(grep -ah 'stat::average_exec_per_sec' "$log" | awk '{s+=$2} END {print s+0}')
  last=$(grep -ahE '^#[0-9]+' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  printf '%-10s %6ss %12s %9s %7s %7s %12s %8s\n' "$t" "$seconds" "$execs" "$speed" \
    "${cov:--}" "${ft:--}" "${corp:--}" "$(ls "$scratch" | wc -l)" >"$logs/summary"
}

for t in "${targets[@]}"; do
  rm -f "$out/logs/$t/failed" "$out/logs/$t/summary"
  # At most $parallel targets at once; each one's result is in its logs folder.
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_target "$t" &
done
wait
failed=()
summary=()
for t in "${targets[@]}"; do
  # No summary: the script itself failed on that target (its error is above).
  if [ -f "$out/logs/$t/failed" ] || [ ! -f "$out/logs/$t/summary" ]; then failed+=("$t"); fi
  summary+=("$(cat "$out/logs/$t/summary" 2>/dev/null || echo "$t: no summary")")
done

# corpus: inputs/bytes libFuzzer kept in memory; scratch: files in build-fuzz/corpus/<target>.
printf '\n%-10s %7s %12s %9s %7s %7s %12s %8s\n' target time execs exec/s cov ft corpus scratch
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (inputs above; see the header of $0 to make them regressions)"
  exit 1
fi
