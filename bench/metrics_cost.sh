#!/usr/bin/env bash
# What metrics cost: wrk on /hello against two vial-bench-load-server processes, one with
# /metrics mounted (every request counted) and one without, alternating rounds in one run on
# 127.0.0.1. Prints each round's req/s and the ratio on/off, and the range over the rounds.
# Beside throughput, each round reads the server's CPU time (user + system, all its threads,
# from /proc/PID/stat) and divides it by the requests wrk completed: the ratio of CPU per
# request off/on is what metrics cost the server itself, and it holds steady on a shared
# machine where the throughput of a round swings with everyone else's load (docs/operations.md).
# Reports figures, never asserts.
#
# Usage: bench/metrics_cost.sh [--build DIR] [--duration SECONDS] [--rounds N]
#                              [--connections N] [--json]
#   DIR defaults to build-server-rel (configure with -DCMAKE_BUILD_TYPE=Release -DVIAL_BUILD_BENCH=ON)
#   --json prints one JSON object on the last line.
# Every process started here is stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib.sh"
BUILD="$ROOT/build-server-rel"
DURATION=5
ROUNDS=3
CONNS=64
JSON=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

bench_init metrics-cost

start() {  # sets PORT and PID
  start_printing_port "$BUILD/bench/vial-bench-load-server" --io 1 --workers 8 "$@"
}

cpu_ticks() {  # pid: user + system clock ticks of every thread (fields 14 and 15)
  awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"
}

measure() {  # port pid: prints "req/s requests cpu_ticks"
  local before after out
  before=$(cpu_ticks "$2")
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$1/hello" 2>&1)
  after=$(cpu_ticks "$2")
  awk -v cpu=$((after - before)) '/^Requests\/sec:/ {rps = $2}
    / requests in / {n = $1} END {print (rps ? rps : 0), (n ? n : 0), cpu}' <<<"$out"
}

start
OFF_PORT=$PORT
OFF_PID=$PID
start --metrics 1
ON_PORT=$PORT
ON_PID=$PID
curl -sf -o /dev/null "http://127.0.0.1:$ON_PORT/metrics"

RESULTS="$WORK/rounds.tsv"
for round in $(seq "$ROUNDS"); do
  # Alternate which goes first, so a drift in machine load hits both sides alike.
  if (( round % 2 )); then
    off=$(measure "$OFF_PORT" "$OFF_PID"); on=$(measure "$ON_PORT" "$ON_PID")
  else
    on=$(measure "$ON_PORT" "$ON_PID"); off=$(measure "$OFF_PORT" "$OFF_PID")
  fi
  printf '%s %s %s\n' "$round" "$off" "$on" >>"$RESULTS"
done
TICK_HZ=$(getconf CLK_TCK)
SCRAPED=$(curl -sf "http://127.0.0.1:$ON_PORT/metrics" |
  awk '/^vial_http_requests_total\{route="\/hello"/ {print $2}')

/usr/bin/python3 - "$RESULTS" "$JSON" "${SCRAPED:-0}" "$TICK_HZ" <<'PY'
import json, statistics, sys
hz = float(sys.argv[4])
rows = []
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    r, off_rps, off_n, off_cpu, on_rps, on_n, on_cpu = line.split()
    rows.append({"round": int(r), "off_rps": float(off_rps), "on_rps": float(on_rps),
                 # server CPU microseconds per request
                 "off_cpu_us": 1e6 * int(off_cpu) / hz / int(off_n) if int(off_n) else 0.0,
                 "on_cpu_us": 1e6 * int(on_cpu) / hz / int(on_n) if int(on_n) else 0.0})
print(f"{'round':>5} {'off req/s':>10} {'on req/s':>10} {'on/off':>7}"
      f" {'off CPU us/req':>15} {'on CPU us/req':>14} {'off/on':>7}")
for row in rows:
    row["ratio"] = row["on_rps"] / row["off_rps"] if row["off_rps"] else 0.0
    row["cpu_ratio"] = row["off_cpu_us"] / row["on_cpu_us"] if row["on_cpu_us"] else 0.0
    print(f"{row['round']:>5} {row['off_rps']:>10.0f} {row['on_rps']:>10.0f} {row['ratio']:>7.3f}"
          f" {row['off_cpu_us']:>15.2f} {row['on_cpu_us']:>14.2f} {row['cpu_ratio']:>7.3f}")
ratios = [r["ratio"] for r in rows]
cpu_ratios = [r["cpu_ratio"] for r in rows]
print(f"metrics on/off, throughput: {min(ratios):.3f} .. {max(ratios):.3f}, median "
      f"{statistics.median(ratios):.3f} over {len(rows)} rounds")
print(f"metrics off/on, server CPU per request: {min(cpu_ratios):.3f} .. {max(cpu_ratios):.3f}, "
      f"median {statistics.median(cpu_ratios):.3f}; /hello requests counted: {sys.argv[3]}")
if sys.argv[2] == "1":
    rows = [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    print(json.dumps({"benchmark": "metrics_cost", "rounds": rows,
                      "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3),
                      "ratio_median": round(statistics.median(ratios), 3),
                      "cpu_ratio_min": round(min(cpu_ratios), 3),
                      "cpu_ratio_max": round(max(cpu_ratios), 3),
                      "cpu_ratio_median": round(statistics.median(cpu_ratios), 3)}))
PY
