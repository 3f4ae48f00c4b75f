#!/usr/bin/env bash
# What metrics cost: wrk on /hello against two vial-bench-load-server processes, one with
# /metrics mounted (every request counted) and one without, alternating rounds in one run on
# 127.0.0.1. Prints each round's req/s and the ratio on/off, and the range over the rounds.
# Beside throughput, each round reads the server's CPU time (user + system, all its threads,
# from /proc/PID/stat) and divides it by the requests wrk completed: the ratio of CPU per
# request off/on is what metrics cost the server itself, and it holds steadier on a shared
# machine than the throughput of a round, which swings with everyone else's load
# (docs/operations.md). The same ratio of user time alone is printed too: recording is all
# user-space work, while most of a request's CPU is the kernel's (sockets, scheduling), whose
# share swings most with the machine's load.
# Each round starts a fresh pair of servers (which one starts and is measured first alternates)
# and warms each up for a second before measuring: two identical processes kept for a whole
# run differed by 7 % in the median CPU per request (docs/design.md, "Metrics"), a bias every
# round of that run shared; with fresh pairs it is noise, which the median over rounds averages
# out. While the server with metrics is measured, /metrics is scraped once a second (a
# Prometheus scrape interval is 10 to 60 s: this is more than a real deployment pays).
# --control runs both sides without metrics (and scrapes neither): the ratio two identical
# servers give on this machine now, the noise floor to read the real ratio against.
# Reports figures, never asserts.
#
# Usage: bench/metrics_cost.sh [--build DIR] [--duration SECONDS] [--rounds N]
#                              [--connections N] [--control] [--json]
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
CONTROL=0
JSON=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --control) CONTROL=1; shift ;;
    --json) JSON=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

bench_init metrics-cost

ON_ARGS=(--metrics 1)
(( CONTROL )) && ON_ARGS=()

start() {  # sets PORT and PID
  start_printing_port "$BUILD/bench/vial-bench-load-server" --io 1 --workers 8 "$@"
}

cpu_ticks() {  # pid: "user+system user" clock ticks of every thread (fields 14 and 15)
  awk '{sub(/^.*\) /, ""); print $12 + $13, $12}' "/proc/$1/stat"
}

scrape_every_second() {  # port: one GET /metrics a second for the round, a line per answer
  for _ in $(seq $((DURATION + 1))); do
    curl -sf -o /dev/null -m 1 "http://127.0.0.1:$1/metrics" && echo >>"$WORK/scrapes"
    sleep 1
  done
}

measure() {  # port pid scrape(0|1): prints "req/s requests cpu_ticks user_ticks"
  local cpu0 user0 cpu1 user1 out scraper=""
  wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$1/hello" >/dev/null 2>&1  # warm-up
  if (( $3 )); then
    scrape_every_second "$1" &
    scraper=$!
    PIDS+=("$scraper")
  fi
  read -r cpu0 user0 < <(cpu_ticks "$2")
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$1/hello" 2>&1)
  read -r cpu1 user1 < <(cpu_ticks "$2")
  if [[ -n "$scraper" ]]; then
    kill "$scraper" 2>/dev/null || true
    wait "$scraper" 2>/dev/null || true
    forget "$scraper"
  fi
  awk -v cpu=$((cpu1 - cpu0)) -v user=$((user1 - user0)) '/^Requests\/sec:/ {rps = $2}
    / requests in / {n = $1} END {print (rps ? rps : 0), (n ? n : 0), cpu, user}' <<<"$out"
}

start_off() { start; OFF_PORT=$PORT; OFF_PID=$PID; }
start_on() { start "${ON_ARGS[@]}"; ON_PORT=$PORT; ON_PID=$PID; }

RESULTS="$WORK/rounds.tsv"
SCRAPED=0
: >"$WORK/scrapes"
for round in $(seq "$ROUNDS"); do
  # Alternate which starts and goes first, so neither a drift in machine load nor the order
  # favours one side.
  if (( round % 2 )); then
    start_off; start_on
    off=$(measure "$OFF_PORT" "$OFF_PID" 0); on=$(measure "$ON_PORT" "$ON_PID" $((!CONTROL)))
  else
    start_on; start_off
    on=$(measure "$ON_PORT" "$ON_PID" $((!CONTROL))); off=$(measure "$OFF_PORT" "$OFF_PID" 0)
  fi
  printf '%s %s %s\n' "$round" "$off" "$on" >>"$RESULTS"
  if (( !CONTROL )); then
    counted=$(curl -sf "http://127.0.0.1:$ON_PORT/metrics" |
      awk '/^vial_http_requests_total\{route="\/hello"/ {print $2}')
    SCRAPED=$((SCRAPED + ${counted:-0}))
  fi
  stop_pid "$OFF_PID"
  stop_pid "$ON_PID"
done
TICK_HZ=$(getconf CLK_TCK)
SCRAPES=$(wc -l <"$WORK/scrapes")

/usr/bin/python3 - "$RESULTS" "$JSON" "$SCRAPED" "$TICK_HZ" "$SCRAPES" "$CONTROL" <<'PY'
import json, statistics, sys
hz = float(sys.argv[4])
control = sys.argv[6] == "1"
if control:
    print("control: metrics off on both sides (the columns 'on' are a second plain server)")
rows = []
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    r, off_rps, off_n, off_cpu, off_user, on_rps, on_n, on_cpu, on_user = line.split()
    per_request = lambda ticks, n: 1e6 * int(ticks) / hz / int(n) if int(n) else 0.0
    rows.append({"round": int(r), "off_rps": float(off_rps), "on_rps": float(on_rps),
                 # server CPU microseconds per request: all, and user time only
                 "off_cpu_us": per_request(off_cpu, off_n), "on_cpu_us": per_request(on_cpu, on_n),
                 "off_user_us": per_request(off_user, off_n),
                 "on_user_us": per_request(on_user, on_n)})
print(f"{'round':>5} {'off req/s':>10} {'on req/s':>10} {'on/off':>7}"
      f" {'off CPU us/req':>15} {'on CPU us/req':>14} {'off/on':>7} {'user off/on':>12}")
for row in rows:
    row["ratio"] = row["on_rps"] / row["off_rps"] if row["off_rps"] else 0.0
    row["cpu_ratio"] = row["off_cpu_us"] / row["on_cpu_us"] if row["on_cpu_us"] else 0.0
    row["user_ratio"] = row["off_user_us"] / row["on_user_us"] if row["on_user_us"] else 0.0
    print(f"{row['round']:>5} {row['off_rps']:>10.0f} {row['on_rps']:>10.0f} {row['ratio']:>7.3f}"
          f" {row['off_cpu_us']:>15.2f} {row['on_cpu_us']:>14.2f} {row['cpu_ratio']:>7.3f}"
          f" {row['user_ratio']:>12.3f}")
ratios = [r["ratio"] for r in rows]
cpu_ratios = [r["cpu_ratio"] for r in rows]
user_ratios = [r["user_ratio"] for r in rows]
print(f"metrics on/off, throughput: {min(ratios):.3f} .. {max(ratios):.3f}, median "
      f"{statistics.median(ratios):.3f} over {len(rows)} rounds")
print(f"metrics off/on, server CPU per request: {min(cpu_ratios):.3f} .. {max(cpu_ratios):.3f}, "
      f"median {statistics.median(cpu_ratios):.3f}; user time only: {min(user_ratios):.3f} .. "
      f"{max(user_ratios):.3f}, median {statistics.median(user_ratios):.3f}")
print(f"/hello requests counted: {sys.argv[3]}, scrapes during the rounds: {sys.argv[5]}")
if sys.argv[2] == "1":
    rows = [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    print(json.dumps({"benchmark": "metrics_cost", "control": control,
                      "scrapes": int(sys.argv[5]), "rounds": rows,
                      "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3),
                      "ratio_median": round(statistics.median(ratios), 3),
                      "cpu_ratio_min": round(min(cpu_ratios), 3),
                      "cpu_ratio_max": round(max(cpu_ratios), 3),
                      "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
                      "user_ratio_median": round(statistics.median(user_ratios), 3)}))
PY
