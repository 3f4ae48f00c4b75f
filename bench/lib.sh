# Shared by the bench shell scripts (source it after `set -euo pipefail`): a work directory
# removed on exit, servers started in the background and stopped by their PID, readiness waits
# that never sleep longer than needed, and the /proc figures the scripts report.
#
#   bench_init NAME      WORK=/tmp/vial-NAME.XXXXXX; on exit every PID in PIDS is signalled,
#                        reaped, and WORK removed
#   forget PID           after waiting for PID yourself (its number may be reused)
#   free_port            an ephemeral 127.0.0.1 port nobody listens on now
#   start_printing_port CMD...
#                        CMD prints its port on its first stdout line; sets PORT and PID
#   start_examples OUT ARGS...
#                        vial-examples ($EXAMPLES) with ARGS, stdout in OUT.out, stderr in
#                        OUT.err; sets PORT (from its "serving on" line) and PID
#   wait_http PORT PATH  until 127.0.0.1:PORT answers PATH (for servers that print nothing)
#   stop_pid PID [SECONDS]
#                        SIGTERM, then EXIT_CODE = its exit status; with SECONDS, "timeout" when
#                        it outlived them (cleanup then kills it)
#   seed_users BASE      20 users through BASE/users; exports their ids as SOAK_USER_IDS
#   rss_kb PID           resident KiB of PID and its children (nginx: master and worker)
#   fd_count PID, socket_count PID, thread_count PID

bench_init() {
  WORK=$(mktemp -d "/tmp/vial-$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

forget() {
  local keep=() pid
  for pid in "${PIDS[@]}"; do [[ "$pid" == "$1" ]] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Sets PORT to what sed expression $1 finds in file $2 (waiting 10 s at most), written by
# process $4 (named $5); the process exiting first fails it with its stderr (file $3).
wait_port() {
  local sed_expr=$1 out=$2 err=$3 pid=$4
  PORT=""
  for _ in $(seq 200); do
    PORT=$(sed -n "$sed_expr" "$out" 2>/dev/null || true)  # the file may not exist yet
    [[ -n "$PORT" ]] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; return 1; }
    sleep 0.05
  done
  echo "$(basename "$5") did not print its port" >&2
  return 1
}

start_printing_port() {
  local out="$WORK/port.$RANDOM"
  "$@" >"$out" 2>"$out.err" &
  PID=$!
  PIDS+=("$PID")
  wait_port 1p "$out" "$out.err" "$PID" "$1"
}

start_examples() {
  local out=$1
  shift
  "$EXAMPLES" "$@" >"$out.out" 2>"$out.err" &
  PID=$!
  PIDS+=("$PID")
  wait_port 's|.*serving on http://[0-9.]*:\([0-9]*\).*|\1|p' "$out.out" "$out.err" "$PID" \
    "$EXAMPLES"
}

wait_http() {
  for _ in $(seq 200); do
    curl -s -o /dev/null -m 1 "http://127.0.0.1:$1$2" && return 0
    sleep 0.05
  done
  return 1
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  if [[ -z "${2:-}" ]]; then
    EXIT_CODE=0
    wait "$pid" || EXIT_CODE=$?
    forget "$pid"
    return 0
  fi
  EXIT_CODE=timeout
  for _ in $(seq $(($2 * 20))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && EXIT_CODE=0 || EXIT_CODE=$?
      forget "$pid"
      return 0
    fi
    sleep 0.05
  done
}

seed_users() {
  local ids=() id i
  for i in $(seq 20); do
    id=$(curl -sf -X POST -H 'Content-Type: application/json' \
           -d "{\"name\":\"seed $i\",\"email\":\"seed-$i@example.com\"}" "$1/users" |
         sed -n 's/.*"id":\([0-9]*\).*/\1/p')
    ids+=("$id")
  done
  SOAK_USER_IDS=$(IFS=,; echo "${ids[*]}")
  export SOAK_USER_IDS
}

rss_kb() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^VmRSS/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)))
  done
  echo "$total"
}

fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
socket_count() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
thread_count() { awk '/^Threads/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
