#!/usr/bin/env bash
# Zero-downtime restart under load. wrk drives bench/soak.lua's mix of routes at vial-examples
# on one port; at even intervals a new process binds the same port (--reuse-port, SO_REUSEPORT)
# and then the old one gets SIGTERM, as a supervisor would do on a deploy. The old process stops
# gracefully (docs/server.md): requests in flight finish with Connection: close, the connections
# in its listen queue are still served, and new connection attempts go to the new process.
#
# Reports requests/s, p99 and max latency, wrk's socket errors and unexpected statuses (both
# should be 0), and each old process's exit code and stop time. wrk's latency starts at the
# request write, so it does not show the one case that waits: a connection attempt that reached
# the old listener in its last 10 ms is retried by the client's kernel a second later (and then
# reaches the new process). Reports figures, never asserts.
#
# Usage: bench/restart.sh [--build DIR] [--duration SECONDS] [--switches N] [--connections N]
#                         [--json]
#   DIR defaults to build-rel (vial-examples in Release); --duration 20, --switches 3,
#   --connections 64. --json prints one JSON object on the last line.
# Loopback only; every process started here is stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib.sh"
BENCH="$ROOT/bench"
BUILD="$ROOT/build-rel"
DURATION=20
SWITCHES=3
CONNS=64
JSON=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --switches) SWITCHES=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
EXAMPLES="$BUILD/examples/vial-examples"
[[ -x "$EXAMPLES" ]] || { echo "no $EXAMPLES: build vial-examples in $BUILD first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh --bench" >&2; exit 1; }

bench_init restart
say() { echo "restart: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Starts vial-examples on port $1 (0: ephemeral) sharing the port; sets PID and PORT.
GENERATION=0
start_server() {
  GENERATION=$((GENERATION + 1))
  start_examples "$WORK/server.$GENERATION" --port "$1" --reuse-port --db "$WORK/users.db"
}

start_server 0
SERVER=$PID
BASE="http://127.0.0.1:$PORT"
FIXED_PORT=$PORT
seed_users "$BASE"

say "${DURATION}s of load on port $PORT, $SWITCHES restarts, $CONNS connections"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency -s "$BENCH/soak.lua" "$BASE" \
  >"$WORK/wrk.out" 2>&1 &
WRK=$!
PIDS+=("$WRK")
START=$(now_ms)
: >"$WORK/switches.tsv"
for i in $(seq "$SWITCHES"); do
  at=$(( START + DURATION * 1000 * i / (SWITCHES + 1) ))
  while (( $(now_ms) < at )); do sleep 0.05; done
  OLD=$SERVER
  start_server "$FIXED_PORT"
  SERVER=$PID
  t0=$(now_ms)
  stop_pid "$OLD"
  code=$EXIT_CODE
  printf '%s\t%s\t%s\n' "$(( t0 - START ))" "$code" "$(( $(now_ms) - t0 ))" >>"$WORK/switches.tsv"
  say "switch $i at $(( (t0 - START) / 1000 ))s: old server exited $code after $(( $(now_ms) - t0 )) ms"
done
wait "$WRK" || true
forget "$WRK"
ALIVE=0
[[ "$(curl -s -m 5 "$BASE/hello")" == "Hello, World!" ]] && ALIVE=1
stop_pid "$SERVER"
LAST_CODE=$EXIT_CODE

/usr/bin/python3 - "$WORK" "$JSON" "$DURATION" "$CONNS" "$ALIVE" "$LAST_CODE" <<'PY'
import json, re, sys
work, want_json, duration, conns, alive, last_code = sys.argv[1:]

def ms(text):
    value, unit = re.match(r"([0-9.]+)(us|ms|s)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 3)

wrk = open(f"{work}/wrk.out").read()
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", wrk).group(1)) if "Requests/sec" in wrk else 0.0
total = int(re.search(r"(\d+) requests in", wrk).group(1)) if "requests in" in wrk else 0
p99 = ms(re.search(r"\s99%\s+(\S+)", wrk).group(1)) if "99%" in wrk else None
m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", wrk)
max_ms = ms(m.group(1)) if m else None
sock = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", wrk)
if m:
    sock = dict(zip(sock, map(int, m.groups())))
m = re.search(r"soak-statuses (\{.*\})", wrk)
tally = json.loads(m.group(1)) if m else {"statuses": {}, "unexpected_404": 0}
statuses = {int(k): v for k, v in tally["statuses"].items()}
unexpected_status = {s: n for s, n in statuses.items() if s >= 300 and s != 404}
if tally["unexpected_404"]:
    unexpected_status[404] = tally["unexpected_404"]
errors = sum(sock.values()) + sum(unexpected_status.values())
switches = []
for line in open(f"{work}/switches.tsv"):
    at, code, stop = line.split()
    switches.append({"at_ms": int(at), "old_exit": int(code), "old_stop_ms": int(stop)})

print(f"duration {duration}s, {conns} connections, {len(switches)} restarts")
print(f"requests        {total} ({rps:.0f}/s), p99 {p99} ms, max {max_ms} ms")
print(f"statuses        " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
print(f"errors          {errors} (socket {sock}, unexpected statuses {unexpected_status or 0})")
for i, s in enumerate(switches, 1):
    print(f"restart {i}       at {s['at_ms'] / 1000:.1f}s: old process exited {s['old_exit']} "
          f"after {s['old_stop_ms']} ms")
print(f"last server     answered after the load: {'yes' if alive == '1' else 'NO'}; "
      f"SIGTERM exit {last_code}")
if want_json == "1":
    print(json.dumps({
        "benchmark": "restart", "duration_s": float(duration), "connections": int(conns),
        "requests": total, "rps": rps, "p99_ms": p99, "max_ms": max_ms,
        "statuses": {str(s): n for s, n in sorted(statuses.items())},
        "socket_errors": sock, "unexpected_statuses": {str(s): n for s, n in unexpected_status.items()},
        "errors": errors, "restarts": switches, "alive": alive == "1", "last_exit": int(last_code),
    }))
PY
