#!/usr/bin/python3
"""Concurrency: many clients each holding a coroutine request, against vial-examples and against
Quart on Hypercorn; fan-out throughput; and what a held connection costs the server.

usage: concurrency.py [--build DIR] [--clients 1000,10000] [--fanout-clients 32,64]
                      [--fanout-seconds 10] [--held 10000] [--timeout 15] [--threads N]
                      [--no-quart] [--json]

DIR defaults to build-rel (configure with -DCMAKE_BUILD_TYPE=Release -DVIAL_BUILD_BENCH=ON and
build vial-examples and vial-bench-concurrency-client, the Asio load generator this script
drives). vial-examples runs with its default worker count unless --threads is given.

Cases, one server process each side, in one run:
  held N    N clients (1,000 and 10,000) connect at once and each sends one GET /data?ms=1000
            (a coroutine that awaits 1 s): completed count, wall time (first connect to last
            answer), p50/p99 latency from the connect, errors, the server's peak RSS, and when
            the last connect completed (over 1 s: SYNs dropped by a full listen queue).
            The same against bench/concurrency_quart.py on Hypercorn (one process, backlog 4096
            as vial's). Unanswered requests count as errors after --timeout seconds.
  fanout C  C keep-alive clients in a closed loop on GET /fanout?n=5&ms=100 for
            --fanout-seconds: requests/s against the cap C / 0.1 s, and the ratio.
  idle      --held keep-alive connections, each after one GET /hello, held open for 3 s:
            the server's RSS growth per connection (a fresh server process).
  stream    --held GET /stream?n=2&ms=5000 in flight (a coroutine SSE stream between two
            events, which waits without a worker): RSS growth per request (a fresh server).
Targets (issue 15): 10,000 held requests all answered in <= 2 s with peak RSS <= 64 MiB;
fan-out >= 0.9x the cap.

cpu s is the CPU time (user + system) the server and the client spent on a case: on a shared
machine the wall time depends on the other processes, the CPU time much less.
RSS is VmRSS sampled every 20 ms, and VmHWM after resetting it through /proc/PID/clear_refs
where allowed; for Hypercorn the sum over its process tree. The file limit is raised to the hard
limit (20,000 here) for this process and the processes it starts. Loopback only; every process
started here is stopped by its PID. Prints a table, and with --json one JSON object on the last
line. Reports figures, never asserts (exit status 0 whatever the figures).
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
MIB = 1024 * 1024
HERE = os.path.dirname(os.path.abspath(__file__))


def log(*args):
    print("concurrency:", *args, file=sys.stderr, flush=True)


def raise_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def tree(pid):
    """pid and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def cpu_seconds(pid):
    """User + system CPU time of one process (its threads included), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class server:
    def __init__(self, name, argv, port=None, cwd=None):
        self.name = name
        self.out = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.out, cwd=cwd,
                                     start_new_session=True)
        self.port = port
        if port is None:  # vial-examples prints its port on the first line
            line = self.proc.stdout.readline().decode()
            m = re.search(r":(\d+)", line)
            if not m:
                self.stop()
                raise RuntimeError(f"{name} did not start: {line!r}")
            self.port = int(m.group(1))
        deadline = time.monotonic() + 20
        while True:  # until it answers (Hypercorn prints nothing we can wait on)
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as s:
                    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(100).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.out.seek(0)
                raise RuntimeError(f"{name} did not answer: {self.out.read()[-2000:]!r}")
            time.sleep(0.05)

    def rss(self):
        return sum(status_kib(p, "VmRSS") for p in tree(self.proc.pid)) * 1024

    def cpu(self):
        return sum(cpu_seconds(p) for p in tree(self.proc.pid))

    def reset_hwm(self):
        ok = True
        for p in tree(self.proc.pid):
            try:
                with open(f"/proc/{p}/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                ok = False
        return ok

    def hwm(self):
        return sum(status_kib(p, "VmHWM") for p in tree(self.proc.pid)) * 1024

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class sampler:
    """The server's peak RSS while a case runs."""

    def __init__(self, srv):
        self.srv = srv
        self.peak = srv.rss()
        self.hwm_ok = srv.reset_hwm()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.srv.rss())

    def stop(self):
        self.done.set()
        self.thread.join()
        if self.hwm_ok:
            self.peak = max(self.peak, self.srv.hwm())
        return self.peak


def run_client(client, srv, mode, target, clients, **limits):
    argv = [client, mode, "--port", str(srv.port), "--target", target, "--clients", str(clients)]
    for k, v in limits.items():
        argv += [f"--{k}", str(v)]
    before = srv.rss()
    cpu_before = srv.cpu()
    s = sampler(srv)
    held_rss = None
    client_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if mode == "hold":  # sample once every connection has its response head
        for line in proc.stderr:
            if line.strip() == b"held":
                time.sleep(0.5)  # let the server settle the last of them
                held_rss = srv.rss()
                break
    out, err = proc.communicate()
    peak = s.stop()
    server_cpu = srv.cpu() - cpu_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime + after.ru_stime) - (client_cpu.ru_utime + client_cpu.ru_stime)
    lines = out.decode().strip().splitlines()
    if not lines:
        raise RuntimeError(f"client failed: {err.decode()[-2000:]}")
    r = json.loads(lines[-1])
    r.update(rss_before_mib=round(before / MIB, 1), peak_rss_mib=round(peak / MIB, 1),
             server_cpu_s=round(server_cpu, 2), client_cpu_s=round(client_cpu, 2))
    if held_rss is not None:
        r["held_rss_mib"] = round(held_rss / MIB, 1)
        r["bytes_per_connection"] = round((held_rss - before) / clients)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build-rel"))
    ap.add_argument("--clients", default="1000,10000")
    ap.add_argument("--fanout-clients", default="32,64")
    ap.add_argument("--fanout-seconds", type=float, default=10)
    ap.add_argument("--held", type=int, default=10000)
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--no-quart", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    examples = os.path.join(args.build, "examples", "vial-examples")
    client = os.path.join(args.build, "bench", "vial-bench-concurrency-client")
    for path in (examples, client):
        if not os.access(path, os.X_OK):
            sys.exit(f"no {path}: build it in {args.build} (Release, -DVIAL_BUILD_BENCH=ON)")
    nofile = raise_file_limit()
    counts = [int(c) for c in args.clients.split(",") if c]
    fanouts = [int(c) for c in args.fanout_clients.split(",") if c]
    report = {"file_limit": nofile, "vial": {}, "quart": {}}
    work = tempfile.mkdtemp(prefix="vial-concurrency.")
    servers = []
    try:
        argv = [examples, "--port", "0", "--db", os.path.join(work, "examples.db")]
        if args.threads:
            argv += ["--threads", str(args.threads)]
        log("starting", " ".join(argv))
        vial = server("vial", argv)
        servers.append(vial)
        report["vial"]["idle_rss_mib"] = round(vial.rss() / MIB, 1)
        for n in counts:
            log(f"vial: {n} clients x GET /data?ms=1000")
            report["vial"][f"held_{n}"] = run_client(client, vial, "once", "/data?ms=1000", n,
                                                     timeout=args.timeout)
        for c in fanouts:
            log(f"vial: fan-out, {c} clients, {args.fanout_seconds:g} s")
            r = run_client(client, vial, "closed", "/fanout?n=5&ms=100", c,
                           duration=args.fanout_seconds)
            r["cap_rps"] = c / 0.1
            r["ratio"] = round(r["rps"] / r["cap_rps"], 3)
            report["vial"][f"fanout_{c}"] = r
        vial.stop()
        # Each memory case on a fresh server, so that one does not reuse what another freed.
        for case, target in (("idle", "/hello"), ("stream", "/stream?n=2&ms=5000")):
            if not args.held:
                break
            log(f"vial: {args.held} x GET {target}, held open")
            fresh = server("vial", argv)
            servers.append(fresh)
            run_client(client, fresh, "once", "/stream?n=1", 64, timeout=args.timeout)  # warm
            report["vial"][case] = run_client(client, fresh, "hold", target, args.held, hold=3)
            fresh.stop()

        if not args.no_quart:
            if not shutil.which("hypercorn"):
                log("no hypercorn (apt-get install python3-hypercorn python3-quart): skipped")
            else:
                with socket.socket() as s:
                    s.bind((HOST, 0))
                    port = s.getsockname()[1]
                log("starting Quart on Hypercorn, port", port)
                quart = server("quart", ["hypercorn", "--bind", f"{HOST}:{port}", "--workers", "1",
                                         "--backlog", "4096", "concurrency_quart:app"],
                               port=port, cwd=HERE)
                servers.append(quart)
                report["quart"]["idle_rss_mib"] = round(quart.rss() / MIB, 1)
                for n in counts:
                    log(f"quart: {n} clients x GET /data?ms=1000")
                    report["quart"][f"held_{n}"] = run_client(client, quart, "once",
                                                              "/data?ms=1000", n,
                                                              timeout=args.timeout)
                quart.stop()
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"file limit {nofile}; targets: 10,000 held answered in <= 2 s, peak RSS <= 64 MiB; "
          "fan-out >= 0.9x the cap")
    print(f"{'server':7} {'case':14} {'done':>7} {'errors':>7} {'wall s':>7} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'req/s':>8} {'peak MiB':>9} {'cpu s':>11}  notes")
    for side in ("vial", "quart"):
        for case, r in report[side].items():
            if not isinstance(r, dict):
                continue
            notes = ""
            if "ratio" in r:
                notes = f"cap {r['cap_rps']:.0f} req/s, ratio {r['ratio']:.2f}x"
            if "bytes_per_connection" in r:
                notes = (f"held RSS {r['held_rss_mib']} MiB (from {r['rss_before_mib']}): "
                         f"{r['bytes_per_connection']} bytes each")
            if r.get("connected_s", 0) > 1:
                notes += f" last connect at {r['connected_s']:.2f} s"
            if r.get("error_kinds"):
                notes += " " + json.dumps(r["error_kinds"])
            print(f"{side:7} {case:14} {r['completed']:7} {r['errors']:7} {r['wall_s']:7.2f} "
                  f"{r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['rps']:8.1f} "
                  f"{r['peak_rss_mib']:9.1f} {r['server_cpu_s']:5.2f}/{r['client_cpu_s']:<5.2f}"
                  f"  {notes}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
