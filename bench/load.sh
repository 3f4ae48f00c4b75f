#!/usr/bin/env bash
# Load benchmark: wrk against vial (sync /hello, coroutine /hello-async), cpp-httplib's hello
# (defaults and tuned) and an nginx `return 200` ceiling with one worker process, at 64 and
# 1000 keep-alive connections, all on 127.0.0.1. Reports req/s, p99, errors, server RSS and
# the ratio to nginx. A worker-count sweep serves /hello with 8 and with 64 worker threads (the
# ratio 64/8 shows what idle workers cost). Reports figures, never asserts.
#
# The machine is shared and its load drifts over a run, so the servers are measured in rounds:
# each round measures every server once, in an order that alternates from round to round, and a
# ratio is the median over the rounds of the ratio within each round (paired, so drift between
# rounds cancels). Requests per second are the median over the rounds, errors their sum.
#
# Usage: bench/load.sh [--build DIR] [--duration SECONDS] [--connections "64 1000"]
#                      [--rounds N] [--no-httplib] [--json]
#   DIR defaults to build-server-rel (configure with -DCMAKE_BUILD_TYPE=Release -DVIAL_BUILD_BENCH=ON)
#   --json prints one JSON object on the last line.
# Every process started here is stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib.sh"
BUILD="$ROOT/build-server-rel"
DURATION=5
JSON=0
CONNS="64 1000"
ROUNDS=5
HTTPLIB=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-httplib) HTTPLIB=0; shift ;;
    --json) JSON=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

bench_init load

to_ms() {  # wrk latency text (812.00us, 1.20ms, 2.01s) to milliseconds
  python3 -c "import re,sys; v,u=re.match(r'([0-9.]+)(us|ms|s)',sys.argv[1]).groups(); print(round(float(v)*{'us':0.001,'ms':1,'s':1000}[u],3))" "$1"
}

RESULTS="$WORK/results.tsv"
: >"$RESULTS"

measure() {  # name url connections pid round
  local name=$1 url=$2 conns=$3 pid=$4 round=$5
  local out="$WORK/wrk.$name.$conns"
  wrk -t2 -c"$conns" -d"${DURATION}s" --timeout 5s --latency "$url" >"$out" 2>&1 || true
  local rps p99 errors socket non2xx rss
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  socket=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx/ {print $5}' "$out")
  errors=$(( ${socket:-0} + ${non2xx:-0} ))
  rss=$(rss_kb "$pid")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$round" "${rps:-0}" \
    "$(to_ms "${p99:-0us}")" "$errors" "$rss" >>"$RESULTS"
}

# --- servers ---
start_printing_port "$BUILD/bench/vial-bench-load-server" --io 1 --workers 8
VIAL_PORT=$PORT VIAL_PID=$PID
start_printing_port "$BUILD/bench/vial-bench-load-server" --io 1 --workers 64
VIAL64_PORT=$PORT VIAL64_PID=$PID
if [[ $HTTPLIB == 1 ]]; then
  start_printing_port "$BUILD/bench/vial-bench-load-httplib"
  HTTPLIB_PORT=$PORT HTTPLIB_PID=$PID
fi
NGINX_DIR="$WORK/nginx"
mkdir -p "$NGINX_DIR/logs"
NGINX_PORT=$(free_port)
cat >"$NGINX_DIR/nginx.conf" <<CONF
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60;
  client_body_temp_path $NGINX_DIR/tmp;
  proxy_temp_path $NGINX_DIR/tmp;
  fastcgi_temp_path $NGINX_DIR/tmp;
  uwsgi_temp_path $NGINX_DIR/tmp;
  scgi_temp_path $NGINX_DIR/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type text/plain; return 200 "Hello, World!"; }
  }
}
CONF
nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -g 'daemon off;' 2>"$NGINX_DIR/stderr" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_http "$NGINX_PORT" / || { cat "$NGINX_DIR/stderr" >&2; exit 1; }

for c in $CONNS; do
  for round in $(seq "$ROUNDS"); do
    targets=(
      "nginx http://127.0.0.1:$NGINX_PORT/ $NGINX_PID"
      "vial_sync http://127.0.0.1:$VIAL_PORT/hello $VIAL_PID"
      "vial_sync_w64 http://127.0.0.1:$VIAL64_PORT/hello $VIAL64_PID"
      "vial_async http://127.0.0.1:$VIAL_PORT/hello-async $VIAL_PID"
    )
    [[ $HTTPLIB == 1 ]] && targets+=("httplib_default http://127.0.0.1:$HTTPLIB_PORT/hello $HTTPLIB_PID")
    if (( round % 2 == 0 )); then  # every other round backwards: no server always goes first
      reversed=()
      for ((i = ${#targets[@]} - 1; i >= 0; i--)); do reversed+=("${targets[i]}"); done
      targets=("${reversed[@]}")
    fi
    for t in "${targets[@]}"; do
      read -r name url pid <<<"$t"
      measure "$name" "$url" "$c" "$pid" "$round"
    done
  done
  [[ $HTTPLIB == 1 ]] || continue
  # Tuned httplib needs a thread per connection: a fresh server sized for this run, once.
  start_printing_port "$BUILD/bench/vial-bench-load-httplib-tuned" --threads "$c"
  measure httplib_tuned "http://127.0.0.1:$PORT/hello" "$c" "$PID" 1
  stop_pid "$PID"
done

python3 - "$RESULTS" "$JSON" <<'PY'
import json, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
want_json = sys.argv[2] == "1"
# runs[(server, conns)][round] = (rps, p99, errors, rss)
runs = {}
for name, conns, rnd, rps, p99, errors, rss in rows:
    runs.setdefault((name, int(conns)), {})[int(rnd)] = (float(rps), float(p99), int(errors), int(rss))

def paired(a, b):
    """Median over the rounds both were measured in of a's rps / b's rps."""
    ra, rb = runs.get(a, {}), runs.get(b, {})
    ratios = [ra[r][0] / rb[r][0] for r in ra if r in rb and rb[r][0] > 0]
    return (statistics.median(ratios), ratios) if ratios else (0.0, [])

out = []
print(f"{'server':<16} {'conns':>5} {'req/s':>10} {'p99 ms':>8} {'errors':>7} {'RSS MB':>7} {'vs nginx':>8}  per round")
for (name, conns), by_round in runs.items():
    rps = statistics.median(v[0] for v in by_round.values())
    p99 = statistics.median(v[1] for v in by_round.values())
    errors = sum(v[2] for v in by_round.values())
    rss = max(v[3] for v in by_round.values())
    ratio, ratios = paired((name, conns), ("nginx", conns))
    if name.startswith("httplib_tuned"):  # measured once, beside no nginx round of its own
        nginx = runs.get(("nginx", conns), {})
        ratio = rps / statistics.median(v[0] for v in nginx.values()) if nginx else 0.0
        ratios = []
    print(f"{name:<16} {conns:>5} {rps:>10.0f} {p99:>8.2f} {errors:>7} {rss/1024:>7.1f} {ratio:>8.2f}  "
          + " ".join(f"{r:.2f}" for r in ratios))
    out.append({"server": name, "connections": conns, "rps": rps, "p99_ms": p99, "errors": errors,
                "rss_kb": rss, "ratio_vs_nginx": round(ratio, 3),
                "ratio_vs_nginx_by_round": [round(r, 3) for r in ratios]})
sweep = []
for conns in sorted({c for (n, c) in runs if n == "vial_sync"}):
    a, _ = paired(("vial_async", conns), ("vial_sync", conns))
    if a:
        print(f"coroutine/sync at {conns}: {a:.2f}")
    w64, w64_rounds = paired(("vial_sync_w64", conns), ("vial_sync", conns))
    if w64:
        nginx, nginx_rounds = paired(("vial_sync", conns), ("nginx", conns))
        row = {"connections": conns,
               "rps_workers_8": statistics.median(v[0] for v in runs[("vial_sync", conns)].values()),
               "rps_workers_64": statistics.median(v[0] for v in runs[("vial_sync_w64", conns)].values()),
               "workers_64_vs_8": round(w64, 3),
               "workers_64_vs_8_by_round": [round(r, 3) for r in w64_rounds],
               "workers_8_vs_nginx": round(nginx, 3),
               "workers_8_vs_nginx_by_round": [round(r, 3) for r in nginx_rounds]}
        sweep.append(row)
        print(f"/hello at {conns}: 64 workers / 8 workers {row['workers_64_vs_8']:.2f}, "
              f"8 workers / nginx {row['workers_8_vs_nginx']:.2f} (medians of paired rounds)")
if want_json:
    print(json.dumps({"benchmark": "load", "rounds": max((r for v in runs.values() for r in v), default=0),
                      "results": out, "worker_sweep": sweep}))
PY
