#!/usr/bin/env bash
# Load benchmark: wrk against vial (sync /hello, coroutine /hello-async), cpp-httplib's hello
# (defaults and tuned) and an nginx `return 200` ceiling with one worker process, at 64 and
# 1000 keep-alive connections, all on 127.0.0.1. Reports req/s, p99, errors, server RSS and
# the ratio to nginx. A worker-count sweep serves /hello with 8 and with 64 worker threads (the
# ratio 64/8 shows what idle workers cost). Reports figures, never asserts.
#
# Usage: bench/load.sh [--build DIR] [--duration SECONDS] [--connections "64 1000"]
#                      [--no-httplib] [--json]
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
HTTPLIB=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
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

measure() {  # name url connections pid
  local name=$1 url=$2 conns=$3 pid=$4
  local out="$WORK/wrk.$name.$conns"
  wrk -t2 -c"$conns" -d"${DURATION}s" --timeout 5s --latency "$url" >"$out" 2>&1 || true
  local rps p99 errors socket non2xx rss
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  socket=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx/ {print $5}' "$out")
  errors=$(( ${socket:-0} + ${non2xx:-0} ))
  rss=$(rss_kb "$pid")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "${rps:-0}" "$(to_ms "${p99:-0us}")" "$errors" "$rss" >>"$RESULTS"
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
  measure nginx "http://127.0.0.1:$NGINX_PORT/" "$c" "$NGINX_PID"
  measure vial_sync "http://127.0.0.1:$VIAL_PORT/hello" "$c" "$VIAL_PID"
  measure vial_sync_w64 "http://127.0.0.1:$VIAL64_PORT/hello" "$c" "$VIAL64_PID"
  measure vial_async "http://127.0.0.1:$VIAL_PORT/hello-async" "$c" "$VIAL_PID"
  [[ $HTTPLIB == 1 ]] || continue
  measure httplib_default "http://127.0.0.1:$HTTPLIB_PORT/hello" "$c" "$HTTPLIB_PID"
  # Tuned httplib needs a thread per connection: a fresh server sized for this run.
  start_printing_port "$BUILD/bench/vial-bench-load-httplib-tuned" --threads "$c"
  measure httplib_tuned "http://127.0.0.1:$PORT/hello" "$c" "$PID"
  stop_pid "$PID"
done

python3 - "$RESULTS" "$JSON" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
want_json = sys.argv[2] == "1"
nginx = {r[1]: float(r[2]) for r in rows if r[0] == "nginx"}
sync = {r[1]: float(r[2]) for r in rows if r[0] == "vial_sync"}
out = []
print(f"{'server':<16} {'conns':>5} {'req/s':>10} {'p99 ms':>8} {'errors':>7} {'RSS MB':>7} {'vs nginx':>8}")
for name, conns, rps, p99, errors, rss in rows:
    rps = float(rps)
    ratio = rps / nginx[conns] if nginx.get(conns) else 0.0
    print(f"{name:<16} {conns:>5} {rps:>10.0f} {float(p99):>8.2f} {int(errors):>7} {int(rss)/1024:>7.1f} {ratio:>8.2f}")
    out.append({"server": name, "connections": int(conns), "rps": rps, "p99_ms": float(p99),
                "errors": int(errors), "rss_kb": int(rss), "ratio_vs_nginx": round(ratio, 3)})
sweep = []
for c in sync:
    a = [float(r[2]) for r in rows if r[0] == "vial_async" and r[1] == c]
    if a and sync[c]:
        print(f"coroutine/sync at {c}: {a[0] / sync[c]:.2f}")
    w64 = [float(r[2]) for r in rows if r[0] == "vial_sync_w64" and r[1] == c]
    if w64 and sync[c]:
        row = {"connections": int(c), "rps_workers_8": sync[c], "rps_workers_64": w64[0],
               "workers_64_vs_8": round(w64[0] / sync[c], 3),
               "workers_8_vs_nginx": round(sync[c] / nginx[c], 3) if nginx.get(c) else 0.0}
        sweep.append(row)
        print(f"/hello at {c}: 64 workers / 8 workers {row['workers_64_vs_8']:.2f}, "
              f"8 workers / nginx {row['workers_8_vs_nginx']:.2f}")
if want_json:
    print(json.dumps({"benchmark": "load", "results": out, "worker_sweep": sweep}))
PY
