#!/usr/bin/python3
"""Hostile memory: each attack against vial-examples (Release, default options), with the
server's memory and a /hello probe watched while it runs.

usage: hostile_memory.py [--build DIR] [--attack-seconds S] [--settle S] [--only a,e,...] [--json]
                         [--target load-server [--memory-trim BYTES] [--mmap-threshold BYTES]]

DIR defaults to build-rel (configure with -DCMAKE_BUILD_TYPE=Release; vial-examples is built by
default). For each attack the bench reports the peak RSS while it runs (VmRSS sampled every
50 ms, and VmHWM after resetting it through /proc/PID/clear_refs where allowed), the RSS
`--settle` seconds (10) after it stopped, and the latency of GET /hello on a fresh connection
every 100 ms during it, next to the same probe's latency with no attack, measured first in the
same run (the reference: on a shared machine a curl process alone can take tens of ms).
Targets, each reported PASS or FAIL: peak <= 512 MiB, RSS after <= 2x
the idle baseline, every /hello probe answered in < 100 ms.

Attacks (64 connections at a time where it applies):
  a  chunk-extension flood: POST with `5;a=` and then endless `x`
  b  leading zeros in a chunk size: `000...` without end
  c  trailers: a last chunk followed by endless trailer fields
  d  3,000 held GET /stream connections
  e  8, then 64, concurrent 8 MiB JSON bodies to POST /send-email
  f  8 MiB bodies of small JSON values (`[0,0,...]`, amplification) to POST /send-email
  g  POST /send-email flood (small valid emails, 2 s each)
  h  GET /users with 100,000 rows in the database, 64 readers
  i  3 x GET /fanout?n=100&ms=10000, the review's pool starvation (300 upstream calls against a
     pool of 256); probes GET /fanout?n=1&ms=0, whose one call must still get a connection
  j  obs-fold and CR/LF header injection (only checks that they are refused)

--target load-server runs attacks e and f against POST /json of vial-bench-load-server (64
workers, built with -DVIAL_BUILD_BENCH=ON) instead, a route that parses 8 MiB bodies: that is how
the server's memory settings were measured (--memory-trim 0 and --mmap-threshold 0 turn off
server_options::memory_trim_threshold and malloc_mmap_threshold).

Loopback only; the server is started here and stopped by its PID; the whole run takes about
three minutes. Prints a table, and with --json one JSON object on the last line. Reports
figures, never asserts (exit status 0 whatever the figures).
"""

import argparse
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
MIB = 1024 * 1024
PEAK_TARGET = 512 * MIB
HELLO_TARGET_MS = 100.0
SERVING = re.compile(r"serving on http://[0-9.]+:(\d+)|^(\d+)$")
JSON_PATH = "/send-email"
# The review's case: three requests, each fanning out to 100 ten-second upstream calls. (64 such
# requests would hold 64 workers for 10 s in bridge mode: the event-loop dispatch issue.)
FANOUT_HOGS = 3


# --- the server and its memory ----------------------------------------------------------------

class Server:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.port = None
        deadline = time.monotonic() + 30
        while self.port is None:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError("vial-examples did not start")
            ready, _, _ = select.select([self.proc.stdout], [], [], 1)
            if ready:
                m = SERVING.search(self.proc.stdout.readline().strip())
                if m:
                    self.port = int(m.group(1) or m.group(2))
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def status(self, field):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def rss(self):
        return self.status("VmRSS")

    def reset_peak(self):
        """Resets VmHWM to the current RSS; False where the kernel does not allow it."""
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode


class Sampler(threading.Thread):
    """VmRSS every 50 ms; `peak()` since the last `reset()`."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.lock, self.max, self.done = server, threading.Lock(), 0, False

    def run(self):
        while not self.done:
            rss = self.server.rss()
            with self.lock:
                self.max = max(self.max, rss)
            time.sleep(0.05)

    def reset(self):
        with self.lock:
            self.max = self.server.rss()

    def peak(self):
        with self.lock:
            return self.max


class Probe(threading.Thread):
    """GET `path` on a fresh connection every 100 ms; latencies in ms (None: failed).

    Each probe is a curl process that times itself: a probe timed by a thread of this process
    would measure the attack threads' hold on the interpreter lock, not the server."""

    def __init__(self, port, path="/hello", expect=b"200"):
        super().__init__(daemon=True)
        self.port, self.path, self.expect = port, path, expect
        self.results, self.stop_flag = [], threading.Event()

    def once(self):
        try:
            out = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "--max-time", "5", "-w",
                 "%{http_code} %{time_total}", f"http://{HOST}:{self.port}{self.path}"],
                capture_output=True, timeout=10).stdout.decode().split()
        except (OSError, subprocess.TimeoutExpired):
            return None
        if len(out) != 2 or out[0].encode() != self.expect:
            return None
        return float(out[1]) * 1000

    def run(self):
        while not self.stop_flag.is_set():
            self.results.append(self.once())
            self.stop_flag.wait(0.1)

    def finish(self):
        self.stop_flag.set()
        self.join(10)
        ok = [r for r in self.results if r is not None]
        return {"probes": len(self.results), "failed": len(self.results) - len(ok),
                "p50_ms": round(statistics.median(ok), 1) if ok else None,
                "max_ms": round(max(ok), 1) if ok else None}


# --- attack helpers ---------------------------------------------------------------------------

def connect(port, timeout=10):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def readable(s, timeout):
    """poll(), not select(): 3,000 held connections use descriptors past FD_SETSIZE."""
    p = select.poll()
    p.register(s, select.POLLIN)
    return bool(p.poll(timeout * 1000))


def status_of(data):
    return int(data[9:12]) if data.startswith(b"HTTP/1.") and len(data) >= 12 else None


def read_status(s, timeout=10):
    """The status of the first response on `s`, or None when it closed or timed out first."""
    s.settimeout(timeout)
    data = b""
    try:
        while len(data) < 12:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return status_of(data)


class Tally:
    def __init__(self):
        self.lock, self.counts = threading.Lock(), {}

    def add(self, key):
        with self.lock:
            self.counts[str(key)] = self.counts.get(str(key), 0) + 1

    def summary(self):
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))


def run_clients(n, fn, seconds):
    """`n` threads calling fn(deadline) until the deadline."""
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=fn, args=(deadline,), daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)


def endless(port, head, filler, seconds, tally, connections=64):
    """Sends `head`, then `filler` over and over until the server answers or closes."""
    def client(deadline):
        while time.monotonic() < deadline:
            try:
                s = connect(port)
            except OSError:
                tally.add("connect failed")
                time.sleep(0.05)
                continue
            outcome = None
            try:
                s.sendall(head)
                s.setblocking(False)
                p = select.poll()
                p.register(s, select.POLLIN | select.POLLOUT)
                while time.monotonic() < deadline:
                    events = dict(p.poll(500))
                    if events.get(s.fileno(), 0) & (select.POLLIN | select.POLLHUP | select.POLLERR):
                        data = s.recv(4096)
                        outcome = status_of(data) or "closed"
                        break
                    if events.get(s.fileno(), 0) & select.POLLOUT:
                        try:
                            s.send(filler)
                        except BlockingIOError:
                            pass
                else:
                    outcome = "still sending at the end"
            except OSError as e:
                outcome = "reset" if isinstance(e, ConnectionResetError) else "closed"
            tally.add(outcome)
            s.close()
    return client


def chunked_head(path="/send-email"):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()


# --- the attacks ------------------------------------------------------------------------------

def attack_chunk_extension(port, seconds):
    tally = Tally()
    run_clients(64, endless(port, chunked_head() + b"5;a=", b"x" * 65536, seconds, tally), seconds)
    return tally.summary()


def attack_leading_zeros(port, seconds):
    tally = Tally()
    run_clients(64, endless(port, chunked_head(), b"0" * 65536, seconds, tally), seconds)
    return tally.summary()


def attack_trailers(port, seconds):
    tally = Tally()
    field = b"".join(b"X-T%d: %s\r\n" % (i, b"t" * 200) for i in range(256))
    run_clients(64, endless(port, chunked_head() + b"0\r\n", field, seconds, tally), seconds)
    return tally.summary()


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def attack_held_streams(port, seconds, count=3000):
    socks, tally = [], Tally()
    start = time.monotonic()
    for _ in range(count):
        try:
            s = connect(port, timeout=2)
            s.sendall(b"GET /stream?n=1000&ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        except OSError:
            tally.add("connect failed")
    answered = 0
    for s in socks:
        if readable(s, 0 if answered else 2):
            try:
                data = s.recv(4096)
                tally.add(status_of(data) or "closed")
                answered += 1
                continue
            except OSError:
                pass
        tally.add("no answer yet")
    time.sleep(max(0.0, seconds - (time.monotonic() - start)))
    for s in socks:
        s.close()
    return f"{len(socks)} held: " + tally.summary()


def big_json_bodies(port, seconds, concurrency, body):
    tally = Tally()
    path = JSON_PATH
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()

    def client(deadline):
        while time.monotonic() < deadline:
            try:
                s = connect(port, timeout=30)
                s.sendall(head)
                try:
                    s.sendall(body)
                except OSError:
                    pass  # answered (413) before the whole body was sent
                tally.add(read_status(s, 30) or "closed")
                s.close()
            except OSError:
                tally.add("connect failed")
    run_clients(concurrency, client, seconds)
    return tally.summary()


def email_json(size):
    pad = size - len('{"to":"a@b.c","subject":"s","body":""}')
    return b'{"to":"a@b.c","subject":"s","body":"' + b"x" * pad + b'"}'


def attack_big_json(port, seconds):
    body = email_json(8 * MIB)
    first = big_json_bodies(port, seconds / 2, 8, body)
    second = big_json_bodies(port, seconds / 2, 64, body)
    return f"x8 {first}; x64 {second}"


def attack_small_values(port, seconds):
    body = b"[" + b"0," * (4 * MIB - 1) + b"0]"
    return big_json_bodies(port, seconds, 64, body)


def keep_alive_posts(port, seconds, connections, request):
    tally = Tally()

    def client(deadline):
        s, buf = None, b""
        while time.monotonic() < deadline:
            try:
                if s is None:
                    s, buf = connect(port), b""
                s.sendall(request)
                while b"\r\n\r\n" not in buf:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise ConnectionResetError
                    buf += chunk
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
                while len(rest) < length:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise ConnectionResetError
                    rest += chunk
                buf = rest[length:]
                tally.add(status_of(head))
                if re.search(rb"(?i)connection: close", head):
                    s.close()
                    s = None
            except OSError:
                tally.add("error")
                if s:
                    s.close()
                s = None
        if s:
            s.close()
    run_clients(connections, client, seconds)
    return tally


def attack_email_flood(port, seconds):
    body = b'{"to":"a@b.c","subject":"s","body":"hello"}'
    request = (b"POST /send-email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return keep_alive_posts(port, seconds, 64, request).summary()


def attack_users_readers(port, seconds):
    request = b"GET /users HTTP/1.1\r\nHost: x\r\n\r\n"
    return keep_alive_posts(port, seconds, 64, request).summary()


def attack_fanout(port, seconds):
    tally = Tally()
    client_probe = Probe(port, "/fanout?n=1&ms=0")
    client_probe.start()

    def client(deadline):
        try:
            s = connect(port, timeout=seconds + 20)
            s.sendall(b"GET /fanout?n=100&ms=10000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                tally.add(status_of(s.recv(64)) or "closed")
            except socket.timeout:
                tally.add("waiting at the end")
            s.close()
        except OSError:
            tally.add("connect failed")
    run_clients(FANOUT_HOGS, client, seconds)
    calls = client_probe.finish()
    return (f"{tally.summary()}; /fanout?n=1 probes: {calls['probes'] - calls['failed']}/"
            f"{calls['probes']} ok, max {calls['max_ms']} ms")


def attack_injection(port, seconds):
    cases = {
        "obs-fold": b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
        "bare CR in a value": b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\rInjected: 1\r\n\r\n",
        "bare LF in a value": b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\nInjected: 1\r\n\r\n",
        "CRLF in the target": b"GET /hello\r\nInjected: 1 HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    out = []
    for name, raw in cases.items():
        s = connect(port)
        s.sendall(raw)
        code = read_status(s, 5)
        s.close()
        out.append(f"{name}: {code or 'closed'} ({'refused' if code != 200 else 'ACCEPTED'})")
    time.sleep(min(seconds, 1))
    return "; ".join(out)


ATTACKS = [
    ("a", "chunk extension flood", attack_chunk_extension),
    ("b", "chunk size leading zeros", attack_leading_zeros),
    ("c", "huge/many trailer fields", attack_trailers),
    ("d", "3,000 held streams", attack_held_streams),
    ("e", "8 and 64 x 8 MiB JSON", attack_big_json),
    ("f", "8 MiB of small JSON values", attack_small_values),
    ("g", "/send-email flood", attack_email_flood),
    ("h", "/users 100k rows, 64 readers", attack_users_readers),
    ("i", "3 x /fanout n=100 ms=10000", attack_fanout),
    ("j", "obs-fold / CRLF injection", attack_injection),
]


def seed_users(db, count=100_000):
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                  " name TEXT NOT NULL, email TEXT NOT NULL UNIQUE)")
        c.executemany("INSERT INTO users (name, email) VALUES (?, ?)",
                      ((f"user {i}", f"user{i}@example.org") for i in range(count)))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(root, "build-rel"))
    ap.add_argument("--attack-seconds", type=float, default=6.0)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--target", choices=("examples", "load-server"), default="examples")
    ap.add_argument("--memory-trim", type=int, default=None)
    ap.add_argument("--mmap-threshold", type=int, default=None)
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    if args.target == "examples":
        binary = os.path.join(args.build, "examples", "vial-examples")
    else:
        global JSON_PATH
        JSON_PATH = "/json"
        binary = os.path.join(args.build, "bench", "vial-bench-load-server")
        only = only or {"e", "f"}
    if not os.access(binary, os.X_OK):
        sys.exit(f"no {binary}: build it in {args.build} (Release) first")
    fd_limit = raise_fd_limit()

    tmp = tempfile.mkdtemp(prefix="vial-hostile-memory-")
    db = os.path.join(tmp, "users.db")
    if args.target == "examples" and (not only or "h" in only):
        seed_users(db)
    if args.target == "examples":
        server = Server([binary, "--port", "0", "--db", db])
    else:
        argv = [binary, "--workers", "64"]
        if args.memory_trim is not None:
            argv += ["--memory-trim", str(args.memory_trim)]
        if args.mmap_threshold is not None:
            argv += ["--mmap-threshold", str(args.mmap_threshold)]
        server = Server(argv)
    sampler = Sampler(server)
    sampler.start()
    results = {}
    try:
        # Warm: every server thread has served a request (and so has its arena and stack), and
        # with vial-examples, each demo has run once, the fan-out's 100 calls reaching the
        # embedded upstream's threads and filling the client's pool.
        warm = Probe(server.port)
        run_clients(64, lambda deadline: [warm.once() for _ in range(20)], 0)
        if args.target == "examples":
            for path in ("/fanout?n=100&ms=50", "/users?limit=10", "/stream?n=1&ms=0",
                         "/hello-async", "/data?ms=0", "/with-timeout?ms=0&timeout=100"):
                Probe(server.port, path).once()
            email = (b'{"to":"a@b.c","subject":"s","body":"b","delay_ms":0}')
            keep_alive_posts(server.port, 0.2, 1,
                             b"POST /send-email HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(email), email))
        time.sleep(1)
        baseline = server.rss()
        # The reference: the same probes with no attack, so a shared machine's own latency (a
        # curl process started and scheduled) is visible next to each attack's.
        idle_probe = Probe(server.port)
        idle_probe.start()
        time.sleep(args.attack_seconds / 2)
        idle_hello = idle_probe.finish()
        print(f"{os.path.basename(binary)} pid {server.proc.pid} on port {server.port}; idle RSS "
              f"{baseline / MIB:.1f} MiB; idle /hello p50/max {idle_hello['p50_ms']}/"
              f"{idle_hello['max_ms']} ms; fd limit {fd_limit}", file=sys.stderr)
        for key, name, attack in ATTACKS:
            if only and key not in only:
                continue
            before = server.rss()
            hwm = server.reset_peak()
            sampler.reset()
            probe = Probe(server.port)
            probe.start()
            started = time.monotonic()
            try:
                outcome = attack(server.port, args.attack_seconds)
            except Exception as e:  # reported, the run goes on
                outcome = f"attack failed: {e!r}"
            took = time.monotonic() - started
            hello = probe.finish()
            peak = max(sampler.peak(), server.status("VmHWM") if hwm else 0)
            time.sleep(args.settle)
            after = server.rss()
            alive = server.alive()
            r = {
                "name": name, "outcome": outcome, "seconds": round(took, 1),
                "before_mib": round(before / MIB, 1), "peak_mib": round(peak / MIB, 1), "after_mib": round(after / MIB, 1),
                "hello": hello, "alive": alive,
                "peak_ok": peak <= PEAK_TARGET, "after_ok": after <= 2 * baseline,
                "hello_ok": hello["failed"] == 0 and hello["max_ms"] is not None
                            and hello["max_ms"] < HELLO_TARGET_MS,
            }
            results[key] = r
            print(f"  {key} {name}: {outcome}", file=sys.stderr)
            if not alive:
                break
    finally:
        sampler.done = True
        code = server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    print(f"\nidle baseline (after a warm-up) {baseline / MIB:.1f} MiB; targets: peak <= 512 MiB, after "
          f"{args.settle:.0f} s <= {2 * baseline / MIB:.1f} MiB (2x idle), /hello < 100 ms")
    print(f"reference: /hello with no attack p50/max {idle_hello['p50_ms']}/{idle_hello['max_ms']} ms "
          f"(x idle: an attack's /hello p50 over this one)")
    print(f"{'attack':<32} {'before':>7} {'peak MiB':>9} {'after':>7} {'/hello p50/max ms':>18} "
          f"{'x idle':>6}  peak  after hello")
    for key, r in results.items():
        h = r["hello"]
        lat = f"{h['p50_ms']}/{h['max_ms']}" + (f" ({h['failed']} failed)" if h["failed"] else "")
        ratio = (f"{h['p50_ms'] / idle_hello['p50_ms']:.1f}"
                 if h["p50_ms"] and idle_hello["p50_ms"] else "-")
        print(f"{key} {r['name']:<30} {r['before_mib']:>7.1f} {r['peak_mib']:>9.1f} {r['after_mib']:>7.1f} {lat:>18} "
              f"{ratio:>6}  {verdict(r['peak_ok'])}  {verdict(r['after_ok'])}  {verdict(r['hello_ok'])}")
    print(f"server exit status on SIGTERM: {code}")
    if args.json:
        print(json.dumps({"baseline_mib": round(baseline / MIB, 1), "idle_hello": idle_hello,
                          "exit_status": code, "attacks": results}))


if __name__ == "__main__":
    main()
