#!/usr/bin/env bash
# What metrics cost: wrk on /hello against two vial-bench-load-server processes, one with
# /metrics mounted (every request counted) and one without, alternating rounds in one run on
# 127.0.0.1. Prints each round's req/s and the ratio on/off, and the range over the rounds.
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

rps() {  # port
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$1/hello" 2>&1 |
    awk '/^Requests\/sec:/ {print $2}'
}

start
OFF_PORT=$PORT
start --metrics 1
ON_PORT=$PORT
curl -sf -o /dev/null "http://127.0.0.1:$ON_PORT/metrics"

RESULTS="$WORK/rounds.tsv"
for round in $(seq "$ROUNDS"); do
  # Alternate which goes first, so a drift in machine load hits both sides alike.
  if (( round % 2 )); then
    off=$(rps "$OFF_PORT"); on=$(rps "$ON_PORT")
  else
    on=$(rps "$ON_PORT"); off=$(rps "$OFF_PORT")
  fi
  printf '%s\t%s\t%s\n' "$round" "${off:-0}" "${on:-0}" >>"$RESULTS"
done
SCRAPED=$(curl -sf "http://127.0.0.1:$ON_PORT/metrics" |
  awk '/^vial_http_requests_total\{route="\/hello"/ {print $2}')

python3 - "$RESULTS" "$JSON" "${SCRAPED:-0}" <<'PY'
import json, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print(f"{'round':>5} {'off req/s':>10} {'on req/s':>10} {'on/off':>7}")
ratios = []
for r, off, on in rows:
    ratio = float(on) / float(off) if float(off) else 0.0
    ratios.append(ratio)
    print(f"{r:>5} {float(off):>10.0f} {float(on):>10.0f} {ratio:>7.3f}")
print(f"metrics on/off: {min(ratios):.3f} .. {max(ratios):.3f} over {len(ratios)} rounds; "
      f"/hello requests counted: {sys.argv[3]}")
if sys.argv[2] == "1":
    print(json.dumps({"benchmark": "metrics_cost",
                      "rounds": [{"off_rps": float(o), "on_rps": float(n)} for _, o, n in rows],
                      "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3)}))
PY
