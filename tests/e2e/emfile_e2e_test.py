#!/usr/bin/python3
"""accept() failing with EMFILE: the server backs off instead of spinning, says so in its log
(without flooding it), and serves again, queued clients included, once descriptors are free.

usage: emfile_e2e_test.py PATH/TO/vial-server-fixture

The fixture runs with RLIMIT_NOFILE = 64 and idle/header deadlines of a minute, so the only
thing that frees descriptors during the test is the test closing its connections. Figures (CPU
share while saturated, descriptor counts) are printed to stderr.
"""

import os
import resource
import socket
import sys
import threading
import time
import unittest

import requests

from process import Fixture, descriptors, wait_descriptors_at_most

Fixture.binary = sys.argv.pop(1) if len(sys.argv) > 1 else None
NOFILE = 64
HELD = 100  # more than NOFILE: the rest wait in the listen backlog
CPU_WINDOW = 1.5  # seconds of saturation measured
MAX_CPU_SHARE = 0.2  # of one core


def limit_descriptors():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def cpu_seconds(pid):
    """User + system CPU time of the process, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


class LogReader(threading.Thread):
    """Collects the fixture's stderr lines as they come."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines = []
        self.cv = threading.Condition()

    def run(self):
        for line in self.stream:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_for(self, text, timeout):
        """True once a line containing `text` was logged."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cv.wait(remaining)
            return True

    def count(self, text):
        with self.cv:
            return sum(text in line for line in self.lines)


def read_response(sock, timeout):
    """The bytes of one Connection: close answer (until EOF)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


class AcceptEmfileTest(unittest.TestCase):
    def setUp(self):
        self.fixture = Fixture("--keep-alive-timeout-ms", "60000", "--header-timeout-ms", "60000",
                               preexec_fn=limit_descriptors)
        self.proc, self.port = self.fixture.proc, self.fixture.port
        self.log = LogReader(self.proc.stderr)
        self.log.start()
        self.held = []

    def tearDown(self):
        for s in self.held:
            s.close()
        code = self.fixture.terminate()
        self.proc.stdout.close()
        self.assertEqual(code, 0, "fixture did not stop cleanly")

    def get_hello(self):
        r = requests.get(f"http://127.0.0.1:{self.port}/hello", timeout=10)
        self.assertEqual((r.status_code, r.text), (200, "hello"))

    def test_backs_off_logs_and_recovers_when_out_of_descriptors(self):
        self.get_hello()
        before = descriptors(self.proc.pid, pipes=True)
        for _ in range(HELD):
            self.held.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
        self.assertTrue(self.log.wait_for("accept failed: Too many open files", 10),
                        "no accept failure logged:\n" + "\n".join(self.log.lines))
        saturated = descriptors(self.proc.pid, pipes=True)
        self.assertGreaterEqual(saturated, NOFILE - 1)

        # Connections already open are served as usual meanwhile.
        first = self.held[0]
        first.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first.settimeout(10)
        answer = b""
        while not answer.endswith(b"\r\n\r\nhello"):
            chunk = first.recv(4096)
            self.assertTrue(chunk, "an open connection was dropped while saturated")
            answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)

        # A client arriving now waits in the backlog; it must be served after the recovery.
        queued = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(queued.close)
        queued.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")

        logged = self.log.count("accept")
        cpu0, t0 = cpu_seconds(self.proc.pid), time.monotonic()
        time.sleep(CPU_WINDOW)
        cpu1, t1 = cpu_seconds(self.proc.pid), time.monotonic()
        share = (cpu1 - cpu0) / (t1 - t0)
        logged_meanwhile = self.log.count("accept") - logged
        print(f"\n  descriptors: {before} before, {saturated} saturated (limit {NOFILE}); "
              f"CPU while saturated: {share:.1%} of one core over {t1 - t0:.2f} s; "
              f"{logged_meanwhile} accept log lines meanwhile", file=sys.stderr)
        self.assertLess(share, MAX_CPU_SHARE, "the accept loop spins")
        self.assertLessEqual(logged_meanwhile, 2, "the accept failure floods the log")

        for s in self.held:
            s.close()
        self.held = []
        answer = read_response(queued, 10)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:200])
        self.assertTrue(answer.endswith(b"\r\n\r\nhello"), answer[-200:])
        self.get_hello()
        self.assertTrue(self.log.wait_for("accepting connections again", 5),
                        "\n".join(self.log.lines))
        self.assertLessEqual(wait_descriptors_at_most(self.proc.pid, before, pipes=True), before)


if __name__ == "__main__":
    if not Fixture.binary:
        sys.exit(__doc__)
    unittest.main(verbosity=2)
